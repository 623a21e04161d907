package sqlite

import (
	"context"
	"fmt"
	"reflect"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/conversion"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/features"
	"k8s.io/apiserver/pkg/storage"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
)

// maxPageSize caps how far a filtered list grows its pages: a selector that
// matches few objects makes the store read more per page, doubling each
// time, as the etcd3 store does.
const maxPageSize = 10000

// GetList implements storage.Interface.
func (s *store) GetList(ctx context.Context, key string, opts storage.ListOptions, listObj runtime.Object) error {
	keyPrefix, err := s.prepareKey(key, opts.Recursive)
	if err != nil {
		return err
	}
	listPtr, err := meta.GetItemsPtr(listObj)
	if err != nil {
		return err
	}
	v, err := conversion.EnforcePtr(listPtr)
	if err != nil || v.Kind() != reflect.Slice {
		return fmt.Errorf("need ptr to slice: %v", err)
	}
	withRev, continueKey, err := storage.ValidateListOptions(keyPrefix, s.versioner, opts)
	if err != nil {
		return err
	}

	// The revision the list reads at: the one asked for, or the current one.
	current := s.db.CurrentRevision()
	rev := withRev
	if rev == 0 {
		if err := s.validateMinimumResourceVersion(opts.ResourceVersion, uint64(current)); err != nil {
			return err
		}
		rev = current
	} else if rev > current {
		return storage.NewTooLargeResourceVersionError(uint64(rev), uint64(current), 0)
	}
	compacted := func() bool { return rev < s.db.CompactedRevision() }
	if compacted() {
		return listCompactedError(continueKey, keyPrefix)
	}

	l := &lister{
		store:   s,
		ctx:     ctx,
		pred:    opts.Predicate,
		v:       v,
		newItem: newItemFunc(listObj, v),
		errs:    s.newListErrors(),
	}
	var hasMore bool
	var lastKey string
	if opts.Recursive {
		start := keyPrefix
		if continueKey != "" {
			start = continueKey
		}
		lastKey, hasMore, err = l.scan(start, prefixEnd(keyPrefix), withRev, rev)
	} else {
		// A non-recursive list is a get: keyPrefix is the key.
		var cur *kv
		s.listReads.Add(1)
		if cur, err = getAt(ctx, s.db.sql, keyPrefix, rev); err == nil && cur != nil {
			_, err = l.add(cur)
		}
	}
	if err != nil {
		return err
	}
	// A compaction during the read may have removed rows it needed.
	if compacted() {
		return listCompactedError(continueKey, keyPrefix)
	}
	if err := l.errs.result(s.groupResource); err != nil {
		return err
	}

	var count int64
	if hasMore && opts.Predicate.Empty() {
		// Only an unfiltered list can say how many items remain.
		start := keyPrefix
		if continueKey != "" {
			start = continueKey
		}
		if count, _, err = s.db.count(ctx, start, prefixEnd(keyPrefix), rev); err != nil {
			return err
		}
	}
	continueValue, remaining, err := storage.PrepareContinueToken(lastKey, keyPrefix, rev, count, hasMore, opts)
	if err != nil {
		return err
	}
	if v.IsNil() {
		// Never return a nil Items slice.
		v.Set(reflect.MakeSlice(v.Type(), 0, 0))
	}
	if err := s.versioner.UpdateList(listObj, uint64(rev), continueValue, remaining); err != nil {
		return err
	}
	if utilfeature.DefaultFeatureGate.Enabled(features.ShardedListAndWatch) {
		opts.Predicate.SetShardInfoOnList(listObj)
	}
	return nil
}

// newListErrors is how a list treats items it cannot read.
func (s *store) newListErrors() listErrors {
	if s.listPastCorrupt {
		return &corruptErrors{}
	}
	return &firstError{}
}

// newItemFunc makes the empty items a list decodes into.
func newItemFunc(listObj runtime.Object, v reflect.Value) func() runtime.Object {
	// Items of an unstructured list keep the list's group/version.
	if ul, ok := listObj.(*unstructured.UnstructuredList); ok {
		if apiVersion := ul.GetAPIVersion(); apiVersion != "" {
			return func() runtime.Object {
				return &unstructured.Unstructured{Object: map[string]any{"apiVersion": apiVersion}}
			}
		}
	}
	elem := v.Type().Elem()
	return func() runtime.Object { return reflect.New(elem).Interface().(runtime.Object) }
}

// lister fills one list.
type lister struct {
	store   *store
	ctx     context.Context
	pred    storage.SelectionPredicate
	v       reflect.Value
	newItem func() runtime.Object
	errs    listErrors
}

func (l *lister) full() bool {
	return l.pred.Limit > 0 && int64(l.v.Len()) >= l.pred.Limit
}

// scan lists the keys in [start, end) at rev page by page until the limit
// is filled or the range ends. It returns the last key it looked at and
// whether keys remain after it. askedRev is the revision the client asked
// for (0: the latest), which the first page is recorded as reading at.
func (l *lister) scan(start, end string, askedRev, rev int64) (lastKey string, hasMore bool, err error) {
	pageSize := l.pred.Limit
	for {
		l.store.listReads.Add(1)
		if l.store.onRangeRead != nil {
			l.store.onRangeRead(l.ctx, start, askedRev, pageSize)
			askedRev = rev
		}
		// One row more than the page tells whether the range goes on.
		var rows []*kv
		if pageSize > 0 {
			rows, err = l.store.db.list(l.ctx, start, end, rev, pageSize+1)
		} else {
			rows, err = l.store.db.list(l.ctx, start, end, rev, 0)
		}
		if err != nil {
			return "", false, err
		}
		more := pageSize > 0 && int64(len(rows)) > pageSize
		if more {
			rows = rows[:pageSize]
		}
		for i, row := range rows {
			if l.full() {
				return lastKey, true, nil
			}
			lastKey = row.key
			stop, err := l.add(row)
			if err != nil || stop {
				return lastKey, false, err
			}
			rows[i] = nil
		}
		if !more || l.full() {
			return lastKey, more, nil
		}
		start = lastKey + "\x00"
		if pageSize < maxPageSize {
			pageSize = min(pageSize*2, maxPageSize)
		}
	}
}

// add decodes row and appends it if the predicate matches. stop is the
// list's error policy ending the list.
func (l *lister) add(row *kv) (stop bool, err error) {
	data, _, err := l.store.fromStorage(l.ctx, row.key, row.value)
	if err != nil {
		return l.errs.add(row.key, storage.NewInternalError(fmt.Errorf("unable to transform key %q: %w", row.key, err))), nil
	}
	if err := l.ctx.Err(); err != nil {
		return false, storage.NewTimeoutError(row.key, "request did not complete within requested timeout")
	}
	obj, err := l.store.decodeInto(data, l.newItem(), row.modRev)
	if err != nil {
		return l.errs.add(row.key, err), nil
	}
	if matched, err := l.pred.Matches(obj); err == nil && matched {
		l.v.Set(reflect.Append(l.v, reflect.ValueOf(obj).Elem()))
	}
	return false, nil
}
