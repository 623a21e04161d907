// Command dupcode reports copied code: runs of at least 6 lines with the
// same token shape (identifiers, strings and numbers compare equal) in two
// places of a module's non-test Go files. See analysis/dupcode for what is
// compared and why the thresholds are what they are.
//
//	dupcode [-allow FILE] [-lines N] [-tokens N] [DIR]
//
// DIR defaults to "."; files are named relative to it, and so are the paths
// in the allow list (analysis/rules/dupcode-allow.txt for this repository).
//
// Exit codes: 0 no copies, 1 copies found (or an allow entry that matches
// nothing), 2 bad usage or a file that could not be read or parsed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/generic-controlplane/gcp/analysis/dupcode"
)

const (
	exitOK       = 0
	exitFindings = 1
	exitError    = 2
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

func run(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("dupcode", flag.ContinueOnError)
	fs.SetOutput(stderr)
	opts := dupcode.DefaultOptions
	allow := fs.String("allow", "", "allow list of reviewed repeats (FILE_A FILE_B REASON a line)")
	fs.IntVar(&opts.MinLines, "lines", opts.MinLines, "least number of lines of a copy (blank and comment lines not counted)")
	fs.IntVar(&opts.MinTokens, "tokens", opts.MinTokens, "least number of tokens of a copy, each line shape counted once")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: dupcode [-allow FILE] [-lines N] [-tokens N] [DIR]\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitError
	}
	if fs.NArg() > 1 {
		fmt.Fprintf(stderr, "dupcode: one directory at most, got %q (run with -h for usage)\n", fs.Args())
		return exitError
	}
	if opts.MinLines < 1 {
		fmt.Fprintf(stderr, "dupcode: -lines must be at least 1 (run with -h for usage)\n")
		return exitError
	}
	dir := "."
	if fs.NArg() == 1 {
		dir = fs.Arg(0)
	}
	var list *dupcode.AllowList
	if *allow != "" {
		var err error
		if list, err = dupcode.LoadAllowList(*allow); err != nil {
			fmt.Fprintf(stderr, "dupcode: %v\n", err)
			return exitError
		}
	}
	findings, err := dupcode.Scan(dir, opts)
	if err != nil {
		fmt.Fprintf(stderr, "dupcode: %v\n", err)
		return exitError
	}
	findings, unused := list.Filter(findings)
	for _, f := range findings {
		f.A.File = filepath.Join(dir, f.A.File)
		f.B.File = filepath.Join(dir, f.B.File)
		fmt.Fprintln(stdout, f)
	}
	for _, e := range unused {
		fmt.Fprintf(stdout, "%s: allow entry %q matches no copy any more: remove it\n", e.Source, e.A+" "+e.B)
	}
	if len(findings) == 0 && len(unused) == 0 {
		return exitOK
	}
	if len(findings) > 0 {
		where := "an allow list (-allow)"
		if *allow != "" {
			where = *allow
		}
		fmt.Fprintf(stderr, "dupcode: %d copied runs of code: factor each pair into one function both places call;\n"+
			"if the repeat cannot be avoided (generated or table-like code), add \"FILE_A FILE_B REASON\" to %s for review\n",
			len(findings), where)
	}
	return exitFindings
}
