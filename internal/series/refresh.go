package series

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// formatPatchArgs fix every option that shapes format-patch output, so the
// same commits always export to the same bytes: a constant From line
// (--zero-commit), no "n/m" numbering that would rewrite every subject when
// one patch is added, no git version signature, and a fixed stat width that
// does not follow the terminal.
var formatPatchArgs = []string{
	"format-patch", "--quiet", "--no-numbered", "--zero-commit", "--no-signature",
	"--stat=80", "--stat-graph-width=20", "--no-color", "--encode-email-headers",
}

// RefreshResult says what refresh changed in the patches folder.
type RefreshResult struct {
	Patches []string // the series, in order
	Written []string // new or changed patch files
	Removed []string // patch files no longer in the series
}

// Changed reports whether refresh wrote or removed anything.
func (r RefreshResult) Changed() bool { return len(r.Written)+len(r.Removed) > 0 }

// Refresh regenerates the patches folder from the commits Base..Branch in
// the tree, touching only files whose bytes change, so a refresh with
// nothing new leaves the folder as it was.
func (s *Series) Refresh(ctx context.Context) (*RefreshResult, error) {
	r := s.repo()
	if r.AmInProgress(ctx) {
		return nil, fmt.Errorf("%s has a git am in progress: finish it (git am --continue) or abort it (git am --abort) first", s.Tree)
	}
	if dirty, err := r.Dirty(ctx); err != nil {
		return nil, err
	} else if dirty != "" {
		s.logf("warning: uncommitted changes in %s are not exported:\n%s", s.Tree, indent(dirty))
	}
	if !r.HasRef(ctx, "refs/heads/"+Branch) {
		return nil, fmt.Errorf("%s has no branch %q: run `series apply` first, or `series new TITLE` to start one", s.Tree, Branch)
	}
	if merges, err := r.Line(ctx, "rev-list", "--merges", s.Base+".."+Branch); err != nil {
		return nil, err
	} else if merges != "" {
		return nil, fmt.Errorf("%s..%s contains merge commits; a patch series must be linear (git rebase %s)", s.Base, Branch, s.Base)
	}

	tmp, err := os.MkdirTemp("", "series-refresh-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	args := append(append([]string{}, formatPatchArgs...), "-o", tmp, s.Base+".."+Branch)
	if _, err := r.Run(ctx, args...); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return nil, err
	}
	res := &RefreshResult{}
	for _, e := range entries {
		res.Patches = append(res.Patches, e.Name())
	}
	sort.Strings(res.Patches) // NNNN- prefixes: lexical order is series order

	old, err := s.Patches()
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return nil, err
	}
	for _, name := range res.Patches {
		fresh, err := os.ReadFile(filepath.Join(tmp, name))
		if err != nil {
			return nil, err
		}
		if cur, err := os.ReadFile(s.path(name)); err == nil && bytes.Equal(cur, fresh) {
			continue
		}
		if err := os.WriteFile(s.path(name), fresh, 0o644); err != nil {
			return nil, err
		}
		res.Written = append(res.Written, name)
	}
	keep := map[string]bool{}
	for _, n := range res.Patches {
		keep[n] = true
	}
	for _, n := range old {
		if !keep[n] {
			if err := os.Remove(s.path(n)); err != nil && !os.IsNotExist(err) {
				return nil, err
			}
			res.Removed = append(res.Removed, n)
		}
	}
	list := s.seriesHeader()
	if list == "" {
		list = "# Ordered patch series applied with `git am` on top of the tag named in BASE.\n"
	}
	list += strings.Join(res.Patches, "\n")
	if len(res.Patches) > 0 {
		list += "\n"
	}
	if cur, err := os.ReadFile(filepath.Join(s.Dir, FileName)); err != nil || string(cur) != list {
		if err := os.WriteFile(filepath.Join(s.Dir, FileName), []byte(list), 0o644); err != nil {
			return nil, err
		}
		if len(res.Written)+len(res.Removed) == 0 {
			res.Written = append(res.Written, FileName)
		}
	}
	s.logf("exported %d patches from %s..%s: %d written, %d removed", len(res.Patches), s.Base, Branch, len(res.Written), len(res.Removed))
	return res, nil
}
