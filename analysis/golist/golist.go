// Package golist is the one place that runs `go list` for the depgraph tools.
//
// Every caller goes through List so that the environment (GOWORK, GOFLAGS),
// the field selection and the error reporting stay the same everywhere: a
// failing go list is reported with its stderr, its working directory and the
// environment overrides that were in effect, because those are the first
// three things anyone debugging a broken tree needs to see.
package golist

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/generic-controlplane/gcp/internal/goenv"
)

// Fields is the restricted -json field set depgraph needs. Asking go list for
// fewer fields makes it noticeably faster and its output ~10x smaller than
// plain -json, which is what keeps depgraph within budget of go list itself.
var Fields = []string{
	"ImportPath", "Name", "Dir", "Standard", "DepOnly", "ForTest",
	"Module", "GoFiles", "CgoFiles", "TestGoFiles", "XTestGoFiles",
	"Imports", "ImportMap", "Error", "DepsErrors",
}

// Package is the subset of `go list -json` output depgraph reads.
type Package struct {
	ImportPath   string
	Name         string
	Dir          string
	Standard     bool
	DepOnly      bool
	ForTest      string
	Module       *Module
	GoFiles      []string
	CgoFiles     []string
	TestGoFiles  []string
	XTestGoFiles []string
	Imports      []string
	ImportMap    map[string]string
	Error        *PackageError
	DepsErrors   []*PackageError
}

// Module is the module a package belongs to.
type Module struct {
	Path    string
	Version string
	Dir     string
	Replace *Module
}

// PackageError is an error go list attached to a package.
type PackageError struct {
	Pos string
	Err string
}

func (e *PackageError) Error() string {
	if e.Pos != "" {
		return e.Pos + ": " + e.Err
	}
	return e.Err
}

// Config says where and how to run go list.
type Config struct {
	// Dir is the module directory go list runs in. It must contain go.mod.
	Dir string
	// Env holds KEY=VALUE overrides applied on top of os.Environ().
	Env []string
	// Tests adds -test so the roots' test packages and their edges are listed.
	Tests bool
}

// DefaultEnv is what a materialized Kubernetes tree needs: its go.work names
// staging modules that may be absent and its vendor/ directory is empty, so
// workspace mode and vendoring both have to be off (goenv.ModuleAlone).
var DefaultEnv = goenv.ModuleAlone()

// Error is a go list failure with everything needed to reproduce it.
type Error struct {
	Dir  string
	Args []string
	Env  []string
	// PrivateModfile says go list read a temporary copy of go.mod
	// (-modfile) rather than the tree's own.
	PrivateModfile bool
	Stderr         string
	Err            error
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "go %s failed: %v\n", strings.Join(e.Args, " "), e.Err)
	fmt.Fprintf(&b, "  dir: %s\n", e.Dir)
	fmt.Fprintf(&b, "  env: %s\n", strings.Join(e.Env, " "))
	if e.PrivateModfile {
		fmt.Fprintf(&b, "  go.mod: a private copy of the tree's (-modfile), so -mod=mod cannot write the tree\n")
	}
	if s := strings.TrimSpace(e.Stderr); s != "" {
		fmt.Fprintf(&b, "  stderr:\n")
		for _, line := range strings.Split(s, "\n") {
			fmt.Fprintf(&b, "    %s\n", line)
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

func (e *Error) Unwrap() error { return e.Err }

// CheckModuleDir reports a clear error unless dir is a module root. go list
// would otherwise walk up to some enclosing module and answer for the wrong
// tree, which is worse than failing.
func CheckModuleDir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("tree %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("tree %s is not a directory", dir)
	}
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		return fmt.Errorf("tree %s has no go.mod: --dir must name a module root (for Kubernetes, the k8s.io/kubernetes checkout)", dir)
	}
	return nil
}

