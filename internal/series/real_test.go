package series

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/generic-controlplane/gcp/internal/pin"
)

// TestRealSeriesChecksOnPinnedTree runs check, which applies every patch in
// a scratch index without touching the work tree, on the real series and the
// pinned tree that `make tree` built.
func TestRealSeriesChecksOnPinnedTree(t *testing.T) {
	tree := os.Getenv("KK_TREE")
	if tree == "" {
		tree = "../../_output/kk"
	}
	if _, err := os.Stat(filepath.Join(tree, ".git")); err != nil {
		t.Skipf("no k/k tree at %s (run `make tree`)", tree)
	}
	p, err := pin.ReadFile("../../patches/BASE")
	require.NoError(t, err)
	s := &Series{Dir: "../../patches", Tree: tree, Base: p.Tag()}
	require.NoError(t, s.RequireTree(context.Background()))
	problems, err := s.Check(context.Background())
	require.NoError(t, err)
	assert.Empty(t, problems)
}
