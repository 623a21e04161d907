// Package autoscaling offers kube-apiserver's autoscaling API group to a server built with
// package server (Options.MoreAPIs), served as data: nothing runs its
// controllers. What it serves: server.KubeGroup.
package autoscaling

import (
	_ "k8s.io/kubernetes/pkg/apis/autoscaling/install"
	autoscalingrest "k8s.io/kubernetes/pkg/registry/autoscaling/rest"

	"github.com/generic-controlplane/gcp/server"
)

// Group is the autoscaling group.
var Group = server.KubeGroup("autoscaling", autoscalingrest.RESTStorageProvider{})
