package prove

import (
	"context"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/generic-controlplane/gcp/analysis/depgraph"
	"github.com/generic-controlplane/gcp/internal/etcdrun"
	"github.com/generic-controlplane/gcp/internal/gitx"
	"github.com/generic-controlplane/gcp/internal/serverproc"
	"github.com/generic-controlplane/gcp/scenario"
)

// Step is the evidence for the baseline (Index 0) or one prefix of the series.
type Step struct {
	Index      int     `json:"index"`
	Patch      string  `json:"patch,omitempty"`
	Subject    string  `json:"subject"`
	Applies    bool    `json:"applies"`
	ApplyError string  `json:"applyError,omitempty"`
	Builds     bool    `json:"builds"`
	BuildError string  `json:"buildError,omitempty"`
	Seconds    float64 `json:"seconds"`
	// Phases is the seconds each phase of the step took.
	Phases map[string]float64 `json:"phases,omitempty"`

	Tests    TestResult      `json:"tests"`
	Scenario *ScenarioResult `json:"scenario,omitempty"`

	// KubePackages counts k8s.io/kubernetes packages linked per root.
	KubePackages map[string]int `json:"kubePackages"`
	// SampleDiff is the generic sample's depgraph diff against the previous
	// prefix.
	SampleDiff *DiffSummary `json:"sampleDiff,omitempty"`
	// StrippedBytes is the size of each binary built with -ldflags=-s -w.
	StrippedBytes map[string]int64 `json:"strippedBytes"`

	// FlagsSame: kube-apiserver --help prints what the baseline printed.
	FlagsSame *bool  `json:"flagsSame,omitempty"`
	FlagsDiff string `json:"flagsDiff,omitempty"`
	// ServedSame: kube-apiserver's discovery lists what the baseline's did.
	ServedSame *bool  `json:"servedSame,omitempty"`
	ServedDiff string `json:"servedDiff,omitempty"`

	Sample  *Runtime `json:"sample,omitempty"`
	KubeAPI *Runtime `json:"kubeAPIServer,omitempty"`
	// MinimalSample is the run of MinimalSample, at prefixes that have it.
	MinimalSample *Runtime `json:"minimalSample,omitempty"`
	// KubeSample is the run of KubeSample, at prefixes that have it; its
	// Error says how its discovery differs from kube-apiserver's.
	KubeSample *Runtime `json:"kubeSample,omitempty"`
	// KubeSampleEveryAPI is how many resources kube-apiserver and the kube
	// sample both served with every API and feature on (everyAPIArgs).
	KubeSampleEveryAPI int `json:"kubeSampleEveryAPI,omitempty"`
	// WorkloadsSample is the run of WorkloadsSample, at prefixes that have
	// it: pods, nodes, apps and batch as data, without services or kubelets.
	WorkloadsSample *Runtime `json:"workloadsSample,omitempty"`
	// NativeSample and NativeScenario: the generic sample on this
	// repository's native storage backend, measured at the tip only.
	NativeSample   *Runtime        `json:"nativeSample,omitempty"`
	NativeScenario *ScenarioResult `json:"nativeScenario,omitempty"`
	// LibraryExample is the run of LibraryExamplePackage at the tip.
	LibraryExample *Runtime `json:"libraryExample,omitempty"`
	// LibraryScenario is the scenario on it.
	LibraryScenario *ScenarioResult `json:"libraryScenario,omitempty"`

	// Declared is what the patch's commit message says it changes for
	// kube-apiserver users (nil for the baseline).
	Declared *Declaration `json:"declared,omitempty"`
	// Surface is kube-apiserver as a reviewer sees it, but --help, which
	// is too long for the JSON (FlagsDiff and Aspects show its changes).
	Surface Surface `json:"kubeAPIServerSurface,omitempty"`
	// Aspects compares each aspect of the surface, --help included, with
	// the previous prefix and the baseline.
	Aspects []AspectCheck `json:"aspects,omitempty"`
	// Integration is k/k's integration tests run in the prefix tree.
	Integration []IntegrationRun `json:"integration,omitempty"`
	// Static is gofmt, license headers and import-boss on what the series
	// touched so far.
	Static *StaticResult `json:"static,omitempty"`

	Problems []string `json:"problems,omitempty"`

	flags string
}

