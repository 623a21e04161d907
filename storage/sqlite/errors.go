package sqlite

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/storage"
	"k8s.io/apiserver/pkg/storage/value"
)

// The messages clients see for compacted revisions are the etcd3 store's:
// clients and tests match on them.
const (
	msgWatchTooOld = "The resourceVersion for the provided watch is too old."
	msgListTooOld  = "The resourceVersion for the provided list is too old."
	msgContinueOld = "The provided continue parameter is too old to display a consistent list result. " +
		"You can start a new list without the continue parameter."
	msgContinueInconsistent = "The provided continue parameter is too old to display a consistent list result. " +
		"You can start a new list without the continue parameter, or use the continue token in this response to " +
		"retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - " +
		"objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list."
)

// listCompactedError is the 410 Gone a list at a compacted revision gets. A
// paged list also gets a continue token that resumes at the latest revision
// (rv -1), for clients that accept an inconsistent list.
func listCompactedError(continueKey, keyPrefix string) error {
	if continueKey == "" {
		return apierrors.NewResourceExpired(msgListTooOld)
	}
	token, err := storage.EncodeContinue(continueKey, keyPrefix, -1)
	if err != nil {
		return apierrors.NewResourceExpired(msgContinueOld)
	}
	statusErr := apierrors.NewResourceExpired(msgContinueInconsistent)
	statusErr.ErrStatus.ListMeta.Continue = token
	return statusErr
}

// The following implement the unsafe deletion of corrupt objects
// (feature AllowUnsafeMalformedObjectDeletion): when it is on, data that
// cannot be transformed or decoded is reported as a corrupt object, which the
// registry may then delete with DeleteOptions.ExpectTransformOrDecodeError.

// corruptObjectError says stored data could not be transformed or decoded.
type corruptObjectError struct {
	err         error
	undecodable bool
	rev         int64
}

func (e *corruptObjectError) Unwrap() error { return e.err }

func (e *corruptObjectError) Error() string {
	what := "data from the storage is not transformable"
	if e.undecodable {
		what = "object not decodable"
	}
	return fmt.Sprintf("%s revision=%d: %v", what, e.rev, e.err)
}

// corruptReportingTransformer reports every read failure of its transformer
// as a corrupt object.
type corruptReportingTransformer struct {
	value.Transformer
}

func (t corruptReportingTransformer) TransformFromStorage(ctx context.Context, data []byte, dataCtx value.Context) ([]byte, bool, error) {
	out, stale, err := t.Transformer.TransformFromStorage(ctx, data, dataCtx)
	if err != nil {
		err = &corruptObjectError{err: err}
	}
	return out, stale, err
}

// corruptDeletedError is a watch's DELETED event whose object is corrupt.
type corruptDeletedError struct {
	err error
}

func (e *corruptDeletedError) Error() string {
	return fmt.Sprintf("saw a DELETED event, but object data is corrupt - %v", e.err)
}

func (e *corruptDeletedError) Unwrap() error { return e.err }

// listErrors collects the per-item errors of a list. add returns true when
// the list must stop.
type listErrors interface {
	add(key string, err error) (stop bool)
	result(gr schema.GroupResource) error
}

// firstError stops a list at its first bad item: the behaviour without
// AllowUnsafeMalformedObjectDeletion.
type firstError struct{ err error }

func (f *firstError) add(_ string, err error) bool      { f.err = err; return true }
func (f *firstError) result(schema.GroupResource) error { return f.err }

// maxCorruptErrors bounds the corrupt objects one list reports.
const maxCorruptErrors = 100

var errTooManyCorrupt = errors.New("too many errors, the list is truncated")

// corruptErrors lets a list go on past corrupt objects, so that the client
// learns all of their keys (up to maxCorruptErrors); any other error stops
// the list.
type corruptErrors struct {
	keys  []string
	errs  []error
	abort error
}

func (c *corruptErrors) add(key string, err error) bool {
	if c.abort != nil {
		return true
	}
	var corrupt *corruptObjectError
	if !errors.As(err, &corrupt) {
		c.abort = err
		return true
	}
	c.keys = append(c.keys, key)
	c.errs = append(c.errs, storage.NewCorruptObjError(key, corrupt))
	if len(c.errs) >= maxCorruptErrors {
		c.abort = errTooManyCorrupt
		return true
	}
	return false
}

// result is nil, the error that stopped the list, or a 500 StoreReadError
// whose causes name each corrupt key.
func (c *corruptErrors) result(gr schema.GroupResource) error {
	if len(c.errs) == 0 {
		return c.abort
	}
	causes := make([]metav1.StatusCause, 0, len(c.errs)+1)
	for i, err := range c.errs {
		causes = append(causes, metav1.StatusCause{Type: metav1.CauseTypeUnexpectedServerResponse, Field: c.keys[i], Message: err.Error()})
	}
	switch {
	case errors.Is(c.abort, errTooManyCorrupt):
		causes = append(causes, metav1.StatusCause{Type: metav1.CauseTypeTooMany, Message: errTooManyCorrupt.Error()})
	case c.abort != nil:
		causes = append(causes, metav1.StatusCause{Type: metav1.CauseTypeUnexpectedServerResponse, Message: c.abort.Error()})
	}
	var msg strings.Builder
	fmt.Fprintf(&msg, "failed to read one or more %s from the storage: %v", gr.String(), c.errs[0])
	if len(c.errs) > 1 {
		fmt.Fprintf(&msg, " (and %d more)", len(c.errs)-1)
	}
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status:  metav1.StatusFailure,
		Code:    http.StatusInternalServerError,
		Reason:  metav1.StatusReasonStoreReadError,
		Message: msg.String(),
		Details: &metav1.StatusDetails{Group: gr.Group, Kind: gr.Resource, Name: "list", Causes: causes},
	}}
}
