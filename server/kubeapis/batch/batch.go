// Package batch offers kube-apiserver's batch API group to a server built with
// package server (Options.MoreAPIs), served as data: nothing runs its
// controllers. What it serves: server.KubeGroup.
package batch

import (
	_ "k8s.io/kubernetes/pkg/apis/batch/install"
	batchrest "k8s.io/kubernetes/pkg/registry/batch/rest"

	"github.com/generic-controlplane/gcp/server"
)

// Group is the batch group.
var Group = server.KubeGroup("batch", batchrest.RESTStorageProvider{})
