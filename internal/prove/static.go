package prove

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/generic-controlplane/gcp/internal/gitx"
	"github.com/generic-controlplane/gcp/internal/series"
)

// StaticResult is what k/k's verify scripts would say about the Go files
// the series has touched so far: hack/verify-gofmt.sh, verify-boilerplate.sh
// and verify-import-boss.sh, restricted to those files and packages so that
// they cost seconds per prefix instead of minutes.
type StaticResult struct {
	GoFiles int `json:"goFiles"`
	// Gofmt lists the files gofmt -l would list.
	Gofmt []string `json:"gofmt,omitempty"`
	// Boilerplate lists the files that lack the license header of
	// hack/boilerplate/boilerplate.go.txt (and had it at the baseline, or
	// are new).
	Boilerplate []string   `json:"boilerplate,omitempty"`
	ImportBoss  *ToolCheck `json:"importBoss,omitempty"`
}

// ToolCheck is one run of a k/k verify tool.
type ToolCheck struct {
	Command string  `json:"command"`
	Passed  bool    `json:"passed"`
	Seconds float64 `json:"seconds"`
	Output  string  `json:"output,omitempty"` // its tail on failure
}

// Green reports whether every static check passed.
func (s *StaticResult) Green() bool {
	return s == nil || (len(s.Gofmt) == 0 && len(s.Boilerplate) == 0 && (s.ImportBoss == nil || s.ImportBoss.Passed))
}

// importBossTimeout bounds one import-boss run (compiling it included).
const importBossTimeout = 10 * time.Minute

// importBossRoot is always checked: its .import-restrictions is the
// ratchet the series adds, and a patch anywhere can break it.
const importBossRoot = "./pkg/controlplane/apiserver/..."

// static runs the checks on the files touched between the baseline and HEAD.
func (r *runner) static(ctx context.Context, s *Step) {
	res := &StaticResult{}
	s.Static = res
	files, err := touchedGoFiles(ctx, r.tree, r.s.Base)
	if err != nil {
		r.problem(s, "static checks: %v", err)
		return
	}
	res.GoFiles = len(files)
	res.Gofmt, res.Boilerplate = r.lintFiles(ctx, files)
	for _, f := range res.Gofmt {
		r.problem(s, "gofmt -l lists %s", f)
	}
	for _, f := range res.Boilerplate {
		r.problem(s, "%s lacks the license header of %s", f, series.BoilerplatePath)
	}
	pkgs, err := touchedPackages(ctx, r.tree, r.s.Base)
	if err != nil {
		r.problem(s, "static checks: %v", err)
		return
	}
	res.ImportBoss = r.importBoss(ctx, pkgs)
	if !res.ImportBoss.Passed {
		r.problem(s, "import-boss fails: %s", lastLine(res.ImportBoss.Output))
	}
}

// touchedGoFiles lists the Go files changed between base and HEAD that
// still exist, vendored and testdata files left out (verify-* skip them).
func touchedGoFiles(ctx context.Context, tree, base string) ([]string, error) {
	out, err := gitx.Repo{Dir: tree}.Run(ctx, "diff", "--name-only", "--diff-filter=d", base+"..HEAD", "--", "*.go")
	if err != nil {
		return nil, err
	}
	var files []string
	for _, f := range strings.Fields(out) {
		if strings.HasPrefix(f, "vendor/") || strings.HasPrefix(f, "third_party/") || strings.Contains("/"+f, "/testdata/") {
			continue
		}
		files = append(files, f)
	}
	return files, nil
}

// lintFiles returns the files that are not gofmt-clean and those that lack
// the license header. A file that lacked the header at the baseline already
// is upstream's business (verify-boilerplate has a skip list), not the
// series'.
func (r *runner) lintFiles(ctx context.Context, files []string) (gofmt, boilerplate []string) {
	repo := gitx.Repo{Dir: r.tree}
	header, _ := repo.Run(ctx, "show", r.s.Base+":"+series.BoilerplatePath)
	re := series.BoilerplateRE(header)
	for _, f := range files {
		src, err := os.ReadFile(filepath.Join(r.tree, f))
		if err != nil {
			gofmt = append(gofmt, f+" (unreadable: "+err.Error()+")")
			continue
		}
		if series.GofmtProblem(src) != "" {
			gofmt = append(gofmt, f)
		}
		if re == nil || series.HasBoilerplate(string(src), re) {
			continue
		}
		if old, err := repo.Run(ctx, "show", r.s.Base+":"+f); err == nil && !series.HasBoilerplate(old, re) {
			continue
		}
		boilerplate = append(boilerplate, f)
	}
	return gofmt, boilerplate
}

// importBoss runs k/k's import-boss as hack/verify-import-boss.sh does
// (go run ./cmd/import-boss), on the generic control plane and the packages
// the series touched, instead of the whole workspace. verify-import-boss.sh
// sets GOPROXY=off because k/k vendors its modules; the materialized tree has
// no vendor/, so on a fresh machine import-boss's own modules (gengo) may
// still have to be fetched into the module cache.
func (r *runner) importBoss(ctx context.Context, touched []string) *ToolCheck {
	pkgs := append([]string{importBossRoot}, touched...)
	args := append([]string{"run", "./cmd/import-boss"}, pkgs...)
	tc := &ToolCheck{Command: "go " + shellJoin(args)}
	r.logf("import-boss on %d package patterns", len(pkgs))
	ctx, cancel := context.WithTimeout(ctx, importBossTimeout)
	defer cancel()
	start := time.Now()
	out, err := r.goCmd(ctx, args...)
	tc.Seconds = time.Since(start).Seconds()
	tc.Passed = err == nil
	if err != nil {
		tc.Output = tailLines(out, 30)
	}
	return tc
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// shellJoin quotes what a shell would need quoted, for a command line the
// report prints to copy.
func shellJoin(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if strings.ContainsAny(a, " |()^$*?'\"") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		out[i] = a
	}
	return strings.Join(out, " ")
}
