// Package datadir keeps one server per data directory: a server takes the
// directory's lock before it touches its storage, and another server on the
// same directory fails at once, naming the process that holds it. It links
// nothing of Kubernetes, so any server of this repository can use it.
package datadir

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

// Lock is a held lock on a data dir. The kernel drops it when the process
// dies, however it dies: a kill -9 leaves no stale lock.
type Lock struct {
	f *os.File
}

// InUseError is the error of Acquire when another process holds the lock.
type InUseError struct {
	Dir string
	// Holder describes the process, as its lock file names it:
	// "process 1234 (minimal-apiserver)".
	Holder string
	Err    error
}

func (e *InUseError) Error() string {
	return fmt.Sprintf("data dir %s is in use by %s", e.Dir, e.Holder)
}
func (e *InUseError) Unwrap() error { return e.Err }

// Acquire takes the data dir's lock without waiting and writes this
// process's PID and program name into the lock file, for the error another
// process gets. Two servers on one data dir would otherwise meet in their
// storage (an embedded etcd waits forever for its bbolt file lock).
func Acquire(dir string) (*Lock, error) {
	path := filepath.Join(dir, lockFile)
	// Go opens files close-on-exec: a child process does not inherit the lock.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("data dir %s cannot be locked: %w", dir, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		holder := readHolder(f)
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, &InUseError{Dir: dir, Holder: holder, Err: err}
		}
		return nil, fmt.Errorf("data dir %s cannot be locked (%s): %w", dir, path, err)
	}
	// Informative only: the lock is the flock, not the content.
	content := fmt.Sprintf("%d %s\n", os.Getpid(), filepath.Base(os.Args[0]))
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(content), 0)
	}
	return &Lock{f: f}, nil
}

// readHolder describes the process named in a lock file.
func readHolder(f *os.File) string {
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

// Release drops the lock; calling it again (or on nil) does nothing.
func (l *Lock) Release() {
	if l == nil || l.f == nil {
		return
	}
	l.f.Close()
	l.f = nil
}

// CheckWritable creates dir (0700) if it is missing and checks that files
// can be created in it, so that a server fails before it starts anything.
func CheckWritable(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data dir %s is not usable: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, ".probe-*")
	if err != nil {
		return fmt.Errorf("data dir %s is not writable: %w", dir, err)
	}
	f.Close()
	return os.Remove(f.Name())
}
