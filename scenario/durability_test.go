package scenario

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/generic-controlplane/gcp/internal/serverproc"
)

// TestDurabilityKill9 creates ConfigMaps in a loop, SIGKILLs the server in the
// middle of it, restarts on the same data dir and checks that every create
// that returned 201 is still there.
func TestDurabilityKill9(t *testing.T) {
	bin := binary(t, "MINIMAL_APISERVER_BIN", "minimal-apiserver", "./cmd/minimal-apiserver")
	for _, storage := range storagesUnderTest() {
		if storage == "memory" {
			continue // nothing survives a restart, by design
		}
		t.Run(storage, func(t *testing.T) {
			dir := t.TempDir()
			ctx := context.Background()
			run := func(log string) *serverproc.Server {
				p, err := serverproc.StartMinimal(ctx, serverproc.Minimal{Binary: bin, DataDir: dir,
					Log: filepath.Join(dir, log), Args: []string{"--storage=" + storage}})
				require.NoError(t, err)
				t.Cleanup(p.Stop)
				return p
			}
			p := run("run1.log")
			cfg := p.RESTConfig()
			cfg.QPS, cfg.Burst = 500, 1000
			c := kubernetes.NewForConfigOrDie(cfg)
			var mu sync.Mutex
			var acked []string
			var wg sync.WaitGroup
			const killAfter = 150
			killed := make(chan struct{})
			var once sync.Once
			for w := 0; w < 4; w++ {
				wg.Add(1)
				go func(w int) {
					defer wg.Done()
					for i := 0; ; i++ {
						name := fmt.Sprintf("cm-%d-%d", w, i)
						_, err := c.CoreV1().ConfigMaps("default").Create(ctx,
							&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string]string{"i": name}}, metav1.CreateOptions{})
						if err != nil {
							return // server gone
						}
						mu.Lock()
						acked = append(acked, name)
						n := len(acked)
						mu.Unlock()
						if n >= killAfter {
							once.Do(func() { p.Kill(); close(killed) })
						}
					}
				}(w)
			}
			wg.Wait()
			select {
			case <-killed:
			default:
				require.FailNow(t, "the create loop stopped before the kill", "after %d creates; log %s:\n%s", len(acked), p.Log(), p.LogTail(20))
			}
			t.Logf("%d creates acknowledged before/while SIGKILL", len(acked))

			p2 := run("run2.log")
			l, err := kubernetes.NewForConfigOrDie(p2.RESTConfig()).CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{})
			require.NoError(t, err)
			have := map[string]bool{}
			for _, cm := range l.Items {
				have[cm.Name] = true
			}
			var missing []string
			for _, n := range acked {
				if !have[n] {
					missing = append(missing, n)
				}
			}
			assert.Empty(t, missing, "acknowledged ConfigMaps missing after the restart")
			t.Logf("after restart: %d ConfigMaps listed, %d acknowledged, %d missing", len(l.Items), len(acked), len(missing))
		})
	}
}
