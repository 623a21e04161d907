package series

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/generic-controlplane/gcp/internal/gitx"
)

// ApplyOptions tune Apply.
type ApplyOptions struct {
	// N applies only the first N patches; 0 or less applies all.
	N int
	// Force discards uncommitted changes in the tree.
	Force bool
}

// Apply checks out a fresh Branch at Base and applies the first N patches
// with git am, one patch per am run, refusing any hunk whose context does
// not match. On failure the failing am is aborted, so the tree stays at the
// last patch that applied, and a *Failure names the patch, file and hunk.
func (s *Series) Apply(ctx context.Context, o ApplyOptions) (int, error) {
	names, err := s.Patches()
	if err != nil {
		return 0, err
	}
	if o.N > len(names) {
		return 0, fmt.Errorf("asked for %d patches, the series has %d", o.N, len(names))
	}
	if o.N > 0 {
		names = names[:o.N]
	}
	for _, name := range names {
		if _, err := os.Stat(s.path(name)); err != nil {
			return 0, fmt.Errorf("series lists %s, which is not in %s: fix the series file or run `series refresh`", name, s.Dir)
		}
	}
	if err := s.prepare(ctx, o.Force); err != nil {
		return 0, err
	}
	start := time.Now()
	s.logf("applying %d patches on %s in %s (branch %s)", len(names), s.Base, s.Tree, Branch)
	for i, name := range names {
		s.logf("[%d/%d] %s", i+1, len(names), name)
		if err := s.am(ctx, i+1, name); err != nil {
			return i, err
		}
	}
	head, _ := s.repo().Line(ctx, "rev-parse", "--short=12", "HEAD")
	s.logf("applied %d patches in %s; %s is at %s", len(names), time.Since(start).Round(time.Millisecond), Branch, head)
	return len(names), nil
}

// am applies one patch. git am without --3way uses git apply, which accepts
// a hunk at another offset but never with changed context (no fuzz).
func (s *Series) am(ctx context.Context, index int, name string) error {
	r := s.repo()
	abs, err := filepath.Abs(s.path(name))
	if err != nil {
		return err
	}
	_, err = r.Run(ctx, "am", "--quiet", "--no-3way", "--committer-date-is-author-date", abs)
	if err == nil {
		return nil
	}
	var gerr *gitx.Error
	if !errors.As(err, &gerr) {
		return err
	}
	f := &Failure{Index: index, Patch: name, Output: gerr.Stdout + gerr.Stderr}
	if data, rerr := os.ReadFile(abs); rerr == nil {
		locateFailure(f, string(data))
	}
	if r.AmInProgress(ctx) {
		if _, aerr := r.Run(ctx, "am", "--abort"); aerr != nil {
			return fmt.Errorf("%w\n(and git am --abort failed: %v)", f, aerr)
		}
	}
	return f
}

// Start leaves the tree on a fresh Branch at Base, for callers that apply
// the series one patch at a time (ApplyPatch) and look at every prefix.
func (s *Series) Start(ctx context.Context, force bool) error {
	return s.prepare(ctx, force)
}

// ApplyPatch applies patch name, number index (1-based) of the series, on
// the tree's HEAD, with the same guarantees as Apply.
func (s *Series) ApplyPatch(ctx context.Context, index int, name string) error {
	return s.am(ctx, index, name)
}
