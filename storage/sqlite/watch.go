package sqlite

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/apiserver/pkg/features"
	"k8s.io/apiserver/pkg/storage"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	utilflowcontrol "k8s.io/apiserver/pkg/util/flowcontrol"
	"k8s.io/klog/v2"
)

const (
	// resultBufferSize is how many decoded events a watch holds for its
	// client; beyond it, events wait in the subscription's buffer.
	resultBufferSize = 100
	// historyPageSize is how many past writes a watch reads at a time when
	// it replays history.
	historyPageSize = 1000
)

// Watch implements storage.Interface.
//
// The watch subscribes to new writes first, at revision R. It then sends
// what comes before R (the state at R as ADDED events, or the writes since
// the requested resourceVersion read back from the log) and then the writes
// after R from its subscription: nothing is missed and nothing sent twice.
func (s *store) Watch(ctx context.Context, key string, opts storage.ListOptions) (watch.Interface, error) {
	preparedKey, err := s.prepareKey(key, opts.Recursive)
	if err != nil {
		return nil, err
	}
	rv, err := s.versioner.ParseResourceVersion(opts.ResourceVersion)
	if err != nil {
		return nil, err
	}
	if opts.ProgressNotify && s.newFunc == nil {
		return nil, apierrors.NewInternalError(errors.New("progressNotify for watch is unsupported by the sqlite storage because no newFunc was provided"))
	}
	start, end := preparedKey, preparedKey+"\x00"
	if opts.Recursive {
		end = prefixEnd(preparedKey)
	}
	sub, err := s.db.subscribe(start, end, opts.ProgressNotify)
	if err != nil {
		return nil, err
	}

	watchList := utilfeature.DefaultFeatureGate.Enabled(features.WatchList)
	sendInitial := opts.SendInitialEvents != nil && *opts.SendInitialEvents
	w := &watcher{
		store:            s,
		sub:              sub,
		start:            start,
		end:              end,
		from:             int64(rv),
		pred:             opts.Predicate,
		everything:       opts.Predicate.Empty(),
		recordTimestamps: opts.RecordTimestamps,
		// rv 0 without SendInitialEvents is the legacy "state, then
		// changes"; SendInitialEvents asks for it explicitly (watch-list).
		initialEvents: (opts.SendInitialEvents == nil && rv == 0) || (watchList && sendInitial),
		endBookmark:   watchList && sendInitial && opts.Predicate.AllowWatchBookmarks,
		result:        make(chan watch.Event, resultBufferSize),
	}
	if w.from == 0 && !w.initialEvents {
		// Neither a revision nor the initial state: changes from now on.
		w.from = sub.rev
	}
	w.ctx, w.cancel = context.WithCancel(ctx)
	go w.run()
	// Events flow as soon as the watch exists, so it counts as initialized
	// for API priority and fairness right away.
	utilflowcontrol.WatchInitialized(ctx)
	return w, nil
}

// errWatchEnded says the watch has ended (stopped, or its error sent).
var errWatchEnded = errors.New("watch ended")

// watcher implements watch.Interface for one Watch call.
type watcher struct {
	store      *store
	sub        *subscription
	start, end string
	// from is the revision the client has seen: it gets writes after it.
	from             int64
	pred             storage.SelectionPredicate
	everything       bool
	recordTimestamps bool
	initialEvents    bool
	endBookmark      bool

	ctx    context.Context
	cancel context.CancelFunc
	result chan watch.Event
}

// Stop implements watch.Interface.
func (w *watcher) Stop() { w.cancel() }

// ResultChan implements watch.Interface.
func (w *watcher) ResultChan() <-chan watch.Event { return w.result }

func (w *watcher) run() {
	defer close(w.result)
	defer w.store.db.unsubscribe(w.sub)
	defer w.cancel()
	if err := w.catchUp(); err != nil {
		if !errors.Is(err, errWatchEnded) {
			w.sendError(err)
		}
		return
	}
	for {
		select {
		case <-w.ctx.Done():
			return
		case e, ok := <-w.sub.ch:
			if !ok {
				if w.sub.err != nil {
					w.sendError(w.sub.err)
				}
				return
			}
			if !w.handle(e, false) {
				return
			}
		}
	}
}

