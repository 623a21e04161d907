package prove

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/generic-controlplane/gcp/internal/gitx"
	"github.com/generic-controlplane/gcp/scenario"
)

// newTestRepo makes a scratch git repository: its directory, a function
// that writes a file in it and one that runs git in it.
func newTestRepo(t *testing.T) (dir string, write func(rel, content string), run func(args ...string)) {
	dir = t.TempDir()
	repo := gitx.Repo{Dir: dir, Env: []string{"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t"}}
	write = func(rel, content string) {
		p := filepath.Join(dir, rel)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	run = func(args ...string) {
		_, err := repo.Run(context.Background(), args...)
		require.NoError(t, err)
	}
	return dir, write, run
}

func TestTouchedPackages(t *testing.T) {
	ctx := context.Background()
	dir, write, run := newTestRepo(t)
	write("pkg/a/a.go", "package a\n")
	write("pkg/gone/gone.go", "package gone\n")
	write("staging/src/k8s.io/apiserver/pkg/x/x.go", "package x\n")
	run("init", "-q")
	run("add", "-A")
	run("commit", "-qm", "base")
	run("tag", "v1.0.0")

	write("pkg/a/a_test.go", "package a\n")
	write("pkg/a/testdata/t.go", "package t\n")
	write("staging/src/k8s.io/apiserver/pkg/x/x.go", "package x\n\nvar X int\n")
	write("docs/README.md", "not go\n")
	write("test/integration/controlplane/generic_test.go", "package controlplane\n")
	write("test/e2e/framework/f.go", "package framework\n")
	require.NoError(t, os.RemoveAll(filepath.Join(dir, "pkg/gone")))
	run("add", "-A")
	run("commit", "-qm", "patch")

	pkgs, err := touchedPackages(ctx, dir, "v1.0.0")
	require.NoError(t, err)
	assert.Equal(t, []string{"./pkg/a", "./staging/src/k8s.io/apiserver/pkg/x"}, pkgs,
		"test files count, testdata and deleted packages do not, non-Go files do not, integration and e2e tests do not (the integration suites run them)")
}

func TestMarkdownMarksFailures(t *testing.T) {
	yes, no := true, false
	res := &Result{Pin: "v1.37.2", Baseline: "0123456789abcdef", Steps: []*Step{
		{Index: 0, Subject: "baseline v1.37.2", Applies: true, Builds: true, Tests: TestResult{Passed: true},
			KubePackages: map[string]int{GenericSample: 461, KubeAPIServer: 465}},
		{Index: 1, Patch: "0001-a.patch", Subject: "UPSTREAM: <carry>: controlplane: a", Applies: true, Builds: true,
			Tests:        TestResult{Packages: []string{"./pkg/a"}, Passed: true},
			KubePackages: map[string]int{GenericSample: 349, KubeAPIServer: 465}, FlagsSame: &yes},
		{Index: 2, Patch: "0002-b.patch", Subject: "UPSTREAM: <carry>: controlplane: b", Applies: true, Builds: true,
			Tests:        TestResult{Packages: []string{"./pkg/b"}, Failed: []string{"k8s.io/kubernetes/pkg/b"}, Output: "FAIL"},
			KubePackages: map[string]int{GenericSample: 300, KubeAPIServer: 465, MinimalSample: 139, CRDOnlyServer: 0}, FlagsSame: &no, FlagsDiff: "-  --x",
			StrippedBytes: map[string]int64{MinimalSample: 80_000_000},
			MinimalSample: &Runtime{StartToReadySeconds: 1.5, Resources: 20, RSSBytes: 100 << 20},
			KubeSample:    &Runtime{Error: "serves other resources than kube-apiserver (-kube-apiserver +sample):\n- v1/pods"}},
	}, NotReached: []string{"0003-c.patch"}}
	assert.False(t, res.Green())
	md := markdown(t, res)
	assert.Contains(t, md, "NOT all green")
	assert.Contains(t, md, "| 1 | UPSTREAM: &lt;carry&gt;: controlplane: a | ✓ | ✓ | ✓ 1 pkgs |")
	assert.Contains(t, md, "| 349 | -112 |  |  | 465 | ✓ |", "a server not measured at a prefix has an empty cell")
	assert.Contains(t, md, "| 300 | -49 | 139 | 0 | 465 | ✗ |", "the CRD-only server's count is shown when it is 0")
	assert.Contains(t, md, "Minimal sample (`./pkg/controlplane/apiserver/samples/generic/minimal`, 80.0 MB): ready in 1.50 s, 20 resources served")
	assert.Contains(t, md, "Kube sample (`./pkg/controlplane/samples/kube`):\n\n```\nserves other resources than kube-apiserver (-kube-apiserver +sample):\n- v1/pods\n```")
	assert.Contains(t, md, "✗ 1/1 failed")
	assert.Contains(t, md, "| – | 0003-c.patch | not reached |")
	assert.Contains(t, md, "kube-apiserver flags differ from the baseline")
	assert.Equal(t, []string{
		"step 2 (0002-b.patch): unit tests fail in k8s.io/kubernetes/pkg/b",
		"not reached: 0003-c.patch",
	}, res.Failures())

	res.Steps = res.Steps[:2]
	res.NotReached = nil
	assert.True(t, res.Green())
}

func TestMarkdownShowsSurfaceIntegrationAndStaticChecks(t *testing.T) {
	noChange := Declaration{Kind: DeclaredNoChange}
	res := &Result{Pin: "v1.37.2", Steps: []*Step{
		{Index: 0, Subject: "baseline v1.37.2", Applies: true, Builds: true, Tests: TestResult{Passed: true},
			Surface:     Surface{AspectValidating: {"A", "B"}},
			Integration: []IntegrationRun{{Suite: "generic", Passed: false, Seconds: 50, Failed: []string{"p.TestFlaky"}, FailsOnBaseline: []string{"p.TestFlaky"}}},
			Static:      &StaticResult{ImportBoss: &ToolCheck{Passed: true, Seconds: 1}}},
		{Index: 1, Patch: "0001-a.patch", Subject: "a", Applies: true, Builds: true, Tests: TestResult{Passed: true}, Declared: &noChange,
			Surface: Surface{AspectValidating: {"B", "A"}},
			Aspects: []AspectCheck{{Aspect: AspectValidating, Diff: "A,B -> B,A"}},
			Integration: []IntegrationRun{{Suite: "generic", Seconds: 47, Failed: []string{"p.TestFlaky", "p.TestNew"}, FailsOnBaseline: []string{"p.TestFlaky"},
				Output: "--- FAIL: TestNew"}},
			Static:   &StaticResult{GoFiles: 2, Gofmt: []string{"pkg/a/a.go"}, ImportBoss: &ToolCheck{Passed: true, Seconds: 1}},
			Problems: []string{"patch 0001-a.patch: undeclared kube-apiserver change: validating admission order: A,B -> B,A"}},
	}}
	md := markdown(t, res)
	assert.Contains(t, md, "| # | declared | flags (--help) |")
	assert.Contains(t, md, "| 1 | no change |  |  |  |  |  |  | 2 Δ ✗ |  |")
	assert.Contains(t, md, "| 0 | ✓ 50s (1 fail on baseline) | 0 | ✓ | ✓ | ✓ 1s |")
	assert.Contains(t, md, "| 1 | ✗ 1 failed, 47s (1 fail on baseline) | 2 | ✗ 1 | ✓ | ✓ 1s |")
	assert.Contains(t, md, "- 1: patch 0001-a.patch: undeclared kube-apiserver change: validating admission order: A,B -&gt; B,A")
	assert.Contains(t, md, "Failed: p.TestNew")
	assert.Contains(t, md, "Not gofmt-clean: pkg/a/a.go")
}

func TestServiceEndpointArgOnlyWhenTheSampleHasTheFlag(t *testing.T) {
	dir := t.TempDir()
	script := func(name, help string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte("#!/bin/sh\necho '"+help+"'\n"), 0o755))
		return p
	}
	with := script("with", "      --service-endpoints mapStringString   Comma-separated ...")
	without := script("without", "      --secure-port int")

	addr, arg, ok := serviceEndpointArg(context.Background(), with)
	require.True(t, ok)
	assert.Regexp(t, `^127\.0\.0\.1:\d+$`, addr)
	assert.Equal(t, "--service-endpoints=scenario/demo="+addr, arg)

	_, _, ok = serviceEndpointArg(context.Background(), without)
	assert.False(t, ok, "a sample without --service-endpoints gets no flag")
}

