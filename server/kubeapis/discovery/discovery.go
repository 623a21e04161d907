// Package discovery offers kube-apiserver's discovery API group to a server built with
// package server (Options.MoreAPIs), served as data: nothing runs its
// controllers. What it serves: server.KubeGroup.
package discovery

import (
	_ "k8s.io/kubernetes/pkg/apis/discovery/install"
	discoveryrest "k8s.io/kubernetes/pkg/registry/discovery/rest"

	"github.com/generic-controlplane/gcp/server"
)

// Group is the discovery group.
var Group = server.KubeGroup("discovery", discoveryrest.StorageProvider{})
