// Command bench-testserver measures testcontrolplane (in process, and out
// of process on minimal-apiserver) and envtest side by side: time to the
// first usable client, to later ones, CRD install to served, the cost of
// one controller test over a suite, and peak memory of 8 parallel
// instances. Each control plane is measured in a fresh child process.
//
//	bench-testserver -crds testdata -json out.json -md out.md
//
// envtest needs $KUBEBUILDER_ASSETS (kube-apiserver, etcd); the
// out-of-process mode needs $TESTCONTROLPLANE_SERVER. A mode whose
// binaries are missing is reported as skipped.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/generic-controlplane/gcp/testcontrolplane"
	"github.com/generic-controlplane/gcp/testcontrolplane/example"
)

// Result is one control plane's figures.
type Result struct {
	Mode            string  `json:"mode"`
	Skipped         string  `json:"skipped,omitempty"`
	FirstReadyMs    float64 `json:"first_ready_ms"`
	LaterReadyMs    float64 `json:"later_ready_ms"`
	CRDServedMs     float64 `json:"crd_served_ms"`
	PerTestMs       float64 `json:"per_test_ms"`
	BodyMs          float64 `json:"test_body_ms"`
	OverheadMs      float64 `json:"per_test_overhead_ms"`
	SuiteTests      int     `json:"suite_tests"`
	Peak8ParallelMB float64 `json:"peak_rss_8_parallel_mib"`
}

type plane struct {
	cfg  *rest.Config
	stop func() error
}

var modes = map[string]func(ctx context.Context, crds []*apiextensionsv1.CustomResourceDefinition) (plane, error){
	"testcontrolplane (in process)": func(ctx context.Context, crds []*apiextensionsv1.CustomResourceDefinition) (plane, error) {
		cp, err := testcontrolplane.New(ctx, testcontrolplane.Options{CRDs: crds})
		if err != nil {
			return plane{}, err
		}
		return plane{cp.Config, cp.Stop}, nil
	},
	"testcontrolplane (minimal-apiserver binary)": func(ctx context.Context, crds []*apiextensionsv1.CustomResourceDefinition) (plane, error) {
		cp, err := testcontrolplane.New(ctx, testcontrolplane.Options{CRDs: crds, BuiltinAPIs: []string{"namespaces", "configmaps", "secrets", "events", "leases"}})
		if err != nil {
			return plane{}, err
		}
		return plane{cp.Config, cp.Stop}, nil
	},
	"envtest": func(ctx context.Context, crds []*apiextensionsv1.CustomResourceDefinition) (plane, error) {
		env := &envtest.Environment{CRDs: deepCopies(crds)}
		cfg, err := env.Start()
		if err != nil {
			return plane{}, err
		}
		return plane{cfg, env.Stop}, nil
	},
}

var order = []string{"testcontrolplane (in process)", "testcontrolplane (minimal-apiserver binary)", "envtest"}

func main() {
	child := flag.String("child", "", "measure this mode in this process (internal)")
	crdDir := flag.String("crds", "testdata", "CRDs the suite installs")
	suite := flag.Int("suite", 20, "controller tests in the suite")
	jsonOut := flag.String("json", "", "write the results here")
	mdOut := flag.String("md", "", "write the table here")
	flag.Parse()

	ctrl.SetLogger(logr.Discard())
	crds, err := testcontrolplane.ReadCRDs(*crdDir)
	if err != nil {
		fail(err)
	}
	if *child != "" {
		r, err := measure(*child, crds, *suite)
		if err != nil {
			fail(fmt.Errorf("%s: %w", *child, err))
		}
		json.NewEncoder(os.Stdout).Encode(r)
		return
	}

	var results []Result
	for _, mode := range order {
		if why := missing(mode); why != "" {
			fmt.Fprintf(os.Stderr, "bench-testserver: %s skipped: %s\n", mode, why)
			results = append(results, Result{Mode: mode, Skipped: why})
			continue
		}
		fmt.Fprintf(os.Stderr, "bench-testserver: measuring %s ...\n", mode)
		cmd := exec.Command(os.Args[0], "-child", mode, "-crds", *crdDir, "-suite", strconv.Itoa(*suite))
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			fail(fmt.Errorf("%s: %w", mode, err))
		}
		var r Result
		if err := json.Unmarshal(lastLine(out), &r); err != nil {
			fail(fmt.Errorf("%s: %w in %q", mode, err, out))
		}
		results = append(results, r)
	}
	if *jsonOut != "" {
		data, _ := json.MarshalIndent(results, "", "  ")
		if err := os.WriteFile(*jsonOut, append(data, '\n'), 0o644); err != nil {
			fail(err)
		}
	}
	md := markdown(results, *suite)
	fmt.Print(md)
	if *mdOut != "" {
		if err := os.WriteFile(*mdOut, []byte(md), 0o644); err != nil {
			fail(err)
		}
	}
}

