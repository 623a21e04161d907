package datadir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAcquireIsExclusive(t *testing.T) {
	dir := t.TempDir()
	first, err := Acquire(dir)
	require.NoError(t, err)

	// flock locks belong to open files: a second Acquire fails even in the
	// same process, as a second server process would.
	_, err = Acquire(dir)
	var inUse *InUseError
	require.True(t, errors.As(err, &inUse), "second Acquire: %v, want an InUseError", err)
	assert.Equal(t, fmt.Sprintf("process %d (%s)", os.Getpid(), filepath.Base(os.Args[0])), inUse.Holder)
	assert.Equal(t, fmt.Sprintf("data dir %s is in use by %s", dir, inUse.Holder), err.Error())

	first.Release()
	first.Release() // a second release does nothing
	again, err := Acquire(dir)
	require.NoError(t, err, "Acquire after Release")
	again.Release()
}

func TestAcquireFailsOnAMissingDir(t *testing.T) {
	_, err := Acquire(filepath.Join(t.TempDir(), "missing"))
	require.ErrorContains(t, err, "cannot be locked")
	assert.False(t, errors.As(err, new(*InUseError)))
}

func TestCheckWritableCreatesTheDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	require.NoError(t, CheckWritable(dir))
	info, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), info.Mode().Perm())
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries, "the probe file is left behind")

	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	assert.ErrorContains(t, CheckWritable(file), "is not usable")
}