func TestScenarioProgressNamesThePrefixFromWhichAStepPasses(t *testing.T) {
	step := func(i int, gc, ns scenario.Status) *Step {
		return &Step{Index: i, Subject: fmt.Sprintf("UPSTREAM: <carry>: controlplane: p%d", i), Applies: true, Builds: true,
			Scenario: &ScenarioResult{Results: []scenario.Result{{Step: "garbage-collection", Status: gc}, {Step: "namespace-deletion", Status: ns, Reason: "still Terminating"}}}}
	}
	res := &Result{Pin: "v1.37.2", Steps: []*Step{
		step(0, scenario.Fail, scenario.Fail),
		step(1, scenario.Fail, scenario.Fail),
		step(2, scenario.Pass, scenario.Fail),
		step(3, scenario.Fail, scenario.Fail), // passed at 2, not at 3: it passes from 4
		step(4, scenario.Pass, scenario.Fail),
		step(5, scenario.Pass, scenario.Fail),
	}}
	var b strings.Builder
	writeScenarioProgress(&b, res)
	assert.Contains(t, b.String(), "| garbage-collection | fail | 4. UPSTREAM: &lt;carry&gt;: controlplane: p4 | pass |")
	assert.Contains(t, b.String(), "| namespace-deletion | fail | – | fail | still Terminating |")
}

