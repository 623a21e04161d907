//go:build gcp_patched

package server

import (
	"maps"
	"net/http"
	"slices"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apiextensionsinformers "k8s.io/apiextensions-apiserver/pkg/client/informers/externalversions"
	"k8s.io/apimachinery/pkg/runtime/schema"
	genericapiserver "k8s.io/apiserver/pkg/server"
	serverstorage "k8s.io/apiserver/pkg/server/storage"
	"k8s.io/client-go/discovery"
	basecompatibility "k8s.io/component-base/compatibility"
	aggregatorapiserver "k8s.io/kube-aggregator/pkg/apiserver"
	controlplaneapiserver "k8s.io/kubernetes/pkg/controlplane/apiserver"
	"k8s.io/kubernetes/pkg/controlplane/apiserver/base"
	"k8s.io/kubernetes/pkg/controlplane/apiserver/options"
	samplesserver "k8s.io/kubernetes/pkg/controlplane/apiserver/samples/generic/server"
	"k8s.io/kubernetes/pkg/kubeapiserver"

	"github.com/generic-controlplane/gcp/server/buildversion"
	"github.com/generic-controlplane/gcp/server/crdestablish"
)

// This file and chain_upstream.go hold what differs between a server built
// on the pinned k/k release (chain_upstream.go) and one built on the patch
// series (-tags gcp_patched, this file). On the series, the chain is the
// generic sample's, as a library (samplesserver.NewConfigWithOptions and
// CreateServerChain): it serves the resource config this package selects
// and this package's providers, deletes namespaces, collects garbage, checks
// remote APIServices without Services, resolves this package's static
// service endpoints, runs inline admission plugins and handler wrappers, and
// starts no controller of an API it does not serve. What stays here is what
// is this package's own: the storage it starts, its certificates, the
// version it reports and the leftover CRD hook.

// ProviderContext is what APIGroup.NewProvider builds a provider from.
type ProviderContext struct {
	// Config is the control plane's completed config, as the sample
	// library's StorageProviders gets it.
	Config *base.CompletedConfig
}

const providerContextBuilt = true

// chainConfig is what the sample library needs beyond the three configs.
type chainConfig struct {
	// postStartHooks are this package's hooks, added by the library.
	postStartHooks map[string]genericapiserver.PostStartHookFunc
	// sample is the completed library config New builds the chain from,
	// completeErr why Complete could not make it.
	sample      samplesserver.CompletedConfig
	completeErr error
}

func defaultGenericResourceConfig() *serverstorage.ResourceConfig {
	return controlplaneapiserver.DefaultGenericAPIResourceConfigSource()
}

// newSampleOptions are the options of the generic sample: its admission
// plugins, a service account token getter that reads only what is served,
// controllers of unserved resources not started, --runtime-config=v1/<resource>
// for one core resource.
func newSampleOptions() *options.Options {
	s := samplesserver.NewOptions()
	// The sample writes generated certificates to the working directory;
	// this package uses those of <data-dir>/pki.
	s.SecureServing.ServerCert.CertDirectory = ""
	return s
}

// skipControllersOfUnservedAPIs has nothing to do on the series: the sample's
// options skip the controllers of resources that are not served
// (CheckResourceDependencies) and read only served resources to authenticate
// service account tokens (ServiceAccountTokenGetter).
func skipControllersOfUnservedAPIs(*options.Options, apiSet) {}

// registerAdmission registers p as one of the library's inline plugins, on
// by default after the built-in ones.
func registerAdmission(s *options.Options, p AdmissionPlugin) error {
	return samplesserver.RegisterAdmissionPlugins(s, samplesserver.AdmissionPlugin{Name: p.Name, Plugin: newFuncPlugin(p)})
}

