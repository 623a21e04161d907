// Package seriestest makes synthetic series layouts for the tests of the
// commands that read one (cmd/series, cmd/prove): a patches folder and a git
// tree tagged with the pin, without a Kubernetes tree behind them.
package seriestest

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/generic-controlplane/gcp/internal/gitx"
)

// Tag is the pin the synthetic layouts use (patches/BASE).
const Tag = "v1.37.2"

// Synthetic makes, in a temporary directory it returns, patches/BASE pinning
// k8s.io/kubernetes at Tag, patches/series listing seriesFile (one name a
// line), and tree/: a git repository holding treeFiles (path relative to the
// tree -> content) in one commit tagged Tag.
func Synthetic(t testing.TB, seriesFile string, treeFiles map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	write := func(rel, content string) {
		p := filepath.Join(dir, rel)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	write("patches/BASE", "k8s.io/kubernetes "+Tag+"\n")
	write("patches/series", "# test series\n"+seriesFile)
	for rel, content := range treeFiles {
		write(filepath.Join("tree", rel), content)
	}
	repo := gitx.Repo{Dir: filepath.Join(dir, "tree"), Env: []string{
		"GIT_AUTHOR_NAME=Dev", "GIT_AUTHOR_EMAIL=dev@example.com",
		"GIT_COMMITTER_NAME=Dev", "GIT_COMMITTER_EMAIL=dev@example.com",
	}}
	for _, args := range [][]string{
		{"init", "--quiet"}, {"add", "-A"}, {"commit", "--quiet", "-m", "upstream"}, {"tag", Tag},
	} {
		_, err := repo.Run(context.Background(), args...)
		require.NoError(t, err, "git %v", args)
	}
	return dir
}
