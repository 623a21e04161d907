// Package importrule defines an Analyzer that reports direct imports an
// import rules file forbids, at the import declaration.
//
// It is the per-package, compile-time half of the rules depgraph check
// enforces transitively: a rule "packages matching from must not reach
// packages matching forbid" is checked here only for imports written in the
// package itself, which is what a vet run over a tree can see cheaply and
// what an author can fix on the line reported.
//
// Usage:
//
//	go vet -vettool=$(pwd)/_output/bin/importrule -importrule.rules=analysis/rules/gcp-imports.yaml ./...
package importrule

import (
	"fmt"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/tools/go/analysis"

	"github.com/generic-controlplane/gcp/analysis/rules"
)

const doc = `report direct imports forbidden by an import rules file

The rules file (see analysis/rules) lists rules of the form
"packages matching from must not import packages matching forbid".
Each forbidden import is reported at its import declaration.`

// Analyzer reports forbidden imports.
var Analyzer = &analysis.Analyzer{
	Name: "importrule",
	Doc:  doc,
	Run:  run,
}

var rulesFile string

func init() {
	Analyzer.Flags.StringVar(&rulesFile, "rules", "", "import rules YAML file (required)")
}

// loaded caches parsed rules files: a vet driver may analyze many packages
// in one process.
var loaded sync.Map // path -> loadResult

type loadResult struct {
	rules []*rules.ImportRule
	err   error
}

func loadRules(path string) ([]*rules.ImportRule, error) {
	if v, ok := loaded.Load(path); ok {
		r := v.(loadResult)
		return r.rules, r.err
	}
	rs, err := rules.LoadImportRules(path)
	loaded.Store(path, loadResult{rs, err})
	return rs, err
}

func run(pass *analysis.Pass) (any, error) {
	if rulesFile == "" {
		return nil, fmt.Errorf("importrule: no rules file: pass -importrule.rules=FILE")
	}
	rs, err := loadRules(rulesFile)
	if err != nil {
		return nil, fmt.Errorf("importrule: %w", err)
	}
	// An external test package ("p_test") is held to p's rules.
	path := strings.TrimSuffix(pass.Pkg.Path(), "_test")
	var applicable []*rules.ImportRule
	for _, r := range rs {
		if r.AppliesTo(path) {
			applicable = append(applicable, r)
		}
	}
	if len(applicable) == 0 {
		return nil, nil
	}
	for _, f := range pass.Files {
		for _, spec := range f.Imports {
			imp, err := strconv.Unquote(spec.Path.Value)
			if err != nil {
				continue
			}
			for _, r := range applicable {
				if !r.Forbids(imp) {
					continue
				}
				msg := fmt.Sprintf("import of %s is forbidden in %s by rule %q", imp, path, r.Name)
				if r.Reason != "" {
					msg += ": " + r.Reason
				}
				pass.Report(analysis.Diagnostic{Pos: spec.Path.Pos(), End: spec.Path.End(), Message: msg})
				break
			}
		}
	}
	return nil, nil
}
