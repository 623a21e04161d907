package sqlite

// The storage.Interface conformance suites of k8s.io/apiserver, run against
// this store the way the etcd3 store's tests run them: every
// storagetesting.Run* call of etcd3/store_test.go and etcd3/watcher_test.go
// has its test here, under the same name, against an in-memory database and
// a database file.

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/apitesting"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apiserver/pkg/apis/example"
	examplev1 "k8s.io/apiserver/pkg/apis/example/v1"
	"k8s.io/apiserver/pkg/features"
	"k8s.io/apiserver/pkg/storage"
	storagetesting "k8s.io/apiserver/pkg/storage/testing"
	"k8s.io/apiserver/pkg/storage/value"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	featuregatetesting "k8s.io/component-base/featuregate/testing"
)

var (
	scheme = runtime.NewScheme()
	codecs = serializer.NewCodecFactory(scheme)
)

// testPrefix is what the tests' transformer puts before stored data.
const testPrefix = "test!"

func init() {
	metav1.AddToGroupVersion(scheme, metav1.SchemeGroupVersion)
	utilruntime.Must(example.AddToScheme(scheme))
	utilruntime.Must(examplev1.AddToScheme(scheme))
}

// ===== setup =====

type setupOptions struct {
	disk   bool
	db     Options
	config Config
}

type setupOption func(*setupOptions)

// inMemory and onDisk pick the database of a test.
func inMemory(o *setupOptions) { o.disk = false }
func onDisk(o *setupOptions)   { o.disk = true }

func withPrefix(prefix string) setupOption {
	return func(o *setupOptions) { o.config.Prefix = prefix }
}

func withTransformer(t value.Transformer) setupOption {
	return func(o *setupOptions) { o.config.Transformer = t }
}

func withCodec(c runtime.Codec) setupOption {
	return func(o *setupOptions) { o.config.Codec = c }
}

func withProgressNotifyInterval(d time.Duration) setupOption {
	return func(o *setupOptions) { o.db.ProgressNotifyInterval = d }
}

func withNewFunc(f func() runtime.Object) setupOption {
	return func(o *setupOptions) { o.config.NewFunc = f }
}

func newTestTransformer() *storagetesting.PrefixTransformer {
	return storagetesting.NewPrefixTransformer([]byte(testPrefix), false)
}

