package sqlite

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"

	clientv3 "go.etcd.io/etcd/client/v3"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/conversion"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/features"
	"k8s.io/apiserver/pkg/storage"
	etcdfeature "k8s.io/apiserver/pkg/storage/feature"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	"k8s.io/apiserver/pkg/storage/value"
	"k8s.io/apiserver/pkg/storage/value/encrypt/identity"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	"k8s.io/klog/v2"
)

// Config is what a store of one resource needs: what
// storagebackend.ConfigForResource and the registry give the etcd3 backend.
type Config struct {
	// Codec encodes objects for storage and decodes them back.
	Codec runtime.Codec
	// NewFunc and NewListFunc make an empty object and list of the
	// resource; NewFunc is needed for watch bookmarks.
	NewFunc     func() runtime.Object
	NewListFunc func() runtime.Object
	// Prefix is the storage prefix of all resources, e.g. "/registry".
	Prefix string
	// ResourcePrefix is the resource's key prefix below Prefix, e.g.
	// "/pods"; every key the store is given must start with it.
	ResourcePrefix string
	// GroupResource names the resource in errors.
	GroupResource schema.GroupResource
	// Transformer turns encoded objects into stored bytes and back (e.g.
	// encryption at rest); nil stores the encoding as is.
	Transformer value.Transformer
	// Versioner sets and reads resourceVersions; nil means
	// storage.APIObjectVersioner.
	Versioner storage.Versioner
	// ReportCorruptObjects reports stored data that cannot be transformed
	// or decoded as a corrupt object (storage.IsCorruptObject), which the
	// registry may then delete with DeleteOptions.ExpectTransformOrDecodeError.
	// NewStoreFromConfig sets it when the AllowUnsafeMalformedObjectDeletion
	// feature is on, as the etcd3 storage factory does.
	ReportCorruptObjects bool
}

// NewStoreFromConfig builds the store of one resource from what the
// apiserver's storage factory has, as storagebackend/factory does for etcd3.
func NewStoreFromConfig(db *DB, c storagebackend.ConfigForResource, newFunc, newListFunc func() runtime.Object, resourcePrefix string) (storage.Interface, func(), error) {
	return db.NewStore(Config{
		Codec:                c.Codec,
		NewFunc:              newFunc,
		NewListFunc:          newListFunc,
		Prefix:               c.Prefix,
		ResourcePrefix:       resourcePrefix,
		GroupResource:        c.GroupResource,
		Transformer:          c.Transformer,
		ReportCorruptObjects: utilfeature.DefaultFeatureGate.Enabled(features.AllowUnsafeMalformedObjectDeletion),
	})
}

// NewStore returns the storage.Interface of one resource. destroy releases
// what the store holds; the DB stays open for the other resources.
func (db *DB) NewStore(c Config) (s storage.Interface, destroy func(), err error) {
	st, err := db.newStore(c)
	if err != nil {
		return nil, nil, err
	}
	return st, func() {}, nil
}

// store implements storage.Interface for one resource over a DB.
type store struct {
	db             *DB
	codec          runtime.Codec
	versioner      storage.Versioner
	newFunc        func() runtime.Object
	pathPrefix     string
	resourcePrefix string
	groupResource  schema.GroupResource
	// transformer is swapped by tests while watches run.
	transformer atomic.Pointer[transformerRef]
	// reportCorrupt is Config.ReportCorruptObjects: undecodable and
	// untransformable data become corrupt-object errors.
	reportCorrupt bool
	// listPastCorrupt is AllowUnsafeMalformedObjectDeletion when the store
	// was made: lists go on past corrupt objects and report them all.
	listPastCorrupt bool
	sizeEstimates   atomic.Bool
	// listReads counts the range reads lists make, and onRangeRead (when
	// set) sees each of them: tests check what lists cost with them.
	listReads   atomic.Uint64
	onRangeRead func(ctx context.Context, start string, rev, limit int64)
}

type transformerRef struct{ value.Transformer }

var _ storage.Interface = (*store)(nil)

