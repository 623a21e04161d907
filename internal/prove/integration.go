package prove

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/generic-controlplane/gcp/internal/etcdrun"
	"github.com/generic-controlplane/gcp/internal/gitx"
	"github.com/generic-controlplane/gcp/internal/series"
)

// Integration says which of k/k's own integration tests prove runs.
const (
	IntegrationOff  = "off"  // none
	IntegrationFast = "fast" // the generic control plane's own tests, at the last step
	IntegrationFull = "full" // every suite, at the last step
)

// Suite is one `go test` run of k/k integration tests.
type Suite struct {
	Name     string   // short label for the report
	Packages []string // ./relative to the tree root
	Run      string   // -run pattern, applied to every package of the suite
	// Timeout is go test's -timeout (test binaries only; compiling is bounded
	// by compileTimeout on top).
	Timeout time.Duration
	// Tip: run only in IntegrationFull, not in IntegrationFast. Every
	// suite runs at the last step only; its failures are re-run on the
	// baseline to tell upstream's from the series'.
	Tip bool
}

// compileTimeout bounds what go test spends compiling test binaries before
// Timeout starts counting; a cold build of the integration test binaries on
// two cores takes minutes.
const compileTimeout = 20 * time.Minute

// Suites are the k/k integration tests prove runs, chosen for what the
// series can break and for time (durations measured on two cores, in
// README.md, The proof). They run at the last step: at every prefix the
// proof already starts kube-apiserver and the sample and runs the scenario,
// and a per-prefix k/k integration test cost 35 s a step, 13 minutes over 22
// patches, against a budget of 60 minutes for a cold make test. The last
// step runs, about 6 min in all:
//   - the generic control plane's own tests (^TestGenericControlplane:
//     start-up and what the series adds, about 2.5 min),
//   - test/integration/etcd TestEtcdStoragePath: kube-apiserver's storage
//     path and version of every resource (about 45 s; every prefix already
//     compares the etcd key prefixes kube-apiserver writes),
//   - test/integration/controlplane/...: kube-apiserver's start, health,
//     flagz/statusz, the kubernetes service, leases, CRDs, audit and
//     encryption of every resource; without the multi-server lease tests
//     and the KMS tests, which take 9 of its 10 minutes,
//   - admission webhooks over every resource, reinvocation, owner refs
//     (not TestMatchConditions, CEL matching, 30 s),
//   - aggregated discovery (not the peer-proxy tests, an alpha feature),
//   - apiextensions-apiserver's own CRUD tests.
var Suites = []Suite{
	{
		// The generic control plane's own tests, start-up and those the
		// series adds (namespace deletion, garbage collection, bootstrap
		// policy, control plane namespace), about 30 s each. Every prefix
		// runs the scenario on the sample instead, which shows where each
		// capability starts to work.
		Name:     "generic",
		Packages: []string{"./test/integration/controlplane"},
		Run:      "^TestGenericControlplane",
		Timeout:  10 * time.Minute,
	},
	{
		// Every prefix compares kube-apiserver's etcd key prefixes with the
		// previous one (the surface check); the full storage path test of
		// every resource runs at the last step.
		Name:     "storage paths",
		Packages: []string{"./test/integration/etcd"},
		Run:      "^TestEtcdStoragePath$",
		Timeout:  10 * time.Minute,
		Tip:      true,
	},
	{
		Name:     "controlplane",
		Packages: []string{"./test/integration/controlplane/..."},
		Run: "^(TestRun|TestLivezAndReadyz|TestFlagz|TestStatusz|TestOpenAPIDelegationChainPlumbing|" +
			"TestKubernetesService|TestEmptyList|TestStatus|TestAccept|TestAPIServerService|TestCRD|TestCreateLeaseOnStart|" +
			"TestReconcilerAPIServerLeaseCombined|TestAppsPrefix|TestBatchPrefix|TestAutoscalingPrefix|" +
			"TestAudit|TestSecretsShouldBeTransformed|TestEncryptSupportedForAllResourceTypes)$",
		Timeout: 15 * time.Minute,
		Tip:     true,
	},
	{
		Name:     "admission webhooks",
		Packages: []string{"./test/integration/apiserver/admissionwebhook"},
		Run:      "^(TestWebhookAdmissionWithWatchCache|TestMutatingWebhookDuplicateOwnerReferences|TestWebhookReinvocationPolicyWithWatchCache)$",
		Timeout:  10 * time.Minute,
		Tip:      true,
	},
	{
		Name:     "discovery",
		Packages: []string{"./test/integration/apiserver/discovery"},
		Run:      "^(TestReadinessAggregatedAPIServiceDiscovery|TestAggregatedAPIServiceDiscovery|TestCRD|TestFreshness|TestGroupPriority|TestSingularNames)$",
		Timeout:  10 * time.Minute,
		Tip:      true,
	},
	{
		Name:     "apiextensions CRDs",
		Packages: []string{"./staging/src/k8s.io/apiextensions-apiserver/test/integration"},
		Run:      "^(TestServerUp|TestNamespaceScopedCRUD|TestClusterScopedCRUD)$",
		Timeout:  10 * time.Minute,
		Tip:      true,
	},
}

