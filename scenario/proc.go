package scenario

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// Proc is a server process started by StartServer.
type Proc struct {
	Cmd        *exec.Cmd
	Kubeconfig string
	DataDir    string
	Log        string
	Ready      time.Duration // start to first successful /readyz
	done       chan struct{}
}

// StartServer runs bin with --data-dir and --secure-port=0 (plus args),
// waits for the kubeconfig it writes and for /readyz, and returns the process.
func StartServer(ctx context.Context, bin, dataDir, logFile string, args ...string) (*Proc, error) {
	kc := filepath.Join(dataDir, "admin.kubeconfig")
	_ = os.Remove(kc)
	lf, err := os.Create(logFile)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	cmd := exec.Command(bin, append([]string{"--data-dir=" + dataDir, "--secure-port=0"}, args...)...)
	cmd.Stdout, cmd.Stderr = lf, lf
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, err
	}
	exited := make(chan error, 1)
	p := &Proc{Cmd: cmd, Kubeconfig: kc, DataDir: dataDir, Log: logFile, done: make(chan struct{})}
	go func() { exited <- cmd.Wait(); lf.Close(); close(p.done) }()
	err = WaitReady(ctx, kc, exited)
	if err != nil {
		p.Kill()
		return nil, fmt.Errorf("%s did not become ready: %w (log %s)", bin, err, logFile)
	}
	p.Ready = time.Since(start)
	return p, nil
}

// StartProcess starts bin with args, output to logFile, without waiting for readiness.
func StartProcess(bin, logFile string, args ...string) (*Proc, error) {
	lf, err := os.Create(logFile)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = lf, lf
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, err
	}
	p := &Proc{Cmd: cmd, Log: logFile, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); lf.Close(); close(p.done) }()
	return p, nil
}

// Exited yields an error once the process has exited.
func (p *Proc) Exited() <-chan error {
	ch := make(chan error, 1)
	go func() { <-p.done; ch <- fmt.Errorf("%s exited (log %s)", p.Cmd.Path, p.Log) }()
	return ch
}

// WaitReady polls for the kubeconfig file and then /readyz (authenticated).
// The 20 ms period is the resolution of start-to-ready figures in the bench.
func WaitReady(ctx context.Context, kubeconfig string, exited <-chan error) error {
	var last error
	err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		select {
		case e := <-exited:
			return false, fmt.Errorf("process exited: %v", e)
		default:
		}
		cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
		if err != nil {
			last = err
			return false, nil
		}
		c, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			return false, err
		}
		_, err = c.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		last = err
		return err == nil, nil
	})
	if err != nil && last != nil {
		return fmt.Errorf("%w (last: %v)", err, last)
	}
	return err
}

// Kill sends SIGKILL and waits for the process to be reaped.
func (p *Proc) Kill() {
	if p.Cmd.Process != nil {
		_ = p.Cmd.Process.Kill()
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
		}
	}
}
