package serverproc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	// StopGrace is how long Stop waits after SIGTERM before it kills.
	StopGrace = 10 * time.Second
	// DefaultReadyTimeout bounds the wait for readiness when an option
	// leaves it zero: kube-apiserver on a busy two-core machine needs
	// about a minute.
	DefaultReadyTimeout = 3 * time.Minute
	// pollEvery is the resolution of start-to-ready figures.
	pollEvery = 20 * time.Millisecond
	// logTailLines is how much of a log an error quotes.
	logTailLines = 20
)

// Process is a started server process whose combined output goes to a log
// file. The child stays in our process group, so a Ctrl-C stops it with us.
type Process struct {
	name    string
	log     string
	cmd     *exec.Cmd
	done    chan struct{}
	waitErr error // set before done is closed
}

// Launch starts binary with args, its stdout and stderr going to logPath,
// and returns without waiting for it to be ready.
func Launch(binary, logPath string, args ...string) (*Process, error) {
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return nil, err
	}
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(binary, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("starting %s: %w", binary, err)
	}
	p := &Process{name: filepath.Base(binary), log: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	return p, nil
}

// Name is the binary's base name, for messages.
func (p *Process) Name() string { return p.name }

// Pid is the process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Log is the path of the process's combined output.
func (p *Process) Log() string { return p.log }

// Done is closed once the process has exited and been reaped.
func (p *Process) Done() <-chan struct{} { return p.done }

// ExitErr is how the process ended (nil for exit status 0); it blocks until
// the process has exited.
func (p *Process) ExitErr() error {
	<-p.done
	return p.waitErr
}

// Stop asks the process to shut down (SIGTERM), kills it if it is still
// running after StopGrace, and waits for it. Stopping an exited process is
// a no-op.
func (p *Process) Stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(StopGrace):
		p.Kill()
	}
}

// Kill ends the process at once (SIGKILL), as a crash or a power cut
// would, and waits for it.
func (p *Process) Kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// RSSBytes is the process's resident set size now (VmRSS of
// /proc/<pid>/status).
func (p *Process) RSSBytes() (int64, error) {
	return statusBytes(fmt.Sprintf("/proc/%d/status", p.Pid()), "VmRSS")
}

// RSSFileBytes is the file-backed part of the resident set (RssFile): for a
// Go server, mostly the pages of its own binary it has touched.
func (p *Process) RSSFileBytes() (int64, error) {
	return statusBytes(fmt.Sprintf("/proc/%d/status", p.Pid()), "RssFile")
}

// statusBytes reads a "<field>: <n> kB" line of a /proc/<pid>/status file.
func statusBytes(statusFile, field string) (int64, error) {
	data, err := os.ReadFile(statusFile)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("%s: %s: %w", statusFile, field, err)
			}
			return kb * 1024, nil
		}
	}
	return 0, fmt.Errorf("no %s in %s (has the process exited?)", field, statusFile)
}

// LogTail returns the last n lines of the process's log, indented for
// quoting in an error message.
func (p *Process) LogTail(n int) string { return tail(p.log, n) }

func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "  (no log: " + err.Error() + ")"
	}
	text := strings.TrimRight(string(data), "\n")
	if text == "" {
		return "  (empty log)"
	}
	lines := strings.Split(text, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "  " + strings.Join(lines, "\n  ")
}

// probeTimeout bounds one readiness request: a starting server that
// accepted the connection but cannot answer yet is asked again.
const probeTimeout = 2 * time.Second

// readyz is nil once GET base/readyz answers 200.
func readyz(ctx context.Context, client *http.Client, base string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s/readyz: %s", base, resp.Status)
	}
	return nil
}

// errNotReady is what a probe returns while the server is still starting
// and has nothing more specific to say.
var errNotReady = errors.New("not ready yet")

// waitReady calls probe every pollEvery until it returns nil. It fails when
// the process exits first, when timeout passes or when ctx ends; the error
// names the process, quotes the probe's last complaint and the end of the
// log. The process is left running: the caller decides whether to stop it.
func (p *Process) waitReady(ctx context.Context, timeout time.Duration, probe func(context.Context) error) error {
	if timeout == 0 {
		timeout = DefaultReadyTimeout
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	last := errNotReady
	for {
		if last = probe(ctx); last == nil {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited before it was ready (%v); its log %s ends:\n%s", p.name, p.waitErr, p.log, p.LogTail(logTailLines))
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s to be ready: %w (last: %v)", p.name, ctx.Err(), last)
		case <-deadline.C:
			return fmt.Errorf("%s not ready after %s (last: %v); its log %s ends:\n%s", p.name, timeout, last, p.log, p.LogTail(logTailLines))
		case <-tick.C:
		}
	}
}
