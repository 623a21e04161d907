package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/generic-controlplane/gcp/analysis/depgraph"
	"github.com/generic-controlplane/gcp/analysis/testtree"
)

const generic = "./pkg/controlplane/samples/generic"

// depgraphCmd runs the command in-process and returns exit code and output.
func depgraphCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	// The synthetic trees resolve everything through directory replaces;
	// make sure nothing falls back to the network.
	t.Setenv("GOPROXY", "off")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestUsage(t *testing.T) {
	code, _, stderr := depgraphCmd(t)
	assert.Equal(t, exitError, code)
	assert.Contains(t, stderr, "usage: depgraph COMMAND")
	code, _, stderr = depgraphCmd(t, "frobnicate")
	assert.Equal(t, exitError, code)
	assert.Contains(t, stderr, `unknown command "frobnicate"`)
	code, _, stderr = depgraphCmd(t, "stats", "-h")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, stderr, "-dir")
	code, _, stderr = depgraphCmd(t, "stats", "--bogus")
	assert.Equal(t, exitError, code)
	assert.Contains(t, stderr, "flag provided but not defined")
}

func TestStats(t *testing.T) {
	dir := testtree.Extract(t, "base")
	// Flags after the root work too.
	code, stdout, stderr := depgraphCmd(t, "stats", generic, "--dir", dir)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "kubernetes packages: 5\n")
	assert.Contains(t, stdout, "roots: k8s.io/kubernetes/pkg/controlplane/samples/generic\n")
	assert.Regexp(t, `staging/k8s.io/apiserver\s+1\s+0\s+0\s+1\s+1\s+1`, stdout)
	assert.Contains(t, stdout, "cluster-specific: 2 packages")

	code, stdout, stderr = depgraphCmd(t, "stats", "--dir", dir, "--json", generic)
	require.Equal(t, exitOK, code, stderr)
	var s depgraph.Stats
	require.NoError(t, json.Unmarshal([]byte(stdout), &s))
	assert.Equal(t, 5, s.HeadlinePackages)
	assert.Equal(t, "kubernetes", s.Headline)

	code, stdout, stderr = depgraphCmd(t, "stats", "--dir", dir, "./pkg/controlplane")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "kubernetes packages: 4\n")
	code, stdout, stderr = depgraphCmd(t, "stats", "--dir", dir, "--tests", "./pkg/controlplane")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "kubernetes packages: 5\n", "pkg/testonly comes in with --tests")
	assert.Contains(t, stdout, "(test-only imports included)")
}

func TestStatsSize(t *testing.T) {
	dir := testtree.Extract(t, "base")
	bin := filepath.Join(t.TempDir(), "server")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/server")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), testtree.Env...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))

	code, stdout, stderr := depgraphCmd(t, "stats", "--dir", dir, "--size", bin, "--json", "./cmd/server")
	require.Equal(t, exitOK, code, stderr)
	var s depgraph.Stats
	require.NoError(t, json.Unmarshal([]byte(stdout), &s))
	require.NotNil(t, s.Size)
	assert.Positive(t, s.Size.Total)
	bytes := map[string]int64{}
	for _, g := range s.Groups {
		bytes[g.Name] = g.Bytes
	}
	assert.Positive(t, bytes["stdlib"])
	assert.Positive(t, bytes["kubernetes"])
	assert.Greater(t, bytes["stdlib"], bytes["kubernetes"], "the runtime outweighs five tiny packages")

	code, _, stderr = depgraphCmd(t, "stats", "--dir", dir, "--size", filepath.Join(dir, "go.mod"), "./cmd/server")
	assert.Equal(t, exitError, code)
	assert.Contains(t, stderr, "only ELF")
}

func TestErrors(t *testing.T) {
	code, _, stderr := depgraphCmd(t, "stats", "--dir", t.TempDir(), "./...")
	assert.Equal(t, exitError, code)
	assert.Contains(t, stderr, "has no go.mod")

	dir := testtree.Extract(t, "base")
	code, _, stderr = depgraphCmd(t, "stats", "--dir", dir, "./cmd/nope")
	assert.Equal(t, exitError, code)
	assert.Contains(t, stderr, "go list -deps")
	assert.Contains(t, stderr, "env: GOWORK=off GOFLAGS=-mod=mod")
	assert.Contains(t, stderr, "cmd/nope")

	code, _, stderr = depgraphCmd(t, "stats", "--dir", dir)
	assert.Equal(t, exitError, code)
	assert.Contains(t, stderr, "no root packages given")

	code, _, stderr = depgraphCmd(t, "why", "--dir", dir, generic)
	assert.Equal(t, exitError, code)
	assert.Contains(t, stderr, "want a root and a package")

	code, _, stderr = depgraphCmd(t, "diff", generic)
	assert.Equal(t, exitError, code)
	assert.Contains(t, stderr, "--base and --head are required")
}

