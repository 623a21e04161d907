//go:build gcp_patched

package kubeapis

import (
	"github.com/generic-controlplane/gcp/server"
	"github.com/generic-controlplane/gcp/server/kubeapis/pods"
)

// tipGroups need the patch series: pods and nodes from kube-apiserver's core
// storage without services or kubelets.
var tipGroups = []server.APIGroup{pods.Group}
