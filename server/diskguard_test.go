package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/kubernetes/pkg/controlplane/apiserver/options"
)

// fakeDisk is a disk whose free space the test sets, and a clock.
type fakeDisk struct {
	free  uint64
	reads int
	now   time.Time
}

func (d *fakeDisk) freeBytes(string) (uint64, error) { d.reads++; return d.free, nil }

func guardedOptions(t *testing.T, o Options) *Options {
	t.Helper()
	if o.DataDir == "" {
		o.DataDir = "/data"
	}
	require.NoError(t, o.Complete())
	return &o
}

// TestDiskGuardFilter: with the disk below the minimum, writes get 507 and
// a Status saying why, reads go on; when space returns, writes go through
// again without a restart; the free space is read at most once a second.
func TestDiskGuardFilter(t *testing.T) {
	disk := &fakeDisk{free: 1 << 30, now: time.Unix(1000, 0)}
	g, err := newDiskGuard(guardedOptions(t, Options{}), disk.freeBytes)
	require.NoError(t, err)
	g.now = func() time.Time { return disk.now }
	disk.reads = 0 // the reading at start
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	h := g.filter(api)
	do := func(method string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(method, "/api/v1/namespaces/default/configmaps", nil))
		return w
	}
	writes := []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}
	reads := []string{http.MethodGet, http.MethodHead, http.MethodOptions}

	for _, m := range append(writes, reads...) {
		assert.Equal(t, http.StatusOK, do(m).Code, "%s with space", m)
	}
	require.Equal(t, 1, disk.reads, "one reading for all requests within a second")

	disk.free = 12 << 20
	assert.Equal(t, http.StatusOK, do(http.MethodPost).Code, "the reading is a second old at most: not read again yet")
	disk.now = disk.now.Add(time.Second)
	for _, m := range writes {
		w := do(m)
		require.Equal(t, http.StatusInsufficientStorage, w.Code, "%s with the disk low", m)
		assert.Equal(t, "application/json", w.Header().Get("Content-Type"))
		var status metav1.Status
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &status))
		assert.Equal(t, metav1.Status{
			TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
			Status:   metav1.StatusFailure,
			Message:  "data dir /data has 12 MiB free, below the 64 MiB the server keeps free (--min-free-disk-bytes); free disk space to resume writes; reads keep working",
			Reason:   "InsufficientStorage",
			Code:     http.StatusInsufficientStorage,
		}, status)
	}
	for _, m := range reads {
		assert.Equal(t, http.StatusOK, do(m).Code, "%s with the disk low", m)
	}
	assert.Equal(t, 2, disk.reads)

	disk.free = 100 << 20
	disk.now = disk.now.Add(time.Second)
	for _, m := range writes {
		assert.Equal(t, http.StatusOK, do(m).Code, "%s after space returned", m)
	}
}

// TestDiskGuardInsideTheChain: the filter runs inside the handler chain,
// after authentication: an unauthenticated write gets 401, not 507.
func TestDiskGuardInsideTheChain(t *testing.T) {
	disk := &fakeDisk{free: 100 << 20}
	g, err := newDiskGuard(guardedOptions(t, Options{}), disk.freeBytes)
	require.NoError(t, err)
	disk.free = 0
	authn := func(h http.Handler, _ *genericapiserver.Config) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") == "" {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			h.ServeHTTP(w, r)
		})
	}
	h := withDiskGuard(authn, g)(http.NotFoundHandler(), nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/api/v1/namespaces", nil))
	assert.Equal(t, http.StatusUnauthorized, w.Code)
	r := httptest.NewRequest(http.MethodPost, "/api/v1/namespaces", nil)
	r.Header.Set("Authorization", "Bearer x")
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	assert.Equal(t, http.StatusInsufficientStorage, w.Code)
}

// TestDiskGuardAtStart: a server does not start with less than the minimum
// free, names the setting, and only guards storage on a local disk.
func TestDiskGuardAtStart(t *testing.T) {
	low := &fakeDisk{free: 12 << 20}
	_, err := newDiskGuard(guardedOptions(t, Options{}), low.freeBytes)
	var fe *FieldError
	require.True(t, errors.As(err, &fe), "%v is not a *FieldError", err)
	assert.Equal(t, "Options.MinFreeDiskBytes", fe.Field)
	assert.Equal(t, "data dir /data has 12 MiB free, below the 64 MiB the server keeps free (Options.MinFreeDiskBytes); free disk space, or lower Options.MinFreeDiskBytes (a negative value turns the check off)", err.Error())

	_, err = newDiskGuard(guardedOptions(t, Options{Storage: StorageOptions{Backend: StorageKine, KineDSN: "/elsewhere/k.db"}, MinFreeDiskBytes: 100 << 20}), low.freeBytes)
	assert.EqualError(t, err, "storage dir /elsewhere has 12 MiB free, below the 100 MiB the server keeps free (Options.MinFreeDiskBytes); free disk space, or lower Options.MinFreeDiskBytes (a negative value turns the check off)")

	g, err := newDiskGuard(guardedOptions(t, Options{MinFreeDiskBytes: 10 << 20}), low.freeBytes)
	assert.NoError(t, err)
	assert.NotNil(t, g)

	external := options.NewOptions()
	external.Etcd.StorageConfig.Transport.ServerList = []string{"http://127.0.0.1:2379"}
	for name, o := range map[string]Options{
		"turned off":    {MinFreeDiskBytes: -1},
		"in memory":     {Storage: StorageOptions{Backend: StorageMemory}},
		"on PostgreSQL": {Storage: StorageOptions{Backend: StorageKine, KineDSN: "postgres://db/kine"}},
		"external etcd": {ControlPlane: external},
	} {
		g, err := newDiskGuard(guardedOptions(t, o), low.freeBytes)
		assert.NoError(t, err, name)
		assert.Nil(t, g, name)
	}
}

// TestStatfsFree reads a real file system.
func TestStatfsFree(t *testing.T) {
	free, err := statfsFree(t.TempDir())
	require.NoError(t, err)
	assert.Positive(t, free)
	_, err = statfsFree(filepath.Join(t.TempDir(), "missing"))
	assert.Error(t, err)
}
