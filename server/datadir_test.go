package server

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	logsapi "k8s.io/component-base/logs/api/v1"
)

func init() {
	// Config applies the logging options, by default only once a process;
	// these tests run Config several times.
	logsapi.ReapplyHandling = logsapi.ReapplyHandlingIgnoreUnchanged
}

// holdLockEnv makes the test binary a helper process that locks the data
// dir the variable names and holds the lock until it is killed.
const holdLockEnv = "GCP_TEST_HOLD_DATA_DIR_LOCK"

func TestHoldDataDirLockHelper(t *testing.T) {
	dir := os.Getenv(holdLockEnv)
	if dir == "" {
		return // not the helper process
	}
	if _, err := lockDataDir(dir); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	fmt.Println("locked")
	select {}
}

// startHelper runs the test binary as a helper process: only test, with
// env set, and waits until it prints ready.
func startHelper(t *testing.T, test, env, ready string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$")
	cmd.Env = append(os.Environ(), env)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, ready+"\n", line)
	return cmd
}

// kill kills a helper process with SIGKILL and waits for it.
func kill(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
}

// configOn runs Options.Config on dir with kine (the quickest storage to
// start) and a free port, and returns how long it took.
func configOn(dir string) (*Config, time.Duration, error) {
	o := Options{DataDir: dir, Storage: StorageOptions{Backend: StorageKine}, ControlPlane: NewControlPlaneOptions()}
	o.ControlPlane.SecureServing.BindPort = 0
	start := time.Now()
	c, err := o.Config(context.Background())
	return c, time.Since(start), err
}

// stopConfig releases what a successful Config holds: the port, the
// storage, the data dir.
func stopConfig(c *Config) {
	c.ControlPlaneOptions.SecureServing.Listener.Close()
	c.stopStorage()
}

func requireInUseBy(t *testing.T, err error, dir string, pid int, took time.Duration) {
	t.Helper()
	require.Error(t, err)
	var fe *FieldError
	require.True(t, errors.As(err, &fe), "%v is not a *FieldError", err)
	assert.Equal(t, "Options.DataDir", fe.Field)
	want := fmt.Sprintf("data dir %s is in use by process %d (%s); stop it or choose another Options.DataDir", dir, pid, filepath.Base(os.Args[0]))
	assert.Equal(t, want, err.Error())
	assert.Less(t, took, 2*time.Second, "Config must fail at once on a data dir in use")
}

// TestDataDirLock: a second Config on a data dir in use fails at once and
// names the process using it, in this process as from another one; a
// stopped server, and a server process killed with SIGKILL, leave the data
// dir usable.
func TestDataDirLock(t *testing.T) {
	dir := t.TempDir()

	holder := startHelper(t, "TestHoldDataDirLockHelper", holdLockEnv+"="+dir, "locked")
	_, took, err := configOn(dir)
	requireInUseBy(t, err, dir, holder.Process.Pid, took)
	assert.NoDirExists(t, filepath.Join(dir, "pki"), "nothing done on a data dir in use")

	kill(t, holder)
	c, took, err := configOn(dir)
	require.NoError(t, err, "the lock of a process killed with SIGKILL must not outlive it")
	t.Logf("Config with kine took %v", took)

	_, took, err = configOn(dir)
	requireInUseBy(t, err, dir, os.Getpid(), took)

	stopConfig(c)
	c, _, err = configOn(dir)
	require.NoError(t, err, "a stopped server releases the data dir")
	stopConfig(c)
}

// TestDataDirLockReleasedOnConfigError: a Config that fails after taking
// the lock (here: its port is taken) releases it.
func TestDataDirLockReleasedOnConfigError(t *testing.T) {
	dir := t.TempDir()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()
	o := Options{DataDir: dir, ControlPlane: NewControlPlaneOptions()}
	o.ControlPlane.SecureServing.BindPort = taken.Addr().(*net.TCPAddr).Port
	_, err = o.Config(context.Background())
	require.ErrorContains(t, err, "cannot listen on")
	l, err := lockDataDir(dir)
	require.NoError(t, err, "Config released the lock when it failed")
	l.Release()
}
