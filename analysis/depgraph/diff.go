package depgraph

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
)

// Report is what changed between a base and a head tree for the same roots.
type Report struct {
	Roots []string `json:"roots"`
	Base  *Stats   `json:"base"`
	Head  *Stats   `json:"head"`
	// Added and Removed are packages reached only in head or only in base.
	Added   []PackageRef `json:"added"`
	Removed []PackageRef `json:"removed"`
	Metrics []Delta      `json:"metrics"`
	Classes []Delta      `json:"classes"`
}

// PackageRef names a package and its class.
type PackageRef struct {
	Path  string `json:"path"`
	Class string `json:"class"`
}

// Delta is one metric in base and head.
type Delta struct {
	Name  string `json:"name"`
	Base  int    `json:"base"`
	Head  int    `json:"head"`
	Delta int    `json:"delta"`
}

// Diff compares the graphs of the same roots in two trees.
func Diff(base, head *Graph) Report {
	r, err := DiffContext(context.Background(), base, head)
	if err != nil {
		// Only init-func counting can fail (a file vanished or does not
		// parse); keep the package-level answer and say so.
		r.Metrics = append(r.Metrics, Delta{Name: "error: " + err.Error()})
	}
	return r
}

// DiffContext is Diff with cancellation and error reporting.
func DiffContext(ctx context.Context, base, head *Graph) (Report, error) {
	r := Report{Roots: head.RootPaths(), Added: []PackageRef{}, Removed: []PackageRef{}}
	var (
		wg               sync.WaitGroup
		baseErr, headErr error
	)
	wg.Add(2)
	go func() { defer wg.Done(); r.Base, baseErr = ComputeStats(ctx, base, StatsOptions{}) }()
	go func() { defer wg.Done(); r.Head, headErr = ComputeStats(ctx, head, StatsOptions{}) }()
	wg.Wait()
	for _, p := range head.Packages {
		if base.byPath[p.Path] == nil {
			r.Added = append(r.Added, PackageRef{p.Path, p.Class.Name})
		}
	}
	for _, p := range base.Packages {
		if head.byPath[p.Path] == nil {
			r.Removed = append(r.Removed, PackageRef{p.Path, p.Class.Name})
		}
	}
	if baseErr != nil || headErr != nil {
		if baseErr == nil {
			baseErr = headErr
		}
		return r, baseErr
	}
	b, h := r.Base, r.Head
	delta := func(name string, bv, hv int) {
		r.Metrics = append(r.Metrics, Delta{Name: name, Base: bv, Head: hv, Delta: hv - bv})
	}
	delta(b.Headline+" packages", b.HeadlinePackages, h.HeadlinePackages)
	delta("packages", b.Packages, h.Packages)
	delta("edges", b.Edges, h.Edges)
	delta("edges into "+b.Headline, b.EdgesIntoHeadline, h.EdgesIntoHeadline)
	delta("packages with init", b.InitPackages, h.InitPackages)
	delta("init funcs", b.InitFuncs, h.InitFuncs)
	for _, name := range unionNames(names(b.Sets), names(h.Sets)) {
		delta("set "+name, packagesOf(b.Sets, name), packagesOf(h.Sets, name))
	}
	for _, name := range unionNames(names(b.Groups), names(h.Groups)) {
		delta("group "+name, packagesOf(b.Groups, name), packagesOf(h.Groups, name))
	}
	for _, name := range unionNames(names(b.Classes), names(h.Classes)) {
		bv, hv := packagesOf(b.Classes, name), packagesOf(h.Classes, name)
		r.Classes = append(r.Classes, Delta{Name: name, Base: bv, Head: hv, Delta: hv - bv})
	}
	return r, nil
}

// named is a per-name package count of a Stats: a Count or a SetCount.
type named interface{ nameAndPackages() (string, int) }

func (c Count) nameAndPackages() (string, int)    { return c.Name, c.Packages }
func (s SetCount) nameAndPackages() (string, int) { return s.Name, s.Packages }

func names[T named](xs []T) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i], _ = x.nameAndPackages()
	}
	return out
}

func packagesOf[T named](xs []T, name string) int {
	for _, x := range xs {
		if n, p := x.nameAndPackages(); n == name {
			return p
		}
	}
	return 0
}

// unionNames keeps a's order and appends b's extra names sorted.
func unionNames(a, b []string) []string {
	seen := map[string]bool{}
	out := append([]string(nil), a...)
	for _, n := range a {
		seen[n] = true
	}
	var extra []string
	for _, n := range b {
		if !seen[n] {
			extra = append(extra, n)
		}
	}
	sort.Strings(extra)
	return append(out, extra...)
}

// WriteMarkdown renders the report for a pull request or a patch proof.
func (r Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "### depgraph: %s\n\n", strings.Join(r.Roots, ", "))
	if r.Base != nil && r.Head != nil {
		fmt.Fprintf(&b, "base `%s` → head `%s`\n\n", r.Base.Tree, r.Head.Tree)
	}
	b.WriteString("| metric | base | head | Δ |\n|---|---:|---:|---:|\n")
	for _, d := range r.Metrics {
		fmt.Fprintf(&b, "| %s | %d | %d | %s |\n", d.Name, d.Base, d.Head, signed(d.Delta))
	}
	var changed []Delta
	for _, d := range r.Classes {
		if d.Delta != 0 {
			changed = append(changed, d)
		}
	}
	if len(changed) > 0 {
		b.WriteString("\n| class | base | head | Δ |\n|---|---:|---:|---:|\n")
		for _, d := range changed {
			fmt.Fprintf(&b, "| %s | %d | %d | %s |\n", d.Name, d.Base, d.Head, signed(d.Delta))
		}
	}
	list := func(title string, refs []PackageRef) {
		fmt.Fprintf(&b, "\n<details><summary>%s (%d)</summary>\n\n", title, len(refs))
		for _, p := range refs {
			fmt.Fprintf(&b, "- `%s` (%s)\n", p.Path, p.Class)
		}
		if len(refs) == 0 {
			b.WriteString("none\n")
		}
		b.WriteString("\n</details>\n")
	}
	list("removed packages", r.Removed)
	list("added packages", r.Added)
	_, err := io.WriteString(w, b.String())
	return err
}

func signed(n int) string {
	if n > 0 {
		return fmt.Sprintf("+%d", n)
	}
	return fmt.Sprint(n)
}
