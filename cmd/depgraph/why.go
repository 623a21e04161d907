package main

import (
	"context"
	"fmt"
	"io"

	"github.com/generic-controlplane/gcp/analysis/depgraph"
)

func runWhy(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("why", "ROOT PKG", stderr)
	var lf loadFlags
	lf.register(fs, true)
	max := fs.Int("max", 1, "list up to this many shortest chains")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usageError("want a root and a package (or pattern such as k8s.io/kubernetes/pkg/kubelet/...), got %d arguments", len(pos))
	}
	g, err := lf.load(ctx, lf.dir, pos[:1], false)
	if err != nil {
		return err
	}
	if len(g.Roots) != 1 {
		return usageError("root %s matches %d packages; why needs exactly one", pos[0], len(g.Roots))
	}
	chains, err := g.Why(g.Roots[0], pos[1], *max)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(stdout, struct {
			Root   string           `json:"root"`
			Target string           `json:"target"`
			Chains []depgraph.Chain `json:"chains"`
		}{g.Roots[0].Path, pos[1], chains})
	}
	for i, c := range chains {
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		fmt.Fprint(stdout, c.String())
	}
	return nil
}