// view is the whole measured surface, --help included.
func (s *Step) view() Surface {
	v := Surface{}
	for k, lines := range s.Surface {
		v[k] = lines
	}
	if s.flags != "" {
		v[AspectFlags] = strings.Split(strings.TrimRight(s.flags, "\n"), "\n")
	}
	return v
}

// TestResult is the k/k unit tests of the packages the series touched so far.
type TestResult struct {
	Packages []string `json:"packages"`
	Failed   []string `json:"failed,omitempty"`
	Passed   bool     `json:"passed"`
	Output   string   `json:"output,omitempty"` // tail of go test output on failure
	// TypeCheckedOnly: the patch touched more than wideTestPackages
	// packages, so at its prefix they were type-checked (go vet, tests
	// included) and their tests ran at the tip.
	TypeCheckedOnly bool `json:"typeCheckedOnly,omitempty"`
}

// wideTestPackages is how many packages a patch may touch and still have
// their tests run at its own prefix. A wider patch (the per-group printers
// touch 86 packages) costs minutes of test binaries with an empty build
// cache, and the tip tests every package the series touched anyway: at its
// prefix `go vet` type-checks them, tests included, without linking.
const wideTestPackages = 20

// goTestVetChecks are the checks go test runs with go vet (the list in
// cmd/go/internal/test of Go 1.26): a type-checked prefix is held to what
// its tests would have been, not to vet checks k/k does not run.
var goTestVetChecks = []string{"-atomic", "-bool", "-buildtags", "-directive", "-errorsas", "-ifaceassert",
	"-nilfunc", "-printf", "-slog", "-stringintconv", "-tests"}

// Runtime is what a started server measured.
type Runtime struct {
	StartToReadySeconds float64 `json:"startToReadySeconds"`
	RSSBytes            int64   `json:"rssBytes"`
	Resources           int     `json:"resources"`
	Error               string  `json:"error,omitempty"`
	// Observe lists the parts of the surface that could not be measured;
	// ObserveSeconds is what measuring the surface took (etcd keys settling
	// included).
	Observe        []string `json:"observe,omitempty"`
	ObserveSeconds float64  `json:"observeSeconds,omitempty"`
}

// DiffSummary is the part of a depgraph diff the report keeps.
type DiffSummary struct {
	Added    []string `json:"added"`
	Removed  []string `json:"removed"`
	Markdown string   `json:"-"`
}

// Green reports whether the step proved what it must. Differences from the
// baseline (FlagsSame, ServedSame) are not failures by themselves: each
// difference is judged once, at the patch that made it, against that
// patch's declaration, and an undeclared one is among Problems.
func (s *Step) Green() bool {
	return s.Applies && s.Builds && s.Tests.Passed && len(s.Problems) == 0
}

// failures lists why the step is not green; nil when it is.
func (s *Step) failures() []string {
	var why []string
	switch {
	case !s.Applies:
		why = append(why, "does not apply: "+firstLine(strings.TrimSpace(s.ApplyError)))
	case !s.Builds:
		why = append(why, "does not build: "+firstLine(strings.TrimSpace(s.BuildError)))
	case !s.Tests.Passed:
		if len(s.Tests.Failed) > 0 {
			what := "unit tests fail in "
			if s.Tests.TypeCheckedOnly {
				what = "go vet fails in "
			}
			why = append(why, what+strings.Join(s.Tests.Failed, ", "))
		} else {
			why = append(why, "unit tests fail: "+tailLines(s.Tests.Output, 1))
		}
	}
	return append(why, s.Problems...)
}

