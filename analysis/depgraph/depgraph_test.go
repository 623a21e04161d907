package depgraph

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/generic-controlplane/gcp/analysis/golist"
	"github.com/generic-controlplane/gcp/analysis/rules"
	"github.com/generic-controlplane/gcp/analysis/testtree"
)

const (
	genericRoot = "k8s.io/kubernetes/pkg/controlplane/samples/generic"
	kubeletPkg  = "k8s.io/kubernetes/pkg/kubelet/client"
)

func load(t *testing.T, dir string, tests bool, roots ...string) *Graph {
	t.Helper()
	g, err := Load(context.Background(), Options{Dir: dir, Roots: roots, Tests: tests, Env: testtree.Env})
	require.NoError(t, err)
	return g
}

func paths(pkgs []*Package, keep func(*Package) bool) []string {
	var out []string
	for _, p := range pkgs {
		if keep(p) {
			out = append(out, p.Path)
		}
	}
	return out
}

func notStd(p *Package) bool { return !p.Standard }

func TestLoad(t *testing.T) {
	g := load(t, testtree.Extract(t, "base"), false, "./pkg/controlplane/samples/generic")
	want := []string{
		"example.com/yaml",
		"k8s.io/apiserver/pkg/server",
		"k8s.io/kubernetes/pkg/controlplane",
		genericRoot,
		kubeletPkg,
		"k8s.io/kubernetes/pkg/registry/core/namespace",
		"k8s.io/kubernetes/pkg/registry/core/pod",
	}
	assert.Empty(t, cmp.Diff(want, paths(g.Packages, notStd)), "packages (-want +got)")
	require.Len(t, g.Roots, 1)
	assert.Equal(t, genericRoot, g.Roots[0].Path)
	assert.Equal(t, rules.Class{Name: "staging/k8s.io/apiserver", Group: "staging"}, g.Package("k8s.io/apiserver/pkg/server").Class)
	assert.Equal(t, "k8s.io/apiserver", g.Package("k8s.io/apiserver/pkg/server").Module)
	assert.Equal(t, rules.Class{Name: "third-party", Group: "third-party"}, g.Package("example.com/yaml").Class)
	assert.Equal(t, rules.Class{Name: "stdlib", Group: "stdlib"}, g.Package("strings").Class)
	assert.Equal(t, []string{"cluster-specific"}, g.Package(kubeletPkg).Sets)
	assert.Nil(t, g.Package("k8s.io/kubernetes/pkg/testonly"), "test-only imports are loaded only on request")

	r, err := g.Root("./pkg/controlplane/samples/generic")
	require.NoError(t, err)
	assert.Equal(t, genericRoot, r.Path)
	_, err = g.Root("./cmd/server")
	assert.ErrorContains(t, err, "not one of the loaded roots")
}

func TestLoadTests(t *testing.T) {
	g := load(t, testtree.Extract(t, "base"), true, "./pkg/controlplane")
	cp := g.Package("k8s.io/kubernetes/pkg/controlplane")
	require.NotNil(t, g.Package("k8s.io/kubernetes/pkg/testonly"))
	var testEdges, edges []string
	for _, imp := range cp.Imports {
		if imp.Test {
			testEdges = append(testEdges, imp.Pkg.Path)
		} else {
			edges = append(edges, imp.Pkg.Path)
		}
	}
	assert.Contains(t, testEdges, "k8s.io/kubernetes/pkg/testonly")
	assert.Contains(t, testEdges, "testing")
	assert.Equal(t, []string{"k8s.io/kubernetes/pkg/registry/core/namespace", "k8s.io/kubernetes/pkg/registry/core/pod"}, edges)
	assert.Equal(t, []string{"controlplane_test.go"}, cp.TestFiles)
	for _, p := range g.Packages {
		assert.NotContains(t, p.Path, " [", "test variants are folded into their package")
		assert.False(t, strings.HasSuffix(p.Path, ".test"), "test mains are dropped: %s", p.Path)
	}

	chains, err := g.Why(cp, "k8s.io/kubernetes/pkg/testonly", 1)
	require.NoError(t, err)
	require.Len(t, chains, 1)
	assert.Equal(t, "pkg/controlplane/controlplane_test.go:6", chains[0].Steps[0].Pos)
	assert.True(t, chains[0].Steps[0].Test)
}

