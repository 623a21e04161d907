//go:build !gcp_patched

package server

import (
	"fmt"
	"io"
	"net/http"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsapiserver "k8s.io/apiextensions-apiserver/pkg/apiserver"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	"k8s.io/apiserver/pkg/admission/plugin/namespace/lifecycle"
	mutatingadmissionpolicy "k8s.io/apiserver/pkg/admission/plugin/policy/mutating"
	validatingadmissionpolicy "k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	"k8s.io/apiserver/pkg/admission/plugin/resourcequota"
	mutatingwebhook "k8s.io/apiserver/pkg/admission/plugin/webhook/mutating"
	validatingwebhook "k8s.io/apiserver/pkg/admission/plugin/webhook/validating"
	genericapifilters "k8s.io/apiserver/pkg/endpoints/filters"
	"k8s.io/klog/v2"
	aggregatorscheme "k8s.io/kube-aggregator/pkg/apiserver/scheme"
	generatedopenapi "k8s.io/kubernetes/pkg/generated/openapi"
	certapproval "k8s.io/kubernetes/plugin/pkg/admission/certificates/approval"
	"k8s.io/kubernetes/plugin/pkg/admission/certificates/ctbattest"
	certsigning "k8s.io/kubernetes/plugin/pkg/admission/certificates/signing"
	certsubjectrestriction "k8s.io/kubernetes/plugin/pkg/admission/certificates/subjectrestriction"
	"k8s.io/kubernetes/plugin/pkg/admission/serviceaccount"

	"github.com/generic-controlplane/gcp/server/buildversion"
	"github.com/generic-controlplane/gcp/server/crdestablish"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apiserver/pkg/admission"
	genericapiserver "k8s.io/apiserver/pkg/server"
	serverstorage "k8s.io/apiserver/pkg/server/storage"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	"k8s.io/apiserver/pkg/util/notfoundhandler"
	"k8s.io/apiserver/pkg/util/webhook"
	clientgoinformers "k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	aggregatorapiserver "k8s.io/kube-aggregator/pkg/apiserver"
	openapicommon "k8s.io/kube-openapi/pkg/common"
	"k8s.io/kubernetes/pkg/api/legacyscheme"
	"k8s.io/kubernetes/pkg/controlplane"
	controlplaneapiserver "k8s.io/kubernetes/pkg/controlplane/apiserver"
	"k8s.io/kubernetes/pkg/controlplane/apiserver/options"
)

// This file and chain_patched.go hold what differs between a server built
// on the pinned k/k release (v1.37.2, this file) and one built on the patch
// series (-tags gcp_patched). On the release, this package assembles the
// upstream sample's chain itself and works around what the release does not
// offer a generic control plane (namespacedeletion.go, serviceaccounts.go,
// services.go, schemes.go are built on the release only).

// defaultGenericResourceConfig is the only call into k8s.io/kubernetes/pkg/controlplane
// (which drags in the kube-apiserver-only REST storage). A patched tree that moves
// DefaultGenericAPIResourceConfigSource into pkg/controlplane/apiserver builds with
// -tags gcp_patched (see compat_patched.go).
// chainConfig: on the release, the three configs are all the chain needs.
type chainConfig struct{}

func defaultGenericResourceConfig() *serverstorage.ResourceConfig {
	return controlplane.DefaultGenericAPIResourceConfigSource()
}

func buildGenericConfig(opts options.CompletedOptions, schemes []*runtime.Scheme, rc *serverstorage.ResourceConfig,
	defs func(openapicommon.ReferenceCallback) map[string]openapicommon.OpenAPIDefinition,
) (*genericapiserver.Config, clientgoinformers.SharedInformerFactory, *serverstorage.DefaultStorageFactory, error) {
	return controlplaneapiserver.BuildGenericConfig(opts, schemes, rc, defs, nil)
}

func createConfig(opts options.CompletedOptions, genericConfig *genericapiserver.Config, informers clientgoinformers.SharedInformerFactory,
	storageFactory *serverstorage.DefaultStorageFactory, resolver webhook.ServiceResolver,
) (*controlplaneapiserver.Config, []admission.PluginInitializer, error) {
	return controlplaneapiserver.CreateConfig(opts, genericConfig, informers, nil, storageFactory, resolver, nil)
}

