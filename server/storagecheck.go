package server

import (
	"bytes"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
	"go.etcd.io/etcd/client/pkg/v3/fileutil"
	"go.etcd.io/etcd/server/v3/storage/wal"
	"go.etcd.io/etcd/server/v3/storage/wal/walpb"
	"k8s.io/klog/v2"

	"github.com/generic-controlplane/gcp/internal/etcdrun"
)

// CorruptFileError reports a storage file that failed its check before the
// storage was started on it. Started on such a file, embedded etcd panics or
// exits through its logger (into <data-dir>/etcd.log, nothing on stderr) and
// kine or the native backend fail in ways that do not name the file.
type CorruptFileError struct {
	// File is the absolute path of the file.
	File string
	// Err says what is wrong with it.
	Err error
	// MoveAway is what to move away to start with empty storage: the data
	// dir, or the file itself when it lives elsewhere.
	MoveAway string
}

func (e *CorruptFileError) Error() string {
	return fmt.Sprintf("storage file %s is corrupt: %v; restore it from a backup, or move %s away to start with empty storage", e.File, e.Err, e.MoveAway)
}

func (e *CorruptFileError) Unwrap() error { return e.Err }

// checkStorageFiles checks the existing files of the in-process storage o
// selects before it is started on them. Files that do not exist yet pass.
func checkStorageFiles(o *Options) error {
	start := time.Now()
	var files []string
	var err error
	switch o.Storage.Backend {
	case StorageEtcd:
		files, err = checkEtcdFiles(filepath.Join(etcdrun.DataDir(o.DataDir), "member"), o.DataDir)
	case StorageKine:
		if path := kineSQLitePath(o.Storage.KineDSN); path != "" {
			files, err = checkSQLiteFile(path, moveAway(o.DataDir, path))
		}
	case StorageSQLite:
		files, err = checkSQLiteFile(filepath.Join(o.DataDir, nativeDBFile), o.DataDir)
	}
	if err == nil && len(files) > 0 {
		klog.Infof("%s: checked %s in %v", o.Name, strings.Join(files, ", "), time.Since(start).Round(time.Millisecond))
	}
	return err
}

// moveAway is what to move away to start afresh without file: dataDir if
// file is in it, else file.
func moveAway(dataDir, file string) string {
	if rel, err := filepath.Rel(dataDir, file); err == nil && !strings.HasPrefix(rel, "..") {
		return dataDir
	}
	return file
}

// kineSQLitePath is the absolute path of the SQLite file a kine DSN names,
// "" for a PostgreSQL DSN (see startKine for the forms).
func kineSQLitePath(dsn string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		return ""
	}
	path, _, _ := strings.Cut(strings.TrimPrefix(dsn, "sqlite://"), "?")
	path = strings.TrimPrefix(path, "file:")
	if path == "" {
		return ""
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return path
	}
	return abs
}

// existingFile reports whether path is a non-empty file; an error other
// than its absence is returned as is (not as corruption).
func existingFile(path string) (bool, error) {
	st, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return st.Size() > 0, nil
}

// checkSQLiteFile opens path read-only and runs PRAGMA quick_check: the
// b-trees, free list and page references. SQLite keeps no checksums, so
// damage inside a row's data passes; it surfaces as that object failing to
// decode.
func checkSQLiteFile(path, moveAway string) ([]string, error) {
	if ok, err := existingFile(path); !ok {
		return nil, err
	}
	// Open errors (permissions) are not corruption: report them as they are.
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	f.Close()
	corrupt := func(err error) error { return &CorruptFileError{File: path, Err: err, MoveAway: moveAway} }
	// Read-only. Without a WAL to replay (the file was closed cleanly) also
	// immutable: SQLite then creates no -wal and -shm files beside it.
	query := "mode=ro"
	if ok, err := existingFile(path + "-wal"); err == nil && !ok {
		query += "&immutable=1"
	}
	dsn := (&url.URL{Scheme: "file", Path: path, RawQuery: query}).String()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.Query("PRAGMA quick_check(5)")
	if err != nil {
		return nil, corrupt(err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return nil, corrupt(err)
		}
		// One line of the error message: the first problem comes after a
		// line naming the schema.
		line = strings.TrimSpace(strings.TrimPrefix(line, "*** in database main ***"))
		problems = append(problems, strings.ReplaceAll(line, "\n", "; "))
	}
	if err := rows.Err(); err != nil {
		return nil, corrupt(err)
	}
	if len(problems) == 1 && problems[0] == "ok" {
		return []string{path}, nil
	}
	return nil, corrupt(fmt.Errorf("quick_check: %s", strings.Join(problems, "; ")))
}

