package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const helper = `package %s

import "net"

func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports, nil
}
`

func write(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
	return p
}

func runDupcode(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a/a.go", fmtPkg("a"))
	write(t, dir, "b/b.go", fmtPkg("b"))
	clean := t.TempDir()
	write(t, clean, "a/a.go", fmtPkg("a"))

	code, stdout, stderr := runDupcode(clean)
	assert.Equal(t, exitOK, code, stderr)
	assert.Empty(t, stdout)

	code, stdout, stderr = runDupcode(dir)
	assert.Equal(t, exitFindings, code)
	assert.Equal(t, filepath.Join(dir, "a/a.go")+":5-20 and "+filepath.Join(dir, "b/b.go")+":5-20: 16 lines (94 tokens) of the same shape\n", stdout)
	assert.Contains(t, stderr, "factor each pair into one function")

	allow := write(t, t.TempDir(), "allow.txt", "# reviewed\na/*.go b/*.go the test says so\n")
	code, stdout, stderr = runDupcode("-allow", allow, dir)
	assert.Equal(t, exitOK, code, stderr)
	assert.Empty(t, stdout)

	code, stdout, _ = runDupcode("-allow", allow, clean)
	assert.Equal(t, exitFindings, code)
	assert.Equal(t, allow+":2: allow entry \"a/*.go b/*.go\" matches no copy any more: remove it\n", stdout)

	code, stdout, _ = runDupcode("-tokens", "100", dir)
	assert.Equal(t, exitOK, code)
	assert.Empty(t, stdout)
}

func TestRunErrors(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "bad.go", "package a\nfunc {\n")
	for name, args := range map[string][]string{
		"two dirs":      {"a", "b"},
		"bad flag":      {"-nope"},
		"bad lines":     {"-lines", "0"},
		"missing allow": {"-allow", filepath.Join(dir, "missing.txt"), dir},
		"missing dir":   {filepath.Join(dir, "missing")},
		"parse error":   {dir},
	} {
		code, stdout, stderr := runDupcode(args...)
		assert.Equal(t, exitError, code, name)
		assert.Empty(t, stdout, name)
		assert.NotEmpty(t, stderr, name)
	}
	code, _, stderr := runDupcode("-h")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, stderr, "usage: dupcode")
}

func fmtPkg(name string) string { return fmt.Sprintf(helper, name) }
