package prove

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/generic-controlplane/gcp/internal/series"
)

func TestLintFilesJudgesWhatTheSeriesTouched(t *testing.T) {
	ctx := context.Background()
	dir, write, run := newTestRepo(t)
	const header = "/*\nCopyright YEAR The Kubernetes Authors.\n*/\n"
	licensed := "/*\nCopyright 2026 The Kubernetes Authors.\n*/\n\npackage a\n"
	write(series.BoilerplatePath, header)
	write("pkg/a/old.go", licensed)
	write("pkg/a/nolicense.go", "package a\n") // upstream's own exception
	write("pkg/a/gone.go", licensed)
	run("init", "-q")
	run("add", "-A")
	run("commit", "-qm", "base")
	run("tag", "v1.0.0")

	write("pkg/a/old.go", licensed+"var  X = 1\n")          // not gofmt-clean
	write("pkg/a/nolicense.go", "package a\n\nvar Y = 2\n") // still without, as at the baseline
	write("pkg/a/new.go", "package a\n")                    // new, without the header
	write("pkg/a/newok.go", licensed)
	write("vendor/x/x.go", "package x\nvar  Z = 1\n")
	require.NoError(t, os.Remove(filepath.Join(dir, "pkg/a/gone.go")))
	run("add", "-A")
	run("commit", "-qm", "patch")

	files, err := touchedGoFiles(ctx, dir, "v1.0.0")
	require.NoError(t, err)
	assert.Equal(t, []string{"pkg/a/new.go", "pkg/a/newok.go", "pkg/a/nolicense.go", "pkg/a/old.go"}, files, "deleted and vendored files are not checked")

	r := &runner{tree: dir, s: &series.Series{Base: "v1.0.0"}}
	gofmt, boilerplate := r.lintFiles(ctx, files)
	assert.Equal(t, []string{"pkg/a/old.go"}, gofmt)
	assert.Equal(t, []string{"pkg/a/new.go"}, boilerplate)
}

func TestHasStorageRegistry(t *testing.T) {
	tree := t.TempDir()
	assert.False(t, hasStorageRegistry(tree), "a prefix before the registry patch")
	f := filepath.Join(tree, storageRegistryFile)
	require.NoError(t, os.MkdirAll(filepath.Dir(f), 0o755))
	require.NoError(t, os.WriteFile(f, []byte("package factory\n"), 0o644))
	assert.True(t, hasStorageRegistry(tree))
}
