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
	// maxSize is the stripped binary's size over the reference's;
	// maxReady the start to /readyz, etcd start included; maxRSS the
	// subject's RSS at ready, its etcd included (embedded or separate),
	// over the reference API server's own.
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
		maxSize: 0.55, maxReady: 1.0, maxRSS: 0.35, why: whyUnserved},
	{subject: "minimal-apiserver-series", label: "generic server: our minimal-apiserver on the tip (links embedded etcd, kine, SQLite and every server/kubeapis group)",
		maxSize: 0.55, maxReady: 1.0, maxRSS: 0.35, why: append([]string{"go.etcd.io/etcd/server/v3/embed"}, whyUnserved...)},
	{subject: "example-crdonly", label: "CRD-only server (ours, embedded etcd)",
		maxSize: 0.40, maxReady: 0.5, maxRSS: 0.35, why: append([]string{"go.etcd.io/etcd/server/v3/embed"}, whyUnserved...)},
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
	Subject    string     `json:"subject"`
	Label      string     `json:"label"`
	SizeRatio  float64    `json:"size_ratio"`
	MaxSize    float64    `json:"max_size_ratio"`
	Ready      float64    `json:"ready_seconds"`
	MaxReady   float64    `json:"max_ready_seconds"`
	RSSRatio   float64    `json:"rss_ratio"`
	MaxRSS     float64    `json:"max_rss_ratio"`
	Cause      *sizeCause `json:"size_cause,omitempty"`
	CauseError string     `json:"size_cause_error,omitempty"`
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
		}
		if e, ok := explain[g.subject]; ok && gr.SizeRatio > g.maxSize {
			if e.binary == "" {
				e.binary = bins[g.subject]
			}
			cause, err := explainSize(ctx, e, g.why)
			if err != nil {
				gr.CauseError = err.Error()
			} else {
				gr.Cause = cause
			}
		}
		out = append(out, gr)
	}
	return out
}

// explainSize attributes the binary's symbols to modules and finds the
// shortest import chain from the root to each package in why.
func explainSize(ctx context.Context, e explanation, why []string) (*sizeCause, error) {
	sizes, err := symsize.Read(e.binary)
	if err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(e.dir)
	if err != nil {
		return nil, err
	}
	g, err := depgraph.Load(ctx, depgraph.Options{Dir: dir, Roots: []string{e.root}, Env: e.env, SkipInitFuncs: true})
	if err != nil {
		return nil, fmt.Errorf("loading the imports of %s in %s: %w", e.root, e.dir, err)
	}
	c := &sizeCause{Binary: e.binary, Unattributed: sizes.Unattributed, Modules: g.ModuleSizes(sizes.ByPackage), Chains: map[string][]string{}}
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
	fmt.Fprintf(sb, "\n## Issue 11 targets\n\nAgainst kube-apiserver with the whole series (row above). Size: stripped binary over kube-apiserver's. Start: to /readyz, the server's etcd start included. RSS: the server's at ready, its etcd included (embedded or separate), over kube-apiserver's own.\n\n")
	sb.WriteString("| server | size ratio (target) | start to /readyz, s (target) | RSS ratio (target) |\n|---|---|---|---|\n")
	for _, g := range goals {
		fmt.Fprintf(sb, "| %s | %s | %s | %s |\n", g.Label,
			verdict(g.SizeRatio, g.MaxSize, "%.2f"), verdict(g.Ready, g.MaxReady, "%.2f"), verdict(g.RSSRatio, g.MaxRSS, "%.2f"))
	}
	for _, g := range goals {
		if g.CauseError != "" {
			fmt.Fprintf(sb, "\nSize of %s not explained: %s\n", g.Subject, g.CauseError)
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
