package upstream

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// binaries finds kube-apiserver, the generic sample and etcd where `make
// bench-upstream` or `make prove` put them; building them takes minutes,
// so without them the test skips.
func binaries(t *testing.T) (api map[string]string, etcd string) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts API servers")
	}
	_, f, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(f), "..", "..")
	bench := func(dir string) []string {
		return []string{filepath.Join(dir, "kube-apiserver"), filepath.Join(dir, "sample-generic-apiserver"), filepath.Join(dir, "bench-etcd")}
	}
	prove := filepath.Join(root, "_output", "prove", "bin")
	sets := [][]string{
		bench(filepath.Join(root, "_output", "bin", "bench")),
		{filepath.Join(prove, "0", "kube-apiserver"), filepath.Join(prove, "0", "generic"), filepath.Join(prove, "etcd")},
	}
	if dir := os.Getenv("UPSTREAM_BIN"); dir != "" {
		sets = [][]string{bench(dir)}
	}
	for _, set := range sets {
		api = map[string]string{KubeAPIServer: set[0], GenericSample: set[1]}
		etcd = set[2]
		found := true
		for _, p := range []string{api[KubeAPIServer], api[GenericSample], etcd} {
			if _, err := os.Stat(p); err != nil {
				found = false
			}
		}
		if found {
			return api, etcd
		}
	}
	t.Skip("no kube-apiserver, generic sample and etcd: set UPSTREAM_BIN or run make bench-upstream")
	return nil, ""
}

func TestStartServesWithOurCertificates(t *testing.T) {
	api, etcd := binaries(t)
	for _, kind := range []string{KubeAPIServer, GenericSample} {
		t.Run(kind, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			s, err := Start(ctx, kind, api[kind], etcd, t.TempDir())
			require.NoError(t, err)
			defer s.Stop()
			assert.Positive(t, s.StartToReady)
			assert.GreaterOrEqual(t, s.StartToReady, s.API.StartToReady, "counts from etcd's launch")

			// The admin kubeconfig authenticates with a client certificate
			// and verifies the server against our CA.
			cfg, err := clientcmd.BuildConfigFromFlags("", s.Kubeconfig)
			require.NoError(t, err)
			assert.NotEmpty(t, cfg.CertFile+string(cfg.CertData), "client certificate")
			assert.False(t, cfg.Insecure)
			_, err = kubernetes.NewForConfigOrDie(cfg).CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{})
			require.NoError(t, err)
		})
	}
	_, err := Start(context.Background(), "kcp", "", "", t.TempDir())
	assert.ErrorContains(t, err, `unknown upstream server kind "kcp"`)
}
