// Package apps offers kube-apiserver's apps API group to a server built with
// package server (Options.MoreAPIs), served as data: nothing runs its
// controllers. What it serves: server.KubeGroup.
package apps

import (
	_ "k8s.io/kubernetes/pkg/apis/apps/install"
	appsrest "k8s.io/kubernetes/pkg/registry/apps/rest"

	"github.com/generic-controlplane/gcp/server"
)

// Group is the apps group.
var Group = server.KubeGroup("apps", appsrest.StorageProvider{})
