package main

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/generic-controlplane/gcp/analysis/depgraph"
	"github.com/generic-controlplane/gcp/analysis/symsize"
)

// goal is one of issue 11's targets for a server, measured against
// kube-apiserver with the whole series (goalReference). A zero bound is not
// a target.
type goal struct {
	subject string // bin of the measured server
	label   string
	// maxPackages bounds the k8s.io/kubernetes packages the server links;
	// maxSize is the stripped binary's size over the reference's;
	// maxReady the start to /readyz, etcd start included; maxRSS the
	// subject's RSS at ready, its etcd included (embedded or separate),
	// over the reference API server's own.
	maxPackages               int
	maxSize, maxReady, maxRSS float64
	// why names the packages whose import chains explain a missed size
	// target: what the server links without serving it.
	why []string
}

const goalReference = "kube-apiserver-series"

// whyUnserved are packages a server that serves neither apps nor batch
// still links: the client-go informer factory of every built-in group,
// which k8s.io/apiserver's server.Config holds, and an API group's types
// through it.
var whyUnserved = []string{"k8s.io/client-go/informers", "k8s.io/api/apps/v1"}

var goals = []goal{
	{subject: "minimal-sample-series", label: "generic server (namespaces, RBAC, secrets, configmaps, CRDs, APIServices): the minimal sample",
		maxPackages: 120, maxSize: 0.55, maxReady: 1.0, maxRSS: 0.35, why: whyUnserved},
	{subject: "minimal-apiserver-series", label: "generic server: our minimal-apiserver on the tip (links embedded etcd, kine, SQLite and every server/kubeapis group it offers)",
		// No package target: it offers every group, so it links them all.
		maxSize: 0.55, maxReady: 1.0, maxRSS: 0.35, why: append([]string{"go.etcd.io/etcd/server/v3/embed", "k8s.io/kubernetes/pkg/registry/apps/..."}, whyUnserved...)},
	{subject: "example-crdonly", label: "CRD-only server (ours, embedded etcd)",
		maxPackages: 15, maxSize: 0.40, maxReady: 0.5, maxRSS: 0.35, why: append([]string{"go.etcd.io/etcd/server/v3/embed"}, whyUnserved...)},
}

// explanation says where a subject's code comes from: a binary with its
// symbol table (the benchmarked one may be stripped) and the module
// directory and root package it was built from.
type explanation struct {
	binary, dir, root string
	env               []string // for go list; nil: golist.DefaultEnv
}

// explainFlag collects -explain BIN=DIR,ROOT[,BINARY[,GOFLAGS]] values.
// GOFLAGS, if given, replaces the module-alone default of go list (for a
// build with a -modfile or build tags).
type explainFlag map[string]explanation

func (f explainFlag) String() string { return fmt.Sprint(map[string]explanation(f)) }

func (f explainFlag) Set(v string) error {
	bin, rest, ok := strings.Cut(v, "=")
	parts := strings.Split(rest, ",")
	if !ok || bin == "" || len(parts) < 2 || len(parts) > 4 || parts[0] == "" || parts[1] == "" {
		return fmt.Errorf("want BIN=DIR,ROOT[,BINARY_WITH_SYMBOLS[,GOFLAGS]], got %q", v)
	}
	e := explanation{dir: parts[0], root: parts[1]}
	if len(parts) >= 3 {
		e.binary = parts[2]
	}
	if len(parts) == 4 {
		e.env = []string{"GOWORK=off", "GOFLAGS=" + parts[3]}
	}
	f[bin] = e
	return nil
}

// goalResult is a goal checked against the medians.
type goalResult struct {
	Subject string `json:"subject"`
	Label   string `json:"label"`
	// KubePackages is -1 when the server's imports were not loaded.
	KubePackages int     `json:"kube_packages"`
	MaxPackages  int     `json:"max_kube_packages"`
	SizeRatio    float64 `json:"size_ratio"`
	MaxSize      float64 `json:"max_size_ratio"`
	Ready        float64 `json:"ready_seconds"`
	MaxReady     float64 `json:"max_ready_seconds"`
	RSSRatio     float64 `json:"rss_ratio"`
	// RSSFileShare is the file-backed share of the subject's RSS at ready:
	// pages of its binary, which shrink with the binary.
	RSSFileShare float64    `json:"rss_file_share"`
	MaxRSS       float64    `json:"max_rss_ratio"`
	Cause        *sizeCause `json:"size_cause,omitempty"`
	// CauseError says why the server's imports or symbols could not be read.
	CauseError string `json:"cause_error,omitempty"`
}

// sizeCause is where a subject's bytes go and why it links what it does not
// serve.
type sizeCause struct {
	Binary       string                `json:"binary"`
	SymbolBytes  int64                 `json:"symbol_bytes"`
	Unattributed int64                 `json:"unattributed_bytes"`
	Modules      []depgraph.ModuleSize `json:"modules"`
	Chains       map[string][]string   `json:"chains"`
}

// checkGoals checks every goal whose subject and reference both ran.
func checkGoals(ctx context.Context, results []result, bins map[string]string, explain explainFlag) []goalResult {
	byBin := map[string]*result{}
	for i := range results {
		byBin[results[i].Binary] = &results[i]
	}
	ref := byBin[goalReference]
	if ref == nil || len(ref.Runs) == 0 {
		return nil
	}
	var out []goalResult
	for _, g := range goals {
		s := byBin[g.subject]
		if s == nil || len(s.Runs) == 0 {
			continue
		}
		gr := goalResult{
			Subject: g.subject, Label: g.label,
			SizeRatio: s.StrippedMiB / ref.StrippedMiB, MaxSize: g.maxSize,
			Ready: s.Median.ReadySeconds, MaxReady: g.maxReady,
			RSSRatio: (s.Median.RSSReadyMiB + s.Median.EtcdRSSReadyMiB) / ref.Median.RSSReadyMiB, MaxRSS: g.maxRSS,
			KubePackages: -1, MaxPackages: g.maxPackages,
		}
		if s.Median.RSSReadyMiB > 0 {
			gr.RSSFileShare = s.Median.RSSFileReadyMiB / s.Median.RSSReadyMiB
		}
		if e, ok := explain[g.subject]; ok {
			if e.binary == "" {
				e.binary = bins[g.subject]
			}
			if err := gr.inspect(ctx, e, g.why); err != nil {
				gr.CauseError = err.Error()
			}
		}
		out = append(out, gr)
	}
	return out
}

