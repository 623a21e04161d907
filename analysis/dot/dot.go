// Package dot renders a depgraph graph in Graphviz DOT, optionally folding
// packages into folders so that a graph of thousands of packages becomes one
// a person can read.
package dot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"sort"
	"strings"

	"github.com/generic-controlplane/gcp/analysis/depgraph"
	"github.com/generic-controlplane/gcp/analysis/pathpattern"
)

// Options controls folding and filtering.
type Options struct {
	// Collapse folds every package whose leading path elements match a
	// pattern into a node named by those elements; see
	// pathpattern.Pattern.PrefixMatch. The first matching pattern wins.
	Collapse []*pathpattern.Pattern
	// Depth, when >= 0, folds packages not matched by Collapse into their
	// module path plus at most Depth further path elements: 0 gives the
	// module graph, 1 "k8s.io/kubernetes/pkg", 2 "k8s.io/kubernetes/pkg/kubelet".
	Depth int
	// Stdlib keeps standard library packages, which are left out by default
	// because everything imports them and they say little about coupling.
	Stdlib bool
}

// colors by group, for the groups of the default classes file.
var colors = map[string]string{
	"kubernetes":  "#f4cccc",
	"staging":     "#cfe2f3",
	"third-party": "#fff2cc",
	"stdlib":      "#eeeeee",
}

type node struct {
	name     string
	group    string
	packages int
	root     bool
}

// Write renders g in DOT.
func Write(w io.Writer, g *depgraph.Graph, opts Options) error {
	nodes := map[string]*node{}
	nameOf := map[*depgraph.Package]string{}
	for _, p := range g.Packages {
		if p.Standard && !opts.Stdlib {
			continue
		}
		name := fold(p, opts)
		nameOf[p] = name
		n := nodes[name]
		if n == nil {
			n = &node{name: name, group: p.Class.Group}
			nodes[name] = n
		}
		n.packages++
		n.root = n.root || p.Root
	}
	type edge struct{ from, to string }
	edges := map[edge]int{}
	for _, p := range g.Packages {
		from, ok := nameOf[p]
		if !ok {
			continue
		}
		for _, imp := range p.Imports {
			to, ok := nameOf[imp.Pkg]
			if !ok || to == from {
				continue
			}
			edges[edge{from, to}]++
		}
	}

	var b bytes.Buffer
	fmt.Fprintf(&b, "digraph depgraph {\n")
	fmt.Fprintf(&b, "\tlabel=%q;\n", "imports of "+strings.Join(g.RootPaths(), ", "))
	fmt.Fprintf(&b, "\trankdir=LR;\n\tnode [shape=box, style=filled, fontname=\"Helvetica\", fontsize=10];\n")
	names := make([]string, 0, len(nodes))
	for name := range nodes {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		n := nodes[name]
		label := name
		if n.packages > 1 {
			label = fmt.Sprintf("%s\n(%d packages)", name, n.packages)
		}
		attrs := fmt.Sprintf("label=%q, fillcolor=%q", label, color(n.group))
		if n.root {
			attrs += ", penwidth=3"
		}
		fmt.Fprintf(&b, "\t%q [%s];\n", name, attrs)
	}
	keys := make([]edge, 0, len(edges))
	for e := range edges {
		keys = append(keys, e)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].from != keys[j].from {
			return keys[i].from < keys[j].from
		}
		return keys[i].to < keys[j].to
	})
	for _, e := range keys {
		if n := edges[e]; n > 1 {
			fmt.Fprintf(&b, "\t%q -> %q [label=\"%d\"];\n", e.from, e.to, n)
		} else {
			fmt.Fprintf(&b, "\t%q -> %q;\n", e.from, e.to)
		}
	}
	b.WriteString("}\n")
	_, err := w.Write(b.Bytes())
	return err
}

func color(group string) string {
	if c, ok := colors[group]; ok {
		return c
	}
	return "#ffffff"
}

// fold returns the node a package is drawn as.
func fold(p *depgraph.Package, opts Options) string {
	for _, pat := range opts.Collapse {
		if prefix, ok := pat.PrefixMatch(p.Path); ok {
			return prefix
		}
	}
	if opts.Depth < 0 {
		return p.Path
	}
	base := p.Module
	if p.Standard || base == "" || !strings.HasPrefix(p.Path, base) {
		base = ""
	}
	rest := strings.TrimPrefix(strings.TrimPrefix(p.Path, base), "/")
	if rest == "" {
		return p.Path
	}
	elems := strings.Split(rest, "/")
	keep := opts.Depth
	if base == "" && keep < 1 {
		keep = 1 // the standard library has no module path to fold into
	}
	if keep > len(elems) {
		keep = len(elems)
	}
	if keep == 0 {
		return base
	}
	if base == "" {
		return strings.Join(elems[:keep], "/")
	}
	return base + "/" + strings.Join(elems[:keep], "/")
}

// ErrNoGraphviz is returned by SVG when the dot program is not installed.
var ErrNoGraphviz = errors.New("graphviz is not installed: the `dot` program is not on PATH (install it with: apt-get install graphviz)")

// CheckGraphviz returns ErrNoGraphviz unless the dot program is on PATH.
func CheckGraphviz() error {
	if _, err := exec.LookPath("dot"); err != nil {
		return ErrNoGraphviz
	}
	return nil
}

// SVG renders DOT source to an SVG file with Graphviz.
func SVG(ctx context.Context, dotSrc []byte, out string) error {
	bin, err := exec.LookPath("dot")
	if err != nil {
		return ErrNoGraphviz
	}
	cmd := exec.CommandContext(ctx, bin, "-Tsvg", "-o", out)
	cmd.Stdin = bytes.NewReader(dotSrc)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("dot -Tsvg -o %s: %v: %s", out, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}