func (db *DB) newStore(c Config) (*store, error) {
	if c.Codec == nil {
		return nil, errors.New("sqlite: Config.Codec is required")
	}
	// The etcd3 store's key rules, so that keys are the same on both.
	if c.ResourcePrefix == "" || c.ResourcePrefix == "/" || !strings.HasPrefix(c.ResourcePrefix, "/") {
		return nil, fmt.Errorf("sqlite: resourcePrefix %q must start with / and name a resource", c.ResourcePrefix)
	}
	pathPrefix := path.Join("/", c.Prefix)
	if !strings.HasSuffix(pathPrefix, "/") {
		pathPrefix += "/"
	}
	s := &store{
		db:              db,
		codec:           c.Codec,
		versioner:       c.Versioner,
		newFunc:         c.NewFunc,
		pathPrefix:      pathPrefix,
		resourcePrefix:  c.ResourcePrefix,
		groupResource:   c.GroupResource,
		reportCorrupt:   c.ReportCorruptObjects,
		listPastCorrupt: utilfeature.DefaultFeatureGate.Enabled(features.AllowUnsafeMalformedObjectDeletion),
	}
	if s.versioner == nil {
		s.versioner = storage.APIObjectVersioner{}
	}
	t := c.Transformer
	if t == nil {
		t = identity.NewEncryptCheckTransformer()
	}
	if s.reportCorrupt {
		t = corruptReportingTransformer{t}
	}
	s.setTransformer(t)
	markProgressRequestsSupported()
	return s, nil
}

func (s *store) getTransformer() value.Transformer  { return s.transformer.Load().Transformer }
func (s *store) setTransformer(t value.Transformer) { s.transformer.Store(&transformerRef{t}) }

// authenticatedData binds stored data to its key, so that an encrypted
// value copied under another key does not decrypt.
type authenticatedData string

func (d authenticatedData) AuthenticatedData() []byte { return []byte(d) }

// Versioner implements storage.Interface.
func (s *store) Versioner() storage.Versioner { return s.versioner }

// ReadinessCheck implements storage.Interface: the store is ready while its
// database is open.
func (s *store) ReadinessCheck() error {
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	if s.db.closed {
		return errDBClosed
	}
	return nil
}

// GetCurrentResourceVersion implements storage.Interface: the revision of
// the last write to any resource.
func (s *store) GetCurrentResourceVersion(context.Context) (uint64, error) {
	rev := s.db.CurrentRevision()
	if rev <= 0 {
		return 0, errors.New("the current resource version must be greater than 0")
	}
	return uint64(rev), nil
}

// CompactRevision implements storage.Interface.
func (s *store) CompactRevision() int64 { return s.db.CompactedRevision() }

// RequestWatchProgress implements storage.Interface: every watch opened with
// ProgressNotify gets a bookmark at the current revision once it has sent
// the events before it.
func (s *store) RequestWatchProgress(context.Context) error {
	s.db.notifyProgress()
	return nil
}

// EnableResourceSizeEstimation implements storage.Interface. The sizes come
// from the database itself, so the keys function is not needed.
func (s *store) EnableResourceSizeEstimation(getKeys storage.KeysFunc) error {
	if getKeys == nil {
		return errors.New("KeysFunc cannot be nil")
	}
	if !s.sizeEstimates.CompareAndSwap(false, true) {
		return errors.New("resource size estimation already enabled")
	}
	return nil
}

// Stats implements storage.Interface.
func (s *store) Stats(ctx context.Context) (storage.Stats, error) {
	prefix, err := s.prepareKey(s.resourcePrefix, true)
	if err != nil {
		return storage.Stats{}, err
	}
	n, size, err := s.db.count(ctx, prefix, prefixEnd(prefix), s.db.CurrentRevision())
	if err != nil {
		return storage.Stats{}, err
	}
	stats := storage.Stats{ObjectCount: n}
	if s.sizeEstimates.Load() && n > 0 {
		stats.EstimatedAverageObjectSizeBytes = size / n
	}
	return stats, nil
}

// prepareKey checks key and returns its full storage key, as the etcd3
// store does (the same keys land in the same places on both).
func (s *store) prepareKey(key string, recursive bool) (string, error) {
	key, err := storage.PrepareKey(s.resourcePrefix, key, recursive)
	if err != nil {
		return "", err
	}
	return s.pathPrefix + strings.TrimPrefix(key, "/"), nil
}

// decode decodes data into out and sets its resourceVersion to rev.
func (s *store) decode(data []byte, out runtime.Object, rev int64) error {
	if _, err := conversion.EnforcePtr(out); err != nil {
		return fmt.Errorf("unable to convert output object to pointer: %v", err)
	}
	_, err := s.decodeInto(data, out, rev)
	return err
}

// decodeInto decodes data, into into if the codec can, and returns the
// object with its resourceVersion set to rev.
func (s *store) decodeInto(data []byte, into runtime.Object, rev int64) (runtime.Object, error) {
	obj, _, err := s.codec.Decode(data, nil, into)
	if err != nil {
		if s.reportCorrupt {
			return nil, &corruptObjectError{err: err, undecodable: true, rev: rev}
		}
		return nil, err
	}
	// Not being able to set the version does not lose the object.
	if err := s.versioner.UpdateObject(obj, uint64(rev)); err != nil {
		klog.Errorf("failed to update object version: %v", err)
	}
	return obj, nil
}

