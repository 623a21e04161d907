package sqlite

// Group commit: writes queued together share one transaction, yet each is
// decided by itself, against the state the batch's earlier writes left.
// The tests hold the committer token while their writers queue up, so that
// the writes land in one batch, then let it go.

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/apiserver/pkg/apis/example"
	"k8s.io/apiserver/pkg/storage"
)

// holdCommitter takes the committer token; the returned function waits
// until n writes are queued, then gives the token back, so that the next
// committer takes them as one batch.
func holdCommitter(t *testing.T, db *DB) (releaseWhenQueued func(n int)) {
	t.Helper()
	db.committer <- struct{}{}
	return func(n int) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			db.qmu.Lock()
			queued := len(db.queue)
			db.qmu.Unlock()
			if queued >= n {
				break
			}
			if time.Now().After(deadline) {
				<-db.committer
				t.Fatalf("%d writes queued after 30s, want %d", queued, n)
			}
			time.Sleep(time.Millisecond)
		}
		<-db.committer
	}
}

func newPod(name string) *example.Pod {
	return &example.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "gc", Name: name}}
}

// TestGroupCommitCreateSameKey: creates of one key in one batch, among
// creates of other keys: exactly one per key succeeds, the others get
// KeyExists, and the other keys' creates are unaffected.
func TestGroupCommitCreateSameKey(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend setupOption) {
		ctx, s, db := testSetup(t, backend)
		const writers, keys = 48, 6
		release := holdCommitter(t, db)
		errs := make([]error, writers)
		var wg sync.WaitGroup
		for i := range writers {
			wg.Go(func() {
				name := fmt.Sprintf("p-%d", i%keys)
				errs[i] = s.Create(ctx, "/pods/gc/"+name, newPod(name), &example.Pod{}, 0)
			})
		}
		release(writers)
		wg.Wait()
		created := map[int]int{}
		for i, err := range errs {
			switch {
			case err == nil:
				created[i%keys]++
			case storage.IsExist(err):
			default:
				t.Errorf("create %d: %v, want nil or KeyExists", i, err)
			}
		}
		for k := range keys {
			if created[k] != 1 {
				t.Errorf("key p-%d: %d creates succeeded, want exactly 1", k, created[k])
			}
		}
		if got, want := db.CurrentRevision(), int64(1+keys); got != want {
			t.Errorf("revision after the batch: %d, want %d (one per successful create)", got, want)
		}
	})
}

// TestGroupCommitGuaranteedUpdate: concurrent read-modify-writes of one key
// conflict inside a batch, retry, and all apply.
func TestGroupCommitGuaranteedUpdate(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend setupOption) {
		ctx, s, db := testSetup(t, backend)
		key := "/pods/gc/counter"
		if err := s.Create(ctx, key, newPod("counter"), nil, 0); err != nil {
			t.Fatal(err)
		}
		const writers, rounds = 16, 5
		increment := func(ctx context.Context) error {
			return s.GuaranteedUpdate(ctx, key, &example.Pod{}, false, nil,
				func(input runtime.Object, _ storage.ResponseMeta) (runtime.Object, *uint64, error) {
					pod := input.(*example.Pod).DeepCopy()
					n, _ := strconv.Atoi(pod.Labels["n"])
					if pod.Labels == nil {
						pod.Labels = map[string]string{}
					}
					pod.Labels["n"] = strconv.Itoa(n + 1)
					return pod, nil, nil
				}, nil)
		}
		// The first round in one batch: one write wins, the others
		// conflict on it and retry; the later rounds as they come.
		release := holdCommitter(t, db)
		var wg sync.WaitGroup
		errs := make(chan error, writers*rounds)
		for range writers {
			wg.Go(func() {
				for range rounds {
					errs <- increment(ctx)
				}
			})
		}
		release(writers)
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		got := &example.Pod{}
		if err := s.Get(ctx, key, storage.GetOptions{}, got); err != nil {
			t.Fatal(err)
		}
		if got.Labels["n"] != strconv.Itoa(writers*rounds) {
			t.Errorf("counter = %q, want %d", got.Labels["n"], writers*rounds)
		}
		if rev, want := db.CurrentRevision(), int64(2+writers*rounds); rev != want {
			t.Errorf("revision = %d, want %d (one per increment)", rev, want)
		}
	})
}

