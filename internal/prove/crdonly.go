package prove

import (
	"context"

	"github.com/generic-controlplane/gcp/analysis/depgraph"
	"github.com/generic-controlplane/gcp/internal/goenv"
)

// CRDOnlyServer is this repository's CRD-only server (cmd/examples/crdonly),
// issue 11's CRD-only target: it is built on k8s.io/apiextensions-apiserver
// and k8s.io/apiserver, so what it links from k8s.io/kubernetes is what the
// staging repositories of the tree drag in. It lives in this repository's
// module, not in the tree: the proof lists it against each prefix tree
// through a modfile that replaces k/k and its staging modules with the tree
// (treemod), from the proof's working directory (the repository root).
const CRDOnlyServer = "github.com/generic-controlplane/gcp/cmd/examples/crdonly"

// crdOnlyGraph loads CRDOnlyServer's import graph against the prefix tree.
func (r *runner) crdOnlyGraph(ctx context.Context) (*depgraph.Graph, error) {
	modFile, err := r.writeTreeMod()
	if err != nil {
		return nil, err
	}
	env := append(goenv.ModuleAlone(), "GOFLAGS=-mod=mod -modfile="+modFile)
	return depgraph.Load(ctx, depgraph.Options{Dir: ".", Roots: []string{CRDOnlyServer}, Env: env})
}