// IntegrationRun is the outcome of one Suite at one step.
type IntegrationRun struct {
	Suite   string  `json:"suite"`
	Command string  `json:"command"`
	Passed  bool    `json:"passed"`
	Seconds float64 `json:"seconds"`
	// TestSeconds is the part of Seconds the test binaries ran; the rest is
	// mostly compiling and linking them.
	TestSeconds float64  `json:"testSeconds"`
	Failed      []string `json:"failed,omitempty"`
	// FailsOnBaseline lists the tests of Failed that failed on the
	// baseline as well: reported, not blamed on the series.
	FailsOnBaseline []string `json:"failsOnBaseline,omitempty"`
	// BaselineRerun is the command that re-ran the failures on the
	// baseline, for a suite the baseline step did not run.
	BaselineRerun string `json:"baselineRerun,omitempty"`
	Output        string `json:"output,omitempty"` // tail of the failing tests' output
	// Log is the saved go test -json output.
	Log string `json:"log,omitempty"`
}

// Blamed lists the failures the step is answerable for: those that did
// not fail on the baseline.
func (r IntegrationRun) Blamed() []string {
	var out []string
	for _, f := range r.Failed {
		if !contains(r.FailsOnBaseline, f) {
			out = append(out, f)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// EtcdPackage is the etcd main built for the integration tests: etcdmain.Main
// from the go.etcd.io/etcd/server/v3 version this repository pins, which is
// etcd itself (etcd's own main.go only calls etcdmain.Main) and is checked
// against the tree's version before use.
const EtcdPackage = "github.com/generic-controlplane/gcp/cmd/etcd"

// BuildEtcd builds EtcdPackage into dir/etcd, where k/k's integration
// framework finds it on PATH; run it from this repository's module.
func BuildEtcd(ctx context.Context, dir string) (string, error) {
	bin, err := filepath.Abs(filepath.Join(dir, "etcd"))
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, compileTimeout)
	defer cancel()
	// No -trimpath: the etcd server packages are then the ones already
	// compiled for cmd/prove itself (internal/etcdrun embeds etcd).
	out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, EtcdPackage).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", EtcdPackage, err, out)
	}
	return bin, nil
}

var (
	etcdVersionRE = regexp.MustCompile(`(?m)^etcd Version:\s*(\S+)`)
	goModEtcdRE   = regexp.MustCompile(`(?m)^\s*go\.etcd\.io/etcd/server/v3 v(\S+)`)
)

// checkEtcdVersion returns an error unless the etcd binary is the version of
// go.etcd.io/etcd/server/v3 that the tree's go.mod requires, the etcd k/k
// tests this release with.
func checkEtcdVersion(ctx context.Context, bin, tree string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "--version").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s --version: %w", bin, err)
	}
	m := etcdVersionRE.FindSubmatch(out)
	if m == nil {
		return "", fmt.Errorf("%s --version printed no version:\n%s", bin, out)
	}
	got := string(m[1])
	mod, err := os.ReadFile(filepath.Join(tree, "go.mod"))
	if err != nil {
		return got, err
	}
	want := goModEtcdRE.FindSubmatch(mod)
	if want == nil {
		return got, fmt.Errorf("%s/go.mod requires no go.etcd.io/etcd/server/v3", tree)
	}
	if string(want[1]) != got {
		return got, fmt.Errorf("etcd for the integration tests is %s, the tree requires go.etcd.io/etcd/server/v3 v%s", got, want[1])
	}
	return got, nil
}

// suitesFor picks the suites of a step: the per-prefix ones always, the tip
// ones at the last step when mode is IntegrationFull.
func suitesFor(mode string, tip bool) []Suite {
	if mode == IntegrationOff || !tip {
		return nil
	}
	var out []Suite
	for _, s := range Suites {
		if s.Tip && mode != IntegrationFull {
			continue
		}
		out = append(out, s)
	}
	return out
}

