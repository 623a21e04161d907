package golist

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// untidyModule is a module whose go.mod lacks the requirement its code needs,
// so go list -mod=mod would rewrite it.
func untidyModule(t *testing.T) (string, []byte) {
	t.Helper()
	dir := t.TempDir()
	mod := []byte("module example.com/main\n\ngo 1.26\n\nreplace example.com/dep => ./dep\n")
	files := map[string]string{
		"main.go":    "package main\n\nimport _ \"example.com/dep\"\n\nfunc main() {}\n",
		"dep/go.mod": "module example.com/dep\n\ngo 1.26\n",
		"dep/dep.go": "package dep\n",
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), mod, 0o644))
	for name, src := range files {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644))
	}
	return dir, mod
}

func TestDepsLeavesTreeUntouched(t *testing.T) {
	dir, mod := untidyModule(t)
	var paths []string
	err := Deps(context.Background(), Config{Dir: dir, Env: append(DefaultEnv, "GOPROXY=off")}, []string{"."},
		func(p *Package) error {
			paths = append(paths, p.ImportPath)
			return nil
		})
	require.NoError(t, err)
	assert.Contains(t, paths, "example.com/dep")
	assert.Contains(t, paths, "example.com/main")
	after, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	require.NoError(t, err)
	assert.Equal(t, string(mod), string(after), "go.mod must not be rewritten")
	_, err = os.Stat(filepath.Join(dir, "go.sum"))
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestDepsErrors(t *testing.T) {
	ctx := context.Background()
	visit := func(*Package) error { return nil }
	err := Deps(ctx, Config{Dir: t.TempDir()}, []string{"."}, visit)
	assert.ErrorContains(t, err, "has no go.mod")
	err = Deps(ctx, Config{Dir: filepath.Join(t.TempDir(), "missing")}, []string{"."}, visit)
	assert.ErrorIs(t, err, os.ErrNotExist)

	dir, _ := untidyModule(t)
	err = Deps(ctx, Config{Dir: dir}, nil, visit)
	assert.ErrorContains(t, err, "no root packages")

	err = Deps(ctx, Config{Dir: dir, Env: append(DefaultEnv, "GOPROXY=off")}, []string{"./nope"}, visit)
	var gl *Error
	require.True(t, errors.As(err, &gl), "%v", err)
	assert.Equal(t, dir, gl.Dir)
	assert.Contains(t, gl.Stderr, "nope")
	assert.Contains(t, err.Error(), "env: GOWORK=off GOFLAGS=-mod=mod GOPROXY=off")

	stop := errors.New("stop")
	err = Deps(ctx, Config{Dir: dir, Env: append(DefaultEnv, "GOPROXY=off")}, []string{"."}, func(*Package) error { return stop })
	assert.ErrorIs(t, err, stop)
}
