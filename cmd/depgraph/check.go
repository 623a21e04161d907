package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/generic-controlplane/gcp/analysis/depgraph"
	"github.com/generic-controlplane/gcp/analysis/rules"
)

func runCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("check", "--rules FILE [ROOT...]", stderr)
	var lf loadFlags
	lf.register(fs, true)
	rulesFile := fs.String("rules", "", "import rules YAML file (required), e.g. analysis/rules/generic-controlplane.yaml")
	asJSON := fs.Bool("json", false, "print JSON")
	roots, err := parse(fs, args)
	if err != nil {
		return err
	}
	if *rulesFile == "" {
		return usageError("--rules is required")
	}
	rs, err := rules.LoadImportRules(*rulesFile)
	if err != nil {
		return err
	}
	if len(roots) == 0 {
		// Without roots, check every package a rule names exactly.
		roots = rules.Roots(rs)
		if len(roots) == 0 {
			return usageError("no roots given and %s names no exact package in a rule's from", *rulesFile)
		}
	}
	g, err := lf.load(ctx, lf.dir, roots, false)
	if err != nil {
		return err
	}
	res := depgraph.Check(g, rs)
	if len(res.Checked) == 0 {
		return fmt.Errorf("no rule in %s applies to the roots %s", *rulesFile, strings.Join(g.RootPaths(), " "))
	}
	if *asJSON {
		if err := writeJSON(stdout, res); err != nil {
			return err
		}
	} else {
		writeCheckText(stdout, stderr, res)
	}
	if len(res.Violations) > 0 {
		return errViolations
	}
	return nil
}

func writeCheckText(stdout, stderr io.Writer, res depgraph.CheckResult) {
	for _, name := range res.Unchecked {
		fmt.Fprintf(stderr, "warning: rule %s applies to none of the roots\n", name)
	}
	failed := map[string]int{}
	for _, v := range res.Violations {
		failed[v.Rule]++
		reason := ""
		if v.Reason != "" {
			reason = " (" + v.Reason + ")"
		}
		fmt.Fprintf(stdout, "FAIL %s%s: %s reaches %s\n", v.Rule, reason, v.Root, v.Package)
		for _, line := range strings.Split(strings.TrimRight(v.Chain.String(), "\n"), "\n") {
			fmt.Fprintf(stdout, "    %s\n", line)
		}
	}
	for _, c := range res.Checked {
		if failed[c.Rule] == 0 {
			fmt.Fprintf(stdout, "ok   %s (%s)\n", c.Rule, strings.Join(c.Roots, ", "))
		}
	}
	if len(res.Violations) > 0 {
		fmt.Fprintf(stdout, "\n%d forbidden packages reached, %d of %d rules broken\n", len(res.Violations), len(failed), len(res.Checked))
	}
}
