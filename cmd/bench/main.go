// bench starts kube-apiserver (with an etcd it starts), the upstream generic
// sample (same etcd setup), our generic server (embedded etcd) and our
// CRD-only server side by side, and measures per run on a fresh data dir:
// start-to-/readyz, RSS at ready and after load, and create throughput
// (client-go, 8 workers, 2000 objects: ConfigMaps, or custom resources for
// the CRD-only server). Reports the median of -runs runs plus stripped binary
// sizes as Markdown and JSON.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/generic-controlplane/gcp/internal/loadgen"
	"github.com/generic-controlplane/gcp/internal/serverproc"
	"github.com/generic-controlplane/gcp/internal/stats"
	"github.com/generic-controlplane/gcp/scenario/upstream"
	"k8s.io/client-go/tools/clientcmd"
)

var (
	binDir  = flag.String("bin", "_output/bin", "directory with minimal-apiserver and example-crdonly")
	upDir   = flag.String("upstream-bin", "_output/bin/bench", "directory with kube-apiserver, sample-generic-apiserver and bench-etcd")
	runs    = flag.Int("runs", 5, "runs per server (median reported)")
	work    = flag.String("work", "_output/bench", "scratch directory")
	mdOut   = flag.String("md", "reports/bench.md", "Markdown output")
	jsonOut = flag.String("json", "reports/bench.json", "JSON output")
	objects = flag.Int("objects", 2000, "objects created per run")
	workers = flag.Int("workers", 8, "client-go workers")
	only    = flag.String("only", "", "comma-separated subset of servers")
	explain = explainFlag{}
)

func init() {
	flag.Var(explain, "explain", "BIN=DIR,ROOT[,BINARY[,GOFLAGS]]: for a server with an issue 11 target that misses its size, attribute the symbols of BINARY (default: the benchmarked one; it must have a symbol table) to the modules of ROOT's imports, listed in the module directory DIR (with GOFLAGS, e.g. a -modfile and -tags, if given), and show why ROOT links what it does not serve (repeatable)")
}

type run struct {
	ReadySeconds float64 `json:"ready_seconds"`
	RSSReadyMiB  float64 `json:"rss_ready_mib"`
	// RSSFileReadyMiB is the file-backed part of RSSReadyMiB: mostly the
	// server's own binary pages.
	RSSFileReadyMiB float64 `json:"rss_file_ready_mib"`
	RSSLoadMiB      float64 `json:"rss_after_load_mib"`
	EtcdRSSReadyMiB float64 `json:"etcd_rss_ready_mib,omitempty"`
	EtcdRSSLoadMiB  float64 `json:"etcd_rss_after_load_mib,omitempty"`
	CreatesPerSec   float64 `json:"creates_per_second"`
	Errors          int64   `json:"create_errors"`
}

type result struct {
	Server      string  `json:"server"`
	Binary      string  `json:"binary"`
	StrippedMiB float64 `json:"stripped_binary_mib"`
	Storage     string  `json:"storage"`
	Objects     string  `json:"objects"`
	Runs        []run   `json:"runs"`
	Median      run     `json:"median"`
	Error       string  `json:"error,omitempty"`
}

type serverSpec struct {
	name, bin, storage, objects string
	// upstream is the scenario/upstream kind of an upstream server (binary
	// in -upstream-bin, started on bench-etcd); "" for ours (binary in
	// -bin, embedded etcd).
	upstream string
	// optIn servers run only when -only names them: the kube-apiserver
	// builds `make prove` leaves behind, for the patched-vs-unpatched bench.
	optIn bool
}

const separateEtcd = "etcd (separate process)"

