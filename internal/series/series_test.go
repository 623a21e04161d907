package series

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/generic-controlplane/gcp/internal/gitx"
)

const boilerplate = `/*
Copyright YEAR The Kubernetes Authors.

Licensed under the Apache License, Version 2.0 (the "License");
*/
`

const header = `/*
Copyright 2026 The Kubernetes Authors.

Licensed under the Apache License, Version 2.0 (the "License");
*/

`

const aGo = header + `package a

func One() int { return 1 }

func Two() int { return 2 }

func Three() int { return 3 }
`

// fixture is a small upstream-like repository tagged v1.0.0, a patches
// folder, and a Series over them.
type fixture struct {
	t    *testing.T
	repo gitx.Repo
	s    *Series
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	root := t.TempDir()
	f := &fixture{t: t, repo: gitx.Repo{Dir: filepath.Join(root, "tree"), Env: []string{
		"GIT_AUTHOR_NAME=Dev", "GIT_AUTHOR_EMAIL=dev@example.com", "GIT_AUTHOR_DATE=2026-01-02T03:04:05Z",
		"GIT_COMMITTER_NAME=Dev", "GIT_COMMITTER_EMAIL=dev@example.com", "GIT_COMMITTER_DATE=2026-01-02T03:04:05Z",
	}}}
	f.s = &Series{Dir: filepath.Join(root, "patches"), Tree: f.repo.Dir, Base: "v1.0.0"}
	require.NoError(t, os.MkdirAll(f.s.Dir, 0o755))
	f.write("hack/boilerplate/boilerplate.go.txt", boilerplate)
	f.write("pkg/a/a.go", aGo)
	f.write("README.md", "upstream\n")
	f.git("init", "--quiet")
	f.git("add", "-A")
	f.git("commit", "--quiet", "-m", "upstream v1.0.0")
	f.git("tag", "v1.0.0")
	f.git("checkout", "--quiet", "-b", Branch)
	require.NoError(t, os.WriteFile(filepath.Join(f.s.Dir, FileName), []byte("# test series\n"), 0o644))
	return f
}

func (f *fixture) write(rel, content string) {
	f.t.Helper()
	p := filepath.Join(f.repo.Dir, rel)
	require.NoError(f.t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(f.t, os.WriteFile(p, []byte(content), 0o644))
}

func (f *fixture) git(args ...string) string {
	f.t.Helper()
	out, err := f.repo.Line(context.Background(), args...)
	require.NoError(f.t, err)
	return out
}

func (f *fixture) commit(subject string, files map[string]string) {
	f.t.Helper()
	for rel, content := range files {
		f.write(rel, content)
	}
	f.git("add", "-A")
	f.git("commit", "--quiet", "-m", subject+"\n\nWhy: because a test says so.")
}

// twoPatches commits two carry patches on the series branch and exports them.
func (f *fixture) twoPatches() {
	f.t.Helper()
	f.commit("UPSTREAM: <carry>: a: return 10", map[string]string{"pkg/a/a.go": strings.Replace(aGo, "return 1 }", "return 10 }", 1)})
	f.commit("UPSTREAM: <carry>: b: add package b", map[string]string{
		"pkg/a/a.go": strings.Replace(strings.Replace(aGo, "return 1 }", "return 10 }", 1), "return 3 }", "return 30 }", 1),
		"pkg/b/b.go": header + "package b\n",
	})
	_, err := f.s.Refresh(context.Background())
	require.NoError(f.t, err)
}

func (f *fixture) readPatches() map[string]string {
	f.t.Helper()
	out := map[string]string{}
	entries, err := os.ReadDir(f.s.Dir)
	require.NoError(f.t, err)
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(f.s.Dir, e.Name()))
		require.NoError(f.t, err)
		out[e.Name()] = string(data)
	}
	return out
}

