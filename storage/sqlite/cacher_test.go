package sqlite

// The same suites through the watch cache: a cacher.Cacher built over this
// store with cacher.NewCacherFromConfig, behind a cacher.CacheDelegator, as
// the apiserver serves every resource. Each storagetesting.Run* call of
// k8s.io/apiserver's cacher/cacher_test.go has its TestCacher* test here.

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.etcd.io/etcd/client/v3/kubernetes"

	"k8s.io/apimachinery/pkg/api/apitesting"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apiserver/pkg/apis/example"
	examplev1 "k8s.io/apiserver/pkg/apis/example/v1"
	"k8s.io/apiserver/pkg/features"
	"k8s.io/apiserver/pkg/storage"
	"k8s.io/apiserver/pkg/storage/cacher"
	storagetesting "k8s.io/apiserver/pkg/storage/testing"
	"k8s.io/apiserver/pkg/storage/value"
	"k8s.io/apiserver/pkg/storage/value/encrypt/identity"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	clientfeatures "k8s.io/client-go/features"
	"k8s.io/client-go/tools/cache"
	featuregatetesting "k8s.io/component-base/featuregate/testing"
	"k8s.io/utils/clock"
)

// ===== setup =====

type cacherOptions struct {
	keyFunc      func(runtime.Object) (string, error)
	indexerFuncs storage.IndexerFuncs
	indexers     cache.Indexers
	codec        runtime.Codec
	transformer  value.Transformer
}

type cacherOption func(*cacherOptions)

func withCacherTransformer(t value.Transformer) cacherOption {
	return func(o *cacherOptions) { o.transformer = t }
}

func withCacherCodec(c runtime.Codec) cacherOption {
	return func(o *cacherOptions) { o.codec = c }
}

func withClusterScopedKeyFunc(o *cacherOptions) {
	o.keyFunc = func(obj runtime.Object) (string, error) { return storage.NoNamespaceKeyFunc("/pods/", obj) }
}

// withNodeNameAndNamespaceIndex indexes pods as the pod registry does.
func withNodeNameAndNamespaceIndex(o *cacherOptions) {
	o.indexerFuncs = storage.IndexerFuncs{
		"spec.nodeName": func(obj runtime.Object) string {
			if pod, ok := obj.(*example.Pod); ok {
				return pod.Spec.NodeName
			}
			return ""
		},
	}
	o.indexers = cache.Indexers{
		"f:spec.nodeName": func(obj any) ([]string, error) {
			return []string{obj.(*example.Pod).Spec.NodeName}, nil
		},
		"f:metadata.namespace": func(obj any) ([]string, error) {
			return []string{obj.(*example.Pod).Namespace}, nil
		},
	}
}

// podAttrs are the labels and fields a pod is selected by.
func podAttrs(obj runtime.Object) (labels.Set, fields.Set, error) {
	pod, ok := obj.(*example.Pod)
	if !ok {
		return nil, nil, fmt.Errorf("not a pod: %T", obj)
	}
	return pod.Labels, fields.Set{
		"metadata.name":      pod.Name,
		"metadata.namespace": pod.Namespace,
		"spec.nodeName":      pod.Spec.NodeName,
		"spec.restartPolicy": string(pod.Spec.RestartPolicy),
		"status.phase":       string(pod.Status.Phase),
	}, nil
}

// nopKubernetes answers the list recorder's forwarded calls: the recorder
// only records here, the store does the reading.
type nopKubernetes struct{ kubernetes.Interface }

func (nopKubernetes) List(context.Context, string, kubernetes.ListOptions) (kubernetes.ListResponse, error) {
	return kubernetes.ListResponse{}, nil
}

// cacherFixture is a watch cache over a store over an in-memory database.
type cacherFixture struct {
	delegator *cacher.CacheDelegator
	cacher    *cacher.Cacher
	store     *store
	db        *DB
	// lists records the range reads the store serves, as the etcd3 tests'
	// KubernetesRecorder records requests to etcd.
	lists *storagetesting.KubernetesRecorder
}