// testSetup opens a database and a store of example pods on it, closed when
// the test ends.
func testSetup(t testing.TB, opts ...setupOption) (context.Context, *store, *DB) {
	t.Helper()
	o := setupOptions{config: Config{
		Codec:          apitesting.TestCodec(codecs, examplev1.SchemeGroupVersion),
		NewFunc:        func() runtime.Object { return &example.Pod{} },
		NewListFunc:    func() runtime.Object { return &example.PodList{} },
		ResourcePrefix: "/pods/",
		GroupResource:  schema.GroupResource{Resource: "pods"},
		Transformer:    newTestTransformer(),
	}}
	for _, opt := range opts {
		opt(&o)
	}
	if o.disk {
		o.db.Path = filepath.Join(t.TempDir(), "state.db")
	}
	ctx := context.Background()
	db, err := Open(ctx, o.db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s, err := db.newStore(o.config)
	if err != nil {
		t.Fatal(err)
	}
	return ctx, s, db
}

// eachBackend runs test against an in-memory database and a database file.
func eachBackend(t *testing.T, test func(t *testing.T, backend setupOption)) {
	t.Run("memory", func(t *testing.T) { test(t, inMemory) })
	t.Run("disk", func(t *testing.T) { test(t, onDisk) })
}

// ===== store-specific helpers the suites take =====

// checkStorageInvariants reads what the store wrote under key straight from
// the database: the transformer's output, with no resourceVersion inside.
func checkStorageInvariants(db *DB, codec runtime.Codec) storagetesting.KeyValidation {
	return func(ctx context.Context, t *testing.T, key string) {
		row, err := getAt(ctx, db.sql, key, db.CurrentRevision())
		if err != nil {
			t.Fatalf("reading %q from the database: %v", key, err)
		}
		if row == nil {
			t.Fatalf("expecting non empty result on key: %s", key)
		}
		if len(row.value) < len(testPrefix) || string(row.value[:len(testPrefix)]) != testPrefix {
			t.Fatalf("stored value of %q lacks the transformer's prefix: %q", key, row.value)
		}
		decoded, err := runtime.Decode(codec, row.value[len(testPrefix):])
		if err != nil {
			t.Fatalf("expecting successful decode of object from %v\n%v", err, string(row.value))
		}
		obj := decoded.(*example.Pod)
		if obj.ResourceVersion != "" {
			t.Errorf("stored object should have empty resource version")
		}
		if obj.SelfLink != "" {
			t.Errorf("stored output should have empty selfLink")
		}
	}
}

// compactStorage compacts the database up to a resourceVersion. Like the
// etcd3 compactor, which records each compaction in a key of its own, it
// writes once first: the suites expect a compaction to advance the
// revision.
func compactStorage(db *DB) storagetesting.Compaction {
	return func(ctx context.Context, t *testing.T, resourceVersion string) {
		rv, err := storage.APIObjectVersioner{}.ParseResourceVersion(resourceVersion)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := putRaw(ctx, db, "compact_rev_key", []byte(resourceVersion)); err != nil {
			t.Fatal(err)
		}
		if err := db.Compact(ctx, int64(rv)); err != nil {
			t.Fatal(err)
		}
	}
}

// putRaw writes value under a raw key, whatever is there.
func putRaw(ctx context.Context, db *DB, key string, value []byte) (int64, error) {
	for {
		cur, err := getAt(ctx, db.sql, key, db.CurrentRevision())
		if err != nil {
			return 0, err
		}
		var expect int64
		if cur != nil {
			expect = cur.modRev
		}
		rev, _, ok, err := db.write(ctx, key, value, false, expect, 0)
		if err != nil || ok {
			return rev, err
		}
	}
}

// increaseRVFunc advances the global revision by writing a key no store
// owns.
func increaseRVFunc(db *DB) storagetesting.IncreaseRVFunc {
	return func(ctx context.Context, t *testing.T) int64 {
		rev, err := putRaw(ctx, db, "increaseRV", []byte("ok"))
		if err != nil {
			t.Fatalf("Could not update increaseRV: %v", err)
		}
		return rev
	}
}

// checkStorageCalls checks what a paged list cost: every object it
// processed was read through the transformer once, and the store read pages
// of the page size, doubling while a filter left them short.
func checkStorageCalls(s *store, transformer *storagetesting.PrefixTransformer) storagetesting.CallsValidation {
	return func(t *testing.T, pageSize, processed uint64) {
		if reads := transformer.GetReadsAndReset(); reads != processed {
			t.Errorf("unexpected reads: %d, expected: %d", reads, processed)
		}
		want := uint64(1)
		if pageSize > 0 {
			for page, covered := pageSize, pageSize; covered < processed; covered += page {
				page = min(page*2, maxPageSize)
				want++
			}
		}
		if got := s.listReads.Swap(0); got != want {
			t.Fatalf("unexpected list reads: %d, want: %d", got, want)
		}
	}
}

// storeWithPrefixTransformer lets the suites change the prefix transformer
// under a running store.
type storeWithPrefixTransformer struct {
	*store
}

func (s *storeWithPrefixTransformer) UpdatePrefixTransformer(modifier storagetesting.PrefixTransformerModifier) func() {
	orig := s.getTransformer()
	next := *prefixTransformerOf(s.store)
	if _, wrapped := orig.(corruptReportingTransformer); wrapped {
		s.setTransformer(corruptReportingTransformer{modifier(&next)})
	} else {
		s.setTransformer(modifier(&next))
	}
	return func() { s.setTransformer(orig) }
}

// prefixTransformerOf is the tests' transformer of s, under the wrapper
// that reports corrupt objects when AllowUnsafeMalformedObjectDeletion is
// on (by default).
func prefixTransformerOf(s *store) *storagetesting.PrefixTransformer {
	t := s.getTransformer()
	if c, ok := t.(corruptReportingTransformer); ok {
		t = c.Transformer
	}
	return t.(*storagetesting.PrefixTransformer)
}

// storeWithTransformerOverride lets the suites wrap the store's transformer.
type storeWithTransformerOverride struct {
	storage.Interface
	store *store
}

func (s *storeWithTransformerOverride) UpdateTransformer(modifier storagetesting.TransformerModifier) func() {
	orig := s.store.getTransformer()
	s.store.setTransformer(modifier(orig))
	return func() { s.store.setTransformer(orig) }
}

// failingTransformer fails reads while its flag is set.
type failingTransformer struct {
	value.Transformer
	fail atomic.Bool
}

func (f *failingTransformer) setFailing(fail bool) { f.fail.Store(fail) }

func (f *failingTransformer) TransformFromStorage(ctx context.Context, data []byte, dataCtx value.Context) ([]byte, bool, error) {
	if f.fail.Load() {
		return nil, false, errors.New("synthetic transform error")
	}
	return f.Transformer.TransformFromStorage(ctx, data, dataCtx)
}

// failingCodec fails decoding while its flag is set.
type failingCodec struct {
	runtime.Codec
	fail atomic.Bool
}

func (f *failingCodec) setFailing(fail bool) { f.fail.Store(fail) }

func (f *failingCodec) Decode(data []byte, defaults *schema.GroupVersionKind, into runtime.Object) (runtime.Object, *schema.GroupVersionKind, error) {
	if f.fail.Load() {
		return nil, nil, errors.New("synthetic decode error")
	}
	return f.Codec.Decode(data, defaults, into)
}

func newCorruptErr() error {
	return &corruptObjectError{err: fmt.Errorf("bits flipped")}
}

// ===== etcd3/store_test.go =====

func TestCreate(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend setupOption) {
		ctx, store, db := testSetup(t, backend)
		storagetesting.RunTestCreate(ctx, t, store, checkStorageInvariants(db, store.codec))
	})
}

