// Command series materializes the pinned Kubernetes tree and carries the
// ordered patch series in patches/ on it: tree, apply, check, refresh,
// rebase, new, goenv.
//
// It finds patches/ and the tree (_output/kk, or --tree DIR, or KK_TREE)
// relative to the working directory, so run it from the repository root or
// pass --patches DIR and --tree DIR.
//
// Exit codes, as for every command of this repository: 0 ok; 1 a finding
// (check found problems, a patch does not apply, rebase left patches that
// need work); 2 the question could not be answered (bad flags or
// arguments, no patches folder or tree, a failed git or go command).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
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

// Exit codes.
const (
	exitOK      = 0
	exitFinding = 1
	exitError   = 2
)

type globals struct {
	patches string // the patches/ folder: BASE, series, NNNN-*.patch
	tree    string // the k/k work tree
	output  string // where materialized trees live
	stdout  io.Writer
	stderr  io.Writer
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// findingError is an answer rather than a failure: the series has a
// problem (exit 1). The command has printed the details.
type findingError struct{ err error }

func (e *findingError) Error() string { return e.err.Error() }
func (e *findingError) Unwrap() error { return e.err }

func finding(err error) error { return &findingError{err} }

// usageError is a mistake on the command line (exit 2); the message names
// the flag or argument and says how to get the usage.
type usageError struct {
	err  error
	path string // the command, e.g. "series check"
}

func (e *usageError) Error() string {
	return fmt.Sprintf("%v\nrun '%s --help' for usage", e.err, e.path)
}
func (e *usageError) Unwrap() error { return e.err }

// run executes the command line args and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCommand(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(stderr, "series: "+err.Error())
	var f *findingError
	if errors.As(err, &f) {
		return exitFinding
	}
	return exitError
}

// args wraps a cobra argument check so that its error is a usage error.
func args(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return &usageError{err, cmd.CommandPath()}
		}
		return nil
	}
}

func newRootCommand(stdout, stderr io.Writer) *cobra.Command {
	g := &globals{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "series",
		Short: "Carry an ordered UPSTREAM patch series on a pinned Kubernetes tree",
		Long: `Carry an ordered UPSTREAM patch series on a pinned Kubernetes tree.

Run it from the repository root (patches/ and _output/kk are found from the
working directory), or pass --patches DIR and --tree DIR (or KK_TREE=DIR).

Exit codes: 0 ok; 1 a finding (check found problems, a patch does not apply,
rebase left patches that need work); 2 bad flags or arguments, no patches
folder or tree, or a failed git or go command.`,
		Args:              args(cobra.NoArgs),
		SilenceUsage:      true,
		SilenceErrors:     true,
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
		RunE: func(cmd *cobra.Command, _ []string) error {
			cmd.SetOut(stderr)
			_ = cmd.Usage()
			return &usageError{errors.New("a command is required"), cmd.CommandPath()}
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return &usageError{err, cmd.CommandPath()}
	})
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

// pin reads patches/BASE; with needTree, the tree must exist too. When
// either is missing the error says where it looked and what to pass.
func (g *globals) pin(needTree bool) (pin.Pin, error) {
	if err := series.Locate(g.patches, g.tree, needTree); err != nil {
		return pin.Pin{}, err
	}
	return pin.ReadFile(filepath.Join(g.patches, "BASE"))
}

func (g *globals) series(ctx context.Context) (*series.Series, error) {
	p, err := g.pin(true)
	if err != nil {
		return nil, err
	}
	s := &series.Series{Dir: g.patches, Tree: g.tree, Base: p.Tag(), Log: g.stderr}
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
	if err := series.Locate(g.patches, g.tree, true); err != nil {
		return "", err
	}
	missing, err := kktree.WriteWorkspace(g.tree, path)
	if err != nil {
		return "", err
	}
	if len(missing) > 0 {
		fmt.Fprintf(g.stderr, "[tree] workspace %s leaves out absent modules %v; run go commands in the tree with GOWORK=%s\n", path, missing, path)
	}
	return path, nil
}

func newGoEnvCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "goenv",
		Short: "Print the environment for go commands in the tree (eval \"$(series goenv)\")",
		Args:  args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, err := g.workspace()
			if err != nil {
				return err
			}
			for _, kv := range kktree.GoEnv(path) {
				k, v, _ := strings.Cut(kv, "=")
				fmt.Fprintf(g.stdout, "export %s=%q\n", k, v)
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
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := g.pin(false)
			if err != nil {
				return err
			}
			if _, err = kktree.Materialize(cmd.Context(), kktree.Options{Pin: p, Dest: g.tree, Force: force, Log: g.stderr}); err != nil {
				return err
			}
			_, err = g.workspace()
			return err
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "rebuild the tree even if it exists (its branches are lost)")
	return cmd
}
