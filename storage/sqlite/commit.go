package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Group commit. On disk, a commit costs an fsync, far more than the writes
// it carries, so concurrent writes share one: each write is queued, and
// whichever writer takes the committer token commits, in ONE SQLite
// transaction, every write queued up to its own (at most maxBatch per
// transaction). Each write still gets a revision of its own, reads its key
// as the earlier writes of the batch left it and succeeds or fails its
// expected-revision check by itself. After the commit the committer stores
// the new revision, publishes the batch's events in revision order and
// only then answers the batch's writers. If the transaction fails, every
// write of the batch gets the error and nothing is published.

// maxBatch bounds how many writes one transaction carries.
const maxBatch = 256

// writeOp is one conditional write: store value under key (or delete key
// when del) provided the key's live revision is expectRev (0: the key must
// not exist). ttl > 0 makes the new value expire after ttl seconds.
type writeOp struct {
	key       string
	value     []byte
	del       bool
	expectRev int64
	ttl       uint64

	// The outcome, set before done is closed: the new revision when ok;
	// otherwise the key's live version (nil if none) when err is nil.
	rev int64
	cur *kv
	ok  bool
	err error

	// taken (guarded by DB.qmu) says a committer has taken the op into a
	// batch: from then on its writer waits for the batch.
	taken bool
	done  chan struct{}
}

// write stores value under key (or deletes key when del), provided the key's
// live revision is expectRev (0: the key must not exist). On success it
// returns the new revision; otherwise ok is false and cur is the key's live
// version (nil if none), for the caller's retry. ttl > 0 makes the new value
// expire after ttl seconds. It returns once the write is committed (on disk,
// fsynced) and published to watchers.
func (db *DB) write(ctx context.Context, key string, value []byte, del bool, expectRev int64, ttl uint64) (rev int64, cur *kv, ok bool, err error) {
	op := &writeOp{key: key, value: value, del: del, expectRev: expectRev, ttl: ttl}
	db.submit(ctx, op)
	return op.rev, op.cur, op.ok, op.err
}

// submit queues ops, in order, and returns when each is done. An op still
// queued when ctx ends is withdrawn with ctx.Err(); an op a committer has
// taken is waited for.
func (db *DB) submit(ctx context.Context, ops ...*writeOp) {
	if len(ops) == 0 {
		return
	}
	if err := ctx.Err(); err != nil {
		for _, op := range ops {
			op.err = err
		}
		return
	}
	for _, op := range ops {
		op.done = make(chan struct{})
	}
	db.qmu.Lock()
	db.queue = append(db.queue, ops...)
	db.qmu.Unlock()
	// Batches take the queue from its head, so the last op is done only
	// when all of them are.
	last := ops[len(ops)-1]
	for {
		select {
		case <-last.done:
			return
		case db.committer <- struct{}{}:
			if ctx.Err() == nil {
				db.commitThrough(last)
			}
			<-db.committer
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			db.withdraw(ops, ctx.Err())
			for _, op := range ops {
				<-op.done
			}
			return
		}
	}
}

// withdraw takes the ops no committer has taken out of the queue, done with
// err.
func (db *DB) withdraw(ops []*writeOp, err error) {
	db.qmu.Lock()
	defer db.qmu.Unlock()
	for _, op := range ops {
		if op.taken {
			continue
		}
		for i, q := range db.queue {
			if q == op {
				db.queue = append(db.queue[:i], db.queue[i+1:]...)
				break
			}
		}
		op.taken = true
		op.err = err
		close(op.done)
	}
}

// commitThrough commits batches from the head of the queue until last is
// done. The caller holds the committer token.
func (db *DB) commitThrough(last *writeOp) {
	for {
		select {
		case <-last.done:
			return
		default:
		}
		batch := db.takeBatch()
		if len(batch) == 0 {
			return
		}
		db.commitBatch(batch)
	}
}

// takeBatch takes up to maxBatch ops from the head of the queue.
func (db *DB) takeBatch() []*writeOp {
	db.qmu.Lock()
	defer db.qmu.Unlock()
	n := min(len(db.queue), maxBatch)
	batch := make([]*writeOp, n)
	copy(batch, db.queue)
	for _, op := range batch {
		op.taken = true
	}
	rest := copy(db.queue, db.queue[n:])
	clear(db.queue[rest:])
	db.queue = db.queue[:rest]
	return batch
}

