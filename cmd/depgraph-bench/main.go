// Command bench times depgraph against the go command on a Kubernetes tree
// and writes the figures as Markdown (make bench-depgraph):
//
//   - stats for cmd/kube-apiserver vs `go list -deps -json ./cmd/kube-apiserver`
//     (target: ratio <= 1.2), and
//   - diff of two trees for the generic sample vs one stats run of it
//     (target: ratio <= 2, the two tree loads run concurrently).
//
// Every command runs as a separate process, as a user would run it, once to
// warm caches and then -runs times, interleaved so that drifting machine load
// hits both sides alike; the median is reported.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/generic-controlplane/gcp/analysis/golist"
	"github.com/generic-controlplane/gcp/internal/goenv"
	"github.com/generic-controlplane/gcp/internal/stats"
)

const (
	kubeAPIServer = "./cmd/kube-apiserver"
	genericSample = "./pkg/controlplane/apiserver/samples/generic"
)

// goEnv is what go list needs inside a materialized Kubernetes tree, the
// environment depgraph itself uses (golist.DefaultEnv).
var goEnv = goenv.ModuleAlone()

type invocation struct {
	label string
	dir   string
	argv  []string
}

func (inv invocation) String() string { return strings.Join(inv.argv, " ") }

func (inv invocation) run() (time.Duration, error) {
	cmd := exec.Command(inv.argv[0], inv.argv[1:]...)
	cmd.Dir = inv.dir
	cmd.Env = append(os.Environ(), goEnv...)
	cmd.Stdout = io.Discard
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if err != nil {
		return 0, fmt.Errorf("%s (in %s): %v\n%s", inv, inv.dir, err, stderr.String())
	}
	return d, nil
}

type comparison struct {
	name     string
	subject  invocation
	baseline invocation
	target   float64
	subjectT []time.Duration
	baseT    []time.Duration
}

func (c *comparison) measure(runs int) error {
	for _, inv := range []invocation{c.subject, c.baseline} { // warm-up
		if _, err := inv.run(); err != nil {
			return err
		}
	}
	for i := 0; i < runs; i++ {
		d, err := c.subject.run()
		if err != nil {
			return err
		}
		c.subjectT = append(c.subjectT, d)
		if d, err = c.baseline.run(); err != nil {
			return err
		}
		c.baseT = append(c.baseT, d)
	}
	return nil
}

func (c *comparison) ratio() float64 {
	return float64(stats.Median(c.subjectT)) / float64(stats.Median(c.baseT))
}

func main() {
	depgraph := flag.String("depgraph", "_output/bin/depgraph", "depgraph binary")
	tree := flag.String("tree", "_output/kk", "Kubernetes tree for the stats comparison")
	base := flag.String("base", "", "base tree for the diff comparison (default: -tree)")
	head := flag.String("head", "", "head tree for the diff comparison (default: a hard-linked copy of -base)")
	runs := flag.Int("runs", 5, "timed runs per command")
	out := flag.String("out", "reports/bench-depgraph.md", "Markdown report to write")
	flag.Parse()
	if err := run(*depgraph, *tree, *base, *head, *runs, *out); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
}

