package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"

	"github.com/generic-controlplane/gcp/analysis/dot"
	"github.com/generic-controlplane/gcp/analysis/pathpattern"
)

func runDot(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("dot", "ROOT...", stderr)
	var lf loadFlags
	lf.register(fs, true)
	var collapse stringList
	fs.Var(&collapse, "collapse", "fold packages under a folder pattern into one node, e.g. 'k8s.io/kubernetes/pkg/registry/*' (repeatable)")
	depth := fs.Int("depth", -1, "fold other packages to their module path plus N path elements (0: module graph; -1: no folding)")
	stdlib := fs.Bool("stdlib", false, "keep standard library packages")
	svg := fs.String("svg", "", "render SVG to this file with graphviz instead of printing DOT")
	out := fs.String("o", "", "write DOT to this file instead of stdout")
	roots, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(roots) == 0 {
		return usageError("no root packages given")
	}
	opts := dot.Options{Depth: *depth, Stdlib: *stdlib}
	for _, c := range collapse {
		p, err := pathpattern.Compile(c)
		if err != nil {
			return fmt.Errorf("--collapse: %w", err)
		}
		opts.Collapse = append(opts.Collapse, p)
	}
	if *svg != "" {
		// Fail before loading the graph if the renderer is missing.
		if err := dot.CheckGraphviz(); err != nil {
			return err
		}
	}
	g, err := lf.load(ctx, lf.dir, roots, false)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := dot.Write(&buf, g, opts); err != nil {
		return err
	}
	if *svg != "" {
		return dot.SVG(ctx, buf.Bytes(), *svg)
	}
	if *out != "" {
		return os.WriteFile(*out, buf.Bytes(), 0o644)
	}
	_, err = stdout.Write(buf.Bytes())
	return err
}
