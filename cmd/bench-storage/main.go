// Command bench-storage measures minimal-apiserver on each of its in-process
// storage backends side by side (issue 10): embedded etcd, kine on SQLite,
// the native backend (storage/sqlite) on disk and in memory. Runs are
// interleaved (run i of every backend before run i+1 of any) and each figure
// is the median over runs. The binary must be built on the series tip (-tags
// gcp_patched): `make bench-storage` does.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/generic-controlplane/gcp/internal/loadgen"
	"github.com/generic-controlplane/gcp/internal/serverproc"
	"github.com/generic-controlplane/gcp/internal/stats"
)

var (
	bin          = flag.String("bin", "_output/bin/tip/minimal-apiserver", "minimal-apiserver built on the series tip (-tags gcp_patched)")
	runs         = flag.Int("runs", 3, "runs per backend (medians reported)")
	work         = flag.String("work", "_output/bench-storage", "scratch directory")
	mdOut        = flag.String("md", "reports/bench-storage.md", "Markdown output")
	jsonOut      = flag.String("json", "reports/bench-storage.json", "JSON output")
	objects      = flag.Int("objects", 2000, "objects created per kind and run (the LIST lists the ConfigMaps)")
	workers      = flag.Int("workers", 8, "client-go workers creating")
	lists        = flag.Int("lists", 10, "LISTs per run")
	watchEvents  = flag.Int("watch-events", 200, "sequential creates whose watch event latency is measured per run")
	backendsFlag = flag.String("backends", "etcd,kine,sqlite,memory", "comma-separated --storage values to measure")
)

// descriptions say what each --storage value is, durability included.
var descriptions = map[string]string{
	"etcd":   "embedded etcd, in-process client (fsync on)",
	"kine":   "kine on SQLite, in-memory gRPC connection (WAL, synchronous=NORMAL, kine's default: no fsync per commit)",
	"sqlite": "native backend on SQLite (WAL, synchronous=FULL)",
	"memory": "native backend in memory (nothing survives a restart)",
}

// run is one measurement of one backend.
type run struct {
	ReadySeconds        float64 `json:"start_to_ready_seconds"`
	RSSReadyMiB         float64 `json:"rss_ready_mib"`
	ConfigMapCreatesSec float64 `json:"configmap_creates_per_second"`
	CRCreatesSec        float64 `json:"custom_resource_creates_per_second"`
	ListMillis          float64 `json:"list_median_ms"`
	ListedItems         int     `json:"listed_items"`
	WatchP50Millis      float64 `json:"watch_event_p50_ms"`
	WatchP99Millis      float64 `json:"watch_event_p99_ms"`
	RSSLoadMiB          float64 `json:"rss_after_load_mib"`
}

type result struct {
	Backend     string `json:"backend"`
	Description string `json:"description"`
	Runs        []run  `json:"runs"`
	Median      run    `json:"median"`
	Error       string `json:"error,omitempty"`
}

func main() {
	flag.Parse()
	if err := benchmark(); err != nil {
		fmt.Fprintln(os.Stderr, "bench-storage:", err)
		os.Exit(1)
	}
}

func benchmark() error {
	if _, err := os.Stat(*bin); err != nil {
		return fmt.Errorf("%v: build minimal-apiserver on the series tip first (make bench-storage does)", err)
	}
	var results []*result
	for _, b := range strings.Split(*backendsFlag, ",") {
		results = append(results, &result{Backend: b, Description: descriptions[b]})
	}
	for i := range *runs {
		for _, r := range results {
			if r.Error != "" {
				continue
			}
			fmt.Printf("[bench-storage] run %d/%d: --storage=%s\n", i+1, *runs, r.Backend)
			one, err := measure(r.Backend, filepath.Join(*work, fmt.Sprintf("%s-%d", r.Backend, i)))
			if err != nil {
				r.Error = fmt.Sprintf("run %d: %v", i+1, err)
				fmt.Fprintf(os.Stderr, "[bench-storage] --storage=%s: %v\n", r.Backend, err)
				continue
			}
			fmt.Printf("[bench-storage]   %+v\n", one)
			r.Runs = append(r.Runs, one)
		}
	}
	for _, r := range results {
		r.Median = medianRun(r.Runs)
	}
	return write(results)
}

