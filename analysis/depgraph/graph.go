// Package depgraph loads the package import graph of one or more root
// packages in a module tree and answers coupling questions about it: how many
// packages of each owner class a root drags in (Stats), why it reaches a given
// package (Why), which import rules it breaks (Check) and what a change to the
// tree did to all of that (Diff).
//
// The graph comes from a single `go list -deps -json` run (see
// analysis/golist), so its package set is by construction the one the go
// command would build.
package depgraph

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/generic-controlplane/gcp/analysis/golist"
	"github.com/generic-controlplane/gcp/analysis/rules"
)

// Package is one node of the graph.
type Package struct {
	Path     string
	Name     string
	Dir      string
	Module   string // module path; empty for the standard library
	Standard bool
	Root     bool // named by the root patterns rather than only depended on
	Class    rules.Class
	Sets     []string // names of the classes-file sets the package is in

	// GoFiles are the compiled non-test files (GoFiles and CgoFiles), relative
	// to Dir. TestFiles are the _test.go files, known only for roots loaded
	// with tests.
	GoFiles   []string
	TestFiles []string

	Imports []Import

	// importMap maps an import path as written in source to the resolved
	// package path where they differ (vendoring).
	importMap map[string]string
}

// Import is an edge of the graph.
type Import struct {
	Pkg *Package
	// Test is set when only the package's _test.go files import Pkg.
	Test bool
}

// Graph is the import graph of a set of roots in one tree.
type Graph struct {
	Dir     string // the module directory go list ran in
	Tests   bool   // whether test-only edges of the roots were loaded
	Roots   []*Package
	Classes *rules.Classes
	// Packages holds every package reachable from the roots, roots included,
	// sorted by import path.
	Packages []*Package

	byPath map[string]*Package

	initsOnce sync.Once
	inits     map[*Package]int
	initsErr  error
}

// Options says what to load.
type Options struct {
	Dir   string   // module directory of the tree
	Roots []string // package patterns, as for go list
	Tests bool     // include the roots' test-only imports
	// Env holds KEY=VALUE overrides for go list; nil means golist.DefaultEnv.
	Env []string
	// Classes classifies packages; nil means the embedded classes.yaml.
	Classes *rules.Classes
	// SkipInitFuncs leaves init functions uncounted until InitFuncs or
	// ComputeStats asks. By default Load counts them so that the graph is
	// a snapshot: a tree patched in place after Load (as a per-patch proof
	// does before diffing against the previous graph) cannot change it.
	SkipInitFuncs bool
}

