// Package gitx runs git in a repository with a fixed configuration, so that
// what the series tooling writes (commits, patches) does not depend on the
// user's ~/.gitconfig.
package gitx

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// stableConfig pins every setting that changes the bytes of format-patch
// output or the behaviour of am. A user's diff.algorithm, core.abbrev or
// format.signature would otherwise churn the patch files.
var stableConfig = []string{
	"-c", "core.abbrev=12",
	"-c", "core.autocrlf=false",
	"-c", "core.quotepath=true",
	"-c", "diff.algorithm=myers",
	"-c", "diff.renames=true",
	"-c", "diff.noprefix=false",
	"-c", "diff.mnemonicprefix=false",
	"-c", "format.signature=",
	"-c", "format.numbered=false",
	"-c", "am.threeWay=false",
	"-c", "am.keepcr=false",
	"-c", "apply.whitespace=nowarn",
	"-c", "commit.gpgsign=false",
	"-c", "tag.gpgsign=false",
	"-c", "init.defaultBranch=main",
	"-c", "advice.detachedHead=false",
	"-c", "gc.auto=0",
}

// Repo is a git work tree.
type Repo struct {
	Dir string
	// Env is appended to the process environment of every git call.
	Env []string
}

// Error is a failed git command with what it printed.
type Error struct {
	Args   []string
	Stdout string
	Stderr string
	Err    error
}

func (e *Error) Error() string {
	msg := strings.TrimSpace(e.Stderr)
	if msg == "" {
		msg = strings.TrimSpace(e.Stdout)
	}
	return fmt.Sprintf("git %s: %v: %s", strings.Join(e.Args, " "), e.Err, msg)
}

// Run runs git with args and returns its standard output.
func (r Repo) Run(ctx context.Context, args ...string) (string, error) {
	return r.RunInput(ctx, nil, args...)
}

// RunInput is Run with data on standard input.
func (r Repo) RunInput(ctx context.Context, stdin []byte, args ...string) (string, error) {
	full := append(append([]string{}, stableConfig...), args...)
	cmd := exec.CommandContext(ctx, "git", full...)
	cmd.Dir = r.Dir
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "LC_ALL=C")
	cmd.Env = append(cmd.Env, r.Env...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), &Error{Args: args, Stdout: stdout.String(), Stderr: stderr.String(), Err: err}
	}
	return stdout.String(), nil
}

// Line runs git and returns its output with surrounding space trimmed.
func (r Repo) Line(ctx context.Context, args ...string) (string, error) {
	out, err := r.Run(ctx, args...)
	return strings.TrimSpace(out), err
}

// IsRepo reports whether Dir is the top of a git work tree.
func (r Repo) IsRepo(ctx context.Context) bool {
	top, err := r.Line(ctx, "rev-parse", "--show-toplevel")
	if err != nil {
		return false
	}
	a, errA := os.Stat(top)
	b, errB := os.Stat(r.Dir)
	return errA == nil && errB == nil && os.SameFile(a, b)
}

// HasRef reports whether ref resolves to a commit.
func (r Repo) HasRef(ctx context.Context, ref string) bool {
	_, err := r.Run(ctx, "rev-parse", "--verify", "--quiet", ref+"^{commit}")
	return err == nil
}

// Dirty returns `git status --porcelain` output for tracked and untracked
// files, empty when the work tree is clean.
func (r Repo) Dirty(ctx context.Context) (string, error) {
	return r.Line(ctx, "status", "--porcelain", "--untracked-files=normal")
}

// AmInProgress reports whether a git am session is waiting to be resolved.
func (r Repo) AmInProgress(ctx context.Context) bool {
	dir, err := r.Line(ctx, "rev-parse", "--git-path", "rebase-apply")
	if err != nil {
		return false
	}
	if !strings.HasPrefix(dir, "/") {
		dir = r.Dir + "/" + dir
	}
	_, err = os.Stat(dir)
	return err == nil
}
