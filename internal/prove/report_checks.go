package prove

import (
	"fmt"
	"strings"
)

// writeSurfaceTable renders kube-apiserver's surface per step, one column
// per aspect, each cell the count of lines and how it compares.
func writeSurfaceTable(b *strings.Builder, res *Result) {
	b.WriteString("\n## kube-apiserver as a reviewer sees it\n\n")
	b.WriteString("Each patch declares in its commit message `kube-apiserver: no change` or `kube-apiserver: change: <what>`.\n")
	b.WriteString("Every aspect is compared with the previous prefix (or the last one that measured it); a difference the patch\n")
	b.WriteString("did not declare is a problem of that patch. A declared difference is accepted there and later prefixes are\n")
	b.WriteString("compared with it, so it fails no later patch. Cells: the number of lines (flags: lines of `--help`), then\n")
	b.WriteString("`=` same as the previous prefix and the baseline, `= ≠base` same as the previous prefix but not the baseline\n")
	b.WriteString("(declared earlier), `Δ declared` changed as declared, `Δ ✗` changed without a declaration.\n\n")
	b.WriteString("| # | declared |")
	for _, a := range aspects {
		fmt.Fprintf(b, " %s |", a.title)
	}
	b.WriteString("\n|---:|---|" + strings.Repeat("---:|", len(aspects)) + "\n")
	for _, s := range res.Steps {
		if !s.Builds {
			continue
		}
		fmt.Fprintf(b, "| %d | %s |", s.Index, declaredCell(s))
		view := s.view()
		for _, a := range aspects {
			fmt.Fprintf(b, " %s |", aspectCell(s, a.key, view))
		}
		b.WriteString("\n")
	}
}

func declaredCell(s *Step) string {
	switch {
	case s.Index == 0:
		return "baseline"
	case s.Declared == nil || s.Declared.Kind == "":
		return "✗ none"
	case s.Declared.Kind == DeclaredChange:
		return "change"
	}
	return "no change"
}

func aspectCell(s *Step, key string, view Surface) string {
	lines, ok := view[key]
	if !ok {
		return ""
	}
	n := fmt.Sprint(len(lines))
	for _, c := range s.Aspects {
		if c.Aspect != key {
			continue
		}
		switch {
		case !c.SamePrev && c.Declared:
			return n + " Δ declared"
		case !c.SamePrev:
			return n + " Δ ✗"
		case !c.SameBase:
			return n + " = ≠base"
		}
		return n + " ="
	}
	return n
}

// writeChecksTable renders k/k's integration suites and the static checks
// per step.
func writeChecksTable(b *strings.Builder, res *Result) {
	suites := suitesRun(res)
	if len(suites) == 0 && !anyStatic(res) {
		return
	}
	b.WriteString("\n## k/k integration tests and static checks\n\n")
	b.WriteString("Integration suites run in the prefix tree (`go test -short`, as k/k's integration CI, against one etcd built\n")
	b.WriteString("from the tree's go.etcd.io/etcd/server/v3 version). Cells: ✓ or ✗ and seconds (compiling included);\n")
	b.WriteString("a test that fails on the baseline as well is counted apart and blames no patch. Static checks run on the Go\n")
	b.WriteString("files and packages the series touched so far: gofmt, the license header of `hack/boilerplate/boilerplate.go.txt`,\n")
	b.WriteString("and import-boss as `hack/verify-import-boss.sh` runs it (on `" + importBossRoot + "` and the touched packages).\n\n")
	b.WriteString("| # |")
	for _, name := range suites {
		fmt.Fprintf(b, " %s |", name)
	}
	b.WriteString(" Go files | gofmt | license | import-boss |\n|---:|")
	b.WriteString(strings.Repeat("---|", len(suites)) + "---:|:-:|:-:|---|\n")
	for _, s := range res.Steps {
		if !s.Builds {
			continue
		}
		fmt.Fprintf(b, "| %d |", s.Index)
		for _, name := range suites {
			fmt.Fprintf(b, " %s |", integrationCell(s, name))
		}
		b.WriteString(staticCells(s.Static) + "\n")
	}
}

func suitesRun(res *Result) []string {
	var names []string
	for _, suite := range Suites {
		for _, s := range res.Steps {
			if s.integrationRun(suite.Name) != nil {
				names = append(names, suite.Name)
				break
			}
		}
	}
	return names
}

func anyStatic(res *Result) bool {
	for _, s := range res.Steps {
		if s.Static != nil {
			return true
		}
	}
	return false
}

