package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/generic-controlplane/gcp/analysis/depgraph"
	"github.com/generic-controlplane/gcp/analysis/pathpattern"
)

// runCost answers "what would this root stop linking if it did not import
// X": for each candidate package, the counted packages reachable only
// through it. With -without it first removes packages (a planned cut) and
// says what the root links then.
func runCost(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("cost", "ROOT", stderr)
	var lf loadFlags
	lf.register(fs, true)
	count := fs.String("count", "k8s.io/kubernetes/...", "count only packages matching these patterns (comma-separated)")
	candidates := fs.String("candidates", "", "packages whose cost to list, as patterns (comma-separated; default: the counted ones)")
	without := fs.String("without", "", "packages to remove first, as patterns (comma-separated): the root as if nothing imported them")
	top := fs.Int("top", 20, "list at most this many candidates, costliest first (0: all)")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError("want one root, got %d arguments", len(pos))
	}
	counted, err := patternSet("-count", *count)
	if err != nil {
		return err
	}
	chosen := counted
	if *candidates != "" {
		if chosen, err = patternSet("-candidates", *candidates); err != nil {
			return err
		}
	}
	var cutPatterns pathpattern.Set
	if *without != "" {
		if cutPatterns, err = patternSet("-without", *without); err != nil {
			return err
		}
	}
	g, err := lf.load(ctx, lf.dir, pos, false)
	if err != nil {
		return err
	}
	if len(g.Roots) != 1 {
		return usageError("root %s matches %d packages; cost needs exactly one", pos[0], len(g.Roots))
	}
	root := g.Roots[0]
	cut := map[*depgraph.Package]bool{}
	var cands []*depgraph.Package
	for _, p := range g.Packages {
		if cutPatterns != nil && cutPatterns.Match(p.Path) && p != root {
			cut[p] = true
		} else if chosen.Match(p.Path) {
			cands = append(cands, p)
		}
	}
	if cutPatterns != nil && len(cut) == 0 {
		return fmt.Errorf("-without %s matches no package that %s imports", *without, root.Path)
	}
	isCounted := func(p *depgraph.Package) bool { return counted.Match(p.Path) }
	countOf := func(pkgs []*depgraph.Package) int {
		n := 0
		for _, p := range pkgs {
			if isCounted(p) {
				n++
			}
		}
		return n
	}
	links, linksWithout := countOf(g.Reachable(root)), countOf(g.ReachableWithout(root, cut))
	costs := g.ExclusiveCosts(root, cands, cut, isCounted)
	if *top > 0 && len(costs) > *top {
		costs = costs[:*top]
	}
	if *asJSON {
		return writeJSON(stdout, struct {
			Root         string          `json:"root"`
			Counted      string          `json:"counted"`
			Links        int             `json:"links"`
			Without      string          `json:"without,omitempty"`
			LinksWithout int             `json:"linksWithout"`
			Costs        []depgraph.Cost `json:"costs"`
		}{root.Path, *count, links, *without, linksWithout, costs})
	}
	fmt.Fprintf(stdout, "%s links %d packages matching %s", root.Path, links, *count)
	if len(cut) > 0 {
		fmt.Fprintf(stdout, "; %d without %s (%d packages removed)", linksWithout, *without, len(cut))
	}
	fmt.Fprintf(stdout, ".\n\n| package | links only through it | of which |\n|---|---|---|\n")
	for _, c := range costs {
		fmt.Fprintf(stdout, "| %s | %d | %s |\n", c.Package, len(c.Exclusive), sample(c.Exclusive, c.Package, 4))
	}
	return nil
}

func patternSet(flag, list string) (pathpattern.Set, error) {
	set, err := pathpattern.CompileSet(strings.Split(list, ","))
	if err != nil {
		return nil, usageError("%s: %v", flag, err)
	}
	return set, nil
}

// sample names up to n of pkgs other than self, and how many more.
func sample(pkgs []string, self string, n int) string {
	var names []string
	for _, p := range pkgs {
		if p != self {
			names = append(names, strings.TrimPrefix(p, "k8s.io/kubernetes/"))
		}
	}
	if len(names) > n {
		return strings.Join(names[:n], ", ") + fmt.Sprintf(", ... (%d more)", len(names)-n)
	}
	return strings.Join(names, ", ")
}