func run(depgraph, tree, base, head string, runs int, out string) error {
	if base == "" {
		base = tree
	}
	var err error
	for _, p := range []*string{&depgraph, &tree, &base, &head} {
		if *p == "" {
			continue
		}
		if *p, err = filepath.Abs(*p); err != nil {
			return err
		}
		if _, err := os.Stat(*p); err != nil {
			return err
		}
	}
	if head == "" {
		// Diffing a tree against itself would let depgraph's per-file
		// cache answer the second load from memory; a copy at another
		// path costs what a patched tree costs.
		copyDir, err := os.MkdirTemp("", "depgraph-bench-head-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(copyDir)
		fmt.Fprintf(os.Stderr, "linking a copy of %s into %s ...\n", base, copyDir)
		if err := linkTree(base, copyDir); err != nil {
			return err
		}
		head = copyDir
	}
	// The plain go list runs against a private copy of go.mod, like depgraph's
	// own: with -mod=mod it would otherwise rewrite the tree's go.mod (and,
	// through the hard links, the original's).
	modfile, cleanup, err := golist.PrivateModfile(tree, goEnv)
	if err != nil {
		return err
	}
	defer cleanup()
	comparisons := []*comparison{
		{
			name:     "stats cmd/kube-apiserver vs go list -deps -json",
			subject:  invocation{"depgraph stats", tree, []string{depgraph, "stats", "--dir", tree, kubeAPIServer}},
			baseline: invocation{"go list -deps -json", tree, []string{"go", "list", modfile, "-deps", "-json", kubeAPIServer}},
			target:   1.2,
		},
		{
			name:     "diff of two trees (generic sample) vs one stats run",
			subject:  invocation{"depgraph diff", tree, []string{depgraph, "diff", "--base", base, "--head", head, genericSample}},
			baseline: invocation{"depgraph stats", tree, []string{depgraph, "stats", "--dir", base, genericSample}},
			target:   2,
		},
	}
	for _, c := range comparisons {
		fmt.Fprintf(os.Stderr, "measuring %s ...\n", c.name)
		if err := c.measure(runs); err != nil {
			return err
		}
	}
	report := render(comparisons, tree, base, head, runs)
	fmt.Print(report)
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	return os.WriteFile(out, []byte(report), 0o644)
}

func render(cs []*comparison, tree, base, head string, runs int) string {
	var b strings.Builder
	b.WriteString("# depgraph benchmark\n\n")
	b.WriteString("Generated by `make bench-depgraph` (cmd/depgraph-bench); do not edit.\n\n")
	fmt.Fprintf(&b, "- date: %s\n", time.Now().UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, "- machine: %s/%s, %d CPUs, %s\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), goVersion())
	fmt.Fprintf(&b, "- tree: `%s` (%s)\n", tree, treeRev(tree))
	fmt.Fprintf(&b, "- diff base: `%s`, head: `%s` (%s)\n", base, head, treeRev(head))
	fmt.Fprintf(&b, "- env: `%s`; median of %d runs after one warm-up run, each a separate process\n\n", strings.Join(goEnv, " "), runs)
	b.WriteString("| comparison | subject (median) | baseline (median) | ratio | target | result |\n")
	b.WriteString("|---|---:|---:|---:|---:|---|\n")
	for _, c := range cs {
		result := "ok"
		if c.ratio() > c.target {
			result = "OVER TARGET"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %.2f | <= %.1f | %s |\n", c.name,
			stats.Median(c.subjectT).Round(time.Millisecond), stats.Median(c.baseT).Round(time.Millisecond), c.ratio(), c.target, result)
	}
	b.WriteString("\nCommands and all timings:\n\n")
	for _, c := range cs {
		for _, side := range []struct {
			inv invocation
			ts  []time.Duration
		}{{c.subject, c.subjectT}, {c.baseline, c.baseT}} {
			var ts []string
			for _, t := range side.ts {
				ts = append(ts, t.Round(time.Millisecond).String())
			}
			fmt.Fprintf(&b, "- `%s` (in %s): %s\n", side.inv, side.inv.dir, strings.Join(ts, ", "))
		}
	}
	return b.String()
}

// linkTree mirrors src into dst with hard links, skipping .git. Files the go
// command may rewrite (go.mod, go.sum, go.work*) are copied instead, so
// that nothing written in dst can reach src through a shared inode.
func linkTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir() && d.Name() == ".git":
			return filepath.SkipDir
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case !d.Type().IsRegular():
			return nil
		case strings.HasPrefix(d.Name(), "go.mod") || strings.HasPrefix(d.Name(), "go.sum") || strings.HasPrefix(d.Name(), "go.work"):
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			return os.WriteFile(target, data, 0o644)
		default:
			return os.Link(path, target)
		}
	})
}

func goVersion() string {
	out, err := exec.Command("go", "env", "GOVERSION").Output()
	if err != nil {
		return runtime.Version()
	}
	return strings.TrimSpace(string(out))
}

func treeRev(dir string) string {
	out, err := exec.Command("git", "-C", dir, "describe", "--tags", "--always", "--dirty").Output()
	if err != nil {
		return "not a git checkout"
	}
	return strings.TrimSpace(string(out))
}
