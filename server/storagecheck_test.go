package server

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.etcd.io/etcd/client/pkg/v3/fileutil"
	"go.etcd.io/etcd/server/v3/storage/wal"
	"go.etcd.io/etcd/server/v3/storage/wal/walpb"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apiserver/pkg/storage"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	"k8s.io/apiserver/pkg/storage/storagebackend/factory"

	"github.com/generic-controlplane/gcp/internal/etcdrun"
	"github.com/generic-controlplane/gcp/storage/sqlite"
)

// configMapStorage is the storage config of ConfigMaps, as an API server
// would have it, for the tests to write real objects.
func configMapStorage() (*storagebackend.ConfigForResource, func() runtime.Object, func() runtime.Object) {
	scheme := runtime.NewScheme()
	if err := corev1.AddToScheme(scheme); err != nil {
		panic(err)
	}
	codec := serializer.NewCodecFactory(scheme).LegacyCodec(corev1.SchemeGroupVersion)
	cfg := storagebackend.NewDefaultConfig("/registry", codec).ForResource(schema.GroupResource{Resource: "configmaps"})
	return cfg, func() runtime.Object { return &corev1.ConfigMap{} }, func() runtime.Object { return &corev1.ConfigMapList{} }
}

// writeConfigMaps creates n ConfigMaps of about size bytes each, named
// prefix-<i>.
func writeConfigMaps(t *testing.T, s storage.Interface, prefix string, n, size int) {
	t.Helper()
	for i := range n {
		cm := &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: fmt.Sprintf("%s-%d", prefix, i)},
			Data:       map[string]string{"v": strings.Repeat(fmt.Sprintf("%d", i%10), size)},
		}
		require.NoError(t, s.Create(context.Background(), "/configmaps/default/"+cm.Name, cm, &corev1.ConfigMap{}, 0))
	}
}

// storageData creates real data with backend in dataDir: n ConfigMaps
// written through the backend's start function and an API server's storage
// layer, then the storage stopped. It returns the files to damage.
func storageData(t *testing.T, backend, dataDir string, n int) []string {
	t.Helper()
	s, stop, files := openConfigMaps(t, backend, dataDir)
	writeConfigMaps(t, s, "cm", n, 1000)
	stop()
	if backend != StorageEtcd {
		checkpoint(t, files[0])
	}
	return files
}

// openConfigMaps starts backend on dataDir and returns the storage of
// ConfigMaps on it, how to stop it and the files it keeps its data in.
func openConfigMaps(t *testing.T, backend, dataDir string) (storage.Interface, func(), []string) {
	t.Helper()
	cfg, newFunc, newListFunc := configMapStorage()
	switch backend {
	case StorageEtcd, StorageKine:
		o := Options{DataDir: dataDir, Storage: StorageOptions{Backend: backend}}
		require.NoError(t, o.Complete())
		sb, err := startStorage(&o)
		require.NoError(t, err)
		sb.configure(&cfg.Config)
		s, destroy, err := factory.Create(*cfg, newFunc, newListFunc, "/configmaps")
		require.NoError(t, err)
		stop := func() { destroy(); sb.stop() }
		if backend == StorageKine {
			return s, stop, []string{o.Storage.KineDSN}
		}
		member := filepath.Join(etcdrun.DataDir(dataDir), "member")
		return s, stop, []string{filepath.Join(member, "snap", "db"), filepath.Join(member, "wal")}
	case StorageSQLite:
		// The native backend registers with the storage backend registry of
		// the patch series; its files are written the same without it.
		path := filepath.Join(dataDir, nativeDBFile)
		n, err := openNative(path)
		require.NoError(t, err)
		s, destroy, err := sqlite.NewStoreFromConfig(n.db, *cfg, newFunc, newListFunc, "/configmaps")
		require.NoError(t, err)
		return s, func() { destroy(); n.close() }, []string{path}
	}
	t.Fatalf("no data for backend %q", backend)
	return nil, nil, nil
}

