package serverproc

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// APIServer says how to start a kube-apiserver-style binary: kube-apiserver
// itself or the upstream generic control plane sample
// (k8s.io/kubernetes/pkg/controlplane/apiserver/samples/generic).
type APIServer struct {
	Binary string
	// Dir is a scratch directory for keys, certificates, the log
	// (Dir/server.log) and the admin kubeconfig (Dir/admin.kubeconfig).
	Dir string
	// EtcdServers is the etcd client URL.
	EtcdServers string
	// EtcdPrefix separates this server's keys from others on the same
	// etcd; "" means /registry, kube-apiserver's default.
	EtcdPrefix string
	// Identity sets up how the server and its admin trust each other;
	// nil means TokenIdentity.
	Identity Identity
	// Port is the loopback port to listen on; 0 picks a free one.
	Port int
	// Args are appended to the flags StartAPIServer passes.
	Args []string
	// Timeout bounds the wait for /readyz (DefaultReadyTimeout if zero).
	Timeout time.Duration
}

// Identity sets up, in dir, how an API server at url and its admin client
// trust each other: it writes the files it needs and an admin kubeconfig at
// kubeconfig, and returns the server's flags for it.
type Identity func(dir, url, kubeconfig string) (flags []string, err error)

// adminToken authenticates TokenIdentity's admin as a member of
// system:masters; it lives only as long as the server's scratch directory.
const adminToken = "serverproc-admin-token"

// TokenIdentity is the lightest identity kube-apiserver accepts: a
// self-signed serving certificate the server makes in its --cert-dir, a
// static bearer token for an admin in system:masters, RBAC, and a
// service-account signing key.
func TokenIdentity(dir, url, kubeconfig string) ([]string, error) {
	keyFile := filepath.Join(dir, "sa.key")
	if err := writeRSAKey(keyFile); err != nil {
		return nil, err
	}
	tokens := filepath.Join(dir, "tokens.csv")
	if err := os.WriteFile(tokens, []byte(adminToken+",admin,admin,system:masters\n"), 0o600); err != nil {
		return nil, err
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["server"] = &clientcmdapi.Cluster{Server: url, InsecureSkipTLSVerify: true}
	cfg.AuthInfos["admin"] = &clientcmdapi.AuthInfo{Token: adminToken}
	cfg.Contexts["admin"] = &clientcmdapi.Context{Cluster: "server", AuthInfo: "admin"}
	cfg.CurrentContext = "admin"
	if err := clientcmd.WriteToFile(*cfg, kubeconfig); err != nil {
		return nil, err
	}
	return []string{
		"--service-account-issuer=" + url,
		"--service-account-key-file=" + keyFile,
		"--service-account-signing-key-file=" + keyFile,
		"--token-auth-file=" + tokens,
		"--authorization-mode=RBAC",
	}, nil
}

func writeRSAKey(path string) error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	der := x509.MarshalPKCS1PrivateKey(key)
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: der}), 0o600)
}

// StartAPIServer launches the binary on a free loopback port against
// o.EtcdServers and returns once its /readyz answers 200, or with an error
// that quotes the end of its log.
func StartAPIServer(ctx context.Context, o APIServer) (*Server, error) {
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, err
	}
	port := o.Port
	if port == 0 {
		var err error
		if port, err = FreePort(); err != nil {
			return nil, err
		}
	}
	url := "https://127.0.0.1:" + strconv.Itoa(port)
	kubeconfig := filepath.Join(o.Dir, "admin.kubeconfig")
	identity := o.Identity
	if identity == nil {
		identity = TokenIdentity
	}
	idFlags, err := identity(o.Dir, url, kubeconfig)
	if err != nil {
		return nil, err
	}
	prefix := o.EtcdPrefix
	if prefix == "" {
		prefix = "/registry"
	}
	args := []string{
		"--etcd-servers=" + o.EtcdServers,
		"--etcd-prefix=" + prefix,
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--cert-dir=" + filepath.Join(o.Dir, "certs"),
	}
	args = append(append(args, idFlags...), o.Args...)
	started := time.Now()
	p, err := Launch(o.Binary, filepath.Join(o.Dir, "server.log"), args...)
	if err != nil {
		return nil, err
	}
	return awaitServer(ctx, p, started, kubeconfig, o.Timeout)
}
