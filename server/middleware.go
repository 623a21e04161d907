package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"runtime/debug"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
)

// chainMiddleware wraps h in middleware, outermost first, each one guarded
// by guardMiddleware.
func chainMiddleware(h http.Handler, middleware []Middleware) http.Handler {
	for i := len(middleware) - 1; i >= 0; i-- {
		h = guardMiddleware(i, middleware[i])(h)
	}
	return h
}

// innerPanic carries a panic of the handler a middleware wraps through that
// middleware's guard, which must not blame its middleware for it.
type innerPanic struct{ value any }

// guardMiddleware turns a panic in middleware number i (not in the handlers
// it calls) into a 500 Status naming it, so that a faulty middleware fails
// its request and the server keeps serving. The generic server's own panic
// recovery, further out, would answer a bare 500 that names nothing.
// http.ErrAbortHandler passes through: it is how a handler aborts a response
// on purpose.
func guardMiddleware(i int, m Middleware) Middleware {
	return func(next http.Handler) http.Handler {
		inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				if v := recover(); v != nil {
					panic(innerPanic{v})
				}
			}()
			next.ServeHTTP(w, r)
		})
		h := m(inner)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				v := recover()
				switch v := v.(type) {
				case nil:
				case innerPanic:
					panic(v.value)
				default:
					if v == http.ErrAbortHandler {
						panic(v)
					}
					klog.ErrorS(nil, "Middleware panicked", "middleware", i, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
					writeStatus(w, http.StatusInternalServerError, metav1.StatusReasonInternalError,
						fmt.Sprintf("Internal error occurred: middleware %d (Options.Middleware[%d]) panicked: %v", i, i, v))
				}
			}()
			h.ServeHTTP(w, r)
		})
	}
}

// writeStatus answers with a metav1.Status, as API errors are answered.
func writeStatus(w http.ResponseWriter, code int, reason metav1.StatusReason, message string) {
	b, _ := json.Marshal(metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusFailure, Reason: reason, Code: int32(code), Message: message,
	})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}