// checkEtcdFiles checks the bbolt database and the WAL of an etcd member
// directory.
func checkEtcdFiles(memberDir, moveAway string) ([]string, error) {
	var checked []string
	db := filepath.Join(memberDir, "snap", "db")
	if ok, err := existingFile(db); err != nil {
		return nil, err
	} else if ok {
		if err := checkBoltFile(db); err != nil {
			if errors.Is(err, bolterrors.ErrTimeout) {
				return nil, fmt.Errorf("storage file %s is locked by another process", db)
			}
			return nil, &CorruptFileError{File: db, Err: err, MoveAway: moveAway}
		}
		checked = append(checked, db)
	}
	walFiles, err := walFiles(filepath.Join(memberDir, "wal"))
	if err != nil {
		return nil, err
	}
	if file, err := checkWAL(walFiles); err != nil {
		return nil, &CorruptFileError{File: file, Err: err, MoveAway: moveAway}
	}
	return append(checked, walFiles...), nil
}

// walFiles lists the WAL segments of dir in order (their names are
// zero-padded hex sequence and index numbers).
func walFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".wal") && e.Type().IsRegular() {
			files = append(files, filepath.Join(dir, e.Name()))
		}
	}
	slices.Sort(files)
	return files, nil
}

// checkWAL reads every record of the WAL segments files (in order) and
// verifies their CRCs, chained across segments as etcd does. It returns the
// segment at fault. A torn record at the end of the last segment (a write
// cut short by a crash: the rest of the segment is zeros) passes: etcd
// repairs it on start. Anything else that stops the reading early is
// refused, also when etcd would take it for the end of the log (a zeroed
// record length followed by records) and silently lose what follows.
func checkWAL(files []string) (string, error) {
	var crc uint32
	for i, file := range files {
		next, err := checkWALSegment(file, crc, i == len(files)-1)
		if err != nil {
			return file, err
		}
		crc = next
	}
	return "", nil
}

// checkWALSegment checks one segment, starting from the CRC the previous
// one ended with, and returns the CRC it ends with.
func checkWALSegment(file string, crc uint32, last bool) (uint32, error) {
	f, err := os.Open(file)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	dec := wal.NewDecoder(fileutil.NewFileReader(f))
	dec.UpdateCRC(crc)
	rec := &walpb.Record{}
	for err = dec.Decode(rec); err == nil; err = dec.Decode(rec) {
		if rec.GetType() == wal.CrcType {
			// As etcd's ReadAll: a segment opens with the CRC the log had so far.
			if c := dec.LastCRC(); c != 0 {
				if err := rec.Validate(c); err != nil {
					return 0, fmt.Errorf("record at offset %d: %w", dec.LastOffset(), err)
				}
			}
			dec.UpdateCRC(rec.GetCrc())
		}
	}
	off := dec.LastOffset()
	switch {
	case errors.Is(err, io.EOF):
		// The records end here; what follows must be the zeros the segment
		// was preallocated with.
		if nz, err := firstNonZero(f, off, st.Size()); err != nil {
			return 0, err
		} else if nz >= 0 {
			return 0, fmt.Errorf("the records stop at offset %d (a zero record length), but data follows at offset %d", off, nz)
		}
	case errors.Is(err, io.ErrUnexpectedEOF) && last:
		torn, err2 := isTornTail(f, off, st.Size())
		if err2 != nil {
			return 0, err2
		}
		if !torn {
			return 0, fmt.Errorf("record at offset %d: %w", off, err)
		}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return 0, fmt.Errorf("record at offset %d is cut off, and this is not the last WAL segment: %w", off, err)
	default:
		return 0, fmt.Errorf("record at offset %d: %w", off, err)
	}
	return dec.LastCRC(), nil
}

// isTornTail reports whether the record at off is a write a crash cut
// short: its frame fits the segment and only zeros follow it.
func isTornTail(f *os.File, off, size int64) (bool, error) {
	var frame [8]byte
	if _, err := f.ReadAt(frame[:], off); err != nil {
		return false, nil
	}
	// The frame: the record length in the low 56 bits; with the top bit
	// set, the padding length in bits 56-58 (etcd's decodeFrameSize).
	l := binary.LittleEndian.Uint64(frame[:])
	recBytes, padBytes := l&(1<<56-1), uint64(0)
	if l&(1<<63) != 0 {
		padBytes = (l >> 56) & 0x7
	}
	end := uint64(off) + 8 + recBytes + padBytes
	if end > uint64(size) {
		return false, nil
	}
	nz, err := firstNonZero(f, int64(end), size)
	return nz < 0, err
}

