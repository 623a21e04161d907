package faults

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestDataDirInUse starts a second server on the data dir of a running one:
// it must exit within 2 s naming the data dir and the process holding it
// (before, it waited silently on the embedded etcd's file lock).
func TestDataDirInUse(t *testing.T) {
	bin := minimalBin(t)
	for _, storage := range durableStorages() {
		t.Run(storage, func(t *testing.T) {
			r := record(t, "data dir", "second server on a data dir in use", storage)
			dir := t.TempDir()
			first := startIn(t, dir, bin, "--storage="+storage)
			out, exited, ran := launchExpectExit(t, bin, filepath.Join(t.TempDir(), "second.log"), 10*time.Second,
				"--data-dir="+dir, "--secure-port=0", "--storage="+storage)
			r.Numbers["exit after s"] = seconds(ran)
			r.Did = fmt.Sprintf("exited after %.2f s: %s", seconds(ran), firstLine(out, "error:"))
			require.True(t, exited, "the second server still ran after 10 s; its output:\n%s", out)
			assert.Less(t, ran, 2*time.Second, "time to exit")
			assert.Contains(t, out, "data dir "+dir+" is in use by process "+strconv.Itoa(first.Pid()))
			requireReady(t, first)
		})
	}
}

// corruption damages a storage file of a stopped server.
type corruption struct {
	name string
	// file is the damaged file, relative to the data dir.
	file    string
	storage string
	damage  func(t *testing.T, path string)
}

// truncateToHalf cuts the file to half its size, as a disk that lost the
// end of a file would.
func truncateToHalf(t *testing.T, path string) {
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.NoError(t, os.Truncate(path, fi.Size()/2))
}

// truncateTo cuts the file to n bytes.
func truncateTo(n int64) func(t *testing.T, path string) {
	return func(t *testing.T, path string) { require.NoError(t, os.Truncate(path, n)) }
}

// scribbleMiddle overwrites 64 bytes in the middle of the file's written
// part (its non-zero prefix: an etcd WAL file is preallocated with zeros).
func scribbleMiddle(t *testing.T, path string) {
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	used := len(bytes.TrimRight(b, "\x00"))
	require.Greater(t, used, 256, "%s has too little data to damage", path)
	copy(b[used/2:], bytes.Repeat([]byte{0xa5}, 64))
	require.NoError(t, os.WriteFile(path, b, 0o600))
}

// walFile is the first etcd WAL segment.
func walFile(t *testing.T, dir string) string {
	m, err := filepath.Glob(filepath.Join(dir, "etcd", "member", "wal", "*.wal"))
	require.NoError(t, err)
	require.NotEmpty(t, m, "no WAL file under %s", dir)
	return m[0]
}

