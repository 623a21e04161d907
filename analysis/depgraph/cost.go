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
	reached := setOf(base)
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
		still := setOf(g.ReachableWithout(root, without))
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

// AddedCost is what picking a package costs a root: the packages it links
// that the root does not link without it.
type AddedCost struct {
	Package string `json:"package"`
	// Linked says whether the root already links Package; its cost is then
	// its exclusive cost (what the root would drop without it).
	Linked bool `json:"linked"`
	// Added lists the counted packages Package links that the root does not
	// link without it, Package itself included when it is counted; sorted.
	Added []string `json:"added"`
}

// AddedCosts returns, for each pick, the counted packages it adds to root:
// those it reaches that root does not reach when the pick itself is not
// imported. For a pick root already links this is its exclusive cost, so
// that a provider picked by a sample and one the sample leaves out are
// measured the same way. In the order of picks.
func (g *Graph) AddedCosts(root *Package, picks []*Package, counted func(*Package) bool) []AddedCost {
	reached := setOf(g.Reachable(root))
	var out []AddedCost
	for _, p := range picks {
		base := setOf(g.ReachableWithout(root, map[*Package]bool{p: true}))
		c := AddedCost{Package: p.Path, Linked: reached[p]}
		for _, q := range g.Reachable(p) {
			if !base[q] && counted(q) {
				c.Added = append(c.Added, q.Path)
			}
		}
		out = append(out, c)
	}
	return out
}

func setOf(pkgs []*Package) map[*Package]bool {
	s := make(map[*Package]bool, len(pkgs))
	for _, p := range pkgs {
		s[p] = true
	}
	return s
}
