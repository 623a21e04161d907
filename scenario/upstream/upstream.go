// Package upstream starts kube-apiserver or the upstream generic control plane
// sample on its own etcd process (bench-etcd, built from
// go.etcd.io/etcd/server/v3), with the certificates our server makes for
// itself (server.EnsurePKI), so that side-by-side runs differ in the server
// and nothing else. The scenario report and the benchmark start them here.
//
// Starting and stopping is internal/serverproc's; this package adds only
// what needs package server, which serverproc cannot import (server imports
// it through internal/etcdrun).
package upstream

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/generic-controlplane/gcp/internal/serverproc"
	"github.com/generic-controlplane/gcp/server"
)

// The kinds of upstream server Start knows.
const (
	KubeAPIServer = "kube-apiserver"
	GenericSample = "generic-sample"
)

// Server is a running upstream API server and its etcd.
type Server struct {
	Kubeconfig string
	API        *serverproc.Server
	Etcd       *serverproc.Etcd
	// StartToReady is from etcd's launch to the API server's first 200
	// from /readyz: the two start side by side, as they would on a host.
	StartToReady time.Duration
}

// Start runs etcdBin and apiBin (kind KubeAPIServer or GenericSample) in dir
// and returns once the API server is ready.
func Start(ctx context.Context, kind, apiBin, etcdBin, dir string) (*Server, error) {
	var args []string
	switch kind {
	case KubeAPIServer:
		args = []string{"--service-cluster-ip-range=10.0.0.0/24"}
	case GenericSample:
	default:
		return nil, fmt.Errorf("unknown upstream server kind %q (want %s or %s)", kind, KubeAPIServer, GenericSample)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	// Made before the clock starts: our servers keep theirs across runs.
	pki, err := server.EnsurePKI(filepath.Join(dir, "pki"), []string{"127.0.0.1", "localhost"})
	if err != nil {
		return nil, err
	}
	start := time.Now()
	etcd, err := serverproc.LaunchEtcd(serverproc.EtcdOptions{Binary: etcdBin, Dir: dir})
	if err != nil {
		return nil, err
	}
	api, err := serverproc.StartAPIServer(ctx, serverproc.APIServer{
		Binary: apiBin, Dir: dir, EtcdServers: etcd.Endpoint, Identity: identity(pki), Args: args,
	})
	if err != nil {
		etcd.Stop()
		return nil, fmt.Errorf("%s: %w (etcd log %s)", kind, err, etcd.Log())
	}
	ready := time.Since(start)
	if err := etcd.WaitReady(ctx); err != nil { // answered the API server already: at once
		api.Stop()
		etcd.Stop()
		return nil, err
	}
	return &Server{Kubeconfig: api.Kubeconfig, API: api, Etcd: etcd, StartToReady: ready}, nil
}

// identity gives the API server the serving certificate, client CA,
// service-account key and front-proxy (aggregation) certificates of p and
// its admin the client certificate of p.
func identity(p server.PKI) serverproc.Identity {
	return func(_, url, kubeconfig string) ([]string, error) {
		if err := server.WriteAdminKubeconfig(kubeconfig, url, p); err != nil {
			return nil, err
		}
		return []string{
			"--tls-cert-file=" + p.ServingCert, "--tls-private-key-file=" + p.ServingKey, "--client-ca-file=" + p.CACert,
			"--service-account-issuer=https://kubernetes.default.svc", "--service-account-key-file=" + p.ServiceAccountKey,
			"--service-account-signing-key-file=" + p.ServiceAccountKey, "--authorization-mode=RBAC", "--anonymous-auth=false",
			"--requestheader-client-ca-file=" + p.FrontProxyCA, "--requestheader-allowed-names=front-proxy-client",
			"--requestheader-username-headers=X-Remote-User", "--requestheader-group-headers=X-Remote-Group",
			"--requestheader-extra-headers-prefix=X-Remote-Extra-", "--proxy-client-cert-file=" + p.ProxyClientCert,
			"--proxy-client-key-file=" + p.ProxyClient,
		}, nil
	}
}

// Stop stops the API server, then etcd.
func (s *Server) Stop() {
	s.API.Stop()
	s.Etcd.Stop()
}
