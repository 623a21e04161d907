package series

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLocate(t *testing.T) {
	t.Chdir(t.TempDir())
	abs := func(p string) string {
		a, err := filepath.Abs(p)
		require.NoError(t, err)
		return a
	}

	// Outside the repository: neither folder is there, and the error names
	// both, absolutely, and what to pass.
	err := Locate("patches", filepath.Join("_output", "kk"), true)
	var le *LocateError
	require.True(t, errors.As(err, &le), "%v", err)
	assert.True(t, le.PatchesMissing)
	assert.True(t, le.TreeMissing)
	msg := err.Error()
	assert.Contains(t, msg, "no patches folder at "+abs("patches"))
	assert.Contains(t, msg, abs("patches/BASE")+" does not exist")
	assert.Contains(t, msg, abs("_output/kk")+"  (missing)")
	for _, want := range []string{"--patches DIR", "--tree DIR", "KK_TREE", "repository root"} {
		assert.Contains(t, msg, want)
	}

	// Patches there, tree not.
	require.NoError(t, os.MkdirAll("patches", 0o755))
	require.NoError(t, os.WriteFile("patches/BASE", []byte("k8s.io/kubernetes v1.37.2\n"), 0o644))
	require.NoError(t, os.WriteFile("patches/series", nil, 0o644))
	err = Locate("patches", "kk", true)
	require.Error(t, err)
	msg = err.Error()
	assert.Contains(t, msg, "no k/k tree at "+abs("kk"))
	assert.Contains(t, msg, abs("patches")+"  (found)")
	assert.Contains(t, msg, "make tree")

	// A command that makes the tree only needs the patches.
	assert.NoError(t, Locate("patches", "kk", false))
	require.NoError(t, os.RemoveAll("patches"))
	err = Locate("patches", "kk", false)
	require.Error(t, err)
	assert.Contains(t, err.Error(), abs("kk")+"  (not there yet)")
	require.NoError(t, os.MkdirAll("kk", 0o755))
	err = Locate("patches", "kk", false)
	require.Error(t, err)
	assert.Contains(t, err.Error(), abs("kk")+"  (found)")
	require.NoError(t, os.MkdirAll("patches", 0o755))
	require.NoError(t, os.WriteFile("patches/BASE", []byte("k8s.io/kubernetes v1.37.2\n"), 0o644))
	require.NoError(t, os.WriteFile("patches/series", nil, 0o644))
	assert.NoError(t, Locate("patches", "kk", true))
}