// buildUpstreamConfigs is the library's NewConfigWithOptions with this
// package's resource config, service endpoints and middleware, then the
// version, storage tracking and server count of this package.
func (c *Config) buildUpstreamConfigs(resourceConfig *serverstorage.ResourceConfig, crds bool, middleware []Middleware) error {
	o := samplesserver.ConfigOptions{
		Options:          c.ControlPlaneOptions,
		ServiceEndpoints: c.ServiceEndpoints,
		Name:             c.Name,
		ResourceConfig:   resourceConfig,
		// The generic storage layout, and nodes where kube-apiserver keeps
		// them (a group of Options.MoreAPIs may serve them).
		NewStorageFactoryConfig: func(v basecompatibility.EffectiveVersion) *kubeapiserver.StorageFactoryConfig {
			sf := kubeapiserver.NewGenericStorageFactoryConfigEffectiveVersion(v)
			sf.ResourcePrefixes = maps.Clone(sf.ResourcePrefixes)
			if sf.ResourcePrefixes == nil {
				sf.ResourcePrefixes = map[schema.GroupResource]string{}
			}
			nodes := schema.GroupResource{Resource: "nodes"}
			sf.ResourcePrefixes[nodes] = kubeapiserver.SpecialDefaultResourcePrefixes[nodes]
			return sf
		},
	}
	if len(middleware) > 0 {
		o.HandlerWrappers = []func(http.Handler) http.Handler{func(h http.Handler) http.Handler { return chainMiddleware(h, middleware) }}
	}
	sample, err := samplesserver.NewConfigWithOptions(o)
	if err != nil {
		return err
	}
	c.ControlPlane, c.APIExtensions, c.Aggregator = sample.ControlPlane, sample.APIExtensions, sample.Aggregator

	for _, generic := range []*genericapiserver.Config{c.ControlPlane.Generic, &c.APIExtensions.GenericConfig.Config, &c.Aggregator.GenericConfig.Config} {
		generic.EffectiveVersion = buildversion.Apply(generic.EffectiveVersion)
	}
	// Only the control plane's storage goes through the generic config's
	// getter: apiextensions and the aggregator make their own.
	c.ControlPlane.Generic.RESTOptionsGetter = c.storageClients.track(c.ControlPlane.Generic.RESTOptionsGetter)
	c.APIExtensions.ExtraConfig.MasterCount = c.APIServerCount
	if !crds {
		// The apiextensions server always starts its CRD controllers; without
		// the CRD API their informers never sync and /readyz never passes.
		c.APIExtensions.GenericConfig.DisabledPostStartHooks.Insert(
			"start-apiextensions-informers", "start-apiextensions-controllers", "crd-informer-synced")
	}
	crdAPIEnabled := c.APIExtensions.GenericConfig.MergedResourceConfig.ResourceEnabled(apiextensionsv1.SchemeGroupVersion.WithResource("customresourcedefinitions"))
	if crdAPIEnabled && c.APIServerCount == 1 {
		crdClient, err := apiextensionsclient.NewForConfig(c.ControlPlane.Generic.LoopbackClientConfig)
		if err != nil {
			return err
		}
		informers := apiextensionsinformers.NewSharedInformerFactory(crdClient, 5*time.Minute)
		c.chain.postStartHooks = map[string]genericapiserver.PostStartHookFunc{
			crdestablish.HookName: crdestablish.PostStartHook(informers, crdClient),
		}
	}
	return nil
}

// Complete completes the configs through the library.
func (c *Config) Complete() CompletedConfig {
	more, newProviders := c.MoreProviders, c.newProviders
	sample := &samplesserver.Config{
		Options:       c.ControlPlaneOptions,
		ControlPlane:  c.ControlPlane,
		APIExtensions: c.APIExtensions,
		Aggregator:    c.Aggregator,
		ExtraConfig: samplesserver.ExtraConfig{
			Name: c.Name,
			StorageProviders: func(cc *base.CompletedConfig, d discovery.DiscoveryInterface) ([]base.RESTStorageProvider, error) {
				providers, err := cc.GenericStorageProviders(d)
				if err != nil {
					return nil, err
				}
				for _, newProvider := range newProviders {
					p, err := newProvider(ProviderContext{Config: cc})
					if err != nil {
						return nil, err
					}
					// In the place of the generic provider of its group, if
					// any: the legacy core group installs first.
					if i := slices.IndexFunc(providers, func(g base.RESTStorageProvider) bool { return g.GroupName() == p.GroupName() }); i >= 0 {
						providers[i] = p
					} else {
						providers = append(providers, p)
					}
				}
				return append(providers, more...), nil
			},
			// nil: the generic ones
			APIServicePriorities: c.APIServicePriorities,
			PostStartHooks:       c.chain.postStartHooks,
		},
	}
	completed := &completedConfig{ControlPlaneOptions: c.ControlPlaneOptions, ExtraConfig: c.ExtraConfig}
	completed.chain.sample, completed.chain.completeErr = sample.Complete()
	if completed.chain.completeErr == nil {
		completed.ControlPlane = completed.chain.sample.ControlPlane
		completed.APIExtensions = completed.chain.sample.APIExtensions
		completed.Aggregator = completed.chain.sample.Aggregator
	}
	return CompletedConfig{completed}
}

// newChain is the library's CreateServerChain.
func (c CompletedConfig) newChain() (*aggregatorapiserver.APIAggregator, error) {
	if c.chain.completeErr != nil {
		return nil, c.chain.completeErr
	}
	return samplesserver.CreateServerChain(c.chain.sample)
}
