package testcontrolplane

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/clientcmd"
)

// ServerEnv names the environment variable that points at a
// minimal-apiserver binary when Options.ServerBinary is empty.
const ServerEnv = "TESTCONTROLPLANE_SERVER"

// serverModule is the module whose cmd/minimal-apiserver serves built-in
// APIs out of process.
const serverModule = "github.com/generic-controlplane/gcp"

// startBinary runs minimal-apiserver with its own data directory and
// embedded etcd, serving opts.BuiltinAPIs and CRDs.
func startBinary(ctx context.Context, opts Options) (*ControlPlane, error) {
	binary, err := serverBinary(opts.ServerBinary)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "testcontrolplane-server-")
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "server.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	apis := append([]string{"crds"}, opts.BuiltinAPIs...)
	cmd := exec.Command(binary, "--data-dir="+dir, "--secure-port=0", "--apis="+strings.Join(apis, ","))
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("starting %s: %w", binary, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); logFile.Close() }()
	stop := func() error {
		err := terminate(cmd, exited)
		return errors.Join(err, os.RemoveAll(dir))
	}

	cp, err := awaitBinary(ctx, filepath.Join(dir, "admin.kubeconfig"), exited)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("%s: %w; its log ends:\n%s", binary, err, logTail(logPath)), stop())
	}
	cp.stop = stop
	return cp, nil
}

// awaitBinary waits for the admin kubeconfig the server writes once it
// listens, then for /readyz.
func awaitBinary(ctx context.Context, kubeconfigPath string, exited chan error) (*ControlPlane, error) {
	var kubeconfig []byte
	err := wait.PollUntilContextCancel(ctx, 10*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		select {
		case err := <-exited:
			exited <- err
			return false, fmt.Errorf("exited before it was ready: %v", err)
		default:
		}
		data, err := os.ReadFile(kubeconfigPath)
		if err != nil {
			return false, nil
		}
		kubeconfig = data
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	config, err := clientcmd.RESTConfigFromKubeConfig(kubeconfig)
	if err != nil {
		return nil, err
	}
	config.QPS = -1
	if err := waitReady(ctx, config, exited); err != nil {
		return nil, err
	}
	return &ControlPlane{Config: config, Kubeconfig: kubeconfig}, nil
}

// terminate asks the server to stop and kills it if it has not within 30 s.
func terminate(cmd *exec.Cmd, exited <-chan error) error {
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return nil // it has exited
	}
	select {
	case <-exited:
		return nil
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-exited
		return fmt.Errorf("%s did not stop within 30s of SIGTERM; killed", cmd.Path)
	}
}

func logTail(path string) string {
	data, _ := os.ReadFile(path)
	if len(data) > 4000 {
		data = data[len(data)-4000:]
	}
	return string(data)
}

// serverBinary finds the minimal-apiserver binary: explicit, from the
// environment, or built from the checkout this package is in.
func serverBinary(explicit string) (string, error) {
	if explicit != "" {
		return explicit, nil
	}
	if env := os.Getenv(ServerEnv); env != "" {
		return env, nil
	}
	source, ok := checkoutRoot()
	if !ok {
		return "", fmt.Errorf("built-in APIs are served by a minimal-apiserver binary: set Options.ServerBinary or $%s to one "+
			"(in a checkout of %s: go build -o <path> ./cmd/minimal-apiserver)", ServerEnv, serverModule)
	}
	return BuildServer(source, io.Discard)
}

// checkoutRoot is the root of the gcp checkout this package's source is in,
// if it is in one (not in the module cache).
func checkoutRoot() (string, bool) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", false
	}
	root := filepath.Dir(filepath.Dir(file))
	data, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil || !bytes.HasPrefix(data, []byte("module "+serverModule+"\n")) {
		return "", false
	}
	return root, true
}

// BuildServer builds cmd/minimal-apiserver of the gcp checkout at source
// once per content of its Go files, go.mod and go.sum, into the user cache
// directory, and returns the binary's path. Test binaries that build at
// once wait for one another. Progress goes to progress.
func BuildServer(source string, progress io.Writer) (string, error) {
	key, err := sourceKey(source)
	if err != nil {
		return "", fmt.Errorf("hashing %s: %w", source, err)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cache, "testcontrolplane", key)
	binary := filepath.Join(dir, "minimal-apiserver")
	if _, err := os.Stat(binary); err == nil {
		return binary, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	unlock, err := lockFile(filepath.Join(dir, "lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	if _, err := os.Stat(binary); err == nil {
		return binary, nil // another process built it while we waited
	}
	fmt.Fprintf(progress, "testcontrolplane: building minimal-apiserver from %s into %s (once per source change)\n", source, dir)
	tmp := binary + ".tmp"
	build := exec.Command("go", "build", "-o", tmp, "./cmd/minimal-apiserver")
	build.Dir = source
	build.Env = append(os.Environ(), "GOWORK=off")
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building minimal-apiserver in %s: %w\n%s", source, err, out)
	}
	return binary, os.Rename(tmp, binary)
}

// sourceKey hashes what a build of the module at root depends on: its Go
// files, go.mod and go.sum, outside nested modules and _output.
func sourceKey(root string) (string, error) {
	h := sha256.New()
	fmt.Fprintln(h, runtime.Version())
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			if rel != "." && (strings.HasPrefix(d.Name(), ".") || strings.HasPrefix(d.Name(), "_") || d.Name() == "testdata" || exists(filepath.Join(path, "go.mod"))) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") && rel != "go.mod" && rel != "go.sum" {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %d\n", rel, len(data))
		h.Write(data)
		return nil
	})
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}