// measure starts the server on backend with a fresh data dir, then loads it.
func measure(backend, dir string) (r run, err error) {
	_ = os.RemoveAll(dir)
	defer func() {
		// A failed run keeps its data dir, server.log included, to look at.
		if err != nil {
			err = fmt.Errorf("%w (server log: %s)", err, filepath.Join(dir, "server.log"))
			return
		}
		os.RemoveAll(dir)
	}()
	ctx := context.Background()
	srv, err := serverproc.StartMinimal(ctx, serverproc.Minimal{Binary: *bin, DataDir: dir, Args: []string{"--storage=" + backend}})
	if err != nil {
		return r, err
	}
	defer srv.Stop()
	r.ReadySeconds = srv.StartToReady.Seconds()
	r.RSSReadyMiB = mib(srv.Process)
	cfg, err := clientcmd.BuildConfigFromFlags("", srv.Kubeconfig)
	if err != nil {
		return r, err
	}
	if err := load(ctx, cfg, &r); err != nil {
		return r, err
	}
	r.RSSLoadMiB = mib(srv.Process)
	return r, nil
}

func load(ctx context.Context, cfg *rest.Config, r *run) error {
	var err error
	if r.ConfigMapCreatesSec, err = loadgen.Creates(ctx, cfg, loadgen.ConfigMaps, "cm", *objects, *workers); err != nil {
		return err
	}
	if r.CRCreatesSec, err = loadgen.Creates(ctx, cfg, loadgen.CustomResources, "item", *objects, *workers); err != nil {
		return err
	}
	took, items, err := loadgen.ListLatencies(ctx, cfg, *lists)
	if err != nil {
		return err
	}
	r.ListMillis, r.ListedItems = millis(stats.Median(took)), items
	latencies, err := loadgen.WatchLatencies(ctx, cfg, *watchEvents, time.Minute)
	if err != nil {
		return err
	}
	r.WatchP50Millis, r.WatchP99Millis = millis(stats.Percentile(latencies, 50)), millis(stats.Percentile(latencies, 99))
	return nil
}

func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// mib is p's resident set size in MiB, 0 if it cannot be read.
func mib(p *serverproc.Process) float64 {
	b, err := p.RSSBytes()
	if err != nil {
		return 0
	}
	return float64(b) / (1 << 20)
}

// medianRun is the median of every figure, each taken on its own.
func medianRun(rs []run) run {
	m := func(get func(run) float64) float64 { return stats.MedianBy(rs, get) }
	out := run{
		ReadySeconds:        m(func(r run) float64 { return r.ReadySeconds }),
		RSSReadyMiB:         m(func(r run) float64 { return r.RSSReadyMiB }),
		ConfigMapCreatesSec: m(func(r run) float64 { return r.ConfigMapCreatesSec }),
		CRCreatesSec:        m(func(r run) float64 { return r.CRCreatesSec }),
		ListMillis:          m(func(r run) float64 { return r.ListMillis }),
		WatchP50Millis:      m(func(r run) float64 { return r.WatchP50Millis }),
		WatchP99Millis:      m(func(r run) float64 { return r.WatchP99Millis }),
		RSSLoadMiB:          m(func(r run) float64 { return r.RSSLoadMiB }),
	}
	if len(rs) > 0 {
		out.ListedItems = rs[len(rs)-1].ListedItems
	}
	return out
}

func write(results []*result) error {
	if err := os.MkdirAll(filepath.Dir(*mdOut), 0o755); err != nil {
		return err
	}
	j, err := json.MarshalIndent(map[string]any{"runs": *runs, "objects": *objects, "workers": *workers, "lists": *lists,
		"watch_events": *watchEvents, "results": results}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(*jsonOut, append(j, '\n'), 0o644); err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# minimal-apiserver on its storage backends\n\n")
	fmt.Fprintf(&b, "`make bench-storage`: minimal-apiserver built on the series tip, started with each `--storage`, median of %d interleaved runs.\n", *runs)
	fmt.Fprintf(&b, "Creates: %d ConfigMaps, then %d custom resources, %d client-go workers. LIST: the ConfigMaps of `default` (a consistent read, as clients do by default), median of %d. ", *objects, *objects, *workers, *lists)
	fmt.Fprintf(&b, "Watch: %d sequential ConfigMap creates, time from the create call to its ADDED event.\n\n", *watchEvents)
	b.WriteString("| --storage | what | start → /readyz (s) | RSS at ready (MiB) | ConfigMap creates/s | CR creates/s | LIST (ms, items) | watch p50 (ms) | watch p99 (ms) | RSS after load (MiB) |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range results {
		if r.Error != "" {
			fmt.Fprintf(&b, "| %s | %s | error: %s |||||||||\n", r.Backend, r.Description, r.Error)
			continue
		}
		m := r.Median
		fmt.Fprintf(&b, "| %s | %s | %.2f | %.0f | %.0f | %.0f | %.1f (%d) | %.1f | %.1f | %.0f |\n", r.Backend, r.Description,
			m.ReadySeconds, m.RSSReadyMiB, m.ConfigMapCreatesSec, m.CRCreatesSec, m.ListMillis, m.ListedItems, m.WatchP50Millis, m.WatchP99Millis, m.RSSLoadMiB)
	}
	return os.WriteFile(*mdOut, []byte(b.String()), 0o644)
}