// fromStorage undoes the transformer on a stored value of key.
func (s *store) fromStorage(ctx context.Context, key string, data []byte) ([]byte, bool, error) {
	return s.getTransformer().TransformFromStorage(ctx, data, authenticatedData(key))
}

// validateMinimumResourceVersion fails with "too large resource version"
// when the client asks for data newer than the store has.
func (s *store) validateMinimumResourceVersion(minimum string, actual uint64) error {
	if minimum == "" {
		return nil
	}
	minRV, err := s.versioner.ParseResourceVersion(minimum)
	if err != nil {
		return apierrors.NewBadRequest(fmt.Sprintf("invalid resource version: %v", err))
	}
	if minRV > actual {
		return storage.NewTooLargeResourceVersionError(minRV, actual, 0)
	}
	return nil
}

// corruptAsStorageError turns a corrupt-object error into the storage error
// the registry's unsafe-delete path looks for.
func (s *store) corruptAsStorageError(key string, err error) error {
	var corrupt *corruptObjectError
	if s.reportCorrupt && errors.As(err, &corrupt) {
		return storage.NewCorruptObjError(key, corrupt)
	}
	return err
}

// Get implements storage.Interface.
func (s *store) Get(ctx context.Context, key string, opts storage.GetOptions, out runtime.Object) error {
	preparedKey, err := s.prepareKey(key, false)
	if err != nil {
		return err
	}
	rev := s.db.CurrentRevision()
	if err := s.validateMinimumResourceVersion(opts.ResourceVersion, uint64(rev)); err != nil {
		return err
	}
	cur, err := getAt(ctx, s.db.sql, preparedKey, rev)
	if err != nil {
		return err
	}
	if cur == nil {
		if opts.IgnoreNotFound {
			return runtime.SetZeroValue(out)
		}
		return storage.NewKeyNotFoundError(preparedKey, 0)
	}
	data, _, err := s.fromStorage(ctx, preparedKey, cur.value)
	if err != nil {
		return s.corruptAsStorageError(key, storage.NewInternalError(err))
	}
	return s.corruptAsStorageError(key, s.decode(data, out, cur.modRev))
}

// Create implements storage.Interface.
func (s *store) Create(ctx context.Context, key string, obj, out runtime.Object, ttl uint64) error {
	preparedKey, err := s.prepareKey(key, false)
	if err != nil {
		return err
	}
	if version, err := s.versioner.ObjectResourceVersion(obj); err == nil && version != 0 {
		return storage.ErrResourceVersionSetOnCreate
	}
	if err := s.versioner.PrepareObjectForStorage(obj); err != nil {
		return fmt.Errorf("PrepareObjectForStorage failed: %v", err)
	}
	data, err := runtime.Encode(s.codec, obj)
	if err != nil {
		return err
	}
	stored, err := s.getTransformer().TransformToStorage(ctx, data, authenticatedData(preparedKey))
	if err != nil {
		return storage.NewInternalError(err)
	}
	rev, _, ok, err := s.db.write(ctx, preparedKey, stored, false, 0, ttl)
	if err != nil {
		return err
	}
	if !ok {
		return storage.NewKeyExistsError(preparedKey, 0)
	}
	if out != nil {
		return s.decode(data, out, rev)
	}
	return nil
}

// objState is what a read-modify-write loop knows of the stored object.
type objState struct {
	obj  runtime.Object
	meta storage.ResponseMeta
	rev  int64  // 0: the object does not exist
	data []byte // encoded object, after the transformer
	// stale is the transformer saying the data should be rewritten (e.g.
	// under a newer key): an unchanged update still writes it.
	stale bool
}