func TestCreateWithTTL(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend setupOption) {
		ctx, store, _ := testSetup(t, backend)
		storagetesting.RunTestCreateWithTTL(ctx, t, store)
	})
}

func TestCreateWithKeyExist(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend setupOption) {
		ctx, store, _ := testSetup(t, backend)
		storagetesting.RunTestCreateWithKeyExist(ctx, t, store)
	})
}

func TestGet(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend setupOption) {
		ctx, store, _ := testSetup(t, backend)
		storagetesting.RunTestGet(ctx, t, store)
	})
}

func TestUnconditionalDelete(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend setupOption) {
		ctx, store, _ := testSetup(t, backend)
		storagetesting.RunTestUnconditionalDelete(ctx, t, store)
	})
}

func TestConditionalDelete(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend setupOption) {
		ctx, store, _ := testSetup(t, backend)
		storagetesting.RunTestConditionalDelete(ctx, t, store)
	})
}

func TestDeleteWithSuggestion(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend setupOption) {
		ctx, store, _ := testSetup(t, backend)
		storagetesting.RunTestDeleteWithSuggestion(ctx, t, store)
	})
}

func TestDeleteWithSuggestionAndConflict(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend setupOption) {
		ctx, store, _ := testSetup(t, backend)
		storagetesting.RunTestDeleteWithSuggestionAndConflict(ctx, t, store)
	})
}

func TestDeleteWithSuggestionOfDeletedObject(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend setupOption) {
		ctx, store, _ := testSetup(t, backend)
		storagetesting.RunTestDeleteWithSuggestionOfDeletedObject(ctx, t, store)
	})
}

func TestValidateDeletionWithSuggestion(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend setupOption) {
		ctx, store, _ := testSetup(t, backend)
		storagetesting.RunTestValidateDeletionWithSuggestion(ctx, t, store)
	})
}

func TestValidateDeletionWithOnlySuggestionValid(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend setupOption) {
		ctx, store, _ := testSetup(t, backend)
		storagetesting.RunTestValidateDeletionWithOnlySuggestionValid(ctx, t, store)
	})
}

