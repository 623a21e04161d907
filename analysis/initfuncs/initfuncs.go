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

// seen remembers per-file results in this process, keyed by path, size and
// modification time, so that a file is read once however many graphs list
// it: two trees diffed against each other share their third-party and
// standard library packages in the module cache and GOROOT. The stat keeps a
// tree patched in place between two loads from being answered from memory.
var seen sync.Map // fileKey -> int

type fileKey struct {
	path  string
	size  int64
	mtime int64
}

// countPath counts the init functions of one file on disk.
func countPath(fset *token.FileSet, name string) (int, error) {
	fi, err := os.Stat(name)
	if err != nil {
		return 0, err
	}
	key := fileKey{name, fi.Size(), fi.ModTime().UnixNano()}
	if n, ok := seen.Load(key); ok {
		return n.(int), nil
	}
	src, err := os.ReadFile(name)
	if err != nil {
		return 0, err
	}
	n, err := CountFile(fset, name, src)
	if err != nil {
		return 0, err
	}
	seen.Store(key, n)
	return n, nil
}

// Count returns the number of init functions in each package, in the order
// given. Files are read and parsed concurrently.
func Count(ctx context.Context, pkgs []Package) ([]int, error) {
	counts := make([]int, len(pkgs))
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
				n, err := countPath(fset, name)
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
	return counts, nil
}
