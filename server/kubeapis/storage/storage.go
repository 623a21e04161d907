// Package storage offers kube-apiserver's storage API group to a server built with
// package server (Options.MoreAPIs), served as data: nothing runs its
// controllers. What it serves: server.KubeGroup.
package storage

import (
	_ "k8s.io/kubernetes/pkg/apis/storage/install"
	storagerest "k8s.io/kubernetes/pkg/registry/storage/rest"

	"github.com/generic-controlplane/gcp/server"
)

// Group is the storage group.
var Group = server.KubeGroup("storage", storagerest.RESTStorageProvider{})
