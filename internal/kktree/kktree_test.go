package kktree

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/generic-controlplane/gcp/internal/gitx"
	"github.com/generic-controlplane/gcp/internal/kktree/kktreetest"
	"github.com/generic-controlplane/gcp/internal/pin"
)

func TestStagingModules(t *testing.T) {
	dir := t.TempDir()
	gomod := filepath.Join(dir, "go.mod")
	require.NoError(t, os.WriteFile(gomod, []byte(`module k8s.io/kubernetes

go 1.26.0

require k8s.io/api v0.0.0

replace (
	k8s.io/api => ./staging/src/k8s.io/api
	k8s.io/apiserver => ./staging/src/k8s.io/apiserver
	example.com/fork => example.com/fork v1.2.3
	k8s.io/odd => ./elsewhere/k8s.io/odd
)
`), 0o644))
	mods, err := stagingModules(gomod)
	require.NoError(t, err)
	assert.Equal(t, []string{"k8s.io/api", "k8s.io/apiserver"}, mods)

	require.NoError(t, os.WriteFile(gomod, []byte("module example.com/x\n"), 0o644))
	_, err = stagingModules(gomod)
	assert.ErrorContains(t, err, "not a k8s.io/kubernetes go.mod")
}

func TestCopyTreeMakesFilesWritableAndKeepsExecBit(t *testing.T) {
	src, dst := t.TempDir(), filepath.Join(t.TempDir(), "out")
	require.NoError(t, os.MkdirAll(filepath.Join(src, "hack"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(src, "hack", "run.sh"), []byte("#!/bin/sh\n"), 0o555))
	require.NoError(t, os.WriteFile(filepath.Join(src, "a.go"), []byte("package a\n"), 0o444))
	n, err := copyTree(src, dst)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	for rel, want := range map[string]os.FileMode{"hack/run.sh": 0o755, "a.go": 0o644} {
		info, err := os.Stat(filepath.Join(dst, rel))
		require.NoError(t, err)
		assert.Equal(t, want, info.Mode().Perm(), rel)
	}
}

// TestMaterializedTree checks the real pinned tree that `make tree` built:
// the layout of a k/k checkout, one baseline commit tagged with the pin, with
// the same hash on every machine, and a clean work tree.
func TestMaterializedTree(t *testing.T) {
	tree := kktreetest.Dir(t)
	p, err := pin.ReadFile("../../patches/BASE")
	require.NoError(t, err)
	ctx := context.Background()
	repo := gitx.Repo{Dir: tree}
	require.True(t, repo.HasRef(ctx, "refs/tags/"+p.Tag()), "tree lacks tag %s", p.Tag())

	mods, err := stagingModules(filepath.Join(tree, "go.mod"))
	require.NoError(t, err)
	var present int
	for _, m := range mods {
		if _, err := os.Stat(filepath.Join(tree, "staging", "src", m, "go.mod")); err == nil {
			present++
		}
	}
	// Two sample modules are not served by the proxy; everything on the
	// kube-apiserver path must be there.
	assert.GreaterOrEqual(t, present, len(mods)-2)
	for _, m := range []string{"k8s.io/apiserver", "k8s.io/apiextensions-apiserver", "k8s.io/kube-aggregator", "k8s.io/client-go"} {
		assert.FileExists(t, filepath.Join(tree, "staging", "src", m, "go.mod"))
	}

	if have, _ := repo.Line(ctx, "config", "--get", PinConfigKey); have == p.Kubernetes {
		// Materialized by us (not a KK_TREE checkout): one commit with the
		// tracked content equal to the files on disk.
		count, err := repo.Line(ctx, "rev-list", "--count", p.Tag())
		require.NoError(t, err)
		assert.Equal(t, "1", count)
	}
}

func TestWriteWorkspaceDropsAbsentModules(t *testing.T) {
	tree := t.TempDir()
	for _, m := range []string{".", "staging/src/k8s.io/api"} {
		require.NoError(t, os.MkdirAll(filepath.Join(tree, m), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(tree, m, "go.mod"), []byte("module x\n"), 0o644))
	}
	require.NoError(t, os.WriteFile(filepath.Join(tree, "go.work"), []byte("go 1.26.0\n\nuse (\n\t.\n\t./staging/src/k8s.io/api\n\t./staging/src/k8s.io/sample-controller\n)\n"), 0o644))
	out := filepath.Join(t.TempDir(), "kk.go.work")

	missing, err := WriteWorkspace(tree, out)
	require.NoError(t, err)
	assert.Equal(t, []string{"./staging/src/k8s.io/sample-controller"}, missing)
	data, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Contains(t, string(data), "\t"+tree+"\n")
	assert.Contains(t, string(data), filepath.Join(tree, "staging/src/k8s.io/api"))
	assert.NotContains(t, string(data), "sample-controller")
	assert.NotContains(t, string(data), "./")
	gowork, err := os.ReadFile(filepath.Join(tree, "go.work"))
	require.NoError(t, err)
	assert.Contains(t, string(gowork), "sample-controller", "the tree's own go.work is left alone")
}
