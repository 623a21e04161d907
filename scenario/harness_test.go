package scenario

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/generic-controlplane/gcp/internal/serverproc"
	"github.com/generic-controlplane/gcp/internal/testbin"
)

// repoRoot is the module root.
func repoRoot() string { return testbin.RepoRoot() }

// binary returns $env or <root>/_output/bin/<name>, building pkg into it if missing.
func binary(t *testing.T, env, name, pkg string) string { return testbin.Path(t, env, name, pkg) }

func kubectlBin(t *testing.T) string {
	return binary(t, "KUBECTL", "kubectl", "k8s.io/kubernetes/cmd/kubectl")
}

// saveResults writes results for cmd/scenario-report (SCENARIO_OUT, default _output/scenario).
func saveResults(t *testing.T, name string, res []Result) {
	dir := os.Getenv("SCENARIO_OUT")
	if dir == "" {
		dir = filepath.Join(repoRoot(), "_output", "scenario")
	}
	_ = os.MkdirAll(dir, 0o755)
	b, err := json.MarshalIndent(map[string]any{"server": name, "results": res}, "", "  ")
	require.NoError(t, err)
	assert.NoError(t, os.WriteFile(filepath.Join(dir, name+".json"), b, 0o644))
	for _, r := range res {
		t.Logf("%-24s %-4s %s", r.Step, r.Status, r.Reason)
	}
}

// start runs one of our servers on a fresh data dir until the test ends.
func start(t *testing.T, bin string, args ...string) *serverproc.Server {
	return startIn(t, t.TempDir(), bin, args...)
}

// startIn runs one of our servers on dataDir until the test ends; a start
// failure quotes the end of the server's log.
func startIn(t *testing.T, dataDir, bin string, args ...string) *serverproc.Server {
	t.Helper()
	p, err := serverproc.StartMinimal(context.Background(), serverproc.Minimal{Binary: bin, DataDir: dataDir, Args: args})
	require.NoError(t, err)
	t.Cleanup(p.Stop)
	return p
}

