// Package crdonly is an API server that serves CustomResourceDefinitions and
// the custom resources they define, and nothing else: apiextensions-apiserver
// on the generic API server of k8s.io/apiserver, with the storage, the
// certificates and the admin kubeconfig this repository's servers keep in
// their data directory. It links no package of k8s.io/kubernetes: a server
// that serves only CRDs needs none of the built-in APIs, their registries or
// the control plane that assembles them.
//
// Authentication is by client certificate of the data dir's CA; only
// system:masters (the admin certificate of the kubeconfig Run writes) is
// authorized, as in the full server without the RBAC API. There is no
// admission but apiextensions' own validation, no aggregation layer and no
// conversion webhook by service reference (a webhook needs a URL).
package crdonly

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strconv"

	"github.com/spf13/pflag"
	"go.opentelemetry.io/otel/trace/noop"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsv1beta1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1beta1"
	"k8s.io/apiextensions-apiserver/pkg/apiserver"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	serveroptions "k8s.io/apiextensions-apiserver/pkg/cmd/server/options"
	generatedopenapi "k8s.io/apiextensions-apiserver/pkg/generated/openapi"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/authentication/request/x509"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizerfactory"
	openapinamer "k8s.io/apiserver/pkg/endpoints/openapi"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/server/dynamiccertificates"
	genericoptions "k8s.io/apiserver/pkg/server/options"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	"k8s.io/apiserver/pkg/util/compatibility"
	"k8s.io/apiserver/pkg/util/openapi"
	"k8s.io/apiserver/pkg/util/webhook"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/klog/v2"

	"github.com/generic-controlplane/gcp/internal/etcdrun"
	"github.com/generic-controlplane/gcp/server/buildversion"
	"github.com/generic-controlplane/gcp/server/crdestablish"
	"github.com/generic-controlplane/gcp/server/datadir"
	"github.com/generic-controlplane/gcp/server/pki"
)

// Options says where a CRD-only server keeps its data and where it serves.
type Options struct {
	// Name names the server in logs and the embedded etcd's member.
	Name string
	// DataDir holds the lock, pki/, the embedded etcd (etcd/) and, unless
	// KubeconfigOut says otherwise, admin.kubeconfig. Required.
	DataDir string
	// BindAddress and SecurePort are where the server listens; port 0 picks
	// a free one.
	BindAddress string
	SecurePort  int
	// KubeconfigOut is where the admin kubeconfig goes; empty means
	// <DataDir>/admin.kubeconfig. It is written once the server listens,
	// before it is ready: poll /readyz.
	KubeconfigOut string
	// EtcdServers are an external etcd's client URLs; none runs an embedded
	// etcd in <DataDir>/etcd.
	EtcdServers []string
	// EtcdPrefix is the key prefix of every object.
	EtcdPrefix string
}

// NewOptions returns the defaults: 127.0.0.1:6443, data in ./data, an
// embedded etcd, keys under /registry.
func NewOptions() *Options {
	return &Options{Name: "crd-apiserver", DataDir: "data", BindAddress: "127.0.0.1", SecurePort: 6443, EtcdPrefix: "/registry"}
}

// AddFlags binds the options to flags named as the other servers of this
// repository name them.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.DataDir, "data-dir", o.DataDir, "Directory for the lock, certificates, embedded etcd and admin kubeconfig.")
	fs.StringVar(&o.BindAddress, "bind-address", o.BindAddress, "IP address to serve on.")
	fs.IntVar(&o.SecurePort, "secure-port", o.SecurePort, "Port to serve HTTPS on; 0 picks a free port.")
	fs.StringVar(&o.KubeconfigOut, "kubeconfig-out", o.KubeconfigOut, "Where to write the admin kubeconfig (default <data-dir>/admin.kubeconfig).")
	fs.StringSliceVar(&o.EtcdServers, "etcd-servers", o.EtcdServers, "Client URLs of an external etcd; empty runs an embedded etcd in <data-dir>/etcd.")
	fs.StringVar(&o.EtcdPrefix, "etcd-prefix", o.EtcdPrefix, "The prefix of every key in etcd.")
}

