package depgraph

import (
	"context"
	"sort"
	"strings"

	"github.com/generic-controlplane/gcp/analysis/initfuncs"
	"github.com/generic-controlplane/gcp/analysis/rules"
)

// Stats are the coupling metrics of a graph's roots.
type Stats struct {
	Tree  string   `json:"tree"`
	Roots []string `json:"roots"`
	Tests bool     `json:"tests,omitempty"`

	// Headline is the group depgraph leads with (k8s.io/kubernetes
	// packages) and HeadlinePackages its package count, roots included.
	Headline         string `json:"headline"`
	HeadlinePackages int    `json:"headlinePackages"`

	Packages int `json:"packages"`
	Edges    int `json:"edges"`
	// EdgesIntoHeadline counts imports of a headline package by a package
	// outside the headline group: the places where other code enters k/k.
	EdgesIntoHeadline int `json:"edgesIntoHeadline"`

	InitPackages int `json:"initPackages"` // packages with at least one init func
	InitFuncs    int `json:"initFuncs"`

	Groups  []Count     `json:"groups"`
	Classes []Count     `json:"classes"`
	Sets    []SetCount  `json:"sets,omitempty"`
	Cross   []CrossEdge `json:"crossEdges"`
	Size    *SizeTotals `json:"size,omitempty"`
}

// Count is the tally of one group or class.
type Count struct {
	Name  string `json:"name"`
	Group string `json:"group,omitempty"`
	// Packages = Roots + Direct + Transitive.
	Packages int `json:"packages"`
	Roots    int `json:"roots"`
	// Direct packages are imported by a root itself; transitive ones only
	// through other packages.
	Direct       int   `json:"direct"`
	Transitive   int   `json:"transitive"`
	InitPackages int   `json:"initPackages"`
	InitFuncs    int   `json:"initFuncs"`
	Bytes        int64 `json:"bytes,omitempty"`
}

// SetCount is how much of a classes-file set the roots reach.
type SetCount struct {
	Name     string   `json:"name"`
	Packages int      `json:"packages"`
	Members  []string `json:"members,omitempty"`
}

// CrossEdge counts import edges from one group to another.
type CrossEdge struct {
	From  string `json:"from"`
	To    string `json:"to"`
	Edges int    `json:"edges"`
}

// SizeTotals summarizes a binary's symbol table attribution.
type SizeTotals struct {
	Binary       string `json:"binary"`
	Total        int64  `json:"total"`
	Unattributed int64  `json:"unattributed"`
}

// StatsOptions adds optional inputs to Stats.
type StatsOptions struct {
	// SymbolBytes maps package import paths to the bytes of linked symbols
	// they own in Binary (see analysis/symsize); nil skips size attribution.
	SymbolBytes  map[string]int64
	Unattributed int64
	Binary       string
}

// InitFuncs counts the init functions of every package, once per graph: at
// Load unless Options.SkipInitFuncs was set, else on the first call, reading
// the tree as it is then.
func (g *Graph) InitFuncs(ctx context.Context) (map[*Package]int, error) {
	g.initsOnce.Do(func() {
		pkgs := make([]initfuncs.Package, len(g.Packages))
		for i, p := range g.Packages {
			pkgs[i] = initfuncs.Package{Dir: p.Dir, Files: p.GoFiles}
		}
		counts, err := initfuncs.Count(ctx, pkgs)
		if err != nil {
			g.initsErr = err
			return
		}
		g.inits = make(map[*Package]int, len(g.Packages))
		for i, p := range g.Packages {
			if counts[i] > 0 {
				g.inits[p] = counts[i]
			}
		}
	})
	return g.inits, g.initsErr
}

