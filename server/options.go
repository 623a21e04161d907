package server

import (
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"

	"k8s.io/kubernetes/pkg/controlplane/apiserver/options"
)

// Defaults of Options fields left empty. They are applied in one place,
// Options.Complete.
const (
	DefaultName    = "minimal-apiserver"
	DefaultDataDir = "minimal-apiserver-data"
	// StorageEtcd is the embedded etcd, the default Storage.Backend.
	StorageEtcd = "etcd"
	// StorageKine is kine on SQLite or PostgreSQL.
	StorageKine = "kine"
	// StorageSQLite is the native backend (package storage/sqlite) on
	// <DataDir>/native.db. It needs a tree with the storage seams.
	StorageSQLite = "sqlite"
	// StorageMemory is the native backend in memory: nothing survives a
	// restart. It needs a tree with the storage seams.
	StorageMemory = "memory"
)

// nativeDBFile is the native backend's database in the data dir.
const nativeDBFile = "native.db"

// StorageBackends are the valid StorageOptions.Backend values.
var StorageBackends = []string{StorageEtcd, StorageKine, StorageSQLite, StorageMemory}

// Middleware wraps the API handler. It runs after authentication and
// authorization, so request.UserFrom(r.Context()) is set.
// A middleware that panics fails its request with a 500 Status naming it
// (by its index in Options.Middleware); the server keeps serving. One that
// hangs is cut off by the server's request timeout (--request-timeout) with
// a 504.
type Middleware func(http.Handler) http.Handler

// Options configures a server. Empty fields mean the documented default.
//
// The stages follow k8s.io/apiserver (and the upstream generic control plane
// sample): Options -> Config (Complete, Validate, apply) -> CompletedConfig ->
// Server -> Run. Run does all of them in one call.
type Options struct {
	// Name shows up in logs and the apiserver identity (default DefaultName).
	Name string
	// APIs selects built-in resources (see ValidAPIs) and groups of MoreAPIs
	// by name; nil means DefaultAPIs.
	APIs []string
	// MoreAPIs are API groups offered besides the catalog of ValidAPIs, each
	// served when APIs names it: kube-apiserver's own groups (apps, batch, ...)
	// from the packages under server/kubeapis. A group is linked into a
	// binary only if it is listed here, so offer only what you may serve.
	MoreAPIs []APIGroup
	// DataDir holds storage data, certificates and the admin kubeconfig
	// (default DefaultDataDir).
	DataDir string
	// KubeconfigOut is where the admin kubeconfig is written (default
	// <DataDir>/admin.kubeconfig).
	KubeconfigOut string
	// Storage is the in-process storage the server starts for itself.
	Storage StorageOptions
	// Admission plugins run after the built-in ones (validating phase).
	Admission []AdmissionPlugin
	// Middleware wraps the API handler, outermost first.
	Middleware []Middleware
	// APIServerCount is how many API servers share the storage (default 1).
	// Above 1, the CRD layer waits 5 s before it reports a new CRD
	// Established, so that every server serves it by then (kube-apiserver's
	// --apiserver-count). One server needs no wait.
	APIServerCount int
	// MinFreeDiskBytes is the free space the server keeps on the disk of its
	// storage (the data dir, or the directory of kine's SQLite file): with
	// less, it refuses to start, and while running it rejects writes (any
	// request but GET, HEAD and OPTIONS) with 507 Insufficient Storage
	// instead of letting the storage fail (embedded etcd exits on a full
	// disk); reads go on, writes resume when space returns. 0 means
	// DefaultMinFreeDiskBytes (64 MiB); a negative value turns it off.
	MinFreeDiskBytes int64
	// ServiceEndpoints maps "namespace/name" of a Service to "host:port" for
	// APIServices and webhooks (there are no Services/Endpoints to resolve).
	// APIServices using such a service get their Available condition from a probe.
	ServiceEndpoints map[string]string
	// ControlPlane are the upstream generic control plane options (every
	// kube-apiserver option that applies without pods and nodes). nil means
	// NewControlPlaneOptions(). Fields this package fills in (serving
	// certificates, client CA, service account keys, etcd servers) are only
	// filled when left empty.
	ControlPlane *options.Options
}

// StorageOptions selects the storage the server starts in-process. It is not
// used when ControlPlane.Etcd.StorageConfig.Transport.ServerList names an
// external etcd.
type StorageOptions struct {
	// Backend is one of StorageBackends (default StorageEtcd, embedded).
	Backend string
	// KineDSN is a SQLite path or postgres:// DSN (default <DataDir>/kine.db).
	KineDSN string
}

// NewControlPlaneOptions returns the upstream generic sample's options with
// this package's safe defaults: loopback 127.0.0.1:6443, no anonymous
// requests, RBAC.
func NewControlPlaneOptions() *options.Options {
	s := newSampleOptions()
	s.SecureServing.BindAddress = net.ParseIP("127.0.0.1")
	s.SecureServing.BindPort = 6443
	s.Authentication.Anonymous.Allow = false
	s.Authentication.ServiceAccounts.Issuers = []string{"https://kubernetes.default.svc"}
	s.Authorization.Modes = []string{"RBAC"}
	return s
}

