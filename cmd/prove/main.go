// Command prove applies the patch series one prefix at a time to a scratch
// copy of the pinned tree and writes the per-patch evidence to prove.md and
// prove.json in --reports, by default _output/reports: a run leaves the
// repository's work tree clean.
//
// The committed reports/prove.{md,json} change only on purpose: `make
// reports` runs prove --copy-from _output/reports --reports reports, which
// copies the last run's report and says which run it was.
//
// Run it from the repository root (patches/ and _output/kk are found from
// the working directory), or pass --patches DIR and --tree DIR (or
// KK_TREE=DIR).
//
// Exit codes, as for every command of this repository: 0 every patch is
// green (or the report was copied); 1 the proof ran and found a patch that
// is not green; 2 the proof could not run (bad flags, no patches folder or
// tree, a failed git or go command outside a step).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/generic-controlplane/gcp/internal/pin"
	"github.com/generic-controlplane/gcp/internal/prove"
	"github.com/generic-controlplane/gcp/internal/series"
	"github.com/generic-controlplane/gcp/scenario"
)

// Exit codes.
const (
	exitOK       = 0
	exitNotGreen = 1
	exitError    = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usageHead = `usage: prove [flags]

Prove every prefix of the patch series on a scratch copy of the pinned tree
(the tree is not modified) and write the report, prove.md and prove.json,
into --reports after every step. The default, %s, is under the
untracked _output/, so a run leaves the work tree clean; to commit a report,
run make reports (prove --copy-from %s --reports %s).

Run it from the repository root, or pass --patches DIR and --tree DIR (or
KK_TREE=DIR).

Exit codes: 0 every patch green (or the report copied); 1 a patch is not
green; 2 bad flags, no patches folder or tree, or a failed git or go command.

flags:
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var (
		cfg      prove.Config
		reports  string
		copyFrom string
	)
	fs := flag.NewFlagSet("prove", flag.ContinueOnError)
	fs.StringVar(&cfg.Patches, "patches", "patches", "patches folder (BASE, series, patch files)")
	fs.StringVar(&cfg.Source, "tree", envOr("KK_TREE", "_output/kk"), "pinned k/k tree to copy (env KK_TREE); it is not modified")
	fs.StringVar(&cfg.Work, "work", "_output/prove", "scratch folder for the prefix tree, binaries and server data")
	fs.StringVar(&reports, "reports", prove.DefaultReportDir, "where prove.md and prove.json are written (make reports copies them to "+prove.CommittedReportDir+"/)")
	fs.StringVar(&copyFrom, "copy-from", "", "do not prove: copy prove.md and prove.json of an earlier run from this folder into --reports and say which run it was")
	fs.BoolVar(&cfg.Runtime, "runtime", true, "start the built servers on an embedded etcd and measure them")
	fs.BoolVar(&cfg.Scenario, "scenario", true, "run the harness scenario against the generic sample at each prefix (needs --runtime)")
	fs.BoolVar(&cfg.SlowScenarioEveryPrefix, "slow-scenario-every-prefix", false,
		"run the scenario's slow steps ("+strings.Join(scenario.SlowSteps, ", ")+") at every prefix, not only at the baseline and the last one")
	fs.BoolVar(&cfg.AllTestsEveryPrefix, "all-tests-every-prefix", false,
		"run the unit tests of every package the series touched so far at every prefix, not only those of the prefix's own patch (the last prefix always runs them all)")
	fs.IntVar(&cfg.Upto, "upto", 0, "prove only the first N patches (0: all)")
	fs.StringVar(&cfg.Integration, "integration", prove.IntegrationFull,
		"k/k integration tests, at the last step: off, fast (the generic control plane's own tests) or full (every suite)")
	fs.StringVar(&cfg.KubectlBinary, "kubectl", "", "kubectl of the pinned release for the scenario (default: build it from the baseline tree)")
	fs.StringVar(&cfg.EtcdBinary, "etcd", "", "etcd binary for the integration tests (default: build "+prove.EtcdPackage+" into WORK/bin; run from this repository)")
	fs.BoolVar(&cfg.Static, "static", true, "gofmt, license headers and import-boss on the files and packages the series touched")
	// Errors are reported below, in one line naming the flag; the flag list
	// only on -h.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stdout, usageHead, prove.DefaultReportDir, prove.DefaultReportDir, prove.CommittedReportDir)
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return exitOK
		}
		return usageError(stderr, "%v", err)
	}
	if fs.NArg() > 0 {
		return usageError(stderr, "unexpected argument %q: prove takes flags only", fs.Arg(0))
	}
	switch cfg.Integration {
	case prove.IntegrationOff, prove.IntegrationFast, prove.IntegrationFull:
	default:
		return usageError(stderr, "invalid value %q for flag --integration: want off, fast or full", cfg.Integration)
	}
	if cfg.Upto < 0 {
		return usageError(stderr, "invalid value %d for flag --upto: want 0 (all) or a number of patches", cfg.Upto)
	}
	if cfg.KubectlBinary != "" {
		abs, err := filepath.Abs(cfg.KubectlBinary)
		if err == nil {
			_, err = os.Stat(abs)
		}
		if err != nil {
			return usageError(stderr, "flag --kubectl: %v (build it with make kubectl, or leave the flag out to build it from the tree)", err)
		}
		cfg.KubectlBinary = abs
	}
	if copyFrom != "" {
		if err := copyReport(copyFrom, reports, cfg.Patches, stdout); err != nil {
			fmt.Fprintln(stderr, "prove: "+err.Error())
			return exitError
		}
		return exitOK
	}
	if err := series.Locate(cfg.Patches, cfg.Source, true); err != nil {
		fmt.Fprintln(stderr, "prove: "+err.Error())
		return exitError
	}

	cfg.Log = stderr
	cfg.Written = func(r *prove.Result) error { return prove.WriteFiles(reports, r) }
	res, err := prove.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(stderr, "prove: "+err.Error())
		return exitError
	}
	fmt.Fprintf(stderr, "[prove] wrote %s and %s\n", filepath.Join(reports, "prove.md"), filepath.Join(reports, "prove.json"))
	if !res.Green() {
		fmt.Fprintln(stderr, "prove: not every patch is green; see the report")
		for _, f := range res.Failures() {
			fmt.Fprintln(stderr, "prove: "+f)
		}
		return exitNotGreen
	}
	return exitOK
}

func usageError(stderr io.Writer, format string, args ...any) int {
	fmt.Fprintf(stderr, "prove: "+format+"\nrun 'prove --help' for the flags\n", args...)
	return exitError
}

// copyReport copies the report of the run in from into to and says which
// run it was: its pin and start, how much of the series it covers, whether
// it is green.
func copyReport(from, to, patches string, stdout io.Writer) error {
	absFrom, err := filepath.Abs(from)
	if err != nil {
		return err
	}
	absTo, err := filepath.Abs(to)
	if err != nil {
		return err
	}
	if absFrom == absTo {
		return fmt.Errorf("--copy-from and --reports are both %s: pass --reports %s", absFrom, prove.CommittedReportDir)
	}
	data, err := os.ReadFile(filepath.Join(absFrom, "prove.json"))
	if err != nil {
		return fmt.Errorf("no report of a prove run in %s (%v): run make prove first", absFrom, err)
	}
	var res prove.Result
	if err := json.Unmarshal(data, &res); err != nil {
		return fmt.Errorf("%s: %v", filepath.Join(absFrom, "prove.json"), err)
	}
	if err := os.MkdirAll(absTo, 0o755); err != nil {
		return err
	}
	// Both files as the run wrote them: prove.md shows measurements that
	// prove.json does not keep (kube-apiserver's --help text).
	for _, name := range prove.ReportFiles {
		b, err := os.ReadFile(filepath.Join(absFrom, name))
		if err != nil {
			return fmt.Errorf("no report of a prove run in %s (%v): run make prove first", absFrom, err)
		}
		if err := os.WriteFile(filepath.Join(absTo, name), b, 0o644); err != nil {
			return err
		}
	}

	proved := 0
	for _, s := range res.Steps {
		if s.Index > 0 {
			proved++
		}
	}
	what := fmt.Sprintf("run on k8s.io/kubernetes %s started %s: baseline and %d patches",
		res.Pin, res.Started.Format("2006-01-02 15:04 MST"), proved)
	if names, err := (&series.Series{Dir: patches}).Patches(); err == nil {
		what += fmt.Sprintf(" of the %d in %s", len(names), filepath.Join(patches, series.FileName))
		if len(res.Steps) > 0 && len(res.Steps)+len(res.NotReached) < len(names)+1 {
			what += " (a partial run, --upto)"
		}
	}
	if p, err := pin.ReadFile(filepath.Join(patches, "BASE")); err == nil && p.Kubernetes != res.Pin {
		what += fmt.Sprintf("; patches/BASE now pins %s", p.Kubernetes)
	}
	status := "every patch green"
	if !res.Green() {
		status = "NOT all green"
	}
	fmt.Fprintf(stdout, "[prove] copied %s from %s to %s\n[prove] the %s; %s\n",
		strings.Join(prove.ReportFiles, " and "), absFrom, absTo, what, status)
	return nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
