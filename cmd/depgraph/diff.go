package main

import (
	"context"
	"io"
	"sync"

	"github.com/generic-controlplane/gcp/analysis/depgraph"
)

func runDiff(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("diff", "--base TREE_A --head TREE_B ROOT...", stderr)
	var lf loadFlags
	lf.register(fs, false)
	base := fs.String("base", "", "module directory of the base tree (required)")
	head := fs.String("head", "", "module directory of the head tree (required)")
	format := fs.String("format", "md", "output format: md or json")
	roots, err := parse(fs, args)
	if err != nil {
		return err
	}
	switch {
	case *base == "" || *head == "":
		return usageError("both --base and --head are required")
	case len(roots) == 0:
		return usageError("no root packages given")
	case *format != "md" && *format != "json":
		return usageError("--format must be md or json, not %q", *format)
	}
	// The two loads are independent go list runs; overlap them.
	var (
		wg               sync.WaitGroup
		bg, hg           *depgraph.Graph
		baseErr, headErr error
	)
	wg.Add(2)
	go func() { defer wg.Done(); bg, baseErr = lf.load(ctx, *base, roots, true) }()
	go func() { defer wg.Done(); hg, headErr = lf.load(ctx, *head, roots, true) }()
	wg.Wait()
	if baseErr != nil {
		return baseErr
	}
	if headErr != nil {
		return headErr
	}
	report, err := depgraph.DiffContext(ctx, bg, hg)
	if err != nil {
		return err
	}
	if *format == "json" {
		return writeJSON(stdout, report)
	}
	return report.WriteMarkdown(stdout)
}
