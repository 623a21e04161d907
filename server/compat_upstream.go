//go:build !gcp_patched

package server

import (
	serverstorage "k8s.io/apiserver/pkg/server/storage"
	"k8s.io/kubernetes/pkg/controlplane"
)

// defaultGenericResourceConfig is the only call into k8s.io/kubernetes/pkg/controlplane
// (which drags in the kube-apiserver-only REST storage). A patched tree that moves
// DefaultGenericAPIResourceConfigSource into pkg/controlplane/apiserver builds with
// -tags gcp_patched (see compat_patched.go).
func defaultGenericResourceConfig() *serverstorage.ResourceConfig {
	return controlplane.DefaultGenericAPIResourceConfigSource()
}
