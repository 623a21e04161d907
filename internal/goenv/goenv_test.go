package goenv

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEnvironments(t *testing.T) {
	assert.Empty(t, cmp.Diff([]string{"GOWORK=off", "GOFLAGS=-mod=mod"}, ModuleAlone()))
	assert.Empty(t, cmp.Diff([]string{"GOWORK=off", "GOFLAGS=-mod=mod", "GOPROXY=off"}, Offline()))
	assert.Empty(t, cmp.Diff([]string{"GOWORK=/out/kk.go.work", "GOFLAGS=-buildvcs=false -trimpath"}, Workspace("/out/kk.go.work")))
}

func TestSlicesAreFresh(t *testing.T) {
	a := ModuleAlone()
	a[0] = "GOWORK=changed"
	_ = append(ModuleAlone()[:1], "GOFLAGS=changed")
	assert.Empty(t, cmp.Diff([]string{"GOWORK=off", "GOFLAGS=-mod=mod"}, ModuleAlone()))
}

// makeVar returns the value of `name ?= value` (or := or =) in a makefile
// of this repository.
func makeVar(t *testing.T, file, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", file))
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `\s*[?:]?=\s*(.*)$`).FindStringSubmatch(string(data))
	require.NotNil(t, m, "%s defines no %s", file, name)
	return strings.TrimSpace(m[1])
}

// Make cannot call Go without a built tool, so the makefiles spell the
// environments out; these tests keep the spellings equal to the Go
// definitions above.
func TestMakefilesAgree(t *testing.T) {
	assert.Equal(t, strings.Join(ModuleAlone(), " "), makeVar(t, "Makefile", "GOENV_MODULE_ALONE"),
		"Makefile GOENV_MODULE_ALONE must be goenv.ModuleAlone")
	assert.Equal(t, BuildFlags, makeVar(t, "Makefile", "GOENV_BUILD_FLAGS"),
		"Makefile GOENV_BUILD_FLAGS must be goenv.BuildFlags")
	assert.Contains(t, makeVar(t, "Makefile", "TREE_GO"), "GOFLAGS='$(GOENV_BUILD_FLAGS)'",
		"Makefile TREE_GO must use GOENV_BUILD_FLAGS")
}