func TestDeleteWithConflict(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend setupOption) {
		ctx, store, _ := testSetup(t, backend)
		storagetesting.RunTestDeleteWithConflict(ctx, t, store)
	})
}

func TestDeleteWithConflictAndMissingExpectedTransformOrDecodeError(t *testing.T) {
	featuregatetesting.SetFeatureGateDuringTest(t, utilfeature.DefaultFeatureGate, features.AllowUnsafeMalformedObjectDeletion, true)
	eachBackend(t, func(t *testing.T, backend setupOption) {
		codec := &failingCodec{Codec: apitesting.TestCodec(codecs, examplev1.SchemeGroupVersion)}
		ctx, store, _ := testSetup(t, backend, withCodec(codec))
		storagetesting.RunTestDeleteWithConflictAndMissingExpectedTransformOrDecodeError(ctx, t, store, codec.setFailing)
	})
}

func TestDeleteWithConflictAndExpectedTransformError(t *testing.T) {
	featuregatetesting.SetFeatureGateDuringTest(t, utilfeature.DefaultFeatureGate, features.AllowUnsafeMalformedObjectDeletion, true)
	eachBackend(t, func(t *testing.T, backend setupOption) {
		transformer := &failingTransformer{Transformer: newTestTransformer()}
		ctx, store, _ := testSetup(t, backend, withTransformer(transformer))
		storagetesting.RunTestDeleteExpectedTransformOrDecodeError(ctx, t, store, transformer.setFailing)
	})
}

func TestDeleteWithConflictAndExpectedDecodeError(t *testing.T) {
	featuregatetesting.SetFeatureGateDuringTest(t, utilfeature.DefaultFeatureGate, features.AllowUnsafeMalformedObjectDeletion, true)
	eachBackend(t, func(t *testing.T, backend setupOption) {
		codec := &failingCodec{Codec: apitesting.TestCodec(codecs, examplev1.SchemeGroupVersion)}
		ctx, store, _ := testSetup(t, backend, withCodec(codec))
		storagetesting.RunTestDeleteExpectedTransformOrDecodeError(ctx, t, store, codec.setFailing)
	})
}

func TestDeleteWithSuggestionAndMissingExpectedTransformOrDecodeFailure(t *testing.T) {
	featuregatetesting.SetFeatureGateDuringTest(t, utilfeature.DefaultFeatureGate, features.AllowUnsafeMalformedObjectDeletion, true)
	eachBackend(t, func(t *testing.T, backend setupOption) {
		ctx, store, _ := testSetup(t, backend)
		storagetesting.RunTestDeleteWithSuggestionAndMissingExpectedTransformOrDecodeError(ctx, t, store)
	})
}

func TestPreconditionalDeleteWithSuggestion(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend setupOption) {
		ctx, store, _ := testSetup(t, backend)
		storagetesting.RunTestPreconditionalDeleteWithSuggestion(ctx, t, store)
	})
}

func TestPreconditionalDeleteWithSuggestionPass(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend setupOption) {
		ctx, store, _ := testSetup(t, backend)
		storagetesting.RunTestPreconditionalDeleteWithOnlySuggestionPass(ctx, t, store)
	})
}

func TestListPaging(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend setupOption) {
		ctx, store, _ := testSetup(t, backend)
		storagetesting.RunTestListPaging(ctx, t, store)
	})
}

func TestGetListNonRecursive(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend setupOption) {
		ctx, store, db := testSetup(t, backend)
		storagetesting.RunTestGetListNonRecursive(ctx, t, increaseRVFunc(db), store)
	})
}

func TestGetListRecursivePrefix(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend setupOption) {
		ctx, store, _ := testSetup(t, backend)
		storagetesting.RunTestGetListRecursivePrefix(ctx, t, store)
	})
}

func TestKeySchema(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend setupOption) {
		ctx, store, _ := testSetup(t, backend)
		storagetesting.RunTestKeySchema(ctx, t, store)
	})
}

