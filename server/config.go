package server

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"

	apiextensionsapiserver "k8s.io/apiextensions-apiserver/pkg/apiserver"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apiserver/pkg/admission/plugin/namespace/lifecycle"
	mutatingadmissionpolicy "k8s.io/apiserver/pkg/admission/plugin/policy/mutating"
	validatingadmissionpolicy "k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	"k8s.io/apiserver/pkg/admission/plugin/resourcequota"
	mutatingwebhook "k8s.io/apiserver/pkg/admission/plugin/webhook/mutating"
	validatingwebhook "k8s.io/apiserver/pkg/admission/plugin/webhook/validating"
	serverstorage "k8s.io/apiserver/pkg/server/storage"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	"k8s.io/client-go/rest"
	cliflag "k8s.io/component-base/cli/flag"
	logsapi "k8s.io/component-base/logs/api/v1"
	"k8s.io/klog/v2"
	aggregatorapiserver "k8s.io/kube-aggregator/pkg/apiserver"
	controlplaneapiserver "k8s.io/kubernetes/pkg/controlplane/apiserver"
	"k8s.io/kubernetes/pkg/controlplane/apiserver/options"
	certapproval "k8s.io/kubernetes/plugin/pkg/admission/certificates/approval"
	"k8s.io/kubernetes/plugin/pkg/admission/certificates/ctbattest"
	certsigning "k8s.io/kubernetes/plugin/pkg/admission/certificates/signing"
	certsubjectrestriction "k8s.io/kubernetes/plugin/pkg/admission/certificates/subjectrestriction"
	"k8s.io/kubernetes/plugin/pkg/admission/serviceaccount"

	"github.com/generic-controlplane/gcp/server/datadir"
	"github.com/generic-controlplane/gcp/server/pki"
)

// Config is a server's configuration: the three configs of the upstream
// generic sample's chain (apiextensions -> generic control plane ->
// kube-aggregator) plus what this package adds. Its fields may be adjusted
// before Complete.
type Config struct {
	// ControlPlaneOptions are the completed upstream options the configs were built from.
	ControlPlaneOptions options.CompletedOptions

	ControlPlane  *controlplaneapiserver.Config
	APIExtensions *apiextensionsapiserver.Config
	Aggregator    *aggregatorapiserver.Config

	ExtraConfig
}

// ExtraConfig is what this package adds to the upstream sample's Config.
type ExtraConfig struct {
	// Name is the server's name in logs and its apiserver identity.
	Name string
	// APIs are the selected Options.APIs entries, for the log.
	APIs []string
	// ServerURL is where clients reach the server (a loopback address when it
	// binds all interfaces).
	ServerURL string
	// KubeconfigPath is where Run writes the admin kubeconfig.
	KubeconfigPath string
	// PKI holds the certificates the server uses and the admin client certificate.
	PKI PKI
	// ServiceEndpoints as in Options.
	ServiceEndpoints map[string]string
	// APIServerCount as in Options.
	APIServerCount int
	// MoreProviders are the REST storage providers of the selected
	// Options.MoreAPIs groups; New installs them after the generic ones.
	MoreProviders []controlplaneapiserver.RESTStorageProvider
	// APIServicePriorities order the groups in discovery: the generic ones
	// and those of the selected Options.MoreAPIs groups.
	APIServicePriorities map[schema.GroupVersion]controlplaneapiserver.APIServicePriority

	// newProviders build the providers of the selected Options.MoreAPIs
	// groups that need the completed config (APIGroup.NewProvider).
	newProviders []func(ProviderContext) (controlplaneapiserver.RESTStorageProvider, error)

	// storage is the in-process storage Config started (nil with an external
	// etcd); the Server owns it from New on and stops it last.
	storage *storageBackend
	// storageClients are the storages the servers create, closed before storage stops.
	storageClients *storageClients
	// dataDirLock keeps other servers off the data dir; released after the storage stopped.
	dataDirLock *datadir.Lock
	// chain is what building the chain needs beyond the three configs; it
	// depends on the tree (chain_*.go).
	chain chainConfig
}