func cacherSetup(t testing.TB, opts ...cacherOption) (context.Context, *cacherFixture) {
	t.Helper()
	o := cacherOptions{
		keyFunc:     func(obj runtime.Object) (string, error) { return storage.NamespaceKeyFunc("/pods/", obj) },
		codec:       apitesting.TestCodec(codecs, examplev1.SchemeGroupVersion),
		transformer: identity.NewEncryptCheckTransformer(),
	}
	for _, opt := range opts {
		opt(&o)
	}
	ctx := context.Background()
	db, err := Open(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s, err := db.newStore(Config{
		Codec:          o.codec,
		NewFunc:        func() runtime.Object { return &example.Pod{} },
		NewListFunc:    func() runtime.Object { return &example.PodList{} },
		Prefix:         "/registry",
		ResourcePrefix: "/pods/",
		GroupResource:  schema.GroupResource{Resource: "pods"},
		Transformer:    o.transformer,
	})
	if err != nil {
		t.Fatal(err)
	}
	lists := storagetesting.NewKubernetesRecorder(nopKubernetes{})
	s.onRangeRead = func(ctx context.Context, start string, rev, limit int64) {
		_, _ = lists.List(ctx, start, kubernetes.ListOptions{Revision: rev, Limit: limit})
	}

	// One failing list makes the cache go through a relist, as in the
	// cacher's own tests (a watch-list client never lists).
	listErrors := 1
	if clientfeatures.FeatureGates().Enabled(clientfeatures.WatchListClient) {
		listErrors = 0
	}
	wrapped := &storagetesting.StorageInjectingListErrors{Interface: s, Errors: listErrors}
	c, err := cacher.NewCacherFromConfig(cacher.Config{
		Storage:             wrapped,
		Versioner:           storage.APIObjectVersioner{},
		GroupResource:       schema.GroupResource{Resource: "pods"},
		EventsHistoryWindow: cacher.DefaultEventFreshDuration,
		ResourcePrefix:      "/pods/",
		KeyFunc:             o.keyFunc,
		GetAttrsFunc:        podAttrs,
		NewFunc:             func() runtime.Object { return &example.Pod{} },
		NewListFunc:         func() runtime.Object { return &example.PodList{} },
		IndexerFuncs:        o.indexerFuncs,
		Indexers:            &o.indexers,
		Codec:               o.codec,
		Clock:               clock.RealClock{},
	})
	if err != nil {
		t.Fatalf("Failed to initialize cacher: %v", err)
	}
	if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, wait.ForeverTestTimeout, true, func(context.Context) (bool, error) {
		return wrapped.ErrorsConsumed()
	}); err != nil {
		t.Fatalf("Failed to inject list errors: %v", err)
	}
	if err := c.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	d := cacher.NewCacheDelegator(c, wrapped)
	t.Cleanup(func() {
		d.Stop()
		c.Stop()
	})
	return ctx, &cacherFixture{delegator: d, cacher: c, store: s, db: db, lists: lists}
}

// compactThroughCache compacts the database, then waits until the cache has
// seen it: its compactor polls the store's CompactRevision every 15 seconds
// (the cacher's own test makes it poll at once through its internals).
func compactThroughCache(f *cacherFixture) storagetesting.Compaction {
	compact := compactStorage(f.db)
	return func(ctx context.Context, t *testing.T, resourceVersion string) {
		compact(ctx, t, resourceVersion)
		rv, err := storage.APIObjectVersioner{}.ParseResourceVersion(resourceVersion)
		if err != nil {
			t.Fatal(err)
		}
		if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
			return f.delegator.CompactRevision() >= int64(rv), nil
		}); err != nil {
			t.Fatalf("the watch cache did not see the compaction to %d: %v", rv, err)
		}
	}
}

// noStorageInvariants: the cache passes writes to the store, whose own
// tests check what it stores.
func noStorageInvariants(context.Context, *testing.T, string) {}

// noStorageCalls: the cache passes paged lists to the store, whose own
// tests check their cost.
func noStorageCalls(*testing.T, uint64, uint64) {}

// waitForCache makes Create return once the cache has the created object:
// the watch-list suites expect what they create to be in the cache.
type waitForCache struct {
	*cacher.CacheDelegator
}

func (c *waitForCache) Create(ctx context.Context, key string, obj, out runtime.Object, ttl uint64) error {
	if err := c.CacheDelegator.Create(ctx, key, obj, out, ttl); err != nil {
		return err
	}
	return wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, wait.ForeverTestTimeout, true, func(ctx context.Context) (bool, error) {
		cached := &example.Pod{}
		err := c.CacheDelegator.Get(ctx, key, storage.GetOptions{ResourceVersion: "0"}, cached)
		if storage.IsNotFound(err) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		return apiequality.Semantic.DeepEqual(cached, out), nil
	})
}

// ===== cacher/cacher_test.go =====