// buildUpstreamConfigs is the upstream sample's NewConfig with this package's
// resource config, service resolver, version, storage tracking and handler
// chain.
func (c *Config) buildUpstreamConfigs(resourceConfig *serverstorage.ResourceConfig, crds bool, middleware []Middleware) error {
	opts := c.ControlPlaneOptions
	genericConfig, versionedInformers, storageFactory, err := buildGenericConfig(
		opts,
		[]*runtime.Scheme{legacyscheme.Scheme, apiextensionsapiserver.Scheme, aggregatorscheme.Scheme},
		resourceConfig,
		generatedopenapi.GetOpenAPIDefinitions,
	)
	if err != nil {
		return err
	}
	// Set before the apiextensions and aggregator configs copy genericConfig.
	genericConfig.EffectiveVersion = buildversion.Apply(genericConfig.EffectiveVersion)
	genericConfig.RESTOptionsGetter = c.storageClients.track(genericConfig.RESTOptionsGetter)

	var serviceResolver webhook.ServiceResolver = webhook.NewDefaultServiceResolver()
	if len(c.ServiceEndpoints) > 0 {
		serviceResolver = staticResolver{endpoints: c.ServiceEndpoints, next: serviceResolver}
	}
	kubeAPIs, pluginInitializer, err := createConfig(opts, genericConfig, versionedInformers, storageFactory, serviceResolver)
	if err != nil {
		return err
	}
	c.ControlPlane = kubeAPIs

	authInfoResolver := webhook.NewDefaultAuthenticationInfoResolverWrapper(kubeAPIs.ProxyTransport, kubeAPIs.Generic.EgressSelector, kubeAPIs.Generic.LoopbackClientConfig, kubeAPIs.Generic.TracerProvider)
	c.APIExtensions, err = controlplaneapiserver.CreateAPIExtensionsConfig(*kubeAPIs.Generic, kubeAPIs.VersionedInformers, pluginInitializer, opts, c.APIServerCount, serviceResolver, authInfoResolver)
	if err != nil {
		return err
	}
	if !crds {
		// The apiextensions server always starts its CRD controllers; without
		// the CRD API their informers never sync and /readyz never passes.
		c.APIExtensions.GenericConfig.DisabledPostStartHooks.Insert(
			"start-apiextensions-informers", "start-apiextensions-controllers", "crd-informer-synced")
	}

	c.Aggregator, err = controlplaneapiserver.CreateAggregatorConfig(*kubeAPIs.Generic, opts, kubeAPIs.VersionedInformers, serviceResolver, kubeAPIs.ProxyTransport, kubeAPIs.Extra.PeerProxy, pluginInitializer)
	if err != nil {
		return err
	}
	c.Aggregator.ExtraConfig.DisableRemoteAvailableConditionController = true
	if len(middleware) > 0 {
		// The aggregator is the outermost server, so its chain sees every request.
		base := c.Aggregator.GenericConfig.BuildHandlerChainFunc
		c.Aggregator.GenericConfig.BuildHandlerChainFunc = func(h http.Handler, gc *genericapiserver.Config) http.Handler {
			return base(chainMiddleware(h, middleware), gc)
		}
	}
	return nil
}

// Complete fills in the upstream configs' derived fields.
func (c *Config) Complete() CompletedConfig {
	return CompletedConfig{&completedConfig{
		ControlPlaneOptions: c.ControlPlaneOptions,
		ControlPlane:        c.ControlPlane.Complete(),
		APIExtensions:       c.APIExtensions.Complete(),
		Aggregator:          c.Aggregator.Complete(),
		ExtraConfig:         c.ExtraConfig,
	}}
}

// newChain is the upstream sample's CreateServerChain, plus the namespace
// deletion controller, the leftover CRD hook and the static APIService
// availability probe that the release does not offer a generic control plane.
func (c CompletedConfig) newChain() (*aggregatorapiserver.APIAggregator, error) {
	// 1. CRDs
	notFoundHandler := notfoundhandler.New(c.ControlPlane.Generic.Serializer, genericapifilters.NoMuxAndDiscoveryIncompleteKey)
	apiExtensionsServer, err := c.APIExtensions.New(genericapiserver.NewEmptyDelegateWithCustomHandler(notFoundHandler))
	if err != nil {
		return nil, fmt.Errorf("failed to create apiextensions-apiserver: %w", err)
	}
	crdAPIEnabled := c.APIExtensions.GenericConfig.MergedResourceConfig.ResourceEnabled(apiextensionsv1.SchemeGroupVersion.WithResource("customresourcedefinitions"))
	if crdAPIEnabled && c.APIServerCount == 1 {
		crdClient, err := apiextensionsclient.NewForConfig(c.ControlPlane.Generic.LoopbackClientConfig)
		if err != nil {
			return nil, err
		}
		if err := crdestablish.AddPostStartHook(apiExtensionsServer.GenericAPIServer, apiExtensionsServer.Informers, crdClient); err != nil {
			return nil, err
		}
	}

	// 2. Natively implemented resources
	nativeAPIs, err := c.ControlPlane.New(c.Name, apiExtensionsServer.GenericAPIServer)
	if err != nil {
		return nil, fmt.Errorf("failed to create generic controlplane apiserver: %w", err)
	}
	client, err := kubernetes.NewForConfig(c.ControlPlane.Generic.LoopbackClientConfig)
	if err != nil {
		return nil, err
	}
	storageProviders, err := c.ControlPlane.GenericStorageProviders(client.Discovery())
	if err != nil {
		return nil, fmt.Errorf("failed to create storage providers: %w", err)
	}
	storageProviders = append(storageProviders, c.MoreProviders...)
	if err := nativeAPIs.InstallAPIs(storageProviders...); err != nil {
		return nil, fmt.Errorf("failed to install APIs: %w", err)
	}
	if c.ControlPlane.Generic.MergedResourceConfig.ResourceEnabled(corev1.SchemeGroupVersion.WithResource("namespaces")) {
		if err := addNamespaceDeletion(nativeAPIs); err != nil {
			return nil, err
		}
	}

	// 3. Aggregator for APIServices, discovery and OpenAPI
	aggregator, err := controlplaneapiserver.CreateAggregatorServer(c.Aggregator, nativeAPIs.GenericAPIServer,
		apiExtensionsServer.Informers.Apiextensions().V1().CustomResourceDefinitions(), crdAPIEnabled,
		c.apiServicePriorities())
	if err != nil {
		return nil, fmt.Errorf("failed to create kube-aggregator: %w", err)
	}
	if len(c.ServiceEndpoints) > 0 {
		loopback := aggregator.GenericAPIServer.LoopbackClientConfig
		endpoints := c.ServiceEndpoints
		if err := aggregator.GenericAPIServer.AddPostStartHook("static-apiservice-availability", func(hc genericapiserver.PostStartHookContext) error {
			go runAvailability(hc, loopback, endpoints)
			return nil
		}); err != nil {
			return nil, err
		}
	}
	return aggregator, nil
}

