package prove

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// baseSurface is a small kube-apiserver surface to vary.
func baseSurface() Surface {
	return Surface{
		AspectFlags:        {"      --admission-control-config-file string", "      --etcd-prefix string"},
		AspectServed:       {"v1/configmaps", "v1/pods"},
		AspectReadyz:       {"etcd", "ping", "poststarthook/start-apiextensions-informers"},
		AspectLivez:        {"etcd", "ping", "poststarthook/start-apiextensions-informers"},
		AspectHooks:        {"start-apiextensions-informers"},
		AspectMutating:     {"NamespaceLifecycle", "LimitRanger", "ServiceAccount"},
		AspectValidating:   {"LimitRanger", "ServiceAccount", "PodSecurity", "ResourceQuota"},
		AspectEtcdPrefixes: {"/registry/masterleases", "/registry/services/specs"},
	}
}

func clone(s Surface) Surface {
	out := Surface{}
	for k, v := range s {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// proveSteps runs the comparison the runner makes over a baseline and the
// given patch steps, as judgeSurface does, and returns the patch steps.
func proveSteps(t *testing.T, base Surface, patches ...struct {
	decl    string
	surface Surface
}) []*Step {
	t.Helper()
	last := newMeasured()
	b := &Step{Index: 0, Applies: true, Builds: true, Tests: TestResult{Passed: true}}
	CompareSurface(b, base, last, base)
	require.Empty(t, b.Problems, "the baseline has nothing to compare with")
	last.record(0, base)
	var steps []*Step
	for i, p := range patches {
		d := ParseDeclaration("Body.\n\n" + p.decl + "\n")
		s := &Step{Index: i + 1, Patch: "000" + string(rune('1'+i)) + "-x.patch", Declared: &d,
			Applies: true, Builds: true, Tests: TestResult{Passed: true}}
		if d.Problem != "" {
			s.Problems = append(s.Problems, d.Problem)
		}
		CompareSurface(s, p.surface, last, base)
		last.record(s.Index, p.surface)
		steps = append(steps, s)
	}
	return steps
}

type patchStep = struct {
	decl    string
	surface Surface
}

func TestUndeclaredAdmissionReorderIsNotGreen(t *testing.T) {
	base := baseSurface()
	reordered := clone(base)
	reordered[AspectValidating] = []string{"LimitRanger", "PodSecurity", "ServiceAccount", "ResourceQuota"}

	steps := proveSteps(t, base, patchStep{"kube-apiserver: no change", reordered})
	s := steps[0]
	assert.False(t, s.Green())
	require.Len(t, s.Problems, 1)
	assert.Equal(t, "patch 0001-x.patch: undeclared kube-apiserver change: validating admission order: "+
		"LimitRanger,ServiceAccount,PodSecurity,ResourceQuota -> LimitRanger,PodSecurity,ServiceAccount,ResourceQuota", s.Problems[0])
	for _, c := range s.Aspects {
		assert.Equal(t, c.Aspect != AspectValidating, c.SamePrev, c.Aspect)
	}
}

func TestDeclaredChangeIsAcceptedAndNotBlamedLater(t *testing.T) {
	base := baseSurface()
	changed := clone(base)
	changed[AspectValidating] = []string{"LimitRanger", "PodSecurity", "ServiceAccount", "ResourceQuota"}
	changed[AspectFlags] = append(changed[AspectFlags], "      --new-flag")
	later := clone(changed)
	later[AspectEtcdPrefixes] = append(later[AspectEtcdPrefixes], "/registry/leases/kube-system")

	steps := proveSteps(t, base,
		patchStep{"kube-apiserver: change: PodSecurity validates before ServiceAccount; --new-flag", changed},
		patchStep{"KUBE-APISERVER: No change.", changed},
		patchStep{"kube-apiserver: no change", later},
	)

	first := steps[0]
	assert.True(t, first.Green(), "a declared change is accepted: %v", first.Problems)
	assert.Equal(t, DeclaredChange, first.Declared.Kind)
	var declared []string
	for _, c := range first.Aspects {
		if c.Declared {
			declared = append(declared, c.Aspect)
		}
	}
	assert.ElementsMatch(t, []string{AspectFlags, AspectValidating}, declared)

	second := steps[1]
	assert.True(t, second.Green(), "differs from the baseline only by what patch 1 declared: %v", second.Problems)
	for _, c := range second.Aspects {
		assert.True(t, c.SamePrev, c.Aspect)
		assert.Equal(t, c.Aspect != AspectFlags && c.Aspect != AspectValidating, c.SameBase, c.Aspect)
	}

	third := steps[2]
	assert.False(t, third.Green())
	require.Len(t, third.Problems, 1, "only its own difference is blamed")
	assert.Equal(t, "patch 0003-x.patch: undeclared kube-apiserver change: etcd key prefixes: added `/registry/leases/kube-system`", third.Problems[0])
}

func TestMissingDeclarationIsAProblem(t *testing.T) {
	base := baseSurface()
	steps := proveSteps(t, base, patchStep{"Nothing declared; cmd/kube-apiserver: 465 -> 465.", clone(base)})
	assert.False(t, steps[0].Green())
	assert.Contains(t, steps[0].Problems[0], "no kube-apiserver declaration")
}

func TestCompareSkipsWhatWasNotMeasured(t *testing.T) {
	base := baseSurface()
	flagsOnly := Surface{AspectFlags: base[AspectFlags]} // kube-apiserver did not start
	moved := clone(base)
	moved[AspectMutating] = []string{"LimitRanger", "NamespaceLifecycle", "ServiceAccount"}
	steps := proveSteps(t, base,
		patchStep{"kube-apiserver: no change", flagsOnly},
		patchStep{"kube-apiserver: no change", moved},
	)
	assert.Empty(t, steps[0].Problems)
	require.Len(t, steps[1].Problems, 1)
	assert.Contains(t, steps[1].Problems[0], "patch 0002-x.patch: undeclared kube-apiserver change: mutating admission order: NamespaceLifecycle,LimitRanger")
	for _, c := range steps[1].Aspects {
		if c.Aspect == AspectMutating {
			assert.Equal(t, 0, c.Since, "compared with the baseline, the last step that measured it")
		}
	}
}

func TestParseDeclaration(t *testing.T) {
	for _, tc := range []struct {
		body, kind, text, problem string
	}{
		{"x\nkube-apiserver: no change\n", DeclaredNoChange, "", ""},
		{"  Kube-APIServer:  NO CHANGE.\n", DeclaredNoChange, "", ""},
		{"kube-apiserver: change: drops --foo\n", DeclaredChange, "drops --foo", ""},
		{"kube-apiserver: change: a\nkube-apiserver: change: b\n", DeclaredChange, "a; b", ""},
		{"kube-apiserver: change:\n", "", "", "does not say what changes"},
		{"kube-apiserver: no change\nkube-apiserver: change: x\n", "", "", "declares both"},
		{"- cmd/kube-apiserver: 465 -> 465\nkube-apiserver --help is unchanged\n", "", "", "no kube-apiserver declaration"},
	} {
		d := ParseDeclaration(tc.body)
		assert.Equal(t, tc.kind, d.Kind, tc.body)
		assert.Equal(t, tc.text, d.Text, tc.body)
		if tc.problem == "" {
			assert.Empty(t, d.Problem, tc.body)
		} else {
			assert.Contains(t, d.Problem, tc.problem, tc.body)
		}
	}
}

func TestParseHealthChecksAndHooks(t *testing.T) {
	readyz := "[+]ping ok\n[+]log ok\n[+]etcd ok\n[+]poststarthook/start-apiextensions-informers ok\n[-]poststarthook/rbac/bootstrap-roles failed: reason withheld\nreadyz check failed\n"
	livez := "[+]ping ok\n[+]poststarthook/start-apiextensions-informers ok\n[+]poststarthook/bootstrap-controller ok\nlivez check passed\n"
	r, l := ParseHealthChecks(readyz), ParseHealthChecks(livez)
	assert.Equal(t, []string{"etcd", "log", "ping", "poststarthook/rbac/bootstrap-roles (failing)", "poststarthook/start-apiextensions-informers"}, r)
	assert.Equal(t, []string{"bootstrap-controller", "rbac/bootstrap-roles", "start-apiextensions-informers"}, PostStartHooks(r, l))
}

func TestParseAdmissionOrder(t *testing.T) {
	log := strings.Join([]string{
		`I1201 23:30:01.000000   1 plugins.go:157] Loaded 3 mutating admission controller(s) successfully in the following order: NamespaceLifecycle,LimitRanger,ServiceAccount.`,
		`I1201 23:30:01.000000   1 plugins.go:160] Loaded 2 validating admission controller(s) successfully in the following order: LimitRanger,ResourceQuota.`,
		`I1201 23:30:02.000000   1 plugins.go:157] Loaded 3 mutating admission controller(s) successfully in the following order: NamespaceLifecycle,LimitRanger,ServiceAccount.`,
		`I1201 23:30:02.000000   1 plugins.go:160] Loaded 1 validating admission controller(s) successfully in the following order: ResourceQuota.`,
	}, "\n")
	m, v := ParseAdmissionOrder(log)
	assert.Equal(t, []string{"NamespaceLifecycle", "LimitRanger", "ServiceAccount"}, m, "a repeated chain counts once")
	assert.Equal(t, []string{"LimitRanger", "ResourceQuota", "|", "ResourceQuota"}, v, "distinct chains are all kept")
}

func TestEtcdPrefixes(t *testing.T) {
	keys := []string{
		"/registry/services/specs/default/kubernetes",
		"/registry/services/endpoints/default/kubernetes",
		"/registry/masterleases/127.0.0.1",
		"/registry/configmaps/kube-system/extension-apiserver-authentication",
		"/registry/configmaps/kube-system/other",
		"/registry/namespaces/default",
		"/registry/apiregistration.k8s.io/apiservices/v1.apps",
		"/registry/health",
		"/other/x/y",
	}
	assert.Equal(t, []string{
		"/registry/apiregistration.k8s.io/apiservices",
		"/registry/configmaps/kube-system",
		"/registry/masterleases",
		"/registry/namespaces",
		"/registry/services/endpoints",
		"/registry/services/specs",
	}, EtcdPrefixes("/registry", keys))
}

func TestOrderDiffShowsTheChangedStretch(t *testing.T) {
	prev := []string{"LimitRanger", "ServiceAccount", "PodSecurity", "Priority", "RuntimeClass", "ResourceQuota"}
	now := []string{"LimitRanger", "ServiceAccount", "Priority", "PodSecurity", "RuntimeClass", "ResourceQuota"}
	assert.Equal(t, "…,ServiceAccount,PodSecurity,Priority,RuntimeClass,… -> …,ServiceAccount,Priority,PodSecurity,RuntimeClass,…", orderDiff(prev, now))
	assert.Equal(t, "…,ResourceQuota -> …,ResourceQuota,Extra", orderDiff(prev, append(append([]string(nil), prev...), "Extra")))
	assert.Equal(t, "(none) -> A", orderDiff(nil, []string{"A"}))
}

func TestFlagsDiffNamesFlags(t *testing.T) {
	prev := []string{"Generic flags:", "", "      --etcd-prefix string   The prefix (default \"/registry\")", "  -h, --help   help", "      --gone int   x"}
	now := []string{"Generic flags:", "", "      --etcd-prefix string   The prefix (default \"/other\")", "  -h, --help   help", "      --new-flag   y"}
	assert.Equal(t, "changed `--etcd-prefix`; added `--new-flag`; removed `--gone`", flagsDiff(prev, now))
}
