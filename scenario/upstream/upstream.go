// Package upstream starts kube-apiserver or the upstream generic control plane
// sample on a fresh etcd (bench-etcd, built from go.etcd.io/etcd/server/v3),
// with the same certificate setup as our server, for side-by-side runs.
package upstream

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"github.com/generic-controlplane/gcp/scenario"
	"github.com/generic-controlplane/gcp/server"
)

// Server is a running upstream API server and its etcd.
type Server struct {
	Kubeconfig string
	api, etcd  *scenario.Proc
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Start runs etcdBin and apiBin (kind "kube-apiserver" or "generic-sample") in dir.
func Start(ctx context.Context, kind, apiBin, etcdBin, dir string) (*Server, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	p, err := server.EnsurePKI(filepath.Join(dir, "pki"), []string{"127.0.0.1", "localhost"})
	if err != nil {
		return nil, err
	}
	cp, err1 := freePort()
	pp, err2 := freePort()
	port, err3 := freePort()
	if err1 != nil || err2 != nil || err3 != nil {
		return nil, fmt.Errorf("no free ports: %v %v %v", err1, err2, err3)
	}
	etcdURL, peer := "http://127.0.0.1:"+strconv.Itoa(cp), "http://127.0.0.1:"+strconv.Itoa(pp)
	etcd, err := scenario.StartProcess(etcdBin, filepath.Join(dir, "etcd.log"), "--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+etcdURL, "--advertise-client-urls="+etcdURL, "--listen-peer-urls="+peer,
		"--initial-advertise-peer-urls="+peer, "--initial-cluster=default="+peer, "--log-level=error")
	if err != nil {
		return nil, err
	}
	kc := filepath.Join(dir, "admin.kubeconfig")
	if err := server.WriteAdminKubeconfig(kc, "https://127.0.0.1:"+strconv.Itoa(port), p); err != nil {
		etcd.Kill()
		return nil, err
	}
	args := []string{"--etcd-servers=" + etcdURL, "--bind-address=127.0.0.1", "--secure-port=" + strconv.Itoa(port),
		"--tls-cert-file=" + p.ServingCert, "--tls-private-key-file=" + p.ServingKey, "--client-ca-file=" + p.CACert,
		"--service-account-issuer=https://kubernetes.default.svc", "--service-account-key-file=" + p.ServiceAccountKey,
		"--service-account-signing-key-file=" + p.ServiceAccountKey, "--authorization-mode=RBAC", "--anonymous-auth=false",
		"--requestheader-client-ca-file=" + p.FrontProxyCA, "--requestheader-allowed-names=front-proxy-client",
		"--requestheader-username-headers=X-Remote-User", "--requestheader-group-headers=X-Remote-Group",
		"--requestheader-extra-headers-prefix=X-Remote-Extra-", "--proxy-client-cert-file=" + p.ProxyClientCert,
		"--proxy-client-key-file=" + p.ProxyClient, "--cert-dir=" + filepath.Join(dir, "certs")}
	if kind == "kube-apiserver" {
		args = append(args, "--service-cluster-ip-range=10.0.0.0/24")
	}
	api, err := scenario.StartProcess(apiBin, filepath.Join(dir, "server.log"), args...)
	if err != nil {
		etcd.Kill()
		return nil, err
	}
	s := &Server{Kubeconfig: kc, api: api, etcd: etcd}
	if err := scenario.WaitReady(ctx, kc, api.Exited()); err != nil {
		s.Stop()
		return nil, fmt.Errorf("%s not ready: %w (log %s)", kind, err, filepath.Join(dir, "server.log"))
	}
	return s, nil
}

// Stop kills the API server and etcd.
func (s *Server) Stop() {
	s.api.Kill()
	s.etcd.Kill()
}
