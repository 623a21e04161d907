package server

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestGuardMiddleware(t *testing.T) {
	tag := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Tag", "1")
			next.ServeHTTP(w, r)
		})
	}
	panics := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("X-Panic") != "" {
				panic("boom")
			}
			next.ServeHTTP(w, r)
		})
	}
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Panic-Handler") != "" {
			panic("handler boom")
		}
		w.WriteHeader(http.StatusNoContent)
	})
	h := chainMiddleware(api, []Middleware{tag, panics})

	serve := func(header string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/api", nil)
		if header != "" {
			req.Header.Set(header, "1")
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}

	t.Run("no panic", func(t *testing.T) {
		rec := serve("")
		assert.Equal(t, http.StatusNoContent, rec.Code)
		assert.Equal(t, "1", rec.Header().Get("X-Tag"), "the outer middleware ran")
	})
	t.Run("a middleware panics", func(t *testing.T) {
		rec := serve("X-Panic")
		require.Equal(t, http.StatusInternalServerError, rec.Code)
		var st metav1.Status
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &st), rec.Body.String())
		assert.Equal(t, "Internal error occurred: middleware 1 (Options.Middleware[1]) panicked: boom", st.Message)
		assert.Equal(t, metav1.StatusReasonInternalError, st.Reason)
		assert.Equal(t, "1", rec.Header().Get("X-Tag"), "the outer middleware ran and is not blamed")
	})
	t.Run("the wrapped handler panics", func(t *testing.T) {
		// Not a middleware's fault: the panic goes on to the generic
		// server's recovery, unchanged.
		assert.PanicsWithValue(t, "handler boom", func() { serve("X-Panic-Handler") })
	})
	t.Run("abort handler", func(t *testing.T) {
		abort := chainMiddleware(api, []Middleware{func(http.Handler) http.Handler {
			return http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) })
		}})
		assert.PanicsWithValue(t, http.ErrAbortHandler, func() {
			abort.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
		})
	})
}
