// Package apiserverproc starts a kube-apiserver-style binary (kube-apiserver,
// the upstream generic sample) against an etcd with throwaway credentials,
// waits for /readyz and measures it: start-to-ready, resident memory, what
// its discovery serves.
package apiserverproc

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/generic-controlplane/gcp/internal/etcdrun"
)

// adminToken authenticates as a member of system:masters; it lives only as
// long as the process's scratch directory.
const adminToken = "apiserverproc-admin-token"

// Options say what to start.
type Options struct {
	Binary string
	// Dir is a scratch directory for keys, certificates and the log.
	Dir string
	// EtcdEndpoint is the etcd client URL.
	EtcdEndpoint string
	// EtcdPrefix separates this server's keys from others on the same etcd.
	EtcdPrefix string
	// ExtraArgs are appended to the flags Start passes.
	ExtraArgs []string
	// Timeout bounds the wait for /readyz.
	Timeout time.Duration
}

// Server is a started API server process.
type Server struct {
	URL          string
	StartToReady time.Duration
	cmd          *exec.Cmd
	log          string
	exited       chan error
}

// Start launches the binary on a free loopback port and returns once its
// /readyz answers 200, or with an error that quotes the end of its log.
func Start(ctx context.Context, o Options) (*Server, error) {
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, err
	}
	keyFile := filepath.Join(o.Dir, "sa.key")
	if err := writeRSAKey(keyFile); err != nil {
		return nil, err
	}
	tokens := filepath.Join(o.Dir, "tokens.csv")
	if err := os.WriteFile(tokens, []byte(adminToken+",admin,admin,system:masters\n"), 0o600); err != nil {
		return nil, err
	}
	ports, err := etcdrun.FreePorts(1)
	if err != nil {
		return nil, err
	}
	prefix := o.EtcdPrefix
	if prefix == "" {
		prefix = "/registry"
	}
	args := []string{
		"--etcd-servers=" + o.EtcdEndpoint,
		"--etcd-prefix=" + prefix,
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(ports[0]),
		"--cert-dir=" + filepath.Join(o.Dir, "certs"),
		"--service-account-issuer=https://127.0.0.1:" + strconv.Itoa(ports[0]),
		"--service-account-key-file=" + keyFile,
		"--service-account-signing-key-file=" + keyFile,
		"--token-auth-file=" + tokens,
		"--authorization-mode=RBAC",
	}
	args = append(args, o.ExtraArgs...)
	logPath := filepath.Join(o.Dir, "server.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	cmd := exec.Command(o.Binary, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	s := &Server{URL: "https://127.0.0.1:" + strconv.Itoa(ports[0]), cmd: cmd, log: logPath, exited: make(chan error, 1)}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", o.Binary, err)
	}
	go func() { s.exited <- cmd.Wait() }()

	timeout := o.Timeout
	if timeout == 0 {
		timeout = 2 * time.Minute
	}
	client := s.httpClient()
	deadline := time.Now().Add(timeout)
	for {
		if ok := s.ready(ctx, client); ok {
			s.StartToReady = time.Since(start)
			return s, nil
		}
		select {
		case err := <-s.exited:
			return nil, fmt.Errorf("%s exited before it was ready (%v); its log ends:\n%s", filepath.Base(o.Binary), err, tail(logPath, 20))
		case <-ctx.Done():
			s.Stop()
			return nil, ctx.Err()
		case <-time.After(25 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("%s not ready after %s; its log ends:\n%s", filepath.Base(o.Binary), timeout, tail(logPath, 20))
		}
	}
}

func (s *Server) httpClient() *http.Client {
	return &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // a throwaway self-signed server on loopback
	}}
}

func (s *Server) ready(ctx context.Context, c *http.Client) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/readyz", nil)
	if err != nil {
		return false
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := c.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// RESTConfig is an admin client configuration for the server.
func (s *Server) RESTConfig() *rest.Config {
	return &rest.Config{Host: s.URL, BearerToken: adminToken, TLSClientConfig: rest.TLSClientConfig{Insecure: true}, QPS: 1000, Burst: 1000}
}

// RSSBytes is the process's resident set size now.
func (s *Server) RSSBytes() (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", s.cmd.Process.Pid)
}

// Resources lists what discovery serves as sorted "group/version/resource"
// strings (core as "v1/resource"), subresources included.
func (s *Server) Resources() ([]string, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(s.RESTConfig())
	if err != nil {
		return nil, err
	}
	_, lists, err := dc.ServerGroupsAndResources()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, l := range lists {
		for _, r := range l.APIResources {
			out = append(out, l.GroupVersion+"/"+r.Name)
		}
	}
	sort.Strings(out)
	return out, nil
}

// Stop terminates the server (SIGTERM, then SIGKILL after 10 s) and waits.
func (s *Server) Stop() {
	if s.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.exited
	}
}

// Log is the path of the server's combined output.
func (s *Server) Log() string { return s.log }

// Help runs `binary --help` and returns what it printed: the flag set.
func Help(ctx context.Context, binary string) (string, error) {
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, binary, "--help")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%s --help: %w", binary, err)
	}
	return out.String(), nil
}

func writeRSAKey(path string) error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	der := x509.MarshalPKCS1PrivateKey(key)
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: der}), 0o600)
}

func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "  " + strings.Join(lines, "\n  ")
}

// WriteKubeconfig writes an admin kubeconfig for the server at path.
func (s *Server) WriteKubeconfig(path string) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["server"] = &clientcmdapi.Cluster{Server: s.URL, InsecureSkipTLSVerify: true}
	cfg.AuthInfos["admin"] = &clientcmdapi.AuthInfo{Token: adminToken}
	cfg.Contexts["admin"] = &clientcmdapi.Context{Cluster: "server", AuthInfo: "admin"}
	cfg.CurrentContext = "admin"
	return clientcmd.WriteToFile(*cfg, path)
}