// catchUp sends what happened up to the subscription's revision.
func (w *watcher) catchUp() error {
	subRev := w.sub.rev
	switch {
	case w.initialEvents:
		if w.from > subRev {
			return storage.NewTooLargeResourceVersionError(uint64(w.from), uint64(subRev), 1)
		}
		if err := w.sendState(subRev); err != nil {
			return err
		}
		w.from = subRev
		if w.endBookmark {
			if !w.sendBookmark(subRev, true) {
				return errWatchEnded
			}
		}
	case w.from < subRev:
		if err := w.replay(subRev); err != nil {
			return err
		}
	}
	return nil
}

// sendState sends the state at rev as ADDED events, in key order.
func (w *watcher) sendState(rev int64) error {
	start := w.start
	for {
		rows, err := w.store.db.list(w.ctx, start, w.end, rev, historyPageSize)
		if err != nil {
			return err
		}
		for _, row := range rows {
			if !w.handle(&event{rev: row.modRev, key: row.key, value: row.value, created: true}, true) {
				return errWatchEnded
			}
		}
		if len(rows) < historyPageSize {
			return nil
		}
		start = rows[len(rows)-1].key + "\x00"
	}
}

// replay sends the writes in (w.from, to] from the log.
func (w *watcher) replay(to int64) error {
	from := w.from
	tooOld := func() bool { return from < w.store.db.CompactedRevision() }
	if tooOld() {
		return apierrors.NewResourceExpired(msgWatchTooOld)
	}
	for from < to {
		events, err := w.store.db.history(w.ctx, w.start, w.end, from, to, historyPageSize)
		if err != nil {
			return err
		}
		// A compaction during the read may have removed what it needed.
		if tooOld() {
			return apierrors.NewResourceExpired(msgWatchTooOld)
		}
		for _, e := range events {
			if !w.handle(e, false) {
				return errWatchEnded
			}
		}
		if len(events) < historyPageSize {
			return nil
		}
		from = events[len(events)-1].rev
	}
	return nil
}

// handle sends what e means to this watch. It returns false when the watch
// must end.
func (w *watcher) handle(e *event, initial bool) bool {
	if e.progress {
		if e.rev < w.from {
			// The client asked for a revision not reached yet.
			return true
		}
		return w.sendBookmark(e.rev, false)
	}
	if e.rev <= w.from && !initial {
		return true
	}
	res, err := w.toWatchEvent(e, initial)
	if err != nil {
		klog.Errorf("sqlite watch of %s: %v", w.start, err)
		w.sendError(err)
		return false
	}
	if res == nil {
		return true
	}
	return w.send(*res)
}

func (w *watcher) matches(obj runtime.Object) bool {
	if w.everything {
		return true
	}
	matched, err := w.pred.Matches(obj)
	return err == nil && matched
}

// decode turns a stored value into an object at revision rev.
func (w *watcher) decode(key string, value []byte, rev int64) (runtime.Object, error) {
	data, _, err := w.store.fromStorage(w.ctx, key, value)
	if err != nil {
		return nil, err
	}
	return w.store.decodeInto(data, nil, rev)
}