// Config completes and validates o, then applies it: it binds the secure
// port, creates the certificates, sets up authentication, selects the APIs
// (with what that implies for authorization and admission), starts the
// in-process storage and builds the upstream configs (the sample's
// NewConfig). o must not be reused afterwards: its ControlPlane options carry
// the bound listener.
//
// The storage is started here because the upstream options need its endpoint
// before they can be completed. It is stopped if Config or New fails, and
// otherwise when Server.Run returns.
func (o *Options) Config(ctx context.Context) (_ *Config, err error) {
	if err := o.Complete(); err != nil {
		return nil, err
	}
	if errs := o.Validate(); len(errs) > 0 {
		return nil, utilerrors.NewAggregate(errs)
	}
	apis, moreAPIs, _ := parseAPIs(o.APIs, o.MoreAPIs) // validated above
	s := o.ControlPlane

	// Logging first, so that everything below logs as configured.
	rest.SetDefaultWarningHandler(rest.NoWarnings{})
	if err := logsapi.ValidateAndApply(s.Logs, utilfeature.DefaultFeatureGate); err != nil {
		return nil, err
	}
	if err := datadir.CheckWritable(o.DataDir); err != nil {
		return nil, err
	}
	lock, err := lockDataDir(o.DataDir)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			lock.Release()
		}
	}()
	guard, err := newDiskGuard(o, statfsFree)
	if err != nil {
		return nil, err
	}
	c := &Config{ExtraConfig: ExtraConfig{
		Name: o.Name, APIs: o.APIs, KubeconfigPath: o.KubeconfigOut,
		ServiceEndpoints: o.ServiceEndpoints, APIServerCount: o.APIServerCount, storageClients: &storageClients{},
		dataDirLock: lock,
	}}
	if c.ServerURL, err = applyServing(s); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			s.SecureServing.Listener.Close()
		}
	}()
	if c.PKI, err = applyAuthentication(s, o.DataDir); err != nil {
		return nil, err
	}
	resourceConfig := applyAPISelection(s, apis)
	for _, r := range kubeCoreResources {
		resourceConfig.DisableResources(schema.GroupVersionResource{Version: "v1", Resource: r})
	}
	for _, g := range moreAPIs {
		// Not in the generic defaults: enabled here, as kube-apiserver's
		// defaults do.
		resourceConfig.EnableVersions(g.Versions...)
		resourceConfig.EnableResources(g.Resources...)
	}
	for _, p := range o.Admission {
		if err := registerAdmission(s, p); err != nil {
			return nil, err
		}
	}
	if o.usesOwnStorage() {
		if err := checkStorageFiles(o); err != nil {
			return nil, err
		}
		if c.storage, err = startStorage(o); err != nil {
			return nil, err
		}
		defer func() {
			if err != nil {
				c.storage.stop()
			}
		}()
		c.storage.configure(&s.Etcd.StorageConfig)
		klog.Infof("%s: %s started", o.Name, c.storage.kind)
	}

	c.ControlPlaneOptions, err = s.Complete(ctx, nil, nil)
	if err != nil {
		return nil, err
	}
	if errs := c.ControlPlaneOptions.Validate(); len(errs) != 0 {
		return nil, utilerrors.NewAggregate(errs)
	}
	if err := c.buildUpstreamConfigs(resourceConfig, apis.has("crds"), o.Middleware); err != nil {
		return nil, err
	}
	c.MoreProviders, c.newProviders, c.APIServicePriorities = providersAndPriorities(moreAPIs)
	c.Aggregator.GenericConfig.BuildHandlerChainFunc = withDiskGuard(c.Aggregator.GenericConfig.BuildHandlerChainFunc, guard)
	return c, nil
}

// applyServing binds the secure port itself, for a clear error and to support
// port 0, and returns the URL clients use.
func applyServing(s *options.Options) (serverURL string, _ error) {
	bindAddr := s.SecureServing.BindAddress.String()
	addr := net.JoinHostPort(bindAddr, strconv.Itoa(s.SecureServing.BindPort))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", newFieldError("Options.ControlPlane.SecureServing", err, "cannot listen on %s ({field}): %v", addr, err)
	}
	s.SecureServing.Listener = ln
	s.SecureServing.BindPort = ln.Addr().(*net.TCPAddr).Port
	host := bindAddr
	if s.SecureServing.BindAddress.IsUnspecified() {
		host = "127.0.0.1"
	} else if s.GenericServerRunOptions.AdvertiseAddress == nil {
		s.GenericServerRunOptions.AdvertiseAddress = s.SecureServing.BindAddress
	}
	return "https://" + net.JoinHostPort(host, strconv.Itoa(s.SecureServing.BindPort)), nil
}

