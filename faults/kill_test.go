package faults

import (
	"context"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/generic-controlplane/gcp/internal/serverproc"
)

// firstStartKills are the delays after launch at which the first start is
// killed: spread over certificate creation, storage bootstrap, the
// kubeconfig write and the post-start hooks (ready takes about a second).
var firstStartKills = []time.Duration{5 * time.Millisecond, 30 * time.Millisecond, 100 * time.Millisecond,
	250 * time.Millisecond, 500 * time.Millisecond, 900 * time.Millisecond, 1500 * time.Millisecond}

// phaseOf says how far a first start got, from what it left in dataDir.
func phaseOf(dataDir string) string {
	exists := func(p string) bool { _, err := os.Stat(filepath.Join(dataDir, p)); return err == nil }
	switch {
	case exists("admin.kubeconfig"):
		return "kubeconfig written"
	case exists("etcd/member") || exists("kine.db") || exists("native.db"):
		return "storage bootstrapped"
	case exists("pki/ca.crt"):
		return "certificates"
	default:
		return "before certificates"
	}
}

// checkNothingHalfWritten asserts that every certificate and key under
// pki/ is a whole PEM file and the admin kubeconfig, if any, loads.
func checkNothingHalfWritten(t *testing.T, dataDir string) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dataDir, "pki", "*"))
	for _, f := range files {
		if strings.Contains(filepath.Base(f), ".tmp") {
			continue // an unfinished temporary file is never read
		}
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		blk, _ := pem.Decode(b)
		assert.NotNil(t, blk, "%s is not a whole PEM file (%d bytes)", f, len(b))
	}
	kc := filepath.Join(dataDir, "admin.kubeconfig")
	if _, err := os.Stat(kc); err == nil {
		_, err := clientcmd.BuildConfigFromFlags("", kc)
		assert.NoError(t, err, "admin kubeconfig left by the killed server")
	}
}

// TestKill9FirstStart kills the first start of a server at several instants
// and restarts it on the same data dir: every restart must get ready with a
// consistent identity (its kubeconfig's CA verifies its serving
// certificate) and serve.
func TestKill9FirstStart(t *testing.T) {
	bin := minimalBin(t)
	for _, storage := range storagesUnderTest() {
		t.Run(storage, func(t *testing.T) {
			r := record(t, "kill -9", "kill -9 during the first start, at 7 instants, then restart", storage)
			phases := map[string]int{}
			var worst time.Duration
			for _, after := range firstStartKills {
				dir := t.TempDir()
				p, err := serverproc.Launch(bin, filepath.Join(dir, "..", "first.log"), "--data-dir="+dir, "--secure-port=0", "--storage="+storage)
				require.NoError(t, err)
				time.Sleep(after)
				p.Kill()
				phase := phaseOf(dir)
				phases[phase]++
				checkNothingHalfWritten(t, dir)
				s := startIn(t, dir, bin, "--storage="+storage)
				worst = max(worst, s.StartToReady)
				_, err = client(t, s).CoreV1().Namespaces().List(t.Context(), metav1.ListOptions{})
				require.NoError(t, err, "restart after a kill at %s (%s)", after, phase)
				s.Stop()
			}
			var seen []string
			for _, ph := range []string{"before certificates", "certificates", "storage bootstrapped", "kubeconfig written"} {
				if phases[ph] > 0 {
					seen = append(seen, fmt.Sprintf("%s %d", ph, phases[ph]))
				}
			}
			r.Numbers["kills"] = float64(len(firstStartKills))
			r.Numbers["slowest restart s"] = seconds(worst)
			r.Did = fmt.Sprintf("killed in phase: %s; every restart ready and serving, no half-written certificate or kubeconfig", strings.Join(seen, ", "))
			assert.GreaterOrEqual(t, len(seen), 2, "the kills should hit more than one phase: %v", phases)
		})
	}
}

// TestKill9DuringCRDCreation kills the server right after a CRD create was
// acknowledged (before it is Established) and checks that after a restart
// the CRD is there, gets Established and serves its custom resources.
func TestKill9DuringCRDCreation(t *testing.T) {
	bin := minimalBin(t)
	for _, storage := range durableStorages() {
		t.Run(storage, func(t *testing.T) {
			r := record(t, "kill -9", "kill -9 right after a CRD create returned", storage)
			dir := t.TempDir()
			p := startIn(t, dir, bin, "--storage="+storage)
			ext := apiextensionsclient.NewForConfigOrDie(p.RESTConfig())
			_, err := ext.ApiextensionsV1().CustomResourceDefinitions().Create(t.Context(), widgetCRD(), metav1.CreateOptions{})
			require.NoError(t, err)
			p.Kill()
			p2 := startIn(t, dir, bin, "--storage="+storage)
			ext2 := apiextensionsclient.NewForConfigOrDie(p2.RESTConfig())
			start := time.Now()
			err = wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
				crd, err := ext2.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, "widgets.faults.example.com", metav1.GetOptions{})
				if err != nil {
					return false, err
				}
				for _, c := range crd.Status.Conditions {
					if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
						return true, nil
					}
				}
				return false, nil
			})
			require.NoError(t, err, "the CRD after the restart")
			dyn := dynamic.NewForConfigOrDie(p2.RESTConfig())
			gvr := schema.GroupVersionResource{Group: "faults.example.com", Version: "v1", Resource: "widgets"}
			err = wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
				_, err := dyn.Resource(gvr).Namespace("default").Create(ctx, widget("w1", "small"), metav1.CreateOptions{})
				return err == nil, nil
			})
			require.NoError(t, err, "creating a custom resource after the restart")
			r.Numbers["established after restart s"] = seconds(time.Since(start))
			r.Did = fmt.Sprintf("after the restart the CRD was there, Established and serving widgets within %.1f s", seconds(time.Since(start)))
		})
	}
}

