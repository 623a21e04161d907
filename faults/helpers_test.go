package faults

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/generic-controlplane/gcp/internal/serverproc"
	"github.com/generic-controlplane/gcp/internal/testbin"
)

// repoRoot is the module root.
func repoRoot() string { return testbin.RepoRoot() }

// binary returns $env or <root>/_output/bin/<name>, building pkg into it if missing.
func binary(t *testing.T, env, name, pkg string) string { return testbin.Path(t, env, name, pkg) }

func minimalBin(t *testing.T) string {
	return binary(t, "MINIMAL_APISERVER_BIN", "minimal-apiserver", "./cmd/minimal-apiserver")
}

func faultyBin(t *testing.T) string {
	return binary(t, "EXAMPLE_FAULTY_BIN", "example-faulty", "./cmd/examples/faulty")
}

// storagesUnderTest are the --storage values MINIMAL_APISERVER_STORAGES
// names, "etcd,kine" by default: the backends of a build on the pinned
// release (a build on the series tip adds sqlite and memory).
func storagesUnderTest() []string {
	if s := os.Getenv("MINIMAL_APISERVER_STORAGES"); s != "" {
		return strings.Split(s, ",")
	}
	return []string{"etcd", "kine"}
}

// durableStorages are the storages under test that keep data across a restart.
func durableStorages() []string {
	var out []string
	for _, s := range storagesUnderTest() {
		if s != "memory" {
			out = append(out, s)
		}
	}
	return out
}

// record registers a result for the running (sub)test; the test fills in
// Did and Numbers, and its outcome sets Status when it ends. Results go to
// FAULTS_OUT (default _output/faults/results).
func record(t *testing.T, area, fault, backend string) *Result {
	r := &Result{Area: area, Fault: fault, Backend: backend, Test: t.Name(), Numbers: map[string]float64{}}
	t.Cleanup(func() {
		switch {
		case t.Skipped():
			r.Status = Skip
		case t.Failed():
			r.Status = Fail
		case r.Upstream != "":
			r.Status = Upstream
		default:
			r.Status = Pass
		}
		dir := os.Getenv("FAULTS_OUT")
		if dir == "" {
			dir = filepath.Join(repoRoot(), "_output", "faults", "results")
		}
		if err := Save(dir, *r); err != nil {
			t.Errorf("saving the result: %v", err)
		}
	})
	return r
}

// startIn runs bin on dataDir until the test ends; a start failure quotes
// the end of the server's log.
func startIn(t *testing.T, dataDir, bin string, args ...string) *serverproc.Server {
	t.Helper()
	p, err := serverproc.StartMinimal(context.Background(), serverproc.Minimal{Binary: bin, DataDir: dataDir, Args: args,
		Log: filepath.Join(dataDir, "..", filepath.Base(dataDir)+"-"+time.Now().Format("150405.000")+".log"), Timeout: time.Minute})
	require.NoError(t, err)
	t.Cleanup(p.Stop)
	return p
}

// launchExpectExit starts bin and waits up to within for it to exit. It
// returns its output, whether it exited and how long it ran; a process still
// running at the deadline is killed.
func launchExpectExit(t *testing.T, bin, log string, within time.Duration, args ...string) (out string, exited bool, ran time.Duration) {
	t.Helper()
	start := time.Now()
	p, err := serverproc.Launch(bin, log, args...)
	require.NoError(t, err)
	select {
	case <-p.Done():
		exited = true
	case <-time.After(within):
		p.Kill()
	}
	ran = time.Since(start)
	b, _ := os.ReadFile(log)
	return string(b), exited, ran
}

func client(t *testing.T, p *serverproc.Server) kubernetes.Interface {
	cfg := p.RESTConfig()
	cfg.QPS, cfg.Burst = 1000, 2000
	c, err := kubernetes.NewForConfig(cfg)
	require.NoError(t, err)
	return c
}

// httpClient is a raw HTTP client with the admin credentials of p.
func httpClient(t *testing.T, p *serverproc.Server) *http.Client {
	hc, err := rest.HTTPClientFor(p.RESTConfig())
	require.NoError(t, err)
	hc.Timeout = 30 * time.Second
	return hc
}

// anonymousClient trusts the server's CA and presents no credentials (or
// the given client certificate).
func anonymousClient(t *testing.T, p *serverproc.Server, certs ...tls.Certificate) *http.Client {
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(p.RESTConfig().CAData), "CA data of the admin kubeconfig")
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: certs},
	}}
}

// do sends one request and returns its status code and body.
func do(t *testing.T, hc *http.Client, method, url, contentType string, body io.Reader, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	require.NoError(t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := hc.Do(req)
	require.NoError(t, err, "%s %s", method, url)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// requireReady checks that the server still answers /readyz with 200.
func requireReady(t *testing.T, p *serverproc.Server) {
	t.Helper()
	code, body := do(t, httpClient(t, p), http.MethodGet, p.URL()+"/readyz", "", nil)
	require.Equal(t, http.StatusOK, code, "/readyz after the fault: %s", body)
}

func seconds(d time.Duration) float64 {
	return float64(d.Round(time.Millisecond)) / float64(time.Second)
}

// firstLine is the first line of s that contains sub, or the last line.
func firstLine(s, sub string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for _, l := range lines {
		if strings.Contains(l, sub) {
			return strings.TrimSpace(l)
		}
	}
	return strings.TrimSpace(lines[len(lines)-1])
}