func TestCacherCreate(t *testing.T) {
	ctx, f := cacherSetup(t)
	storagetesting.RunTestCreate(ctx, t, f.delegator, noStorageInvariants)
}

func TestCacherCreateWithTTL(t *testing.T) {
	ctx, f := cacherSetup(t)
	storagetesting.RunTestCreateWithTTL(ctx, t, f.delegator)
}

func TestCacherCreateWithKeyExist(t *testing.T) {
	ctx, f := cacherSetup(t)
	storagetesting.RunTestCreateWithKeyExist(ctx, t, f.delegator)
}

func TestCacherGet(t *testing.T) {
	ctx, f := cacherSetup(t)
	storagetesting.RunTestGet(ctx, t, f.delegator)
}

func TestCacherUnconditionalDelete(t *testing.T) {
	ctx, f := cacherSetup(t)
	storagetesting.RunTestUnconditionalDelete(ctx, t, f.delegator)
}

func TestCacherConditionalDelete(t *testing.T) {
	ctx, f := cacherSetup(t)
	storagetesting.RunTestConditionalDelete(ctx, t, f.delegator)
}

func TestCacherDeleteWithSuggestion(t *testing.T) {
	ctx, f := cacherSetup(t)
	storagetesting.RunTestDeleteWithSuggestion(ctx, t, f.delegator)
}

func TestCacherDeleteWithSuggestionAndConflict(t *testing.T) {
	ctx, f := cacherSetup(t)
	storagetesting.RunTestDeleteWithSuggestionAndConflict(ctx, t, f.delegator)
}

func TestCacherDeleteWithSuggestionOfDeletedObject(t *testing.T) {
	ctx, f := cacherSetup(t)
	storagetesting.RunTestDeleteWithSuggestionOfDeletedObject(ctx, t, f.delegator)
}

func TestCacherValidateDeletionWithSuggestion(t *testing.T) {
	ctx, f := cacherSetup(t)
	storagetesting.RunTestValidateDeletionWithSuggestion(ctx, t, f.delegator)
}

func TestCacherValidateDeletionWithOnlySuggestionValid(t *testing.T) {
	ctx, f := cacherSetup(t)
	storagetesting.RunTestValidateDeletionWithOnlySuggestionValid(ctx, t, f.delegator)
}

func TestCacherDeleteWithConflict(t *testing.T) {
	ctx, f := cacherSetup(t)
	storagetesting.RunTestDeleteWithConflict(ctx, t, f.delegator)
}

func TestCacherDeleteWithConflictAndMissingExpectedTransformOrDecodeError(t *testing.T) {
	featuregatetesting.SetFeatureGateDuringTest(t, utilfeature.DefaultFeatureGate, features.AllowUnsafeMalformedObjectDeletion, true)
	transformer := &failingTransformer{Transformer: identity.NewEncryptCheckTransformer()}
	ctx, f := cacherSetup(t, withCacherTransformer(transformer))
	storagetesting.RunTestDeleteWithConflictAndMissingExpectedTransformOrDecodeError(ctx, t, f.delegator, transformer.setFailing)
}

func TestCacherDeleteWithConflictAndExpectedTransformError(t *testing.T) {
	featuregatetesting.SetFeatureGateDuringTest(t, utilfeature.DefaultFeatureGate, features.AllowUnsafeMalformedObjectDeletion, true)
	transformer := &failingTransformer{Transformer: identity.NewEncryptCheckTransformer()}
	ctx, f := cacherSetup(t, withCacherTransformer(transformer))
	storagetesting.RunTestDeleteExpectedTransformOrDecodeError(ctx, t, f.delegator, transformer.setFailing)
}

func TestCacherDeleteWithConflictAndExpectedDecodeError(t *testing.T) {
	featuregatetesting.SetFeatureGateDuringTest(t, utilfeature.DefaultFeatureGate, features.AllowUnsafeMalformedObjectDeletion, true)
	codec := &failingCodec{Codec: apitesting.TestCodec(codecs, examplev1.SchemeGroupVersion)}
	ctx, f := cacherSetup(t, withCacherCodec(codec))
	storagetesting.RunTestDeleteExpectedTransformOrDecodeError(ctx, t, f.delegator, codec.setFailing)
}

func TestCacherDeleteWithSuggestionAndMissingExpectedTransformOrDecodeError(t *testing.T) {
	featuregatetesting.SetFeatureGateDuringTest(t, utilfeature.DefaultFeatureGate, features.AllowUnsafeMalformedObjectDeletion, true)
	ctx, f := cacherSetup(t)
	storagetesting.RunTestDeleteWithSuggestionAndMissingExpectedTransformOrDecodeError(ctx, t, f.delegator)
}

