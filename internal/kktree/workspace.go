package kktree

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/mod/modfile"
)

// WorkspaceFile returns where WriteWorkspace puts the workspace of tree:
// beside the other outputs, never inside the tree.
func WorkspaceFile(outputDir, tree string) string {
	return filepath.Join(outputDir, filepath.Base(filepath.Clean(tree))+".go.work")
}

// WriteWorkspace writes, at path, the tree's own go.work with absolute
// paths and without the modules whose directories are absent.
//
// The module proxy does not serve k8s.io/sample-cli-plugin and
// k8s.io/sample-controller, so a materialized tree lacks two directories its
// go.work lists, and the go command refuses that go.work. Building the root
// module alone (GOWORK=off) with -mod=mod is no way out: the published
// staging go.mod files require each other at v0.X.Y where the tree says
// v0.0.0, so -mod=mod rewrites the tree's go.mod on every build. A workspace
// file outside the tree, used with GOWORK=<path>, builds exactly the modules
// the tree's go.work names, edits nothing in the tree, and ignores the
// tree's OWNERS-only vendor/ directory (the workspace's vendor directory is
// the one beside the go.work file).
//
// It returns the module directories it left out.
func WriteWorkspace(tree, path string) ([]string, error) {
	tree, err := filepath.Abs(tree)
	if err != nil {
		return nil, err
	}
	src := filepath.Join(tree, "go.work")
	data, err := os.ReadFile(src)
	if err != nil {
		return nil, fmt.Errorf("reading the tree's workspace: %w", err)
	}
	wf, err := modfile.ParseWork(src, data, nil)
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, u := range append([]*modfile.Use(nil), wf.Use...) {
		dir := u.Path
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(tree, dir)
		}
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
			missing = append(missing, u.Path)
			if err := wf.DropUse(u.Path); err != nil {
				return nil, err
			}
			continue
		}
		if err := wf.AddUse(dir, u.ModulePath); err != nil {
			return nil, err
		}
		if dir != u.Path {
			if err := wf.DropUse(u.Path); err != nil {
				return nil, err
			}
		}
	}
	wf.SortBlocks()
	wf.Cleanup()
	out := modfile.Format(wf.Syntax)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	if cur, err := os.ReadFile(path); err == nil && string(cur) == string(out) {
		return missing, nil
	}
	if sum, err := os.ReadFile(filepath.Join(tree, "go.work.sum")); err == nil {
		if _, err := os.Stat(path + ".sum"); os.IsNotExist(err) {
			if err := os.WriteFile(path+".sum", sum, 0o644); err != nil {
				return nil, err
			}
		}
	}
	return missing, os.WriteFile(path, out, 0o644)
}