func TestWhy(t *testing.T) {
	dir := testtree.Extract(t, "base")
	code, stdout, stderr := depgraphCmd(t, "why", "--dir", dir, generic, "k8s.io/kubernetes/pkg/kubelet/client")
	require.Equal(t, exitOK, code, stderr)
	want := `k8s.io/kubernetes/pkg/controlplane/samples/generic
└─ k8s.io/kubernetes/pkg/controlplane  [pkg/controlplane/samples/generic/generic.go:3]
   └─ k8s.io/kubernetes/pkg/registry/core/pod  [pkg/controlplane/controlplane.go:5]
      └─ k8s.io/kubernetes/pkg/kubelet/client  [pkg/registry/core/pod/pod.go:6]
`
	assert.Equal(t, want, stdout)

	code, stdout, _ = depgraphCmd(t, "why", "--dir", dir, "--json", "--max", "5", generic, "k8s.io/apiserver/...")
	require.Equal(t, exitOK, code)
	var res struct{ Chains []depgraph.Chain }
	require.NoError(t, json.Unmarshal([]byte(stdout), &res))
	assert.Len(t, res.Chains, 2)

	code, _, stderr = depgraphCmd(t, "why", "--dir", dir, generic, "k8s.io/kubernetes/cmd/server")
	assert.Equal(t, exitError, code)
	assert.Contains(t, stderr, "does not import k8s.io/kubernetes/cmd/server")
}

func writeRules(t *testing.T, doc string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rules.yaml")
	require.NoError(t, os.WriteFile(path, []byte(doc), 0o644))
	return path
}

func TestCheck(t *testing.T) {
	dir := testtree.Extract(t, "base")
	ratchet := writeRules(t, `
rules:
- name: generic-no-kubelet
  from: [k8s.io/kubernetes/pkg/controlplane/samples/generic]
  forbid: [k8s.io/kubernetes/pkg/kubelet/...]
  reason: no nodes
`)
	good := writeRules(t, `
rules:
- name: generic-no-cmd
  from: [k8s.io/kubernetes/pkg/controlplane/samples/generic]
  forbid: [k8s.io/kubernetes/cmd/...]
`)
	// Without roots, the rules' exact from packages are checked.
	code, stdout, stderr := depgraphCmd(t, "check", "--dir", dir, "--rules", ratchet)
	assert.Equal(t, exitViolation, code, stderr)
	assert.Contains(t, stdout, "FAIL generic-no-kubelet (no nodes): k8s.io/kubernetes/pkg/controlplane/samples/generic reaches k8s.io/kubernetes/pkg/kubelet/client")
	assert.Contains(t, stdout, "pkg/registry/core/pod/pod.go:6")
	assert.Contains(t, stdout, "1 forbidden packages reached, 1 of 1 rules broken")

	code, stdout, stderr = depgraphCmd(t, "check", "--dir", dir, "--rules", good, generic)
	assert.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "ok   generic-no-cmd")

	head := testtree.Extract(t, "base", "head")
	code, _, stderr = depgraphCmd(t, "check", "--dir", head, "--rules", ratchet)
	assert.Equal(t, exitOK, code, "the head patch makes the ratchet pass: %s", stderr)

	code, _, stderr = depgraphCmd(t, "check", "--dir", dir, "--rules", good, "./cmd/server")
	assert.Equal(t, exitError, code)
	assert.Contains(t, stderr, "no rule in")

	code, _, stderr = depgraphCmd(t, "check", "--dir", dir, generic)
	assert.Equal(t, exitError, code)
	assert.Contains(t, stderr, "--rules is required")
}

func TestDiff(t *testing.T) {
	base := testtree.Extract(t, "base")
	head := testtree.Extract(t, "base", "head")
	code, stdout, stderr := depgraphCmd(t, "diff", "--base", base, "--head", head, generic)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "| set cluster-specific | 2 | 1 | -1 |")
	assert.Contains(t, stdout, "- `k8s.io/kubernetes/pkg/kubelet/client` (kubernetes/pkg)")
	assert.Contains(t, stdout, "added packages (1)")

	code, stdout, stderr = depgraphCmd(t, "diff", "--format", "json", "--base", base, "--head", head, generic)
	require.Equal(t, exitOK, code, stderr)
	var r depgraph.Report
	require.NoError(t, json.Unmarshal([]byte(stdout), &r))
	require.Len(t, r.Added, 1)
	assert.Equal(t, "k8s.io/kubernetes/pkg/registry/core/service", r.Added[0].Path)

	code, _, stderr = depgraphCmd(t, "diff", "--format", "xml", "--base", base, "--head", head, generic)
	assert.Equal(t, exitError, code)
	assert.Contains(t, stderr, "--format must be md or json")
}

