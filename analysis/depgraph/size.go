package depgraph

import (
	"sort"
	"strings"
)

// ModuleSize is the share of a binary's symbol bytes owned by one module.
type ModuleSize struct {
	// Module is the module path, "std" for the standard library and
	// "unknown" for symbol owners the graph does not know (packages linked
	// in by a build the graph was not loaded for).
	Module   string `json:"module"`
	Packages int    `json:"packages"` // packages of the module in the graph
	Bytes    int64  `json:"bytes"`
}

// ModuleSizes attributes symbolBytes (package import path -> bytes, as
// analysis/symsize reads them from a binary built from the graph's roots) to
// the modules of the graph's packages, largest first. A symbol owner outside
// the graph goes to the graph module with the longest matching path prefix,
// so that a package the linker splits into several owners (vendored or
// generic instantiations) still lands in its module. Symbols of package
// main go to the module of the graph's main root, if it has one.
func (g *Graph) ModuleSizes(symbolBytes map[string]int64) []ModuleSize {
	byModule := map[string]*ModuleSize{}
	entry := func(m string) *ModuleSize {
		if byModule[m] == nil {
			byModule[m] = &ModuleSize{Module: m}
		}
		return byModule[m]
	}
	var modules []string
	for _, p := range g.Packages {
		m := moduleName(p)
		if byModule[m] == nil && m != "std" {
			modules = append(modules, m)
		}
		entry(m).Packages++
	}
	// Longest first, so the first prefix match is the nearest module.
	sort.Slice(modules, func(i, j int) bool { return len(modules[i]) > len(modules[j]) })
	mainModule := ""
	for _, r := range g.Roots {
		if r.Name == "main" {
			mainModule = moduleName(r)
		}
	}
	for path, bytes := range symbolBytes {
		// The linker names a command's own symbols "main.*".
		if path == "main" && mainModule != "" {
			entry(mainModule).Bytes += bytes
			continue
		}
		if p := g.byPath[path]; p != nil {
			entry(moduleName(p)).Bytes += bytes
			continue
		}
		m := "unknown"
		if first, _, _ := strings.Cut(path, "/"); !strings.Contains(first, ".") && path != "main" {
			m = "std"
		}
		for _, mod := range modules {
			if path == mod || strings.HasPrefix(path, mod+"/") {
				m = mod
				break
			}
		}
		entry(m).Bytes += bytes
	}
	out := make([]ModuleSize, 0, len(byModule))
	for _, s := range byModule {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Bytes != out[j].Bytes {
			return out[i].Bytes > out[j].Bytes
		}
		return out[i].Module < out[j].Module
	})
	return out
}

func moduleName(p *Package) string {
	if p.Standard || p.Module == "" {
		return "std"
	}
	return p.Module
}
