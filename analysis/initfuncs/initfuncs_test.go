package initfuncs

import (
	"context"
	"go/token"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCountFile(t *testing.T) {
	tests := map[string]struct {
		src  string
		want int
	}{
		"none":           {"package a\nfunc main() {}\n", 0},
		"two":            {"package a\nfunc init() {}\nfunc init() {}\n", 2},
		"method is not":  {"package a\ntype T int\nfunc (T) init() {}\n", 0},
		"var is not":     {"package a\nvar init2 = 1\nfunc initialize() {}\n", 0},
		"comment is not": {"package a\n// func init() {}\n", 0},
	}
	for name, tt := range tests {
		n, err := CountFile(token.NewFileSet(), name+".go", []byte(tt.src))
		require.NoError(t, err, name)
		assert.Equal(t, tt.want, n, name)
	}
	_, err := CountFile(token.NewFileSet(), "bad.go", []byte("package a\nfunc init( {"))
	assert.Error(t, err)
}

func TestCount(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644))
	}
	write("a.go", "package a\nfunc init() {}\n")
	write("b.go", "package a\nfunc init() {}\nfunc init() {}\n")
	write("c.go", "package c\n")
	got, err := Count(context.Background(), []Package{
		{Dir: dir, Files: []string{"a.go", "b.go"}},
		{Dir: dir, Files: []string{"c.go"}},
		{Dir: dir},
	})
	require.NoError(t, err)
	assert.Equal(t, []int{3, 0, 0}, got)

	_, err = Count(context.Background(), []Package{{Dir: dir, Files: []string{"missing.go"}}})
	assert.Error(t, err)
}

func TestCountCaches(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "a.go")
	require.NoError(t, os.WriteFile(name, []byte("package a\nfunc init() {}\n"), 0o644))
	pkgs := []Package{{Dir: dir, Files: []string{"a.go"}}}
	got, err := Count(context.Background(), pkgs)
	require.NoError(t, err)
	assert.Equal(t, []int{1}, got)

	// A file changed in place is read again, not answered from memory.
	require.NoError(t, os.WriteFile(name, []byte("package a\nfunc init() {}\nfunc init() {}\n"), 0o644))
	got, err = Count(context.Background(), pkgs)
	require.NoError(t, err)
	assert.Equal(t, []int{2}, got)

	// The same contents elsewhere give the same count.
	other := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(other, "b.go"), []byte("package a\nfunc init() {}\n"), 0o644))
	got, err = Count(context.Background(), []Package{{Dir: other, Files: []string{"b.go"}}})
	require.NoError(t, err)
	assert.Equal(t, []int{1}, got)
}