// TestKill9UnderWatchLoad kills the server while writers create ConfigMaps
// and watchers follow them, then checks every acknowledged create survived.
func TestKill9UnderWatchLoad(t *testing.T) {
	bin := minimalBin(t)
	for _, storage := range durableStorages() {
		t.Run(storage, func(t *testing.T) {
			r := record(t, "kill -9", "kill -9 under write and watch load (4 writers, 50 watchers)", storage)
			dir := t.TempDir()
			p := startIn(t, dir, bin, "--storage="+storage)
			cs := client(t, p)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			var events sync.WaitGroup
			var seen int64
			var mu sync.Mutex
			for range 50 {
				w, err := cs.CoreV1().ConfigMaps("default").Watch(ctx, metav1.ListOptions{})
				require.NoError(t, err)
				events.Add(1)
				go func() {
					defer events.Done()
					for range w.ResultChan() {
						mu.Lock()
						seen++
						mu.Unlock()
					}
				}()
			}
			acked := writeUntilKilled(t, cs, p, 4, 300)
			cancel()
			events.Wait()
			missing := missingAfterRestart(t, dir, bin, storage, acked)
			r.Numbers["acknowledged"] = float64(len(acked))
			r.Numbers["missing"] = float64(len(missing))
			r.Numbers["watch events before the kill"] = float64(seen)
			r.Did = fmt.Sprintf("%d creates acknowledged, %d watch events delivered before the kill; after the restart %d missing", len(acked), seen, len(missing))
			assert.Empty(t, missing, "acknowledged ConfigMaps missing after the restart")
		})
	}
}

// TestKill9DuringGracefulShutdown sends SIGTERM under write load and kills
// the server while it drains.
func TestKill9DuringGracefulShutdown(t *testing.T) {
	bin := minimalBin(t)
	for _, storage := range durableStorages() {
		t.Run(storage, func(t *testing.T) {
			r := record(t, "kill -9", "SIGTERM under write load, kill -9 while it drains", storage)
			dir := t.TempDir()
			p := startIn(t, dir, bin, "--storage="+storage)
			cs := client(t, p)
			acked := writeUntilKilled(t, cs, p, 4, 150, func() {
				_ = syscall.Kill(p.Pid(), syscall.SIGTERM)
				time.Sleep(300 * time.Millisecond)
			})
			missing := missingAfterRestart(t, dir, bin, storage, acked)
			r.Numbers["acknowledged"] = float64(len(acked))
			r.Numbers["missing"] = float64(len(missing))
			r.Did = fmt.Sprintf("%d creates acknowledged; killed 0.3 s into the drain; after the restart %d missing", len(acked), len(missing))
			assert.Empty(t, missing, "acknowledged ConfigMaps missing after the restart")
		})
	}
}

// writeUntilKilled runs writers creating ConfigMaps; once killAfter creates
// are acknowledged it runs before (if any) and kills the server. It returns
// the names of every acknowledged create.
func writeUntilKilled(t *testing.T, cs kubernetes.Interface, p *serverproc.Server, writers, killAfter int, before ...func()) []string {
	var mu sync.Mutex
	var acked []string
	var once sync.Once
	var wg sync.WaitGroup
	killed := make(chan struct{})
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				name := fmt.Sprintf("cm-%d-%d", w, i)
				_, err := cs.CoreV1().ConfigMaps("default").Create(context.Background(),
					&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string]string{"i": name}}, metav1.CreateOptions{})
				if err != nil {
					select {
					case <-killed:
						return // server gone
					default:
					}
					if i > 10000 {
						return
					}
					continue // e.g. refused while draining: not acknowledged
				}
				mu.Lock()
				acked = append(acked, name)
				n := len(acked)
				mu.Unlock()
				if n >= killAfter {
					once.Do(func() {
						go func() {
							for _, f := range before {
								f()
							}
							p.Kill()
							close(killed)
						}()
					})
				}
			}
		}()
	}
	wg.Wait()
	select {
	case <-killed:
	default:
		require.FailNow(t, "the writers stopped before the kill", "after %d creates; log %s:\n%s", len(acked), p.Log(), p.LogTail(20))
	}
	return acked
}

// missingAfterRestart restarts the server on dir and returns the acked
// names it does not list.
func missingAfterRestart(t *testing.T, dir, bin, storage string, acked []string) []string {
	checkNothingHalfWritten(t, dir)
	p := startIn(t, dir, bin, "--storage="+storage)
	l, err := client(t, p).CoreV1().ConfigMaps("default").List(t.Context(), metav1.ListOptions{})
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
	return missing
}

func widgetCRD() *apiextensionsv1.CustomResourceDefinition {
	return &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "widgets.faults.example.com"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "faults.example.com", Scope: apiextensionsv1.NamespaceScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "widgets", Singular: "widget", Kind: "Widget", ListKind: "WidgetList"},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{Name: "v1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{
						"spec": {Type: "object", Required: []string{"size"}, Properties: map[string]apiextensionsv1.JSONSchemaProps{
							"size": {Type: "string", Enum: []apiextensionsv1.JSON{{Raw: []byte(`"small"`)}, {Raw: []byte(`"large"`)}}},
						}},
					}}}}},
		},
	}
}