var specs = []serverSpec{
	{name: "kube-apiserver", bin: "kube-apiserver", storage: separateEtcd, objects: "ConfigMaps", upstream: upstream.KubeAPIServer},
	{name: "kube-apiserver v1.37.2 (prove baseline)", bin: "kube-apiserver-base", storage: separateEtcd, objects: "ConfigMaps", upstream: upstream.KubeAPIServer, optIn: true},
	{name: "kube-apiserver with the whole series", bin: "kube-apiserver-series", storage: separateEtcd, objects: "ConfigMaps", upstream: upstream.KubeAPIServer, optIn: true},
	{name: "generic sample with the whole series", bin: "generic-sample-series", storage: separateEtcd, objects: "ConfigMaps", upstream: upstream.GenericSample, optIn: true},
	{name: "minimal generic sample with the whole series (core, RBAC, CRDs, APIServices)", bin: "minimal-sample-series", storage: separateEtcd, objects: "ConfigMaps", upstream: upstream.GenericSample, optIn: true},
	{name: "kube sample with the whole series (kube-apiserver's resources on the sample library)", bin: "kube-sample-series", storage: separateEtcd, objects: "ConfigMaps", upstream: upstream.GenericSample, optIn: true},
	{name: "workloads sample with the whole series (pods, nodes, apps, batch as data; no services or kubelets)", bin: "workloads-sample-series", storage: separateEtcd, objects: "ConfigMaps", upstream: upstream.GenericSample, optIn: true},
	{name: "minimal-apiserver on the series tip (ours, on the sample library)", bin: "minimal-apiserver-series", storage: "embedded etcd", objects: "ConfigMaps", optIn: true},
	{name: "generic-sample (upstream)", bin: "sample-generic-apiserver", storage: separateEtcd, objects: "ConfigMaps", upstream: upstream.GenericSample},
	{name: "minimal-apiserver (ours)", bin: "minimal-apiserver", storage: "embedded etcd", objects: "ConfigMaps"},
	{name: "crd-only (ours)", bin: "example-crdonly", storage: "embedded etcd", objects: "custom resources"},
}

