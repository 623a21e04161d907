//go:build !gcp_patched

package kubeapis

import "github.com/generic-controlplane/gcp/server"

// tipGroups need the patch series; on the pinned release there are none:
// kube-apiserver's core storage needs service ranges and kubelets there.
var tipGroups []server.APIGroup