// TestCorruptStorage damages each backend's storage file after a clean stop
// and restarts: the server must exit with an error naming the file and what
// to do, not crash, hang or start on lost data.
func TestCorruptStorage(t *testing.T) {
	bin := minimalBin(t)
	cases := []corruption{
		// etcd's database file is mostly preallocated space: cut into the
		// pages in use (about 400 KiB here).
		{name: "etcd database truncated to 32 KiB", file: "etcd/member/snap/db", storage: "etcd", damage: truncateTo(32 << 10)},
		{name: "etcd WAL record overwritten", storage: "etcd", damage: scribbleMiddle},
		{name: "kine database truncated", file: "kine.db", storage: "kine", damage: truncateToHalf},
		{name: "native database truncated", file: "native.db", storage: "sqlite", damage: truncateToHalf},
	}
	for _, c := range cases {
		t.Run(strings.ReplaceAll(c.name, " ", "-"), func(t *testing.T) {
			r := record(t, "data dir", c.name, c.storage)
			if !contains(durableStorages(), c.storage) {
				r.Did = fmt.Sprintf("not run: --storage=%s is not under test (MINIMAL_APISERVER_STORAGES; the native backend needs a build on the series tip, make faults)", c.storage)
				t.Skip(r.Did)
			}
			dir := t.TempDir()
			p := startIn(t, dir, bin, "--storage="+c.storage)
			cs := client(t, p)
			for i := range 50 {
				_, err := cs.CoreV1().ConfigMaps("default").Create(t.Context(), &corev1.ConfigMap{
					ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%d", i)}, Data: map[string]string{"k": strings.Repeat("v", 2048)}}, metav1.CreateOptions{})
				require.NoError(t, err)
			}
			p.Stop()
			path := filepath.Join(dir, c.file)
			if c.file == "" {
				path = walFile(t, dir)
			}
			c.damage(t, path)
			out, exited, ran := launchExpectExit(t, bin, filepath.Join(t.TempDir(), "restart.log"), 30*time.Second,
				"--data-dir="+dir, "--secure-port=0", "--storage="+c.storage)
			r.Numbers["exit after s"] = seconds(ran)
			r.Did = fmt.Sprintf("exited after %.2f s: %s", seconds(ran), firstLine(out, "error:"))
			require.True(t, exited, "the server on a damaged %s still ran after 30 s; its output:\n%s", path, tailOf(out, 20))
			assert.Contains(t, out, "storage file "+path+" is corrupt", "the error names the file")
			assert.Contains(t, out, "restore it from a backup", "the error says what to do")
			assert.NotContains(t, out, "panic:", "no panic")
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func tailOf(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

// mountTmpfs mounts a tmpfs of size bytes at a new directory and unmounts it
// when the test ends (after the servers it holds have stopped: cleanups run
// last-registered first). It skips without the privilege to mount.
func mountTmpfs(t *testing.T, size int64) string {
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+strconv.FormatInt(size, 10), "tmpfs", dir).CombinedOutput()
	if err != nil {
		t.Skipf("cannot mount a tmpfs (needs root): %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

func freeBytes(t *testing.T, dir string) int64 {
	var st syscall.Statfs_t
	require.NoError(t, syscall.Statfs(dir, &st))
	return int64(st.Bavail) * st.Bsize
}

// TestDiskFull puts the data dir on a small tmpfs, fills it, and checks that
// writes fail with a clear error while reads go on, that writes succeed again
// once space returns, and that nothing acknowledged was lost.
func TestDiskFull(t *testing.T) {
	bin := minimalBin(t)
	const mib = 1 << 20
	for _, storage := range durableStorages() {
		t.Run(storage, func(t *testing.T) {
			r := record(t, "data dir", "disk full, then space returns", storage)
			mnt := mountTmpfs(t, 256*mib)
			dir := filepath.Join(mnt, "data")
			p := startIn(t, dir, bin, "--storage="+storage)
			cs := client(t, p)
			create := func(name string) error {
				_, err := cs.CoreV1().ConfigMaps("default").Create(t.Context(), &corev1.ConfigMap{
					ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string]string{"k": "v"}}, metav1.CreateOptions{})
				return err
			}
			require.NoError(t, create("before"))
			filler := filepath.Join(mnt, "filler")
			free := freeBytes(t, mnt)
			// Leave 16 MiB: below the server's reserve, above what it needs
			// for its own bookkeeping until the test ends.
			fill(t, filler, free-16*mib)
			r.Numbers["free MiB while full"] = float64(freeBytes(t, mnt)) / mib

			var err error
			deadline := time.Now().Add(5 * time.Second)
			for err = create("while-full"); err == nil && time.Now().Before(deadline); err = create(fmt.Sprintf("while-full-%d", time.Now().UnixNano())) {
				time.Sleep(200 * time.Millisecond)
			}
			require.Error(t, err, "creates kept succeeding with %d MiB free", freeBytes(t, mnt)/mib)
			status := http.StatusInsufficientStorage
			r.Did = "write refused: " + err.Error()
			assert.Contains(t, err.Error(), "free disk space", "the error says what to do")
			code, _ := do(t, httpClient(t, p), http.MethodPost, p.URL()+"/api/v1/namespaces/default/configmaps", "application/json",
				strings.NewReader(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"raw"}}`))
			assert.Equal(t, status, code, "HTTP status of a write on a full disk")
			_, lerr := cs.CoreV1().ConfigMaps("default").List(t.Context(), metav1.ListOptions{})
			assert.NoError(t, lerr, "reads go on while the disk is full")
			requireReady(t, p)

			require.NoError(t, os.Remove(filler))
			start := time.Now()
			for err = create("after"); err != nil && time.Since(start) < 10*time.Second; err = create("after") {
				time.Sleep(100 * time.Millisecond)
			}
			require.NoError(t, err, "writes after space returned")
			r.Numbers["writes again after s"] = seconds(time.Since(start))
			r.Did += fmt.Sprintf("; reads went on; writes succeeded again %.1f s after the space returned", seconds(time.Since(start)))

			p.Stop()
			p2 := startIn(t, dir, bin, "--storage="+storage)
			for _, name := range []string{"before", "after"} {
				_, err := client(t, p2).CoreV1().ConfigMaps("default").Get(t.Context(), name, metav1.GetOptions{})
				assert.NoError(t, err, "acknowledged ConfigMap %s after a restart", name)
			}
		})
	}
}

// fill writes a file of n bytes (or until the disk is full).
func fill(t *testing.T, path string, n int64) {
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	buf := make([]byte, 1<<20)
	for n > 0 {
		w := int64(len(buf))
		if n < w {
			w = n
		}
		if _, err := f.Write(buf[:w]); err != nil {
			return
		}
		n -= w
	}
}