// inspect counts the k8s.io/kubernetes packages of the server's root and,
// if the server misses its size target, attributes the binary's symbols to
// modules and finds the shortest import chain from the root to each package
// in why.
func (gr *goalResult) inspect(ctx context.Context, e explanation, why []string) error {
	dir, err := filepath.Abs(e.dir)
	if err != nil {
		return err
	}
	g, err := depgraph.Load(ctx, depgraph.Options{Dir: dir, Roots: []string{e.root}, Env: e.env, SkipInitFuncs: true})
	if err != nil {
		return fmt.Errorf("loading the imports of %s in %s: %w", e.root, e.dir, err)
	}
	gr.KubePackages = 0
	for _, p := range g.Packages {
		if p.Class.Group == g.Classes.Headline() {
			gr.KubePackages++
		}
	}
	if gr.SizeRatio <= gr.MaxSize {
		return nil
	}
	gr.Cause, err = explainSize(g, e.binary, why)
	return err
}

// explainSize attributes the binary's symbols to the modules of g and finds
// the shortest import chain from g's root to each package in why.
func explainSize(g *depgraph.Graph, binary string, why []string) (*sizeCause, error) {
	sizes, err := symsize.Read(binary)
	if err != nil {
		return nil, err
	}
	c := &sizeCause{Binary: binary, Unattributed: sizes.Unattributed, Modules: g.ModuleSizes(sizes.ByPackage), Chains: map[string][]string{}}
	for _, n := range sizes.ByPackage {
		c.SymbolBytes += n
	}
	for _, target := range why {
		chains, err := g.Why(g.Roots[0], target, 1)
		if err != nil {
			c.Chains[target] = []string{"(" + err.Error() + ")"}
			continue
		}
		c.Chains[target] = chains[0].Packages()
	}
	return c, nil
}

// writeGoals renders the goals as Markdown.
func writeGoals(sb *strings.Builder, goals []goalResult) {
	if len(goals) == 0 {
		return
	}
	fmt.Fprintf(sb, "\n## Issue 11 targets\n\nAgainst kube-apiserver with the whole series (row above). Size: stripped binary over kube-apiserver's. Start: to /readyz, the server's etcd start included. RSS: the server's at ready, its etcd included (embedded or separate), over kube-apiserver's own; its file-backed share (RssFile) is mostly the pages of the server's own binary, which shrink with it.\n\n")
	sb.WriteString("| server | k/k packages (target) | size ratio (target) | start to /readyz, s (target) | RSS ratio (target) |\n|---|---|---|---|---|\n")
	for _, g := range goals {
		packages := "not loaded"
		if g.KubePackages >= 0 {
			packages = verdict(float64(g.KubePackages), float64(g.MaxPackages), "%.0f")
		}
		rss := verdict(g.RSSRatio, g.MaxRSS, "%.2f")
		if g.RSSFileShare > 0 {
			rss += fmt.Sprintf("; %.0f%% of its RSS file-backed", 100*g.RSSFileShare)
		}
		fmt.Fprintf(sb, "| %s | %s | %s | %s | %s |\n", g.Label, packages,
			verdict(g.SizeRatio, g.MaxSize, "%.2f"), verdict(g.Ready, g.MaxReady, "%.2f"), rss)
	}
	for _, g := range goals {
		if g.CauseError != "" {
			fmt.Fprintf(sb, "\n%s not inspected: %s\n", g.Subject, g.CauseError)
		}
		c := g.Cause
		if c == nil {
			continue
		}
		fmt.Fprintf(sb, "\n### Why %s misses its size target\n\n", g.Subject)
		fmt.Fprintf(sb, "Symbols of `%s` (not stripped): %s attributed by module (depgraph), %s without a package (runtime tables, string data). The rest of the stripped file is metadata (pclntab, type data) that grows with the same code. Largest modules:\n\n",
			filepath.Base(c.Binary), mibString(c.SymbolBytes), mibString(c.Unattributed))
		sb.WriteString("| module | packages linked | symbol bytes | share |\n|---|---:|---:|---:|\n")
		for i, m := range c.Modules {
			if i == 10 {
				break
			}
			fmt.Fprintf(sb, "| %s | %d | %s | %.0f%% |\n", m.Module, m.Packages, mibString(m.Bytes), 100*float64(m.Bytes)/float64(c.SymbolBytes))
		}
		sb.WriteString("\nShortest import chains (depgraph why):\n\n")
		for _, target := range slices.Sorted(maps.Keys(c.Chains)) {
			fmt.Fprintf(sb, "- `%s`: %s\n", target, strings.Join(c.Chains[target], " → "))
		}
	}
}

func verdict(v, max float64, format string) string {
	s := fmt.Sprintf(format, v)
	if max == 0 {
		return s
	}
	if v <= max {
		return fmt.Sprintf("%s (<= "+format+": met)", s, max)
	}
	return fmt.Sprintf("%s (<= "+format+": **missed** by "+format+")", s, max, v-max)
}

func mibString(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