// checkFiles runs the check Config runs before starting backend on dataDir.
func checkFiles(backend, dataDir string) (time.Duration, error) {
	o := Options{DataDir: dataDir, Storage: StorageOptions{Backend: backend}}
	if err := o.Complete(); err != nil {
		return 0, err
	}
	start := time.Now()
	err := checkStorageFiles(&o)
	return time.Since(start), err
}

// copyDir copies the regular files of src into a new temporary directory.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	require.NoError(t, filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o700)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o600)
	}))
	return dst
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	require.NoError(t, err)
	return st.Size()
}

// overwrite writes n pseudo-random bytes at off.
func overwrite(t *testing.T, path string, off int64, n int) {
	t.Helper()
	garbage := make([]byte, n)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range garbage {
		garbage[i] = byte(r.Uint32() | 1) // never 0: garbage, not a torn write
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	require.NoError(t, err)
	defer f.Close()
	_, err = f.WriteAt(garbage, off)
	require.NoError(t, err)
}

// requireCorrupt asserts err is the error Config gives for file.
func requireCorrupt(t *testing.T, err error, file, moveAway string) {
	t.Helper()
	require.Error(t, err, "the damage of %s must be found", file)
	var ce *CorruptFileError
	require.True(t, errors.As(err, &ce), "%v is not a *CorruptFileError", err)
	assert.Equal(t, file, ce.File)
	assert.True(t, strings.HasPrefix(err.Error(), "storage file "+file+" is corrupt: "), err.Error())
	assert.True(t, strings.HasSuffix(err.Error(), "; restore it from a backup, or move "+moveAway+" away to start with empty storage"), err.Error())
	t.Logf("%v", err)
}

// walRecords returns the start offsets of the records of a WAL segment and
// the offset where they end.
func walRecords(t *testing.T, path string) (starts []int64, end int64) {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	dec := wal.NewDecoder(fileutil.NewFileReader(f))
	rec := &walpb.Record{}
	for {
		off := dec.LastOffset()
		if err := dec.Decode(rec); err != nil {
			return starts, dec.LastOffset()
		}
		starts = append(starts, off)
	}
}

// TestCheckEtcdFiles damages the bbolt database and the WAL of a real
// embedded etcd in the ways a crash, a full disk or a bad copy can, and
// checks that each is refused naming the file, before etcd would panic or
// exit on it, while an intact data dir and a torn last WAL record (which
// etcd repairs) pass.
func TestCheckEtcdFiles(t *testing.T) {
	base := t.TempDir()
	files := storageData(t, StorageEtcd, base, 300)
	segments, err := walFiles(files[1])
	require.NoError(t, err)
	require.Len(t, segments, 1)
	files[1] = segments[0]
	took, err := checkFiles(StorageEtcd, base)
	require.NoError(t, err, "an intact data dir passes")
	t.Logf("check of an intact etcd data dir (db %d bytes, %d in use; WAL segment %d bytes) took %v", fileSize(t, files[0]), boltInUse(t, files[0]), fileSize(t, files[1]), took)

	rel := func(dir, file string) string {
		r, err := filepath.Rel(base, file)
		require.NoError(t, err)
		return filepath.Join(dir, r)
	}
	// reachablePage returns a leaf page of the tree near the middle of the file.
	reachablePage := func(t *testing.T, db string) (id, pageSize uint64) {
		f, err := os.Open(db)
		require.NoError(t, err)
		defer f.Close()
		w, err := newBoltWalk(f)
		require.NoError(t, err)
		require.NoError(t, w.walk())
		for id := w.meta.highWater / 2; id < w.meta.highWater; id++ {
			p := make([]byte, w.meta.pageSize)
			_, err := f.ReadAt(p, int64(id*w.meta.pageSize))
			require.NoError(t, err)
			if w.seen[id/64]&(1<<(id%64)) != 0 && boltOrder.Uint16(p[8:]) == boltLeafPage && boltOrder.Uint16(p[10:]) > 0 {
				return id, w.meta.pageSize
			}
		}
		t.Fatal("no leaf page in the second half of the database")
		return 0, 0
	}
	for _, c := range []struct {
		name   string
		file   int // index in files
		damage func(t *testing.T, path string)
		passes bool
	}{
		{"db truncated to a third of its pages in use", 0, func(t *testing.T, db string) { require.NoError(t, os.Truncate(db, boltInUse(t, db)/3)) }, false},
		{"db truncated to its pages in use", 0, func(t *testing.T, db string) { require.NoError(t, os.Truncate(db, boltInUse(t, db))) }, true},
		{"db page overwritten", 0, func(t *testing.T, db string) {
			id, ps := reachablePage(t, db)
			overwrite(t, db, int64(id*ps), int(ps))
		}, false},
		{"db element pointing past its page", 0, func(t *testing.T, db string) {
			// bbolt would read the key through its memory map, past the
			// file: SIGBUS, the process dies.
			id, ps := reachablePage(t, db)
			f, err := os.OpenFile(db, os.O_WRONLY, 0)
			require.NoError(t, err)
			defer f.Close()
			_, err = f.WriteAt([]byte{0, 0, 0, 0x7f}, int64(id*ps)+boltPageHeaderSize+4) // element 0's pos
			require.NoError(t, err)
		}, false},
		{"db header overwritten", 0, func(t *testing.T, db string) { overwrite(t, db, 0, 8192) }, false},
		{"db first meta page overwritten", 0, func(t *testing.T, db string) { overwrite(t, db, 0, 4096) }, true},
		{"wal record overwritten in the middle", 1, func(t *testing.T, seg string) {
			starts, _ := walRecords(t, seg)
			overwrite(t, seg, starts[len(starts)/2]+20, 16)
		}, false},
		{"wal record length zeroed in the middle", 1, func(t *testing.T, seg string) {
			starts, _ := walRecords(t, seg)
			f, err := os.OpenFile(seg, os.O_WRONLY, 0)
			require.NoError(t, err)
			defer f.Close()
			_, err = f.WriteAt(make([]byte, 8), starts[len(starts)/2])
			require.NoError(t, err)
		}, false},
		{"wal truncated to half its records", 1, func(t *testing.T, seg string) {
			_, end := walRecords(t, seg)
			require.NoError(t, os.Truncate(seg, end/2))
		}, false},
		{"wal header overwritten", 1, func(t *testing.T, seg string) { overwrite(t, seg, 0, 64) }, false},
		{"wal torn last record", 1, func(t *testing.T, seg string) {
			starts, end := walRecords(t, seg)
			last := starts[len(starts)-1]
			f, err := os.OpenFile(seg, os.O_WRONLY, 0)
			require.NoError(t, err)
			defer f.Close()
			// The record's frame made it to disk, its data did not.
			_, err = f.WriteAt(make([]byte, end-last-8), last+8)
			require.NoError(t, err)
		}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := copyDir(t, base)
			file := rel(dir, files[c.file])
			c.damage(t, file)
			took, err := checkFiles(StorageEtcd, dir)
			if !c.passes {
				requireCorrupt(t, err, file, dir)
				t.Logf("found in %v", took)
				return
			}
			require.NoError(t, err)
			// What passes, etcd starts on.
			o := Options{DataDir: dir}
			require.NoError(t, o.Complete())
			sb, err := startStorage(&o)
			require.NoError(t, err, "etcd starts on a data dir that passed the check")
			sb.stop()
		})
	}
}

