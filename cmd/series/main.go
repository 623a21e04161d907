// Command series materializes the pinned Kubernetes tree and carries the
// ordered patch series in patches/ on it: apply, check, refresh, rebase, new.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/generic-controlplane/gcp/internal/kktree"
	"github.com/generic-controlplane/gcp/internal/pin"
	"github.com/generic-controlplane/gcp/internal/series"
)

type globals struct {
	patches string // the patches/ folder: BASE, series, NNNN-*.patch
	tree    string // the k/k work tree
	output  string // where materialized trees live
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRootCommand().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "series: "+err.Error())
		os.Exit(1)
	}
}

func newRootCommand() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:               "series",
		Short:             "Carry an ordered UPSTREAM patch series on a pinned Kubernetes tree",
		SilenceUsage:      true,
		SilenceErrors:     true,
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
	}
	defTree := os.Getenv("KK_TREE")
	if defTree == "" {
		defTree = filepath.Join("_output", "kk")
	}
	root.PersistentFlags().StringVar(&g.patches, "patches", "patches", "folder holding BASE, series and the patch files")
	root.PersistentFlags().StringVar(&g.tree, "tree", defTree, "k/k work tree (env KK_TREE): a materialized tree or a kubernetes/kubernetes checkout")
	root.PersistentFlags().StringVar(&g.output, "output", "_output", "folder for trees materialized by rebase")
	root.AddCommand(
		newTreeCommand(g),
		newApplyCommand(g),
		newCheckCommand(g),
		newRefreshCommand(g),
		newRebaseCommand(g),
		newNewCommand(g),
		newGoEnvCommand(g),
	)
	return root
}

func (g *globals) pin() (pin.Pin, error) {
	return pin.ReadFile(filepath.Join(g.patches, "BASE"))
}

func (g *globals) series(ctx context.Context) (*series.Series, error) {
	p, err := g.pin()
	if err != nil {
		return nil, err
	}
	s := &series.Series{Dir: g.patches, Tree: g.tree, Base: p.Tag(), Log: os.Stderr}
	if err := s.RequireTree(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// workspace writes the tree's workspace file beside the other outputs and
// returns its absolute path.
func (g *globals) workspace() (string, error) {
	path, err := filepath.Abs(kktree.WorkspaceFile(g.output, g.tree))
	if err != nil {
		return "", err
	}
	missing, err := kktree.WriteWorkspace(g.tree, path)
	if err != nil {
		return "", err
	}
	if len(missing) > 0 {
		fmt.Fprintf(os.Stderr, "[tree] workspace %s leaves out absent modules %v; run go commands in the tree with GOWORK=%s\n", path, missing, path)
	}
	return path, nil
}

func newGoEnvCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "goenv",
		Short: "Print the environment for go commands in the tree (eval \"$(series goenv)\")",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, err := g.workspace()
			if err != nil {
				return err
			}
			for _, kv := range kktree.GoEnv(path) {
				k, v, _ := strings.Cut(kv, "=")
				fmt.Printf("export %s=%q\n", k, v)
			}
			return nil
		},
	}
}

func newTreeCommand(g *globals) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "tree",
		Short: "Materialize the pinned k/k tree from the Go module cache (idempotent)",
		Long: `Materialize k8s.io/kubernetes at the pin in patches/BASE, with every staging
module it replaces under staging/src/k8s.io/<name>, as a git repository whose one
commit is tagged with the release. A tree that already holds the pin is reused.
A kubernetes/kubernetes checkout given as --tree or KK_TREE is used as it is
once its release tag is found.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := g.pin()
			if err != nil {
				return err
			}
			if _, err = kktree.Materialize(cmd.Context(), kktree.Options{Pin: p, Dest: g.tree, Force: force, Log: os.Stderr}); err != nil {
				return err
			}
			_, err = g.workspace()
			return err
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "rebuild the tree even if it exists (its branches are lost)")
	return cmd
}
