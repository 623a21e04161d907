// Package series carries an ordered, quilt-style patch series on a k/k tree:
// patches/series lists git format-patch files that are applied with git am on
// top of the release tag, checked, exported back from the tree's commits, and
// replayed on another release.
package series

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/generic-controlplane/gcp/internal/gitx"
)

// Branch is the tree branch the series is applied on.
const Branch = "series"

// FileName is the series file inside the patches folder.
const FileName = "series"

// fixedCommitter makes commits made by apply independent of the machine:
// with the committer date taken from the author date, applying the same
// series on the same baseline yields the same commit hashes everywhere.
var fixedCommitter = []string{
	"GIT_COMMITTER_NAME=series", "GIT_COMMITTER_EMAIL=series@localhost",
}

// SubjectRE is the subject convention of carried fork commits (kcp,
// OpenShift): UPSTREAM: <carry>: ..., UPSTREAM: <drop>: ..., or UPSTREAM:
// <PR number>: ... for a backport of an upstream pull request.
var SubjectRE = regexp.MustCompile(`^UPSTREAM: (<carry>|<drop>|[0-9]+): \S`)

// Series is a patches folder and the tree it is carried on.
type Series struct {
	Dir  string // holds the series file and the patch files
	Tree string // the k/k git work tree
	Base string // tag or commit the series applies on, e.g. v1.37.2
	Log  io.Writer
}

func (s *Series) logf(format string, args ...any) {
	if s.Log != nil {
		fmt.Fprintf(s.Log, "[series] "+format+"\n", args...)
	}
}

func (s *Series) repo() gitx.Repo {
	return gitx.Repo{Dir: s.Tree, Env: fixedCommitter}
}

// RequireTree fails with what to do when the tree is missing or lacks the
// baseline.
func (s *Series) RequireTree(ctx context.Context) error {
	r := s.repo()
	tree := s.Tree
	if abs, err := filepath.Abs(tree); err == nil {
		tree = abs // say where it looked, whatever the working directory
	}
	if _, err := os.Stat(s.Tree); err != nil {
		return fmt.Errorf("no k/k tree at %s: run `make tree`, or pass --tree DIR or KK_TREE=DIR (a kubernetes/kubernetes checkout)", tree)
	}
	if !r.IsRepo(ctx) {
		return fmt.Errorf("%s is not the top of a git work tree: run `make tree`, or pass --tree DIR or KK_TREE=DIR (a kubernetes/kubernetes checkout)", tree)
	}
	if !r.HasRef(ctx, s.Base) {
		return fmt.Errorf("%s has no %s: fetch the tag (git -C %s fetch origin tag %s) or run `make tree`", tree, s.Base, tree, s.Base)
	}
	return nil
}

// Patches returns the patch file names listed in the series file, in order.
func (s *Series) Patches() ([]string, error) {
	data, err := os.ReadFile(filepath.Join(s.Dir, FileName))
	if err != nil {
		return nil, fmt.Errorf("reading the series file: %w", err)
	}
	var names []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		names = append(names, line)
	}
	return names, sc.Err()
}

// seriesHeader returns the comment lines at the top of the series file, kept
// when refresh rewrites it.
func (s *Series) seriesHeader() string {
	data, err := os.ReadFile(filepath.Join(s.Dir, FileName))
	if err != nil {
		return ""
	}
	var b strings.Builder
	for _, line := range strings.SplitAfter(string(data), "\n") {
		if !strings.HasPrefix(line, "#") {
			break
		}
		b.WriteString(line)
	}
	return b.String()
}

func (s *Series) path(name string) string { return filepath.Join(s.Dir, name) }

// prepare leaves the tree on a fresh Branch at Base with nothing in flight.
// The old branch tip is kept as refs/series/previous, so unexported commits
// are never lost.
func (s *Series) prepare(ctx context.Context, force bool) error {
	r := s.repo()
	if r.AmInProgress(ctx) {
		s.logf("aborting a git am left in progress in %s", s.Tree)
		if _, err := r.Run(ctx, "am", "--abort"); err != nil {
			return err
		}
	}
	if dirty, err := r.Dirty(ctx); err != nil {
		return err
	} else if dirty != "" && !force {
		return fmt.Errorf("%s has uncommitted changes:\n%s\ncommit them and run `series refresh`, stash them (git -C %s stash -u), or pass --force to discard them", s.Tree, indent(dirty), s.Tree)
	}
	if r.HasRef(ctx, "refs/heads/"+Branch) {
		if _, err := r.Run(ctx, "update-ref", "refs/series/previous", "refs/heads/"+Branch); err != nil {
			return err
		}
	}
	if _, err := r.Run(ctx, "checkout", "--quiet", "--force", "-B", Branch, s.Base); err != nil {
		return err
	}
	_, err := r.Run(ctx, "clean", "-fdq")
	return err
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n  ")
}
