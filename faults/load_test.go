package faults

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/generic-controlplane/gcp/internal/serverproc"
)

// loadShape is how hard TestLoad pushes: the short shape runs in make test,
// FAULTS_LOAD=long (make faults) runs the 8 writers and 100
// watchers for FAULTS_LOAD_DURATION (default 2m) per backend.
type loadShape struct {
	writers, watchers int
	duration          time.Duration
}

func loadShapeFromEnv(t *testing.T) loadShape {
	if os.Getenv("FAULTS_LOAD") != "long" {
		return loadShape{writers: 2, watchers: 10, duration: 10 * time.Second}
	}
	d := 2 * time.Minute
	if s := os.Getenv("FAULTS_LOAD_DURATION"); s != "" {
		var err error
		d, err = time.ParseDuration(s)
		require.NoError(t, err, "FAULTS_LOAD_DURATION")
	}
	return loadShape{writers: 8, watchers: 100, duration: d}
}

// event is what a watcher saw.
type event struct {
	typ  watch.EventType
	name string
	rv   uint64
}

// TestLoad runs writers (create, update, delete of ConfigMaps) and watchers
// against one server per backend, then checks that every watcher saw every
// acknowledged write once and in order, that replaying what it saw gives the
// final list, and that goroutines and RSS return near their baseline once
// the clients leave.
func TestLoad(t *testing.T) {
	bin := minimalBin(t)
	shape := loadShapeFromEnv(t)
	for _, storage := range storagesUnderTest() {
		t.Run(storage, func(t *testing.T) {
			r := record(t, "load", fmt.Sprintf("%d writers and %d watchers for %s", shape.writers, shape.watchers, shape.duration), storage)
			p := startIn(t, t.TempDir(), bin, "--storage="+storage)
			cs := client(t, p)
			time.Sleep(3 * time.Second) // let the post-start controllers settle
			baseG, baseRSS := goroutines(t, p), rss(t, p)

			list, err := cs.CoreV1().ConfigMaps("default").List(t.Context(), metav1.ListOptions{})
			require.NoError(t, err)
			initial := map[string]uint64{}
			for _, cm := range list.Items {
				initial[cm.Name] = parseRV(t, cm.ResourceVersion)
			}
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			seen := make([][]event, shape.watchers)
			sentinelSeen := make([]chan struct{}, shape.watchers)
			var watchErrs atomic.Int64
			var watchers sync.WaitGroup
			for i := range shape.watchers {
				w, err := cs.CoreV1().ConfigMaps("default").Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
				require.NoError(t, err)
				sentinelSeen[i] = make(chan struct{})
				watchers.Add(1)
				go func() {
					defer watchers.Done()
					defer w.Stop()
					for e := range w.ResultChan() {
						cm, ok := e.Object.(*corev1.ConfigMap)
						if !ok {
							watchErrs.Add(1)
							continue
						}
						rv, _ := strconv.ParseUint(cm.ResourceVersion, 10, 64)
						seen[i] = append(seen[i], event{e.Type, cm.Name, rv})
						if cm.Name == "zz-sentinel" {
							close(sentinelSeen[i])
							return
						}
					}
				}()
			}

			peakG, peakRSS := baseG, baseRSS
			sampleDone := make(chan struct{})
			go func() {
				defer close(sampleDone)
				for ctx.Err() == nil {
					peakG, peakRSS = max(peakG, goroutinesOrZero(p)), max(peakRSS, rssOrZero(p))
					select {
					case <-ctx.Done():
					case <-time.After(time.Second):
					}
				}
			}()

			writes, conflicts, errs := runWriters(cs, shape)
			sentinel, err := cs.CoreV1().ConfigMaps("default").Create(t.Context(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "zz-sentinel"}}, metav1.CreateOptions{})
			require.NoError(t, err)
			timeout := time.After(time.Minute)
			lagging := 0
			for i := range sentinelSeen {
				select {
				case <-sentinelSeen[i]:
				case <-timeout:
					lagging++
				}
			}
			cancel()
			watchers.Wait()
			<-sampleDone
			final, err := cs.CoreV1().ConfigMaps("default").List(t.Context(), metav1.ListOptions{})
			require.NoError(t, err)
			want := map[string]uint64{}
			for _, cm := range final.Items {
				want[cm.Name] = parseRV(t, cm.ResourceVersion)
			}

			var badWatchers []string
			for i, evs := range seen {
				if problem := checkWatcher(initial, want, evs, writes+1); problem != "" {
					badWatchers = append(badWatchers, fmt.Sprintf("watcher %d: %s", i, problem))
				}
			}
			afterG, afterRSS := settle(t, p, baseG)
			r.Numbers = map[string]float64{
				"writes": float64(writes), "writes/s": float64(writes) / shape.duration.Seconds(), "conflicts": float64(conflicts), "errors": float64(errs),
				"events expected per watcher": float64(writes + 1), "watchers that saw every event in order": float64(shape.watchers - len(badWatchers)),
				"goroutines before": float64(baseG), "goroutines peak": float64(peakG), "goroutines after": float64(afterG),
				"RSS MiB before": mib(baseRSS), "RSS MiB peak": mib(peakRSS), "RSS MiB after": mib(afterRSS),
			}
			sentinelRV := parseRV(t, sentinel.ResourceVersion)
			r.Did = fmt.Sprintf("%d acknowledged writes (%d conflicts, %d other errors); %d of %d watchers saw all %d events once and in order, replaying to the final list (resourceVersion %d); goroutines %d -> %d -> %d, RSS %.0f -> %.0f -> %.0f MiB",
				writes, conflicts, errs, shape.watchers-len(badWatchers), shape.watchers, writes+1, sentinelRV, baseG, peakG, afterG, mib(baseRSS), mib(peakRSS), mib(afterRSS))
			assert.Zero(t, errs, "write errors other than conflicts")
			assert.Zero(t, lagging, "watchers that did not see the sentinel within a minute")
			assert.Zero(t, watchErrs.Load(), "watch events that were not ConfigMaps (errors)")
			assert.Empty(t, badWatchers)
			assert.LessOrEqual(t, afterG, baseG+max(50, baseG/10), "goroutines once the clients left (baseline %d)", baseG)
			assert.LessOrEqual(t, afterRSS, max(2*baseRSS, baseRSS+256<<20), "RSS once the clients left (baseline %d)", baseRSS)
			requireReady(t, p)
		})
	}
}