// toWatchEvent decides what e is to this watch's predicate: a write
// that makes an object match is ADDED, one that makes it stop matching is
// DELETED. It returns nil when the watch does not see e.
func (w *watcher) toWatchEvent(e *event, initial bool) (*watch.Event, error) {
	var cur, prev runtime.Object
	var err error
	if !e.deleted {
		if cur, err = w.decode(e.key, e.value, e.rev); err != nil {
			return nil, err
		}
	}
	// The old object matters to deletions, and to filtered watches.
	if e.prevValue != nil && (e.deleted || !w.everything) {
		// A DELETED event carries the old object at the deletion's revision.
		if prev, err = w.decode(e.key, e.prevValue, e.rev); err != nil {
			var corrupt *corruptObjectError
			if e.deleted && errors.As(err, &corrupt) {
				return nil, &corruptDeletedError{err: corrupt}
			}
			return nil, err
		}
	}
	var res *watch.Event
	switch {
	case e.deleted:
		if prev == nil {
			return nil, fmt.Errorf("deletion of %q at revision %d has no previous value", e.key, e.rev)
		}
		if w.matches(prev) {
			res = &watch.Event{Type: watch.Deleted, Object: prev}
		}
	case e.created:
		if w.matches(cur) {
			res = &watch.Event{Type: watch.Added, Object: cur}
		}
	case w.everything:
		res = &watch.Event{Type: watch.Modified, Object: cur}
	default:
		curOK, prevOK := w.matches(cur), prev != nil && w.matches(prev)
		switch {
		case curOK && prevOK:
			res = &watch.Event{Type: watch.Modified, Object: cur}
		case curOK:
			res = &watch.Event{Type: watch.Added, Object: cur}
		case prevOK:
			res = &watch.Event{Type: watch.Deleted, Object: prev}
		}
	}
	if res != nil && w.recordTimestamps && !initial {
		res.Object = &timedObject{Object: res.Object, at: time.Now()}
	}
	return res, nil
}

// sendBookmark sends a BOOKMARK at rev; endOfInitial marks the end of the
// initial events of a watch-list.
func (w *watcher) sendBookmark(rev int64, endOfInitial bool) bool {
	obj := w.store.newFunc()
	if err := w.store.versioner.UpdateObject(obj, uint64(rev)); err != nil {
		w.sendError(fmt.Errorf("failed to propagate object resource version: %w", err))
		return false
	}
	if endOfInitial {
		if err := storage.AnnotateInitialEventsEndBookmark(obj); err != nil {
			w.sendError(err)
			return false
		}
	}
	return w.send(watch.Event{Type: watch.Bookmark, Object: obj})
}

// send waits for the client to take ev; false if the watch ended first.
func (w *watcher) send(ev watch.Event) bool {
	select {
	case w.result <- ev:
		return true
	case <-w.ctx.Done():
		return false
	}
}

// sendError sends err as the watch's last event, unless the watch was
// stopped.
func (w *watcher) sendError(err error) {
	if errors.Is(err, context.Canceled) || w.ctx.Err() != nil {
		return
	}
	w.send(errorEvent(err))
}

// errorEvent is err as a watch ERROR event carrying a Status.
func errorEvent(err error) watch.Event {
	var corrupt *corruptDeletedError
	if errors.As(err, &corrupt) {
		err = &apierrors.StatusError{ErrStatus: metav1.Status{
			Status:  metav1.StatusFailure,
			Code:    http.StatusInternalServerError,
			Reason:  metav1.StatusReasonStoreReadError,
			Message: corrupt.Error(),
		}}
	}
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		status = apierrors.NewInternalError(err)
	}
	st := status.Status()
	return watch.Event{Type: watch.Error, Object: &st}
}

// timedObject carries the time a watch event was decoded, for the watch
// cache's dispatch latency metrics (ListOptions.RecordTimestamps). The
// cache unwraps it before the object goes anywhere.
type timedObject struct {
	runtime.Object
	at time.Time
}

var _ storage.WatchEventWithRecordTime = &timedObject{}

func (t *timedObject) RecordTime() time.Time  { return t.at }
func (t *timedObject) Unwrap() runtime.Object { return t.Object }

func (t *timedObject) DeepCopyObject() runtime.Object {
	return &timedObject{Object: t.Object.DeepCopyObject(), at: t.at}
}

// GetObjectMeta lets meta.Accessor see through the wrapper.
func (t *timedObject) GetObjectMeta() metav1.Object {
	m, _ := meta.Accessor(t.Object)
	return m
}
