// Package server is a small harness around the Kubernetes generic control
// plane (k8s.io/kubernetes/pkg/controlplane/apiserver, KEP-4080): it serves a
// chosen subset of built-in APIs plus CRDs and APIServices, with TLS, client
// certificate authentication and RBAC on by default, on an in-process etcd
// (or kine) it starts itself.
package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsapiserver "k8s.io/apiextensions-apiserver/pkg/apiserver"
	"k8s.io/apimachinery/pkg/runtime"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apiserver/pkg/admission/plugin/namespace/lifecycle"
	mutatingadmissionpolicy "k8s.io/apiserver/pkg/admission/plugin/policy/mutating"
	validatingadmissionpolicy "k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	"k8s.io/apiserver/pkg/admission/plugin/resourcequota"
	mutatingwebhook "k8s.io/apiserver/pkg/admission/plugin/webhook/mutating"
	validatingwebhook "k8s.io/apiserver/pkg/admission/plugin/webhook/validating"
	genericapifilters "k8s.io/apiserver/pkg/endpoints/filters"
	genericapiserver "k8s.io/apiserver/pkg/server"
	serverstorage "k8s.io/apiserver/pkg/server/storage"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	"k8s.io/apiserver/pkg/util/notfoundhandler"
	"k8s.io/apiserver/pkg/util/webhook"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	cliflag "k8s.io/component-base/cli/flag"
	logsapi "k8s.io/component-base/logs/api/v1"
	"k8s.io/klog/v2"
	aggregatorapiserver "k8s.io/kube-aggregator/pkg/apiserver"
	aggregatorscheme "k8s.io/kube-aggregator/pkg/apiserver/scheme"
	"k8s.io/kubernetes/pkg/api/legacyscheme"
	controlplaneapiserver "k8s.io/kubernetes/pkg/controlplane/apiserver"
	"k8s.io/kubernetes/pkg/controlplane/apiserver/options"
	_ "k8s.io/kubernetes/pkg/features" // register the kubernetes feature gates
	generatedopenapi "k8s.io/kubernetes/pkg/generated/openapi"
	certapproval "k8s.io/kubernetes/plugin/pkg/admission/certificates/approval"
	"k8s.io/kubernetes/plugin/pkg/admission/certificates/ctbattest"
	certsigning "k8s.io/kubernetes/plugin/pkg/admission/certificates/signing"
	certsubjectrestriction "k8s.io/kubernetes/plugin/pkg/admission/certificates/subjectrestriction"
	"k8s.io/kubernetes/plugin/pkg/admission/serviceaccount"
)

func init() {
	utilruntime.Must(logsapi.AddFeatureGates(utilfeature.DefaultMutableFeatureGate))
}

// Middleware wraps the API handler. It runs after authentication and
// authorization, so request.UserFrom(r.Context()) is set.
type Middleware func(http.Handler) http.Handler

// Options configures a server. The zero value is a useful default.
type Options struct {
	// Name shows up in logs and the apiserver identity (default "minimal-apiserver").
	Name string
	// APIs selects built-in resources (see ValidAPIs); nil means DefaultAPIs.
	APIs []string
	// DataDir holds etcd/kine data, certificates and the admin kubeconfig.
	DataDir string
	// KubeconfigOut is where the admin kubeconfig is written (default <DataDir>/admin.kubeconfig).
	KubeconfigOut string
	// Storage is "etcd" (embedded, default) or "kine". Ignored when --etcd-servers is set.
	Storage string
	// KineDSN is a SQLite path or postgres:// DSN (default <DataDir>/kine.db).
	KineDSN string
	// Admission plugins run after the built-in ones (validating phase).
	Admission []AdmissionPlugin
	// Middleware wraps the API handler, outermost first.
	Middleware []Middleware
	// ServiceEndpoints maps "namespace/name" of a Service to "host:port" for
	// APIServices and webhooks (there are no Services/Endpoints to resolve).
	// APIServices using such a service get their Available condition from a probe.
	ServiceEndpoints map[string]string
	// Args are passed to the flag parser by Main (default os.Args[1:]).
	Args []string
}

