package scenario

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
)

// startAggregated serves discovery for demo.scenario.example.com/v1 over HTTPS.
func startAggregated(listen string) (string, func(), error) {
	mux := http.NewServeMux()
	write := func(w http.ResponseWriter, v any) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	}
	mux.HandleFunc("/apis/demo.scenario.example.com/v1", func(w http.ResponseWriter, r *http.Request) {
		write(w, map[string]any{"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "demo.scenario.example.com/v1",
			"resources": []any{map[string]any{"name": "gadgets", "singularName": "gadget", "namespaced": true, "kind": "Gadget", "verbs": []any{"get", "list"}}}})
	})
	mux.HandleFunc("/apis", func(w http.ResponseWriter, r *http.Request) {
		write(w, map[string]any{"kind": "APIGroupList", "apiVersion": "v1", "groups": []any{map[string]any{"name": "demo.scenario.example.com",
			"versions":         []any{map[string]any{"groupVersion": "demo.scenario.example.com/v1", "version": "v1"}},
			"preferredVersion": map[string]any{"groupVersion": "demo.scenario.example.com/v1", "version": "v1"}}}})
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) })
	s := httptest.NewUnstartedServer(mux)
	l, err := net.Listen("tcp", listen)
	if err != nil {
		return "", nil, err
	}
	s.Listener = l
	s.StartTLS()
	return l.Addr().String(), s.Close, nil
}

func splitHostPort(addr string) (string, int64) {
	h, p, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(p)
	return h, int64(n)
}