// ComputeStats computes the metrics of all of g's roots together.
func ComputeStats(ctx context.Context, g *Graph, opts StatsOptions) (*Stats, error) {
	inits, err := g.InitFuncs(ctx)
	if err != nil {
		return nil, err
	}
	s := &Stats{
		Tree:     g.Dir,
		Roots:    g.RootPaths(),
		Tests:    g.Tests,
		Headline: g.Classes.Headline(),
	}
	direct := map[*Package]bool{}
	for _, r := range g.Roots {
		for _, imp := range r.Imports {
			direct[imp.Pkg] = true
		}
	}
	groups := map[string]*Count{}
	classes := map[string]*Count{}
	sets := map[string]*SetCount{}
	for _, name := range g.Classes.SetNames() {
		sets[name] = &SetCount{Name: name}
	}
	cross := map[[2]string]int{}
	tally := func(c *Count, p *Package, n int) {
		c.Packages++
		switch {
		case p.Root:
			c.Roots++
		case direct[p]:
			c.Direct++
		default:
			c.Transitive++
		}
		if n > 0 {
			c.InitPackages++
			c.InitFuncs += n
		}
	}
	for _, p := range g.Packages {
		n := inits[p]
		s.Packages++
		if n > 0 {
			s.InitPackages++
			s.InitFuncs += n
		}
		if p.Class.Group == s.Headline {
			s.HeadlinePackages++
		}
		tally(countFor(groups, p.Class.Group, ""), p, n)
		tally(countFor(classes, p.Class.Name, p.Class.Group), p, n)
		for _, name := range p.Sets {
			sets[name].Packages++
			sets[name].Members = append(sets[name].Members, p.Path)
		}
		for _, imp := range p.Imports {
			s.Edges++
			cross[[2]string{p.Class.Group, imp.Pkg.Class.Group}]++
			if imp.Pkg.Class.Group == s.Headline && p.Class.Group != s.Headline {
				s.EdgesIntoHeadline++
			}
		}
	}
	if opts.SymbolBytes != nil {
		s.Size = &SizeTotals{Binary: opts.Binary, Unattributed: opts.Unattributed}
		s.Size.Total = opts.Unattributed
		for path, bytes := range opts.SymbolBytes {
			s.Size.Total += bytes
			class := g.classOf(path)
			countFor(classes, class.Name, class.Group).Bytes += bytes
			countFor(groups, class.Group, "").Bytes += bytes
		}
	}
	s.Groups = orderedCounts(groups, g.Classes.Groups())
	s.Classes = orderedCounts(classes, nil)
	for _, name := range g.Classes.SetNames() {
		s.Sets = append(s.Sets, *sets[name])
	}
	for k, n := range cross {
		s.Cross = append(s.Cross, CrossEdge{From: k[0], To: k[1], Edges: n})
	}
	sort.Slice(s.Cross, func(i, j int) bool {
		a, b := s.Cross[i], s.Cross[j]
		if a.From != b.From {
			return a.From < b.From
		}
		return a.To < b.To
	})
	return s, nil
}

// classOf classifies a path that may not be in the graph (a symbol's
// package in a binary built from a different root set). Outside the graph,
// a path whose first element has no dot is taken to be standard library, the
// same rule the go command applies.
func (g *Graph) classOf(path string) rules.Class {
	if p := g.byPath[path]; p != nil {
		return p.Class
	}
	if path == "main" {
		// The linker names a binary's main package "main".
		for _, r := range g.Roots {
			if r.Name == "main" {
				return r.Class
			}
		}
		return rules.Unclassified // a binary not built from these roots
	}
	first, _, _ := strings.Cut(path, "/")
	return g.Classes.Classify(path, !strings.Contains(first, "."))
}

func countFor(m map[string]*Count, name, group string) *Count {
	c := m[name]
	if c == nil {
		c = &Count{Name: name, Group: group}
		m[name] = c
	}
	return c
}

// orderedCounts lists counts in the given order first, then the rest by
// name, dropping empty ones.
func orderedCounts(m map[string]*Count, order []string) []Count {
	var out []Count
	done := map[string]bool{}
	for _, name := range order {
		if c := m[name]; c != nil {
			out = append(out, *c)
			done[name] = true
		}
	}
	var rest []string
	for name := range m {
		if !done[name] {
			rest = append(rest, name)
		}
	}
	sort.Strings(rest)
	for _, name := range rest {
		out = append(out, *m[name])
	}
	return out
}