// The etcd3 store wraps itself in its corrupt-object deleter for this test;
// this store reports corrupt objects itself when the feature is on.
func TestGetListWithErrorAggregation(t *testing.T) {
	featuregatetesting.SetFeatureGateDuringTest(t, utilfeature.DefaultFeatureGate, features.AllowUnsafeMalformedObjectDeletion, true)
	eachBackend(t, func(t *testing.T, backend setupOption) {
		ctx, store, _ := testSetup(t, backend)
		storagetesting.RunTestGetListWithErrorAggregation(ctx, t, &storeWithTransformerOverride{Interface: store, store: store}, newCorruptErr())
	})
}

func TestGetListWithoutErrorAggregation(t *testing.T) {
	featuregatetesting.SetFeatureGateDuringTest(t, utilfeature.DefaultFeatureGate, features.AllowUnsafeMalformedObjectDeletion, false)
	eachBackend(t, func(t *testing.T, backend setupOption) {
		ctx, store, _ := testSetup(t, backend)
		storagetesting.RunTestGetListWithoutErrorAggregation(ctx, t, &storeWithTransformerOverride{Interface: store, store: store}, newCorruptErr())
	})
}

func TestGuaranteedUpdate(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend setupOption) {
		ctx, store, db := testSetup(t, backend)
		storagetesting.RunTestGuaranteedUpdate(ctx, t, &storeWithPrefixTransformer{store}, checkStorageInvariants(db, store.codec))
	})
}

func TestGuaranteedUpdateWithTTL(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend setupOption) {
		ctx, store, _ := testSetup(t, backend)
		storagetesting.RunTestGuaranteedUpdateWithTTL(ctx, t, store)
	})
}

func TestGuaranteedUpdateChecksStoredData(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend setupOption) {
		ctx, store, _ := testSetup(t, backend)
		storagetesting.RunTestGuaranteedUpdateChecksStoredData(ctx, t, &storeWithPrefixTransformer{store})
	})
}

func TestGuaranteedUpdateWithConflict(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend setupOption) {
		ctx, store, _ := testSetup(t, backend)
		storagetesting.RunTestGuaranteedUpdateWithConflict(ctx, t, store)
	})
}

func TestGuaranteedUpdateWithSuggestionAndConflict(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend setupOption) {
		ctx, store, _ := testSetup(t, backend)
		storagetesting.RunTestGuaranteedUpdateWithSuggestionAndConflict(ctx, t, store)
	})
}

func TestTransformationFailure(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend setupOption) {
		ctx, store, _ := testSetup(t, backend)
		storagetesting.RunTestTransformationFailure(ctx, t, &storeWithPrefixTransformer{store})
	})
}

// etcd3 runs TestList and TestConsistentList with EtcdRangeStream off and
// on; the gate does not change this store, which runs both all the same.
func TestList(t *testing.T) {
	for _, rangeStream := range []bool{false, true} {
		t.Run(fmt.Sprintf("rangeStream=%v", rangeStream), func(t *testing.T) {
			featuregatetesting.SetFeatureGateDuringTest(t, utilfeature.DefaultFeatureGate, features.EtcdRangeStream, rangeStream)
			eachBackend(t, func(t *testing.T, backend setupOption) {
				ctx, store, db := testSetup(t, backend)
				storagetesting.RunTestList(ctx, t, store, compactStorage(db), false, nil)
			})
		})
	}
}

func TestConsistentList(t *testing.T) {
	for _, rangeStream := range []bool{false, true} {
		t.Run(fmt.Sprintf("rangeStream=%v", rangeStream), func(t *testing.T) {
			featuregatetesting.SetFeatureGateDuringTest(t, utilfeature.DefaultFeatureGate, features.EtcdRangeStream, rangeStream)
			eachBackend(t, func(t *testing.T, backend setupOption) {
				ctx, store, db := testSetup(t, backend)
				storagetesting.RunTestConsistentList(ctx, t, store, increaseRVFunc(db), false, true, false)
			})
		})
	}
}

func TestCompactRevision(t *testing.T) {
	featuregatetesting.SetFeatureGateDuringTest(t, utilfeature.DefaultFeatureGate, features.ListFromCacheSnapshot, true)
	eachBackend(t, func(t *testing.T, backend setupOption) {
		ctx, store, db := testSetup(t, backend)
		storagetesting.RunTestCompactRevision(ctx, t, store, increaseRVFunc(db), compactStorage(db))
	})
}