// TestCheckSQLiteFiles does the same for the SQLite files of kine and of
// the native backend.
func TestCheckSQLiteFiles(t *testing.T) {
	for _, backend := range []string{StorageKine, StorageSQLite} {
		t.Run(backend, func(t *testing.T) {
			if backend == StorageKine && !kineAvailable {
				t.Skip("built without kine")
			}
			base := t.TempDir()
			files := storageData(t, backend, base, 300)
			took, err := checkFiles(backend, base)
			require.NoError(t, err, "an intact file passes")
			assert.NoFileExists(t, files[0]+"-wal", "the check leaves nothing behind")
			t.Logf("check of an intact %s file (%d bytes) took %v", backend, fileSize(t, files[0]), took)
			for _, c := range []struct {
				name   string
				damage func(t *testing.T, path string)
			}{
				{"truncated to a third", func(t *testing.T, db string) { require.NoError(t, os.Truncate(db, fileSize(t, db)/3)) }},
				{"page overwritten in the middle", func(t *testing.T, db string) { overwrite(t, db, fileSize(t, db)/2/4096*4096, 4096) }},
				{"header overwritten", func(t *testing.T, db string) { overwrite(t, db, 0, 100) }},
			} {
				t.Run(c.name, func(t *testing.T) {
					dir := copyDir(t, base)
					file := filepath.Join(dir, filepath.Base(files[0]))
					c.damage(t, file)
					took, err := checkFiles(backend, dir)
					requireCorrupt(t, err, file, dir)
					t.Logf("found in %v", took)
				})
			}
		})
	}
}