// Validate reports what cannot work, naming the flag.
func (o *Options) Validate() error {
	var errs []error
	if o.DataDir == "" {
		errs = append(errs, errors.New("--data-dir must be set"))
	}
	if net.ParseIP(o.BindAddress) == nil {
		errs = append(errs, fmt.Errorf("--bind-address %q is not an IP address", o.BindAddress))
	}
	if o.SecurePort < 0 || o.SecurePort > 65535 {
		errs = append(errs, fmt.Errorf("--secure-port %d is not a port (0 picks a free one)", o.SecurePort))
	}
	if o.EtcdPrefix == "" {
		errs = append(errs, errors.New("--etcd-prefix must not be empty"))
	}
	return errors.Join(errs...)
}

// Run serves until ctx is done, then stops the API server and, after it,
// the embedded etcd.
func Run(ctx context.Context, o Options) error {
	if err := o.Validate(); err != nil {
		return err
	}
	if err := datadir.CheckWritable(o.DataDir); err != nil {
		return err
	}
	lock, err := datadir.Acquire(o.DataDir)
	if err != nil {
		return fmt.Errorf("%w; stop it or choose another --data-dir", err)
	}
	defer lock.Release()

	listener, err := net.Listen("tcp", net.JoinHostPort(o.BindAddress, strconv.Itoa(o.SecurePort)))
	if err != nil {
		return fmt.Errorf("cannot listen on --bind-address %s --secure-port %d: %w", o.BindAddress, o.SecurePort, err)
	}
	defer listener.Close()
	host := o.BindAddress
	if net.ParseIP(host).IsUnspecified() {
		host = "127.0.0.1"
	}
	serverURL := "https://" + net.JoinHostPort(host, strconv.Itoa(listener.Addr().(*net.TCPAddr).Port))
	certs, err := pki.Ensure(filepath.Join(o.DataDir, "pki"), []string{"127.0.0.1", "localhost", "::1", o.BindAddress})
	if err != nil {
		return fmt.Errorf("creating certificates in %s: %w", filepath.Join(o.DataDir, "pki"), err)
	}

	etcdServers := o.EtcdServers
	if len(etcdServers) == 0 {
		e, err := etcdrun.Start(o.DataDir, o.Name)
		if err != nil {
			return fmt.Errorf("starting the embedded etcd in %s: %w", o.DataDir, err)
		}
		// Deferred before the server runs, so it runs after the server stopped.
		defer func() { e.Stop(); klog.Infof("%s: embedded etcd stopped", o.Name) }()
		etcdServers = []string{e.Endpoint}
		klog.Infof("%s: embedded etcd started", o.Name)
	}

	config, err := newConfig(o, listener, certs, etcdServers)
	if err != nil {
		return err
	}
	server, err := config.Complete().New(genericapiserver.NewEmptyDelegate())
	if err != nil {
		return fmt.Errorf("setting up the API server: %w", err)
	}
	installGroupDiscovery(server.GenericAPIServer)
	crdClient, err := apiextensionsclient.NewForConfig(server.GenericAPIServer.LoopbackClientConfig)
	if err != nil {
		return err
	}
	if err := crdestablish.AddPostStartHook(server.GenericAPIServer, server.Informers, crdClient); err != nil {
		return err
	}
	kubeconfig := o.KubeconfigOut
	if kubeconfig == "" {
		kubeconfig = filepath.Join(o.DataDir, "admin.kubeconfig")
	}
	if err := pki.WriteAdminKubeconfig(kubeconfig, serverURL, certs); err != nil {
		return fmt.Errorf("writing the admin kubeconfig %s: %w", kubeconfig, err)
	}
	klog.Infof("%s: serving CRDs on %s; admin kubeconfig %s", o.Name, serverURL, kubeconfig)
	err = server.GenericAPIServer.PrepareRun().RunWithContext(ctx)
	klog.Infof("%s: API server stopped", o.Name)
	return err
}

