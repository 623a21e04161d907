package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"time"

	// The pure Go SQLite driver: no cgo, so a fresh machine builds it with
	// nothing but the Go toolchain.
	_ "modernc.org/sqlite"
)

// Options configures Open.
type Options struct {
	// Path is the database file. The empty string keeps the database in
	// memory: nothing survives Close, which is what tests and throwaway
	// servers want.
	Path string

	// CompactionInterval runs a background compactor: every interval it
	// compacts up to the revision it saw at the previous tick, so at least one
	// interval of history stays available to watchers and paged lists. Zero
	// disables it (Compact can still be called).
	CompactionInterval time.Duration

	// ProgressNotifyInterval is how often watchers opened with
	// ListOptions.ProgressNotify receive a bookmark carrying the current
	// revision, as etcd's progress notifications do. Default 5s.
	ProgressNotifyInterval time.Duration

	// TTLSweepInterval is how often objects written with a TTL are checked
	// for expiry; an expired object is deleted with a revision of its own, so
	// watchers see a DELETED event. Default 100ms.
	TTLSweepInterval time.Duration

	// WatchBufferSize is how many events a watcher may have queued before it
	// is closed with an error as too slow. Writers never wait for watchers.
	// Default 1024.
	WatchBufferSize int
}

func (o Options) withDefaults() Options {
	if o.ProgressNotifyInterval <= 0 {
		o.ProgressNotifyInterval = 5 * time.Second
	}
	if o.TTLSweepInterval <= 0 {
		o.TTLSweepInterval = 100 * time.Millisecond
	}
	if o.WatchBufferSize <= 0 {
		o.WatchBufferSize = 1024
	}
	return o
}

// DB is one SQLite database holding the objects of every resource, as one
// etcd cluster does: a single revision counter orders all writes, so a
// resourceVersion means the same point in time for every resource.
//
// The data is an MVCC log. Each write (create, update, delete, expiry)
// inserts one row whose rev is the new revision; a read at revision R sees,
// for each key, the newest row with rev <= R unless that row is a deletion.
// Compaction removes rows no read at or after the compacted revision can
// see.
type DB struct {
	sql  *sql.DB
	opts Options

	// committer is held by the one goroutine committing a batch of writes
	// (or compacting): one SQLite write transaction at a time, and a batch's
	// events are published before the next batch starts, so watchers
	// receive events in revision order. A token: take it by sending, give
	// it back by receiving.
	committer chan struct{}
	// qmu guards queue, the writes waiting for a committer, in arrival
	// order.
	qmu   sync.Mutex
	queue []*writeOp

	// mu guards subs and closed. A committer stores the new revision and
	// publishes its events under mu; subscribing takes mu too, which makes
	// the revision a watcher starts from exact.
	mu     sync.Mutex
	subs   map[*subscription]struct{}
	closed bool

	// rev is the last committed revision; compacted the last compaction.
	// Readers load them without taking mu.
	rev       atomic.Int64
	compacted atomic.Int64

	stop chan struct{}
	wg   sync.WaitGroup
}

const ddl = `
CREATE TABLE IF NOT EXISTS kv (
	rev        INTEGER PRIMARY KEY, -- the revision of this write: the resourceVersion
	key        TEXT    NOT NULL,    -- full storage key, e.g. /registry/pods/ns/name
	value      BLOB,                -- the transformer's output; NULL for a deletion
	create_rev INTEGER NOT NULL,    -- revision that created this incarnation of the key
	prev_rev   INTEGER NOT NULL,    -- revision of the live version this write replaced, 0 if none
	deleted    INTEGER NOT NULL DEFAULT 0,
	expires_at INTEGER NOT NULL DEFAULT 0 -- unix nanoseconds; 0 means no TTL
);
CREATE INDEX IF NOT EXISTS kv_key_rev ON kv (key, rev);
CREATE INDEX IF NOT EXISTS kv_expiry ON kv (expires_at) WHERE expires_at > 0;
CREATE TABLE IF NOT EXISTS meta (
	name  TEXT PRIMARY KEY,
	value INTEGER NOT NULL
);
-- A fresh database is at revision 1, like a fresh etcd cluster, so that the
-- current resourceVersion is never 0 (which means "any" to the API).
INSERT OR IGNORE INTO meta (name, value) VALUES ('rev', 1), ('compacted', 0);
`

