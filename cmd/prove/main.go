// Command prove applies the patch series one prefix at a time to a scratch
// copy of the pinned tree and writes the per-patch evidence to
// reports/prove.md and prove.json. It exits non-zero unless every
// patch is green.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/generic-controlplane/gcp/internal/prove"
)

func main() {
	var (
		cfg     prove.Config
		reports string
	)
	flag.StringVar(&cfg.Patches, "patches", "patches", "patches folder (BASE, series, patch files)")
	flag.StringVar(&cfg.Source, "tree", envOr("KK_TREE", "_output/kk"), "pinned k/k tree to copy (env KK_TREE); it is not modified")
	flag.StringVar(&cfg.Work, "work", "_output/prove", "scratch folder for the prefix tree, binaries and server data")
	flag.StringVar(&reports, "reports", "reports", "where prove.md and prove.json are written")
	flag.BoolVar(&cfg.Runtime, "runtime", true, "start the built servers on an embedded etcd and measure them")
	flag.BoolVar(&cfg.Scenario, "scenario", true, "run the harness scenario against the generic sample at each prefix (needs --runtime)")
	flag.IntVar(&cfg.Upto, "upto", 0, "prove only the first N patches (0: all)")
	flag.StringVar(&cfg.Integration, "integration", prove.IntegrationFull,
		"k/k integration tests: off, fast (the per-prefix suite at every step) or full (fast, plus the tip suites at the last step)")
	flag.StringVar(&cfg.EtcdBinary, "etcd", "", "etcd binary for the integration tests (default: build "+prove.EtcdPackage+" into WORK/bin; run from this repository)")
	flag.BoolVar(&cfg.Static, "static", true, "gofmt, license headers and import-boss on the files and packages the series touched")
	flag.Parse()
	switch cfg.Integration {
	case prove.IntegrationOff, prove.IntegrationFast, prove.IntegrationFull:
	default:
		fmt.Fprintf(os.Stderr, "prove: --integration=%q: want off, fast or full\n", cfg.Integration)
		os.Exit(2)
	}
	cfg.Log = os.Stderr
	cfg.Written = func(r *prove.Result) error { return prove.WriteFiles(reports, r) }

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := prove.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "prove: "+err.Error())
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "[prove] wrote %s/prove.md and prove.json\n", reports)
	if !res.Green() {
		fmt.Fprintln(os.Stderr, "prove: not every patch is green; see the report")
		os.Exit(1)
	}
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
