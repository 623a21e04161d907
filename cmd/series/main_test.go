package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/generic-controlplane/gcp/internal/series/seriestest"
)

// seriesCmd runs the command in-process and returns exit code and output.
func seriesCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestUsage(t *testing.T) {
	code, stdout, stderr := seriesCmd(t)
	assert.Equal(t, exitError, code)
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, "a command is required")
	assert.Contains(t, stderr, "Available Commands:")

	code, stdout, _ = seriesCmd(t, "--help")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, stdout, "Exit codes: 0 ok; 1 a finding")
	code, stdout, _ = seriesCmd(t, "check", "-h")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, stdout, "--patches")

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"check", "--bogus"}, "unknown flag: --bogus\nrun 'series check --help' for usage"},
		{[]string{"--tree"}, "flag needs an argument: --tree"},
		{[]string{"new", "--pr=abc", "title"}, `invalid argument "abc" for "--pr" flag`},
		{[]string{"frobnicate"}, `unknown command "frobnicate" for "series"`},
		{[]string{"apply", "x"}, `N must be a non-negative number of patches, got "x"`},
		{[]string{"check", "extra"}, `unknown command "extra" for "series check"`},
		{[]string{"rebase", "1.2"}, `pin "1.2": want a Kubernetes release`},
	} {
		code, _, stderr := seriesCmd(t, tc.args...)
		assert.Equal(t, exitError, code, "%v", tc.args)
		assert.Contains(t, stderr, "series: "+tc.want, "%v", tc.args)
	}
}

// TestOutsideRepository runs series where there is no patches/ and no
// _output/kk, as from /tmp: exit 2, and the message says where it looked
// and what to pass.
func TestOutsideRepository(t *testing.T) {
	t.Chdir(t.TempDir())
	t.Setenv("KK_TREE", "")
	patches, err := filepath.Abs("patches")
	require.NoError(t, err)
	tree, err := filepath.Abs(filepath.Join("_output", "kk"))
	require.NoError(t, err)
	for _, cmd := range []string{"check", "apply", "refresh", "goenv", "tree"} {
		code, _, stderr := seriesCmd(t, cmd)
		assert.Equal(t, exitError, code, cmd)
		assert.Contains(t, stderr, "no patches folder at "+patches, cmd)
		if cmd == "tree" { // tree makes the tree
			assert.Contains(t, stderr, tree+"  (not there yet)", cmd)
		} else {
			assert.Contains(t, stderr, tree+"  (missing)", cmd)
		}
		for _, want := range []string{"--patches DIR", "--tree DIR", "KK_TREE", "run from the repository root"} {
			assert.Contains(t, stderr, want, cmd)
		}
	}

	// The patches found, the tree given by KK_TREE not.
	dir := synthetic(t, "")
	missing := filepath.Join(t.TempDir(), "no-tree")
	t.Setenv("KK_TREE", missing)
	code, _, stderr := seriesCmd(t, "--patches", filepath.Join(dir, "patches"), "check")
	assert.Equal(t, exitError, code)
	assert.Contains(t, stderr, "no k/k tree at "+missing)
	assert.Contains(t, stderr, "make tree")
}

// synthetic makes a series layout with a one-file tree; it returns the
// parent of patches/ and tree/.
func synthetic(t *testing.T, seriesFile string) string {
	return seriestest.Synthetic(t, seriesFile, map[string]string{"README.md": "upstream\n"})
}

func TestCheckExitCodes(t *testing.T) {
	dir := synthetic(t, "")
	flags := []string{"--patches", filepath.Join(dir, "patches"), "--tree", filepath.Join(dir, "tree")}
	code, _, stderr := seriesCmd(t, append(flags, "check")...)
	assert.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stderr, "check: 0 patches OK on v1.37.2")

	// A finding: the series file lists a patch that is not there.
	dir = synthetic(t, "0001-gone.patch\n")
	flags = []string{"--patches", filepath.Join(dir, "patches"), "--tree", filepath.Join(dir, "tree")}
	code, _, stderr = seriesCmd(t, append(flags, "check")...)
	assert.Equal(t, exitFinding, code, stderr)
	assert.Contains(t, stderr, "0001-gone.patch: listed in the series file but missing")
	assert.Contains(t, stderr, "series: check: 1 problems in 1 patches")

	// Apply stops at the patch that does not apply: a finding too.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "patches", "0001-gone.patch"), []byte("not a patch\n"), 0o644))
	code, _, stderr = seriesCmd(t, append(flags, "apply")...)
	assert.Equal(t, exitFinding, code, stderr)
	assert.True(t, strings.Contains(stderr, "left at patch 0 of the series"), stderr)
}
