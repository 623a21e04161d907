//go:build gcp_patched

package server

import (
	serverstorage "k8s.io/apiserver/pkg/server/storage"
	controlplaneapiserver "k8s.io/kubernetes/pkg/controlplane/apiserver"
)

// defaultGenericResourceConfig for a patched tree where the generic default
// resource config lives next to the generic control plane code.
func defaultGenericResourceConfig() *serverstorage.ResourceConfig {
	return controlplaneapiserver.DefaultGenericAPIResourceConfigSource()
}