func TestRefreshApplyRoundTrip(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.twoPatches()
	wantTree := f.git("rev-parse", Branch+"^{tree}")

	names, err := f.s.Patches()
	require.NoError(t, err)
	assert.Equal(t, []string{"0001-UPSTREAM-carry-a-return-10.patch", "0002-UPSTREAM-carry-b-add-package-b.patch"}, names)
	first := f.readPatches()
	assert.NotContains(t, first[names[0]], "[PATCH 1/2]", "numbered subjects churn when a patch is added")
	assert.True(t, strings.HasPrefix(first[names[0]], "From 0000000000000000000000000000000000000000 "), "the From line must not carry a commit hash")

	n, err := f.s.Apply(ctx, ApplyOptions{})
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	assert.Equal(t, wantTree, f.git("rev-parse", "HEAD^{tree}"), "applying the export must rebuild the same tree")
	head := f.git("rev-parse", "HEAD")

	// Same series, same base: same commits, on any machine.
	_, err = f.s.Apply(ctx, ApplyOptions{})
	require.NoError(t, err)
	assert.Equal(t, head, f.git("rev-parse", "HEAD"))

	// Refresh from the applied commits changes no byte, even with a narrow
	// terminal.
	t.Setenv("COLUMNS", "40")
	res, err := f.s.Refresh(ctx)
	require.NoError(t, err)
	assert.False(t, res.Changed(), "written %v removed %v", res.Written, res.Removed)
	assert.Equal(t, first, f.readPatches())

	// Apply N stops after N.
	_, err = f.s.Apply(ctx, ApplyOptions{N: 1})
	require.NoError(t, err)
	assert.Equal(t, "UPSTREAM: <carry>: a: return 10", f.git("log", "-1", "--format=%s"))
}

func TestApplyFailingHunkLeavesLastGoodPatch(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.twoPatches()
	names, err := f.s.Patches()
	require.NoError(t, err)

	// Break the context of the second patch's a.go hunk.
	p := filepath.Join(f.s.Dir, names[1])
	data, err := os.ReadFile(p)
	require.NoError(t, err)
	broken := strings.Replace(string(data), " func Two() int { return 2 }", " func Two() int { return 22 }", 1)
	require.NotEqual(t, string(data), broken, "the fixture patch must carry that context line")
	require.NoError(t, os.WriteFile(p, []byte(broken), 0o644))

	n, err := f.s.Apply(ctx, ApplyOptions{})
	require.Error(t, err)
	assert.Equal(t, 1, n)
	var fail *Failure
	require.ErrorAs(t, err, &fail)
	assert.Equal(t, 2, fail.Index)
	assert.Equal(t, names[1], fail.Patch)
	assert.Equal(t, "pkg/a/a.go", fail.File)
	assert.Contains(t, fail.Hunk, "@@ -")
	assert.Contains(t, fail.Hunk, "return 22")
	assert.Contains(t, err.Error(), names[1])
	assert.Contains(t, err.Error(), "pkg/a/a.go")

	// The tree is at patch 1, with no am in flight and nothing half-applied.
	assert.Equal(t, "UPSTREAM: <carry>: a: return 10", f.git("log", "-1", "--format=%s"))
	assert.False(t, f.repo.AmInProgress(ctx))
	dirty, err := f.repo.Dirty(ctx)
	require.NoError(t, err)
	assert.Empty(t, dirty)
	_, err = os.Stat(filepath.Join(f.repo.Dir, "pkg/b/b.go"))
	assert.True(t, os.IsNotExist(err), "pkg/b/b.go belongs to the failed patch")
}

func TestApplyRefusesDirtyTree(t *testing.T) {
	f := newFixture(t)
	f.twoPatches()
	f.write("README.md", "local edit\n")
	_, err := f.s.Apply(context.Background(), ApplyOptions{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "uncommitted changes")
	assert.Equal(t, "local edit\n", mustRead(t, filepath.Join(f.repo.Dir, "README.md")), "a refused apply must not touch the tree")

	_, err = f.s.Apply(context.Background(), ApplyOptions{Force: true})
	require.NoError(t, err)
	assert.Equal(t, "upstream\n", mustRead(t, filepath.Join(f.repo.Dir, "README.md")))
}

func TestCheck(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.twoPatches()
	problems, err := f.s.Check(ctx)
	require.NoError(t, err)
	assert.Empty(t, problems)
	// Check must not move the branch or touch the work tree.
	f.write("README.md", "upstream\n")

	f.commit("a: no upstream prefix", map[string]string{"pkg/a/a.go": strings.Replace(aGo, "return 2 }", "return  2 }", 1)})
	f.commit("UPSTREAM: <carry>: c: add c without a header", map[string]string{"pkg/c/c.go": "package c\n"})
	_, err = f.s.Refresh(ctx)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(f.s.Dir, "9999-stray.patch"), []byte("x"), 0o644))

	problems, err = f.s.Check(ctx)
	require.NoError(t, err)
	var got []string
	for _, p := range problems {
		got = append(got, p.String())
	}
	joined := strings.Join(got, "\n")
	assert.Contains(t, joined, `subject "a: no upstream prefix"`)
	assert.Contains(t, joined, "pkg/a/a.go: not gofmt-clean")
	assert.Contains(t, joined, "pkg/c/c.go: new Go file lacks the license header")
	assert.Contains(t, joined, "9999-stray.patch: in ")
	assert.Len(t, problems, 4, joined)
}

