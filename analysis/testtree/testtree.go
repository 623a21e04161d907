// Package testtree materializes the synthetic module trees the depgraph tests
// run against. The trees are txtar archives so that their go.mod files do not
// turn testdata directories into modules of this repository.
package testtree

import (
	"embed"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/tools/txtar"

	"github.com/generic-controlplane/gcp/internal/goenv"
)

//go:embed testdata/*.txtar
var archives embed.FS

// Extract writes the named archives (without .txtar), later ones overlaying
// earlier ones, into a fresh temporary directory and returns it.
func Extract(t testing.TB, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range names {
		data, err := archives.ReadFile("testdata/" + name + ".txtar")
		if err != nil {
			t.Fatalf("testtree: %v", err)
		}
		for _, f := range txtar.Parse(data).Files {
			path := filepath.Join(dir, filepath.FromSlash(f.Name))
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, f.Data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

// Env is the go command environment the synthetic trees need: module mode
// without a workspace, go.mod updates allowed, and no network.
var Env = goenv.Offline()