func TestLoadErrors(t *testing.T) {
	ctx := context.Background()
	_, err := Load(ctx, Options{Dir: t.TempDir(), Roots: []string{"./..."}, Env: testtree.Env})
	assert.ErrorContains(t, err, "has no go.mod")

	dir := testtree.Extract(t, "base")
	_, err = Load(ctx, Options{Dir: dir, Roots: []string{"./cmd/nope"}, Env: testtree.Env})
	var gl *golist.Error
	require.True(t, errors.As(err, &gl), "want a go list error, got %v", err)
	assert.Contains(t, err.Error(), "cmd/nope")
	assert.Contains(t, err.Error(), "env: GOWORK=off GOFLAGS=-mod=mod GOPROXY=off")
	assert.Contains(t, err.Error(), "stderr:")

	// A broken import surfaces go list's own message.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "pkg/registry/core/namespace/bad.go"),
		[]byte("package namespace\n\nimport _ \"k8s.io/kubernetes/pkg/missing\"\n"), 0o644))
	_, err = Load(ctx, Options{Dir: dir, Roots: []string{"./cmd/server"}, Env: testtree.Env})
	assert.ErrorContains(t, err, "pkg/missing")
}

func TestStats(t *testing.T) {
	g := load(t, testtree.Extract(t, "base"), false, "./pkg/controlplane/samples/generic")
	s, err := ComputeStats(context.Background(), g, StatsOptions{})
	require.NoError(t, err)
	assert.Equal(t, "kubernetes", s.Headline)
	assert.Equal(t, 5, s.HeadlinePackages)
	assert.Equal(t, len(g.Packages), s.Packages)
	// controlplane 1, kubelet/client 2, apiserver/pkg/server 1, plus
	// whatever the standard library packages declare.
	var stdInitPkgs, stdInits int
	for _, c := range s.Groups {
		if c.Name == "stdlib" {
			stdInitPkgs, stdInits = c.InitPackages, c.InitFuncs
		}
	}
	assert.Positive(t, stdInits, "strings pulls in unicode, which has init funcs")
	assert.Equal(t, 3+stdInitPkgs, s.InitPackages)
	assert.Equal(t, 4+stdInits, s.InitFuncs)
	assert.Equal(t, 0, s.EdgesIntoHeadline, "a k/k root enters k/k from inside")

	byName := map[string]Count{}
	for _, c := range s.Classes {
		byName[c.Name] = c
	}
	assert.Equal(t, Count{Name: "kubernetes/pkg", Group: "kubernetes", Packages: 5, Roots: 1, Direct: 1, Transitive: 3, InitPackages: 2, InitFuncs: 3}, byName["kubernetes/pkg"])
	assert.Equal(t, Count{Name: "staging/k8s.io/apiserver", Group: "staging", Packages: 1, Transitive: 1, InitPackages: 1, InitFuncs: 1}, byName["staging/k8s.io/apiserver"])
	require.Len(t, s.Sets, 1)
	assert.Equal(t, SetCount{Name: "cluster-specific", Packages: 2, Members: []string{kubeletPkg, "k8s.io/kubernetes/pkg/registry/core/pod"}}, s.Sets[0])

	var groups []string
	for _, c := range s.Groups {
		groups = append(groups, c.Name)
	}
	assert.Equal(t, []string{"stdlib", "kubernetes", "staging", "third-party"}, groups)
	assert.Contains(t, s.Cross, CrossEdge{From: "staging", To: "third-party", Edges: 1})
	assert.Contains(t, s.Cross, CrossEdge{From: "kubernetes", To: "staging", Edges: 2})

	sized, err := ComputeStats(context.Background(), g, StatsOptions{
		Binary:       "bin",
		SymbolBytes:  map[string]int64{kubeletPkg: 100, "runtime": 50, "k8s.io/apiserver/pkg/other": 7, "main": 1},
		Unattributed: 3,
	})
	require.NoError(t, err)
	assert.Equal(t, &SizeTotals{Binary: "bin", Total: 161, Unattributed: 3}, sized.Size)
	for _, c := range sized.Groups {
		switch c.Name {
		case "kubernetes":
			assert.EqualValues(t, 100, c.Bytes, "the generic root is no main package; main is not k/k here")
		case "stdlib":
			assert.EqualValues(t, 50, c.Bytes)
		case "staging":
			assert.EqualValues(t, 7, c.Bytes)
		case "unclassified":
			assert.EqualValues(t, 1, c.Bytes, "main, with no main root")
		}
	}
}

