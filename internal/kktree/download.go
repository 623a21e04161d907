package kktree

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	"golang.org/x/mod/modfile"

	"github.com/generic-controlplane/gcp/internal/goenv"
)

// module is one `go mod download -json` record.
type module struct {
	Path    string
	Version string
	Dir     string
	GoMod   string
	Error   string
}

// download fetches modules (path@version) into the module cache and returns
// one record per module, failed ones with Error set. It fails only when the
// go command itself cannot run or prints nothing parseable.
func download(ctx context.Context, mods ...string) ([]module, error) {
	tmp, err := os.MkdirTemp("", "kktree-download-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.CommandContext(ctx, "go", append([]string{"mod", "download", "-json"}, mods...)...)
	// Outside any module, so the project's own go.mod does not get in the way.
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), goenv.ModuleAlone()...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var out []module
	dec := json.NewDecoder(&stdout)
	for {
		var m module
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("go mod download: unreadable output: %v (stderr: %s)", err, strings.TrimSpace(stderr.String()))
		}
		out = append(out, m)
	}
	if runErr != nil && len(out) == 0 {
		return nil, fmt.Errorf("go mod download %s: %v: %s", strings.Join(mods, " "), runErr, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// stagingModules returns the module paths that the k8s.io/kubernetes go.mod
// replaces with ./staging/src/<path>, in go.mod order.
func stagingModules(goModPath string) ([]string, error) {
	data, err := os.ReadFile(goModPath)
	if err != nil {
		return nil, err
	}
	f, err := modfile.Parse(goModPath, data, nil)
	if err != nil {
		return nil, err
	}
	var mods []string
	for _, r := range f.Replace {
		if r.New.Version == "" && r.New.Path == "./staging/src/"+r.Old.Path {
			mods = append(mods, r.Old.Path)
		}
	}
	if len(mods) == 0 {
		return nil, fmt.Errorf("%s: no replace directives into ./staging/src: not a k8s.io/kubernetes go.mod?", goModPath)
	}
	return mods, nil
}
