package series

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/generic-controlplane/gcp/internal/gitx"
	"github.com/generic-controlplane/gcp/internal/kktree"
	"github.com/generic-controlplane/gcp/internal/kktree/kktreetest"
	"github.com/generic-controlplane/gcp/internal/pin"
)

// TestRealSeriesChecksOnPinnedTree runs check, which applies every patch in
// a scratch index without touching the work tree, on the real series and the
// pinned tree that `make tree` built.
func TestRealSeriesChecksOnPinnedTree(t *testing.T) {
	tree := kktreetest.Dir(t)
	p, err := pin.ReadFile("../../patches/BASE")
	require.NoError(t, err)
	s := &Series{Dir: "../../patches", Tree: tree, Base: p.Tag()}
	require.NoError(t, s.RequireTree(context.Background()))
	problems, err := s.Check(context.Background())
	require.NoError(t, err)
	assert.Empty(t, problems)
}

// TestRebaseAcrossReleases replays a tiny series made on the pinned release
// onto v1.36.3, materialized from the module cache like the pinned tree, and
// expects each kind of outcome: a clean patch, one that conflicts with what
// changed between the releases, and one that is already there.
func TestRebaseAcrossReleases(t *testing.T) {
	if testing.Short() {
		t.Skip("materializes a second release")
	}
	const older = "v1.36.3"
	tree := kktreetest.Dir(t)
	p, err := pin.ReadFile("../../patches/BASE")
	require.NoError(t, err)
	if p.Kubernetes != "v1.37.2" {
		t.Skipf("the tiny series below is written against v1.37.2 and %s; BASE is %s: update both", older, p.Kubernetes)
	}
	ctx := context.Background()

	// The tiny series, made on a clone of the pinned tree.
	work := t.TempDir()
	clone := filepath.Join(work, "kk")
	_, err = (gitx.Repo{Dir: work}).Run(ctx, "clone", "--quiet", "--no-checkout", tree, clone)
	require.NoError(t, err)
	dev := &Series{Dir: filepath.Join(work, "patches"), Tree: clone, Base: p.Tag()}
	// -B: the clone already has a series branch when the tree is on one
	_, err = dev.repo().Run(ctx, "checkout", "--quiet", "-B", Branch, p.Tag())
	require.NoError(t, err)
	edit := func(file, old, new string) {
		t.Helper()
		path := filepath.Join(clone, file)
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		require.Contains(t, string(data), old, file)
		require.NoError(t, os.WriteFile(path, []byte(strings.Replace(string(data), old, new, 1)), 0o644))
		_, err = dev.repo().Run(ctx, "add", file)
		require.NoError(t, err)
	}
	t.Setenv("GIT_AUTHOR_NAME", "Test")
	t.Setenv("GIT_AUTHOR_EMAIL", "test@example.com")
	t.Setenv("GIT_AUTHOR_DATE", "2026-11-24T00:00:00Z")

	edit("pkg/controlplane/apiserver/samples/generic/server/config.go", "package server\n", "package server\n\n// carried: unchanged between the two releases\n")
	_, err = dev.NewCommit(ctx, "controlplane: comment the generic sample", 0)
	require.NoError(t, err)
	edit("pkg/controlplane/instance.go", "\t\tschedulingapiv1beta1.SchemeGroupVersion,\n\t}\n", "\t\tschedulingapiv1beta1.SchemeGroupVersion,\n\t\t// carried: next to lines that changed between the releases\n\t}\n")
	_, err = dev.NewCommit(ctx, "controlplane: touch the beta list", 0)
	require.NoError(t, err)
	edit("pkg/controlplane/apiserver/options/options.go",
		"\t\t\"If true, install a /logs handler for the apiserver logs.\")\n",
		"\t\t\"If true, install a /logs handler for the apiserver logs.\")\n\tfs.MarkDeprecated(\"enable-logs-handler\", \"Log handler functionality is deprecated\") //nolint:errcheck\n\tfs.Lookup(\"enable-logs-handler\").Hidden = false\n")
	_, err = dev.NewCommit(ctx, "controlplane: deprecate the logs handler again", 0)
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(dev.Dir, 0o755))
	_, err = dev.Refresh(ctx)
	require.NoError(t, err)

	olderPin, err := pin.Parse(older)
	require.NoError(t, err)
	dest := filepath.Join(filepath.Dir(tree), "kk-"+older)
	_, err = kktree.Materialize(ctx, kktree.Options{Pin: olderPin, Dest: dest})
	require.NoError(t, err)

	target := &Series{Dir: dev.Dir, Tree: dest, Base: olderPin.Tag()}
	steps, err := target.Rebase(ctx, clone)
	require.NoError(t, err)
	require.Len(t, steps, 3)
	assert.Equal(t, Clean, steps[0].Outcome, "%+v", steps[0])
	assert.Equal(t, Conflicted, steps[1].Outcome, "%+v", steps[1])
	assert.Equal(t, []string{"pkg/controlplane/instance.go"}, steps[1].Files)
	assert.Equal(t, Empty, steps[2].Outcome, "%v deprecated the logs handler, the patch restores that: %+v", older, steps[2])
}
