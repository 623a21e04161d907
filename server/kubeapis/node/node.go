// Package node offers kube-apiserver's node API group to a server built with
// package server (Options.MoreAPIs), served as data: nothing runs its
// controllers. What it serves: server.KubeGroup.
package node

import (
	_ "k8s.io/kubernetes/pkg/apis/node/install"
	noderest "k8s.io/kubernetes/pkg/registry/node/rest"

	"github.com/generic-controlplane/gcp/server"
)

// Group is the node group.
var Group = server.KubeGroup("node", noderest.RESTStorageProvider{})
