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

	"github.com/generic-controlplane/gcp/internal/treemod"
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
	n, err := treemod.Write(tree, in, out)
	if err != nil {
		return err
	}
	abs, _ := filepath.Abs(tree)
	fmt.Printf("wrote %s: k8s.io/kubernetes and %d staging modules => %s\n", out, n, abs)
	return nil
}