func TestListContinuation(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend setupOption) {
		ctx, store, _ := testSetup(t, backend)
		validation := checkStorageCalls(store, prefixTransformerOf(store))
		storagetesting.RunTestListContinuation(ctx, t, store, validation)
	})
}

func TestListPaginationRareObject(t *testing.T) {
	featuregatetesting.SetFeatureGateDuringTest(t, utilfeature.DefaultFeatureGate, features.ListFromCacheSnapshot, false)
	eachBackend(t, func(t *testing.T, backend setupOption) {
		ctx, store, _ := testSetup(t, backend)
		validation := checkStorageCalls(store, prefixTransformerOf(store))
		storagetesting.RunTestListPaginationRareObject(ctx, t, store, validation)
	})
}

func TestListContinuationWithFilter(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend setupOption) {
		ctx, store, _ := testSetup(t, backend)
		validation := checkStorageCalls(store, prefixTransformerOf(store))
		storagetesting.RunTestListContinuationWithFilter(ctx, t, store, validation)
	})
}

func TestNamespaceScopedList(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend setupOption) {
		ctx, store, _ := testSetup(t, backend)
		storagetesting.RunTestNamespaceScopedList(ctx, t, store)
	})
}

func TestListInconsistentContinuation(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend setupOption) {
		ctx, store, db := testSetup(t, backend)
		storagetesting.RunTestListInconsistentContinuation(ctx, t, store, compactStorage(db))
	})
}

func TestListResourceVersionMatch(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend setupOption) {
		ctx, store, _ := testSetup(t, backend)
		storagetesting.RunTestListResourceVersionMatch(ctx, t, &storeWithPrefixTransformer{store})
	})
}

func TestStats(t *testing.T) {
	for _, sizeBasedListCostEstimate := range []bool{true, false} {
		t.Run(fmt.Sprintf("SizeBasedListCostEstimate=%v", sizeBasedListCostEstimate), func(t *testing.T) {
			eachBackend(t, func(t *testing.T, backend setupOption) {
				ctx, store, _ := testSetup(t, backend)
				if sizeBasedListCostEstimate {
					if err := store.EnableResourceSizeEstimation(func(context.Context) ([]string, error) { return nil, nil }); err != nil {
						t.Fatal(err)
					}
				}
				storagetesting.RunTestStats(ctx, t, store, store.codec, store.getTransformer(), sizeBasedListCostEstimate)
			})
		})
	}
}

// ===== etcd3/watcher_test.go =====

func TestWatch(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend setupOption) {
		runWatchSuites(t, backend)
	})
}

