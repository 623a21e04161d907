package series

import (
	"context"
	"fmt"
	"strings"
)

// NewCommit starts a carry commit on Branch: it commits what is staged, or
// an empty commit to amend later, with the subject
// "UPSTREAM: <carry>: TITLE" (or "UPSTREAM: <pr>: TITLE" for a backport).
func (s *Series) NewCommit(ctx context.Context, title string, pr int) (string, error) {
	title = strings.TrimSpace(title)
	if title == "" {
		return "", fmt.Errorf("a title is required, e.g. `series new \"controlplane: move generic resource defaults\"`")
	}
	subject := title
	if !SubjectRE.MatchString(title) {
		tag := "<carry>"
		if pr > 0 {
			tag = fmt.Sprint(pr)
		}
		subject = fmt.Sprintf("UPSTREAM: %s: %s", tag, title)
	}
	r := s.repo()
	// Authors are people: use theirs when git knows them.
	if name, _ := r.Line(ctx, "config", "user.name"); name == "" {
		r.Env = append(r.Env, "GIT_AUTHOR_NAME=series", "GIT_AUTHOR_EMAIL=series@localhost")
	}
	branch, err := r.Line(ctx, "symbolic-ref", "--quiet", "--short", "HEAD")
	if err != nil || branch != Branch {
		return "", fmt.Errorf("%s is not on branch %s: run `series apply` first", s.Tree, Branch)
	}
	args := []string{"commit", "--quiet", "--no-verify", "-m", subject}
	if staged, err := r.Line(ctx, "diff", "--cached", "--name-only"); err != nil {
		return "", err
	} else if staged == "" {
		args = append(args, "--allow-empty")
		s.logf("nothing staged: made an empty commit; edit the tree, then `git commit --amend -a` and `series refresh`")
	}
	if _, err := r.Run(ctx, args...); err != nil {
		return "", err
	}
	return subject, nil
}