// upstream returns the generic control plane options with safe defaults.
func (o *Options) upstream() *options.Options {
	s := options.NewOptions()
	s.Admission.GenericAdmission.DefaultOffPlugins = defaultOffAdmissionPlugins(s.Admission.GenericAdmission.Plugins.Registered())
	s.SecureServing.BindAddress = net.ParseIP("127.0.0.1")
	s.SecureServing.BindPort = 6443
	s.Authentication.Anonymous.Allow = false
	s.Authentication.ServiceAccounts.OptionalTokenGetter = tokenGetter(true, true)
	s.Authentication.ServiceAccounts.Issuers = []string{"https://kubernetes.default.svc"}
	s.Authorization.Modes = []string{"RBAC"}
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

// Main parses flags, runs the server until SIGTERM/SIGINT and exits. Errors
// are printed to stderr with exit code 1 (2 for flag errors).
func Main(o Options) {
	ctx := genericapiserver.SetupSignalContext()
	if err := RunWithFlags(ctx, o); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		var fe flagError
		if errors.As(err, &fe) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

type flagError struct{ error }

func (f flagError) Unwrap() error { return f.error }

// RunWithFlags is Main without the process handling: it parses o.Args (or
// os.Args[1:]) into o and the upstream options, then runs until ctx is done.
func RunWithFlags(ctx context.Context, o Options) error {
	s := o.upstream()
	name := o.Name
	if name == "" {
		name = filepath.Base(os.Args[0])
	}
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	apis := o.APIs
	if apis == nil {
		apis = DefaultAPIs
	}
	if o.DataDir == "" {
		o.DataDir = "minimal-apiserver-data"
	}
	if o.Storage == "" {
		o.Storage = "etcd"
	}
	fs.StringSliceVar(&o.APIs, "apis", apis, "Comma-separated built-in APIs to serve. Valid: "+strings.Join(ValidAPIs(), ",")+". 'apiservices' is always on.")
	fs.StringVar(&o.DataDir, "data-dir", o.DataDir, "Directory for storage data, certificates and the admin kubeconfig.")
	fs.StringVar(&o.KubeconfigOut, "kubeconfig-out", o.KubeconfigOut, "Where to write the admin kubeconfig (default <data-dir>/admin.kubeconfig).")
	fs.StringVar(&o.Storage, "storage", o.Storage, "In-process storage when --etcd-servers is not set: etcd (embedded) or kine.")
	fs.StringVar(&o.KineDSN, "kine-dsn", o.KineDSN, "kine datastore: SQLite file path or postgres:// DSN (default <data-dir>/kine.db).")
	fs.StringToStringVar(&o.ServiceEndpoints, "service-endpoint", o.ServiceEndpoints, "namespace/name=host:port: where service references of APIServices and webhooks point (repeatable).")
	var nfs cliflag.NamedFlagSets
	s.AddFlags(&nfs)
	for _, f := range nfs.FlagSets {
		fs.AddFlagSet(f)
	}
	args := o.Args
	if args == nil {
		args = os.Args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return flagError{err}
	}
	if fs.NArg() > 0 {
		return flagError{fmt.Errorf("unexpected arguments %q", fs.Args())}
	}
	return Run(ctx, o, s)
}

// Run runs the server described by o, on top of the (already flag-parsed)
// upstream options s (nil means defaults), until ctx is done.
func Run(ctx context.Context, o Options, s *options.Options) error {
	if s == nil {
		s = o.upstream()
	}
	if o.APIs == nil {
		o.APIs = DefaultAPIs
	}
	set, err := parseAPIs(o.APIs)
	if err != nil {
		return err
	}
	if err := validateEndpoints(o.ServiceEndpoints); err != nil {
		return err
	}
	if o.Name == "" {
		o.Name = "minimal-apiserver"
	}
	if o.DataDir == "" {
		o.DataDir = "minimal-apiserver-data"
	}
	if o.Storage == "" {
		o.Storage = "etcd"
	}
	rest.SetDefaultWarningHandler(rest.NoWarnings{})
	if err := logsapi.ValidateAndApply(s.Logs, utilfeature.DefaultFeatureGate); err != nil {
		return err
	}

	// Data dir must be a writable directory.
	dataDir, err := filepath.Abs(o.DataDir)
	if err != nil {
		return err
	}
	if err := checkWritableDir(dataDir); err != nil {
		return err
	}

	// Bind the secure port ourselves for a clear error and to support port 0.
	bindAddr := s.SecureServing.BindAddress.String()
	addr := net.JoinHostPort(bindAddr, strconv.Itoa(s.SecureServing.BindPort))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s (--bind-address/--secure-port): %w", addr, err)
	}
	s.SecureServing.Listener = ln
	s.SecureServing.BindPort = ln.Addr().(*net.TCPAddr).Port
	serverURL := "https://" + net.JoinHostPort(bindAddr, strconv.Itoa(s.SecureServing.BindPort))
	if bindAddr == "0.0.0.0" || bindAddr == "::" {
		serverURL = "https://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(s.SecureServing.BindPort))
	}

	if s.GenericServerRunOptions.AdvertiseAddress == nil && !s.SecureServing.BindAddress.IsUnspecified() {
		s.GenericServerRunOptions.AdvertiseAddress = s.SecureServing.BindAddress
	}

	// Certificates: ours unless the user brought their own.
	hosts := []string{"127.0.0.1", "localhost", "::1", bindAddr}
	pki, err := ensurePKI(filepath.Join(dataDir, "pki"), hosts)
	if err != nil {
		return fmt.Errorf("creating certificates in %s: %w", filepath.Join(dataDir, "pki"), err)
	}
	if s.SecureServing.ServerCert.CertKey.CertFile == "" {
		s.SecureServing.ServerCert.CertKey.CertFile, s.SecureServing.ServerCert.CertKey.KeyFile = pki.ServingCert, pki.ServingKey
	}
	if s.Authentication.ClientCert.ClientCA == "" {
		s.Authentication.ClientCert.ClientCA = pki.CACert
	}
	if s.Authentication.RequestHeader.ClientCAFile == "" {
		rh := s.Authentication.RequestHeader
		rh.ClientCAFile = pki.FrontProxyCA
		rh.AllowedNames = []string{"front-proxy-client"}
		rh.UsernameHeaders, rh.GroupHeaders = []string{"X-Remote-User"}, []string{"X-Remote-Group"}
		rh.UIDHeaders = []string{"X-Remote-Uid"}
		rh.ExtraHeaderPrefixes = []string{"X-Remote-Extra-"}
		if s.ProxyClientCertFile == "" {
			s.ProxyClientCertFile, s.ProxyClientKeyFile = pki.ProxyClientCert, pki.ProxyClient
		}
	}
	if len(s.Authentication.ServiceAccounts.KeyFiles) == 0 && s.ServiceAccountSigningKeyFile == "" {
		s.Authentication.ServiceAccounts.KeyFiles = []string{pki.ServiceAccountKey}
		s.ServiceAccountSigningKeyFile = pki.ServiceAccountKey
	}

	// API selection and what it implies for authorization and admission.
	if !set.has("rbac") && len(s.Authorization.Modes) == 1 && s.Authorization.Modes[0] == "RBAC" {
		// Without the RBAC API only system:masters (the admin cert) is authorized.
		s.Authorization.Modes = []string{"AlwaysDeny"}
	}
	off := s.Admission.GenericAdmission.DefaultOffPlugins
	if !set.has("namespaces") {
		off.Insert(lifecycle.PluginName)
		s.SystemNamespaces = nil
	}
	if !set.has("serviceaccounts") {
		off.Insert(serviceaccount.PluginName)
		// No ServiceAccounts to look up (and no informer that could sync).
		s.Authentication.ServiceAccounts.Lookup = false
	}
	s.Authentication.ServiceAccounts.OptionalTokenGetter = tokenGetter(set.has("serviceaccounts"), set.has("secrets"))
	if !set.has("resourcequotas") {
		off.Insert(resourcequota.PluginName)
	}
	if !set.has("admissionregistration") {
		off.Insert(mutatingwebhook.PluginName, validatingwebhook.PluginName, validatingadmissionpolicy.PluginName, mutatingadmissionpolicy.PluginName)
	}
	if !set.has("certificates") {
		off.Insert(certapproval.PluginName, certsigning.PluginName, ctbattest.PluginName, certsubjectrestriction.PluginName)
	}
	if !set.has("flowcontrol") {
		s.Features.EnablePriorityAndFairness = false
	}
	if !set.has("leases") {
		// The identity lease controller needs coordination.k8s.io leases.
		if err := utilfeature.DefaultMutableFeatureGate.Set("UnknownVersionInteroperabilityProxy=false,APIServerIdentity=false"); err != nil {
			klog.Warningf("cannot disable APIServerIdentity: %v", err)
		}
	}
	for _, p := range o.Admission {
		if err := registerAdmission(s, p); err != nil {
			return err
		}
	}
	rc := defaultGenericResourceConfig()
	for k, v := range set.applyTo(rc) {
		if s.APIEnablement.RuntimeConfig == nil {
			s.APIEnablement.RuntimeConfig = cliflag.ConfigurationMap{}
		}
		if _, userSet := s.APIEnablement.RuntimeConfig[k]; !userSet {
			s.APIEnablement.RuntimeConfig[k] = v
		}
	}

	// Storage.
	var backend *storageBackend
	if len(s.Etcd.StorageConfig.Transport.ServerList) == 0 {
		switch o.Storage {
		case "etcd":
			backend, err = startEmbeddedEtcd(dataDir)
		case "kine":
			dsn := o.KineDSN
			if dsn == "" {
				dsn = filepath.Join(dataDir, "kine.db")
			}
			backend, err = startKine(dsn)
		default:
			return fmt.Errorf("unknown --storage %q; valid: etcd, kine", o.Storage)
		}
		if err != nil {
			return err
		}
		defer backend.stop()
		s.Etcd.StorageConfig.Transport.ServerList = []string{backend.endpoint}
	}

	completed, err := s.Complete(ctx, nil, nil)
	if err != nil {
		return err
	}
	if errs := completed.Validate(); len(errs) != 0 {
		return utilerrors.NewAggregate(errs)
	}
	kubeconfig := o.KubeconfigOut
	if kubeconfig == "" {
		kubeconfig = filepath.Join(dataDir, "admin.kubeconfig")
	}
	srv, err := newServer(completed, rc, o, set.has("crds"))
	if err != nil {
		return err
	}
	prepared, err := srv.PrepareRun()
	if err != nil {
		return err
	}
	if err := writeAdminKubeconfig(kubeconfig, serverURL, pki); err != nil {
		return fmt.Errorf("writing kubeconfig %s: %w", kubeconfig, err)
	}
	klog.Infof("%s serving %s at %s; admin kubeconfig: %s", o.Name, strings.Join(o.APIs, ","), serverURL, kubeconfig)
	return prepared.Run(ctx)
}

func checkWritableDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data dir %s is not usable: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, ".probe-*")
	if err != nil {
		return fmt.Errorf("data dir %s is not writable: %w", dir, err)
	}
	f.Close()
	return os.Remove(f.Name())
}