func TestStatsCommand(t *testing.T) {
	g := load(t, testtree.Extract(t, "base"), false, "./cmd/server")
	s, err := ComputeStats(context.Background(), g, StatsOptions{})
	require.NoError(t, err)
	assert.Equal(t, 0, s.EdgesIntoHeadline)
	assert.Equal(t, 5, s.HeadlinePackages, "cmd/server does not import the generic sample")
	assert.Contains(t, s.Cross, CrossEdge{From: "kubernetes", To: "third-party", Edges: 1})
}

func TestWhy(t *testing.T) {
	g := load(t, testtree.Extract(t, "base"), false, "./pkg/controlplane/samples/generic")
	root := g.Roots[0]
	chains, err := g.Why(root, kubeletPkg, 5)
	require.NoError(t, err)
	want := []Chain{{Steps: []Step{
		{From: genericRoot, To: "k8s.io/kubernetes/pkg/controlplane", Pos: "pkg/controlplane/samples/generic/generic.go:3"},
		{From: "k8s.io/kubernetes/pkg/controlplane", To: "k8s.io/kubernetes/pkg/registry/core/pod", Pos: "pkg/controlplane/controlplane.go:5"},
		{From: "k8s.io/kubernetes/pkg/registry/core/pod", To: kubeletPkg, Pos: "pkg/registry/core/pod/pod.go:6"},
	}}}
	assert.Empty(t, cmp.Diff(want, chains), "why (-want +got)")

	// Two shortest chains reach the staging server.
	chains, err = g.Why(root, "k8s.io/apiserver/pkg/server", 5)
	require.NoError(t, err)
	require.Len(t, chains, 2)
	assert.Equal(t, "k8s.io/kubernetes/pkg/registry/core/namespace", chains[0].Steps[1].To)
	assert.Equal(t, "k8s.io/kubernetes/pkg/registry/core/pod", chains[1].Steps[1].To)
	chains, err = g.Why(root, "k8s.io/apiserver/pkg/server", 1)
	require.NoError(t, err)
	assert.Len(t, chains, 1)

	// A pattern leads to the nearest matching package.
	chains, err = g.Why(root, "k8s.io/kubernetes/pkg/kubelet/...", 5)
	require.NoError(t, err)
	require.Len(t, chains, 1)
	assert.Equal(t, []string{genericRoot, "k8s.io/kubernetes/pkg/controlplane", "k8s.io/kubernetes/pkg/registry/core/pod", kubeletPkg}, chains[0].Packages())
	assert.Contains(t, chains[0].String(), "pkg/registry/core/pod/pod.go:6")

	_, err = g.Why(root, "k8s.io/kubernetes/pkg/testonly", 1)
	assert.ErrorContains(t, err, "does not import")
}

func TestCheck(t *testing.T) {
	g := load(t, testtree.Extract(t, "base"), false, "./pkg/controlplane/samples/generic")
	rs, err := rules.ParseImportRules([]byte(`
rules:
- name: no-kubelet
  from: [k8s.io/kubernetes/pkg/controlplane/samples/generic]
  forbid: [k8s.io/kubernetes/pkg/kubelet/...]
  reason: no nodes
- name: no-cmd
  from: [k8s.io/kubernetes/pkg/controlplane/samples/generic]
  forbid: [k8s.io/kubernetes/cmd/...]
- name: elsewhere
  from: [k8s.io/kubernetes/cmd/other]
  forbid: [k8s.io/kubernetes/pkg/kubelet/...]
`))
	require.NoError(t, err)
	res := Check(g, rs)
	require.Len(t, res.Violations, 1)
	v := res.Violations[0]
	assert.Equal(t, "no-kubelet", v.Rule)
	assert.Equal(t, "no nodes", v.Reason)
	assert.Equal(t, kubeletPkg, v.Package)
	assert.Equal(t, genericRoot, v.Root)
	assert.Len(t, v.Chain.Steps, 3)
	assert.Equal(t, []string{"elsewhere"}, res.Unchecked)
	assert.Len(t, res.Checked, 2)

	head := load(t, testtree.Extract(t, "base", "head"), false, "./pkg/controlplane/samples/generic")
	assert.Empty(t, Check(head, rs).Violations, "the head patch cuts the kubelet edge")
}