// firstNonZero returns the offset of the first non-zero byte of f in
// [from, to), or -1.
func firstNonZero(f *os.File, from, to int64) (int64, error) {
	buf, zeros := make([]byte, 1<<20), make([]byte, 1<<20)
	for off := from; off < to; {
		n, err := f.ReadAt(buf[:min(int64(len(buf)), to-off)], off)
		if !bytes.Equal(buf[:n], zeros[:n]) { // vectorized; the search below is not
			return off + int64(slices.IndexFunc(buf[:n], func(b byte) bool { return b != 0 })), nil
		}
		off += int64(n)
		if err == io.EOF {
			return -1, nil
		}
		if err != nil {
			return 0, err
		}
	}
	return -1, nil
}

// checkBoltFile checks a bbolt database: its size against the pages its
// meta page counts, then every page reference and element bound (boltWalk,
// with plain reads), and only then, when reading the file through bbolt's
// memory map cannot fault, bbolt's own consistency check (tx.Check: double
// references, key order, free pages). A fault in a memory-mapped read
// (SIGBUS past the end of a truncated file, a reference to a page outside
// the mapping) would kill the process, not return an error.
func checkBoltFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	w, err := newBoltWalk(f)
	if err == nil {
		err = w.walk()
	}
	f.Close()
	if err != nil {
		return err
	}
	if w.metaDamaged != nil {
		// bbolt opens the file with the other meta page and rewrites this
		// one on the next commit; tx.Check cannot run (it asserts both
		// pages are meta pages), the walk above has checked the rest.
		klog.Warningf("%s: %v; bbolt uses the other meta page", path, w.metaDamaged)
		return nil
	}
	db, err := bolt.Open(path, 0o400, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return err
	}
	defer db.Close()
	return db.View(func(tx *bolt.Tx) error {
		var errs []error
		for err := range tx.Check() {
			errs = append(errs, err)
		}
		switch len(errs) {
		case 0:
			return nil
		case 1:
			return fmt.Errorf("bbolt check: %w", errs[0])
		}
		return fmt.Errorf("bbolt check: %w (and %d more problems)", errs[0], len(errs)-1)
	})
}

// The bbolt file format (go.etcd.io/bbolt/internal/common), version 2.
const (
	boltMagic          = 0xED0CDAED
	boltVersion        = 2
	boltPageHeaderSize = 16 // id uint64, flags uint16, count uint16, overflow uint32
	boltElementSize    = 16 // branch: pos, ksize uint32, pgid uint64; leaf: flags, pos, ksize, vsize uint32
	boltBucketHeader   = 16 // root pgid uint64, sequence uint64; an inline page follows when root is 0
	boltBranchPage     = 0x01
	boltLeafPage       = 0x02
	boltMetaPage       = 0x04
	boltFreelistPage   = 0x10
	boltBucketLeafFlag = 0x01
	boltNoFreelist     = ^uint64(0)
	boltMaxDepth       = 64
)

// bbolt writes its pages in the machine's byte order; every platform etcd
// supports is little-endian.
var boltOrder = binary.LittleEndian

// boltMeta is what a bbolt meta page says about the file.
type boltMeta struct {
	pageSize       uint64
	root, freelist uint64 // page ids
	highWater      uint64 // pages in use: ids below it
	txid           uint64
}

// parseBoltMeta parses and validates a meta page (header included).
func parseBoltMeta(p []byte) (boltMeta, error) {
	const metaStart, checksumAt = boltPageHeaderSize, boltPageHeaderSize + 56
	if len(p) < checksumAt+8 {
		return boltMeta{}, errors.New("meta page cut off")
	}
	if id, flags := boltOrder.Uint64(p[0:]), boltOrder.Uint16(p[8:]); id > 1 || flags != boltMetaPage {
		return boltMeta{}, fmt.Errorf("not a meta page (page type %#x)", flags)
	}
	m := p[metaStart:]
	if boltOrder.Uint32(m[0:]) != boltMagic {
		return boltMeta{}, errors.New("no bbolt magic number")
	}
	if v := boltOrder.Uint32(m[4:]); v != boltVersion {
		return boltMeta{}, fmt.Errorf("format version %d, want %d", v, boltVersion)
	}
	h := fnv.New64a()
	h.Write(p[metaStart:checksumAt])
	if h.Sum64() != boltOrder.Uint64(p[checksumAt:]) {
		return boltMeta{}, errors.New("checksum mismatch")
	}
	return boltMeta{
		pageSize:  uint64(boltOrder.Uint32(m[8:])),
		root:      boltOrder.Uint64(m[16:]),
		freelist:  boltOrder.Uint64(m[32:]),
		highWater: boltOrder.Uint64(m[40:]),
		txid:      boltOrder.Uint64(m[48:]),
	}, nil
}

