package rules

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDefaultClasses(t *testing.T) {
	c := DefaultClasses()
	tests := []struct {
		path     string
		standard bool
		want     Class
	}{
		{"fmt", true, Class{"stdlib", "stdlib"}},
		{"k8s.io/kubernetes/pkg/kubelet/client", false, Class{"kubernetes/pkg", "kubernetes"}},
		{"k8s.io/kubernetes/plugin/pkg/admission/limitranger", false, Class{"kubernetes/plugin", "kubernetes"}},
		{"k8s.io/kubernetes/cmd/kube-apiserver/app", false, Class{"kubernetes/cmd", "kubernetes"}},
		{"k8s.io/kubernetes/third_party/forked/gonum/graph", false, Class{"kubernetes/other", "kubernetes"}},
		{"k8s.io/apiserver/pkg/server", false, Class{"staging/k8s.io/apiserver", "staging"}},
		{"k8s.io/api/core/v1", false, Class{"staging/k8s.io/api", "staging"}},
		{"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions", false, Class{"staging/k8s.io/apiextensions-apiserver", "staging"}},
		{"k8s.io/klog/v2", false, Class{"third-party", "third-party"}},
		{"github.com/spf13/cobra", false, Class{"third-party", "third-party"}},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, c.Classify(tt.path, tt.standard), tt.path)
	}
	assert.Equal(t, "kubernetes", c.Headline())
	assert.Equal(t, []string{"stdlib", "kubernetes", "staging", "third-party"}, c.Groups())
	assert.Equal(t, []string{"cluster-specific"}, c.Sets("k8s.io/kubernetes/pkg/kubelet/client"))
	assert.Equal(t, []string{"cluster-specific"}, c.Sets("k8s.io/kubernetes/pkg/registry/core/pod"))
	assert.Empty(t, c.Sets("k8s.io/kubernetes/pkg/registry/core/namespace"))
}

func TestParseClassesErrors(t *testing.T) {
	for name, doc := range map[string]string{
		"empty":           "classes: []",
		"unknown field":   "classes:\n- name: a\n  group: b\n  match: [x]\n  bogus: 1",
		"matches nothing": "classes:\n- name: a\n  group: b",
		"bad headline":    "headline: nope\nclasses:\n- name: a\n  group: b\n  match: [x]",
		"bad pattern":     "classes:\n- name: a\n  group: b\n  match: ['a b']",
	} {
		_, err := ParseClasses([]byte(doc))
		assert.Error(t, err, name)
	}
}

func TestRepoRuleFilesParse(t *testing.T) {
	files, err := filepath.Glob("*.yaml")
	require.NoError(t, err)
	for _, f := range files {
		if f == "classes.yaml" {
			continue
		}
		rs, err := LoadImportRules(f)
		require.NoError(t, err, f)
		assert.NotEmpty(t, rs, f)
		for _, r := range rs {
			assert.NotEmpty(t, r.Reason, "%s: rule %q needs a reason: the report and vet print it", f, r.Name)
		}
	}
}

func TestImportRules(t *testing.T) {
	rs, err := ParseImportRules([]byte(`
rules:
- name: no-kubelet
  from: [example.com/a/...]
  forbid: [example.com/kubelet/...]
`))
	require.NoError(t, err)
	require.Len(t, rs, 1)
	assert.True(t, rs[0].AppliesTo("example.com/a/b"))
	assert.False(t, rs[0].AppliesTo("example.com/b"))
	assert.True(t, rs[0].Forbids("example.com/kubelet/client"))
	assert.False(t, rs[0].Forbids("example.com/kubeletx"))

	many, err := ParseImportRules([]byte(`
rules:
- {name: a, from: [x/y, x/z/...], forbid: [q]}
- {name: b, from: [x/y, w], forbid: [q]}
`))
	require.NoError(t, err)
	assert.Equal(t, []string{"x/y", "w"}, Roots(many))

	for name, doc := range map[string]string{
		"no rules":   "rules: []",
		"no name":    "rules:\n- from: [a]\n  forbid: [b]",
		"no forbid":  "rules:\n- name: x\n  from: [a]",
		"duplicate":  "rules:\n- {name: x, from: [a], forbid: [b]}\n- {name: x, from: [a], forbid: [b]}",
		"typo field": "rules:\n- {name: x, form: [a], forbid: [b]}",
	} {
		_, err := ParseImportRules([]byte(doc))
		assert.Error(t, err, name)
	}
	_, err = LoadImportRules(filepath.Join(t.TempDir(), "missing.yaml"))
	assert.ErrorIs(t, err, os.ErrNotExist)
}
