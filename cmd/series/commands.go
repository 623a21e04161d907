package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/generic-controlplane/gcp/internal/kktree"
	"github.com/generic-controlplane/gcp/internal/pin"
	"github.com/generic-controlplane/gcp/internal/series"
)

func newApplyCommand(g *globals) *cobra.Command {
	var force bool
	return withForce(&cobra.Command{
		Use:   "apply [N]",
		Short: "Check out a fresh series branch at the pin and git am the first N patches (default all)",
		Long: `Check out branch "series" at the pinned tag and apply the first N patches with
git am, no fuzz. On failure, name the patch, file and hunk, abort that git am
and leave the tree at the last patch that applied. The previous branch tip is
kept as refs/series/previous.`,
		Args: args(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			n := 0
			if len(args) == 1 {
				var err error
				if n, err = strconv.Atoi(args[0]); err != nil || n < 0 {
					return &usageError{fmt.Errorf("N must be a non-negative number of patches, got %q", args[0]), cmd.CommandPath()}
				}
			}
			s, err := g.series(cmd.Context())
			if err != nil {
				return err
			}
			applied, err := s.Apply(cmd.Context(), series.ApplyOptions{N: n, Force: force})
			var f *series.Failure
			if errors.As(err, &f) {
				return finding(fmt.Errorf("%w\nthe tree %s is left at patch %d of the series; fix %s (or the tree) and run apply again", err, g.tree, applied, f.Patch))
			}
			return err
		},
	}, &force, "discard uncommitted changes in the tree")
}

func withForce(cmd *cobra.Command, force *bool, usage string) *cobra.Command {
	cmd.Flags().BoolVar(force, "force", false, usage)
	return cmd
}

func newCheckCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "check",
		Short: "Check the series: applies in order without fuzz, UPSTREAM subjects, license headers, gofmt",
		Args:  args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := g.series(cmd.Context())
			if err != nil {
				return err
			}
			problems, err := s.Check(cmd.Context())
			if err != nil {
				return err
			}
			names, _ := s.Patches()
			if len(problems) == 0 {
				fmt.Fprintf(g.stderr, "[series] check: %d patches OK on %s\n", len(names), s.Base)
				return nil
			}
			for _, p := range problems {
				fmt.Fprintln(g.stderr, "- "+p.String())
			}
			return finding(fmt.Errorf("check: %d problems in %d patches", len(problems), len(names)))
		},
	}
}

func newRefreshCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "refresh",
		Short: "Regenerate patches/ from the commits on the tree's series branch (byte-stable)",
		Args:  args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := g.series(cmd.Context())
			if err != nil {
				return err
			}
			res, err := s.Refresh(cmd.Context())
			if err != nil {
				return err
			}
			for _, n := range res.Written {
				fmt.Fprintln(g.stderr, "  wrote   "+filepath.Join(g.patches, n))
			}
			for _, n := range res.Removed {
				fmt.Fprintln(g.stderr, "  removed "+filepath.Join(g.patches, n))
			}
			return nil
		},
	}
}

func newRebaseCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "rebase PIN",
		Short: "Materialize another release and replay the series on it, reporting each patch",
		Long: `Materialize k8s.io/kubernetes PIN (e.g. v1.36.3) under --output/kk-PIN and replay
the series there with a three-way git am. Each patch is reported clean,
applied with conflicts (files named; committed with markers to resolve in
place), empty (already upstream; dropped) or failed. patches/ is not touched:
resolve in the new tree, then run
  series --tree <new tree> refresh
and change patches/BASE to PIN.`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			target, err := pin.Parse(args[0])
			if err != nil {
				return &usageError{err, cmd.CommandPath()}
			}
			if err := series.Locate(g.patches, g.tree, false); err != nil {
				return err
			}
			dest := filepath.Join(g.output, "kk-"+target.Kubernetes)
			if _, err := kktree.Materialize(cmd.Context(), kktree.Options{Pin: target, Dest: dest, Log: g.stderr}); err != nil {
				return err
			}
			s := &series.Series{Dir: g.patches, Tree: dest, Base: target.Tag(), Log: g.stderr}
			from := ""
			if _, err := os.Stat(filepath.Join(g.tree, ".git")); err == nil {
				from = g.tree
			}
			steps, err := s.Rebase(cmd.Context(), from)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "PATCH\tRESULT\tFILES")
			failed := 0
			for _, st := range steps {
				fmt.Fprintf(tw, "%s\t%s\t%v\n", st.Patch, st.Outcome, st.Files)
				if st.Outcome == series.Conflicted || st.Outcome == series.Failed {
					failed++
				}
			}
			tw.Flush()
			fmt.Fprintf(g.stderr, "[series] replayed on %s in %s (branch %s)\n", target.Kubernetes, dest, series.Branch)
			if failed > 0 {
				return finding(fmt.Errorf("%d of %d patches need work in %s", failed, len(steps), dest))
			}
			return nil
		},
	}
}

func newNewCommand(g *globals) *cobra.Command {
	var pr int
	cmd := &cobra.Command{
		Use:   "new TITLE",
		Short: `Start a carry commit "UPSTREAM: <carry>: TITLE" on the series branch (staged changes or empty)`,
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := g.series(cmd.Context())
			if err != nil {
				return err
			}
			subject, err := s.NewCommit(cmd.Context(), args[0], pr)
			if err != nil {
				return err
			}
			fmt.Fprintln(g.stderr, "[series] committed: "+subject)
			return nil
		},
	}
	cmd.Flags().IntVar(&pr, "pr", 0, "upstream pull request number this commit backports (subject UPSTREAM: <pr>: ...)")
	return cmd
}
