package symsize

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/generic-controlplane/gcp/internal/goenv"
)

func TestPackageOf(t *testing.T) {
	tests := map[string]string{
		"k8s.io/api/core/v1.(*Pod).Marshal":                 "k8s.io/api/core/v1",
		"k8s.io/kubernetes/pkg/kubelet/client.init.0":       "k8s.io/kubernetes/pkg/kubelet/client",
		"type:k8s.io/api/core/v1.Pod":                       "k8s.io/api/core/v1",
		"type:*k8s.io/api/core/v1.Pod":                      "k8s.io/api/core/v1",
		"go:itab.*k8s.io/x/y.T,io.Reader":                   "k8s.io/x/y",
		"gopkg.in/yaml%2ev3.Marshal":                        "gopkg.in/yaml.v3",
		"runtime.mallocgc":                                  "runtime",
		"sync/atomic.(*Int64).Add":                          "sync/atomic",
		"k8s.io/utils/ptr.To[go.shape.int]":                 "k8s.io/utils/ptr",
		"k8s.io/apimachinery/pkg/util/sets.New[k8s.io/x.T]": "k8s.io/apimachinery/pkg/util/sets",
		"type:.eq.[2]interface {}":                          "",
		"go:buildid":                                        "",
		"type:map[string]int":                               "",
		"runtime":                                           "",
	}
	for sym, want := range tests {
		assert.Equal(t, want, PackageOf(sym), sym)
	}
}

func TestRead(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/sized\n\ngo 1.26\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nimport (\n\t\"fmt\"\n\t\"os\"\n)\n\nvar Table = [4096]byte{1}\n\nvar Zeroes [1 << 20]byte\n\nfunc main() { fmt.Println(Table[len(os.Args)], Zeroes[len(os.Args)]) }\n"), 0o644))
	bin := filepath.Join(dir, "sized")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), goenv.ModuleAlone()...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))

	s, err := Read(bin)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, s.ByPackage["main"], int64(4096))
	assert.Less(t, s.ByPackage["main"], int64(1<<20), "zeroed data has no bytes in the file")
	assert.Positive(t, s.ByPackage["fmt"])
	assert.Positive(t, s.ByPackage["runtime"])

	_, err = Read(filepath.Join(dir, "main.go"))
	assert.ErrorContains(t, err, "only ELF")
}