// integration runs the step's suites against one etcd shared by all of
// them, as hack/make-rules/test-integration.sh does, with the etcd binary
// on PATH for the tests that start their own.
func (r *runner) integration(ctx context.Context, s *Step, tip bool) {
	suites := suitesFor(r.cfg.Integration, tip)
	if len(suites) == 0 || r.etcdBin == "" {
		return
	}
	dir := filepath.Join(r.cfg.Work, "integration", fmt.Sprint(s.Index))
	os.RemoveAll(dir)
	tmp := filepath.Join(dir, "tmp")
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		r.problem(s, "integration tests: %v", err)
		return
	}
	defer os.RemoveAll(tmp)
	e, err := etcdrun.Start(filepath.Join(dir, "etcd"), "integration")
	if err != nil {
		r.problem(s, "integration tests: etcd: %v", err)
		return
	}
	defer func() { e.Stop(); os.RemoveAll(filepath.Join(dir, "etcd")) }()
	srcRoot, err := sourceRoot(r.cfg.Work, r.tree)
	if err != nil {
		r.problem(s, "integration tests: %v", err)
		return
	}
	env := append(os.Environ(), r.env...)
	env = append(env,
		"PATH="+filepath.Dir(r.etcdBin)+string(os.PathListSeparator)+os.Getenv("PATH"),
		"KUBE_INTEGRATION_ETCD_URL="+e.Endpoint,
		"TMPDIR="+tmp,
		// The tree builds with -trimpath (one build cache for every
		// prefix and the servers), so the test servers cannot find their
		// testdata from their source file names; they look under
		// TEST_SRCDIR/TEST_WORKSPACE instead, k/k's provision for bazel's
		// -trimpath builds. test/utils finds the root from KUBE_ROOT.
		"TEST_SRCDIR="+srcRoot,
		"TEST_WORKSPACE=.",
		"KUBE_ROOT="+r.tree,
		// As hack/make-rules/test-integration.sh sets them.
		"KUBE_CACHE_MUTATION_DETECTOR=true",
		"KUBE_PANIC_WATCH_DECODE_ERROR=false",
	)
	for _, suite := range suites {
		run := r.runSuite(ctx, suite, env, dir)
		if s.Index == 0 {
			blameAgainstBaseline([]IntegrationRun{run}, &run)
		} else if r.base != nil {
			blameAgainstBaseline(r.base.Integration, &run)
		}
		s.Integration = append(s.Integration, run)
	}
	if s.Index > 0 {
		r.rerunOnBaseline(ctx, s, suites, env, dir)
	}
	for _, run := range s.Integration {
		if blamed := run.Blamed(); len(blamed) > 0 {
			r.problem(s, "integration %s: failed %s", run.Suite, strings.Join(blamed, ", "))
		}
	}
}

// rerunOnBaseline runs the failed tests of the suites the baseline did not
// run (the tip suites) once more on the baseline: the prove tree checked
// out at the tag, then back on the series branch. The tests that fail there
// too are upstream's, not the series'. Only failing runs pay for this.
func (r *runner) rerunOnBaseline(ctx context.Context, s *Step, suites []Suite, env []string, dir string) {
	var todo []int
	for i, run := range s.Integration {
		if (r.base == nil || r.base.integrationRun(run.Suite) == nil) && len(testNames(run.Blamed())) > 0 {
			todo = append(todo, i)
		}
	}
	if len(todo) == 0 {
		return
	}
	repo := gitx.Repo{Dir: r.tree}
	if _, err := repo.Run(ctx, "checkout", "--quiet", "--force", r.s.Base); err != nil {
		r.problem(s, "integration: checking out the baseline to re-run failures: %v", err)
		return
	}
	defer func() {
		if _, err := repo.Run(context.WithoutCancel(ctx), "checkout", "--quiet", "--force", series.Branch); err != nil {
			r.problem(s, "integration: back to the series branch after the baseline re-run: %v", err)
		}
	}()
	for _, i := range todo {
		run := &s.Integration[i]
		suite := suiteNamed(suites, run.Suite)
		suite.Name += " on baseline"
		suite.Run = runPattern(testNames(run.Blamed()))
		r.logf("integration: re-running %d failed tests of %s on the baseline", len(testNames(run.Blamed())), run.Suite)
		again := r.runSuite(ctx, suite, env, dir)
		run.BaselineRerun = again.Command
		blameAgainstBaseline([]IntegrationRun{{Suite: run.Suite, Failed: again.Failed}}, run)
	}
}

