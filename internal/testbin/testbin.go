// Package testbin finds the binaries that tests run as real processes
// (servers, kubectl), building them into _output/bin when no path is given.
package testbin

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// RepoRoot is the module root (this package lives in <root>/internal/testbin).
func RepoRoot() string {
	_, f, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(filepath.Dir(f)))
}

// Path returns $env if set, else <root>/_output/bin/<name>, building pkg
// into it when it is missing or REBUILD_TEST_BINARIES is set.
func Path(t testing.TB, env, name, pkg string) string {
	t.Helper()
	if p := os.Getenv(env); p != "" {
		return p
	}
	p := filepath.Join(RepoRoot(), "_output", "bin", name)
	if _, err := os.Stat(p); err == nil && os.Getenv("REBUILD_TEST_BINARIES") == "" {
		return p
	}
	cmd := exec.Command("go", "build", "-o", p, pkg)
	cmd.Dir = RepoRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", pkg, err, out)
	}
	return p
}