func TestCheckReportsPatchThatDoesNotApply(t *testing.T) {
	f := newFixture(t)
	f.twoPatches()
	names, _ := f.s.Patches()
	p := filepath.Join(f.s.Dir, names[0])
	data, err := os.ReadFile(p)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(p, []byte(strings.Replace(string(data), " func Two() int { return 2 }", " func Two() int { return 22 }", 1)), 0o644))

	problems, err := f.s.Check(context.Background())
	require.NoError(t, err)
	require.Len(t, problems, 2)
	assert.Equal(t, names[0], problems[0].Patch)
	assert.Equal(t, "pkg/a/a.go", problems[0].File)
	assert.Contains(t, problems[0].Message, "does not apply")
	assert.Contains(t, problems[1].Message, "the 1 patches after")
}

func TestRebase(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.commit("UPSTREAM: <carry>: a: return 10", map[string]string{"pkg/a/a.go": strings.Replace(aGo, "return 1 }", "return 10 }", 1)})
	f.commit("UPSTREAM: <carry>: a: return 20", map[string]string{"pkg/a/a.go": strings.Replace(strings.Replace(aGo, "return 1 }", "return 10 }", 1), "return 2 }", "return 20 }", 1)})
	f.commit("UPSTREAM: <carry>: readme: say carried", map[string]string{"README.md": "upstream\ncarried\n"})
	_, err := f.s.Refresh(ctx)
	require.NoError(t, err)

	// Upstream v1.1.0 merged patch 1 and changed the line patch 2 touches.
	f.git("checkout", "--quiet", "-b", "upstream", "v1.0.0")
	f.commit("upstream: return 10 and 200", map[string]string{"pkg/a/a.go": strings.Replace(strings.Replace(aGo, "return 1 }", "return 10 }", 1), "return 2 }", "return 200 }", 1)})
	f.git("tag", "v1.1.0")

	s := *f.s
	s.Base = "v1.1.0"
	steps, err := s.Rebase(ctx, "")
	require.NoError(t, err)
	require.Len(t, steps, 3)
	assert.Equal(t, Empty, steps[0].Outcome, "%+v", steps[0])
	assert.Equal(t, Conflicted, steps[1].Outcome, "%+v", steps[1])
	assert.Equal(t, []string{"pkg/a/a.go"}, steps[1].Files)
	assert.Equal(t, Clean, steps[2].Outcome, "%+v", steps[2])

	assert.Equal(t, "UPSTREAM: <carry>: readme: say carried", f.git("log", "-1", "--format=%s"))
	assert.Equal(t, "2", f.git("rev-list", "--count", "v1.1.0..HEAD"), "the empty patch is dropped")
	assert.Contains(t, mustRead(t, filepath.Join(f.repo.Dir, "pkg/a/a.go")), "<<<<<<<", "conflicts are committed with markers to resolve in place")
}

func TestNewCommit(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	subject, err := f.s.NewCommit(ctx, "controlplane: do a thing", 0)
	require.NoError(t, err)
	assert.Equal(t, "UPSTREAM: <carry>: controlplane: do a thing", subject)
	assert.Equal(t, subject, f.git("log", "-1", "--format=%s"))

	f.write("README.md", "changed\n")
	f.git("add", "README.md")
	subject, err = f.s.NewCommit(ctx, "backport a fix", 12345)
	require.NoError(t, err)
	assert.Equal(t, "UPSTREAM: 12345: backport a fix", subject)
	assert.Equal(t, "README.md", f.git("show", "--name-only", "--format=", "HEAD"))

	_, err = f.s.NewCommit(ctx, "  ", 0)
	assert.Error(t, err)
}

func TestSubjectRE(t *testing.T) {
	for s, ok := range map[string]bool{
		"UPSTREAM: <carry>: controlplane: x": true,
		"UPSTREAM: <drop>: generated":        true,
		"UPSTREAM: 123456: backport":         true,
		"UPSTREAM: <carry>:x":                false,
		"controlplane: x":                    false,
		"UPSTREAM: <carry>: ":                false,
	} {
		assert.Equal(t, ok, SubjectRE.MatchString(s), s)
	}
}

func mustRead(t *testing.T, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	require.NoError(t, err)
	return string(data)
}

func TestMain(m *testing.M) {
	if _, err := exec.LookPath("git"); err != nil {
		panic("these tests need git on PATH")
	}
	os.Exit(m.Run())
}
