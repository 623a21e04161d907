package main

import (
	"context"
	"encoding/json"
	"flag"
	"io"

	"github.com/generic-controlplane/gcp/analysis/depgraph"
	"github.com/generic-controlplane/gcp/analysis/rules"
)

// loadFlags are the flags every graph-loading command shares.
type loadFlags struct {
	dir     string
	tests   bool
	classes string
}

func (l *loadFlags) register(fs *flag.FlagSet, withDir bool) {
	if withDir {
		fs.StringVar(&l.dir, "dir", ".", "module directory of the tree (for Kubernetes, the k8s.io/kubernetes checkout)")
	}
	fs.BoolVar(&l.tests, "tests", false, "include the roots' test-only imports")
	fs.StringVar(&l.classes, "classes", "", "owner classes YAML file (default: the embedded analysis/rules/classes.yaml)")
}

// load loads the graph; only stats and diff report init funcs, so the other
// commands skip counting them.
func (l *loadFlags) load(ctx context.Context, dir string, roots []string, withInits bool) (*depgraph.Graph, error) {
	classes, err := rules.LoadClasses(l.classes)
	if err != nil {
		return nil, err
	}
	return depgraph.Load(ctx, depgraph.Options{Dir: dir, Roots: roots, Tests: l.tests, Classes: classes, SkipInitFuncs: !withInits})
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