// Summary is the one-line progress report of a step.
func (s *Step) Summary() string {
	if !s.Applies {
		return "does not apply"
	}
	if !s.Builds {
		return "does not build"
	}
	parts := []string{fmt.Sprintf("sample links %d k/k packages, kube-apiserver %d", s.KubePackages[GenericSample], s.KubePackages[KubeAPIServer])}
	if len(s.Tests.Packages) > 0 {
		what := "tests"
		if s.Tests.TypeCheckedOnly {
			what = "go vet"
		}
		parts = append(parts, fmt.Sprintf("%s %s (%d packages)", what, passFail(s.Tests.Passed), len(s.Tests.Packages)))
	}
	if s.Scenario != nil {
		parts = append(parts, fmt.Sprintf("scenario %d/%d", s.Scenario.Passed, s.Scenario.Total))
	}
	if s.NativeScenario != nil {
		parts = append(parts, fmt.Sprintf("on the native backend %d/%d", s.NativeScenario.Passed, s.NativeScenario.Total))
	}
	if n := len(s.Integration); n > 0 {
		passed := 0
		for _, run := range s.Integration {
			if len(run.Blamed()) == 0 {
				passed++
			}
		}
		parts = append(parts, fmt.Sprintf("integration %d/%d", passed, n))
	}
	if len(s.Problems) > 0 {
		parts = append(parts, fmt.Sprintf("%d problems", len(s.Problems)))
	}
	return strings.Join(parts, ", ")
}

func passFail(ok bool) string {
	if ok {
		return "pass"
	}
	return "FAIL"
}

func (r *runner) problem(s *Step, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	s.Problems = append(s.Problems, msg)
	r.logf("problem: %s", msg)
}

// evaluate fills a step whose patches applied; tip is the last step.
func (r *runner) evaluate(ctx context.Context, s *Step, tip bool) {
	if s.Index == 0 && r.etcdProblem != "" {
		r.problem(s, "integration tests: %s", r.etcdProblem)
	}
	bin := filepath.Join(r.cfg.Work, "bin", fmt.Sprint(s.Index))
	r.logf("building kube-apiserver and the generic sample (stripped, -trimpath)")
	start := time.Now()
	// kubectl is the scenario's client, not what is proven: build it once,
	// at the baseline, so every prefix's server meets the same client (and
	// later steps save a link of kubectl).
	roots := r.roots()
	kubectl := r.cfg.KubectlBinary
	if kubectl == "" {
		kubectl = filepath.Join(r.cfg.Work, "bin", "0", "kubectl")
		if s.Index == 0 {
			roots = append(roots, Kubectl)
		}
	}
	if out, err := r.goCmd(ctx, append([]string{"build", "-ldflags=-s -w", "-o", bin + "/"}, roots...)...); err != nil {
		s.BuildError = tailLines(out, 30)
		r.logf("build failed:\n%s", s.BuildError)
		s.Tests.Passed = false
		return
	}
	s.Builds = true
	r.logf("built in %s", time.Since(start).Round(time.Second))
	binaries := map[string]string{KubeAPIServer: filepath.Join(bin, "kube-apiserver"), GenericSample: filepath.Join(bin, "generic"),
		MinimalSample: filepath.Join(bin, "minimal"), KubeSample: filepath.Join(bin, "kube"), WorkloadsSample: filepath.Join(bin, "workloads"), Kubectl: kubectl}
	s.StrippedBytes = map[string]int64{}
	for _, root := range r.roots() {
		if fi, err := os.Stat(binaries[root]); err == nil {
			s.StrippedBytes[root] = fi.Size()
		}
	}

	s.timed("build", start)
	r.phase(s, "depgraph", func() { r.coupling(ctx, s) })
	r.phase(s, "unit tests", func() { r.kubeTests(ctx, s, tip) })
	if r.cfg.Static {
		r.phase(s, "static", func() { r.static(ctx, s) })
	}
	r.phase(s, "--help", func() { r.flags(ctx, s, binaries[KubeAPIServer]) })
	if r.cfg.Runtime {
		r.phase(s, "servers", func() { r.runtime(ctx, s, binaries, r.scenarioSteps(s, tip)) })
	}
	if tip && r.cfg.Runtime && r.cfg.Scenario {
		if hasStorageRegistry(r.tree) {
			r.phase(s, "native sample", func() { r.nativeSample(ctx, s, binaries) })
		} else {
			// A proof cut short with --upto ends before the registry.
			r.logf("native sample: skipped, this prefix has no storage backend registry (%s)", storageRegistryFile)
		}
	}
	r.judgeSurface(s)
	if s.Index == 0 {
		// Set before the integration tests: the baseline's failures are
		// its own, reported but not blamed.
		r.base = s
	}
	r.phase(s, "integration", func() { r.integration(ctx, s, tip) })
	if s.Index > 0 && r.prev != nil && r.prev.Index > 0 {
		// Keep the baseline's binaries and the current ones only.
		os.RemoveAll(filepath.Join(r.cfg.Work, "bin", fmt.Sprint(r.prev.Index)))
	}
	r.prev = s
}