// Open opens (creating if needed) the database of opts.Path, or an in-memory
// one. One DB serves all resources of a process; call NewStore per resource.
func Open(ctx context.Context, opts Options) (*DB, error) {
	opts = opts.withDefaults()
	var dsn string
	if opts.Path == "" {
		dsn = "file::memory:"
	} else {
		// WAL lets readers run beside the writer; synchronous=FULL makes a
		// commit durable (fsynced) before a write is acknowledged.
		q := url.Values{}
		q.Set("_busy_timeout", "10000")
		q.Set("_journal_mode", "WAL")
		q.Set("_synchronous", "FULL")
		q.Set("_txlock", "immediate")
		dsn = "file:" + opts.Path + "?" + q.Encode()
		// The database holds every object, Secrets included: create it
		// readable by its owner only. SQLite gives its -wal and -shm files
		// the database file's mode.
		f, err := os.OpenFile(opts.Path, os.O_RDONLY|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("sqlite: create %q: %w", opts.Path, err)
		}
		f.Close()
	}
	sdb, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %q: %w", opts.Path, err)
	}
	if opts.Path == "" {
		// Every connection to :memory: is a database of its own: keep
		// exactly one, forever.
		sdb.SetMaxOpenConns(1)
		sdb.SetMaxIdleConns(1)
		sdb.SetConnMaxLifetime(0)
		sdb.SetConnMaxIdleTime(0)
	} else {
		sdb.SetMaxOpenConns(8)
		sdb.SetMaxIdleConns(8)
	}
	if _, err := sdb.ExecContext(ctx, ddl); err != nil {
		sdb.Close()
		return nil, fmt.Errorf("sqlite: create schema in %q: %w", opts.Path, err)
	}
	db := &DB{sql: sdb, opts: opts, committer: make(chan struct{}, 1), subs: map[*subscription]struct{}{}, stop: make(chan struct{})}
	var rev, compacted int64
	if err := sdb.QueryRowContext(ctx, `SELECT (SELECT value FROM meta WHERE name = 'rev'), (SELECT value FROM meta WHERE name = 'compacted')`).Scan(&rev, &compacted); err != nil {
		sdb.Close()
		return nil, fmt.Errorf("sqlite: read revision of %q: %w", opts.Path, err)
	}
	db.rev.Store(rev)
	db.compacted.Store(compacted)

	db.goLoop(opts.TTLSweepInterval, db.expire)
	db.goLoop(opts.ProgressNotifyInterval, func(context.Context) { db.notifyProgress() })
	if opts.CompactionInterval > 0 {
		var last int64
		db.goLoop(opts.CompactionInterval, func(ctx context.Context) {
			if last > 0 {
				_ = db.Compact(ctx, last)
			}
			last = db.rev.Load()
		})
	}
	return db, nil
}

// goLoop runs f every interval until Close.
func (db *DB) goLoop(interval time.Duration, f func(context.Context)) {
	ctx, cancel := context.WithCancel(context.Background())
	db.wg.Add(1)
	go func() {
		defer db.wg.Done()
		defer cancel()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-db.stop:
				return
			case <-t.C:
				f(ctx)
			}
		}
	}()
}

// Close stops the background loops, ends every watch and closes the
// database.
func (db *DB) Close() error {
	db.mu.Lock()
	if db.closed {
		db.mu.Unlock()
		return nil
	}
	db.closed = true
	for sub := range db.subs {
		db.dropLocked(sub, errDBClosed)
	}
	db.mu.Unlock()
	close(db.stop)
	db.wg.Wait()
	return db.sql.Close()
}

var errDBClosed = errors.New("sqlite: database is closed")

func (db *DB) isClosed() bool {
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.closed
}

// CurrentRevision is the revision of the last committed write.
func (db *DB) CurrentRevision() int64 { return db.rev.Load() }

// CompactedRevision is the revision of the last compaction, 0 if none.
func (db *DB) CompactedRevision() int64 { return db.compacted.Load() }

