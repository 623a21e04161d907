// Package prove walks the patch series one prefix at a time on a scratch
// copy of the pinned tree and records, for the baseline and every prefix,
// whether it applies, builds, passes the k/k tests of the packages the series
// touched, what the generic server and kube-apiserver link from k/k, and how
// the built servers behave: the per-patch evidence the series is judged on.
package prove

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/generic-controlplane/gcp/analysis/depgraph"
	"github.com/generic-controlplane/gcp/internal/gitx"
	"github.com/generic-controlplane/gcp/internal/kktree"
	"github.com/generic-controlplane/gcp/internal/pin"
	"github.com/generic-controlplane/gcp/internal/series"
	"github.com/generic-controlplane/gcp/scenario"
)

// The two k/k binaries every prefix must keep building.
const (
	KubeAPIServer = "./cmd/kube-apiserver"
	GenericSample = "./pkg/controlplane/apiserver/samples/generic"
	// Kubectl is built from the baseline tree for the scenario, unless
	// Config.KubectlBinary names one.
	Kubectl = "./cmd/kubectl"
	// MinimalSample is the generic sample that lists its own providers
	// (the generic core resources and RBAC): measured at every prefix that
	// has it (patch 0027 adds it), to show what picking fewer groups links.
	MinimalSample = "./pkg/controlplane/apiserver/samples/generic/minimal"
)

// Config says what to prove where.
type Config struct {
	Patches string // the patches folder (BASE, series, patch files)
	Source  string // the pinned tree to copy (it is never modified)
	Work    string // scratch folder: the prefix tree, binaries, server data
	// Runtime starts the built servers on an embedded etcd and measures them.
	Runtime bool
	// Scenario runs the harness scenario (client-go and the tree's kubectl)
	// against the generic sample at each prefix; needs Runtime.
	Scenario bool
	// SlowScenarioEveryPrefix runs the scenario's slow steps
	// (scenario.SlowSteps) at every prefix; otherwise they run at the
	// baseline and the last prefix only, and the other steps everywhere.
	SlowScenarioEveryPrefix bool
	// AllTestsEveryPrefix runs the unit tests of every package the series
	// touched so far at every prefix; otherwise a prefix tests what its own
	// patch touched, and the last one everything.
	AllTestsEveryPrefix bool
	// Upto stops after this many patches; 0 proves the whole series.
	Upto int
	// Integration picks k/k's integration tests to run: IntegrationOff,
	// IntegrationFast or IntegrationFull (see Suites).
	Integration string
	// KubectlBinary is the scenario's kubectl, of the pinned release; empty
	// builds Kubectl at the baseline. kubectl is the client, not what is
	// proven: one already built (make test's harness builds it) saves
	// compiling its 197 packages that the servers do not link.
	KubectlBinary string
	// EtcdBinary is the etcd the integration tests put on PATH; empty
	// builds EtcdPackage into Work/bin (from this repository's module).
	EtcdBinary string
	// Static runs gofmt, the license header check and import-boss on what
	// the series touched.
	Static bool
	// Written is called with the result after every step, so a report on
	// disk is never more than one step behind.
	Written func(*Result) error
	Log     io.Writer
}

// ScenarioResult is the outcome of one scenario run.
type ScenarioResult struct {
	Server  string            `json:"server"`
	Passed  int               `json:"passed"`
	Total   int               `json:"total"`
	Results []scenario.Result `json:"results"`
}

// Result is the whole proof.
type Result struct {
	Pin      string    `json:"pin"`
	Baseline string    `json:"baselineCommit"`
	Started  time.Time `json:"started"`
	Steps    []*Step   `json:"steps"`
	// NotReached lists patches after the first one that failed to apply.
	NotReached []string `json:"notReached,omitempty"`
}

// Green reports whether every patch was proven.
func (r *Result) Green() bool {
	if len(r.NotReached) > 0 {
		return false
	}
	for _, s := range r.Steps {
		if !s.Green() {
			return false
		}
	}
	return true
}

