// Package networking offers kube-apiserver's networking API group to a server built with
// package server (Options.MoreAPIs), served as data: nothing runs its
// controllers. What it serves: server.KubeGroup.
package networking

import (
	_ "k8s.io/kubernetes/pkg/apis/networking/install"
	networkingrest "k8s.io/kubernetes/pkg/registry/networking/rest"

	"github.com/generic-controlplane/gcp/server"
)

// Group is the networking group.
var Group = server.KubeGroup("networking", networkingrest.RESTStorageProvider{})