// state decodes cur (nil: absent) into a new object of v's type. With
// expectCorrupt, the object must fail to transform or decode: the state then
// has no object, and a readable object is an error.
func (s *store) state(ctx context.Context, cur *kv, key string, v reflect.Value, ignoreNotFound, expectCorrupt bool) (*objState, error) {
	st := &objState{}
	if u, ok := v.Addr().Interface().(runtime.Unstructured); ok {
		st.obj = u.NewEmptyInstance()
	} else {
		st.obj = reflect.New(v.Type()).Interface().(runtime.Object)
	}
	if cur == nil {
		if !ignoreNotFound {
			return nil, storage.NewKeyNotFoundError(key, 0)
		}
		if err := runtime.SetZeroValue(st.obj); err != nil {
			return nil, err
		}
		return st, nil
	}
	st.rev = cur.modRev
	st.meta.ResourceVersion = uint64(cur.modRev)
	data, stale, err := s.fromStorage(ctx, key, cur.value)
	if err != nil {
		if !expectCorrupt {
			return nil, storage.NewInternalError(err)
		}
		st.obj, st.stale = nil, true
		return st, nil
	}
	st.data, st.stale = data, stale
	if err := s.decode(data, st.obj, st.rev); err != nil {
		if !expectCorrupt {
			return nil, err
		}
		st.obj = nil
		return st, nil
	}
	if expectCorrupt {
		return nil, storage.NewInvalidObjError(key, "unsafe deletion is not allowed because the object is decodable from storage")
	}
	return st, nil
}

// stateFromObject is the state a caller's cached object claims; it may be
// stale, which the write's revision check finds out.
func (s *store) stateFromObject(obj runtime.Object) (*objState, error) {
	rv, err := s.versioner.ObjectResourceVersion(obj)
	if err != nil {
		return nil, fmt.Errorf("couldn't get resource version: %v", err)
	}
	// The stored form has no resourceVersion: clear it to encode, then put
	// it back.
	if err := s.versioner.PrepareObjectForStorage(obj); err != nil {
		return nil, fmt.Errorf("PrepareObjectForStorage failed: %v", err)
	}
	data, err := runtime.Encode(s.codec, obj)
	if err != nil {
		return nil, err
	}
	if err := s.versioner.UpdateObject(obj, rv); err != nil {
		klog.Errorf("failed to update object version: %v", err)
	}
	return &objState{obj: obj, meta: storage.ResponseMeta{ResourceVersion: rv}, rev: int64(rv), data: data}, nil
}

// rmw drives a read-modify-write loop of one key that may start from a
// cached, possibly stale, state. A decision on a state that is not known
// current is final only once the state is re-read and found unchanged.
type rmw struct {
	db  *DB
	key string
	st  *objState
	// current says st was read from the database by this loop.
	current bool
	// stateOf decodes a stored version (nil: absent) into a state.
	stateOf func(cur *kv) (*objState, error)
}

func (s *store) newRMW(ctx context.Context, key string, v reflect.Value, ignoreNotFound, expectCorrupt bool) *rmw {
	return &rmw{db: s.db, key: key, stateOf: func(cur *kv) (*objState, error) {
		return s.state(ctx, cur, key, v, ignoreNotFound, expectCorrupt)
	}}
}

// start takes cached as the first state, or reads it when cached is nil.
func (r *rmw) start(ctx context.Context, s *store, cached runtime.Object) error {
	if cached == nil {
		return r.reload(ctx)
	}
	st, err := s.stateFromObject(cached)
	if err != nil {
		return err
	}
	r.st = st
	return nil
}

// reload reads the live version of the key.
func (r *rmw) reload(ctx context.Context) error {
	cur, err := getAt(ctx, r.db.sql, r.key, r.db.CurrentRevision())
	if err != nil {
		return err
	}
	return r.use(cur)
}

func (r *rmw) use(cur *kv) error {
	st, err := r.stateOf(cur)
	if err != nil {
		return err
	}
	r.st, r.current = st, true
	return nil
}

// recheck handles err from deciding on r.st: it returns (false, err) when
// err stands, (true, nil) when the state changed and the loop should retry.
func (r *rmw) recheck(ctx context.Context, err error) (retry bool, _ error) {
	if r.current {
		return false, err
	}
	staleRev := r.st.rev
	if rerr := r.reload(ctx); rerr != nil {
		return false, rerr
	}
	if r.st.rev == staleRev {
		return false, err
	}
	return true, nil
}

// commit writes value (del: deletes the key) if the key is still at
// r.st's revision. On a conflict, ok is false and r.st is the current
// state, for the loop to retry on.
func (r *rmw) commit(ctx context.Context, value []byte, del bool, ttl uint64) (rev int64, ok bool, err error) {
	rev, cur, ok, err := r.db.write(ctx, r.key, value, del, r.st.rev, ttl)
	if err != nil || ok {
		return rev, ok, err
	}
	klog.V(4).Infof("write of %s failed because of a conflict, going to retry", r.key)
	return 0, false, r.use(cur)
}

