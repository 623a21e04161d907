package prove

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestParseTestEvents(t *testing.T) {
	stream := strings.Join([]string{
		`{"Action":"start","Package":"k8s.io/kubernetes/test/integration/etcd"}`,
		`{"Action":"run","Package":"k8s.io/kubernetes/test/integration/etcd","Test":"TestEtcdStoragePath"}`,
		`{"Action":"output","Package":"k8s.io/kubernetes/test/integration/etcd","Test":"TestEtcdStoragePath/v1.pods","Output":"    storage path mismatch\n"}`,
		`{"Action":"fail","Package":"k8s.io/kubernetes/test/integration/etcd","Test":"TestEtcdStoragePath/v1.pods"}`,
		`{"Action":"output","Package":"k8s.io/kubernetes/test/integration/etcd","Test":"TestEtcdStoragePath","Output":"--- FAIL: TestEtcdStoragePath (3.00s)\n"}`,
		`{"Action":"fail","Package":"k8s.io/kubernetes/test/integration/etcd","Test":"TestEtcdStoragePath"}`,
		`{"Action":"fail","Package":"k8s.io/kubernetes/test/integration/etcd","Elapsed":3.5}`,
		`not json: go printed this`,
		`{"Action":"pass","Package":"k8s.io/kubernetes/test/integration/controlplane","Elapsed":1.5}`,
		`{"Action":"output","Package":"k8s.io/kubernetes/test/integration/leaky","Output":"goleak: found unexpected goroutines\n"}`,
		`{"Action":"fail","Package":"k8s.io/kubernetes/test/integration/leaky"}`,
		`{"ImportPath":"k8s.io/kubernetes/test/integration/broken [k8s.io/kubernetes/test/integration/broken.test]","Action":"build-output","Output":"broken.go:1: undefined: x\n"}`,
		`{"ImportPath":"k8s.io/kubernetes/test/integration/broken [k8s.io/kubernetes/test/integration/broken.test]","Action":"build-fail"}`,
		`{"Action":"fail","Package":"k8s.io/kubernetes/test/integration/broken","FailedBuild":"k8s.io/kubernetes/test/integration/broken [k8s.io/kubernetes/test/integration/broken.test]"}`,
	}, "\n")
	res := ParseTestEvents(strings.NewReader(stream))
	assert.Equal(t, []string{
		"k8s.io/kubernetes/test/integration/broken (package)",
		"k8s.io/kubernetes/test/integration/etcd.TestEtcdStoragePath",
		"k8s.io/kubernetes/test/integration/leaky (package)",
	}, res.Failed, "top-level tests, and packages that failed without a failing test")
	assert.Contains(t, res.Tail, "--- FAIL: TestEtcdStoragePath")
	assert.Contains(t, res.Tail, "goleak: found unexpected goroutines")
	assert.Contains(t, res.Tail, "undefined: x")
	assert.Equal(t, 5.0, res.TestSeconds)
}

func TestFailuresOnTheBaselineAreNotBlamed(t *testing.T) {
	base := []IntegrationRun{{Suite: "s", Failed: []string{"k8s.io/kubernetes/test/integration/etcd.TestFlaky", "k8s.io/kubernetes/test/integration/x (package)"}}}
	run := IntegrationRun{Suite: "s", Failed: []string{
		"k8s.io/kubernetes/test/integration/etcd.TestFlaky",
		"k8s.io/kubernetes/test/integration/etcd.TestNew",
		"k8s.io/kubernetes/test/integration/x (package)",
	}}
	blameAgainstBaseline(base, &run)
	assert.Equal(t, []string{"k8s.io/kubernetes/test/integration/etcd.TestFlaky"}, run.FailsOnBaseline)
	assert.Equal(t, []string{"k8s.io/kubernetes/test/integration/etcd.TestNew", "k8s.io/kubernetes/test/integration/x (package)"}, run.Blamed(),
		"a new failure, and a package-level failure even if the baseline had it (a broken setup is no excuse)")
}

func TestSuitesFor(t *testing.T) {
	names := func(ss []Suite) (out []string) {
		for _, s := range ss {
			out = append(out, s.Name)
		}
		return out
	}
	assert.Empty(t, suitesFor(IntegrationFull, false), "no suite runs before the last step")
	assert.Len(t, suitesFor(IntegrationFull, true), len(Suites), "the last step runs every suite")
	assert.Equal(t, []string{"generic"}, names(suitesFor(IntegrationFast, true)))
	assert.Empty(t, suitesFor(IntegrationFast, false))
	assert.Empty(t, suitesFor(IntegrationOff, true))
}

func TestRunPatternOfFailedTests(t *testing.T) {
	failed := []string{"k8s.io/kubernetes/test/integration/controlplane.TestRun", "k8s.io/kubernetes/test/integration/x (package)", "k8s.io/apiextensions-apiserver/test/integration.TestServerUp"}
	assert.Equal(t, "^(TestRun|TestServerUp)$", runPattern(testNames(failed)))
}
