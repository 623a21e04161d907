package series

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/generic-controlplane/gcp/internal/gitx"
)

// Outcome of replaying one patch on another release.
type Outcome string

const (
	Clean      Outcome = "clean"
	Conflicted Outcome = "conflicts"
	Empty      Outcome = "empty"
	Failed     Outcome = "failed"
)

// RebaseStep is the result for one patch.
type RebaseStep struct {
	Patch   string
	Outcome Outcome
	Files   []string // conflicted files, or the file git could not patch
	Detail  string
}

// Rebase replays the series onto the tree at s.Base (another release) with
// a three-way git am, one patch at a time, and reports per patch: clean,
// applied with conflicts (committed with conflict markers so the developer
// resolves them in place, then refreshes), empty (already upstream, skipped)
// or failed (skipped). objectsFrom, when set, is a tree that holds the
// blobs the patches were made against; fetching them lets the three-way
// merge work across releases.
func (s *Series) Rebase(ctx context.Context, objectsFrom string) ([]RebaseStep, error) {
	names, err := s.Patches()
	if err != nil {
		return nil, err
	}
	r := s.repo()
	if objectsFrom != "" {
		s.logf("fetching the series' base objects from %s", objectsFrom)
		if _, err := r.Run(ctx, "fetch", "--quiet", "--no-tags", objectsFrom, "+refs/heads/*:refs/series/from/*", "+refs/tags/*:refs/series/from-tags/*"); err != nil {
			return nil, err
		}
	}
	if err := s.prepare(ctx, false); err != nil {
		return nil, err
	}
	var steps []RebaseStep
	for i, name := range names {
		s.logf("[%d/%d] replaying %s on %s", i+1, len(names), name, s.Base)
		step, err := s.replay(ctx, r, name)
		if err != nil {
			return steps, err
		}
		steps = append(steps, step)
		s.logf("[%d/%d] %s: %s %s", i+1, len(names), name, step.Outcome, strings.Join(step.Files, " "))
	}
	return steps, nil
}

func (s *Series) replay(ctx context.Context, r gitx.Repo, name string) (RebaseStep, error) {
	step := RebaseStep{Patch: name}
	abs, err := filepath.Abs(s.path(name))
	if err != nil {
		return step, err
	}
	before, err := r.Line(ctx, "rev-parse", "HEAD")
	if err != nil {
		return step, err
	}
	_, amErr := r.Run(ctx, "am", "--3way", "--empty=drop", "--committer-date-is-author-date", abs)
	if amErr == nil {
		after, err := r.Line(ctx, "rev-parse", "HEAD")
		if err != nil {
			return step, err
		}
		step.Outcome = Clean
		if after == before {
			step.Outcome, step.Detail = Empty, "no changes left: already in "+s.Base
		}
		return step, nil
	}
	var gerr *gitx.Error
	if !errors.As(amErr, &gerr) {
		return step, amErr
	}
	out := gerr.Stdout + gerr.Stderr
	if strings.Contains(out, "No changes") || strings.Contains(out, "already applied") {
		step.Outcome, step.Detail = Empty, "no changes left: already in "+s.Base
		if r.AmInProgress(ctx) {
			_, err = r.Run(ctx, "am", "--skip")
		}
		return step, err
	}
	unmerged, err := r.Line(ctx, "diff", "--name-only", "--diff-filter=U")
	if err != nil {
		return step, err
	}
	if unmerged != "" {
		step.Outcome = Conflicted
		step.Files = strings.Fields(unmerged)
		step.Detail = "committed with conflict markers; resolve them in the tree, amend, then refresh"
		if _, err := r.Run(ctx, "add", "--all", "."); err != nil {
			return step, err
		}
		_, err = r.Run(ctx, "am", "--continue")
		return step, err
	}
	f := &Failure{Patch: name, Output: out}
	locateFailure(f, "")
	step.Outcome, step.Detail = Failed, strings.TrimSpace(out)
	if f.File != "" {
		step.Files = []string{f.File}
	}
	if r.AmInProgress(ctx) {
		if _, err := r.Run(ctx, "am", "--skip"); err != nil {
			return step, fmt.Errorf("skipping %s after it failed: %w", name, err)
		}
	}
	return step, nil
}