func TestDiff(t *testing.T) {
	base := load(t, testtree.Extract(t, "base"), false, "./pkg/controlplane/samples/generic")
	head := load(t, testtree.Extract(t, "base", "head"), false, "./pkg/controlplane/samples/generic")
	r := Diff(base, head)
	assert.Equal(t, []PackageRef{{"k8s.io/kubernetes/pkg/registry/core/service", "kubernetes/pkg"}}, r.Added)
	var removed []string
	for _, p := range r.Removed {
		removed = append(removed, p.Path)
	}
	assert.Contains(t, removed, kubeletPkg)
	metrics := map[string]Delta{}
	for _, d := range r.Metrics {
		metrics[d.Name] = d
	}
	assert.Equal(t, Delta{Name: "kubernetes packages", Base: 5, Head: 5, Delta: 0}, metrics["kubernetes packages"])
	assert.Equal(t, Delta{Name: "set cluster-specific", Base: 2, Head: 1, Delta: -1}, metrics["set cluster-specific"])
	assert.Equal(t, Delta{Name: "group kubernetes", Base: 5, Head: 5, Delta: 0}, metrics["group kubernetes"])
	assert.Equal(t, 3, metrics["init funcs"].Head, "head reaches no standard library package")
	assert.Greater(t, metrics["init funcs"].Base, 4)

	var md strings.Builder
	require.NoError(t, r.WriteMarkdown(&md))
	assert.Contains(t, md.String(), "| set cluster-specific | 2 | 1 | -1 |")
	assert.Contains(t, md.String(), "- `"+kubeletPkg+"` (kubernetes/pkg)")
	assert.Contains(t, md.String(), "added packages (1)")
}

func TestStatsEdgesIntoHeadline(t *testing.T) {
	// A consumer module outside k/k, like this repository, enters k/k
	// through its own imports.
	tree := testtree.Extract(t, "base")
	consumer := filepath.Join(tree, "_consumer")
	require.NoError(t, os.MkdirAll(filepath.Join(consumer, "cmd/cp"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(consumer, "go.mod"), []byte(`module example.com/consumer

go 1.26

require (
	example.com/yaml v0.0.0
	k8s.io/apiserver v0.0.0
	k8s.io/kubernetes v0.0.0
)

replace (
	example.com/yaml => ../_deps/yaml
	k8s.io/apiserver => ../staging/src/k8s.io/apiserver
	k8s.io/kubernetes => ../
)
`), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(consumer, "cmd/cp/main.go"), []byte(`package main

import (
	"k8s.io/kubernetes/pkg/controlplane"
	"k8s.io/kubernetes/pkg/registry/core/pod"
)

func main() { controlplane.New(); pod.Register() }
`), 0o644))
	g := load(t, consumer, false, "./cmd/cp")
	s, err := ComputeStats(context.Background(), g, StatsOptions{})
	require.NoError(t, err)
	assert.Equal(t, 2, s.EdgesIntoHeadline)
	assert.Equal(t, 4, s.HeadlinePackages)
	assert.Contains(t, s.Cross, CrossEdge{From: "third-party", To: "kubernetes", Edges: 2})
}

// TestDiffSnapshotsBase patches a tree in place between two loads, as a
// per-patch proof does, and checks that the base graph keeps its numbers.
func TestDiffSnapshotsBase(t *testing.T) {
	dir := testtree.Extract(t, "base")
	base := load(t, dir, false, "./pkg/controlplane/samples/generic")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "pkg/kubelet/client/client.go"),
		[]byte("package client\n\nimport \"strings\"\n\nfunc Dial() { _ = strings.ToUpper(\"x\") }\n"), 0o644))
	head := load(t, dir, false, "./pkg/controlplane/samples/generic")
	r := Diff(base, head)
	for _, d := range r.Metrics {
		if d.Name == "init funcs" {
			assert.Equal(t, -2, d.Delta, "the kubelet client's two init funcs are gone")
		}
	}
}

