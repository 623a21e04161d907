package depgraph

import (
	"github.com/generic-controlplane/gcp/analysis/rules"
)

// Violation is a package a root reaches although a rule forbids it.
type Violation struct {
	Rule    string `json:"rule"`
	Reason  string `json:"reason,omitempty"`
	Root    string `json:"root"`
	Package string `json:"package"`
	// Chain is a shortest import chain from Root to Package.
	Chain Chain `json:"chain"`
}

// CheckResult lists, per rule, the roots it was checked against and what
// broke it. Rules that apply to none of the loaded roots are in Unchecked so
// that a typo in a rules file cannot pass silently.
type CheckResult struct {
	Checked    []CheckedRule `json:"checked"`
	Unchecked  []string      `json:"unchecked,omitempty"`
	Violations []Violation   `json:"violations"`
}

// CheckedRule is a rule and the roots it applied to.
type CheckedRule struct {
	Rule  string   `json:"rule"`
	Roots []string `json:"roots"`
}

// Check verifies that no root reaches a package its rules forbid, directly
// or transitively.
func Check(g *Graph, rs []*rules.ImportRule) CheckResult {
	res := CheckResult{Violations: []Violation{}}
	paths := map[*Package]*shortestPaths{}
	for _, r := range rs {
		checked := CheckedRule{Rule: r.Name}
		for _, root := range g.Roots {
			if !r.AppliesTo(root.Path) {
				continue
			}
			checked.Roots = append(checked.Roots, root.Path)
			sp := paths[root]
			if sp == nil {
				sp = g.shortestPathsFrom(root)
				paths[root] = sp
			}
			for _, p := range g.Packages {
				if _, reached := sp.dist[p]; !reached || p == root || !r.Forbids(p.Path) {
					continue
				}
				v := Violation{Rule: r.Name, Reason: r.Reason, Root: root.Path, Package: p.Path}
				if chains := sp.chains(p, 1); len(chains) > 0 {
					v.Chain = chains[0]
				}
				res.Violations = append(res.Violations, v)
			}
		}
		if len(checked.Roots) == 0 {
			res.Unchecked = append(res.Unchecked, r.Name)
			continue
		}
		res.Checked = append(res.Checked, checked)
	}
	return res
}
