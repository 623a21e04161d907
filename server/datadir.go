package server

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// lockFile is the data dir's lock: a server holds an exclusive flock on it
// for as long as it runs.
const lockFile = "lock"

// dataDirLock is a held lock on a data dir. The kernel drops it when the
// process dies, however it dies: a kill -9 leaves no stale lock.
type dataDirLock struct {
	f *os.File
}

// lockDataDir takes the data dir's lock without waiting and writes this
// process's PID and program name into the lock file, for the error another
// process gets. Two servers on one data dir would otherwise meet in their
// storage (the embedded etcd waits forever for its bbolt file lock).
func lockDataDir(dir string) (*dataDirLock, error) {
	path := filepath.Join(dir, lockFile)
	// Go opens files close-on-exec: a child process does not inherit the lock.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, newFieldError("Options.DataDir", err, "data dir %s cannot be locked: %v", dir, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		holder := readLockHolder(f)
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, newFieldError("Options.DataDir", err, "data dir %s is in use by %s; stop it or choose another {field}", dir, holder)
		}
		return nil, newFieldError("Options.DataDir", err, "data dir %s cannot be locked (%s): %v", dir, path, err)
	}
	// Informative only: the lock is the flock, not the content.
	content := fmt.Sprintf("%d %s\n", os.Getpid(), filepath.Base(os.Args[0]))
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(content), 0)
	}
	return &dataDirLock{f: f}, nil
}

// readLockHolder describes the process named in a lock file.
func readLockHolder(f *os.File) string {
	b := make([]byte, 512)
	n, _ := f.ReadAt(b, 0)
	pid, name, _ := strings.Cut(strings.TrimSpace(string(b[:n])), " ")
	if _, err := strconv.Atoi(pid); err != nil {
		return "another process"
	}
	if name == "" {
		return "process " + pid
	}
	return fmt.Sprintf("process %s (%s)", pid, name)
}

// release drops the lock; calling it again (or on nil) does nothing.
func (l *dataDirLock) release() {
	if l == nil || l.f == nil {
		return
	}
	l.f.Close()
	l.f = nil
}