func missing(mode string) string {
	switch mode {
	case "envtest":
		if os.Getenv("KUBEBUILDER_ASSETS") == "" {
			return "$KUBEBUILDER_ASSETS is not set"
		}
	case "testcontrolplane (minimal-apiserver binary)":
		if os.Getenv(testcontrolplane.ServerEnv) == "" {
			return "$" + testcontrolplane.ServerEnv + " is not set"
		}
	}
	return ""
}

func measure(mode string, crds []*apiextensionsv1.CustomResourceDefinition, suite int) (Result, error) {
	start := modes[mode]
	ctx := context.Background()
	r := Result{Mode: mode, SuiteTests: suite}

	// First and later instances, to the first answered discovery call.
	var later []float64
	for i := range 6 {
		t0 := time.Now()
		p, err := start(ctx, nil)
		if err != nil {
			return r, err
		}
		if _, err := discovery.NewDiscoveryClientForConfigOrDie(p.cfg).ServerVersion(); err != nil {
			return r, err
		}
		ms := since(t0)
		if i == 0 {
			r.FirstReadyMs = ms
		} else {
			later = append(later, ms)
		}
		if i == 5 {
			// CRD install to served, on this running instance.
			var served []float64
			for j := range 5 {
				crd := crds[0].DeepCopy()
				crd.Spec.Group = fmt.Sprintf("g%d.example.com", j)
				crd.Name = crd.Spec.Names.Plural + "." + crd.Spec.Group
				t1 := time.Now()
				if _, err := envtest.InstallCRDs(p.cfg, envtest.CRDInstallOptions{CRDs: []*apiextensionsv1.CustomResourceDefinition{crd}}); err != nil {
					return r, err
				}
				served = append(served, since(t1))
			}
			r.CRDServedMs = median(served)
			// The test body alone, on this running instance.
			if _, err := envtest.InstallCRDs(p.cfg, envtest.CRDInstallOptions{CRDs: deepCopies(crds)}); err != nil {
				return r, err
			}
			var body []float64
			for range 3 {
				t1 := time.Now()
				if err := example.CheckWidgetController(ctx, p.cfg); err != nil {
					return r, err
				}
				body = append(body, since(t1))
			}
			r.BodyMs = median(body)
		}
		if err := p.stop(); err != nil {
			return r, err
		}
	}
	r.LaterReadyMs = median(later)

	// A suite of controller tests, each with its own control plane.
	t0 := time.Now()
	for range suite {
		p, err := start(ctx, crds)
		if err != nil {
			return r, err
		}
		if err := example.CheckWidgetController(ctx, p.cfg); err != nil {
			return r, err
		}
		if err := p.stop(); err != nil {
			return r, err
		}
	}
	r.PerTestMs = since(t0) / float64(suite)
	r.OverheadMs = r.PerTestMs - r.BodyMs

	// 8 instances at once; the peak RSS of this process and its children.
	peak := &peakRSS{}
	stopSampling := peak.sample()
	var wg sync.WaitGroup
	planes := make([]plane, 8)
	errs := make([]error, 8)
	for i := range planes {
		wg.Go(func() { planes[i], errs[i] = start(ctx, crds) })
	}
	wg.Wait()
	for i, p := range planes {
		if errs[i] != nil {
			return r, errs[i]
		}
		if err := example.CheckWidgetController(ctx, p.cfg); err != nil {
			return r, err
		}
	}
	r.Peak8ParallelMB = stopSampling()
	for _, p := range planes {
		if err := p.stop(); err != nil {
			return r, err
		}
	}
	return r, nil
}

