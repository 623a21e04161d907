package depgraph

import (
	"context"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/generic-controlplane/gcp/analysis/golist"
	"github.com/generic-controlplane/gcp/internal/goenv"
	"github.com/generic-controlplane/gcp/internal/kktree/kktreetest"
)

// TestKubeAPIServerMatchesGoList checks depgraph's package set and headline
// count against plain `go list -deps`, both computed here on the real tree.
func TestKubeAPIServerMatchesGoList(t *testing.T) {
	tree := kktreetest.Dir(t)
	for _, root := range []string{"./cmd/kube-apiserver", "./pkg/controlplane/apiserver/samples/generic"} {
		t.Run(strings.TrimPrefix(root, "./"), func(t *testing.T) {
			env := goenv.ModuleAlone()
			modfile, cleanup, err := golist.PrivateModfile(tree, env)
			require.NoError(t, err)
			defer cleanup()
			cmd := exec.Command("go", "list", modfile, "-deps", root)
			cmd.Dir = tree
			cmd.Env = append(os.Environ(), env...)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			require.NoError(t, err, "go list -deps %s in %s:\n%s", root, tree, stderr.String())
			want := strings.Fields(string(out))
			wantKK := 0
			for _, p := range want {
				if p == "k8s.io/kubernetes" || strings.HasPrefix(p, "k8s.io/kubernetes/") {
					wantKK++
				}
			}
			require.Positive(t, wantKK, "go list found no k8s.io/kubernetes packages; is %s a Kubernetes tree?", tree)

			g, err := Load(context.Background(), Options{Dir: tree, Roots: []string{root}})
			require.NoError(t, err)
			s, err := ComputeStats(context.Background(), g, StatsOptions{})
			require.NoError(t, err)
			assert.Equal(t, wantKK, s.HeadlinePackages, "k8s.io/kubernetes packages")
			assert.Equal(t, len(want), s.Packages, "all packages")

			sort.Strings(want)
			var got []string
			for _, p := range g.Packages {
				got = append(got, p.Path)
			}
			assert.Empty(t, cmp.Diff(want, got), "package set differs from go list -deps (-go list +depgraph)")
			t.Logf("%s: %d k8s.io/kubernetes packages, %d in all", root, s.HeadlinePackages, s.Packages)
		})
	}
}
