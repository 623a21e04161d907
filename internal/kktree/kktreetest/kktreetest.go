// Package kktreetest finds the materialized Kubernetes tree for tests that
// need one, the one place tests read KK_TREE.
package kktreetest

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Module is the module path of this repository, used to find its root.
const Module = "github.com/generic-controlplane/gcp"

// Dir returns the absolute path of the k/k tree tests run against: $KK_TREE
// if set, else <repository root>/_output/kk, where `make tree` materializes
// the pinned release. It skips the test, saying how to get a tree, when the
// directory is not a k/k checkout (a go.mod and a .git).
func Dir(t testing.TB) string {
	t.Helper()
	tree, from := os.Getenv("KK_TREE"), "$KK_TREE"
	if tree == "" {
		tree, from = filepath.Join(RepoRoot(t), "_output", "kk"), "the default"
	}
	abs, err := filepath.Abs(tree)
	if err != nil {
		t.Fatalf("kktreetest: %v", err)
	}
	for _, marker := range []string{"go.mod", ".git"} {
		if _, err := os.Stat(filepath.Join(abs, marker)); err != nil {
			t.Skipf("no k/k tree at %s (%s; %s missing): run `make tree` to materialize it, or set KK_TREE to a k/k checkout", abs, from, marker)
		}
	}
	return abs
}

// RepoRoot returns the root of this repository: the nearest directory at or
// above the working directory (a test's package directory) whose go.mod
// declares Module. It fails the test outside the repository.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("kktreetest: %v", err)
	}
	for {
		if modulePath(filepath.Join(dir, "go.mod")) == Module {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("kktreetest: no go.mod of %s at or above the working directory", Module)
		}
		dir = parent
	}
}

// modulePath returns the module path a go.mod declares, or "".
func modulePath(gomod string) string {
	f, err := os.Open(gomod)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	return ""
}
