//go:build gcp_patched

package server

import (
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/admission"
	genericapiserver "k8s.io/apiserver/pkg/server"
	serverstorage "k8s.io/apiserver/pkg/server/storage"
	"k8s.io/apiserver/pkg/util/webhook"
	clientgoinformers "k8s.io/client-go/informers"
	openapicommon "k8s.io/kube-openapi/pkg/common"
	controlplaneapiserver "k8s.io/kubernetes/pkg/controlplane/apiserver"
	"k8s.io/kubernetes/pkg/controlplane/apiserver/options"
)

// This file and compat_patched.go hold every call whose signature or package
// differs between the pinned k/k (v1.37.2) and the patched series tree.

// The series moves the generic resource defaults into pkg/controlplane/apiserver
// (so pkg/controlplane is not linked at all), adds a storage factory config
// constructor to BuildGenericConfig and a quota configuration to CreateConfig
// (nil: the generic defaults).
func defaultGenericResourceConfig() *serverstorage.ResourceConfig {
	return controlplaneapiserver.DefaultGenericAPIResourceConfigSource()
}

func buildGenericConfig(opts options.CompletedOptions, schemes []*runtime.Scheme, rc *serverstorage.ResourceConfig,
	defs func(openapicommon.ReferenceCallback) map[string]openapicommon.OpenAPIDefinition,
) (*genericapiserver.Config, clientgoinformers.SharedInformerFactory, *serverstorage.DefaultStorageFactory, error) {
	return controlplaneapiserver.BuildGenericConfig(opts, schemes, rc, defs, nil, nil)
}

func createConfig(opts options.CompletedOptions, genericConfig *genericapiserver.Config, informers clientgoinformers.SharedInformerFactory,
	storageFactory *serverstorage.DefaultStorageFactory, resolver webhook.ServiceResolver,
) (*controlplaneapiserver.Config, []admission.PluginInitializer, error) {
	return controlplaneapiserver.CreateConfig(opts, genericConfig, informers, nil, storageFactory, resolver, nil, nil)
}