// Complete fills every empty field with its default and makes DataDir
// absolute. It is the only place defaults are applied; calling it again
// changes nothing.
func (o *Options) Complete() error {
	if o.Name == "" {
		o.Name = DefaultName
	}
	if o.APIs == nil {
		o.APIs = slices.Clone(DefaultAPIs)
	}
	if o.DataDir == "" {
		o.DataDir = DefaultDataDir
	}
	dataDir, err := filepath.Abs(o.DataDir)
	if err != nil {
		return newFieldError("Options.DataDir", err, "{field} %s: %v", o.DataDir, err)
	}
	o.DataDir = dataDir
	if o.KubeconfigOut == "" {
		o.KubeconfigOut = filepath.Join(o.DataDir, "admin.kubeconfig")
	}
	if o.Storage.Backend == "" {
		o.Storage.Backend = StorageEtcd
	}
	if o.Storage.Backend == StorageKine && o.Storage.KineDSN == "" {
		o.Storage.KineDSN = filepath.Join(o.DataDir, "kine.db")
	}
	if o.APIServerCount == 0 {
		o.APIServerCount = 1
	}
	if o.MinFreeDiskBytes == 0 {
		o.MinFreeDiskBytes = DefaultMinFreeDiskBytes
	}
	if o.ControlPlane == nil {
		o.ControlPlane = NewControlPlaneOptions()
	}
	return nil
}

// Validate checks the fields of completed Options. Each error is a
// *FieldError naming the field.
func (o *Options) Validate() []error {
	var errs []error
	if err := validateMoreAPIs(o.MoreAPIs); err != nil {
		errs = append(errs, err)
	} else if _, _, err := parseAPIs(o.APIs, o.MoreAPIs); err != nil {
		errs = append(errs, err)
	}
	if err := validateEndpoints(o.ServiceEndpoints); err != nil {
		errs = append(errs, err)
	}
	if o.usesOwnStorage() {
		switch b := o.Storage.Backend; {
		case !slices.Contains(StorageBackends, b):
			errs = append(errs, newFieldError("Options.Storage.Backend", nil, "unknown {field} %q; valid: %s", b, strings.Join(StorageBackends, ", ")))
		case (b == StorageSQLite || b == StorageMemory) && !storageSeams:
			errs = append(errs, newFieldError("Options.Storage.Backend", nil, "{field} %q needs the storage backend registry of the patch series (patch 0024); build against the series tree with -tags gcp_patched", b))
		}
	}
	if o.APIServerCount < 0 {
		errs = append(errs, newFieldError("Options.APIServerCount", nil, "{field} %d: want a positive number of API servers", o.APIServerCount))
	}
	registered := o.ControlPlane.Admission.GenericAdmission.Plugins.Registered()
	for i, p := range o.Admission {
		field := fmt.Sprintf("Options.Admission[%d]", i)
		switch {
		case p.Name == "" || p.Admit == nil:
			errs = append(errs, newFieldError(field, nil, "{field}: an admission plugin needs a Name and an Admit func"))
		case slices.Contains(registered, p.Name):
			errs = append(errs, newFieldError(field, nil, "{field}: admission plugin %q is already registered", p.Name))
		case p.Timeout < 0:
			errs = append(errs, newFieldError(field, nil, "{field}: admission plugin %q has a negative Timeout %s", p.Name, p.Timeout))
		}
	}
	return errs
}

// usesOwnStorage reports whether the server starts its storage in-process
// (no external etcd was given).
func (o *Options) usesOwnStorage() bool {
	return len(o.ControlPlane.Etcd.StorageConfig.Transport.ServerList) == 0
}

// fieldToken marks where a FieldError's message names its field.
const fieldToken = "{field}"

// FieldError reports an Options field that cannot be used. Its message names
// the field by its Go path (e.g. "unknown Options.Storage.Backend "x"");
// Describe lets a command-line front end name its flag instead.
type FieldError struct {
	// Field is the Go path of the field, e.g. "Options.Storage.Backend".
	Field string
	// Err is the underlying cause, if any.
	Err error
	// message mentions the field as fieldToken.
	message string
}

func newFieldError(field string, cause error, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Err: cause, message: fmt.Sprintf(format, args...)}
}

func (e *FieldError) Error() string { return e.Describe(e.Field) }

// Describe renders the error with name in place of the field's Go path.
func (e *FieldError) Describe(name string) string {
	return strings.ReplaceAll(e.message, fieldToken, name)
}

func (e *FieldError) Unwrap() error { return e.Err }

// validateEndpoints checks Options.ServiceEndpoints.
func validateEndpoints(m map[string]string) error {
	for k, v := range m {
		if ns, name, ok := strings.Cut(k, "/"); !ok || ns == "" || name == "" || !strings.Contains(v, ":") {
			return newFieldError("Options.ServiceEndpoints", nil, "{field} %s=%s: want namespace/name=host:port", k, v)
		}
	}
	return nil
}
