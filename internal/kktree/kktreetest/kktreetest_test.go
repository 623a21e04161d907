package kktreetest

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRepoRoot(t *testing.T) {
	root := RepoRoot(t)
	assert.FileExists(t, filepath.Join(root, "patches", "BASE"))
	wd, err := os.Getwd()
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(root, "internal", "kktree", "kktreetest"), wd)
}

// skipRecorder is a testing.TB that records a skip instead of ending the
// test; Dir's callers never continue after a skip.
type skipRecorder struct {
	testing.TB
	skipped string
}

func (s *skipRecorder) Skipf(format string, args ...any) {
	s.skipped = fmt.Sprintf(format, args...)
	panic(s)
}

func dirOrSkip(t *testing.T) (dir, skipped string) {
	rec := &skipRecorder{TB: t}
	defer func() {
		if r := recover(); r != nil && r != rec {
			panic(r)
		}
		skipped = rec.skipped
	}()
	return Dir(rec), ""
}

func TestDir(t *testing.T) {
	tree := t.TempDir()
	t.Setenv("KK_TREE", tree)
	_, skipped := dirOrSkip(t)
	assert.Contains(t, skipped, "no k/k tree at "+tree+" ($KK_TREE; go.mod missing): run `make tree`")

	for _, m := range []string{"go.mod", ".git"} {
		require.NoError(t, os.WriteFile(filepath.Join(tree, m), nil, 0o644))
	}
	dir, skipped := dirOrSkip(t)
	assert.Empty(t, skipped)
	assert.Equal(t, tree, dir)

	// Unset: the repository's _output/kk, there or not.
	t.Setenv("KK_TREE", "")
	want := filepath.Join(RepoRoot(t), "_output", "kk")
	dir, skipped = dirOrSkip(t)
	if skipped != "" {
		assert.Contains(t, skipped, want)
	} else {
		assert.Equal(t, want, dir)
	}
}
