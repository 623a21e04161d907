package serverproc

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// etcdBin is cmd/etcd built for these tests: a real etcd, the one the
// benchmarks run.
var etcdBin string

func TestMain(m *testing.M) {
	os.Exit(func() int {
		dir, err := os.MkdirTemp("", "serverproc-test-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		etcdBin = filepath.Join(dir, "etcd")
		cmd := exec.Command("go", "build", "-o", etcdBin, "./cmd/etcd")
		cmd.Dir = repoRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "building cmd/etcd: %v\n%s", err, out)
			return 1
		}
		return m.Run()
	}())
}

func repoRoot() string {
	_, f, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(f), "..", "..")
}

func TestFreePorts(t *testing.T) {
	ports, err := FreePorts(5)
	require.NoError(t, err)
	require.Len(t, ports, 5)
	seen := map[int]bool{}
	for _, p := range ports {
		assert.False(t, seen[p], "port %d twice", p)
		seen[p] = true
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		require.NoError(t, err, "port %d is free to bind", p)
		l.Close()
	}
	p, err := FreePort()
	require.NoError(t, err)
	assert.Positive(t, p)
}

func TestStartEtcdServesReportsAndStops(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := filepath.Join(t.TempDir(), "fresh")
	e, err := StartEtcd(ctx, EtcdOptions{Binary: etcdBin, Dir: dir})
	require.NoError(t, err)
	t.Cleanup(e.Stop)

	assert.Positive(t, e.StartToReady)
	assert.Equal(t, "etcd", e.Name())
	assert.Equal(t, filepath.Join(dir, "etcd.log"), e.Log())
	assert.DirExists(t, filepath.Join(dir, "etcd"), "data dir")

	c, err := clientv3.New(clientv3.Config{Endpoints: []string{e.Endpoint}, DialTimeout: 10 * time.Second})
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Put(ctx, "/k", "v")
	require.NoError(t, err)

	rss, err := e.RSSBytes()
	require.NoError(t, err)
	assert.Greater(t, rss, int64(1<<20), "a running etcd holds more than a MiB")

	start := time.Now()
	e.Stop()
	assert.Less(t, time.Since(start), StopGrace, "etcd stopped on SIGTERM, not after the grace period")
	assert.NotContains(t, fmt.Sprint(e.ExitErr()), "killed")
	select {
	case <-e.Done():
	default:
		t.Fatal("Done not closed after Stop")
	}
	e.Stop() // stopping an exited process is a no-op
	_, err = e.RSSBytes()
	assert.Error(t, err, "no RSS once exited")
}

func TestKillIsACrash(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	e, err := StartEtcd(ctx, EtcdOptions{Binary: etcdBin, Dir: t.TempDir()})
	require.NoError(t, err)
	e.Kill()
	assert.ErrorContains(t, e.ExitErr(), "signal: killed")
}

func TestStartFailsWithTheLogWhenTheProcessExits(t *testing.T) {
	dir := t.TempDir()
	// A file where etcd wants its data directory: etcd exits at once.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "etcd"), []byte("not a directory"), 0o600))
	_, err := StartEtcd(context.Background(), EtcdOptions{Binary: etcdBin, Dir: dir})
	require.Error(t, err)
	msg := err.Error()
	assert.Contains(t, msg, "etcd exited before it was ready")
	assert.Contains(t, msg, filepath.Join(dir, "etcd.log"), "names the log")
	logged, rerr := os.ReadFile(filepath.Join(dir, "etcd.log"))
	require.NoError(t, rerr)
	require.NotEmpty(t, logged, "etcd said why it stopped")
	lines := strings.Split(strings.TrimRight(string(logged), "\n"), "\n")
	assert.Contains(t, msg, lines[len(lines)-1], "quotes the end of the log")
}

