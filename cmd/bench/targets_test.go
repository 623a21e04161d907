package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/generic-controlplane/gcp/analysis/testtree"
)

func TestCheckGoals(t *testing.T) {
	results := []result{
		{Binary: goalReference, StrippedMiB: 100, Runs: []run{{}}, Median: run{ReadySeconds: 3, RSSReadyMiB: 200}},
		{Binary: "example-crdonly", StrippedMiB: 62, Runs: []run{{}}, Median: run{ReadySeconds: 0.4, RSSReadyMiB: 60, RSSFileReadyMiB: 30}},
		{Binary: "minimal-sample-series", StrippedMiB: 50, Runs: []run{{}}, Median: run{ReadySeconds: 1.5, RSSReadyMiB: 60, EtcdRSSReadyMiB: 20}},
		{Binary: "minimal-apiserver-series", StrippedMiB: 50, Error: "did not start"},
	}
	got := checkGoals(context.Background(), results, nil, nil)
	require.Len(t, got, 2, "a server that never ran has no verdict")
	assert.Equal(t, -1, got[0].KubePackages, "imports not loaded without -explain")

	crd := got[1]
	assert.Equal(t, "example-crdonly", crd.Subject)
	assert.InDelta(t, 0.62, crd.SizeRatio, 1e-9)
	assert.InDelta(t, 0.30, crd.RSSRatio, 1e-9)
	generic := got[0]
	assert.InDelta(t, 0.40, generic.RSSRatio, 1e-9, "a separate etcd counts with the server")

	var sb strings.Builder
	writeGoals(&sb, got)
	md := sb.String()
	assert.Contains(t, md, "| not loaded | 0.62 (<= 0.40: **missed** by 0.22) | 0.40 (<= 0.50: met) | 0.30 (<= 0.35: met); 50% of its RSS file-backed |")
	assert.Contains(t, md, "| 0.50 (<= 0.55: met) | 1.50 (<= 1.00: **missed** by 0.50) | 0.40 (<= 0.35: **missed** by 0.05) |")

	assert.Nil(t, checkGoals(context.Background(), results[1:], nil, nil), "no reference, no verdicts")
}

// TestInspect inspects a real binary built from a synthetic tree.
func TestInspect(t *testing.T) {
	dir := testtree.Extract(t, "base")
	bin := filepath.Join(t.TempDir(), "server")
	build := exec.Command("go", "build", "-o", bin, "./cmd/server")
	build.Dir, build.Env = dir, append(build.Environ(), testtree.Env...)
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	e := explanation{binary: bin, dir: dir, root: "./cmd/server", env: testtree.Env}
	why := []string{"k8s.io/kubernetes/pkg/kubelet/client", "example.com/absent"}

	met := goalResult{SizeRatio: 0.3, MaxSize: 0.4}
	require.NoError(t, met.inspect(context.Background(), e, why))
	assert.Equal(t, 5, met.KubePackages, "the command and the k/k packages it links, from the synthetic tree's go list")
	assert.Nil(t, met.Cause, "a met size target needs no cause")

	missed := goalResult{SizeRatio: 0.5, MaxSize: 0.4}
	require.NoError(t, missed.inspect(context.Background(), e, why))
	c := missed.Cause
	require.NotNil(t, c)
	modules := map[string]int64{}
	for _, m := range c.Modules {
		modules[m.Module] = m.Bytes
	}
	assert.Positive(t, modules["std"])
	assert.Positive(t, modules["k8s.io/kubernetes"], "the command's own main.* symbols and the packages it links")
	assert.Equal(t, []string{"k8s.io/kubernetes/cmd/server", "k8s.io/kubernetes/pkg/controlplane", "k8s.io/kubernetes/pkg/registry/core/pod", "k8s.io/kubernetes/pkg/kubelet/client"},
		c.Chains["k8s.io/kubernetes/pkg/kubelet/client"])
	assert.Contains(t, c.Chains["example.com/absent"][0], "does not import")

	var sb strings.Builder
	missed.Subject, missed.Label = "server", "a server"
	writeGoals(&sb, []goalResult{missed})
	assert.Contains(t, sb.String(), "| a server | 5 |")
	assert.Contains(t, sb.String(), "### Why server misses its size target")
	assert.Contains(t, sb.String(), "- `k8s.io/kubernetes/pkg/kubelet/client`: k8s.io/kubernetes/cmd/server → k8s.io/kubernetes/pkg/controlplane →")

	unreadable := goalResult{SizeRatio: 0.5, MaxSize: 0.4}
	e.binary = filepath.Join(dir, "go.mod")
	assert.ErrorContains(t, unreadable.inspect(context.Background(), e, why), "only ELF binaries")
	e.root = "./cmd/absent"
	assert.ErrorContains(t, unreadable.inspect(context.Background(), e, why), "loading the imports of ./cmd/absent")
}

func TestExplainFlag(t *testing.T) {
	f := explainFlag{}
	require.NoError(t, f.Set("example-crdonly=.,./cmd/examples/crdonly"))
	require.NoError(t, f.Set("minimal-sample-series=_output/kk,./pkg/x,_output/syms/minimal"))
	assert.Equal(t, explanation{dir: ".", root: "./cmd/examples/crdonly"}, f["example-crdonly"])
	assert.Equal(t, explanation{dir: "_output/kk", root: "./pkg/x", binary: "_output/syms/minimal"}, f["minimal-sample-series"])
	require.NoError(t, f.Set("minimal-apiserver-series=.,./cmd/minimal-apiserver,,-mod=mod -modfile=_output/tree.mod -tags=gcp_patched"))
	assert.Equal(t, explanation{dir: ".", root: "./cmd/minimal-apiserver", env: []string{"GOWORK=off", "GOFLAGS=-mod=mod -modfile=_output/tree.mod -tags=gcp_patched"}}, f["minimal-apiserver-series"])
	for _, bad := range []string{"x", "x=.", "=.,./r", "x=,./r", "x=.,./r,b,c,d"} {
		assert.Error(t, f.Set(bad), bad)
	}
}