func TestCacherPreconditionalDeleteWithSuggestion(t *testing.T) {
	ctx, f := cacherSetup(t)
	storagetesting.RunTestPreconditionalDeleteWithSuggestion(ctx, t, f.delegator)
}

func TestCacherPreconditionalDeleteWithSuggestionPass(t *testing.T) {
	ctx, f := cacherSetup(t)
	storagetesting.RunTestPreconditionalDeleteWithOnlySuggestionPass(ctx, t, f.delegator)
}

func TestCacherListPaging(t *testing.T) {
	ctx, f := cacherSetup(t)
	storagetesting.RunTestListPaging(ctx, t, f.delegator)
}

func TestCacherLists(t *testing.T) {
	for _, listFromCacheSnapshot := range []bool{true, false} {
		t.Run(fmt.Sprintf("ListFromCacheSnapshot=%v", listFromCacheSnapshot), func(t *testing.T) {
			featuregatetesting.SetFeatureGateDuringTest(t, utilfeature.DefaultFeatureGate, features.ListFromCacheSnapshot, listFromCacheSnapshot)
			t.Run("List", func(t *testing.T) {
				t.Parallel()
				ctx, f := cacherSetup(t)
				storagetesting.RunTestList(ctx, t, f.delegator, compactThroughCache(f), true, f.lists)
			})
			t.Run("ConsistentList", func(t *testing.T) {
				t.Parallel()
				ctx, f := cacherSetup(t)
				storagetesting.RunTestConsistentList(ctx, t, f.delegator, increaseRVFunc(f.db), true, true, listFromCacheSnapshot)
			})
			t.Run("GetListNonRecursive", func(t *testing.T) {
				t.Parallel()
				ctx, f := cacherSetup(t)
				storagetesting.RunTestGetListNonRecursive(ctx, t, increaseRVFunc(f.db), f.delegator)
			})
		})
	}
}

func TestCacherCompactRevision(t *testing.T) {
	featuregatetesting.SetFeatureGateDuringTest(t, utilfeature.DefaultFeatureGate, features.ListFromCacheSnapshot, true)
	ctx, f := cacherSetup(t)
	storagetesting.RunTestCompactRevision(ctx, t, f.delegator, increaseRVFunc(f.db), compactThroughCache(f))
}

func TestCacherGetListRecursivePrefix(t *testing.T) {
	ctx, f := cacherSetup(t)
	storagetesting.RunTestGetListRecursivePrefix(ctx, t, f.delegator)
}

func TestCacherListContinuation(t *testing.T) {
	ctx, f := cacherSetup(t)
	storagetesting.RunTestListContinuation(ctx, t, f.delegator, noStorageCalls)
}

func TestCacherListPaginationRareObject(t *testing.T) {
	ctx, f := cacherSetup(t)
	storagetesting.RunTestListPaginationRareObject(ctx, t, f.delegator, noStorageCalls)
}

func TestCacherListContinuationWithFilter(t *testing.T) {
	ctx, f := cacherSetup(t)
	storagetesting.RunTestListContinuationWithFilter(ctx, t, f.delegator, noStorageCalls)
}

func TestCacherNamespaceScopedList(t *testing.T) {
	ctx, f := cacherSetup(t, withNodeNameAndNamespaceIndex)
	storagetesting.RunTestNamespaceScopedList(ctx, t, f.delegator)
}

func TestCacherGuaranteedUpdateWithTTL(t *testing.T) {
	ctx, f := cacherSetup(t)
	storagetesting.RunTestGuaranteedUpdateWithTTL(ctx, t, f.delegator)
}

func TestCacherGuaranteedUpdateWithConflict(t *testing.T) {
	ctx, f := cacherSetup(t)
	storagetesting.RunTestGuaranteedUpdateWithConflict(ctx, t, f.delegator)
}

func TestCacherGuaranteedUpdateWithSuggestionAndConflict(t *testing.T) {
	ctx, f := cacherSetup(t)
	storagetesting.RunTestGuaranteedUpdateWithSuggestionAndConflict(ctx, t, f.delegator)
}