func tail(s string, n int) string {
	l := strings.Split(s, "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

// check compares the status of every step with want and each step's reason
// with the text reasonContains expects in it.
func check(t *testing.T, res []Result, want map[string]Status, reasonContains map[string]string) {
	t.Helper()
	got := map[string]Status{}
	var reasons strings.Builder
	for _, r := range res {
		got[r.Step] = r.Status
		fmt.Fprintf(&reasons, "  %s %s: %s\n", r.Step, r.Status, r.Reason)
		if sub := reasonContains[r.Step]; sub != "" {
			assert.Contains(t, r.Reason, sub, "step %s", r.Step)
		}
	}
	assert.Empty(t, cmp.Diff(want, got), "step statuses (-want +got); the steps said:\n%s", reasons.String())
	assert.Len(t, res, len(want), "one result per step")
}

// example-full serves: namespaces, rbac, secrets, configmaps, crds, authorization (+ apiservices).
var fullGroups = []string{"", "apiextensions.k8s.io", "apiregistration.k8s.io", "authorization.k8s.io", "rbac.authorization.k8s.io"}

var fullWant = map[string]Status{
	"discovery": Pass, "crud": Pass, "kubectl-ssa-conflict": Pass, "watch": Pass, "crd-two-versions": Pass,
	"inline-admission": Pass, "middleware": Pass, "rbac-deny-then-allow": Pass,
	"namespace-deletion": Pass, // the server runs the namespace controller (server/namespacedeletion.go)
	// Known generic control plane behaviour, asserted so a change is noticed:
	"garbage-collection":     Fail, // no garbage collector deletes the dependents of a deleted owner
	"apiservice-aggregation": Fail, // no Services/Endpoints to resolve the APIService backend
}

var fullReasons = map[string]string{
	"discovery":        "exactly: core,apiextensions.k8s.io,apiregistration.k8s.io,authorization.k8s.io,rbac.authorization.k8s.io",
	"crud":             "namespaces,configmaps,secrets,roles.rbac.authorization.k8s.io,clusterroles.rbac.authorization.k8s.io",
	"inline-admission": `must not contain a "password" key`,
}

func fullTarget(t *testing.T, p *serverproc.Server, name string) Target {
	return Target{Name: name, Kubeconfig: p.Kubeconfig, Kubectl: kubectlBin(t), ExpectedGroups: fullGroups,
		AdmissionDenied: "password", MiddlewareHeader: "X-Minimal-Apiserver"}
}

// aggregatedAddr picks a free loopback address for the scenario's aggregated
// server and returns it with the --service-endpoint flag that routes to it.
func aggregatedAddr(t *testing.T) (string, string) {
	port, err := serverproc.FreePort()
	require.NoError(t, err)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	return addr, "--service-endpoint=scenario/demo=" + addr
}

func TestScenarioExampleFullEmbeddedEtcd(t *testing.T) {
	bin := binary(t, "EXAMPLE_FULL_BIN", "example-full", "./cmd/examples/full")
	// With the scenario's service mapped to its aggregated server, the
	// aggregated request goes through the middleware too.
	addr, flag := aggregatedAddr(t)
	p := start(t, bin, flag)
	target := fullTarget(t, p, "example-full-etcd")
	target.AggregatedAddr = addr
	res := Run(context.Background(), target)
	saveResults(t, "example-full-etcd", res)
	want, reasons := maps.Clone(fullWant), maps.Clone(fullReasons)
	want["apiservice-aggregation"] = Pass
	reasons["apiservice-aggregation"] = "middleware ran on the aggregated request"
	reasons["middleware"] = "/apis, /api/v1/namespaces/scenario/configmaps, /apis/scenario.example.com/v1/namespaces/scenario/widgets"
	check(t, res, want, reasons)
	// The middleware's audit line reaches the server log.
	b, err := os.ReadFile(p.Log())
	require.NoError(t, err)
	assert.Contains(t, string(b), "audit: user=admin verb=POST path=/api/v1/namespaces/scenario/configmaps", "middleware audit line in %s", p.Log())
}

func TestScenarioExampleFullKineSQLite(t *testing.T) {
	bin := binary(t, "EXAMPLE_FULL_BIN", "example-full", "./cmd/examples/full")
	dataDir := t.TempDir()
	p := startIn(t, dataDir, bin, "--storage=kine")
	require.FileExists(t, filepath.Join(dataDir, "kine.db"), "kine SQLite database")
	res := Run(context.Background(), fullTarget(t, p, "example-full-kine"))
	saveResults(t, "example-full-kine", res)
	check(t, res, fullWant, fullReasons)
}

func TestScenarioCRDOnly(t *testing.T) {
	bin := binary(t, "EXAMPLE_CRDONLY_BIN", "example-crdonly", "./cmd/examples/crdonly")
	p := start(t, bin)
	res := Run(context.Background(), Target{Name: "example-crdonly", Kubeconfig: p.Kubeconfig, Kubectl: kubectlBin(t),
		ExpectedGroups: []string{"apiextensions.k8s.io"}})
	saveResults(t, "example-crdonly", res)
	check(t, res, map[string]Status{
		"discovery": Pass, "crud": Skip, "kubectl-ssa-conflict": Skip, "watch": Skip, "crd-two-versions": Pass,
		"inline-admission": Skip, "middleware": Skip, "rbac-deny-then-allow": Skip, "namespace-deletion": Skip, "garbage-collection": Skip,
		"apiservice-aggregation": Skip,
	}, map[string]string{"crd-two-versions": "created at v1, read at v1 and v1alpha1 (client-go and kubectl)"})
}

func TestScenarioMinimalDefaults(t *testing.T) {
	runMinimalScenario(t, "minimal-apiserver")
}

// TestScenarioMinimalOnEachStorage runs the scenario of
// TestScenarioMinimalDefaults on every other backend named in
// MINIMAL_APISERVER_STORAGES (default "kine"; a build on the series tip adds
// sqlite and memory, the native backend).
func TestScenarioMinimalOnEachStorage(t *testing.T) {
	for _, storage := range storagesUnderTest() {
		if storage == "etcd" {
			continue // TestScenarioMinimalDefaults
		}
		t.Run(storage, func(t *testing.T) {
			runMinimalScenario(t, "minimal-apiserver-"+storage, "--storage="+storage)
		})
	}
}

// storagesUnderTest are the --storage values MINIMAL_APISERVER_STORAGES
// names, "etcd,kine" by default: the backends of a build on the pinned
// release.
func storagesUnderTest() []string {
	if s := os.Getenv("MINIMAL_APISERVER_STORAGES"); s != "" {
		return strings.Split(s, ",")
	}
	return []string{"etcd", "kine"}
}

// builtOnSeries tells whether MINIMAL_APISERVER_BIN was built on the series
// tip (-tags gcp_patched): make test-tip-storage sets MINIMAL_APISERVER_ON_SERIES.
func builtOnSeries() bool {
	return os.Getenv("MINIMAL_APISERVER_ON_SERIES") != ""
}

func runMinimalScenario(t *testing.T, name string, args ...string) {
	bin := binary(t, "MINIMAL_APISERVER_BIN", "minimal-apiserver", "./cmd/minimal-apiserver")
	addr, flag := aggregatedAddr(t)
	p := start(t, bin, append([]string{flag}, args...)...)
	res := Run(context.Background(), Target{Name: name, Kubeconfig: p.Kubeconfig, Kubectl: kubectlBin(t), AggregatedAddr: addr,
		ExpectedGroups: []string{"", "admissionregistration.k8s.io", "apiextensions.k8s.io", "apiregistration.k8s.io",
			"authentication.k8s.io", "authorization.k8s.io", "coordination.k8s.io", "events.k8s.io", "rbac.authorization.k8s.io"}})
	saveResults(t, name, res)
	want := map[string]Status{}
	for k, v := range fullWant {
		want[k] = v
	}
	want["inline-admission"], want["middleware"] = Skip, Skip
	want["apiservice-aggregation"] = Pass // --service-endpoint maps the Service to the aggregated server
	if builtOnSeries() {
		// the chain is the series' sample library, which runs the garbage collector
		want["garbage-collection"] = Pass
	}
	check(t, res, want, map[string]string{"crud": "namespaces,configmaps,secrets,serviceaccounts,events,events.events.k8s.io,leases.coordination.k8s.io,roles",
		"apiservice-aggregation": "APIService Available and its group served through the aggregator"})
}

// runExpectFail runs bin and expects a non-zero exit with msg on stderr.
func runExpectFail(t *testing.T, bin string, msg []string, args ...string) {
	t.Helper()
	out, err := exec.Command(bin, args...).CombinedOutput()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, "%v: want a non-zero exit; output:\n%s", args, tail(string(out), 20))
	for _, m := range msg {
		assert.Contains(t, string(out), m, "%v", args)
	}
}

func TestBadInput(t *testing.T) {
	bin := binary(t, "MINIMAL_APISERVER_BIN", "minimal-apiserver", "./cmd/minimal-apiserver")
	t.Run("unknown-api", func(t *testing.T) {
		runExpectFail(t, bin, []string{"error: unknown --apis entry pods; valid entries are: admissionregistration,apiservices,", "secrets,serviceaccounts"},
			"--data-dir="+t.TempDir(), "--apis=configmaps,pods")
	})
	t.Run("unusable-data-dir", func(t *testing.T) {
		f := filepath.Join(t.TempDir(), "file")
		require.NoError(t, os.WriteFile(f, nil, 0o600))
		runExpectFail(t, bin, []string{"error: data dir " + f + "/sub is not usable", "not a directory"}, "--data-dir="+f+"/sub")
	})
	t.Run("port-in-use", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0") // held: the port is in use
		require.NoError(t, err)
		defer l.Close()
		port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
		runExpectFail(t, bin, []string{"error: cannot listen on 127.0.0.1:" + port, "address already in use"},
			"--data-dir="+t.TempDir(), "--secure-port="+port)
	})
	t.Run("missing-dependency", func(t *testing.T) {
		runExpectFail(t, bin, []string{"error: --apis entry rbac requires namespaces", "add namespaces to --apis"},
			"--data-dir="+t.TempDir(), "--apis=rbac,configmaps")
	})
	t.Run("unknown-flag", func(t *testing.T) {
		runExpectFail(t, bin, []string{"unknown flag: --no-such-flag"}, "--no-such-flag")
	})
	t.Run("unknown-storage", func(t *testing.T) {
		runExpectFail(t, bin, []string{"error: unknown --storage \"mysql\"; valid: etcd, kine"}, "--data-dir="+t.TempDir(), "--secure-port=0", "--storage=mysql")
	})
}

// Target.Only picks the steps, in Steps' order; the others are left out of
// the results (here every step fails on a kubeconfig that does not exist).
func TestRunOnlyTheSelectedSteps(t *testing.T) {
	res := Run(context.Background(), Target{Kubeconfig: filepath.Join(t.TempDir(), "missing"), Only: []string{"watch", "discovery"}})
	var steps []string
	for _, r := range res {
		steps = append(steps, r.Step)
	}
	assert.Equal(t, []string{"discovery", "watch"}, steps)
	assert.Equal(t, []string{"discovery", "crud", "kubectl-ssa-conflict", "watch", "inline-admission", "middleware", "rbac-deny-then-allow"}, FastSteps())
}
