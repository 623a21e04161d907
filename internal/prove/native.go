package prove

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/generic-controlplane/gcp/internal/goenv"
	"github.com/generic-controlplane/gcp/internal/treemod"
)

// NativeSamplePackage is k/k's generic sample with this repository's native
// storage backend registered (cmd/sample-native). It builds only against a
// tree with the storage backend registry of the series, from this
// repository's module (the proof's working directory), so the proof builds
// and runs it at the tip.
const NativeSamplePackage = "github.com/generic-controlplane/gcp/cmd/sample-native"

// storageRegistryFile is where the series adds the storage backend registry
// (factory.Register) that the native sample needs, relative to the tree.
const storageRegistryFile = "staging/src/k8s.io/apiserver/pkg/storage/storagebackend/factory/registry.go"

// hasStorageRegistry reports whether tree has the storage backend registry.
func hasStorageRegistry(tree string) bool {
	_, err := os.Stat(filepath.Join(tree, storageRegistryFile))
	return err == nil
}

// writeTreeMod writes, under the work folder, the modfile that builds this
// repository's module (the proof's working directory) against the prefix
// tree (treemod), and returns its absolute path.
func (r *runner) writeTreeMod() (string, error) {
	modFile, err := filepath.Abs(filepath.Join(r.cfg.Work, "tree.mod"))
	if err != nil {
		return "", err
	}
	if _, err := treemod.Write(r.tree, "go.mod", modFile); err != nil {
		return "", fmt.Errorf("writing the modfile that builds this repository against the tree (run make prove from the repository root): %w", err)
	}
	return modFile, nil
}

// NativeSampleServer names the native sample in the report.
const NativeSampleServer = "generic sample at the tip on the native storage backend (cmd/sample-native)"

// nativeSample builds NativeSamplePackage against the prefix tree and runs
// the scenario on it with every object in the native backend's SQLite file.
// A step that passes on the same prefix's sample on etcd and not here is a
// problem.
func (r *runner) nativeSample(ctx context.Context, s *Step, binaries map[string]string) {
	fail := func(format string, args ...any) {
		s.NativeSample = &Runtime{Error: fmt.Sprintf(format, args...)}
		r.problem(s, "native sample: %s", s.NativeSample.Error)
	}
	bin, err := filepath.Abs(filepath.Join(r.cfg.Work, "bin", fmt.Sprint(s.Index), "sample-native"))
	if err != nil {
		fail("%v", err)
		return
	}
	modFile, err := r.writeTreeMod()
	if err != nil {
		fail("%v", err)
		return
	}
	// The library example builds with it, once: they share the tip's build.
	pkgs := []string{NativeSamplePackage}
	library := hasLibraryAPI(r.tree)
	if library {
		pkgs = append(pkgs, LibraryExamplePackage)
	}
	r.logf("building %s against the tree", strings.Join(pkgs, " and "))
	ctx2, cancel := context.WithTimeout(ctx, compileTimeout)
	defer cancel()
	args := append([]string{"build", "-modfile=" + modFile, "-tags=gcp_patched", "-ldflags=-s -w"}, strings.Fields(goenv.BuildFlags)...)
	cmd := exec.CommandContext(ctx2, "go", append(append(args, "-o", filepath.Dir(bin)+string(filepath.Separator)), pkgs...)...)
	cmd.Env = append(os.Environ(), goenv.ModuleAlone()...)
	if out, err := cmd.CombinedOutput(); err != nil {
		fail("go build %s (run make prove from the repository root): %v\n%s", strings.Join(pkgs, " "), err, tailLines(string(out), 30))
		return
	}
	if library {
		libraryBin := filepath.Join(filepath.Dir(bin), filepath.Base(LibraryExamplePackage))
		if info, err := os.Stat(libraryBin); err == nil {
			s.StrippedBytes[LibraryExample] = info.Size()
		}
		defer r.libraryExample(ctx, s, binaries, libraryBin)
	}

	dir := filepath.Join(r.cfg.Work, "run", fmt.Sprint(s.Index), "sample-native")
	os.RemoveAll(dir)
	defer os.RemoveAll(dir)
	scenarioArgs, after := r.sampleScenario(ctx, binaries, scenarioRun{server: NativeSampleServer, record: func(res *ScenarioResult) {
		s.NativeScenario = res
		if s.Scenario == nil {
			return
		}
		for _, step := range regressedSteps(s.Scenario, res) {
			r.problem(s, "native sample: scenario step %q passes on etcd and not on the native backend", step)
		}
	}})
	// The sample still gets --etcd-servers (the aggregated backend of the
	// scenario uses that etcd); --storage-backend=native keeps every object
	// of the sample under test in SQLite.
	nativeArgs := append([]string{"--storage-backend=native", "--native-storage=" + filepath.Join(dir, "native.db")}, scenarioArgs...)
	rt, _ := r.runOne(ctx, dir, bin, nativeArgs, false, after)
	s.NativeSample = rt
	if rt.Error != "" {
		r.problem(s, "native sample: %s", rt.Error)
	}
}