// Failures says, one line per step that is not green, why not: what a CI
// log's tail must show, since the report stays on the machine that ran.
func (r *Result) Failures() []string {
	var out []string
	for _, s := range r.Steps {
		if why := s.failures(); len(why) > 0 {
			name := s.Patch
			if name == "" {
				name = s.Subject
			}
			out = append(out, fmt.Sprintf("step %d (%s): %s", s.Index, name, strings.Join(why, "; ")))
		}
	}
	if len(r.NotReached) > 0 {
		out = append(out, fmt.Sprintf("not reached: %s", strings.Join(r.NotReached, ", ")))
	}
	return out
}

type runner struct {
	cfg    Config
	s      *series.Series
	tree   string
	env    []string
	base   *Step
	prev   *Step
	graphs map[string]*depgraph.Graph // previous prefix, by root
	// last is kube-apiserver's surface as last measured, per aspect;
	// baseSurface the baseline's.
	last        *measured
	baseSurface Surface
	// etcdBin is the etcd on the integration tests' PATH, etcdProblem
	// what is wrong with it (reported on the baseline step).
	etcdBin     string
	etcdProblem string
}

func (r *runner) logf(format string, args ...any) {
	if r.cfg.Log != nil {
		fmt.Fprintf(r.cfg.Log, "[prove] "+format+"\n", args...)
	}
}

// Run proves the baseline and each prefix of the series.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	p, err := pin.ReadFile(filepath.Join(cfg.Patches, "BASE"))
	if err != nil {
		return nil, err
	}
	// Absolute, because go commands run in the tree and write binaries,
	// logs and temporary files under Work.
	if cfg.Work, err = filepath.Abs(cfg.Work); err != nil {
		return nil, err
	}
	r := &runner{cfg: cfg, tree: filepath.Join(cfg.Work, "kk"), last: newMeasured()}
	if err := r.prepareTree(ctx, p); err != nil {
		return nil, err
	}
	r.s = &series.Series{Dir: cfg.Patches, Tree: r.tree, Base: p.Tag(), Log: cfg.Log}
	names, err := r.s.Patches()
	if err != nil {
		return nil, err
	}
	if cfg.Upto > 0 && cfg.Upto < len(names) {
		names = names[:cfg.Upto]
	}
	if err := r.s.Start(ctx, true); err != nil {
		return nil, err
	}
	if err := r.prepareEtcd(ctx); err != nil {
		return nil, err
	}
	res := &Result{Pin: p.Kubernetes, Started: time.Now().UTC()}
	res.Baseline, _ = gitx.Repo{Dir: r.tree}.Line(ctx, "rev-parse", "HEAD")

	for k := 0; k <= len(names); k++ {
		step := &Step{Index: k, Subject: "baseline " + p.Kubernetes}
		start := time.Now()
		if k > 0 {
			step.Patch = names[k-1]
			r.logf("patch %d/%d: %s", k, len(names), step.Patch)
			if err := r.s.ApplyPatch(ctx, k, step.Patch); err != nil {
				step.ApplyError = err.Error()
				res.Steps = append(res.Steps, step)
				res.NotReached = names[k:]
				r.logf("patch %d does not apply; the %d after it are not proven", k, len(names)-k)
				return res, r.written(res)
			}
			step.Subject, _ = gitx.Repo{Dir: r.tree}.Line(ctx, "log", "-1", "--format=%s")
			r.declaration(ctx, step)
		} else {
			r.logf("baseline %s", p.Kubernetes)
		}
		step.Applies = true
		r.evaluate(ctx, step, k == len(names))
		step.Seconds = time.Since(start).Seconds()
		r.logf("step %d done in %.0fs: %s", k, step.Seconds, step.Summary())
		res.Steps = append(res.Steps, step)
		if err := r.written(res); err != nil {
			return res, err
		}
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
	}
	return res, nil
}