func TestExclusiveCosts(t *testing.T) {
	g := load(t, testtree.Extract(t, "base"), false, "./pkg/controlplane/samples/generic")
	root := g.Roots[0]
	kube := func(p *Package) bool { return strings.HasPrefix(p.Path, "k8s.io/kubernetes/") }
	pod, controlplane := g.Package("k8s.io/kubernetes/pkg/registry/core/pod"), g.Package("k8s.io/kubernetes/pkg/controlplane")
	namespace, yaml := g.Package("k8s.io/kubernetes/pkg/registry/core/namespace"), g.Package("example.com/yaml")

	costs := g.ExclusiveCosts(root, []*Package{namespace, pod, controlplane, yaml, root}, nil, kube)
	want := []Cost{
		{Package: controlplane.Path, Exclusive: []string{controlplane.Path, kubeletPkg, namespace.Path, pod.Path}},
		{Package: pod.Path, Exclusive: []string{kubeletPkg, pod.Path}},
		{Package: namespace.Path, Exclusive: []string{namespace.Path}},
		// yaml is not counted, and what it reaches is reached another way
		{Package: yaml.Path},
	}
	assert.Empty(t, cmp.Diff(want, costs), "costs (-want +got)")

	// With pod cut first, the costs are of the rest of the graph.
	cut := map[*Package]bool{pod: true}
	assert.Equal(t, []string{controlplane.Path, genericRoot, namespace.Path}, paths(g.ReachableWithout(root, cut), kube))
	costs = g.ExclusiveCosts(root, []*Package{controlplane, pod}, cut, kube)
	assert.Empty(t, cmp.Diff([]Cost{{Package: controlplane.Path, Exclusive: []string{controlplane.Path, namespace.Path}}}, costs))
}

func TestAddedCosts(t *testing.T) {
	g := load(t, testtree.Extract(t, "base"), false, "./pkg/registry/core/namespace", "./pkg/registry/core/pod", "./pkg/controlplane")
	root := g.Package("k8s.io/kubernetes/pkg/registry/core/namespace")
	pod, controlplane := g.Package("k8s.io/kubernetes/pkg/registry/core/pod"), g.Package("k8s.io/kubernetes/pkg/controlplane")
	kube := func(p *Package) bool { return strings.HasPrefix(p.Path, "k8s.io/kubernetes/") }

	got := g.AddedCosts(root, []*Package{pod, controlplane, root}, kube)
	want := []AddedCost{
		{Package: pod.Path, Added: []string{kubeletPkg, pod.Path}},
		// the namespace registry is the root's already
		{Package: controlplane.Path, Added: []string{controlplane.Path, kubeletPkg, pod.Path}},
		// a pick the root links costs what the root links only through it
		{Package: root.Path, Linked: true, Added: []string{root.Path}},
	}
	assert.Empty(t, cmp.Diff(want, got), "added costs (-want +got)")
}

func TestModuleSizes(t *testing.T) {
	dir := testtree.Extract(t, "base")
	g := load(t, dir, false, "./pkg/controlplane/samples/generic")
	got := g.ModuleSizes(map[string]int64{
		kubeletPkg:                      100,
		"k8s.io/kubernetes/pkg/unknown": 3, // not linked by this root, but inside its module
		"runtime":                       50,
		"k8s.io/apiserver/pkg/other":    7,
		"example.com/yaml/internal/x":   5,
		"main":                          1, // no main root: nobody's
		"zz.example/x":                  2,
	})
	want := []ModuleSize{
		{Module: "k8s.io/kubernetes", Packages: 5, Bytes: 103},
		{Module: "std", Packages: len(paths(g.Packages, func(p *Package) bool { return p.Standard })), Bytes: 50},
		{Module: "k8s.io/apiserver", Packages: 1, Bytes: 7},
		{Module: "example.com/yaml", Packages: 1, Bytes: 5},
		{Module: "unknown", Bytes: 3},
	}
	assert.Empty(t, cmp.Diff(want, got), "module sizes (-want +got)")

	cmd := load(t, dir, false, "./cmd/server")
	var mainBytes int64
	for _, m := range cmd.ModuleSizes(map[string]int64{"main": 11}) {
		if m.Module == "k8s.io/kubernetes" {
			mainBytes = m.Bytes
		}
	}
	assert.EqualValues(t, 11, mainBytes, "a command's main.* symbols belong to its module")
}