// readBoltMeta reads the meta pages as bbolt does and returns the valid one
// with the higher transaction id, and what is wrong with the other one, if
// anything.
func readBoltMeta(f *os.File, size int64) (_ boltMeta, damaged error, _ error) {
	buf := make([]byte, 4096)
	n, _ := f.ReadAt(buf, 0)
	m0, err0 := parseBoltMeta(buf[:n])
	// The second meta page is one page further on. Without the first one the
	// page size is unknown: bbolt tries 1 KiB to 16 MiB.
	offsets := []int64{int64(m0.pageSize)}
	if err0 != nil {
		offsets = offsets[:0]
		for i := range 15 {
			offsets = append(offsets, 1024<<i)
		}
	}
	m1, err1 := boltMeta{}, errors.New("no second meta page")
	for _, off := range offsets {
		if off <= 0 || off >= size {
			break
		}
		n, _ := f.ReadAt(buf, off)
		if m1, err1 = parseBoltMeta(buf[:n]); err1 == nil {
			break
		}
	}
	if err0 != nil && err1 != nil {
		err1 = errors.New("no second meta page at any page size")
	}
	switch {
	case err0 != nil && err1 != nil:
		return boltMeta{}, nil, fmt.Errorf("neither meta page is valid (%v; %v): not a bbolt database, or its first pages were overwritten", err0, err1)
	case err0 != nil:
		return m1, fmt.Errorf("meta page 0: %w", err0), nil
	case err1 != nil:
		return m0, fmt.Errorf("meta page 1: %w", err1), nil
	case m0.txid >= m1.txid:
		return m0, nil, nil
	}
	return m1, nil, nil
}

// boltWalk reads a bbolt file with plain reads and checks everything bbolt
// would dereference in its memory map: every page reachable from the root
// bucket and the free list lies below the high-water mark, names itself,
// has the right type, holds its elements and is referenced once (so the
// tree has no cycles), and every key, value and inline bucket lies within
// its page.
type boltWalk struct {
	f    *os.File
	meta boltMeta
	// metaDamaged says what is wrong with the other meta page, if anything:
	// bbolt works with one.
	metaDamaged error
	seen        []uint64 // bitmap of the pages reached
}

func newBoltWalk(f *os.File) (*boltWalk, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := st.Size()
	m, damaged, err := readBoltMeta(f, size)
	if err != nil {
		return nil, err
	}
	if m.pageSize < 512 || m.pageSize > 1<<24 || m.pageSize&(m.pageSize-1) != 0 {
		return nil, fmt.Errorf("meta page: page size %d", m.pageSize)
	}
	if m.highWater > uint64(size)/m.pageSize {
		return nil, fmt.Errorf("the file has %d bytes, but its meta page counts %d pages of %d bytes (%d bytes): it was truncated", size, m.highWater, m.pageSize, m.highWater*m.pageSize)
	}
	return &boltWalk{f: f, meta: m, metaDamaged: damaged, seen: make([]uint64, (m.highWater+63)/64)}, nil
}

func (w *boltWalk) walk() error {
	if w.meta.freelist != boltNoFreelist {
		if err := w.freelist(w.meta.freelist); err != nil {
			return err
		}
	}
	return w.tree(w.meta.root, 0)
}

// page reads page id with its overflow pages.
func (w *boltWalk) page(id uint64) ([]byte, error) {
	hw := w.meta.highWater
	if id < 2 || id >= hw {
		return nil, fmt.Errorf("a reference to page %d, outside the pages in use [2, %d)", id, hw)
	}
	ps := w.meta.pageSize
	var hdr [boltPageHeaderSize]byte
	if _, err := w.f.ReadAt(hdr[:], int64(id*ps)); err != nil {
		return nil, err
	}
	if got := boltOrder.Uint64(hdr[0:]); got != id {
		return nil, fmt.Errorf("page %d identifies itself as page %d", id, got)
	}
	overflow := uint64(boltOrder.Uint32(hdr[12:]))
	if id+overflow >= hw {
		return nil, fmt.Errorf("page %d: its %d overflow pages run past the pages in use (%d)", id, overflow, hw)
	}
	for i := id; i <= id+overflow; i++ {
		if w.seen[i/64]&(1<<(i%64)) != 0 {
			return nil, fmt.Errorf("page %d is referenced twice", i)
		}
		w.seen[i/64] |= 1 << (i % 64)
	}
	p := make([]byte, (overflow+1)*ps)
	if _, err := w.f.ReadAt(p, int64(id*ps)); err != nil {
		return nil, err
	}
	return p, nil
}

