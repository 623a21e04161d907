package depgraph

import (
	"sort"
)

// Cost is what one package costs a root: the packages the root links only
// through it, so that a change which stops importing it (an optional
// provider, a split package) drops them all.
type Cost struct {
	Package string `json:"package"`
	// Exclusive lists the counted packages the root would no longer reach if
	// Package were not imported, Package itself included when it is counted;
	// sorted.
	Exclusive []string `json:"exclusive"`
}

// ReachableWithout returns the packages reachable from root when the
// packages in cut are not entered (as if nothing imported them), root
// included unless it is cut, in import path order.
func (g *Graph) ReachableWithout(root *Package, cut map[*Package]bool) []*Package {
	return g.reach([]*Package{root}, cut)
}

// ExclusiveCosts returns the cost of each candidate for root, on the graph
// with the packages in cut already removed, counting only the packages that
// counted accepts. Candidates root does not reach are left out; the result
// is sorted by cost, highest first, then by path.
func (g *Graph) ExclusiveCosts(root *Package, candidates []*Package, cut map[*Package]bool, counted func(*Package) bool) []Cost {
	base := g.ReachableWithout(root, cut)
	reached := make(map[*Package]bool, len(base))
	for _, p := range base {
		reached[p] = true
	}
	var costs []Cost
	for _, c := range candidates {
		if !reached[c] || c == root {
			continue
		}
		without := make(map[*Package]bool, len(cut)+1)
		for p := range cut {
			without[p] = true
		}
		without[c] = true
		still := map[*Package]bool{}
		for _, p := range g.ReachableWithout(root, without) {
			still[p] = true
		}
		cost := Cost{Package: c.Path}
		for _, p := range base {
			if !still[p] && counted(p) {
				cost.Exclusive = append(cost.Exclusive, p.Path)
			}
		}
		costs = append(costs, cost)
	}
	sort.SliceStable(costs, func(i, j int) bool {
		if len(costs[i].Exclusive) != len(costs[j].Exclusive) {
			return len(costs[i].Exclusive) > len(costs[j].Exclusive)
		}
		return costs[i].Package < costs[j].Package
	})
	return costs
}
