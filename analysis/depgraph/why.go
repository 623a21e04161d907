package depgraph

import (
	"fmt"
	"go/parser"
	"go/token"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/generic-controlplane/gcp/analysis/pathpattern"
)

// Chain is an import chain from a root to a package.
type Chain struct {
	Steps []Step `json:"steps"`
}

// Step is one import on a chain: From imports To at Pos.
type Step struct {
	From string `json:"from"`
	To   string `json:"to"`
	// Pos is "file:line" of the import declaration, the file relative to the
	// tree when it is inside it.
	Pos  string `json:"pos"`
	Test bool   `json:"test,omitempty"`
}

// Packages returns the packages along the chain, root first.
func (c Chain) Packages() []string {
	if len(c.Steps) == 0 {
		return nil
	}
	out := []string{c.Steps[0].From}
	for _, s := range c.Steps {
		out = append(out, s.To)
	}
	return out
}

// String renders the chain one import per line.
func (c Chain) String() string {
	var b strings.Builder
	for i, s := range c.Steps {
		if i == 0 {
			fmt.Fprintf(&b, "%s\n", s.From)
		}
		test := ""
		if s.Test {
			test = " (test)"
		}
		fmt.Fprintf(&b, "%s└─ %s  [%s%s]\n", strings.Repeat("   ", i), s.To, s.Pos, test)
	}
	return b.String()
}

// shortestPaths is a breadth-first search from one root, keeping every
// predecessor on a shortest path so that all shortest chains can be listed.
type shortestPaths struct {
	g     *Graph
	root  *Package
	dist  map[*Package]int
	preds map[*Package][]Import // Import.Pkg is the importer here
}

func (g *Graph) shortestPathsFrom(root *Package) *shortestPaths {
	sp := &shortestPaths{g: g, root: root, dist: map[*Package]int{root: 0}, preds: map[*Package][]Import{}}
	queue := []*Package{root}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, imp := range p.Imports {
			d, seen := sp.dist[imp.Pkg]
			if !seen {
				sp.dist[imp.Pkg] = sp.dist[p] + 1
				queue = append(queue, imp.Pkg)
			} else if d != sp.dist[p]+1 {
				continue
			}
			sp.preds[imp.Pkg] = append(sp.preds[imp.Pkg], Import{Pkg: p, Test: imp.Test})
		}
	}
	return sp
}

// chains lists up to max shortest chains ending at target, in a
// deterministic order (importers sorted by path at each step).
func (sp *shortestPaths) chains(target *Package, max int) []Chain {
	if _, ok := sp.dist[target]; !ok || target == sp.root {
		return nil
	}
	var out []Chain
	var rev []Step // steps from target back towards the root
	var walk func(p *Package)
	walk = func(p *Package) {
		if len(out) >= max {
			return
		}
		if p == sp.root {
			steps := make([]Step, len(rev))
			for i := range rev {
				steps[i] = rev[len(rev)-1-i]
			}
			out = append(out, Chain{Steps: steps})
			return
		}
		preds := append([]Import(nil), sp.preds[p]...)
		sort.Slice(preds, func(i, j int) bool { return preds[i].Pkg.Path < preds[j].Pkg.Path })
		for _, pr := range preds {
			rev = append(rev, Step{From: pr.Pkg.Path, To: p.Path, Test: pr.Test})
			walk(pr.Pkg)
			rev = rev[:len(rev)-1]
		}
	}
	walk(target)
	for i := range out {
		for j := range out[i].Steps {
			s := &out[i].Steps[j]
			s.Pos = sp.g.importPos(sp.g.byPath[s.From], s.To, s.Test)
		}
	}
	return out
}

// Why returns up to max shortest import chains from root to target. target
// is an import path or, if no package has that path, a pattern such as
// "k8s.io/kubernetes/pkg/kubelet/..."; then the chains lead to the matching
// packages nearest to root.
func (g *Graph) Why(root *Package, target string, max int) ([]Chain, error) {
	if max < 1 {
		max = 1
	}
	sp := g.shortestPathsFrom(root)
	var targets []*Package
	if p := g.byPath[target]; p != nil {
		targets = []*Package{p}
	} else {
		pat, err := pathpattern.Compile(target)
		if err != nil {
			return nil, err
		}
		best := -1
		for _, p := range g.Packages {
			d, ok := sp.dist[p]
			if !ok || p == root || !pat.Match(p.Path) {
				continue
			}
			switch {
			case best < 0 || d < best:
				best, targets = d, []*Package{p}
			case d == best:
				targets = append(targets, p)
			}
		}
	}
	var out []Chain
	for _, t := range targets {
		if len(out) >= max {
			break
		}
		out = append(out, sp.chains(t, max-len(out))...)
	}
	if len(out) == 0 {
		if target == root.Path {
			return nil, fmt.Errorf("%s is the root itself", target)
		}
		return nil, fmt.Errorf("%s does not import %s, directly or indirectly", root.Path, target)
	}
	return out, nil
}

// importPos finds where from imports the package to, by parsing only the
// import declarations of from's files. go list reports no positions for
// imports, and parsing just the packages on a chain is cheap.
func (g *Graph) importPos(from *Package, to string, test bool) string {
	files := from.GoFiles
	if test {
		files = append(append([]string(nil), from.TestFiles...), from.GoFiles...)
	}
	resolved := func(src string) string {
		if r, ok := from.importMap[src]; ok {
			return r
		}
		return src
	}
	fset := token.NewFileSet()
	for _, name := range files {
		path := filepath.Join(from.Dir, name)
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly|parser.SkipObjectResolution)
		if err != nil {
			continue
		}
		for _, spec := range f.Imports {
			src, err := strconv.Unquote(spec.Path.Value)
			if err != nil || resolved(src) != to {
				continue
			}
			return fmt.Sprintf("%s:%d", g.displayPath(path), fset.Position(spec.Pos()).Line)
		}
	}
	return from.Dir + ": position unknown"
}

// displayPath shortens file paths inside the tree to tree-relative ones.
func (g *Graph) displayPath(path string) string {
	if dir, err := filepath.Abs(g.Dir); err == nil {
		if rel, err := filepath.Rel(dir, path); err == nil && !strings.HasPrefix(rel, "..") {
			return rel
		}
	}
	return path
}