func TestCacherStats(t *testing.T) {
	for _, sizeBasedListCostEstimate := range []bool{true, false} {
		t.Run(fmt.Sprintf("SizeBasedListCostEstimate=%v", sizeBasedListCostEstimate), func(t *testing.T) {
			featuregatetesting.SetFeatureGateDuringTest(t, utilfeature.DefaultFeatureGate, features.SizeBasedListCostEstimate, sizeBasedListCostEstimate)
			ctx, f := cacherSetup(t)
			storagetesting.RunTestStats(ctx, t, f.delegator, apitesting.TestCodec(codecs, examplev1.SchemeGroupVersion), identity.NewEncryptCheckTransformer(), sizeBasedListCostEstimate)
		})
	}
}

func TestCacherKeySchema(t *testing.T) {
	ctx, f := cacherSetup(t)
	storagetesting.RunTestKeySchema(ctx, t, f.delegator)
}

func TestCacherWatch(t *testing.T) {
	t.Run("Watch", func(t *testing.T) {
		ctx, f := cacherSetup(t)
		storagetesting.RunTestWatch(ctx, t, f.delegator)
	})
	t.Run("WatchFromZero", func(t *testing.T) {
		// The cacher's own test compacts the watch cache's history through
		// its internals; from outside the package there is no way to, so
		// the suite skips its compaction part.
		ctx, f := cacherSetup(t)
		storagetesting.RunTestWatchFromZero(ctx, t, f.delegator, nil)
	})
	t.Run("DeleteTriggerWatch", func(t *testing.T) {
		ctx, f := cacherSetup(t)
		storagetesting.RunTestDeleteTriggerWatch(ctx, t, f.delegator)
	})
	t.Run("WatchFromNonZero", func(t *testing.T) {
		ctx, f := cacherSetup(t)
		storagetesting.RunTestWatchFromNonZero(ctx, t, f.delegator)
	})
	t.Run("DelayedWatchDelivery", func(t *testing.T) {
		ctx, f := cacherSetup(t)
		storagetesting.RunTestDelayedWatchDelivery(ctx, t, f.delegator)
	})
	t.Run("WatcherTimeout", func(t *testing.T) {
		ctx, f := cacherSetup(t)
		storagetesting.RunTestWatcherTimeout(ctx, t, f.delegator)
	})
	t.Run("WatchDeleteEventObjectHaveLatestRV", func(t *testing.T) {
		ctx, f := cacherSetup(t)
		storagetesting.RunTestWatchDeleteEventObjectHaveLatestRV(ctx, t, f.delegator)
	})
	t.Run("WatchInitializationSignal", func(t *testing.T) {
		ctx, f := cacherSetup(t)
		storagetesting.RunTestWatchInitializationSignal(ctx, t, f.delegator)
	})
	t.Run("ClusterScopedWatch", func(t *testing.T) {
		ctx, f := cacherSetup(t, withClusterScopedKeyFunc, withNodeNameAndNamespaceIndex)
		storagetesting.RunTestClusterScopedWatch(ctx, t, f.delegator)
	})
	t.Run("NamespaceScopedWatch", func(t *testing.T) {
		ctx, f := cacherSetup(t, withNodeNameAndNamespaceIndex)
		storagetesting.RunTestNamespaceScopedWatch(ctx, t, f.delegator)
	})
	t.Run("WatchDispatchBookmarkEvents", func(t *testing.T) {
		ctx, f := cacherSetup(t)
		storagetesting.RunTestWatchDispatchBookmarkEvents(ctx, t, f.delegator, true)
	})
	t.Run("WatchBookmarksWithCorrectResourceVersion", func(t *testing.T) {
		ctx, f := cacherSetup(t)
		storagetesting.RunTestOptionalWatchBookmarksWithCorrectResourceVersion(ctx, t, f.delegator)
	})
	t.Run("SendInitialEventsBackwardCompatibility", func(t *testing.T) {
		ctx, f := cacherSetup(t)
		storagetesting.RunSendInitialEventsBackwardCompatibility(ctx, t, f.delegator)
	})
	t.Run("WatchSemantics", func(t *testing.T) {
		_, f := cacherSetup(t)
		storagetesting.RunWatchSemantics(context.TODO(), t, &waitForCache{f.delegator})
	})
	t.Run("WatchSemanticInitialEventsExtended", func(t *testing.T) {
		_, f := cacherSetup(t)
		storagetesting.RunWatchSemanticInitialEventsExtended(context.TODO(), t, &waitForCache{f.delegator})
	})
	t.Run("WatchListMatchSingle", func(t *testing.T) {
		_, f := cacherSetup(t)
		storagetesting.RunWatchListMatchSingle(context.TODO(), t, &waitForCache{f.delegator})
	})
}