func TestMarkdownShowsTheNativeSampleBesideEtcd(t *testing.T) {
	onEtcd := &ScenarioResult{Passed: 2, Total: 2, Results: []scenario.Result{
		{Step: "crud", Status: scenario.Pass}, {Step: "watch", Status: scenario.Pass}}}
	onNative := &ScenarioResult{Passed: 1, Total: 2, Results: []scenario.Result{
		{Step: "crud", Status: scenario.Pass, Reason: "configmaps"}, {Step: "watch", Status: scenario.Fail, Reason: "no DELETED event"}}}
	assert.Equal(t, []string{"watch"}, regressedSteps(onEtcd, onNative))
	assert.Empty(t, regressedSteps(onNative, onEtcd))

	res := &Result{Pin: "v1.37.2", Steps: []*Step{{Index: 0, Subject: "baseline v1.37.2", Applies: true, Builds: true,
		Tests: TestResult{Passed: true}, Scenario: onEtcd,
		NativeSample: &Runtime{StartToReadySeconds: 1.5, Resources: 60, RSSBytes: 100 << 20}, NativeScenario: onNative}}}
	md := markdown(t, res)
	assert.Contains(t, md, "The "+NativeSampleServer+": ready in 1.50 s, 60 resources served")
	assert.Contains(t, md, "| crud | pass | pass | configmaps |")
	assert.Contains(t, md, "| watch | pass | fail | no DELETED event |")

	res.Steps[0].NativeSample = &Runtime{Error: "go build failed"}
	assert.Contains(t, markdown(t, res), "did not run: go build failed")

	res.Steps[0].StrippedBytes = map[string]int64{LibraryExample: 105_000_000}
	res.Steps[0].LibraryExample = &Runtime{StartToReadySeconds: 1.6, Resources: 17, RSSBytes: 140 << 20}
	assert.Contains(t, markdown(t, res), "The "+LibraryExample+", 105.0 MB: ready in 1.60 s, 17 resources served")
	res.Steps[0].LibraryExample = &Runtime{Error: "creating a ConfigMap labelled deny=true: got <nil>"}
	assert.Contains(t, markdown(t, res), "The "+LibraryExample+": creating a ConfigMap labelled deny=true: got &lt;nil&gt;")
}