// phase runs f and records how long it took: the cost of each check per
// prefix is part of the evidence (the proof has a time budget).
func (r *runner) phase(s *Step, name string, f func()) {
	start := time.Now()
	f()
	s.timed(name, start)
}

func (s *Step) timed(name string, start time.Time) {
	if s.Phases == nil {
		s.Phases = map[string]float64{}
	}
	s.Phases[name] = math.Round(time.Since(start).Seconds()*10) / 10
}

// coupling loads the import graph of each root and diffs the sample's with
// the previous prefix.
func (r *runner) coupling(ctx context.Context, s *Step) {
	s.KubePackages = map[string]int{}
	graphs := map[string]*depgraph.Graph{}
	for _, root := range r.roots() {
		g, err := depgraph.Load(ctx, depgraph.Options{Dir: r.tree, Roots: []string{root}, Env: r.env})
		if err != nil {
			r.problem(s, "depgraph %s: %v", root, err)
			continue
		}
		graphs[root] = g
		s.KubePackages[root] = kubePackages(g)
	}
	if g, err := r.crdOnlyGraph(ctx); err != nil {
		r.problem(s, "depgraph %s: %v", CRDOnlyServer, err)
	} else {
		s.KubePackages[CRDOnlyServer] = kubePackages(g)
	}
	if prev, cur := r.graphs[GenericSample], graphs[GenericSample]; prev != nil && cur != nil {
		rep := depgraph.Diff(prev, cur)
		d := &DiffSummary{Added: refs(rep.Added), Removed: refs(rep.Removed)}
		var b strings.Builder
		if err := rep.WriteMarkdown(&b); err == nil {
			d.Markdown = b.String()
		}
		s.SampleDiff = d
	}
	r.graphs = graphs
}

func kubePackages(g *depgraph.Graph) int {
	n := 0
	for _, p := range g.Packages {
		if p.Path == "k8s.io/kubernetes" || strings.HasPrefix(p.Path, "k8s.io/kubernetes/") {
			n++
		}
	}
	return n
}

func refs(rs []depgraph.PackageRef) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.Path)
	}
	return out
}

var testResultRE = regexp.MustCompile(`(?m)^(?:--- )?FAIL:?\s+(\S+)`)

// vetResultRE matches the package header go vet prints above its findings
// and type errors ("# k8s.io/kubernetes/pkg/a" or, for a test variant,
// "# k8s.io/kubernetes/pkg/a [k8s.io/kubernetes/pkg/a.test]").
var vetResultRE = regexp.MustCompile(`(?m)^# (\S+)`)