// newServer wires apiextensions -> generic control plane -> aggregator, like
// the upstream generic sample, with our resource config and middleware.
func newServer(opts options.CompletedOptions, resourceConfig *serverstorage.ResourceConfig, o Options, crds bool) (*aggregatorapiserver.APIAggregator, error) {
	genericConfig, versionedInformers, storageFactory, err := buildGenericConfig(
		opts,
		[]*runtime.Scheme{legacyscheme.Scheme, apiextensionsapiserver.Scheme, aggregatorscheme.Scheme},
		resourceConfig,
		generatedopenapi.GetOpenAPIDefinitions,
	)
	if err != nil {
		return nil, err
	}
	var serviceResolver webhook.ServiceResolver = webhook.NewDefaultServiceResolver()
	if len(o.ServiceEndpoints) > 0 {
		serviceResolver = staticResolver{endpoints: o.ServiceEndpoints, next: serviceResolver}
	}
	kubeAPIs, pluginInitializer, err := createConfig(opts, genericConfig, versionedInformers, storageFactory, serviceResolver)
	if err != nil {
		return nil, err
	}
	authInfoResolver := webhook.NewDefaultAuthenticationInfoResolverWrapper(kubeAPIs.ProxyTransport, kubeAPIs.Generic.EgressSelector, kubeAPIs.Generic.LoopbackClientConfig, kubeAPIs.Generic.TracerProvider)
	apiExtensions, err := controlplaneapiserver.CreateAPIExtensionsConfig(*kubeAPIs.Generic, kubeAPIs.VersionedInformers, pluginInitializer, opts, 3, serviceResolver, authInfoResolver)
	if err != nil {
		return nil, err
	}
	aggregator, err := controlplaneapiserver.CreateAggregatorConfig(*kubeAPIs.Generic, opts, kubeAPIs.VersionedInformers, serviceResolver, kubeAPIs.ProxyTransport, kubeAPIs.Extra.PeerProxy, pluginInitializer)
	if err != nil {
		return nil, err
	}
	aggregator.ExtraConfig.DisableRemoteAvailableConditionController = true
	if !crds {
		// The apiextensions server always starts its CRD controllers; without
		// the CRD API their informers never sync and /readyz never passes.
		apiExtensions.GenericConfig.DisabledPostStartHooks.Insert(
			"start-apiextensions-informers", "start-apiextensions-controllers", "crd-informer-synced")
	}
	if len(o.Middleware) > 0 {
		base := aggregator.GenericConfig.BuildHandlerChainFunc
		mws := o.Middleware
		aggregator.GenericConfig.BuildHandlerChainFunc = func(h http.Handler, c *genericapiserver.Config) http.Handler {
			for i := len(mws) - 1; i >= 0; i-- {
				h = mws[i](h)
			}
			return base(h, c)
		}
	}

	cpCompleted := kubeAPIs.Complete()
	extCompleted := apiExtensions.Complete()
	aggCompleted := aggregator.Complete()

	notFoundHandler := notfoundhandler.New(cpCompleted.Generic.Serializer, genericapifilters.NoMuxAndDiscoveryIncompleteKey)
	apiExtensionsServer, err := extCompleted.New(genericapiserver.NewEmptyDelegateWithCustomHandler(notFoundHandler))
	if err != nil {
		return nil, fmt.Errorf("failed to create apiextensions-apiserver: %w", err)
	}
	crdAPIEnabled := extCompleted.GenericConfig.MergedResourceConfig.ResourceEnabled(apiextensionsv1.SchemeGroupVersion.WithResource("customresourcedefinitions"))
	nativeAPIs, err := cpCompleted.New(o.Name, apiExtensionsServer.GenericAPIServer)
	if err != nil {
		return nil, fmt.Errorf("failed to create generic controlplane apiserver: %w", err)
	}
	client, err := kubernetes.NewForConfig(cpCompleted.Generic.LoopbackClientConfig)
	if err != nil {
		return nil, err
	}
	storageProviders, err := cpCompleted.GenericStorageProviders(client.Discovery())
	if err != nil {
		return nil, fmt.Errorf("failed to create storage providers: %w", err)
	}
	if err := nativeAPIs.InstallAPIs(storageProviders...); err != nil {
		return nil, fmt.Errorf("failed to install APIs: %w", err)
	}
	agg, err := controlplaneapiserver.CreateAggregatorServer(aggCompleted, nativeAPIs.GenericAPIServer,
		apiExtensionsServer.Informers.Apiextensions().V1().CustomResourceDefinitions(), crdAPIEnabled,
		controlplaneapiserver.DefaultGenericAPIServicePriorities())
	if err != nil {
		return nil, err
	}
	if len(o.ServiceEndpoints) > 0 {
		loopback := agg.GenericAPIServer.LoopbackClientConfig
		eps := o.ServiceEndpoints
		if err := agg.GenericAPIServer.AddPostStartHook("static-apiservice-availability", func(hc genericapiserver.PostStartHookContext) error {
			go runAvailability(hc, loopback, eps)
			return nil
		}); err != nil {
			return nil, err
		}
	}
	return agg, nil
}