// apiServicePriorities are c.APIServicePriorities, or the generic ones for a
// Config that did not come from Options.Config.
func (c CompletedConfig) apiServicePriorities() map[schema.GroupVersion]controlplaneapiserver.APIServicePriority {
	if c.APIServicePriorities == nil {
		return controlplaneapiserver.DefaultGenericAPIServicePriorities()
	}
	return c.APIServicePriorities
}

// newSampleOptions are the options of the upstream generic sample: the
// control plane's, with the sample's admission plugins and a service account
// token getter that needs no pods or nodes.
func newSampleOptions() *options.Options {
	s := options.NewOptions()
	s.Admission.GenericAdmission.DefaultOffPlugins = defaultOffAdmissionPlugins(s.Admission.GenericAdmission.Plugins.Registered())
	s.Authentication.ServiceAccounts.OptionalTokenGetter = tokenGetter(true, true)
	return s
}

// defaultOffAdmissionPlugins mirrors the upstream generic sample: everything
// registered is off except the plugins that make sense without pods and nodes.
// (It takes the registered names instead of kubeoptions.AllOrderedPlugins,
// which the patch series moves to another package.)
func defaultOffAdmissionPlugins(registered []string) sets.Set[string] {
	on := sets.New[string](lifecycle.PluginName, serviceaccount.PluginName,
		mutatingwebhook.PluginName, validatingwebhook.PluginName, resourcequota.PluginName,
		certapproval.PluginName, certsigning.PluginName, ctbattest.PluginName, certsubjectrestriction.PluginName,
		validatingadmissionpolicy.PluginName, mutatingadmissionpolicy.PluginName)
	return sets.New(registered...).Difference(on)
}

// skipControllersOfUnservedAPIs keeps the controllers that need an API the
// selection leaves out from starting: they would wait forever for an
// informer to sync or loop on errors.
func skipControllersOfUnservedAPIs(s *options.Options, apis apiSet) {
	if !apis.has("namespaces") {
		// The system namespaces controller.
		s.SystemNamespaces = nil
	}
	// Service account token authentication reads only what is served.
	s.Authentication.ServiceAccounts.OptionalTokenGetter = tokenGetter(apis.has("serviceaccounts"), apis.has("secrets"))
	if !apis.has("leases") {
		// The identity lease controller needs coordination.k8s.io leases.
		if err := utilfeature.DefaultMutableFeatureGate.Set("UnknownVersionInteroperabilityProxy=false,APIServerIdentity=false"); err != nil {
			klog.Warningf("cannot disable APIServerIdentity: %v", err)
		}
	}
}

// registerAdmission registers and enables p (Options.Validate has checked
// that it is complete and that its name is free).
func registerAdmission(s *options.Options, p AdmissionPlugin) error {
	ga := s.Admission.GenericAdmission
	plugin := newFuncPlugin(p)
	ga.Plugins.Register(p.Name, func(io.Reader) (admission.Interface, error) { return plugin, nil })
	ga.RecommendedPluginOrder = append(ga.RecommendedPluginOrder, p.Name)
	ga.EnablePlugins = append(ga.EnablePlugins, p.Name)
	return nil
}

// ProviderContext is what APIGroup.NewProvider builds a provider from. On
// the pinned release there is nothing to build from: the control plane's
// completed config is the series' (pkg/controlplane/apiserver/base), so
// Options.Validate refuses groups with a NewProvider.
type ProviderContext struct{}

const providerContextBuilt = false