// Compact removes the history older than rev: afterwards, reads and watches
// at revisions below rev fail with 410 Gone, and reads at rev or later are
// unaffected. Compacting to a revision at or below the last compaction does
// nothing.
func (db *DB) Compact(ctx context.Context, rev int64) error {
	// Compaction is a write transaction: it takes the committer token, so
	// no batch of writes runs beside it and the current revision holds.
	select {
	case db.committer <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-db.committer }()
	if db.isClosed() {
		return errDBClosed
	}
	if cur := db.rev.Load(); rev > cur {
		return fmt.Errorf("sqlite: cannot compact to revision %d, the current revision is %d", rev, cur)
	}
	if rev <= db.compacted.Load() {
		return nil
	}
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	// A row at or below rev is invisible to every read at rev or later when
	// it is a deletion or a newer row of its key at or below rev exists.
	if _, err := tx.ExecContext(ctx, `
DELETE FROM kv WHERE rev <= ?1 AND (deleted = 1 OR rev < (
	SELECT MAX(n.rev) FROM kv AS n WHERE n.key = kv.key AND n.rev <= ?1))`, rev); err != nil {
		return fmt.Errorf("sqlite: compact to %d: %w", rev, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE meta SET value = ? WHERE name = 'compacted'`, rev); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	db.compacted.Store(rev)
	return nil
}

// kv is one stored version of a key.
type kv struct {
	key       string
	value     []byte
	modRev    int64
	createRev int64
}

// event is one committed write as watchers receive it, or a progress mark.
type event struct {
	rev       int64
	key       string
	value     []byte // nil for a deletion
	prevValue []byte // the value replaced or deleted; nil on creation
	created   bool
	deleted   bool
	// progress marks that every write up to rev has been sent before it.
	progress bool
}

// querier is what reads need of *sql.DB and *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// getLive selects the live version of key ?1 at revision ?2, for scanLive.
const getLive = `SELECT rev, value, create_rev, deleted FROM kv WHERE key = ? AND rev <= ? ORDER BY rev DESC LIMIT 1`

// getAt returns the live version of key at revision rev, nil if the key did
// not exist then.
func getAt(ctx context.Context, q querier, key string, rev int64) (*kv, error) {
	return scanLive(q.QueryRowContext(ctx, getLive, key, rev), key)
}

// latestRows selects, for every key in [?1, ?2), the rev of its newest row
// at or below revision ?3; joined back to kv it gives the keys' state at ?3.
const latestRows = `SELECT key AS k, MAX(rev) AS r FROM kv WHERE key >= ?1 AND key < ?2 AND rev <= ?3 GROUP BY key`

// list returns up to limit (<= 0: all) live keys in [start, end) as of
// revision rev, in key order.
func (db *DB) list(ctx context.Context, start, end string, rev, limit int64) ([]*kv, error) {
	if limit <= 0 {
		limit = -1
	}
	rows, err := db.sql.QueryContext(ctx, `SELECT kv.key, kv.rev, kv.create_rev, kv.value FROM kv JOIN (`+latestRows+`) AS l ON kv.rev = l.r
WHERE kv.deleted = 0 ORDER BY kv.key LIMIT ?4`, start, end, rev, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list [%q, %q) at %d: %w", start, end, rev, err)
	}
	defer rows.Close()
	var out []*kv
	for rows.Next() {
		r := &kv{}
		if err := rows.Scan(&r.key, &r.modRev, &r.createRev, &r.value); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// count returns how many live keys are in [start, end) as of revision rev
// and the total size of their values.
func (db *DB) count(ctx context.Context, start, end string, rev int64) (n, size int64, err error) {
	err = db.sql.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(LENGTH(kv.value)), 0) FROM kv JOIN (`+latestRows+`) AS l ON kv.rev = l.r
WHERE kv.deleted = 0`, start, end, rev).Scan(&n, &size)
	if err != nil {
		return 0, 0, fmt.Errorf("sqlite: count [%q, %q) at %d: %w", start, end, rev, err)
	}
	return n, size, nil
}

// history returns up to limit writes to keys in [start, end) with revisions
// in (from, to], in revision order, each with the value it replaced.
func (db *DB) history(ctx context.Context, start, end string, from, to int64, limit int) ([]*event, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT kv.rev, kv.key, kv.value, kv.deleted, kv.prev_rev, p.value FROM kv LEFT JOIN kv AS p ON p.rev = kv.prev_rev
WHERE kv.rev > ? AND kv.rev <= ? AND kv.key >= ? AND kv.key < ? ORDER BY kv.rev LIMIT ?`, from, to, start, end, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: history of [%q, %q) in (%d, %d]: %w", start, end, from, to, err)
	}
	defer rows.Close()
	var out []*event
	for rows.Next() {
		var (
			e       event
			prevRev int64
		)
		if err := rows.Scan(&e.rev, &e.key, &e.value, &e.deleted, &prevRev, &e.prevValue); err != nil {
			return nil, err
		}
		e.created = prevRev == 0
		if e.deleted {
			e.value = nil
		}
		out = append(out, &e)
	}
	return out, rows.Err()
}

// expire deletes the objects whose TTL has passed, each as a write of its
// own, so that watchers see them go.
func (db *DB) expire(ctx context.Context) {
	rows, err := db.sql.QueryContext(ctx, `SELECT kv.key, kv.rev FROM kv WHERE kv.expires_at > 0 AND kv.expires_at <= ? AND kv.deleted = 0
AND kv.rev = (SELECT MAX(n.rev) FROM kv AS n WHERE n.key = kv.key)`, time.Now().UnixNano())
	if err != nil {
		return
	}
	type due struct {
		key string
		rev int64
	}
	var expired []due
	for rows.Next() {
		var d due
		if rows.Scan(&d.key, &d.rev) == nil {
			expired = append(expired, d)
		}
	}
	rows.Close()
	// Each deletion is conditional on the expired version still being the
	// live one: a write since then replaced its TTL. Submitted together,
	// they share a commit.
	ops := make([]*writeOp, len(expired))
	for i, d := range expired {
		ops[i] = &writeOp{key: d.key, del: true, expectRev: d.rev}
	}
	db.submit(ctx, ops...)
}

// prefixEnd is the smallest key greater than every key starting with
// prefix, for range queries.
func prefixEnd(prefix string) string {
	b := []byte(prefix)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1])
		}
	}
	// Every byte is 0xff: no key sorts above the prefix's keys but these.
	return prefix + "\xff"
}