// runWriters cycles each writer through create, update and delete of its
// own ConfigMaps until shape.duration has passed; it counts the
// acknowledged writes, the conflicts and the other errors.
func runWriters(cs kubernetes.Interface, shape loadShape) (writes, conflicts, errs int64) {
	var wg sync.WaitGroup
	var nWrites, nConflicts, nErrs atomic.Int64
	deadline := time.Now().Add(shape.duration)
	count := func(err error) {
		switch {
		case err == nil:
			nWrites.Add(1)
		case apierrors.IsConflict(err):
			nConflicts.Add(1)
		default:
			nErrs.Add(1)
		}
	}
	for w := range shape.writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			cms := cs.CoreV1().ConfigMaps("default")
			for i := 0; time.Now().Before(deadline); i++ {
				name := fmt.Sprintf("load-%d-%d", w, i%16)
				cm, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string]string{"v": "0"}}, metav1.CreateOptions{})
				count(err)
				if err != nil {
					continue
				}
				cm.Data["v"] = strconv.Itoa(i + 1) // created with "0": an update must change something to be a write
				_, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
				count(err)
				count(cms.Delete(ctx, name, metav1.DeleteOptions{}))
			}
		}()
	}
	wg.Wait()
	return nWrites.Load(), nConflicts.Load(), nErrs.Load()
}

// checkWatcher says what is wrong with what one watcher saw, or "": events
// strictly ordered by resourceVersion, as many as writes, and replaying them
// on the initial list gives the final one.
func checkWatcher(initial, final map[string]uint64, evs []event, writes int64) string {
	state := map[string]uint64{}
	for k, v := range initial {
		state[k] = v
	}
	var last uint64
	for i, e := range evs {
		if e.rv <= last {
			return fmt.Sprintf("event %d (%s %s at %d) not after %d", i, e.typ, e.name, e.rv, last)
		}
		last = e.rv
		switch e.typ {
		case watch.Added, watch.Modified:
			state[e.name] = e.rv
		case watch.Deleted:
			delete(state, e.name)
		default:
			return fmt.Sprintf("event %d has type %s", i, e.typ)
		}
	}
	if int64(len(evs)) != writes {
		return fmt.Sprintf("%d events for %d acknowledged writes", len(evs), writes)
	}
	if len(state) != len(final) {
		return fmt.Sprintf("replay gives %d objects, the final list has %d", len(state), len(final))
	}
	for k, v := range final {
		if state[k] != v {
			return fmt.Sprintf("replay has %s at %d, the final list at %d", k, state[k], v)
		}
	}
	return ""
}

// settle waits up to 30 s for the goroutines to come back near base and
// returns the goroutine count and RSS then.
func settle(t *testing.T, p *serverproc.Server, base int) (int, int64) {
	deadline := time.Now().Add(30 * time.Second)
	g := goroutines(t, p)
	for g > base+max(50, base/10) && time.Now().Before(deadline) {
		time.Sleep(time.Second)
		g = goroutines(t, p)
	}
	return g, rss(t, p)
}

func parseRV(t *testing.T, rv string) uint64 {
	n, err := strconv.ParseUint(rv, 10, 64)
	require.NoError(t, err, "resourceVersion %q", rv)
	return n
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func goroutines(t *testing.T, p *serverproc.Server) int {
	n, err := readGoroutines(p)
	require.NoError(t, err)
	return n
}

func goroutinesOrZero(p *serverproc.Server) int { n, _ := readGoroutines(p); return n }

// readGoroutines reads go_goroutines from the server's /metrics.
func readGoroutines(p *serverproc.Server) (int, error) {
	hc, err := rest.HTTPClientFor(p.RESTConfig())
	if err != nil {
		return 0, err
	}
	hc.Timeout = 10 * time.Second
	resp, err := hc.Get(p.URL() + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("/metrics: HTTP %d", resp.StatusCode)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_goroutines "); ok {
			f, err := strconv.ParseFloat(v, 64)
			return int(f), err
		}
	}
	return 0, fmt.Errorf("/metrics has no go_goroutines")
}

func rss(t *testing.T, p *serverproc.Server) int64 {
	n, err := p.RSSBytes()
	require.NoError(t, err)
	return n
}

func rssOrZero(p *serverproc.Server) int64 { n, _ := p.RSSBytes(); return n }