// Deps runs `go list -deps -json=<Fields>` for the given patterns and calls
// visit for each listed package, in go list's (dependencies-first) order.
func Deps(ctx context.Context, cfg Config, patterns []string, visit func(*Package) error) error {
	if err := CheckModuleDir(cfg.Dir); err != nil {
		return err
	}
	if len(patterns) == 0 {
		return errors.New("no root packages given")
	}
	args := []string{"list", "-deps", "-json=" + strings.Join(Fields, ",")}
	if cfg.Tests {
		args = append(args, "-test")
	}
	args = append(args, "--")
	args = append(args, patterns...)
	return run(ctx, cfg, args, func(r io.Reader) error {
		dec := json.NewDecoder(r)
		for {
			p := new(Package)
			if err := dec.Decode(p); err == io.EOF {
				return nil
			} else if err != nil {
				return fmt.Errorf("decoding go list output: %w", err)
			}
			if err := visit(p); err != nil {
				return err
			}
		}
	})
}

// env returns the environment overrides in effect for cfg.
func (cfg Config) env() []string {
	if cfg.Env == nil {
		return DefaultEnv
	}
	return cfg.Env
}

// lookupEnv returns the last value of key in env, as exec would apply it.
func lookupEnv(env []string, key string) string {
	val := ""
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			val = v
		}
	}
	return val
}

// PrivateModfile keeps go commands from writing into the tree. With -mod=mod the
// go command rewrites go.mod and go.sum whenever its requirements are not
// tidy, which a materialized Kubernetes tree with substituted staging
// modules never is; the tree may be under review or being patched by
// someone else. Outside workspace mode, -modfile points the go command at a
// private copy instead; the module root, and so every relative replace, is
// unchanged. It returns the extra go flag (empty when env does not call for
// one) and a cleanup function. Callers that run go directly against a tree,
// such as the cross-checks against plain go list, use it too.
func PrivateModfile(dir string, env []string) (string, func(), error) {
	goflags := lookupEnv(env, "GOFLAGS")
	if lookupEnv(env, "GOWORK") != "off" || !strings.Contains(goflags, "-mod=mod") || strings.Contains(goflags, "-modfile") {
		return "", func() {}, nil
	}
	tmp, err := os.MkdirTemp("", "depgraph-modfile-")
	if err != nil {
		return "", nil, err
	}
	cleanup := func() { os.RemoveAll(tmp) }
	for _, name := range []string{"go.mod", "go.sum"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if errors.Is(err, os.ErrNotExist) && name == "go.sum" {
			continue
		}
		if err == nil {
			err = os.WriteFile(filepath.Join(tmp, name), data, 0o644)
		}
		if err != nil {
			cleanup()
			return "", nil, err
		}
	}
	return "-modfile=" + filepath.Join(tmp, "go.mod"), cleanup, nil
}

func run(ctx context.Context, cfg Config, args []string, consume func(io.Reader) error) error {
	env := append(os.Environ(), cfg.env()...)
	modfile, cleanup, err := PrivateModfile(cfg.Dir, env)
	if err != nil {
		return err
	}
	defer cleanup()
	goArgs := args
	if modfile != "" {
		goArgs = append([]string{args[0], modfile}, args[1:]...)
	}
	cmd := exec.CommandContext(ctx, "go", goArgs...)
	cmd.Dir = cfg.Dir
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	fail := func(err error) error {
		return &Error{Dir: cfg.Dir, Args: args, Env: cfg.env(), PrivateModfile: modfile != "", Stderr: stderr.String(), Err: err}
	}
	if err := cmd.Start(); err != nil {
		return fail(err)
	}
	consumeErr := consume(stdout)
	if consumeErr != nil {
		// Drain so go list is not blocked writing while we wait for it.
		_, _ = io.Copy(io.Discard, stdout)
	}
	waitErr := cmd.Wait()
	if waitErr != nil {
		return fail(waitErr)
	}
	if consumeErr != nil {
		var gl *Error
		if errors.As(consumeErr, &gl) {
			return consumeErr
		}
		return fail(consumeErr)
	}
	return nil
}
