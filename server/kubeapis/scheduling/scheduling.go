// Package scheduling offers kube-apiserver's scheduling API group to a server built with
// package server (Options.MoreAPIs), served as data: nothing runs its
// controllers. What it serves: server.KubeGroup.
package scheduling

import (
	_ "k8s.io/kubernetes/pkg/apis/scheduling/install"
	schedulingrest "k8s.io/kubernetes/pkg/registry/scheduling/rest"

	"github.com/generic-controlplane/gcp/server"
)

// Group is the scheduling group.
var Group = server.KubeGroup("scheduling", schedulingrest.RESTStorageProvider{})
