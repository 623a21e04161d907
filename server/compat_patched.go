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
	"k8s.io/kubernetes/pkg/kubeapiserver"
)

// This file and compat_patched.go hold every call whose signature or package
// differs between the pinned k/k (v1.37.2) and the patched series tree.

// The series moves the generic resource defaults into pkg/controlplane/apiserver
// (so pkg/controlplane is not linked at all) and takes the inputs of
// BuildGenericConfig and CreateConfig as option structs, with the storage
// factory config constructor (nil: kube-apiserver's etcd layout) and the quota
// configuration (nil: object count quota) as fields.
func defaultGenericResourceConfig() *serverstorage.ResourceConfig {
	return controlplaneapiserver.DefaultGenericAPIResourceConfigSource()
}

func buildGenericConfig(opts options.CompletedOptions, schemes []*runtime.Scheme, rc *serverstorage.ResourceConfig,
	defs func(openapicommon.ReferenceCallback) map[string]openapicommon.OpenAPIDefinition,
) (*genericapiserver.Config, clientgoinformers.SharedInformerFactory, *serverstorage.DefaultStorageFactory, error) {
	return controlplaneapiserver.BuildGenericConfigWithOptions(controlplaneapiserver.BuildGenericConfigOptions{
		Options:               opts,
		Schemes:               schemes,
		ResourceConfig:        rc,
		GetOpenAPIDefinitions: defs,
		// only the generic resources' storage defaults; the layout of every
		// resource this server serves is the same as kube-apiserver's
		NewStorageFactoryConfig: kubeapiserver.NewGenericStorageFactoryConfigEffectiveVersion,
	})
}

func createConfig(opts options.CompletedOptions, genericConfig *genericapiserver.Config, informers clientgoinformers.SharedInformerFactory,
	storageFactory *serverstorage.DefaultStorageFactory, resolver webhook.ServiceResolver,
) (*controlplaneapiserver.Config, []admission.PluginInitializer, error) {
	return controlplaneapiserver.CreateConfigWithOptions(controlplaneapiserver.CreateConfigOptions{
		Options:            opts,
		GenericConfig:      genericConfig,
		VersionedInformers: informers,
		StorageFactory:     storageFactory,
		ServiceResolver:    resolver,
	})
}