// integrationRun is the step's run of suite, or nil.
func (s *Step) integrationRun(suite string) *IntegrationRun {
	for i := range s.Integration {
		if s.Integration[i].Suite == suite {
			return &s.Integration[i]
		}
	}
	return nil
}

func suiteNamed(suites []Suite, name string) Suite {
	for _, s := range suites {
		if s.Name == name {
			return s
		}
	}
	return Suite{Name: name}
}

// testNames keeps the test entries of a failure list, without the package.
func testNames(failed []string) []string {
	var out []string
	for _, f := range failed {
		if isTestName(f) {
			out = append(out, f[strings.LastIndexByte(f, '.')+1:])
		}
	}
	return out
}

// runPattern is a -run pattern matching exactly the given top-level tests.
func runPattern(tests []string) string {
	return "^(" + strings.Join(tests, "|") + ")$"
}

// sourceRoot makes dir/srcroot a tree of symbolic links in which the
// -trimpath file names of the tree's packages resolve:
// k8s.io/kubernetes/... to the tree and k8s.io/<staging>/... to its staging
// modules.
func sourceRoot(work, tree string) (string, error) {
	root := filepath.Join(work, "srcroot")
	if err := os.RemoveAll(root); err != nil {
		return "", err
	}
	k8s := filepath.Join(root, "k8s.io")
	if err := os.MkdirAll(k8s, 0o755); err != nil {
		return "", err
	}
	if err := os.Symlink(tree, filepath.Join(k8s, "kubernetes")); err != nil {
		return "", err
	}
	staging, err := os.ReadDir(filepath.Join(tree, "staging", "src", "k8s.io"))
	if err != nil {
		return "", err
	}
	for _, d := range staging {
		if err := os.Symlink(filepath.Join(tree, "staging", "src", "k8s.io", d.Name()), filepath.Join(k8s, d.Name())); err != nil {
			return "", err
		}
	}
	return root, nil
}

// blameAgainstBaseline marks the failing tests that failed in the
// baseline's run of the same suite too (at the baseline itself: all of
// them). Only named tests qualify: a package that does not build, a
// TestMain that cannot start etcd or a go test that times out is a broken
// setup, which must not pass as upstream's problem at every step.
func blameAgainstBaseline(base []IntegrationRun, run *IntegrationRun) {
	for _, b := range base {
		if b.Suite != run.Suite {
			continue
		}
		for _, f := range run.Failed {
			if isTestName(f) && contains(b.Failed, f) {
				run.FailsOnBaseline = append(run.FailsOnBaseline, f)
			}
		}
	}
}

// isTestName tells "k8s.io/kubernetes/test/integration/etcd.TestX" from the
// package-level entries TestEvents.Failed also holds.
func isTestName(f string) bool {
	i := strings.LastIndexByte(f, '/')
	return !strings.Contains(f, " ") && strings.Contains(f[i+1:], ".Test")
}

// runSuite runs one suite with go test -json (k/k integration CI runs
// -short) and keeps its log in dir.
func (r *runner) runSuite(ctx context.Context, suite Suite, env []string, dir string) IntegrationRun {
	args := []string{"test", "-count=1", "-short", "-json", fmt.Sprintf("-timeout=%s", suite.Timeout)}
	if suite.Run != "" {
		args = append(args, "-run", suite.Run)
	}
	args = append(args, suite.Packages...)
	run := IntegrationRun{Suite: suite.Name, Command: "go " + shellJoin(args)}
	r.logf("integration: %s", run.Command)
	logPath := filepath.Join(dir, strings.ReplaceAll(suite.Name, " ", "-")+".json")
	start := time.Now()
	res, err := r.goTestJSON(ctx, suite.Timeout+compileTimeout, args, env, logPath)
	run.Seconds = time.Since(start).Seconds()
	run.Failed, run.Output, run.TestSeconds = res.Failed, res.Tail, res.TestSeconds
	run.Passed = err == nil && len(res.Failed) == 0
	if err != nil && len(res.Failed) == 0 {
		// go test failed without a failing test or package: e.g. it was
		// killed by the timeout, or could not start; its stderr is in the
		// log.
		run.Failed = []string{"(go test: " + err.Error() + ")"}
		if data, rerr := os.ReadFile(logPath); rerr == nil {
			run.Output = tailLines(string(data), tailKeep)
		}
	}
	// Kept also when it passed: it has every test's duration, to choose
	// suites by. The next prove run of this step removes it.
	run.Log = logPath
	r.logf("integration: %s %s in %.0fs (tests ran %.0fs) %s", suite.Name, passFail(run.Passed), run.Seconds, run.TestSeconds, strings.Join(run.Failed, ", "))
	return run
}