// TestGroupCommitWatchRevisions: a watcher sees every successful write of
// concurrent batches once, with consecutive revisions, each the revision
// its writer was answered with.
func TestGroupCommitWatchRevisions(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend setupOption) {
		ctx, s, db := testSetup(t, backend)
		start := db.CurrentRevision()
		w, err := s.Watch(ctx, "/pods/gc", storage.ListOptions{ResourceVersion: strconv.FormatInt(start, 10), Predicate: storage.Everything, Recursive: true})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()

		const writers, perWriter, keys = 8, 40, 50
		var (
			mu    sync.Mutex
			acked = map[string]bool{} // resourceVersions the writers were answered with
		)
		release := holdCommitter(t, db)
		var wg sync.WaitGroup
		for i := range writers {
			wg.Go(func() {
				for j := range perWriter {
					// Creates collide on keys; every fourth write deletes.
					name := fmt.Sprintf("p-%d", (i*perWriter+j)%keys)
					out := &example.Pod{}
					var err error
					if j%4 == 3 {
						err = s.Delete(ctx, "/pods/gc/"+name, out, nil, storage.ValidateAllObjectFunc, nil, storage.DeleteOptions{})
					} else {
						err = s.Create(ctx, "/pods/gc/"+name, newPod(name), out, 0)
					}
					switch {
					case err == nil:
						mu.Lock()
						acked[out.ResourceVersion] = true
						mu.Unlock()
					case storage.IsExist(err), storage.IsNotFound(err):
					default:
						t.Error(err)
						return
					}
				}
			})
		}
		release(writers)
		wg.Wait()
		end := db.CurrentRevision()
		if int64(len(acked)) != end-start {
			t.Fatalf("%d writes acknowledged with distinct revisions, but the revision went from %d to %d", len(acked), start, end)
		}
		timeout := time.After(30 * time.Second)
		for want := start + 1; want <= end; want++ {
			select {
			case ev, ok := <-w.ResultChan():
				if !ok {
					t.Fatalf("watch closed before revision %d", want)
				}
				if ev.Type == watch.Error {
					t.Fatalf("watch error at revision %d: %v", want, ev.Object)
				}
				rv := ev.Object.(*example.Pod).ResourceVersion
				if rv != strconv.FormatInt(want, 10) {
					t.Fatalf("%s event at revision %s, want the next revision %d", ev.Type, rv, want)
				}
				if !acked[rv] {
					t.Errorf("%s event at revision %s that no writer was answered with", ev.Type, rv)
				}
			case <-timeout:
				t.Fatalf("no event for revision %d after 30s", want)
			}
		}
		select {
		case ev := <-w.ResultChan():
			t.Errorf("event after the last revision %d: %v %v", end, ev.Type, ev.Object)
		case <-time.After(100 * time.Millisecond):
		}
	})
}

// TestGroupCommitCancelWhileQueued: a writer whose context ends while its
// write waits for a committer gets the context's error, and the write is
// not made.
func TestGroupCommitCancelWhileQueued(t *testing.T) {
	ctx, s, db := testSetup(t)
	db.committer <- struct{}{}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- s.Create(wctx, "/pods/gc/cancelled", newPod("cancelled"), nil, 0) }()
	for {
		db.qmu.Lock()
		queued := len(db.queue)
		db.qmu.Unlock()
		if queued == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled create: %v, want %v", err, context.Canceled)
	}
	<-db.committer
	if err := s.Get(ctx, "/pods/gc/cancelled", storage.GetOptions{}, &example.Pod{}); !storage.IsNotFound(err) {
		t.Errorf("get after the cancelled create: %v, want NotFound", err)
	}
	if rev := db.CurrentRevision(); rev != 1 {
		t.Errorf("revision = %d, want 1", rev)
	}
}
