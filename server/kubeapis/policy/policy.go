// Package policy offers kube-apiserver's policy API group to a server built with
// package server (Options.MoreAPIs), served as data: nothing runs its
// controllers. What it serves: server.KubeGroup.
package policy

import (
	_ "k8s.io/kubernetes/pkg/apis/policy/install"
	policyrest "k8s.io/kubernetes/pkg/registry/policy/rest"

	"github.com/generic-controlplane/gcp/server"
)

// Group is the policy group.
var Group = server.KubeGroup("policy", policyrest.RESTStorageProvider{})