// Load runs go list once and builds the graph.
func Load(ctx context.Context, opts Options) (*Graph, error) {
	classes := opts.Classes
	if classes == nil {
		classes = rules.DefaultClasses()
	}
	var listed []*golist.Package
	err := golist.Deps(ctx, golist.Config{Dir: opts.Dir, Env: opts.Env, Tests: opts.Tests}, opts.Roots,
		func(p *golist.Package) error {
			listed = append(listed, p)
			return nil
		})
	if err != nil {
		return nil, err
	}
	g := &Graph{
		Dir:     opts.Dir,
		Tests:   opts.Tests,
		Classes: classes,
		byPath:  make(map[string]*Package, len(listed)),
	}
	if err := g.build(listed); err != nil {
		return nil, err
	}
	if len(g.Roots) == 0 {
		return nil, fmt.Errorf("no packages matched %s in %s", strings.Join(opts.Roots, " "), opts.Dir)
	}
	if !opts.SkipInitFuncs {
		if _, err := g.InitFuncs(ctx); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// build turns go list's output into the graph. With -test, go list reports a
// root's test build as extra package variants ("p [p.test]", the external
// "p_test [p.test]" and the generated "p.test" main); those are folded back
// into p, and edges only they contribute are marked as test edges.
func (g *Graph) build(listed []*golist.Package) error {
	var variants []*golist.Package
	for _, lp := range listed {
		if lp.Error != nil {
			return fmt.Errorf("package %s: %s", lp.ImportPath, lp.Error.Error())
		}
		switch {
		case isTestMain(lp):
			continue
		case lp.ForTest != "":
			variants = append(variants, lp)
			continue
		}
		p := g.node(lp.ImportPath)
		p.Name = lp.Name
		p.Dir = lp.Dir
		p.Standard = lp.Standard
		p.Root = !lp.DepOnly
		if lp.Module != nil {
			p.Module = lp.Module.Path
		}
		p.GoFiles = append(append([]string(nil), lp.GoFiles...), lp.CgoFiles...)
		p.importMap = lp.ImportMap
		for _, imp := range lp.Imports {
			if imp == "C" {
				continue
			}
			p.Imports = append(p.Imports, Import{Pkg: g.node(imp)})
		}
	}
	for _, lp := range variants {
		p := g.byPath[lp.ForTest]
		if p == nil {
			continue
		}
		// Dependencies recompiled for the test ("q [p.test]") keep their
		// edges; only p's own test variants add imports.
		if strings.HasPrefix(lp.ImportPath, lp.ForTest+" ") || strings.HasPrefix(lp.ImportPath, lp.ForTest+"_test ") {
			p.TestFiles = appendUnique(p.TestFiles, lp.TestGoFiles...)
			p.TestFiles = appendUnique(p.TestFiles, lp.XTestGoFiles...)
			for _, imp := range lp.Imports {
				to := stripVariant(imp)
				if to == p.Path || to == "C" || p.imports(to) {
					continue
				}
				p.Imports = append(p.Imports, Import{Pkg: g.node(to), Test: true})
			}
		}
	}
	for path, p := range g.byPath {
		if p.Dir == "" && !p.Standard && p.Name == "" {
			return fmt.Errorf("go list did not describe %s, which is imported in %s", path, g.Dir)
		}
		p.Class = g.Classes.Classify(p.Path, p.Standard)
		p.Sets = g.Classes.Sets(p.Path)
		sort.Slice(p.Imports, func(i, j int) bool { return p.Imports[i].Pkg.Path < p.Imports[j].Pkg.Path })
		g.Packages = append(g.Packages, p)
		if p.Root {
			g.Roots = append(g.Roots, p)
		}
	}
	sort.Slice(g.Packages, func(i, j int) bool { return g.Packages[i].Path < g.Packages[j].Path })
	sort.Slice(g.Roots, func(i, j int) bool { return g.Roots[i].Path < g.Roots[j].Path })
	return nil
}

func (g *Graph) node(path string) *Package {
	p := g.byPath[path]
	if p == nil {
		p = &Package{Path: path}
		g.byPath[path] = p
	}
	return p
}

func (p *Package) imports(path string) bool {
	for _, imp := range p.Imports {
		if imp.Pkg.Path == path {
			return true
		}
	}
	return false
}

func isTestMain(lp *golist.Package) bool {
	return lp.Name == "main" && strings.HasSuffix(lp.ImportPath, ".test") && lp.ForTest == ""
}

// stripVariant turns "p [q.test]" into "p".
func stripVariant(path string) string {
	if i := strings.Index(path, " ["); i >= 0 {
		return path[:i]
	}
	return path
}

func appendUnique(list []string, add ...string) []string {
	for _, a := range add {
		found := false
		for _, l := range list {
			if l == a {
				found = true
				break
			}
		}
		if !found {
			list = append(list, a)
		}
	}
	return list
}

// Package returns the package with the given import path, or nil.
func (g *Graph) Package(path string) *Package { return g.byPath[path] }

// Root returns the root package with the given import path, accepting the
// "./dir" form relative to the tree as well.
func (g *Graph) Root(name string) (*Package, error) {
	dir := ""
	if strings.HasPrefix(name, "./") || strings.HasPrefix(name, "../") {
		if abs, err := filepath.Abs(filepath.Join(g.Dir, name)); err == nil {
			dir = abs
		}
	}
	for _, r := range g.Roots {
		if r.Path == name || (dir != "" && r.Dir == dir) {
			return r, nil
		}
	}
	return nil, fmt.Errorf("%s is not one of the loaded roots (%s)", name, strings.Join(g.RootPaths(), ", "))
}

// Reachable returns the packages reachable from root, root included, in
// import path order.
func (g *Graph) Reachable(roots ...*Package) []*Package {
	return g.reach(roots, nil)
}

// reach returns the packages reachable from roots without entering the
// packages in cut, in import path order.
func (g *Graph) reach(roots []*Package, cut map[*Package]bool) []*Package {
	seen := map[*Package]bool{}
	var stack []*Package
	for _, r := range roots {
		if !seen[r] && !cut[r] {
			seen[r] = true
			stack = append(stack, r)
		}
	}
	for len(stack) > 0 {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, imp := range p.Imports {
			if !seen[imp.Pkg] && !cut[imp.Pkg] {
				seen[imp.Pkg] = true
				stack = append(stack, imp.Pkg)
			}
		}
	}
	out := make([]*Package, 0, len(seen))
	for _, p := range g.Packages {
		if seen[p] {
			out = append(out, p)
		}
	}
	return out
}

// RootPaths returns the import paths of the roots.
func (g *Graph) RootPaths() []string {
	out := make([]string, len(g.Roots))
	for i, r := range g.Roots {
		out[i] = r.Path
	}
	return out
}
