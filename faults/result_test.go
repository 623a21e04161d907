package faults

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSaveLoadMarkdown(t *testing.T) {
	dir := t.TempDir()
	in := []Result{
		{Area: "security", Fault: "anonymous | everywhere", Status: Pass, Did: "401\non all", Test: "TestB/x"},
		{Area: "data dir", Fault: "lock", Backend: "etcd", Status: Fail, Did: "hung on " + filepath.Join(os.TempDir(), "TestLock123", "001") + "/etcd", Numbers: map[string]float64{"exit after s": 10, "ratio": 0.125}, Test: "TestA"},
		{Area: "bad requests", Fault: "patch", Status: Upstream, Did: "422", Upstream: "patch.go:425", Test: "TestC"},
	}
	for _, r := range in {
		require.NoError(t, Save(dir, r))
	}
	got, err := Load(dir)
	require.NoError(t, err)
	require.Len(t, got, 3)
	assert.Equal(t, []string{"data dir", "bad requests", "security"}, []string{got[0].Area, got[1].Area, got[2].Area}, "sorted by Areas")
	assert.Equal(t, map[Status]int{Pass: 1, Fail: 1, Upstream: 1}, Counts(got))

	md := Markdown(got, "header\n")
	assert.Contains(t, md, "3 cases: 1 pass, 1 fail, 0 skip, 1 known upstream shortfalls.")
	assert.Contains(t, md, "| lock | etcd | fail | hung on <tmp>/etcd | exit after s 10, ratio 0.12 |", "temporary dirs named <tmp>")
	assert.Contains(t, md, `| anonymous \| everywhere | - | pass | 401 on all |  |`, "pipes escaped, lines joined")
	assert.Contains(t, md, "| 422. Upstream: patch.go:425 |")
}
