package faults

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFaultyPlugins runs example-faulty, whose inline admission plugin and
// middleware panic or hang on request: the request gets a 500 naming the
// plugin (or a timeout), the server stays ready, later requests succeed.
func TestFaultyPlugins(t *testing.T) {
	bin := faultyBin(t)
	// A short request timeout, so that a hanging middleware is cut off soon.
	p := startIn(t, t.TempDir(), bin, "--request-timeout=3s")
	hc := httpClient(t, p)
	configmaps := p.URL() + "/api/v1/namespaces/default/configmaps"
	cm := func(name, key string) *strings.Reader {
		return strings.NewReader(fmt.Sprintf(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":%q},"data":{%q:"x"}}`, name, key))
	}
	cases := []struct {
		fault      string
		method     string
		url        string
		body       func() *strings.Reader
		header     []string
		wantCode   int
		wantInBody string
		within     time.Duration
	}{
		{"inline admission plugin panics", http.MethodPost, configmaps, func() *strings.Reader { return cm("p", "panic") }, nil,
			http.StatusInternalServerError, `admission plugin \"FaultyAdmission\" panicked`, 5 * time.Second},
		{"inline admission plugin hangs (timeout 2 s)", http.MethodPost, configmaps, func() *strings.Reader { return cm("h", "hang") }, nil,
			http.StatusGatewayTimeout, `admission plugin \"FaultyAdmission\" did not answer within 2s`, 10 * time.Second},
		{"middleware panics", http.MethodGet, configmaps, nil, []string{"X-Fault", "panic"},
			http.StatusInternalServerError, "middleware 0 (Options.Middleware[0]) panicked: request asked for a panic", 5 * time.Second},
		{"middleware hangs (--request-timeout=3s)", http.MethodGet, configmaps, nil, []string{"X-Fault", "hang"},
			http.StatusGatewayTimeout, "request did not complete within the allotted timeout", 15 * time.Second},
	}
	for i, c := range cases {
		t.Run(strings.ReplaceAll(c.fault, " ", "-"), func(t *testing.T) {
			r := record(t, "plugins", c.fault, "")
			start := time.Now()
			var code int
			var body string
			if c.body != nil {
				code, body = do(t, hc, c.method, c.url, "application/json", c.body(), c.header...)
			} else {
				code, body = do(t, hc, c.method, c.url, "", nil, c.header...)
			}
			took := time.Since(start)
			r.Numbers["answered after s"] = seconds(took)
			r.Did = fmt.Sprintf("HTTP %d after %.1f s: %s", code, seconds(took), messageOf(body))
			assert.Equal(t, c.wantCode, code, body)
			assert.Contains(t, body, c.wantInBody)
			assert.Less(t, took, c.within)
			requireReady(t, p)
			// A well-behaved request right after succeeds.
			code, body = do(t, hc, http.MethodPost, configmaps, "application/json", cm(fmt.Sprintf("ok-%d", i), "fine"))
			require.Equal(t, http.StatusCreated, code, "a good create after the fault: %s", body)
			r.Did += "; /readyz 200 and the next create 201"
		})
	}
}
