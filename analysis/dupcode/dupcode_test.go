package dupcode

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/tools/txtar"
)

// writeTree writes the files of a txtar archive (all but "want") under a
// new directory and returns it with the archive's "want" lines: one
// "A-range B-range" per expected finding.
func writeTree(t *testing.T, archive string) (dir string, want []string) {
	t.Helper()
	ar, err := txtar.ParseFile(archive)
	require.NoError(t, err)
	dir = t.TempDir()
	for _, f := range ar.Files {
		if f.Name == "want" {
			want = append(want, strings.Fields(strings.ReplaceAll(string(f.Data), " and ", " "))...)
			continue
		}
		p := filepath.Join(dir, filepath.FromSlash(f.Name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, f.Data, 0o644))
	}
	return dir, want
}

func ranges(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.A.String(), f.B.String())
	}
	return out
}

func TestScan(t *testing.T) {
	for _, tc := range []struct {
		archive string
		why     string
	}{
		{"renamed.txtar", "renamed identifiers, strings and numbers, added comments and blank lines"},
		{"unrelated.txtar", "different code sharing idioms and import blocks"},
		{"tables.txtar", "tables and field lists of one row shape"},
		{"samefile.txtar", "a block pasted twice in one file"},
		{"short.txtar", "a same-shape run under MinTokens"},
		{"skipped.txtar", "copies only in tests, testdata, _output, nested modules, generated files"},
	} {
		t.Run(strings.TrimSuffix(tc.archive, ".txtar"), func(t *testing.T) {
			dir, want := writeTree(t, filepath.Join("testdata", tc.archive))
			got, err := Scan(dir, DefaultOptions)
			require.NoError(t, err)
			assert.Empty(t, cmp.Diff(want, ranges(got)), "%s (-want +got)", tc.why)
		})
	}
}

func TestFindCountsShapedLinesAndTokens(t *testing.T) {
	dir, _ := writeTree(t, filepath.Join("testdata", "renamed.txtar"))
	got, err := Scan(dir, DefaultOptions)
	require.NoError(t, err)
	require.Len(t, got, 1)
	// The comment and blank lines are inside the ranges but not counted; the
	// run goes on into the header of the next function, which has the same
	// shape too.
	assert.Equal(t, 13, got[0].Lines)
	assert.Equal(t, "a/median.go:6-20 and b/stats.go:8-22: 13 lines (81 tokens) of the same shape", got[0].String())
}

func TestFindThresholds(t *testing.T) {
	dir, _ := writeTree(t, filepath.Join("testdata", "short.txtar"))
	// The idiom under MinTokens is found once the token threshold is off.
	got, err := Scan(dir, Options{MinLines: 6})
	require.NoError(t, err)
	assert.Empty(t, cmp.Diff([]string{"a/a.go:3-14", "b/b.go:3-14"}, ranges(got)))

	_, err = Find(nil, Options{})
	assert.ErrorContains(t, err, "MinLines")
}

func TestFindParseError(t *testing.T) {
	_, err := Find([]File{{Name: "bad.go", Src: []byte("package a\nfunc {")}}, DefaultOptions)
	assert.ErrorContains(t, err, "bad.go:2")
}

func TestAllowList(t *testing.T) {
	l, err := ParseAllowList("allow.txt", []byte(`# reviewed repeats
server/compat_*.go server/compat_*.go build-tag alternates of the same functions

cmd/x/a.go cmd/x/a.go gone since
`))
	require.NoError(t, err)
	findings := []Finding{
		{A: Range{"server/compat_patched.go", 1, 9}, B: Range{"server/compat_upstream.go", 1, 9}},
		{A: Range{"cmd/y/b.go", 1, 9}, B: Range{"server/compat_upstream.go", 1, 9}},
	}
	kept, unused := l.Filter(findings)
	assert.Empty(t, cmp.Diff(findings[1:], kept))
	assert.Empty(t, cmp.Diff([]AllowEntry{{A: "cmd/x/a.go", B: "cmd/x/a.go", Reason: "gone since", Source: "allow.txt:4"}}, unused))

	// Either order of the pair.
	l, err = ParseAllowList("allow.txt", []byte("server/compat_upstream.go cmd/y/b.go shared shape\n"))
	require.NoError(t, err)
	kept, unused = l.Filter(findings[1:])
	assert.Empty(t, kept)
	assert.Empty(t, unused)

	var none *AllowList
	kept, unused = none.Filter(findings)
	assert.Len(t, kept, 2)
	assert.Empty(t, unused)
}

func TestAllowListErrors(t *testing.T) {
	for name, text := range map[string]string{
		"no reason":   "a.go b.go\n",
		"bad pattern": "a[.go b.go because\n",
	} {
		_, err := ParseAllowList("allow.txt", []byte(text))
		assert.ErrorContains(t, err, "allow.txt:1", name)
	}
	_, err := LoadAllowList(filepath.Join(t.TempDir(), "missing.txt"))
	assert.Error(t, err)
}