// applyAuthentication creates (or reuses) the certificates in <dataDir>/pki
// and uses them wherever the options name no certificate of their own:
// serving, client certificate authentication, the front proxy (request
// header authentication) and service account tokens.
func applyAuthentication(s *options.Options, dataDir string) (PKI, error) {
	dir := filepath.Join(dataDir, "pki")
	hosts := []string{"127.0.0.1", "localhost", "::1", s.SecureServing.BindAddress.String()}
	p, err := pki.Ensure(dir, hosts)
	if err != nil {
		return PKI{}, fmt.Errorf("creating certificates in %s: %w", dir, err)
	}
	if s.SecureServing.ServerCert.CertKey.CertFile == "" {
		s.SecureServing.ServerCert.CertKey.CertFile, s.SecureServing.ServerCert.CertKey.KeyFile = p.ServingCert, p.ServingKey
	}
	if s.Authentication.ClientCert.ClientCA == "" {
		s.Authentication.ClientCert.ClientCA = p.CACert
	}
	if s.Authentication.RequestHeader.ClientCAFile == "" {
		rh := s.Authentication.RequestHeader
		rh.ClientCAFile = p.FrontProxyCA
		rh.AllowedNames = []string{"front-proxy-client"}
		rh.UsernameHeaders, rh.GroupHeaders = []string{"X-Remote-User"}, []string{"X-Remote-Group"}
		rh.UIDHeaders = []string{"X-Remote-Uid"}
		rh.ExtraHeaderPrefixes = []string{"X-Remote-Extra-"}
		if s.ProxyClientCertFile == "" {
			s.ProxyClientCertFile, s.ProxyClientKeyFile = p.ProxyClientCert, p.ProxyClient
		}
	}
	if len(s.Authentication.ServiceAccounts.KeyFiles) == 0 && s.ServiceAccountSigningKeyFile == "" {
		s.Authentication.ServiceAccounts.KeyFiles = []string{p.ServiceAccountKey}
		s.ServiceAccountSigningKeyFile = p.ServiceAccountKey
	}
	return p, nil
}

// applyAPISelection turns off what the unselected APIs would need
// (authorization, admission plugins, APF, the identity lease, SA lookups) and
// returns the resource config serving exactly the selection. Runtime config
// entries the options already carry (--runtime-config) win.
func applyAPISelection(s *options.Options, apis apiSet) *serverstorage.ResourceConfig {
	if !apis.has("rbac") && len(s.Authorization.Modes) == 1 && s.Authorization.Modes[0] == "RBAC" {
		// Without the RBAC API only system:masters (the admin cert) is authorized.
		s.Authorization.Modes = []string{"AlwaysDeny"}
	}
	off := s.Admission.GenericAdmission.DefaultOffPlugins
	if !apis.has("namespaces") {
		off.Insert(lifecycle.PluginName)
	}
	if !apis.has("serviceaccounts") {
		off.Insert(serviceaccount.PluginName)
		// No ServiceAccounts to look up (and no informer that could sync).
		s.Authentication.ServiceAccounts.Lookup = false
	}
	if !apis.has("resourcequotas") {
		off.Insert(resourcequota.PluginName)
	}
	if !apis.has("admissionregistration") {
		off.Insert(mutatingwebhook.PluginName, validatingwebhook.PluginName, validatingadmissionpolicy.PluginName, mutatingadmissionpolicy.PluginName)
	}
	if !apis.has("certificates") {
		off.Insert(certapproval.PluginName, certsigning.PluginName, ctbattest.PluginName, certsubjectrestriction.PluginName)
	}
	if !apis.has("flowcontrol") {
		s.Features.EnablePriorityAndFairness = false
	}
	skipControllersOfUnservedAPIs(s, apis)
	rc := defaultGenericResourceConfig()
	for k, v := range apis.applyTo(rc) {
		if s.APIEnablement.RuntimeConfig == nil {
			s.APIEnablement.RuntimeConfig = cliflag.ConfigurationMap{}
		}
		if _, userSet := s.APIEnablement.RuntimeConfig[k]; !userSet {
			s.APIEnablement.RuntimeConfig[k] = v
		}
	}
	return rc
}

// CompletedConfig is a Config with the upstream configs completed; New builds
// the server from it.
type CompletedConfig struct {
	// Embed a private pointer that cannot be instantiated outside of this package.
	*completedConfig
}

type completedConfig struct {
	ControlPlaneOptions options.CompletedOptions

	ControlPlane  controlplaneapiserver.CompletedConfig
	APIExtensions apiextensionsapiserver.CompletedConfig
	Aggregator    aggregatorapiserver.CompletedConfig

	ExtraConfig
}

// stopStorage closes the storages the servers created, then the in-process
// storage (a no-op with an external etcd), then releases the data dir.
func (e *ExtraConfig) stopStorage() {
	e.storageClients.destroyAll()
	if e.storage != nil {
		e.storage.stop()
		klog.Infof("%s: %s stopped", e.Name, e.storage.kind)
	}
	e.dataDirLock.Release()
}
