package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/generic-controlplane/gcp/analysis/depgraph"
	"github.com/generic-controlplane/gcp/analysis/symsize"
)

func runStats(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("stats", "ROOT...", stderr)
	var lf loadFlags
	lf.register(fs, true)
	size := fs.String("size", "", "attribute the linked bytes of this binary (built from the roots) per class")
	asJSON := fs.Bool("json", false, "print JSON")
	roots, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(roots) == 0 {
		return usageError("no root packages given")
	}
	var opts depgraph.StatsOptions
	if *size != "" {
		sizes, err := symsize.Read(*size)
		if err != nil {
			return err
		}
		opts = depgraph.StatsOptions{Binary: *size, SymbolBytes: sizes.ByPackage, Unattributed: sizes.Unattributed}
	}
	g, err := lf.load(ctx, lf.dir, roots, true)
	if err != nil {
		return err
	}
	s, err := depgraph.ComputeStats(ctx, g, opts)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(stdout, s)
	}
	return writeStatsText(stdout, s)
}

func writeStatsText(w io.Writer, s *depgraph.Stats) error {
	var b strings.Builder
	fmt.Fprintf(&b, "tree:  %s\n", s.Tree)
	fmt.Fprintf(&b, "roots: %s\n", strings.Join(s.Roots, " "))
	if s.Tests {
		b.WriteString("(test-only imports included)\n")
	}
	fmt.Fprintf(&b, "\n%s packages: %d\n", s.Headline, s.HeadlinePackages)
	fmt.Fprintf(&b, "packages: %d, import edges: %d, edges into %s from outside it: %d\n",
		s.Packages, s.Edges, s.Headline, s.EdgesIntoHeadline)
	fmt.Fprintf(&b, "init funcs: %d in %d packages\n", s.InitFuncs, s.InitPackages)
	if s.Size != nil {
		fmt.Fprintf(&b, "binary %s: %s in symbols, %s unattributed\n", s.Size.Binary, mib(s.Size.Total), mib(s.Size.Unattributed))
	}
	b.WriteString("\n")

	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	header := "\tpackages\troots\tdirect\ttransitive\twith init\tinit funcs\t"
	if s.Size != nil {
		header += "bytes\t"
	}
	// tabwriter right-aligns every column; padding the names keeps the
	// first one readable as left-aligned text.
	width := len("group")
	for _, c := range append(append([]depgraph.Count(nil), s.Groups...), s.Classes...) {
		width = max(width, len(c.Name))
	}
	row := func(c depgraph.Count) {
		fmt.Fprintf(tw, "%-*s\t%d\t%d\t%d\t%d\t%d\t%d\t", width, c.Name, c.Packages, c.Roots, c.Direct, c.Transitive, c.InitPackages, c.InitFuncs)
		if s.Size != nil {
			fmt.Fprintf(tw, "%s\t", mib(c.Bytes))
		}
		fmt.Fprintln(tw)
	}
	fmt.Fprintf(tw, "%-*s%s\n", width, "group", header)
	for _, c := range s.Groups {
		row(c)
	}
	fmt.Fprintln(tw, "\t")
	fmt.Fprintf(tw, "%-*s%s\n", width, "class", header)
	for _, c := range s.Classes {
		row(c)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(s.Sets) > 0 {
		b.WriteString("\nsets:\n")
		for _, set := range s.Sets {
			fmt.Fprintf(&b, "  %s: %d packages\n", set.Name, set.Packages)
			for _, m := range set.Members {
				fmt.Fprintf(&b, "    %s\n", m)
			}
		}
	}
	b.WriteString("\nimport edges between groups:\n")
	for _, e := range s.Cross {
		fmt.Fprintf(&b, "  %s -> %s: %d\n", e.From, e.To, e.Edges)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
