package server

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/klog/v2"
	"k8s.io/kubernetes/pkg/api/legacyscheme"
)

// DefaultAdmissionTimeout bounds an inline admission func whose plugin sets
// no Timeout: the default timeoutSeconds of an admission webhook.
const DefaultAdmissionTimeout = 10 * time.Second

// Request is what an inline admission func sees: the admission attributes and
// the object in its request (external) version as a JSON-like map.
type Request struct {
	admission.Attributes
	// Object is the new object (nil for delete/connect), e.g. r.Object["data"].
	Object map[string]any
}

// AdmitFunc rejects a request by returning an error; the message is returned
// to the client as a 403 Forbidden "... is forbidden: <message>".
type AdmitFunc func(ctx context.Context, r Request) error

// AdmissionPlugin is an inline validating admission plugin.
//
// A plugin that panics fails the request with a 500 naming the plugin; one
// that has not returned after Timeout fails it with a 504 naming the plugin
// (its ctx is cancelled then). Either way the server keeps serving.
type AdmissionPlugin struct {
	Name  string
	Admit AdmitFunc
	// Timeout bounds one call of Admit (default DefaultAdmissionTimeout).
	Timeout time.Duration
}

type funcPlugin struct {
	*admission.Handler
	name    string
	fn      AdmitFunc
	timeout time.Duration
}

var _ admission.ValidationInterface = &funcPlugin{}

func (p *funcPlugin) Validate(ctx context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	r := Request{Attributes: a}
	if obj := a.GetObject(); obj != nil {
		m, err := toMap(obj, a)
		if err != nil {
			return admission.NewForbidden(a, fmt.Errorf("cannot convert object for admission: %w", err))
		}
		r.Object = m
	}
	if err := p.call(ctx, r); err != nil {
		if apierrors.IsInternalError(err) || apierrors.IsTimeout(err) {
			return err
		}
		return admission.NewForbidden(a, err)
	}
	return nil
}

// call runs the plugin's func with a deadline and turns a panic or an
// overrun into an API error naming the plugin. The func runs on its own
// goroutine so that one that ignores its ctx cannot hold the request; such a
// goroutine is left behind, as with any handler that never returns.
func (p *funcPlugin) call(ctx context.Context, r Request) error {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		defer func() {
			if v := recover(); v != nil {
				klog.ErrorS(nil, "Inline admission plugin panicked", "plugin", p.name, "panic", v, "stack", string(debug.Stack()))
				done <- apierrors.NewInternalError(fmt.Errorf("admission plugin %q panicked: %v", p.name, v))
			}
		}()
		done <- p.fn(ctx, r)
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		klog.ErrorS(ctx.Err(), "Inline admission plugin did not answer in time", "plugin", p.name, "timeout", p.timeout)
		return apierrors.NewTimeoutError(fmt.Sprintf("admission plugin %q did not answer within %s", p.name, p.timeout), 0)
	}
}

// toMap converts internal built-in objects to the request version first (their
// internal Go types have no JSON names); custom resources are already unstructured.
func toMap(obj runtime.Object, a admission.Attributes) (map[string]any, error) {
	if u, ok := obj.(runtime.Unstructured); ok {
		return u.UnstructuredContent(), nil
	}
	gvk := a.GetKind()
	if legacyscheme.Scheme.IsVersionRegistered(gvk.GroupVersion()) {
		ext, err := legacyscheme.Scheme.ConvertToVersion(obj, gvk.GroupVersion())
		if err == nil {
			obj = ext
		}
	}
	return runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
}

// newFuncPlugin is the admission.Interface of p: its func, guarded by its
// timeout (DefaultAdmissionTimeout if unset) and against panics.
func newFuncPlugin(p AdmissionPlugin) *funcPlugin {
	timeout := p.Timeout
	if timeout == 0 {
		timeout = DefaultAdmissionTimeout
	}
	return &funcPlugin{Handler: admission.NewHandler(admission.Create, admission.Update, admission.Delete, admission.Connect),
		name: p.Name, fn: p.Admit, timeout: timeout}
}
