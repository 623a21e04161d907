package server

import (
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/klog/v2"
)

// DefaultMinFreeDiskBytes is the free space the server keeps on the disk of
// its storage when Options.MinFreeDiskBytes is 0.
const DefaultMinFreeDiskBytes = 64 << 20

// diskGuardInterval is how long a reading of the free space is used.
const diskGuardInterval = time.Second

// diskGuard rejects writes while the disk of the storage has less free
// space than the minimum. On a full disk the embedded etcd's WAL and
// backend writes fail with a fatal log and the process dies; kine and the
// native backend fail the write. Reads go on; writes resume when space
// returns, without a restart.
type diskGuard struct {
	// label and dir name the directory in messages ("data dir /x").
	label, dir string
	min        uint64
	freeBytes  func(dir string) (uint64, error)
	now        func() time.Time

	mu        sync.Mutex
	checkedAt time.Time
	free      uint64
	err       error
	low       bool
}

// statfsFree is the space available to unprivileged users on dir's file
// system.
func statfsFree(dir string) (uint64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return uint64(st.Bavail) * uint64(st.Bsize), nil
}

// newDiskGuard returns the guard of o's storage, nil when it is disabled
// (a negative Options.MinFreeDiskBytes) or the storage is not on a local
// disk (external etcd, memory, PostgreSQL). It fails when the disk already
// has less than the minimum free.
func newDiskGuard(o *Options, freeBytes func(string) (uint64, error)) (*diskGuard, error) {
	if o.MinFreeDiskBytes < 0 || !o.usesOwnStorage() {
		return nil, nil
	}
	g := &diskGuard{label: "data dir", dir: o.DataDir, min: uint64(o.MinFreeDiskBytes), freeBytes: freeBytes, now: time.Now}
	switch o.Storage.Backend {
	case StorageMemory:
		return nil, nil
	case StorageKine:
		path := kineSQLitePath(o.Storage.KineDSN)
		if path == "" {
			return nil, nil
		}
		if dir := filepath.Dir(path); dir != o.DataDir {
			g.label, g.dir = "storage dir", dir
		}
	}
	free, err := freeBytes(g.dir)
	if err != nil {
		// The storage reports what is wrong with its directory.
		klog.Warningf("cannot read the free space of %s %s: %v", g.label, g.dir, err)
	} else if free < g.min {
		return nil, newFieldError("Options.MinFreeDiskBytes", nil, "%s %s has %s free, below the %s the server keeps free ({field}); free disk space, or lower {field} (a negative value turns the check off)",
			g.label, g.dir, formatBytes(free), formatBytes(g.min))
	}
	return g, nil
}

// freeSpace returns the free space, read at most diskGuardInterval ago.
func (g *diskGuard) freeSpace() (uint64, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if now := g.now(); g.checkedAt.IsZero() || now.Sub(g.checkedAt) >= diskGuardInterval {
		g.checkedAt = now
		g.free, g.err = g.freeBytes(g.dir)
		if g.err != nil {
			klog.Warningf("cannot read the free space of %s %s: %v", g.label, g.dir, g.err)
		}
		if low := g.err == nil && g.free < g.min; low != g.low {
			g.low = low
			if low {
				klog.Warningf("%s; rejecting writes", g.message(g.free))
			} else {
				klog.Infof("%s %s has %s free again; accepting writes", g.label, g.dir, formatBytes(g.free))
			}
		}
	}
	return g.free, g.err
}

func (g *diskGuard) message(free uint64) string {
	return fmt.Sprintf("%s %s has %s free, below the %s the server keeps free (--min-free-disk-bytes); free disk space to resume writes; reads keep working",
		g.label, g.dir, formatBytes(free), formatBytes(g.min))
}

// readOnlyMethods are the HTTP methods that never write.
var readOnlyMethods = map[string]bool{http.MethodGet: true, http.MethodHead: true, http.MethodOptions: true}

// filter rejects requests with a writing method with 507 Insufficient
// Storage while the disk is low. Without a reading it lets them through.
func (g *diskGuard) filter(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if readOnlyMethods[r.Method] {
			h.ServeHTTP(w, r)
			return
		}
		free, err := g.freeSpace()
		if err != nil || free >= g.min {
			h.ServeHTTP(w, r)
			return
		}
		writeStatus(w, http.StatusInsufficientStorage, "InsufficientStorage", g.message(free))
	})
}

// withDiskGuard puts g's filter around the API handler, inside the chain
// build makes: after authentication and authorization (an unauthenticated
// client gets 401, not 507) and after Options.Middleware. A nil g changes
// nothing.
func withDiskGuard(build func(http.Handler, *genericapiserver.Config) http.Handler, g *diskGuard) func(http.Handler, *genericapiserver.Config) http.Handler {
	if g == nil {
		return build
	}
	return func(h http.Handler, c *genericapiserver.Config) http.Handler { return build(g.filter(h), c) }
}

// formatBytes writes n in MiB from 1 MiB on (rounded down), else in bytes.
func formatBytes(n uint64) string {
	if n < 1<<20 {
		return fmt.Sprintf("%d bytes", n)
	}
	return fmt.Sprintf("%d MiB", n>>20)
}