func main() {
	flag.Parse()
	// Runs are interleaved (run i of every server before run i+1 of any),
	// so a slow phase of a shared machine hits every server alike.
	var (
		selected []serverSpec
		results  []*result
		bins     []string
	)
	for _, s := range specs {
		named := strings.Contains(","+*only+",", ","+s.bin+",")
		if (*only != "" && !named) || (s.optIn && !named) {
			continue
		}
		r := &result{Server: s.name, Binary: s.bin, Storage: s.storage, Objects: s.objects}
		bin := filepath.Join(*binDir, s.bin)
		if s.upstream != "" {
			bin = filepath.Join(*upDir, s.bin)
		}
		if mib, err := strippedSize(bin); err != nil {
			r.Error = err.Error()
		} else {
			r.StrippedMiB = mib
		}
		selected, results, bins = append(selected, s), append(results, r), append(bins, bin)
	}
	for i := 0; i < *runs; i++ {
		for j, s := range selected {
			r := results[j]
			if r.Error != "" {
				continue
			}
			one, err := measure(s, bins[j], filepath.Join(*work, fmt.Sprintf("%s-%d", s.bin, i)))
			if err != nil {
				r.Error = fmt.Sprintf("run %d: %v", i, err)
				fmt.Fprintf(os.Stderr, "%s: %v\n", s.name, err)
				continue
			}
			fmt.Printf("%s run %d: %+v\n", s.name, i, one)
			r.Runs = append(r.Runs, one)
		}
	}
	out := make([]result, 0, len(results))
	binOf := map[string]string{}
	for i, r := range results {
		r.Median = medianRun(r.Runs)
		out = append(out, *r)
		binOf[r.Binary] = bins[i]
	}
	if err := write(out, checkGoals(context.Background(), out, binOf, explain)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func strippedSize(bin string) (float64, error) {
	tmp, err := os.CreateTemp("", "stripped-*")
	if err != nil {
		return 0, err
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	if out, err := exec.Command("strip", "-o", tmp.Name(), bin).CombinedOutput(); err != nil {
		return 0, fmt.Errorf("strip %s: %v %s", bin, err, out)
	}
	st, err := os.Stat(tmp.Name())
	if err != nil {
		return 0, err
	}
	return float64(st.Size()) / (1 << 20), nil
}

// mib is p's resident set size in MiB, 0 if it cannot be read.
func mib(p *serverproc.Process) float64 {
	b, err := p.RSSBytes()
	if err != nil {
		return 0
	}
	return float64(b) / (1 << 20)
}

// measure starts the server on a fresh data dir, then loads it.
func measure(s serverSpec, bin, dir string) (run, error) {
	var r run
	_ = os.RemoveAll(dir)
	ctx := context.Background()
	var (
		api  *serverproc.Server
		etcd *serverproc.Etcd
	)
	if s.upstream != "" {
		u, err := upstream.Start(ctx, s.upstream, bin, filepath.Join(*upDir, "bench-etcd"), dir)
		if err != nil {
			return r, err
		}
		defer u.Stop()
		api, etcd, r.ReadySeconds = u.API, u.Etcd, u.StartToReady.Seconds()
	} else {
		srv, err := serverproc.StartMinimal(ctx, serverproc.Minimal{Binary: bin, DataDir: dir})
		if err != nil {
			return r, err
		}
		defer srv.Stop()
		api, r.ReadySeconds = srv, srv.StartToReady.Seconds()
	}
	r.RSSReadyMiB = mib(api.Process)
	if b, err := api.Process.RSSFileBytes(); err == nil {
		r.RSSFileReadyMiB = float64(b) / (1 << 20)
	}
	if etcd != nil {
		r.EtcdRSSReadyMiB = mib(etcd.Process)
	}
	rate, errs, err := load(api.Kubeconfig, s.objects == "custom resources")
	if err != nil {
		return r, err
	}
	r.CreatesPerSec, r.Errors = rate, errs
	r.RSSLoadMiB = mib(api.Process)
	if etcd != nil {
		r.EtcdRSSLoadMiB = mib(etcd.Process)
	}
	return r, nil
}

// load creates *objects objects with *workers client-go workers and returns creates/s.
func load(kc string, crs bool) (float64, int64, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kc)
	if err != nil {
		return 0, 0, err
	}
	kind, prefix := loadgen.ConfigMaps, "cm"
	if crs {
		kind, prefix = loadgen.CustomResources, "item"
	}
	rate, err := loadgen.Creates(context.Background(), cfg, kind, prefix, *objects, *workers)
	return rate, 0, err
}

// medianRun is the median of every figure, each taken on its own.
func medianRun(rs []run) run {
	m := func(get func(run) float64) float64 { return stats.MedianBy(rs, get) }
	return run{
		ReadySeconds:    m(func(r run) float64 { return r.ReadySeconds }),
		RSSReadyMiB:     m(func(r run) float64 { return r.RSSReadyMiB }),
		RSSFileReadyMiB: m(func(r run) float64 { return r.RSSFileReadyMiB }),
		RSSLoadMiB:      m(func(r run) float64 { return r.RSSLoadMiB }),
		EtcdRSSReadyMiB: m(func(r run) float64 { return r.EtcdRSSReadyMiB }),
		EtcdRSSLoadMiB:  m(func(r run) float64 { return r.EtcdRSSLoadMiB }),
		CreatesPerSec:   m(func(r run) float64 { return r.CreatesPerSec }),
	}
}

func write(results []result, goals []goalResult) error {
	if err := os.MkdirAll(filepath.Dir(*mdOut), 0o755); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(map[string]any{"runs": *runs, "objects": *objects, "workers": *workers,
		"date": time.Now().UTC().Format(time.RFC3339), "results": results, "goals": goals}, "", "  ")
	if err := os.WriteFile(*jsonOut, append(b, '\n'), 0o644); err != nil {
		return err
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "# Benchmark: generic control plane servers side by side\n\n")
	fmt.Fprintf(&sb, "Median of %d interleaved runs (run i of every server before run i+1 of any), each on a fresh data dir, on this machine (%s). Start-to-/readyz counts from the first process launch (etcd for the upstream servers) to the first authenticated 200 from /readyz. Load: client-go, %d workers, %d creates. RSS is VmRSS of the API server process; for servers with a separate etcd its RSS is listed in parentheses.\n\n",
		*runs, time.Now().UTC().Format("2006-01-02"), *workers, *objects)
	sb.WriteString("| server | storage | stripped binary (MiB) | start to /readyz (s) | RSS at ready (MiB) | RSS after load (MiB) | creates/s | objects |\n|---|---|---|---|---|---|---|---|\n")
	for _, r := range results {
		if r.Error != "" && len(r.Runs) == 0 {
			fmt.Fprintf(&sb, "| %s | %s | %.1f | error: %s | | | | |\n", r.Server, r.Storage, r.StrippedMiB, r.Error)
			continue
		}
		m := r.Median
		etcd := func(v float64) string {
			if v == 0 {
				return ""
			}
			return fmt.Sprintf(" (+%.0f etcd)", v)
		}
		fmt.Fprintf(&sb, "| %s | %s | %.1f | %.2f | %.0f%s | %.0f%s | %.0f | %s |\n", r.Server, r.Storage, r.StrippedMiB, m.ReadySeconds,
			m.RSSReadyMiB, etcd(m.EtcdRSSReadyMiB), m.RSSLoadMiB, etcd(m.EtcdRSSLoadMiB), m.CreatesPerSec, r.Objects)
	}
	for _, r := range results {
		if r.Error != "" {
			fmt.Fprintf(&sb, "\n- %s: %s\n", r.Server, r.Error)
		}
	}
	writeGoals(&sb, goals)
	return os.WriteFile(*mdOut, []byte(sb.String()), 0o644)
}