// peakRSS samples the resident memory of this process and its
// descendants every 20 ms.
type peakRSS struct {
	peak int64 // written by the sampling goroutine, read after it stopped
}

func (p *peakRSS) sample() func() float64 {
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			if kb := treeRSSKiB(os.Getpid()); kb > p.peak {
				p.peak = kb
			}
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return func() float64 {
		close(done)
		<-stopped
		return float64(p.peak) / 1024
	}
}

func treeRSSKiB(root int) int64 {
	parents := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so split after ')'.
		fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(fields) > 1 {
			ppid, _ := strconv.Atoi(fields[1])
			parents[ppid] = append(parents[ppid], pid)
		}
	}
	var total int64
	queue := []int{root}
	for len(queue) > 0 {
		pid := queue[0]
		queue = append(queue[1:], parents[pid]...)
		status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(status), "\n") {
			if strings.HasPrefix(line, "VmRSS:") {
				kb, _ := strconv.ParseInt(strings.Fields(line)[1], 10, 64)
				total += kb
			}
		}
	}
	return total
}

func markdown(results []Result, suite int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Test control planes side by side\n\nGenerated by `make bench-testserver` (cmd `testcontrolplane/example/cmd/bench-testserver`); each control plane in a fresh process. "+
		"Ready: `New`/`Start` until a discovery call answers (first instance of the process, then the median of 5 later ones). "+
		"CRD served: `envtest.InstallCRDs` of one CRD on a running instance until its versions are in discovery (median of 5). "+
		"Per test: a suite of %d controller-runtime tests, each with its own control plane (start, CRD, manager, create a Widget, wait until reconciled, stop), total / %d. "+
		"Test body: the controller test alone on a running instance (median of 3); per-test overhead: per test minus test body. "+
		"Peak RSS: the test process and its children while 8 instances run the controller test at once.\n\n", suite, suite)
	fmt.Fprintln(&b, "| control plane | first ready (ms) | later ready (ms) | CRD served (ms) | per test (ms) | test body (ms) | per-test overhead (ms) | peak RSS, 8 parallel (MiB) |")
	fmt.Fprintln(&b, "|---|---|---|---|---|---|---|---|")
	for _, r := range results {
		if r.Skipped != "" {
			fmt.Fprintf(&b, "| %s | skipped: %s | | | | | | |\n", r.Mode, r.Skipped)
			continue
		}
		fmt.Fprintf(&b, "| %s | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f |\n", r.Mode, r.FirstReadyMs, r.LaterReadyMs, r.CRDServedMs, r.PerTestMs, r.BodyMs, r.OverheadMs, r.Peak8ParallelMB)
	}
	var base, env *Result
	for i := range results {
		switch results[i].Mode {
		case order[0]:
			base = &results[i]
		case "envtest":
			env = &results[i]
		}
	}
	if base != nil && env != nil && env.Skipped == "" && base.PerTestMs > 0 && base.OverheadMs > 0 {
		fmt.Fprintf(&b, "\nenvtest / testcontrolplane in process: per test %.1fx, per-test overhead %.1fx.\n",
			env.PerTestMs/base.PerTestMs, env.OverheadMs/base.OverheadMs)
	}
	return b.String()
}

func since(t time.Time) float64 { return float64(time.Since(t).Microseconds()) / 1000 }

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func lastLine(out []byte) []byte {
	lines := bytes.Split(bytes.TrimSpace(out), []byte("\n"))
	return lines[len(lines)-1]
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench-testserver:", err)
	os.Exit(1)
}

// deepCopies keeps crds as read: envtest.InstallCRDs writes the server's
// fields (resourceVersion, ...) back into the objects it is given.
func deepCopies(crds []*apiextensionsv1.CustomResourceDefinition) []*apiextensionsv1.CustomResourceDefinition {
	out := make([]*apiextensionsv1.CustomResourceDefinition, len(crds))
	for i, c := range crds {
		out[i] = c.DeepCopy()
	}
	return out
}
