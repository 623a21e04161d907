// Package treemod writes a go.mod variant that builds this module against a
// local k/k tree: k8s.io/kubernetes => <tree> and every
// k8s.io/<staging> => <tree>/staging/src/k8s.io/<name>. The harness
// (cmd/treemod) and the proof (the native sample at the series tip) build
// through it.
package treemod

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/mod/modfile"
)

// Write reads goMod, points k8s.io/kubernetes and every staging module at
// tree, and writes the result to out, with a copy of the go.sum beside goMod
// as out's .sum. It returns the number of staging modules replaced.
func Write(tree, goMod, out string) (int, error) {
	abs, err := filepath.Abs(tree)
	if err != nil {
		return 0, err
	}
	if _, err := os.Stat(filepath.Join(abs, "go.mod")); err != nil {
		return 0, fmt.Errorf("%s is not a k/k tree: %w", abs, err)
	}
	data, err := os.ReadFile(goMod)
	if err != nil {
		return 0, err
	}
	f, err := modfile.Parse(goMod, data, nil)
	if err != nil {
		return 0, err
	}
	if err := f.AddReplace("k8s.io/kubernetes", "", abs, ""); err != nil {
		return 0, err
	}
	staging, err := os.ReadDir(filepath.Join(abs, "staging", "src", "k8s.io"))
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range staging {
		dir := filepath.Join(abs, "staging", "src", "k8s.io", e.Name())
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
			continue
		}
		// Drop the version pin first, then point the module at the tree.
		_ = f.DropReplace("k8s.io/"+e.Name(), "")
		if err := f.AddReplace("k8s.io/"+e.Name(), "", dir, ""); err != nil {
			return 0, err
		}
		n++
	}
	f.Cleanup()
	b, err := f.Format()
	if err != nil {
		return 0, err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return 0, err
	}
	if err := os.WriteFile(out, b, 0o644); err != nil {
		return 0, err
	}
	sum, err := os.ReadFile(filepath.Join(filepath.Dir(goMod), "go.sum"))
	if err == nil {
		err = os.WriteFile(out[:len(out)-len(filepath.Ext(out))]+".sum", sum, 0o644)
	}
	if err != nil {
		return 0, err
	}
	return n, nil
}