// declaration reads the kube-apiserver declaration of the patch just
// applied from its commit message.
func (r *runner) declaration(ctx context.Context, s *Step) {
	body, err := gitx.Repo{Dir: r.tree}.Run(ctx, "log", "-1", "--format=%b")
	if err != nil {
		r.problem(s, "patch %s: reading its commit message: %v", s.Patch, err)
		return
	}
	d := ParseDeclaration(body)
	s.Declared = &d
	if d.Problem != "" {
		r.problem(s, "patch %s: %s", s.Patch, d.Problem)
	}
}

// prepareEtcd builds (unless given) and checks the etcd binary the
// integration tests need on PATH. A version other than the tree's is
// reported on the baseline step rather than stopping the proof.
func (r *runner) prepareEtcd(ctx context.Context) error {
	if r.cfg.Integration == "" || r.cfg.Integration == IntegrationOff {
		return nil
	}
	bin := r.cfg.EtcdBinary
	if bin == "" {
		r.logf("building etcd (%s) for the integration tests", EtcdPackage)
		var err error
		if bin, err = BuildEtcd(ctx, filepath.Join(r.cfg.Work, "bin")); err != nil {
			return err
		}
	}
	r.etcdBin = bin
	v, err := checkEtcdVersion(ctx, bin, r.tree)
	if err != nil {
		r.etcdProblem = err.Error()
		return nil
	}
	r.logf("etcd %s (the tree's go.etcd.io/etcd/server/v3) for the integration tests", v)
	return nil
}

func (r *runner) written(res *Result) error {
	if r.cfg.Written == nil {
		return nil
	}
	return r.cfg.Written(res)
}

// prepareTree keeps a private clone of the source tree, so proving never
// disturbs the tree a developer works in, and writes its workspace file.
func (r *runner) prepareTree(ctx context.Context, p pin.Pin) error {
	src, err := filepath.Abs(r.cfg.Source)
	if err != nil {
		return err
	}
	srcRepo := gitx.Repo{Dir: src}
	if !srcRepo.HasRef(ctx, p.Tag()) {
		return fmt.Errorf("%s has no %s: run `make tree`", src, p.Tag())
	}
	repo := gitx.Repo{Dir: r.tree}
	if _, err := os.Stat(filepath.Join(r.tree, ".git")); err != nil {
		r.logf("cloning %s into %s", src, r.tree)
		if err := os.MkdirAll(filepath.Dir(r.tree), 0o755); err != nil {
			return err
		}
		if _, err := (gitx.Repo{Dir: filepath.Dir(r.tree)}).Run(ctx, "clone", "--quiet", "--no-checkout", src, r.tree); err != nil {
			return err
		}
	} else if _, err := repo.Run(ctx, "fetch", "--quiet", "--tags", src); err != nil {
		return err
	}
	if !repo.HasRef(ctx, p.Tag()) {
		return fmt.Errorf("%s has no %s after fetching from %s", r.tree, p.Tag(), src)
	}
	// The source's baseline commit, not the clone's checkout, decides which
	// modules exist; check them out before writing the workspace.
	if _, err := repo.Run(ctx, "checkout", "--quiet", "--force", p.Tag()); err != nil {
		return err
	}
	work, err := filepath.Abs(filepath.Join(r.cfg.Work, "kk.go.work"))
	if err != nil {
		return err
	}
	if _, err := kktree.WriteWorkspace(r.tree, work); err != nil {
		return err
	}
	r.env = kktree.GoEnv(work)
	return nil
}

// goCmd runs a go command in the tree and returns its combined output.
func (r *runner) goCmd(ctx context.Context, args ...string) (string, error) {
	return r.goCmdEnv(ctx, nil, args...)
}

// goCmdEnv is goCmd with extra environment variables.
func (r *runner) goCmdEnv(ctx context.Context, extra []string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = r.tree
	cmd.Env = append(append(os.Environ(), r.env...), extra...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("go %s: %w", strings.Join(args, " "), err)
	}
	return string(out), nil
}