func TestDot(t *testing.T) {
	dir := testtree.Extract(t, "base")
	code, stdout, stderr := depgraphCmd(t, "dot", "--dir", dir, "--collapse", "k8s.io/kubernetes/pkg/registry/*", "./cmd/server")
	require.Equal(t, exitOK, code, stderr)
	assert.True(t, strings.HasPrefix(stdout, "digraph depgraph {"))
	assert.Contains(t, stdout, `"k8s.io/kubernetes/pkg/registry/core" [label="k8s.io/kubernetes/pkg/registry/core\n(2 packages)"`)

	code, stdout, stderr = depgraphCmd(t, "dot", "--dir", dir, "--depth", "0", "./cmd/server")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, `"k8s.io/kubernetes" -> "k8s.io/apiserver"`)

	svg := filepath.Join(t.TempDir(), "g.svg")
	code, _, stderr = depgraphCmd(t, "dot", "--dir", dir, "--svg", svg, "./cmd/server")
	if _, err := exec.LookPath("dot"); err != nil {
		assert.Equal(t, exitError, code)
		assert.Contains(t, stderr, "apt-get install graphviz")
	} else {
		assert.Equal(t, exitOK, code, stderr)
		assert.FileExists(t, svg)
	}

	code, _, stderr = depgraphCmd(t, "dot", "--dir", dir, "--collapse", "a b", "./cmd/server")
	assert.Equal(t, exitError, code)
	assert.Contains(t, stderr, "--collapse")
}

func TestCost(t *testing.T) {
	dir := testtree.Extract(t, "base")
	code, stdout, stderr := depgraphCmd(t, "cost", "--dir", dir, "--candidates", "k8s.io/kubernetes/pkg/registry/...", generic)
	require.Equal(t, exitOK, code, stderr)
	want := `k8s.io/kubernetes/pkg/controlplane/samples/generic links 5 packages matching k8s.io/kubernetes/....

| package | links only through it | of which |
|---|---|---|
| k8s.io/kubernetes/pkg/registry/core/pod | 2 | pkg/kubelet/client |
| k8s.io/kubernetes/pkg/registry/core/namespace | 1 |  |
`
	assert.Equal(t, want, stdout)

	code, stdout, stderr = depgraphCmd(t, "cost", "--dir", dir, "--without", "k8s.io/kubernetes/pkg/registry/core/pod", "--json", generic)
	require.Equal(t, exitOK, code, stderr)
	var res struct {
		Links, LinksWithout int
		Costs               []depgraph.Cost
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &res))
	assert.Equal(t, 5, res.Links)
	assert.Equal(t, 3, res.LinksWithout)
	require.NotEmpty(t, res.Costs)
	assert.Equal(t, "k8s.io/kubernetes/pkg/controlplane", res.Costs[0].Package)

	code, _, stderr = depgraphCmd(t, "cost", "--dir", dir, "--without", "k8s.io/kubernetes/pkg/nothing", generic)
	assert.Equal(t, exitError, code)
	assert.Contains(t, stderr, "matches no package")
}

func TestAdds(t *testing.T) {
	dir := testtree.Extract(t, "base")
	code, stdout, stderr := depgraphCmd(t, "adds", "--dir", dir, "./pkg/registry/core/namespace", "./pkg/registry/core/pod", "./pkg/controlplane")
	require.Equal(t, exitOK, code, stderr)
	want := `k8s.io/kubernetes/pkg/registry/core/namespace links 1 packages matching k8s.io/kubernetes/.... What picking each package adds to it (for a package it links: what it links only through it):

Of the 2 picks it does not link, 0 add only their own group's packages.

| package | linked | adds | own group | other | other packages |
|---|---|---|---|---|---|
| pkg/controlplane | no | 3 | 0 | 3 | pkg/kubelet/client, pkg/registry/core/pod |
| pkg/registry/core/pod | no | 2 | 1 | 1 | pkg/kubelet/client |
`
	assert.Equal(t, want, stdout)

	// Counting every package, and with kubelet's client as the core group's own.
	code, stdout, stderr = depgraphCmd(t, "adds", "--dir", dir, "--json", "--count", "k8s.io/...",
		"--own", "k8s.io/kubernetes/pkg/registry/{group}/...,k8s.io/kubernetes/pkg/kubelet/...", "./pkg/registry/core/namespace", "./pkg/registry/core/pod")
	require.Equal(t, exitOK, code, stderr)
	var res struct {
		Links int
		Picks []addedPick
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &res))
	assert.Equal(t, 2, res.Links, "the namespace registry and the apiserver's server package")
	require.Len(t, res.Picks, 1)
	assert.Equal(t, "core", res.Picks[0].Group)
	assert.Equal(t, []string{"k8s.io/kubernetes/pkg/kubelet/client", "k8s.io/kubernetes/pkg/registry/core/pod"}, res.Picks[0].Own)
	assert.Empty(t, res.Picks[0].Other)

	for _, bad := range [][]string{
		{"./pkg/registry/core/namespace"},                               // no pick
		{"--own", "k8s.io/x/...", "./cmd/server", "./pkg/controlplane"}, // no {group}
		{"--group-of", "pkg/registry", "./cmd/server", "./pkg/controlplane"},
		{"./pkg/registry/core/namespace", "./pkg/registry/core/namespace"}, // the pick is the root
	} {
		code, _, stderr = depgraphCmd(t, append([]string{"adds", "--dir", dir}, bad...)...)
		assert.Equal(t, exitError, code, "adds %v: %s", bad, stderr)
	}
}