func runWatchSuites(t *testing.T, backend setupOption) {
	t.Run("Watch", func(t *testing.T) {
		ctx, store, _ := testSetup(t, backend)
		storagetesting.RunTestWatch(ctx, t, store)
	})
	t.Run("ClusterScopedWatch", func(t *testing.T) {
		ctx, store, _ := testSetup(t, backend)
		storagetesting.RunTestClusterScopedWatch(ctx, t, store)
	})
	t.Run("NamespaceScopedWatch", func(t *testing.T) {
		ctx, store, _ := testSetup(t, backend)
		storagetesting.RunTestNamespaceScopedWatch(ctx, t, store)
	})
	t.Run("DeleteTriggerWatch", func(t *testing.T) {
		ctx, store, _ := testSetup(t, backend)
		storagetesting.RunTestDeleteTriggerWatch(ctx, t, store)
	})
	t.Run("WatchFromZero", func(t *testing.T) {
		ctx, store, db := testSetup(t, backend)
		storagetesting.RunTestWatchFromZero(ctx, t, store, compactStorage(db))
	})
	t.Run("WatchFromNonZero", func(t *testing.T) {
		ctx, store, _ := testSetup(t, backend)
		storagetesting.RunTestWatchFromNonZero(ctx, t, store)
	})
	t.Run("DelayedWatchDelivery", func(t *testing.T) {
		ctx, store, _ := testSetup(t, backend)
		storagetesting.RunTestDelayedWatchDelivery(ctx, t, store)
	})
	t.Run("WatchError", func(t *testing.T) {
		ctx, store, _ := testSetup(t, backend)
		storagetesting.RunTestWatchError(ctx, t, &storeWithPrefixTransformer{store})
	})
	t.Run("WatchContextCancel", func(t *testing.T) {
		ctx, store, _ := testSetup(t, backend)
		storagetesting.RunTestWatchContextCancel(ctx, t, store)
	})
	t.Run("WatcherTimeout", func(t *testing.T) {
		ctx, store, _ := testSetup(t, backend)
		storagetesting.RunTestWatcherTimeout(ctx, t, store)
	})
	t.Run("WatchDeleteEventObjectHaveLatestRV", func(t *testing.T) {
		ctx, store, _ := testSetup(t, backend)
		storagetesting.RunTestWatchDeleteEventObjectHaveLatestRV(ctx, t, store)
	})
	t.Run("WatchInitializationSignal", func(t *testing.T) {
		ctx, store, _ := testSetup(t, backend)
		storagetesting.RunTestWatchInitializationSignal(ctx, t, store)
	})
	t.Run("ProgressNotify", func(t *testing.T) {
		ctx, store, db := testSetup(t, backend, withProgressNotifyInterval(time.Second))
		storagetesting.RunOptionalTestProgressNotify(ctx, t, store, increaseRVFunc(db))
	})
	t.Run("WatchWithUnsafeDelete", func(t *testing.T) {
		featuregatetesting.SetFeatureGateDuringTest(t, utilfeature.DefaultFeatureGate, features.AllowUnsafeMalformedObjectDeletion, true)
		ctx, store, _ := testSetup(t, backend)
		storagetesting.RunTestWatchWithUnsafeDelete(ctx, t, &storeWithTransformerOverride{Interface: store, store: store}, newCorruptErr())
	})
	t.Run("WatchDispatchBookmarkEvents", func(t *testing.T) {
		ctx, store, _ := testSetup(t, backend, withProgressNotifyInterval(time.Second))
		storagetesting.RunTestWatchDispatchBookmarkEvents(ctx, t, store, false)
	})
	t.Run("SendInitialEventsBackwardCompatibility", func(t *testing.T) {
		ctx, store, _ := testSetup(t, backend)
		storagetesting.RunSendInitialEventsBackwardCompatibility(ctx, t, store)
	})
	for _, rangeStream := range []bool{false, true} {
		t.Run(fmt.Sprintf("RangeStream=%v", rangeStream), func(t *testing.T) {
			featuregatetesting.SetFeatureGateDuringTest(t, utilfeature.DefaultFeatureGate, features.EtcdRangeStream, rangeStream)
			t.Run("WatchSemantics", func(t *testing.T) {
				ctx, store, _ := testSetup(t, backend)
				storagetesting.RunWatchSemantics(ctx, t, store)
			})
			t.Run("WatchSemanticsWithConcurrentDecode", func(t *testing.T) {
				featuregatetesting.SetFeatureGateDuringTest(t, utilfeature.DefaultFeatureGate, features.ConcurrentWatchObjectDecode, true)
				ctx, store, _ := testSetup(t, backend)
				storagetesting.RunWatchSemantics(ctx, t, store)
			})
			t.Run("WatchSemanticInitialEventsExtended", func(t *testing.T) {
				ctx, store, _ := testSetup(t, backend)
				storagetesting.RunWatchSemanticInitialEventsExtended(ctx, t, store)
			})
			t.Run("WatchListMatchSingle", func(t *testing.T) {
				ctx, store, _ := testSetup(t, backend)
				storagetesting.RunWatchListMatchSingle(ctx, t, store)
			})
		})
	}
	t.Run("WatchErrorEventIsBlockingFurtherEvent", func(t *testing.T) {
		ctx, store, _ := testSetup(t, backend)
		storagetesting.RunWatchErrorIsBlockingFurtherEvents(ctx, t, &storeWithPrefixTransformer{store})
	})
}