// kubeTests runs go test on the packages this patch touched and, at the
// last step (or at every step when asked), on every package the series has
// touched, but integration and e2e test packages. Running the whole touched
// set at every prefix rebuilt and reran the test binaries of packages that
// depend on what each patch changed (pkg/controlplane/apiserver at nearly
// every step): about a minute a step with an empty build cache. A package an
// earlier patch touched and a later one breaks is still caught, at the tip.
func (r *runner) kubeTests(ctx context.Context, s *Step, tip bool) {
	if s.Index == 0 {
		s.Tests.Passed = true
		return
	}
	since := "HEAD~1"
	if tip || r.cfg.AllTestsEveryPrefix {
		since = r.s.Base
	}
	pkgs, err := touchedPackages(ctx, r.tree, since)
	if err != nil {
		r.problem(s, "listing touched packages: %v", err)
		return
	}
	s.Tests.Packages = pkgs
	if len(pkgs) == 0 {
		s.Tests.Passed = true
		return
	}
	args := []string{"test", "-timeout=15m"}
	if !tip && !r.cfg.AllTestsEveryPrefix && len(pkgs) > wideTestPackages {
		s.Tests.TypeCheckedOnly = true
		args = append([]string{"vet"}, goTestVetChecks...)
		r.logf("go vet %d packages this patch touched (more than %d: their tests run at the tip)", len(pkgs), wideTestPackages)
	} else {
		r.logf("go test %d packages the series touched", len(pkgs))
	}
	// No -count=1: go test reuses a package's result only when its test
	// binary and the files and environment it read are the same, so a
	// package the series touched earlier is run again exactly when this
	// patch changed it or something it depends on.
	out, err := r.goCmd(ctx, append(args, pkgs...)...)
	s.Tests.Passed = err == nil
	if err != nil {
		seen := map[string]bool{}
		re := testResultRE
		if s.Tests.TypeCheckedOnly {
			re = vetResultRE
		}
		for _, m := range re.FindAllStringSubmatch(out, -1) {
			if strings.Contains(m[1], "/") && !seen[m[1]] {
				seen[m[1]] = true
				s.Tests.Failed = append(s.Tests.Failed, m[1])
			}
		}
		s.Tests.Output = tailLines(out, 40)
		r.logf("tests failed in %v", s.Tests.Failed)
	}
}

// touchedPackages maps the Go files changed between base and HEAD to the
// package directories that still hold Go files, as ./relative patterns.
func touchedPackages(ctx context.Context, tree, base string) ([]string, error) {
	out, err := gitx.Repo{Dir: tree}.Run(ctx, "diff", "--name-only", base+"..HEAD", "--", "*.go")
	if err != nil {
		return nil, err
	}
	dirs := map[string]bool{}
	for _, f := range strings.Fields(out) {
		dir := filepath.Dir(f)
		// Integration and e2e tests need a running etcd or cluster; the
		// integration suites run them.
		if strings.Contains("/"+dir+"/", "/testdata/") || strings.HasPrefix(dir, "vendor/") ||
			strings.HasPrefix(dir, "test/integration/") || strings.HasPrefix(dir, "test/e2e") {
			continue
		}
		if matches, _ := filepath.Glob(filepath.Join(tree, dir, "*.go")); len(matches) > 0 {
			dirs["./"+dir] = true
		}
	}
	pkgs := make([]string, 0, len(dirs))
	for d := range dirs {
		pkgs = append(pkgs, d)
	}
	sort.Strings(pkgs)
	return pkgs, nil
}

// flags compares kube-apiserver's flag set with the baseline's.
func (r *runner) flags(ctx context.Context, s *Step, binary string) {
	help, err := serverproc.Help(ctx, binary)
	if err != nil {
		r.problem(s, "kube-apiserver --help: %v", err)
		return
	}
	s.flags = help
	if r.base == nil || s.Index == 0 {
		return
	}
	same := help == r.base.flags
	s.FlagsSame = &same
	if !same {
		s.FlagsDiff = cmp.Diff(strings.Split(r.base.flags, "\n"), strings.Split(help, "\n"))
	}
}

// judgeSurface compares kube-apiserver's surface with the last measured
// prefix and the patch's declaration (CompareSurface) and remembers it.
func (r *runner) judgeSurface(s *Step) {
	cur := s.view()
	if s.Index == 0 {
		r.baseSurface = cur
	}
	for _, p := range CompareSurface(s, cur, r.last, r.baseSurface) {
		r.logf("problem: %s", p)
	}
	r.last.record(s.Index, cur)
}

