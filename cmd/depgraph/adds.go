package main

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/generic-controlplane/gcp/analysis/depgraph"
	"github.com/generic-controlplane/gcp/analysis/pathpattern"
)

// Defaults of adds for Kubernetes REST storage providers: a provider of
// pkg/registry/<group>/... owns its group's API, registry and printer
// packages; anything else it adds is a coupling to another group or to
// kube-apiserver's own machinery. (A pattern ending in /... matches the
// directory itself too.)
const (
	defaultGroupOf = `^k8s\.io/kubernetes/pkg/registry/([^/]+)/`
	defaultOwn     = "k8s.io/kubernetes/pkg/apis/{group}/...,k8s.io/kubernetes/pkg/api/{group}/...," +
		"k8s.io/kubernetes/pkg/registry/{group}/...,k8s.io/kubernetes/pkg/printers/internalversion/{group}"
)

// addedPick is one row of adds: what picking a package adds to the root,
// split into its own group's packages and the others.
type addedPick struct {
	depgraph.AddedCost
	Group string   `json:"group,omitempty"`
	Own   []string `json:"own"`
	Other []string `json:"other"`
}

// runAdds answers "what does picking X add to this root, and is it only X's
// own group": for each package the PICK patterns match, the counted packages
// it links that the root does not link without it.
func runAdds(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("adds", "ROOT PICK...", stderr)
	var lf loadFlags
	lf.register(fs, true)
	count := fs.String("count", "k8s.io/kubernetes/...", "count only packages matching these patterns (comma-separated)")
	groupOf := fs.String("group-of", defaultGroupOf, "regular expression whose first group names a pick's group (no match: no group)")
	own := fs.String("own", defaultOwn, "patterns of a group's own packages, {group} standing for the group (comma-separated)")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 2 {
		return usageError("want a root and at least one pick, got %d arguments", len(pos))
	}
	counted, err := patternSet("-count", *count)
	if err != nil {
		return err
	}
	groupRE, err := regexp.Compile(*groupOf)
	if err != nil || groupRE.NumSubexp() < 1 {
		return usageError("-group-of %q: want a regular expression with a group (%v)", *groupOf, err)
	}
	if !strings.Contains(*own, "{group}") {
		return usageError("-own %q: no {group} in it", *own)
	}
	g, err := lf.load(ctx, lf.dir, pos, false)
	if err != nil {
		return err
	}
	root, err := g.Root(pos[0])
	if err != nil {
		return err
	}
	var picks []*depgraph.Package
	for _, p := range g.Roots {
		if p != root {
			picks = append(picks, p)
		}
	}
	if len(picks) == 0 {
		return usageError("the picks %s match no package other than the root", strings.Join(pos[1:], " "))
	}
	isCounted := func(p *depgraph.Package) bool { return counted.Match(p.Path) }
	links := 0
	for _, p := range g.Reachable(root) {
		if isCounted(p) {
			links++
		}
	}
	var rows []addedPick
	for _, c := range g.AddedCosts(root, picks, isCounted) {
		row := addedPick{AddedCost: c, Own: []string{}, Other: []string{}}
		var ownSet pathpattern.Set
		if m := groupRE.FindStringSubmatch(c.Package); m != nil {
			row.Group = m[1]
			if ownSet, err = patternSet("-own", strings.ReplaceAll(*own, "{group}", m[1])); err != nil {
				return err
			}
		}
		for _, p := range c.Added {
			if ownSet != nil && ownSet.Match(p) {
				row.Own = append(row.Own, p)
			} else {
				row.Other = append(row.Other, p)
			}
		}
		rows = append(rows, row)
	}
	if *asJSON {
		return writeJSON(stdout, struct {
			Root    string      `json:"root"`
			Counted string      `json:"counted"`
			Links   int         `json:"links"`
			Picks   []addedPick `json:"picks"`
		}{root.Path, *count, links, rows})
	}
	fmt.Fprintf(stdout, "%s links %d packages matching %s. What picking each package adds to it"+
		" (for a package it links: what it links only through it):\n\n", root.Path, links, *count)
	unlinked, onlyOwn := 0, 0
	for _, r := range rows {
		if !r.Linked {
			unlinked++
			if len(r.Other) == 0 {
				onlyOwn++
			}
		}
	}
	fmt.Fprintf(stdout, "Of the %d picks it does not link, %d add only their own group's packages.\n\n", unlinked, onlyOwn)
	fmt.Fprintf(stdout, "| package | linked | adds | own group | other | other packages |\n|---|---|---|---|---|---|\n")
	for _, r := range rows {
		linked := "no"
		if r.Linked {
			linked = "yes"
		}
		fmt.Fprintf(stdout, "| %s | %s | %d | %d | %d | %s |\n", strings.TrimPrefix(r.Package, "k8s.io/kubernetes/"),
			linked, len(r.Added), len(r.Own), len(r.Other), sample(r.Other, r.Package, 6))
	}
	return nil
}
