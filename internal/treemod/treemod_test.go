package treemod

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/modfile"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
}

func TestWritePointsKubernetesAndStagingAtTheTree(t *testing.T) {
	tree := filepath.Join(t.TempDir(), "kk")
	writeFile(t, filepath.Join(tree, "go.mod"), "module k8s.io/kubernetes\n")
	writeFile(t, filepath.Join(tree, "staging/src/k8s.io/api/go.mod"), "module k8s.io/api\n")
	writeFile(t, filepath.Join(tree, "staging/src/k8s.io/apiserver/go.mod"), "module k8s.io/apiserver\n")
	require.NoError(t, os.MkdirAll(filepath.Join(tree, "staging/src/k8s.io/not-a-module"), 0o755))

	mod := filepath.Join(t.TempDir(), "go.mod")
	writeFile(t, mod, "module example.com/m\n\ngo 1.26\n\nrequire k8s.io/api v0.37.2\n\nreplace k8s.io/api => k8s.io/api v0.37.2\n")
	writeFile(t, filepath.Join(filepath.Dir(mod), "go.sum"), "sums\n")
	out := filepath.Join(t.TempDir(), "sub", "tree.mod")

	n, err := Write(tree, mod, out)
	require.NoError(t, err)
	require.Equal(t, 2, n)

	data, err := os.ReadFile(out)
	require.NoError(t, err)
	f, err := modfile.Parse(out, data, nil)
	require.NoError(t, err)
	got := map[string]string{}
	for _, r := range f.Replace {
		got[r.Old.Path] = r.New.Path
	}
	want := map[string]string{
		"k8s.io/kubernetes": tree,
		"k8s.io/api":        filepath.Join(tree, "staging/src/k8s.io/api"),
		"k8s.io/apiserver":  filepath.Join(tree, "staging/src/k8s.io/apiserver"),
	}
	require.Empty(t, cmp.Diff(want, got), "replacements (-want +got)")
	sum, err := os.ReadFile(filepath.Join(filepath.Dir(out), "tree.sum"))
	require.NoError(t, err)
	require.Equal(t, "sums\n", string(sum))
}

func TestWriteRefusesWhatIsNotATree(t *testing.T) {
	_, err := Write(t.TempDir(), "go.mod", filepath.Join(t.TempDir(), "tree.mod"))
	require.ErrorContains(t, err, "is not a k/k tree")
}