// runtime starts each binary on a fresh embedded etcd: start-to-ready, RSS
// at ready and what discovery serves; kube-apiserver's served resources are
// compared with the baseline's.
func (r *runner) runtime(ctx context.Context, s *Step, binaries map[string]string, steps []string) {
	dir := filepath.Join(r.cfg.Work, "run", fmt.Sprint(s.Index))
	os.RemoveAll(dir)
	defer os.RemoveAll(dir)
	// kube-apiserver's discovery, for the sample that serves the same
	var kubeServed, kubeGroups []string
	for _, root := range []string{KubeAPIServer, GenericSample} {
		var after func(srv *serverproc.Server, dir, etcd string)
		var args []string
		if root == KubeAPIServer && r.hasKubeSample() {
			after = func(srv *serverproc.Server, _, _ string) {
				var err error
				if kubeGroups, err = discoveryGroups(srv); err != nil {
					r.problem(s, "kube-apiserver: discovery: %v", err)
				}
			}
		}
		if root == GenericSample && r.cfg.Scenario {
			args, after = r.sampleScenario(ctx, binaries, scenarioRun{server: "upstream generic sample built from this prefix", steps: steps, record: func(res *ScenarioResult) {
				s.Scenario = res
				r.compareScenarioWithBaseline(s)
			}})
		}
		rt, surface := r.runOne(ctx, filepath.Join(dir, filepath.Base(binaries[root])), binaries[root], args, root == KubeAPIServer, after)
		if root == GenericSample {
			s.Sample = rt
			continue
		}
		s.KubeAPI = rt
		if rt.Error != "" {
			r.problem(s, "kube-apiserver: %s", rt.Error)
			continue
		}
		for _, e := range rt.Observe {
			r.problem(s, "kube-apiserver: not measured: %s", e)
		}
		s.Surface = surface
		kubeServed = surface[AspectServed]
		if r.base != nil && s.Index > 0 && r.base.Surface[AspectServed] != nil {
			same := cmp.Equal(r.base.Surface[AspectServed], surface[AspectServed])
			s.ServedSame = &same
			if !same {
				s.ServedDiff = cmp.Diff(r.base.Surface[AspectServed], surface[AspectServed])
			}
		}
	}
	if s.Sample != nil && s.Sample.Error != "" {
		r.problem(s, "generic sample: %s", s.Sample.Error)
	}
	if r.hasMinimalSample() {
		s.MinimalSample = r.runSample(ctx, s, "minimal sample", filepath.Join(dir, "minimal"), binaries[MinimalSample], checkMinimalSample, nil)
	}
	if r.hasKubeSample() {
		s.KubeSample = r.runSample(ctx, s, "kube sample", filepath.Join(dir, "kube"), binaries[KubeSample], func(ctx context.Context, srv *serverproc.Server) error {
			if kubeServed == nil || kubeGroups == nil {
				return fmt.Errorf("not compared: kube-apiserver's discovery was not measured")
			}
			return checkKubeSample(ctx, srv, kubeGroups)
		}, func(served []string) error { return checkKubeSampleServed(kubeServed, served) })
		if s.KubeSample.Error == "" {
			var problem string
			if s.KubeSampleEveryAPI, problem = r.kubeSampleEveryAPI(ctx, dir, binaries); problem != "" {
				s.KubeSample.Error = problem
				r.problem(s, "kube sample: %s", problem)
			}
		}
	}
	if r.hasWorkloadsSample() {
		s.WorkloadsSample = r.runSample(ctx, s, "workloads sample", filepath.Join(dir, "workloads"), binaries[WorkloadsSample], checkWorkloadsObjects, checkWorkloadsServed)
	}
}

// runSample runs a sample of this prefix on its own etcd and checks it:
// during while it runs, then served (if set) on the resources its
// discovery listed. The first failing check is the run's error, and a
// problem of s under name.
func (r *runner) runSample(ctx context.Context, s *Step, name, dir, binary string, during func(context.Context, *serverproc.Server) error, served func([]string) error) *Runtime {
	var check error
	rt, surface := r.runOne(ctx, dir, binary, nil, false, func(srv *serverproc.Server, _, _ string) {
		check = during(ctx, srv)
	})
	if rt.Error == "" && check == nil && served != nil {
		check = served(surface[AspectServed])
	}
	if rt.Error == "" && check != nil {
		rt.Error = check.Error()
	}
	if rt.Error != "" {
		r.problem(s, "%s: %s", name, rt.Error)
	}
	return rt
}