// commitBatch applies ops in one transaction, then publishes their events
// and answers their writers. The caller holds the committer token, so
// batches are published in revision order.
func (db *DB) commitBatch(ops []*writeOp) {
	events, err := db.apply(ops)
	if err != nil {
		for _, op := range ops {
			op.rev, op.cur, op.ok, op.err = 0, nil, false, err
		}
	} else if len(events) > 0 {
		db.mu.Lock()
		db.rev.Store(events[len(events)-1].rev)
		for _, e := range events {
			db.publishLocked(e)
		}
		db.mu.Unlock()
	}
	for _, op := range ops {
		close(op.done)
	}
}

const insertRow = `INSERT INTO kv (rev, key, value, create_rev, prev_rev, deleted, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`

// apply runs ops in order in one transaction and commits it, returning the
// events of the ops that succeeded, in revision order. It sets each op's
// outcome; on an error, which is the whole batch's, nothing is committed.
func (db *DB) apply(ops []*writeOp) ([]*event, error) {
	if db.isClosed() {
		return nil, errDBClosed
	}
	// Once in a batch, a write no longer depends on its writer's context.
	ctx := context.Background()
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	// A batch of several writes prepares its two statements once.
	get := func(key string, rev int64) *sql.Row { return tx.QueryRowContext(ctx, getLive, key, rev) }
	insert := func(args ...any) error {
		_, err := tx.ExecContext(ctx, insertRow, args...)
		return err
	}
	if len(ops) > 1 {
		getStmt, err := tx.PrepareContext(ctx, getLive)
		if err != nil {
			return nil, err
		}
		defer getStmt.Close()
		insertStmt, err := tx.PrepareContext(ctx, insertRow)
		if err != nil {
			return nil, err
		}
		defer insertStmt.Close()
		get = func(key string, rev int64) *sql.Row { return getStmt.QueryRowContext(ctx, key, rev) }
		insert = func(args ...any) error {
			_, err := insertStmt.ExecContext(ctx, args...)
			return err
		}
	}
	rev := db.rev.Load()
	var (
		events []*event
		now    time.Time
	)
	for _, op := range ops {
		// The transaction sees the rows the batch's earlier ops inserted.
		cur, err := scanLive(get(op.key, rev), op.key)
		if err != nil {
			return nil, err
		}
		var curRev int64
		if cur != nil {
			curRev = cur.modRev
		}
		if curRev != op.expectRev || (op.del && cur == nil) {
			op.cur = cur
			continue
		}
		rev++
		createRev, prevRev := rev, int64(0)
		var prevValue []byte
		if cur != nil {
			createRev, prevRev, prevValue = cur.createRev, cur.modRev, cur.value
		}
		var expiresAt int64
		if op.ttl > 0 {
			if now.IsZero() {
				now = time.Now()
			}
			expiresAt = now.Add(time.Duration(op.ttl) * time.Second).UnixNano()
		}
		var stored any = op.value
		if op.del {
			stored = nil
		} else if op.value == nil {
			stored = []byte{}
		}
		if err := insert(rev, op.key, stored, createRev, prevRev, op.del, expiresAt); err != nil {
			return nil, fmt.Errorf("sqlite: write %q: %w", op.key, err)
		}
		op.rev, op.ok = rev, true
		e := &event{rev: rev, key: op.key, prevValue: prevValue, created: cur == nil, deleted: op.del}
		if !op.del {
			e.value = op.value
		}
		events = append(events, e)
	}
	if len(events) == 0 {
		// Every precondition failed: nothing to commit.
		return nil, nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE meta SET value = ? WHERE name = 'rev'`, rev); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("sqlite: commit %d writes: %w", len(events), err)
	}
	return events, nil
}

// scanLive reads the result of getLive: the live version of key, nil if
// none.
func scanLive(row *sql.Row, key string) (*kv, error) {
	var (
		r       kv
		deleted bool
	)
	err := row.Scan(&r.modRev, &r.value, &r.createRev, &deleted)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && deleted) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: get %q: %w", key, err)
	}
	r.key = key
	return &r, nil
}