func (w *boltWalk) freelist(id uint64) error {
	p, err := w.page(id)
	if err != nil {
		return fmt.Errorf("free list: %w", err)
	}
	if flags := boltOrder.Uint16(p[8:]); flags != boltFreelistPage {
		return fmt.Errorf("free list page %d has page type %#x", id, flags)
	}
	// A count of 0xFFFF means the count is the first id slot.
	first, count := uint64(0), uint64(boltOrder.Uint16(p[10:]))
	if count == 0xFFFF {
		first, count = 1, boltOrder.Uint64(p[boltPageHeaderSize:])
	}
	if count > uint64(len(p)) || boltPageHeaderSize+(first+count)*8 > uint64(len(p)) {
		return fmt.Errorf("free list page %d: %d page ids do not fit in it", id, count)
	}
	for i := first; i < first+count; i++ {
		if free := boltOrder.Uint64(p[boltPageHeaderSize+i*8:]); free < 2 || free >= w.meta.highWater {
			return fmt.Errorf("free list page %d names page %d, outside the pages in use [2, %d)", id, free, w.meta.highWater)
		}
	}
	return nil
}

// tree walks the b+tree rooted at page id.
func (w *boltWalk) tree(id uint64, depth int) error {
	if depth > boltMaxDepth {
		return fmt.Errorf("page %d: the tree is more than %d levels deep", id, boltMaxDepth)
	}
	p, err := w.page(id)
	if err != nil {
		return err
	}
	return w.node(p, id, depth)
}

// node checks the elements of a branch or leaf page p (id names it in
// errors) and walks what they reference.
func (w *boltWalk) node(p []byte, id uint64, depth int) error {
	flags, count := boltOrder.Uint16(p[8:]), uint64(boltOrder.Uint16(p[10:]))
	if boltPageHeaderSize+count*boltElementSize > uint64(len(p)) {
		return fmt.Errorf("page %d: %d elements do not fit in it", id, count)
	}
	for i := range count {
		e := boltPageHeaderSize + i*boltElementSize
		el := p[e : e+boltElementSize]
		switch flags {
		case boltBranchPage:
			pos, ksize := uint64(boltOrder.Uint32(el[0:])), uint64(boltOrder.Uint32(el[4:]))
			if e+pos+ksize > uint64(len(p)) {
				return fmt.Errorf("page %d: the key of element %d lies outside the page", id, i)
			}
			if err := w.tree(boltOrder.Uint64(el[8:]), depth+1); err != nil {
				return err
			}
		case boltLeafPage:
			eflags, pos := boltOrder.Uint32(el[0:]), uint64(boltOrder.Uint32(el[4:]))
			ksize, vsize := uint64(boltOrder.Uint32(el[8:])), uint64(boltOrder.Uint32(el[12:]))
			start := e + pos + ksize
			if start+vsize > uint64(len(p)) {
				return fmt.Errorf("page %d: element %d lies outside the page", id, i)
			}
			if eflags&boltBucketLeafFlag != 0 {
				if err := w.bucket(p[start:start+vsize], id, depth+1); err != nil {
					return err
				}
			}
		default:
			return fmt.Errorf("page %d is not a branch or leaf page (page type %#x)", id, flags)
		}
	}
	return nil
}

// bucket walks a nested bucket whose header v is stored in page id.
func (w *boltWalk) bucket(v []byte, id uint64, depth int) error {
	if len(v) < boltBucketHeader {
		return fmt.Errorf("page %d: a bucket header of %d bytes", id, len(v))
	}
	if root := boltOrder.Uint64(v); root != 0 {
		return w.tree(root, depth)
	}
	inline := v[boltBucketHeader:]
	if len(inline) < boltPageHeaderSize || boltOrder.Uint16(inline[8:]) != boltLeafPage {
		return fmt.Errorf("page %d: an inline bucket that is not a leaf page", id)
	}
	return w.node(inline, id, depth)
}