// roots are the k/k binaries built and measured at this prefix.
func (r *runner) roots() []string {
	roots := []string{KubeAPIServer, GenericSample}
	for _, sample := range []string{MinimalSample, KubeSample, WorkloadsSample} {
		if r.hasRoot(sample) {
			roots = append(roots, sample)
		}
	}
	return roots
}

// hasRoot reports whether the prefix tree has the package root (the samples
// come with the patches that add them).
func (r *runner) hasRoot(root string) bool {
	_, err := os.Stat(filepath.Join(r.tree, root))
	return err == nil
}

// hasKubeSample reports whether the prefix tree has KubeSample.
func (r *runner) hasKubeSample() bool { return r.hasRoot(KubeSample) }

// hasMinimalSample reports whether the prefix tree has MinimalSample.
func (r *runner) hasMinimalSample() bool { return r.hasRoot(MinimalSample) }

// runOne starts binary on a fresh etcd and measures it. With observe (for
// kube-apiserver) it records the whole surface a reviewer looks at;
// otherwise only what discovery serves.
func (r *runner) runOne(ctx context.Context, dir, binary string, args []string, observe bool, after func(srv *serverproc.Server, dir, etcd string)) (*Runtime, Surface) {
	rt := &Runtime{}
	e, err := etcdrun.Start(dir, "prove")
	if err != nil {
		rt.Error = err.Error()
		return rt, nil
	}
	defer e.Stop()
	r.logf("starting %s", filepath.Base(binary))
	srv, err := serverproc.StartAPIServer(ctx, serverproc.APIServer{Binary: binary, Dir: dir, EtcdServers: e.Endpoint, Args: args})
	if err != nil {
		rt.Error = err.Error()
		return rt, nil
	}
	defer srv.Stop()
	rt.StartToReadySeconds = srv.StartToReady.Seconds()
	rt.RSSBytes, _ = srv.RSSBytes()
	served, err := srv.Resources()
	if err != nil {
		rt.Error = "discovery: " + err.Error()
		return rt, nil
	}
	rt.Resources = len(served)
	surface := Surface{AspectServed: served}
	if observe {
		start := time.Now()
		more, errs := observeSurface(ctx, srv, e.Endpoint)
		rt.ObserveSeconds = time.Since(start).Seconds()
		for k, v := range more {
			surface[k] = v
		}
		for _, err := range errs {
			rt.Observe = append(rt.Observe, err.Error())
		}
	}
	if after != nil {
		after(srv, dir, e.Endpoint)
	}
	return rt, surface
}

// scenarioRun says against which server sampleScenario runs the scenario
// and what becomes of the result.
type scenarioRun struct {
	// server names the server in the log.
	server string
	// steps are the steps to run; nil runs every one.
	steps []string
	// record is handed the result.
	record func(*ScenarioResult)
	// tune, if set, tells the target what the server has beyond the
	// sample's (an inline admission plugin, a middleware).
	tune func(*scenario.Target)
}

// sampleScenario returns the arguments and the after-start function that
// run the harness scenario on a generic sample (any binary with the sample's
// flags) and hand the result to run.record. The scenario's aggregated API
// server is a second instance of the prefix's generic sample.
func (r *runner) sampleScenario(ctx context.Context, binaries map[string]string, run scenarioRun) ([]string, func(srv *serverproc.Server, dir, etcd string)) {
	server, record := run.server, run.record
	target := scenario.Target{Name: "generic-sample", Kubectl: binaries[Kubectl], Only: run.steps,
		Progress: func(step string, status scenario.Status, took time.Duration) {
			r.logf("scenario: %s %s in %s", step, status, took.Round(100*time.Millisecond))
		}}
	if run.tune != nil {
		run.tune(&target)
	}
	var args []string
	addr, arg, ok := serviceEndpointArg(ctx, binaries[GenericSample])
	if ok {
		target.AggregatedAddr, args = addr, []string{arg}
	}
	return args, func(srv *serverproc.Server, dir, etcd string) {
		if ok {
			target.AggregatedBackend = aggregatedBackend(binaries[GenericSample], filepath.Join(dir, "aggregated-backend"), etcd)
		}
		target.Kubeconfig = srv.Kubeconfig
		r.logf("running the scenario against the %s (client-go, kubectl)", server)
		results := scenario.Run(ctx, target)
		res := &ScenarioResult{Server: server, Total: len(results), Results: results}
		for _, x := range results {
			if x.Status == scenario.Pass {
				res.Passed++
			}
		}
		record(res)
	}
}

