// Package server is a small harness around the Kubernetes generic control
// plane (k8s.io/kubernetes/pkg/controlplane/apiserver, KEP-4080): it serves a
// chosen subset of built-in APIs plus CRDs and APIServices, with TLS, client
// certificate authentication and RBAC on by default, on an in-process etcd
// (or kine) it starts itself.
//
// The stages are those of k8s.io/apiserver and the upstream generic sample
// (k8s.io/kubernetes/pkg/controlplane/apiserver/samples/generic/server):
//
//	Options                        what to serve; empty fields mean defaults
//	  -> Options.Config(ctx)       Complete (defaults, once), Validate, then apply:
//	                               port, PKI, authn, API selection, storage, upstream configs
//	  -> Config.Complete()         the sample's Config.Complete
//	  -> CompletedConfig.New()     the sample's CreateServerChain
//	  -> Server.Run(ctx)           PrepareRun, admin kubeconfig, run until ctx is done,
//	                               then stop storage last
//
// Run does all of it in one call. Flags are not this package's concern; see
// cmd/minimal-apiserver/app.
package server

import (
	"context"
	"fmt"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	genericapifilters "k8s.io/apiserver/pkg/endpoints/filters"
	genericapiserver "k8s.io/apiserver/pkg/server"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	"k8s.io/apiserver/pkg/util/notfoundhandler"
	"k8s.io/client-go/kubernetes"
	logsapi "k8s.io/component-base/logs/api/v1"
	"k8s.io/klog/v2"
	aggregatorapiserver "k8s.io/kube-aggregator/pkg/apiserver"
	controlplaneapiserver "k8s.io/kubernetes/pkg/controlplane/apiserver"
	_ "k8s.io/kubernetes/pkg/features" // register the kubernetes feature gates

	"github.com/generic-controlplane/gcp/server/crdestablish"
	"github.com/generic-controlplane/gcp/server/pki"
)

func init() {
	utilruntime.Must(logsapi.AddFeatureGates(utilfeature.DefaultMutableFeatureGate))
}

// Run runs the server o describes until ctx is done: Options.Config,
// Config.Complete, CompletedConfig.New and Server.Run in one call.
func Run(ctx context.Context, o Options) error {
	config, err := o.Config(ctx)
	if err != nil {
		return err
	}
	server, err := config.Complete().New()
	if err != nil {
		return err
	}
	return server.Run(ctx)
}

// Server is the chain of API servers, ready to run.
type Server struct {
	// Aggregator is the outermost server: kube-aggregator delegating to the
	// generic control plane, which delegates to apiextensions.
	Aggregator *aggregatorapiserver.APIAggregator

	extra ExtraConfig
}

// New creates the API servers connected via delegation, as the upstream
// sample's CreateServerChain does. On error it stops the in-process storage.
func (c CompletedConfig) New() (_ *Server, err error) {
	defer func() {
		if err != nil {
			c.stopStorage()
		}
	}()
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
	return &Server{Aggregator: aggregator, extra: c.ExtraConfig}, nil
}

// Run prepares the server, writes the admin kubeconfig (before the server is
// ready: poll /readyz) and serves until ctx is done. It returns once the
// servers have drained and stopped; only then does it stop the in-process
// storage, so that nothing still talks to it.
func (s *Server) Run(ctx context.Context) error {
	defer s.extra.stopStorage()
	prepared, err := s.Aggregator.PrepareRun()
	if err != nil {
		return err
	}
	if err := pki.WriteAdminKubeconfig(s.extra.KubeconfigPath, s.extra.ServerURL, s.extra.PKI); err != nil {
		return fmt.Errorf("writing kubeconfig %s: %w", s.extra.KubeconfigPath, err)
	}
	klog.Infof("%s serving %s at %s; admin kubeconfig: %s", s.extra.Name, strings.Join(s.extra.APIs, ","), s.extra.ServerURL, s.extra.KubeconfigPath)
	err = prepared.Run(ctx)
	klog.Infof("%s: API server stopped", s.extra.Name)
	return err
}

// apiServicePriorities are c.APIServicePriorities, or the generic ones for a
// Config that did not come from Options.Config.
func (c CompletedConfig) apiServicePriorities() map[schema.GroupVersion]controlplaneapiserver.APIServicePriority {
	if c.APIServicePriorities == nil {
		return controlplaneapiserver.DefaultGenericAPIServicePriorities()
	}
	return c.APIServicePriorities
}