// A step left out at some prefixes (prove runs the slow steps at the
// baseline and the tip only) is judged where it ran: no regression where it
// did not run, and "passes from" skips those prefixes.
func TestScenarioStepsNotRunAtAPrefix(t *testing.T) {
	full := func(i int, gc scenario.Status) *Step {
		return &Step{Index: i, Subject: fmt.Sprintf("p%d", i), Applies: true, Builds: true,
			Scenario: &ScenarioResult{Results: []scenario.Result{{Step: "crud", Status: scenario.Pass}, {Step: "garbage-collection", Status: gc}}}}
	}
	fast := func(i int) *Step {
		return &Step{Index: i, Subject: fmt.Sprintf("p%d", i), Applies: true, Builds: true,
			Scenario: &ScenarioResult{Results: []scenario.Result{{Step: "crud", Status: scenario.Pass}}}}
	}
	base, tip := full(0, scenario.Pass), full(3, scenario.Pass)
	assert.Empty(t, regressedSteps(base.Scenario, fast(1).Scenario))

	var b strings.Builder
	writeScenarioProgress(&b, &Result{Steps: []*Step{base, fast(1), fast(2), tip}})
	assert.Contains(t, b.String(), "| garbage-collection | pass | baseline | pass |")
	assert.Contains(t, b.String(), "The steps that wait on a controller (garbage-collection) ran at the baseline and the last prefix only")

	b.Reset()
	writeScenarioProgress(&b, &Result{Steps: []*Step{full(0, scenario.Fail), fast(1), fast(2), tip}})
	assert.Contains(t, b.String(), "| garbage-collection | fail | 3. p3 | pass |")
}

func TestLibraryScenarioProblems(t *testing.T) {
	result := func(statuses ...scenario.Status) *ScenarioResult {
		steps := []string{"crud", "inline-admission", "middleware", "namespace-deletion"}
		res := &ScenarioResult{}
		for i, st := range statuses {
			res.Results = append(res.Results, scenario.Result{Step: steps[i], Status: st, Reason: "why"})
		}
		return res
	}
	sample := result(scenario.Pass, scenario.Skip, scenario.Skip, scenario.Fail)
	assert.Empty(t, libraryScenarioProblems(sample, result(scenario.Pass, scenario.Pass, scenario.Pass, scenario.Fail)),
		"a step that fails on the sample too is not the example's problem")
	assert.Equal(t, []string{
		`scenario step "middleware": skip (why)`,
		`scenario step "crud" passes on the sample on etcd and not on the library example`,
	}, libraryScenarioProblems(sample, result(scenario.Fail, scenario.Pass, scenario.Skip, scenario.Pass)))
	assert.Equal(t, []string{`scenario step "inline-admission": fail (why)`},
		libraryScenarioProblems(nil, result(scenario.Fail, scenario.Fail, scenario.Pass, scenario.Pass)), "without the sample's run only the example's own steps are judged")
	assert.Empty(t, libraryScenarioProblems(sample, nil))
}

func TestWidePatchIsTypeCheckedAtItsPrefix(t *testing.T) {
	pkgs := []string{"./pkg/a", "./pkg/b"}
	res := &Result{Pin: "v1.37.2", Steps: []*Step{
		{Index: 1, Patch: "0001-a.patch", Subject: "a", Applies: true, Builds: true,
			Tests: TestResult{Packages: pkgs, Passed: true, TypeCheckedOnly: true}},
		{Index: 2, Patch: "0002-b.patch", Subject: "b", Applies: true, Builds: true,
			Tests: TestResult{Packages: pkgs, Failed: []string{"k8s.io/kubernetes/pkg/b"}, TypeCheckedOnly: true}},
	}}
	md := markdown(t, res)
	assert.Contains(t, md, "| ✓ vet 2 pkgs (tests at the tip) |")
	assert.Contains(t, md, "| ✗ vet: 1/2 failed |")
	assert.Contains(t, md, "k/k tests type-checked only (pass; more than 20 packages: their tests run at the tip): `go vet ./pkg/a ./pkg/b`")
	assert.Equal(t, []string{"step 2 (0002-b.patch): go vet fails in k8s.io/kubernetes/pkg/b"}, res.Failures())
}

func TestVetResultNamesThePackages(t *testing.T) {
	out := "# k8s.io/kubernetes/pkg/a\npkg/a/a.go:3:2: undefined: x\n# k8s.io/kubernetes/pkg/b [k8s.io/kubernetes/pkg/b.test]\npkg/b/b_test.go:9:1: y\n"
	var got []string
	for _, m := range vetResultRE.FindAllStringSubmatch(out, -1) {
		got = append(got, m[1])
	}
	assert.Equal(t, []string{"k8s.io/kubernetes/pkg/a", "k8s.io/kubernetes/pkg/b"}, got)
}

// markdown renders res as WriteMarkdown writes it.
func markdown(t *testing.T, res *Result) string {
	t.Helper()
	var b strings.Builder
	require.NoError(t, WriteMarkdown(&b, res))
	return b.String()
}
