package faults

import (
	"bufio"
	"context"
	"fmt"
	"math"
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

// TestLoad runs two rounds of writers (create, update, delete of
// ConfigMaps) and watchers against one server per backend. In each round
// every watcher must see every acknowledged write once and in order, and
// replaying what it saw must give the final list. After each round the
// goroutines must come back near their baseline.
//
// RSS and heap do not come back: the watch cache keeps recent events, up to
// 102,400 per resource (k8s.io/apiserver/pkg/storage/cacher/
// watch_cache_history.go:37), and drops them only when newer events need
// the room; the native in-memory backend keeps its revisions until its
// compaction (5 min). So the check is that what the heap keeps after a forced
// GC is what the watch cache's capacity (its metric) explains, at most
// maxBytesPerCacheSlot per slot: a leak per request or per watch would
// exceed it.
func TestLoad(t *testing.T) {
	bin := minimalBin(t)
	shape := loadShapeFromEnv(t)
	for _, storage := range storagesUnderTest() {
		t.Run(storage, func(t *testing.T) {
			r := record(t, "load", fmt.Sprintf("%d writers and %d watchers, two rounds of %s", shape.writers, shape.watchers, shape.duration), storage)
			p := startIn(t, t.TempDir(), bin, "--storage="+storage)
			cs := client(t, p)
			time.Sleep(3 * time.Second) // let the post-start controllers settle
			base := sample(t, p)
			var rounds []roundResult
			var after []memSample
			for round := 1; round <= 2; round++ {
				res := loadRound(t, p, cs, shape, round)
				rounds = append(rounds, res)
				after = append(after, settle(t, p, base.goroutines))
				r.Numbers[fmt.Sprintf("round %d writes", round)] = float64(res.writes)
				r.Numbers[fmt.Sprintf("round %d writes/s", round)] = float64(res.writes) / shape.duration.Seconds()
				r.Numbers[fmt.Sprintf("round %d watchers in order", round)] = float64(shape.watchers - len(res.badWatchers))
				r.Numbers[fmt.Sprintf("round %d watch restarts", round)] = float64(res.restarts)
				r.Numbers[fmt.Sprintf("round %d goroutines peak", round)] = float64(res.peakGoroutines)
				r.Numbers[fmt.Sprintf("round %d RSS MiB peak", round)] = mib(res.peakRSS)
				r.Numbers[fmt.Sprintf("round %d goroutines after", round)] = float64(after[round-1].goroutines)
				r.Numbers[fmt.Sprintf("round %d RSS MiB after", round)] = mib(after[round-1].rss)
				r.Numbers[fmt.Sprintf("round %d heap MiB after GC", round)] = mib(after[round-1].heap)
			}
			r.Numbers["goroutines before"], r.Numbers["RSS MiB before"], r.Numbers["heap MiB before"] = float64(base.goroutines), mib(base.rss), mib(base.heap)
			var did []string
			for i, res := range rounds {
				did = append(did, fmt.Sprintf("round %d: %d acknowledged writes (%d conflicts, %d other errors), %d of %d watchers saw all %d events once and in order and replayed to the final list (%d watches ended by the server and resumed from their last resourceVersion)",
					i+1, res.writes, res.conflicts, res.errs, shape.watchers-len(res.badWatchers), shape.watchers, res.writes+1, res.restarts))
			}
			r.Did = strings.Join(did, "; ") + fmt.Sprintf("; goroutines %d, after the rounds %d and %d; RSS %.0f MiB, after the rounds %.0f and %.0f; heap after GC %.0f MiB, after the rounds %.0f and %.0f",
				base.goroutines, after[0].goroutines, after[1].goroutines, mib(base.rss), mib(after[0].rss), mib(after[1].rss), mib(base.heap), mib(after[0].heap), mib(after[1].heap))
			for i, res := range rounds {
				assert.Zero(t, res.errs, "round %d: write errors other than conflicts", i+1)
				assert.Zero(t, res.lagging, "round %d: watchers that did not see the sentinel within two minutes", i+1)
				assert.Zero(t, res.watchErrs, "round %d: watch events that were not ConfigMaps (errors)", i+1)
				assert.Empty(t, res.badWatchers, "round %d", i+1)
				assert.LessOrEqual(t, after[i].goroutines, nearGoroutines(base.goroutines), "round %d: goroutines once the clients left (baseline %d)", i+1, base.goroutines)
			}
			for i, a := range after {
				perSlot := float64(a.heap-base.heap) / float64(max(a.cacheCapacity, 1))
				r.Numbers[fmt.Sprintf("round %d watch cache capacity", i+1)] = float64(a.cacheCapacity)
				r.Numbers[fmt.Sprintf("round %d heap bytes kept per cache slot", i+1)] = math.Round(perSlot)
				if storage != "memory" {
					assert.LessOrEqual(t, perSlot, float64(maxBytesPerCacheSlot),
						"round %d: the heap kept %.0f MiB more than at the start, %.0f bytes per slot of the configmaps watch cache (capacity %d)", i+1, mib(a.heap-base.heap), perSlot, a.cacheCapacity)
				}
			}
			requireReady(t, p)
		})
	}
}

// roundResult is what one load round measured.
type roundResult struct {
	writes, conflicts, errs int64
	lagging                 int
	watchErrs, restarts     int64
	badWatchers             []string
	peakGoroutines          int
	peakRSS                 int64
}

// loadRound starts the watchers at the current resourceVersion, runs the
// writers, creates a sentinel and checks what every watcher saw up to it.
func loadRound(t *testing.T, p *serverproc.Server, cs kubernetes.Interface, shape loadShape, round int) roundResult {
	list, err := cs.CoreV1().ConfigMaps("default").List(t.Context(), metav1.ListOptions{})
	require.NoError(t, err)
	initial := map[string]uint64{}
	for _, cm := range list.Items {
		initial[cm.Name] = parseRV(t, cm.ResourceVersion)
	}
	sentinelName := fmt.Sprintf("zz-sentinel-%d", round)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	seen := make([][]event, shape.watchers)
	sentinelSeen := make([]chan struct{}, shape.watchers)
	var watchErrs atomic.Int64
	var watchers sync.WaitGroup
	var restarts atomic.Int64
	for i := range shape.watchers {
		sentinelSeen[i] = make(chan struct{})
		watchers.Add(1)
		go func() {
			defer watchers.Done()
			// Like an informer, a watcher whose watch ends (the watch cache
			// closes one that does not keep up) watches again from the last
			// resourceVersion it saw: it must still see every event once.
			rv := list.ResourceVersion
			for attempt := 0; ctx.Err() == nil; attempt++ {
				if attempt > 0 {
					restarts.Add(1)
				}
				w, err := cs.CoreV1().ConfigMaps("default").Watch(ctx, metav1.ListOptions{ResourceVersion: rv, AllowWatchBookmarks: true})
				if err != nil {
					if ctx.Err() == nil {
						watchErrs.Add(1)
					}
					return
				}
				for e := range w.ResultChan() {
					cm, ok := e.Object.(*corev1.ConfigMap)
					if !ok {
						watchErrs.Add(1) // e.g. 410 Gone: events lost to this watcher
						w.Stop()
						return
					}
					rv = cm.ResourceVersion
					if e.Type == watch.Bookmark {
						continue
					}
					n, _ := strconv.ParseUint(cm.ResourceVersion, 10, 64)
					seen[i] = append(seen[i], event{e.Type, cm.Name, n})
					if cm.Name == sentinelName {
						close(sentinelSeen[i])
						w.Stop()
						return
					}
				}
				w.Stop()
			}
		}()
	}

	res := roundResult{peakGoroutines: goroutinesOrZero(p), peakRSS: rssOrZero(p)}
	sampleDone := make(chan struct{})
	go func() {
		defer close(sampleDone)
		for ctx.Err() == nil {
			res.peakGoroutines, res.peakRSS = max(res.peakGoroutines, goroutinesOrZero(p)), max(res.peakRSS, rssOrZero(p))
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}()

	res.writes, res.conflicts, res.errs = runWriters(cs, shape)
	_, err = cs.CoreV1().ConfigMaps("default").Create(t.Context(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: sentinelName}}, metav1.CreateOptions{})
	require.NoError(t, err)
	wait, waitDone := context.WithTimeout(ctx, 2*time.Minute)
	defer waitDone()
	for i := range sentinelSeen {
		select {
		case <-sentinelSeen[i]:
		case <-wait.Done():
			res.lagging++
		}
	}
	cancel()
	watchers.Wait()
	<-sampleDone
	res.watchErrs, res.restarts = watchErrs.Load(), restarts.Load()
	final, err := cs.CoreV1().ConfigMaps("default").List(t.Context(), metav1.ListOptions{})
	require.NoError(t, err)
	want := map[string]uint64{}
	for _, cm := range final.Items {
		want[cm.Name] = parseRV(t, cm.ResourceVersion)
	}
	for i, evs := range seen {
		if problem := checkWatcher(initial, want, evs, res.writes+1); problem != "" {
			res.badWatchers = append(res.badWatchers, fmt.Sprintf("watcher %d: %s", i, problem))
		}
	}
	return res
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

// maxBytesPerCacheSlot bounds the heap a load may leave behind per slot of
// the configmaps watch cache: an event holds the object, the previous object
// and their cached encodings (about 3.5 KiB for this test's ConfigMaps).
const maxBytesPerCacheSlot = 8 << 10

// nearGoroutines is how many goroutines still count as back at base.
func nearGoroutines(base int) int { return base + max(50, base/10) }

// memSample is the server's goroutines, RSS, heap in use after a forced GC
// and the capacity of its configmaps watch cache.
type memSample struct {
	goroutines    int
	rss, heap     int64
	cacheCapacity int64
}

func sample(t *testing.T, p *serverproc.Server) memSample {
	capacity, err := readMetric(p, `watch_cache_capacity{group="",resource="configmaps"}`)
	require.NoError(t, err)
	return memSample{goroutines: goroutines(t, p), rss: rss(t, p), heap: heapAfterGC(t, p), cacheCapacity: int64(capacity)}
}

// settle waits up to 30 s for the goroutines to come back near base, then
// samples.
func settle(t *testing.T, p *serverproc.Server, base int) memSample {
	deadline := time.Now().Add(30 * time.Second)
	for goroutines(t, p) > nearGoroutines(base) && time.Now().Before(deadline) {
		time.Sleep(time.Second)
	}
	return sample(t, p)
}

// heapAfterGC forces a GC in the server (the heap profile endpoint with
// gc=1, --profiling being on by default) and reads its heap in use.
func heapAfterGC(t *testing.T, p *serverproc.Server) int64 {
	hc := httpClient(t, p)
	code, body := do(t, hc, http.MethodGet, p.URL()+"/debug/pprof/heap?gc=1", "", nil)
	require.Equal(t, http.StatusOK, code, "heap profile: %.200s", body)
	v, err := readMetric(p, "go_memstats_heap_inuse_bytes")
	require.NoError(t, err)
	return int64(v)
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

func readGoroutines(p *serverproc.Server) (int, error) {
	v, err := readMetric(p, "go_goroutines")
	return int(v), err
}

// readMetric reads an unlabelled metric from the server's /metrics.
func readMetric(p *serverproc.Server, name string) (float64, error) {
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
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			return strconv.ParseFloat(v, 64)
		}
	}
	return 0, fmt.Errorf("/metrics has no %s", name)
}

func rss(t *testing.T, p *serverproc.Server) int64 {
	n, err := p.RSSBytes()
	require.NoError(t, err)
	return n
}

func rssOrZero(p *serverproc.Server) int64 { n, _ := p.RSSBytes(); return n }
