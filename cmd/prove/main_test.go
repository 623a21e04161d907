package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/generic-controlplane/gcp/internal/prove"
	"github.com/generic-controlplane/gcp/internal/series/seriestest"
)

// proveCmd runs the command in-process and returns exit code and output.
func proveCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestUsage(t *testing.T) {
	code, stdout, stderr := proveCmd(t, "--help")
	assert.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "usage: prove [flags]")
	assert.Contains(t, stdout, "-reports string")
	assert.Contains(t, stdout, `(default "_output/reports")`)
	assert.Contains(t, stdout, "make reports")

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"--upto=x"}, `invalid value "x" for flag -upto`},
		{[]string{"--upto=-1"}, "invalid value -1 for flag --upto"},
		{[]string{"--integration=sometimes"}, `invalid value "sometimes" for flag --integration: want off, fast or full`},
		{[]string{"extra"}, `unexpected argument "extra"`},
		{[]string{"--kubectl=/nonexistent/kubectl"}, "flag --kubectl: stat /nonexistent/kubectl: no such file or directory (build it with make kubectl"},
	} {
		code, stdout, stderr := proveCmd(t, tc.args...)
		assert.Equal(t, exitError, code, "%v", tc.args)
		assert.Empty(t, stdout, "%v", tc.args)
		assert.Contains(t, stderr, "prove: "+tc.want, "%v", tc.args)
		assert.Contains(t, stderr, "\nrun 'prove --help' for the flags\n", "%v", tc.args)
	}
}

// TestOutsideRepository runs prove where there is no patches/ and no
// _output/kk, as from /tmp: exit 2, naming both absolute paths and the
// flags to pass, before anything is written.
func TestOutsideRepository(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("KK_TREE", "")
	code, _, stderr := proveCmd(t)
	assert.Equal(t, exitError, code)
	assert.Contains(t, stderr, "prove: no patches folder at "+filepath.Join(dir, "patches"))
	assert.Contains(t, stderr, filepath.Join(dir, "_output", "kk")+"  (missing)")
	for _, want := range []string{"--patches DIR", "--tree DIR", "KK_TREE", "run from the repository root"} {
		assert.Contains(t, stderr, want)
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries, "nothing written")

	// The patches there, the tree not.
	src := synthetic(t, "")
	missing := filepath.Join(dir, "no-tree")
	t.Setenv("KK_TREE", missing)
	code, _, stderr = proveCmd(t, "--patches", filepath.Join(src, "patches"))
	assert.Equal(t, exitError, code)
	assert.Contains(t, stderr, "prove: no k/k tree at "+missing)
}

// synthetic makes a series layout whose tree is a Go workspace but not
// Kubernetes; it returns the parent of patches/ and tree/.
func synthetic(t *testing.T, seriesFile string) string {
	return seriestest.Synthetic(t, seriesFile, map[string]string{
		"go.mod":  "module k8s.io/kubernetes\n\ngo 1.26\n",
		"go.work": "go 1.26\n\nuse .\n",
	})
}

// TestNotGreen proves a series on a tree that builds nothing and whose one
// patch does not apply: the proof runs, the report says so, exit 1. The
// report goes under _output/reports of the working directory by default.
func TestNotGreen(t *testing.T) {
	t.Setenv("GOPROXY", "off")
	t.Setenv("GOTOOLCHAIN", "local")
	src := synthetic(t, "0001-broken.patch\n")
	require.NoError(t, os.WriteFile(filepath.Join(src, "patches", "0001-broken.patch"), []byte("not a patch\n"), 0o644))
	cwd := t.TempDir()
	t.Chdir(cwd)
	code, _, stderr := proveCmd(t, "--patches", filepath.Join(src, "patches"), "--tree", filepath.Join(src, "tree"),
		"--work", filepath.Join(t.TempDir(), "work"), "--integration=off", "--runtime=false", "--static=false")
	assert.Equal(t, exitNotGreen, code, stderr)
	assert.Contains(t, stderr, "prove: not every patch is green")
	assert.Contains(t, stderr, "prove: step 1 (0001-broken.patch): does not apply")
	assert.Contains(t, stderr, "[prove] wrote "+filepath.Join(prove.DefaultReportDir, "prove.md"))
	md, err := os.ReadFile(filepath.Join(cwd, "_output", "reports", "prove.md"))
	require.NoError(t, err)
	assert.Contains(t, string(md), "NOT all green")
	assert.FileExists(t, filepath.Join(cwd, "_output", "reports", "prove.json"))
}

func TestCopyFrom(t *testing.T) {
	dir := t.TempDir()
	last, committed := filepath.Join(dir, "_output", "reports"), filepath.Join(dir, "reports")
	patches := filepath.Join(dir, "patches")
	require.NoError(t, os.MkdirAll(patches, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(patches, "BASE"), []byte("k8s.io/kubernetes v1.37.2\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(patches, "series"), []byte("0001-a.patch\n0002-b.patch\n"), 0o644))

	code, _, stderr := proveCmd(t, "--copy-from", last, "--reports", committed)
	assert.Equal(t, exitError, code)
	assert.Contains(t, stderr, "no report of a prove run in "+last)
	assert.Contains(t, stderr, "run make prove first")
	code, _, stderr = proveCmd(t, "--copy-from", last, "--reports", last)
	assert.Equal(t, exitError, code)
	assert.Contains(t, stderr, "--copy-from and --reports are both "+last)

	// A partial run (--upto=1), green.
	res := &prove.Result{Pin: "v1.37.2", Started: time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC), Steps: []*prove.Step{
		{Index: 0, Applies: true, Builds: true, Tests: prove.TestResult{Passed: true}},
		{Index: 1, Patch: "0001-a.patch", Applies: true, Builds: true, Tests: prove.TestResult{Passed: true}},
	}}
	require.NoError(t, prove.WriteFiles(last, res))
	code, stdout, stderr := proveCmd(t, "--copy-from", last, "--reports", committed, "--patches", patches)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "[prove] copied prove.md and prove.json from "+last+" to "+committed)
	assert.Contains(t, stdout, "run on k8s.io/kubernetes v1.37.2 started 2026-01-02 03:04 UTC: baseline and 1 patches of the 2 in "+filepath.Join(patches, "series")+" (a partial run, --upto); every patch green")
	for _, name := range prove.ReportFiles {
		want, err := os.ReadFile(filepath.Join(last, name))
		require.NoError(t, err)
		got, err := os.ReadFile(filepath.Join(committed, name))
		require.NoError(t, err)
		assert.Equal(t, string(want), string(got), name)
	}
}