// compareScenarioWithBaseline makes a problem of every scenario step that
// passed on the baseline's generic sample and does not on this prefix's.
func (r *runner) compareScenarioWithBaseline(s *Step) {
	if r.base == nil || r.base.Scenario == nil || s.Index == 0 {
		return
	}
	for _, step := range regressedSteps(r.base.Scenario, s.Scenario) {
		r.problem(s, "scenario step %q passed on the baseline and does not now", step)
	}
}

// scenarioSteps is what the scenario runs at step s: every step at the
// baseline and the last prefix (or everywhere when asked), the fast ones in
// between. The slow steps wait on controllers (seconds each, most of a run's
// time) and would add about half a minute to every prefix.
func (r *runner) scenarioSteps(s *Step, tip bool) []string {
	if s.Index == 0 || tip || r.cfg.SlowScenarioEveryPrefix {
		return nil
	}
	return scenario.FastSteps()
}

// regressedSteps lists the steps that pass in before and, having run in
// after, do not pass there.
func regressedSteps(before, after *ScenarioResult) []string {
	now := map[string]scenario.Status{}
	for _, x := range after.Results {
		now[x.Step] = x.Status
	}
	var steps []string
	for _, x := range before.Results {
		st, ran := now[x.Step]
		if x.Status == scenario.Pass && ran && st != scenario.Pass {
			steps = append(steps, x.Step)
		}
	}
	return steps
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// serviceEndpointArg returns, when the sample binary has the
// --service-endpoints flag (from the patch of the series that adds it on), a
// free loopback address for the scenario's aggregated API server and the flag
// that resolves the scenario's service reference (scenario/demo) to it.
// Earlier prefixes have no way to reach a backend without a Service, and get
// no flag.
func serviceEndpointArg(ctx context.Context, binary string) (addr, arg string, ok bool) {
	help, _ := exec.CommandContext(ctx, binary, "--help").CombinedOutput()
	if !strings.Contains(string(help), "--service-endpoints") {
		return "", "", false
	}
	port, err := serverproc.FreePort()
	if err != nil {
		return "", "", false
	}
	addr = "127.0.0.1:" + strconv.Itoa(port)
	return addr, "--service-endpoints=scenario/demo=" + addr, true
}

// aggregatedBackend starts a second instance of the sample as the scenario's
// aggregated API server, on the same etcd under its own prefix. The server
// under test proxies to it without a front-proxy client certificate, so its
// requests are anonymous: the backend allows every request.
func aggregatedBackend(binary, dir, etcd string) func(ctx context.Context, addr string) (string, func(), error) {
	return func(ctx context.Context, addr string) (string, func(), error) {
		_, p, err := net.SplitHostPort(addr)
		if err != nil {
			return "", nil, err
		}
		port, err := strconv.Atoi(p)
		if err != nil {
			return "", nil, err
		}
		srv, err := serverproc.StartAPIServer(ctx, serverproc.APIServer{Binary: binary, Dir: dir, EtcdServers: etcd,
			EtcdPrefix: "/aggregated-backend", Port: port, Args: []string{"--anonymous-auth=true"}})
		if err != nil {
			return "", nil, err
		}
		if err := allowAnonymous(ctx, srv.Kubeconfig); err != nil {
			srv.Stop()
			return "", nil, fmt.Errorf("aggregated backend: %w", err)
		}
		return srv.Kubeconfig, srv.Stop, nil
	}
}

// allowAnonymous binds cluster-admin to system:anonymous on the server of
// kubeconfig. (The sample refuses anonymous requests with the AlwaysAllow
// authorizer.)
func allowAnonymous(ctx context.Context, kubeconfig string) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	_, err = client.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "scenario-aggregator-is-anonymous"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: "system:anonymous"}},
	}, metav1.CreateOptions{})
	return err
}
