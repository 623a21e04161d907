package pin

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) string {
		p := filepath.Join(dir, "BASE")
		require.NoError(t, os.WriteFile(p, []byte(s), 0o644))
		return p
	}

	p, err := ReadFile(write("# comment\n\nk8s.io/kubernetes v1.37.2\n"))
	require.NoError(t, err)
	assert.Equal(t, "v1.37.2", p.Tag())
	assert.Equal(t, "v0.37.2", p.Staging())

	for name, content := range map[string]string{
		"empty":       "# nothing\n",
		"two pins":    "k8s.io/kubernetes v1.37.2\nk8s.io/kubernetes v1.36.3\n",
		"wrong path":  "k8s.io/api v0.37.2\n",
		"prerelease":  "k8s.io/kubernetes v1.38.0-alpha.1\n",
		"not version": "k8s.io/kubernetes latest\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ReadFile(write(content))
			assert.Error(t, err)
		})
	}
}

func TestRealBase(t *testing.T) {
	p, err := ReadFile("../../patches/BASE")
	require.NoError(t, err, "patches/BASE must name the pinned release")
	assert.Regexp(t, `^v1\.\d+\.\d+$`, p.Kubernetes)
}
