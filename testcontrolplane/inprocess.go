package testcontrolplane

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"go.opentelemetry.io/otel/trace/noop"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsv1beta1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1beta1"
	"k8s.io/apiextensions-apiserver/pkg/apiserver"
	serveroptions "k8s.io/apiextensions-apiserver/pkg/cmd/server/options"
	generatedopenapi "k8s.io/apiextensions-apiserver/pkg/generated/openapi"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/authentication/request/bearertoken"
	"k8s.io/apiserver/pkg/authentication/token/tokenfile"
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
	"k8s.io/client-go/rest"
)

// adminUser is who Config authenticates as.
const adminUser = "testcontrolplane-admin"

// startInProcess runs the apiextensions-apiserver on the generic API server
// in this process, on the shared etcd under a prefix of its own.
func startInProcess(ctx context.Context) (*ControlPlane, error) {
	sh, n, err := getShared()
	if err != nil {
		return nil, err
	}
	adminToken, err := randomToken()
	if err != nil {
		return nil, err
	}
	loopbackToken, err := randomToken()
	if err != nil {
		return nil, err
	}
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	config, err := inProcessConfig(sh, fmt.Sprintf("/testcontrolplane/%d/%s", n, adminToken[:8]), listener, adminToken, loopbackToken)
	if err != nil {
		listener.Close()
		return nil, err
	}
	server, err := config.Complete().New(genericapiserver.NewEmptyDelegate())
	if err != nil {
		listener.Close()
		return nil, fmt.Errorf("setting up the in-process API server: %w", err)
	}
	installGroupDiscovery(server.GenericAPIServer)

	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- server.GenericAPIServer.PrepareRun().RunWithContext(runCtx) }()
	stop := func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(30 * time.Second):
			return errors.New("the in-process API server did not stop within 30s")
		}
	}

	restConfig := &rest.Config{
		Host:            "https://" + listener.Addr().String(),
		BearerToken:     adminToken,
		TLSClientConfig: rest.TLSClientConfig{CAData: sh.certPEM},
		QPS:             -1, // a test's client is not rate limited
	}
	if err := waitReady(ctx, restConfig, done); err != nil {
		return nil, errors.Join(err, stop())
	}
	kubeconfig, err := kubeconfigFor(restConfig)
	if err != nil {
		return nil, errors.Join(err, stop())
	}
	return &ControlPlane{Config: restConfig, Kubeconfig: kubeconfig, InProcess: true, stop: stop}, nil
}

func inProcessConfig(sh *shared, prefix string, listener net.Listener, adminToken, loopbackToken string) (*apiserver.Config, error) {
	cfg := genericapiserver.NewRecommendedConfig(apiserver.Codecs)
	cfg.EffectiveVersion = compatibility.DefaultBuildEffectiveVersion()
	cfg.ExternalAddress = listener.Addr().String()
	version := serverVersion(*cfg.EffectiveVersion.Info(), cfg.EffectiveVersion.BinaryVersion())
	buildChain := cfg.BuildHandlerChainFunc
	cfg.BuildHandlerChainFunc = func(h http.Handler, c *genericapiserver.Config) http.Handler {
		return buildChain(withFixedPaths(version, h), c)
	}

	cert, err := dynamiccertificates.NewStaticCertKeyContent("testcontrolplane-serving", sh.certPEM, sh.keyPEM)
	if err != nil {
		return nil, err
	}
	cfg.SecureServing = &genericapiserver.SecureServingInfo{Listener: listener, Cert: cert}
	loopback, err := cfg.SecureServing.NewLoopbackClientConfig(loopbackToken, sh.certPEM)
	if err != nil {
		return nil, err
	}
	cfg.LoopbackClientConfig = loopback

	// One admin token; the loopback token is added by
	// AuthorizeClientBearerToken. Anyone else is unauthenticated.
	cfg.Authentication.Authenticator = bearertoken.New(tokenfile.New(map[string]*user.DefaultInfo{
		adminToken: {Name: adminUser, Groups: []string{user.SystemPrivilegedGroup, user.AllAuthenticated}},
	}))
	cfg.Authorization.Authorizer = authorizerfactory.NewPrivilegedGroups(user.SystemPrivilegedGroup)
	genericapiserver.AuthorizeClientBearerToken(loopback, &cfg.Authentication, &cfg.Authorization)
	cfg.AdmissionControl = admission.NewChainHandler()

	etcd := genericoptions.NewEtcdOptions(storagebackend.NewDefaultConfig(prefix,
		apiserver.Codecs.LegacyCodec(apiextensionsv1beta1.SchemeGroupVersion, apiextensionsv1.SchemeGroupVersion)))
	etcd.StorageConfig.Transport.ServerList = []string{sh.etcdURL}
	if err := etcd.ApplyTo(&cfg.Config); err != nil {
		return nil, err
	}
	cfg.MergedResourceConfig = apiserver.DefaultAPIResourceConfigSource()
	cfg.OpenAPIV3Config = genericapiserver.DefaultOpenAPIV3Config(
		openapi.GetOpenAPIDefinitionsWithoutDisabledFeatures(generatedopenapi.GetOpenAPIDefinitions),
		openapinamer.NewDefinitionNamer(apiserver.Scheme, scheme.Scheme))

	return &apiserver.Config{
		GenericConfig: cfg,
		ExtraConfig: apiserver.ExtraConfig{
			CRDRESTOptionsGetter: serveroptions.NewCRDRESTOptionsGetter(*etcd, cfg.ResourceTransformers, cfg.StorageObjectCountTracker),
			// One API server: a new CRD is Established as soon as it is
			// served (above 1 the CRD layer waits 5 s for the others).
			MasterCount:         1,
			ServiceResolver:     noServices{},
			AuthResolverWrapper: webhook.NewDefaultAuthenticationInfoResolverWrapper(nil, nil, loopback, noop.NewTracerProvider()),
		},
	}, nil
}

// noServices resolves the service references of conversion webhooks: there
// are no Services in process.
type noServices struct{}

func (noServices) ResolveEndpoint(namespace, name string, port int32) (*url.URL, error) {
	return nil, fmt.Errorf("webhook service %s/%s: the in-process control plane has no Services; give the webhook a URL (clientConfig.url)", namespace, name)
}

// waitReady polls /readyz until it answers ok, the server exits or ctx ends.
func waitReady(ctx context.Context, config *rest.Config, exited <-chan error) error {
	client, err := rest.UnversionedRESTClientFor(withDefaults(config))
	if err != nil {
		return err
	}
	var last error
	err = wait.PollUntilContextCancel(ctx, 5*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		select {
		case err := <-exited:
			return false, fmt.Errorf("the API server exited before it was ready: %v", err)
		default:
		}
		_, last = client.Get().AbsPath("/readyz").DoRaw(ctx)
		return last == nil, nil
	})
	if err != nil && last != nil {
		return fmt.Errorf("%w (last /readyz: %v)", err, last)
	}
	return err
}

func withDefaults(config *rest.Config) *rest.Config {
	c := rest.CopyConfig(config)
	c.NegotiatedSerializer = scheme.Codecs.WithoutConversion()
	return c
}

func randomToken() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