func TestReadyTimeoutAndCancel(t *testing.T) {
	p, err := LaunchEtcd(EtcdOptions{Binary: etcdBin, Dir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(p.Stop)
	never := func(context.Context) error { return fmt.Errorf("still starting") }

	err = p.waitReady(context.Background(), 100*time.Millisecond, never)
	assert.ErrorContains(t, err, "etcd not ready after 100ms (last: still starting)")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = p.waitReady(ctx, time.Minute, never)
	assert.ErrorIs(t, err, context.Canceled)
}

func TestLaunchNamesAMissingBinary(t *testing.T) {
	_, err := Launch(filepath.Join(t.TempDir(), "no-such-server"), filepath.Join(t.TempDir(), "log"))
	assert.ErrorContains(t, err, "no-such-server")
}

func TestStatusBytesReadsRSS(t *testing.T) {
	status := filepath.Join(t.TempDir(), "status")
	require.NoError(t, os.WriteFile(status, []byte("Name:\tetcd\nVmPeak:\t  999 kB\nVmRSS:\t   2048 kB\nRssAnon:\t 1024 kB\nRssFile:\t  1000 kB\nThreads:\t9\n"), 0o600))
	got, err := statusBytes(status, "VmRSS")
	require.NoError(t, err)
	assert.Equal(t, int64(2048*1024), got)
	got, err = statusBytes(status, "RssFile")
	require.NoError(t, err)
	assert.Equal(t, int64(1000*1024), got)

	require.NoError(t, os.WriteFile(status, []byte("Name:\tzombie\n"), 0o600))
	_, err = statusBytes(status, "VmRSS")
	assert.ErrorContains(t, err, "no VmRSS")
}

func TestRSSOfThisProcess(t *testing.T) {
	p := &Process{cmd: exec.Command("self")}
	p.cmd.Process = &os.Process{Pid: os.Getpid()}
	rss, err := p.RSSBytes()
	require.NoError(t, err)
	file, err := p.RSSFileBytes()
	require.NoError(t, err)
	assert.Positive(t, file, "a Go test binary has its own pages resident")
	assert.Less(t, file, rss)
}

func TestTail(t *testing.T) {
	log := filepath.Join(t.TempDir(), "log")
	require.NoError(t, os.WriteFile(log, []byte("one\ntwo\nthree\n"), 0o600))
	assert.Empty(t, cmp.Diff("  two\n  three", tail(log, 2)))
	assert.Empty(t, cmp.Diff("  one\n  two\n  three", tail(log, 10)))

	require.NoError(t, os.WriteFile(log, nil, 0o600))
	assert.Equal(t, "  (empty log)", tail(log, 2))
	assert.Contains(t, tail(filepath.Join(t.TempDir(), "absent"), 2), "(no log: ")
}

// serverBinary returns the binary that env names or, failing that, the
// first of paths (relative to the repository) that exists; it skips the
// test when there is none: API servers take minutes to build, so these
// tests use what `make harness` or `make prove` left behind.
func serverBinary(t *testing.T, env string, paths ...string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("starts an API server")
	}
	if p := os.Getenv(env); p != "" {
		return p
	}
	for _, p := range paths {
		p = filepath.Join(repoRoot(), p)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Skipf("no API server binary: set %s or build one of %v", env, paths)
	return ""
}

func TestStartAPIServerOnAnEtcdProcess(t *testing.T) {
	bin := serverBinary(t, "KUBE_APISERVER_BIN", "_output/bin/bench/kube-apiserver", "_output/prove/bin/0/kube-apiserver")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := t.TempDir()
	e, err := StartEtcd(ctx, EtcdOptions{Binary: etcdBin, Dir: filepath.Join(dir, "etcd")})
	require.NoError(t, err)
	t.Cleanup(e.Stop)

	s, err := StartAPIServer(ctx, APIServer{Binary: bin, Dir: filepath.Join(dir, "api"), EtcdServers: e.Endpoint})
	require.NoError(t, err)
	t.Cleanup(s.Stop)
	assert.Positive(t, s.StartToReady)
	assert.True(t, strings.HasPrefix(s.URL(), "https://127.0.0.1:"), s.URL())
	assert.FileExists(t, s.Kubeconfig)
	served, err := s.Resources()
	require.NoError(t, err)
	assert.Contains(t, served, "v1/configmaps")
	rss, err := s.RSSBytes()
	require.NoError(t, err)
	assert.Greater(t, rss, int64(10<<20))
	help, err := Help(ctx, bin)
	require.NoError(t, err)
	assert.Contains(t, help, "--etcd-servers")
}

func TestStartMinimal(t *testing.T) {
	bin := serverBinary(t, "MINIMAL_APISERVER_BIN", "_output/bin/minimal-apiserver")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := t.TempDir()
	s, err := StartMinimal(ctx, Minimal{Binary: bin, DataDir: dir})
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dir, "admin.kubeconfig"), s.Kubeconfig)
	assert.Equal(t, filepath.Join(dir, "server.log"), s.Log())
	served, err := s.Resources()
	require.NoError(t, err)
	assert.Contains(t, served, "v1/configmaps")
	s.Stop()

	// A restart on the same data dir waits for the kubeconfig the new
	// process writes, not the one the old one left.
	s, err = StartMinimal(ctx, Minimal{Binary: bin, DataDir: dir, Log: filepath.Join(dir, "run2.log")})
	require.NoError(t, err)
	defer s.Stop()
	assert.Equal(t, filepath.Join(dir, "run2.log"), s.Log())
}
