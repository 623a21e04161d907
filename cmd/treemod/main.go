// treemod writes a go.mod variant (default _output/tree.mod, plus a copy of
// go.sum as tree.sum) that builds this module against a local k/k tree:
// k8s.io/kubernetes => <tree> and every k8s.io/<staging> => <tree>/staging/src/k8s.io/<name>.
//
//	go run ./cmd/treemod -tree _output/kk
//	GOFLAGS=-mod=mod go build -modfile=_output/tree.mod ./cmd/minimal-apiserver
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/mod/modfile"
)

func main() {
	tree := flag.String("tree", "_output/kk", "k/k source tree (contains go.mod and staging/src/k8s.io)")
	in := flag.String("in", "go.mod", "input go.mod")
	out := flag.String("out", "_output/tree.mod", "output modfile; the .sum next to it is copied from go.sum")
	flag.Parse()
	if err := run(*tree, *in, *out); err != nil {
		fmt.Fprintln(os.Stderr, "treemod:", err)
		os.Exit(1)
	}
}

func run(tree, in, out string) error {
	abs, err := filepath.Abs(tree)
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(abs, "go.mod")); err != nil {
		return fmt.Errorf("%s is not a k/k tree: %w", abs, err)
	}
	data, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	f, err := modfile.Parse(in, data, nil)
	if err != nil {
		return err
	}
	if err := f.AddReplace("k8s.io/kubernetes", "", abs, ""); err != nil {
		return err
	}
	staging, err := os.ReadDir(filepath.Join(abs, "staging", "src", "k8s.io"))
	if err != nil {
		return err
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
			return err
		}
		n++
	}
	f.Cleanup()
	b, err := f.Format()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(out, b, 0o644); err != nil {
		return err
	}
	sum, err := os.ReadFile(filepath.Join(filepath.Dir(in), "go.sum"))
	if err == nil {
		err = os.WriteFile(out[:len(out)-len(filepath.Ext(out))]+".sum", sum, 0o644)
	}
	if err != nil {
		return err
	}
	fmt.Printf("wrote %s: k8s.io/kubernetes and %d staging modules => %s\n", out, n, abs)
	return nil
}
