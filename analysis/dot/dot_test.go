package dot

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/generic-controlplane/gcp/analysis/depgraph"
	"github.com/generic-controlplane/gcp/analysis/pathpattern"
	"github.com/generic-controlplane/gcp/analysis/testtree"
)

func loadBase(t *testing.T) *depgraph.Graph {
	t.Helper()
	g, err := depgraph.Load(context.Background(), depgraph.Options{
		Dir: testtree.Extract(t, "base"), Roots: []string{"./cmd/server"}, Env: testtree.Env,
	})
	require.NoError(t, err)
	return g
}

func render(t *testing.T, g *depgraph.Graph, opts Options) string {
	t.Helper()
	var b strings.Builder
	require.NoError(t, Write(&b, g, opts))
	return b.String()
}

func TestWriteFull(t *testing.T) {
	out := render(t, loadBase(t), Options{Depth: -1})
	assert.Contains(t, out, `"k8s.io/kubernetes/pkg/registry/core/pod" -> "k8s.io/kubernetes/pkg/kubelet/client";`)
	assert.Contains(t, out, `"k8s.io/kubernetes/cmd/server" [label="k8s.io/kubernetes/cmd/server", fillcolor="#f4cccc", penwidth=3];`)
	assert.NotContains(t, out, `"strings"`, "stdlib is left out by default")
	assert.Contains(t, render(t, loadBase(t), Options{Depth: -1, Stdlib: true}), `"strings"`)
}

func TestWriteCollapse(t *testing.T) {
	g := loadBase(t)
	out := render(t, g, Options{Depth: -1, Collapse: []*pathpattern.Pattern{pathpattern.MustCompile("k8s.io/kubernetes/pkg/registry/...")}})
	assert.Contains(t, out, `"k8s.io/kubernetes/pkg/registry" [label="k8s.io/kubernetes/pkg/registry\n(2 packages)"`)
	assert.Contains(t, out, `"k8s.io/kubernetes/pkg/controlplane" -> "k8s.io/kubernetes/pkg/registry" [label="2"];`)
	assert.NotContains(t, out, "registry/core/pod")

	out = render(t, g, Options{Depth: -1, Collapse: []*pathpattern.Pattern{pathpattern.MustCompile("k8s.io/kubernetes/pkg/*")}})
	assert.Contains(t, out, `"k8s.io/kubernetes/pkg/registry" -> "k8s.io/kubernetes/pkg/kubelet";`)
}

func TestWriteDepth(t *testing.T) {
	g := loadBase(t)
	out := render(t, g, Options{Depth: 0})
	assert.Contains(t, out, `"k8s.io/kubernetes" -> "k8s.io/apiserver" [label="3"];`)
	assert.Contains(t, out, `"k8s.io/apiserver" -> "example.com/yaml";`)
	out = render(t, g, Options{Depth: 1})
	assert.Contains(t, out, `"k8s.io/kubernetes/cmd" -> "k8s.io/kubernetes/pkg";`)
	assert.Contains(t, out, `"k8s.io/kubernetes/pkg" -> "k8s.io/apiserver/pkg" [label="2"];`)
}

func TestSVG(t *testing.T) {
	out := filepath.Join(t.TempDir(), "g.svg")
	if _, err := exec.LookPath("dot"); err != nil {
		err := SVG(context.Background(), []byte("digraph{a->b}"), out)
		assert.ErrorIs(t, err, ErrNoGraphviz)
		assert.Contains(t, err.Error(), "apt-get install graphviz")
		return
	}
	require.NoError(t, SVG(context.Background(), []byte("digraph{a->b}"), out))
	data, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Contains(t, string(data), "<svg")
}
