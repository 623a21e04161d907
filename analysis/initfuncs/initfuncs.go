// Package initfuncs counts package-level init functions, the code every
// binary linking a package runs at start-up whether it uses the package or
// not. They are a coupling cost that package counts alone do not show.
package initfuncs

import (
	"bytes"
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"hash/maphash"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
)

// Package names the files of one package to scan.
type Package struct {
	Dir   string
	Files []string // relative to Dir; already filtered by build constraints
}

// marker is a necessary condition for a file to declare an init function in
// gofmt'ed source. Files without it are not parsed at all, which makes
// counting across a few thousand packages cost a read instead of a parse.
var marker = []byte("func init")

// parsed remembers the count for file contents already parsed in this
// process. A diff loads two trees that share almost every file; with this,
// the second tree costs a read and a hash instead of a parse.
var (
	parsed sync.Map // contentKey -> int
	seed   = maphash.MakeSeed()
)

type contentKey struct {
	hash uint64
	size int
}

// CountFile returns the number of `func init()` declarations in src.
func CountFile(fset *token.FileSet, filename string, src []byte) (int, error) {
	if !bytes.Contains(src, marker) {
		return 0, nil
	}
	key := contentKey{maphash.Bytes(seed, src), len(src)}
	if n, ok := parsed.Load(key); ok {
		return n.(int), nil
	}
	f, err := parser.ParseFile(fset, filename, src, parser.SkipObjectResolution)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, d := range f.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil && fn.Name.Name == "init" {
			n++
		}
	}
	parsed.Store(key, n)
	return n, nil
}

// counted remembers per-package results in this process, keyed by directory
// and file list. Two trees diffed against each other resolve their
// third-party and standard library packages to the same module cache and
// GOROOT directories; those are read once.
var counted sync.Map // string -> int

func packageKey(p Package) string {
	return p.Dir + "\x00" + strings.Join(p.Files, "\x00")
}

// Count returns the number of init functions in each package, in the order
// given. Files are read and parsed concurrently.
func Count(ctx context.Context, pkgs []Package) ([]int, error) {
	counts := make([]int, len(pkgs))
	cached := make([]bool, len(pkgs))
	for i, p := range pkgs {
		if n, ok := counted.Load(packageKey(p)); ok {
			counts[i], cached[i] = n.(int), true
		}
	}
	type job struct{ pkg, file int }
	jobs := make(chan job)
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	workers := runtime.GOMAXPROCS(0) * 2 // reads block; keep the CPUs busy
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fset := token.NewFileSet()
			for j := range jobs {
				name := filepath.Join(pkgs[j.pkg].Dir, pkgs[j.pkg].Files[j.file])
				src, err := os.ReadFile(name)
				var n int
				if err == nil {
					n, err = CountFile(fset, name, src)
				}
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = fmt.Errorf("counting init functions: %w", err)
				}
				counts[j.pkg] += n
				mu.Unlock()
			}
		}()
	}
feed:
	for i, p := range pkgs {
		if cached[i] {
			continue
		}
		for k := range p.Files {
			select {
			case jobs <- job{i, k}:
			case <-ctx.Done():
				break feed
			}
		}
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for i, p := range pkgs {
		if !cached[i] {
			counted.Store(packageKey(p), counts[i])
		}
	}
	return counts, nil
}
