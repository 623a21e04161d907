package sqlite

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apiserver/pkg/storage/storagebackend"
)

func TestOnFirstUseOpensWithTheOptionsOfThatTime(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "unset.db")
	calls := 0
	lazy := OnFirstUse(func() Options { calls++; return Options{Path: path} })
	assert.Zero(t, calls, "OnFirstUse opened the DB before its first use")
	assert.NoFileExists(t, path)

	path = filepath.Join(dir, "set-by-a-flag.db")
	check, err := lazy.HealthCheck(storagebackend.Config{}, nil)
	require.NoError(t, err)
	require.NoError(t, check())
	assert.FileExists(t, path)
	assert.NoFileExists(t, filepath.Join(dir, "unset.db"))

	_, err = lazy.ReadyCheck(storagebackend.Config{}, nil)
	require.NoError(t, err)
	db, err := lazy.DB()
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	assert.Equal(t, 1, calls, "the DB opened more than once")
}

func TestOnFirstUseReportsTheOpenError(t *testing.T) {
	lazy := OnFirstUse(func() Options { return Options{Path: filepath.Join(t.TempDir(), "missing", "dir", "x.db")} })
	_, _, err := lazy.Create(storagebackend.ConfigForResource{}, nil, nil, "/registry")
	require.Error(t, err)
	_, err2 := lazy.HealthCheck(storagebackend.Config{}, nil)
	assert.Equal(t, err, err2, "a second use reports the same error")
}