// boltInUse is the size of the pages a bbolt file uses: bbolt grows its
// file ahead of them.
func boltInUse(t *testing.T, db string) int64 {
	f, err := os.Open(db)
	require.NoError(t, err)
	defer f.Close()
	w, err := newBoltWalk(f)
	require.NoError(t, err)
	return int64(w.meta.highWater * w.meta.pageSize)
}

// checkpoint moves what the SQLite WAL of path holds into the file and
// removes the WAL, so that damage to the file is damage to the database
// (SQLite reads a page from the WAL when the WAL has it).
func checkpoint(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	require.NoError(t, err)
	_, err = db.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
	require.NoError(t, err)
	require.NoError(t, db.Close())
	assert.NoFileExists(t, path+"-wal")
}

// writeStorageEnv makes the test binary a helper process that writes
// ConfigMaps to the storage "backend:dir" names until it is killed.
const writeStorageEnv = "GCP_TEST_WRITE_STORAGE"

func TestWriteStorageHelper(t *testing.T) {
	backend, dir, ok := strings.Cut(os.Getenv(writeStorageEnv), ":")
	if !ok {
		return // not the helper process
	}
	s, _, _ := openConfigMaps(t, backend, dir)
	for i := 0; ; i++ {
		writeConfigMaps(t, s, "cm", 1, 1000+i%5000) // each write replaces cm-0
		if i == 20 {
			fmt.Println("writing")
		}
		require.NoError(t, s.Delete(context.Background(), "/configmaps/default/cm-0", &corev1.ConfigMap{}, nil, storage.ValidateAllObjectFunc, nil, storage.DeleteOptions{}))
	}
}

// TestCheckAfterKill kills a process writing to each storage with SIGKILL:
// what it leaves passes the check, and the storage starts on it.
func TestCheckAfterKill(t *testing.T) {
	for _, backend := range []string{StorageEtcd, StorageKine, StorageSQLite} {
		t.Run(backend, func(t *testing.T) {
			dir := t.TempDir()
			writer := startHelper(t, "TestWriteStorageHelper", writeStorageEnv+"="+backend+":"+dir, "writing")
			time.Sleep(300 * time.Millisecond)
			kill(t, writer)

			took, err := checkFiles(backend, dir)
			require.NoError(t, err, "what a killed process leaves is not corrupt")
			t.Logf("check after kill -9 took %v", took)
			s, stop, _ := openConfigMaps(t, backend, dir)
			writeConfigMaps(t, s, "after-kill", 1, 10)
			stop()
		})
	}
}

// TestConfigRefusesCorruptStorage: Config reports a corrupt storage file
// before it starts the storage, and releases the data dir.
func TestConfigRefusesCorruptStorage(t *testing.T) {
	dir := t.TempDir()
	files := storageData(t, StorageEtcd, dir, 10)
	overwrite(t, files[0], 0, 8192)
	o := Options{DataDir: dir, ControlPlane: NewControlPlaneOptions()}
	o.ControlPlane.SecureServing.BindPort = 0
	_, err := o.Config(context.Background())
	requireCorrupt(t, err, files[0], dir)
	l, err := lockDataDir(dir)
	require.NoError(t, err)
	l.Release()
}
