// Package testcontrolplane starts Kubernetes API servers for tests.
//
// Start(t, Options{...}) returns a ready control plane whose Config is a
// *rest.Config for an admin (system:masters); t.Cleanup stops it. Two modes:
//
//   - In process (the default, when Options.BuiltinAPIs is empty): the
//     CustomResourceDefinition server of k8s.io/apiextensions-apiserver on
//     the generic API server of k8s.io/apiserver, storing in an embedded
//     etcd that all instances of the test binary share, each under its own
//     key prefix. Nothing is downloaded or built; the package needs only the
//     staging modules at their released versions, so a project adds it with
//     go get and no replace directives. It serves CRDs, their conversion
//     webhooks (by URL), discovery and OpenAPI.
//   - Out of process (when Options.BuiltinAPIs names built-in APIs such as
//     namespaces, configmaps, rbac, leases): a minimal-apiserver binary of
//     github.com/generic-controlplane/gcp, which serves the chosen built-in
//     APIs from k8s.io/kubernetes plus CRDs, with its own embedded etcd.
//     Linking k8s.io/kubernetes as a library forces replace directives on
//     its importer; a binary does not.
//
// Instances share nothing a test can see: each has its own port, storage
// prefix and admin token, so tests using it can call t.Parallel.
package testcontrolplane

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/client-go/rest"
)

// Options says what a control plane serves.
type Options struct {
	// CRDs are installed before Start returns; Start waits until every
	// version of each is served.
	CRDs []*apiextensionsv1.CustomResourceDefinition
	// CRDPaths are files or directories of CRD manifests (YAML or JSON, any
	// number of documents per file; in a directory, the files ending in
	// .yaml, .yml or .json), as envtest's CRDDirectoryPaths. A path that
	// does not exist is an error.
	CRDPaths []string

	// BuiltinAPIs are built-in APIs to serve besides CRDs, by the names of
	// minimal-apiserver's --apis flag: namespaces, configmaps, secrets,
	// serviceaccounts, events, rbac, leases, admissionregistration,
	// authentication, authorization, ... Any name makes the control plane
	// run out of process (see ServerBinary).
	BuiltinAPIs []string
	// ServerBinary is the minimal-apiserver binary that serves BuiltinAPIs.
	// Empty means $TESTCONTROLPLANE_SERVER, else a binary built once from
	// the checkout this package is in and cached (see BuildServer).
	ServerBinary string

	// Timeout bounds the start and each CRD install (default 60 s).
	Timeout time.Duration
}

// ControlPlane is a running API server.
type ControlPlane struct {
	// Config reaches the server as an admin in system:masters.
	Config *rest.Config
	// Kubeconfig is Config as a kubeconfig file's contents, for kubectl,
	// helm and other programs.
	Kubeconfig []byte
	// InProcess says which mode serves it.
	InProcess bool

	timeout time.Duration
	stop    func() error
	stopped bool
}

const defaultTimeout = 60 * time.Second

// Start starts a control plane for t and stops it when t ends; it fails t
// if the control plane cannot start or a CRD cannot be installed.
func Start(t testing.TB, opts Options) *ControlPlane {
	t.Helper()
	cp, err := New(context.Background(), opts)
	if err != nil {
		t.Fatalf("testcontrolplane: %v", err)
	}
	t.Cleanup(func() {
		if err := cp.Stop(); err != nil {
			t.Errorf("testcontrolplane: %v", err)
		}
	})
	return cp
}

// New starts a control plane and returns once it is ready and the CRDs of
// opts are served. The caller stops it with Stop.
func New(ctx context.Context, opts Options) (*ControlPlane, error) {
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	crds, err := ReadCRDs(opts.CRDPaths...)
	if err != nil {
		return nil, err
	}
	crds = append(crds, opts.CRDs...)

	startCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var cp *ControlPlane
	if len(opts.BuiltinAPIs) == 0 {
		cp, err = startInProcess(startCtx)
	} else {
		cp, err = startBinary(startCtx, opts)
	}
	if err != nil {
		return nil, err
	}
	cp.timeout = timeout
	if err := cp.InstallCRDs(ctx, crds...); err != nil {
		return nil, errors.Join(err, cp.Stop())
	}
	return cp, nil
}

// Stop stops the server and removes what it stored; calling it again does
// nothing.
func (c *ControlPlane) Stop() error {
	if c.stopped {
		return nil
	}
	c.stopped = true
	if err := c.stop(); err != nil {
		return fmt.Errorf("stopping the control plane: %w", err)
	}
	return nil
}