// newConfig is the apiextensions-apiserver config: serving on listener with
// the data dir's certificates, client certificate authentication,
// system:masters only, objects in etcd under o.EtcdPrefix.
func newConfig(o Options, listener net.Listener, certs pki.PKI, etcdServers []string) (*apiserver.Config, error) {
	cfg := genericapiserver.NewRecommendedConfig(apiserver.Codecs)
	cfg.EffectiveVersion = buildversion.Apply(compatibility.DefaultBuildEffectiveVersion())
	cfg.ExternalAddress = listener.Addr().String()

	serving, err := dynamiccertificates.NewDynamicServingContentFromFiles("serving-cert", certs.ServingCert, certs.ServingKey)
	if err != nil {
		return nil, err
	}
	clientCA, err := dynamiccertificates.NewDynamicCAContentFromFile("client-ca", certs.CACert)
	if err != nil {
		return nil, err
	}
	cfg.SecureServing = &genericapiserver.SecureServingInfo{Listener: listener, Cert: serving, ClientCA: clientCA}
	loopbackToken, err := randomToken()
	if err != nil {
		return nil, err
	}
	caPEM := clientCA.CurrentCABundleContent()
	if cfg.LoopbackClientConfig, err = cfg.SecureServing.NewLoopbackClientConfig(loopbackToken, caPEM); err != nil {
		return nil, err
	}
	// The serving certificate, not a loopback one of its own, answers the
	// loopback client: it is valid for localhost.
	cfg.LoopbackClientConfig.TLSClientConfig.ServerName = "localhost"
	cfg.Authentication.Authenticator = x509.NewDynamic(clientCA.VerifyOptions, x509.CommonNameUserConversion)
	cfg.Authorization.Authorizer = authorizerfactory.NewPrivilegedGroups(user.SystemPrivilegedGroup)
	genericapiserver.AuthorizeClientBearerToken(cfg.LoopbackClientConfig, &cfg.Authentication, &cfg.Authorization)
	cfg.AdmissionControl = admission.NewChainHandler()
	buildChain := cfg.BuildHandlerChainFunc
	cfg.BuildHandlerChainFunc = func(h http.Handler, c *genericapiserver.Config) http.Handler {
		return buildChain(withoutLegacyAPI(h), c)
	}

	etcd := genericoptions.NewEtcdOptions(storagebackend.NewDefaultConfig(o.EtcdPrefix,
		apiserver.Codecs.LegacyCodec(apiextensionsv1beta1.SchemeGroupVersion, apiextensionsv1.SchemeGroupVersion)))
	etcd.StorageConfig.Transport.ServerList = etcdServers
	if err := etcd.ApplyTo(&cfg.Config); err != nil {
		return nil, err
	}
	cfg.MergedResourceConfig = apiserver.DefaultAPIResourceConfigSource()
	// Both versions, as apiextensions-apiserver's own options set them: its
	// controllers publish the CRDs' schemas (which kubectl and helm validate
	// custom resources against) only when the v2 spec is served too.
	definitions := openapi.GetOpenAPIDefinitionsWithoutDisabledFeatures(generatedopenapi.GetOpenAPIDefinitions)
	cfg.OpenAPIConfig = genericapiserver.DefaultOpenAPIConfig(definitions, openapinamer.NewDefinitionNamer(apiserver.Scheme, scheme.Scheme))
	cfg.OpenAPIV3Config = genericapiserver.DefaultOpenAPIV3Config(definitions, openapinamer.NewDefinitionNamer(apiserver.Scheme, scheme.Scheme))

	return &apiserver.Config{
		GenericConfig: cfg,
		ExtraConfig: apiserver.ExtraConfig{
			CRDRESTOptionsGetter: serveroptions.NewCRDRESTOptionsGetter(*etcd, cfg.ResourceTransformers, cfg.StorageObjectCountTracker),
			// One API server: a new CRD is Established as soon as it is
			// served (above 1 the CRD layer waits 5 s for the others).
			MasterCount:         1,
			ServiceResolver:     noServices{},
			AuthResolverWrapper: webhook.NewDefaultAuthenticationInfoResolverWrapper(nil, nil, cfg.LoopbackClientConfig, noop.NewTracerProvider()),
		},
	}, nil
}