// goTestJSON runs go test in the tree, streams its -json output into
// logPath and parses it.
func (r *runner) goTestJSON(ctx context.Context, timeout time.Duration, args, env []string, logPath string) (TestEvents, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	f, err := os.Create(logPath)
	if err != nil {
		return TestEvents{}, err
	}
	defer f.Close()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir, cmd.Env = r.tree, env
	cmd.Stderr = f // build errors not in the JSON stream
	// On timeout or interrupt kill the whole process group: go, the test
	// binaries and the etcds they started, not only go.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Minute
	out, err := cmd.StdoutPipe()
	if err != nil {
		return TestEvents{}, err
	}
	if err := cmd.Start(); err != nil {
		return TestEvents{}, err
	}
	res := ParseTestEvents(io.TeeReader(out, f))
	if err := cmd.Wait(); err != nil {
		if ctx.Err() != nil {
			return res, fmt.Errorf("no result within %s: %w", timeout, ctx.Err())
		}
		return res, err
	}
	return res, nil
}

// pkgFailed marks a package that failed without a failing test: it did not
// build, its TestMain failed, or the leak check after the tests did.
const pkgFailed = " (package)"

// TestEvents is what prove keeps of a go test -json stream.
type TestEvents struct {
	// Failed are the failing top-level tests as "package.TestName", and
	// packages that failed without a failing test as "package (package)".
	Failed []string
	// Tail is the last lines of output of the failures.
	Tail string
	// TestSeconds is the time the test binaries ran, summed over packages
	// (go test's time minus this is mostly compiling and linking).
	TestSeconds float64
}

type testEvent struct {
	Action      string
	Package     string
	ImportPath  string // build events (go 1.24+) name the package being built
	Test        string
	Output      string
	FailedBuild string  // on a package's fail event: it did not build
	Elapsed     float64 // seconds, on pass and fail events
}

// tailKeep is how many output lines of each failed test or package the
// report keeps.
const tailKeep = 15

// ParseTestEvents reads a go test -json stream to its end.
func ParseTestEvents(r io.Reader) TestEvents {
	var res TestEvents
	outputs := map[string][]string{}
	var failedTests, failedPkgs []string
	pkgHasFailedTest := map[string]bool{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var ev testEvent
		if json.Unmarshal(sc.Bytes(), &ev) != nil {
			continue // a line go printed outside the JSON stream
		}
		// Subtests' output goes with their top-level test, the unit the
		// report names.
		key := ev.Package
		if top, _, _ := strings.Cut(ev.Test, "/"); top != "" {
			key += "." + top
		}
		switch ev.Action {
		case "output":
			outputs[key] = appendTail(outputs[key], strings.TrimRight(ev.Output, "\n"))
		case "build-output":
			// Keyed by the package whose fail event will name it in
			// FailedBuild.
			outputs[ev.ImportPath] = appendTail(outputs[ev.ImportPath], strings.TrimRight(ev.Output, "\n"))
		case "pass":
			if ev.Test == "" {
				res.TestSeconds += ev.Elapsed
			}
		case "fail":
			if ev.Test == "" {
				res.TestSeconds += ev.Elapsed
			}
			switch {
			case ev.FailedBuild != "":
				outputs[ev.Package] = append(outputs[ev.Package], outputs[ev.FailedBuild]...)
				failedPkgs = append(failedPkgs, ev.Package)
			case ev.Test == "":
				failedPkgs = append(failedPkgs, ev.Package)
			case !strings.Contains(ev.Test, "/"):
				failedTests = append(failedTests, key)
				pkgHasFailedTest[ev.Package] = true
			}
		}
	}
	res.Failed = failedTests
	for _, p := range failedPkgs {
		if !pkgHasFailedTest[p] && !contains(res.Failed, p+pkgFailed) {
			res.Failed = append(res.Failed, p+pkgFailed)
		}
	}
	sort.Strings(res.Failed)
	var tail []string
	for _, f := range res.Failed {
		tail = append(tail, "=== "+f)
		tail = append(tail, outputs[strings.TrimSuffix(f, pkgFailed)]...)
	}
	res.Tail = strings.Join(tail, "\n")
	return res
}

func appendTail(lines []string, line string) []string {
	lines = append(lines, line)
	if len(lines) > tailKeep {
		lines = lines[len(lines)-tailKeep:]
	}
	return lines
}
