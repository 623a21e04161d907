// Package kktree materializes a Kubernetes source tree from the Go module
// cache: the k8s.io/kubernetes module at the root and every staging module it
// replaces under staging/src/k8s.io/<name>, the layout of a real k/k checkout,
// committed once and tagged with the release so patches apply to it exactly
// as they would to a clone of kubernetes/kubernetes.
package kktree

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/generic-controlplane/gcp/internal/gitx"
	"github.com/generic-controlplane/gcp/internal/goenv"
	"github.com/generic-controlplane/gcp/internal/pin"
)

// GoEnv is the environment for go commands inside a tree whose workspace
// file WriteWorkspace wrote at workFile (goenv.Workspace).
func GoEnv(workFile string) []string { return goenv.Workspace(workFile) }

// baselineDate fixes the baseline commit's dates so that its hash is the same
// on every machine for the same pin.
const baselineDate = "2000-01-01T00:00:00Z"

// PinConfigKey records in the tree's git config which pin it was built from.
const PinConfigKey = "gcp.pin"

// Options say what to materialize where.
type Options struct {
	Pin  pin.Pin
	Dest string
	// Force rebuilds a tree that exists, discarding its branches.
	Force bool
	// Log receives progress lines.
	Log io.Writer
}

// Result describes a materialized tree.
type Result struct {
	Dir     string
	Pin     pin.Pin
	Commit  string
	Files   int
	Missing []string // staging modules the module proxy does not serve
	Reused  bool     // the tree already existed at this pin
}

// Materialize builds the tree, or reuses it when it already holds this pin.
// It writes into a temporary sibling directory and renames it into place, so
// an interrupted run leaves nothing half-written at Dest.
func Materialize(ctx context.Context, o Options) (*Result, error) {
	logf := func(format string, args ...any) {
		if o.Log != nil {
			fmt.Fprintf(o.Log, "[tree] "+format+"\n", args...)
		}
	}
	dest, err := filepath.Abs(o.Dest)
	if err != nil {
		return nil, err
	}
	repo := gitx.Repo{Dir: dest}
	if _, err := os.Stat(dest); err == nil && !o.Force {
		have, _ := repo.Line(ctx, "config", "--get", PinConfigKey)
		switch {
		case have == o.Pin.Kubernetes && repo.HasRef(ctx, "refs/tags/"+o.Pin.Tag()):
			commit, err := repo.Line(ctx, "rev-parse", o.Pin.Tag()+"^{commit}")
			if err != nil {
				return nil, err
			}
			logf("%s already materialized at %s (baseline %.12s); --force rebuilds it", o.Pin, dest, commit)
			return &Result{Dir: dest, Pin: o.Pin, Commit: commit, Reused: true}, nil
		case have != "":
			return nil, fmt.Errorf("%s holds %s %s, not %s: rebuild it with --force (its branches are lost; run `series refresh` first to keep your commits) or use another directory", dest, pin.KubernetesModule, have, o.Pin.Kubernetes)
		case repo.IsRepo(ctx) && repo.HasRef(ctx, "refs/tags/"+o.Pin.Tag()):
			// A kubernetes/kubernetes checkout (KK_TREE): use it as it is.
			commit, err := repo.Line(ctx, "rev-parse", o.Pin.Tag()+"^{commit}")
			if err != nil {
				return nil, err
			}
			logf("%s is a k/k checkout with tag %s (%.12s); using it as the tree", dest, o.Pin.Tag(), commit)
			return &Result{Dir: dest, Pin: o.Pin, Commit: commit, Reused: true}, nil
		default:
			return nil, fmt.Errorf("%s exists but is neither a tree made by this tool nor a k/k checkout with tag %s: remove it or choose another directory", dest, o.Pin.Tag())
		}
	}

	start := time.Now()
	logf("downloading %s into the module cache", o.Pin)
	root, err := download(ctx, pin.KubernetesModule+"@"+o.Pin.Kubernetes)
	if err != nil {
		return nil, err
	}
	if root[0].Error != "" {
		return nil, fmt.Errorf("downloading %s: %s", o.Pin, root[0].Error)
	}
	staging, err := stagingModules(filepath.Join(root[0].Dir, "go.mod"))
	if err != nil {
		return nil, err
	}
	reqs := make([]string, len(staging))
	for i, m := range staging {
		reqs[i] = m + "@" + o.Pin.Staging()
	}
	logf("downloading %d staging modules at %s", len(staging), o.Pin.Staging())
	mods, err := download(ctx, reqs...)
	if err != nil {
		return nil, err
	}

	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dest), "."+filepath.Base(dest)+".tmp-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp) // a no-op once renamed into place

	res := &Result{Dir: dest, Pin: o.Pin}
	logf("copying %s", root[0].Dir)
	n, err := copyTree(root[0].Dir, tmp)
	if err != nil {
		return nil, err
	}
	res.Files += n
	for _, m := range mods {
		if m.Error != "" {
			res.Missing = append(res.Missing, m.Path)
			logf("warning: %s@%s is not served by the module proxy; staging/src/%s stays absent (%s)", m.Path, m.Version, m.Path, firstLine(m.Error))
			continue
		}
		n, err := copyTree(m.Dir, filepath.Join(tmp, "staging", "src", m.Path))
		if err != nil {
			return nil, err
		}
		res.Files += n
	}
	logf("copied %d files in %s; committing the baseline", res.Files, time.Since(start).Round(time.Millisecond))

	if res.Commit, err = commitBaseline(ctx, tmp, o.Pin, res.Missing); err != nil {
		return nil, err
	}
	if o.Force {
		if err := os.RemoveAll(dest); err != nil {
			return nil, err
		}
	}
	if err := os.Rename(tmp, dest); err != nil {
		return nil, err
	}
	logf("%s materialized at %s in %s (baseline %.12s, tag %s)", o.Pin, dest, time.Since(start).Round(time.Millisecond), res.Commit, o.Pin.Tag())
	return res, nil
}

func commitBaseline(ctx context.Context, dir string, p pin.Pin, missing []string) (string, error) {
	repo := gitx.Repo{Dir: dir, Env: []string{
		"GIT_AUTHOR_NAME=Kubernetes Release", "GIT_AUTHOR_EMAIL=release@k8s.io", "GIT_AUTHOR_DATE=" + baselineDate,
		"GIT_COMMITTER_NAME=Kubernetes Release", "GIT_COMMITTER_EMAIL=release@k8s.io", "GIT_COMMITTER_DATE=" + baselineDate,
	}}
	msg := fmt.Sprintf("Kubernetes %s\n\nMaterialized from the Go module cache: %s and its staging modules at %s.\n",
		p.Kubernetes, p, p.Staging())
	if len(missing) > 0 {
		msg += "\nNot served by the module proxy, absent from staging/src: " + strings.Join(missing, ", ") + ".\n"
	}
	steps := [][]string{
		{"init", "--quiet", "--initial-branch=main"},
		{"config", PinConfigKey, p.Kubernetes},
		// Files upstream tracks despite its own .gitignore patterns must
		// be tracked here too, hence -f.
		{"add", "--all", "--force", "."},
		{"commit", "--quiet", "--no-verify", "-m", msg},
		{"tag", p.Tag()},
	}
	for _, args := range steps {
		if _, err := repo.Run(ctx, args...); err != nil {
			return "", err
		}
	}
	return repo.Line(ctx, "rev-parse", "HEAD")
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
