package sqlite

import "fmt"

// subscription receives, in revision order, the events of the keys in
// [start, end) committed after rev.
type subscription struct {
	start, end string
	// rev is the revision current when the subscription was made: the
	// subscription receives exactly the writes after it.
	rev int64
	// progress subscriptions also receive progress marks.
	progress bool
	ch       chan *event
	// err says why the subscription was dropped: read it after ch is
	// closed.
	err error
}

// subscribe registers a subscription for the keys in [start, end).
func (db *DB) subscribe(start, end string, progress bool) (*subscription, error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed {
		return nil, errDBClosed
	}
	sub := &subscription{
		start:    start,
		end:      end,
		rev:      db.rev.Load(),
		progress: progress,
		ch:       make(chan *event, db.opts.WatchBufferSize),
	}
	db.subs[sub] = struct{}{}
	return sub, nil
}

// unsubscribe ends sub; its channel is closed.
func (db *DB) unsubscribe(sub *subscription) {
	db.mu.Lock()
	defer db.mu.Unlock()
	db.dropLocked(sub, nil)
}

func (db *DB) dropLocked(sub *subscription, err error) {
	if _, ok := db.subs[sub]; !ok {
		return
	}
	delete(db.subs, sub)
	sub.err = err
	close(sub.ch)
}

// publishLocked hands e to every subscription of its key. It never blocks:
// a subscription whose buffer is full is dropped with an error, which ends
// its watch (the client then re-lists, as after an etcd watch error).
func (db *DB) publishLocked(e *event) {
	for sub := range db.subs {
		if e.key < sub.start || e.key >= sub.end {
			continue
		}
		select {
		case sub.ch <- e:
		default:
			db.dropLocked(sub, fmt.Errorf("watcher fell behind by more than %d events at revision %d", cap(sub.ch), e.rev))
		}
	}
}

// notifyProgress sends a progress mark at the current revision to every
// subscription that asked for them. Sent under mu, the mark follows every
// event up to its revision in each channel. A full channel skips the mark
// rather than ending the watch.
func (db *DB) notifyProgress() {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed {
		return
	}
	e := &event{rev: db.rev.Load(), progress: true}
	for sub := range db.subs {
		if !sub.progress {
			continue
		}
		select {
		case sub.ch <- e:
		default:
		}
	}
}