// Delete implements storage.Interface.
func (s *store) Delete(ctx context.Context, key string, out runtime.Object, preconditions *storage.Preconditions,
	validateDeletion storage.ValidateObjectFunc, cachedExistingObject runtime.Object, opts storage.DeleteOptions) error {
	preparedKey, err := s.prepareKey(key, false)
	if err != nil {
		return err
	}
	v, err := conversion.EnforcePtr(out)
	if err != nil {
		return fmt.Errorf("unable to convert output object to pointer: %v", err)
	}
	// Deleting a corrupt object needs to read it: a cached copy is readable.
	expectCorrupt := opts.ExpectTransformOrDecodeError && utilfeature.DefaultFeatureGate.Enabled(features.AllowUnsafeMalformedObjectDeletion)
	if expectCorrupt {
		cachedExistingObject = nil
	}
	r := s.newRMW(ctx, preparedKey, v, false, expectCorrupt)
	if err := r.start(ctx, s, cachedExistingObject); err != nil {
		return err
	}
	for {
		err := preconditions.Check(preparedKey, r.st.obj)
		if err == nil && validateDeletion != nil {
			err = validateDeletion(ctx, r.st.obj)
		}
		if err != nil {
			if retry, err := r.recheck(ctx, err); !retry {
				return err
			}
			continue
		}
		rev, ok, err := r.commit(ctx, nil, true, 0)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		if expectCorrupt {
			return nil
		}
		return s.decode(r.st.data, out, rev)
	}
}

// GuaranteedUpdate implements storage.Interface.
func (s *store) GuaranteedUpdate(ctx context.Context, key string, destination runtime.Object, ignoreNotFound bool,
	preconditions *storage.Preconditions, tryUpdate storage.UpdateFunc, cachedExistingObject runtime.Object) error {
	preparedKey, err := s.prepareKey(key, false)
	if err != nil {
		return err
	}
	v, err := conversion.EnforcePtr(destination)
	if err != nil {
		return fmt.Errorf("unable to convert output object to pointer: %v", err)
	}
	r := s.newRMW(ctx, preparedKey, v, ignoreNotFound, false)
	if err := r.start(ctx, s, cachedExistingObject); err != nil {
		return err
	}
	for {
		if err := preconditions.Check(preparedKey, r.st.obj); err != nil {
			if r.current {
				return err
			}
			if err := r.reload(ctx); err != nil {
				return err
			}
			continue
		}
		updated, ttl, err := s.applyUpdate(r.st, tryUpdate)
		if err != nil {
			if retry, err := r.recheck(ctx, err); !retry {
				return err
			}
			continue
		}
		data, err := runtime.Encode(s.codec, updated)
		if err != nil {
			return err
		}
		if !r.st.stale && bytes.Equal(data, r.st.data) {
			// A no-op update writes nothing, but only if the stored data
			// really is what the (maybe cached) state says.
			if !r.current {
				if err := r.reload(ctx); err != nil {
					return err
				}
				if !bytes.Equal(data, r.st.data) {
					continue
				}
			}
			if !r.st.stale {
				return s.decode(r.st.data, destination, r.st.rev)
			}
		}
		stored, err := s.getTransformer().TransformToStorage(ctx, data, authenticatedData(preparedKey))
		if err != nil {
			return storage.NewInternalError(err)
		}
		rev, ok, err := r.commit(ctx, stored, false, ttl)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		return s.decode(data, destination, rev)
	}
}

// applyUpdate runs the caller's update on st and prepares the result for
// storage.
func (s *store) applyUpdate(st *objState, tryUpdate storage.UpdateFunc) (runtime.Object, uint64, error) {
	updated, ttl, err := tryUpdate(st.obj, st.meta)
	if err != nil {
		return nil, 0, err
	}
	if err := s.versioner.PrepareObjectForStorage(updated); err != nil {
		return nil, 0, fmt.Errorf("PrepareObjectForStorage failed: %v", err)
	}
	if ttl == nil {
		return updated, 0, nil
	}
	return updated, *ttl, nil
}

// markProgressRequestsSupported tells the watch cache that this storage
// answers RequestWatchProgress. The cache asks a process-wide checker that
// learns it from etcd endpoints' versions; this backend answers as an etcd
// recent enough.
func markProgressRequestsSupported() {
	progressSupportOnce.Do(func() {
		etcdfeature.DefaultFeatureSupportChecker.CheckClient(context.Background(), progressCapableEndpoint{}, storage.RequestWatchProgress)
	})
}

// progressCapableEndpoint is the checker's view of this backend.
type progressCapableEndpoint struct{}

func (progressCapableEndpoint) Endpoints() []string { return []string{"sqlite"} }

func (progressCapableEndpoint) Status(context.Context, string) (*clientv3.StatusResponse, error) {
	return &clientv3.StatusResponse{Version: "3.6.0"}, nil
}

var progressSupportOnce sync.Once
