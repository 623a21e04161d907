// Command depgraph measures package-level coupling in a Go module tree, made
// for asking what a Kubernetes control-plane binary drags in from k/k and why.
//
//	depgraph stats [--dir TREE] [--tests] [--size BINARY] [--json] ROOT...
//	depgraph why   [--dir TREE] [--max N] [--json] ROOT PKG
//	depgraph cost  [--dir TREE] [--count PATTERNS] [--candidates PATTERNS] [--without PATTERNS] [--top N] [--json] ROOT
//	depgraph adds  [--dir TREE] [--count PATTERNS] [--group-of REGEXP] [--own PATTERNS] [--json] ROOT PICK...
//	depgraph diff  --base TREE_A --head TREE_B [--format md|json] ROOT...
//	depgraph dot   [--dir TREE] [--collapse PATTERN]... [--depth N] [--svg OUT] ROOT...
//	depgraph check --rules FILE [--dir TREE] [--json] [ROOT...]
//
// ROOT is a package pattern as go list takes it, relative to TREE
// ("./cmd/kube-apiserver") or an import path. go list runs inside TREE with
// GOWORK=off GOFLAGS=-mod=mod, which a materialized Kubernetes tree needs.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
)

// Exit codes: 1 means the question was answered and the answer is "no"
// (check found violations); 2 means the question could not be answered.
const (
	exitOK        = 0
	exitViolation = 1
	exitError     = 2
)

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var commands = []command{
	{"stats", "package counts per owner class, init funcs, binary size", runStats},
	{"why", "shortest import chains from a root to a package", runWhy},
	{"cost", "what a root links only through each package, and without some", runCost},
	{"adds", "what picking each package adds to a root, own group vs other", runAdds},
	{"diff", "what changed between two trees for the same roots", runDiff},
	{"dot", "the import graph in Graphviz DOT (or SVG)", runDot},
	{"check", "transitive import rules (ratchets) per root", runCheck},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// errViolations makes a command exit 1 after printing its own report.
var errViolations = errors.New("violations found")

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return exitError
		}
		return exitOK
	}
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, args[1:], stdout, stderr)
		switch {
		case err == nil:
			return exitOK
		case errors.Is(err, errViolations):
			return exitViolation
		case errors.Is(err, flag.ErrHelp):
			return exitOK
		default:
			fmt.Fprintf(stderr, "depgraph %s: %v\n", c.name, err)
			return exitError
		}
	}
	fmt.Fprintf(stderr, "depgraph: unknown command %q\n\n", args[0])
	usage(stderr)
	return exitError
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "usage: depgraph COMMAND [flags] ROOT...\n\ncommands:\n")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-6s  %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun depgraph COMMAND -h for the flags of a command.\n")
}

// newFlags returns a flag set that reports errors instead of exiting.
func newFlags(name, args string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: depgraph %s [flags] %s\n\nflags:\n", name, args)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags that may come before, between or after positional
// arguments ("depgraph stats ./cmd/x --dir tree"), which the flag package
// alone does not allow.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		if args[0] == "--" {
			return append(positional, args[1:]...), nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// usageError is a command-line mistake; the message says what to do.
func usageError(format string, args ...any) error {
	return fmt.Errorf(format+" (run with -h for usage)", args...)
}