func integrationCell(s *Step, suite string) string {
	run := s.integrationRun(suite)
	if run == nil {
		return ""
	}
	cell := fmt.Sprintf("✓ %.0fs", run.Seconds)
	if blamed := run.Blamed(); len(blamed) > 0 {
		cell = fmt.Sprintf("✗ %d failed, %.0fs", len(blamed), run.Seconds)
	}
	if n := len(run.FailsOnBaseline); n > 0 {
		cell += fmt.Sprintf(" (%d fail on baseline)", n)
	}
	return cell
}

func staticCells(st *StaticResult) string {
	if st == nil {
		return " | | | |"
	}
	boss := ""
	if st.ImportBoss != nil {
		boss = fmt.Sprintf("%s %.0fs", mark(st.ImportBoss.Passed), st.ImportBoss.Seconds)
	}
	return fmt.Sprintf(" %d | %s | %s | %s |", st.GoFiles, countMark(st.Gofmt), countMark(st.Boilerplate), boss)
}

// countMark is ✓ for no offending files, else ✗ and their number.
func countMark(files []string) string {
	if len(files) == 0 {
		return "✓"
	}
	return fmt.Sprintf("✗ %d", len(files))
}

// writeProblems lists every problem in one place, by step.
func writeProblems(b *strings.Builder, res *Result) {
	b.WriteString("\n## Problems\n\n")
	n := 0
	for _, s := range res.Steps {
		for _, p := range s.Problems {
			fmt.Fprintf(b, "- %d: %s\n", s.Index, mdEscape(firstLine(p)))
			n++
		}
	}
	if n == 0 {
		b.WriteString("None.\n")
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func writeAspectDetails(b *strings.Builder, s *Step) {
	for _, c := range s.Aspects {
		if c.SamePrev {
			continue
		}
		how := "not declared"
		if c.Declared {
			how = "declared"
		}
		fmt.Fprintf(b, "kube-apiserver %s changed since step %d (%s): %s\n\n", titleOf(c.Aspect), c.Since, how, mdEscape(c.Diff))
	}
	if s.Index == 0 && len(s.Surface) > 0 {
		for _, key := range []string{AspectMutating, AspectValidating} {
			if lines := s.Surface[key]; len(lines) > 0 {
				fmt.Fprintf(b, "kube-apiserver %s: %s.\n\n", titleOf(key), strings.Join(lines, ", "))
			}
		}
	}
}

func titleOf(key string) string {
	for _, a := range aspects {
		if a.key == key {
			return a.title
		}
	}
	return key
}

func writeIntegrationDetails(b *strings.Builder, s *Step) {
	for _, run := range s.Integration {
		fmt.Fprintf(b, "Integration %s (%s, %.0f s): `%s`\n\n", run.Suite, passFail(run.Passed), run.Seconds, run.Command)
		if len(run.FailsOnBaseline) > 0 {
			fmt.Fprintf(b, "Fails on baseline too (not blamed): %s\n\n", strings.Join(run.FailsOnBaseline, ", "))
		}
		if run.BaselineRerun != "" {
			fmt.Fprintf(b, "Failures re-run on the baseline: `%s`\n\n", run.BaselineRerun)
		}
		if blamed := run.Blamed(); len(blamed) > 0 {
			fmt.Fprintf(b, "Failed: %s (log: `%s`)\n\n```\n%s\n```\n\n", strings.Join(blamed, ", "), run.Log, run.Output)
		}
	}
}

func writeStaticDetails(b *strings.Builder, s *Step) {
	st := s.Static
	if st == nil {
		return
	}
	if len(st.Gofmt) > 0 {
		fmt.Fprintf(b, "Not gofmt-clean: %s\n\n", strings.Join(st.Gofmt, ", "))
	}
	if len(st.Boilerplate) > 0 {
		fmt.Fprintf(b, "Without the license header: %s\n\n", strings.Join(st.Boilerplate, ", "))
	}
	if ib := st.ImportBoss; ib != nil && !ib.Passed {
		fmt.Fprintf(b, "import-boss fails: `%s`\n\n```\n%s\n```\n\n", ib.Command, ib.Output)
	}
}

// phaseOrder is the order evaluate runs the phases in.
var phaseOrder = []string{"build", "depgraph", "unit tests", "static", "--help", "servers", "integration"}

func writePhases(b *strings.Builder, s *Step) {
	var parts []string
	for _, p := range phaseOrder {
		if sec, ok := s.Phases[p]; ok {
			parts = append(parts, fmt.Sprintf("%s %.0f", p, sec))
		}
	}
	if len(parts) > 0 {
		fmt.Fprintf(b, "Seconds per phase: %s.\n\n", strings.Join(parts, ", "))
	}
}
