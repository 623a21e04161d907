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
//
// The package builds on the pinned Kubernetes release and, with -tags
// gcp_patched and a modfile pointing at a tree with this repository's patch
// series applied, on the series tip. On the tip the chain is the generic
// sample's library (samples/generic/server) and what the release lacks and
// this package works around there (namespace deletion, a token getter and
// controllers that respect the APIs served, APIService availability without
// Services) comes from it instead: see chain_upstream.go and chain_patched.go.
package server

import (
	"context"
	"fmt"
	"strings"

	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	logsapi "k8s.io/component-base/logs/api/v1"
	"k8s.io/klog/v2"
	aggregatorapiserver "k8s.io/kube-aggregator/pkg/apiserver"
	_ "k8s.io/kubernetes/pkg/features" // register the kubernetes feature gates

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
	aggregator, err := c.newChain()
	if err != nil {
		return nil, err
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
