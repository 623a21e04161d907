package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
)

func widget(name, size string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "faults.example.com/v1", "kind": "Widget",
		"metadata": map[string]any{"name": name}, "spec": map[string]any{"size": size},
	}}
}

// messageOf is the message of a metav1.Status body, else the body cut short.
func messageOf(body string) string {
	var st metav1.Status
	if json.Unmarshal([]byte(body), &st) == nil && st.Message != "" {
		return st.Message
	}
	if len(body) > 200 {
		body = body[:200] + "..."
	}
	return strings.TrimSpace(body)
}

// TestBadRequests sends what clients get wrong: each must get a 4xx whose
// message says what is wrong, and the server must stay ready.
func TestBadRequests(t *testing.T) {
	bin := minimalBin(t)
	p := startIn(t, t.TempDir(), bin)
	hc := httpClient(t, p)
	base := p.URL()
	cms := base + "/api/v1/namespaces/default/configmaps"
	ext := apiextensionsclient.NewForConfigOrDie(p.RESTConfig())
	_, err := ext.ApiextensionsV1().CustomResourceDefinitions().Create(t.Context(), widgetCRD(), metav1.CreateOptions{})
	require.NoError(t, err)
	widgets := base + "/apis/faults.example.com/v1/namespaces/default/widgets"
	require.NoError(t, wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		code, _ := do(t, hc, http.MethodGet, widgets, "", nil)
		return code == http.StatusOK, nil
	}), "widgets served")
	code, body := do(t, hc, http.MethodPost, cms, "application/json", strings.NewReader(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"target"}}`))
	require.Equal(t, http.StatusCreated, code, body)
	big := strings.Repeat("x", 4<<20)
	cases := []struct {
		fault       string
		method, url string
		contentType string
		body        string
		wantCode    int
		wantInMsg   string
		// upstream, if set, says why the answer is known to be unclear
		// upstream: the case asserts it as it is, so a change is noticed.
		upstream string
	}{
		{"malformed JSON", http.MethodPost, cms, "application/json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":`, 400, "unexpected end of JSON input", ""},
		{"malformed YAML", http.MethodPost, cms, "application/yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: [name: x\n", 400, "yaml", ""},
		{"wrong kind for the resource", http.MethodPost, cms, "application/json", `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"k"}}`, 400, "Secret", ""},
		{"unknown apiVersion in the body", http.MethodPost, cms, "application/json", `{"apiVersion":"v9","kind":"ConfigMap","metadata":{"name":"v"}}`, 400, "v9", ""},
		{"body over the size limit (4 MiB)", http.MethodPost, cms, "application/json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"big"},"data":{"k":"` + big + `"}}`, 413, "too large", ""},
		{"name over the length limit (254 chars)", http.MethodPost, cms, "application/json", fmt.Sprintf(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":%q}}`, strings.Repeat("a", 254)), 422, "must be no more than 253 characters", ""},
		{"invalid name characters", http.MethodPost, cms, "application/json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"Not_Valid"}}`, 422, "RFC 1123", ""},
		{"invalid resourceVersion", http.MethodGet, cms + "?resourceVersion=abc&resourceVersionMatch=Exact", "", "", 400, "resourceVersion", ""},
		{"invalid label selector", http.MethodGet, cms + "?labelSelector=" + url.QueryEscape("a in (b"), "", "", 400, "unable to parse requirement", ""},
		{"unsupported field selector", http.MethodGet, cms + "?fieldSelector=" + url.QueryEscape("spec.nothing=x"), "", "", 400, "is not a known field selector", ""},
		{"JSON patch with an unknown op", http.MethodPatch, cms + "/target", "application/json-patch+json", `[{"op":"frobnicate","path":"/data"}]`, 422,
			"the server rejected our request due to an error in our request", jsonPatchUpstream},
		{"merge patch that is not JSON", http.MethodPatch, cms + "/target", "application/merge-patch+json", `{"data":`, 400, "invalid JSON patch", ""},
		{"CRD with an invalid schema", http.MethodPost, base + "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", "application/json",
			`{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition","metadata":{"name":"bads.faults.example.com"},"spec":{"group":"faults.example.com","scope":"Namespaced","names":{"plural":"bads","kind":"Bad"},"versions":[{"name":"v1","served":true,"storage":true,"schema":{"openAPIV3Schema":{"type":"strin"}}}]}}`,
			422, "Unsupported value: \"strin\"", ""},
		{"custom resource that violates its schema", http.MethodPost, widgets, "application/json",
			`{"apiVersion":"faults.example.com/v1","kind":"Widget","metadata":{"name":"w"},"spec":{"size":"huge"}}`, 422, `Unsupported value: "huge"`, ""},
		{"custom resource missing a required field", http.MethodPost, widgets, "application/json",
			`{"apiVersion":"faults.example.com/v1","kind":"Widget","metadata":{"name":"w"},"spec":{}}`, 422, "spec.size: Required value", ""},
		{"unknown resource", http.MethodGet, base + "/api/v1/namespaces/default/gizmos", "", "", 404, "the server could not find the requested resource", ""},
	}
	for _, c := range cases {
		t.Run(strings.ReplaceAll(c.fault, " ", "-"), func(t *testing.T) {
			r := record(t, "bad requests", c.fault, "")
			var body *strings.Reader
			if c.body != "" {
				body = strings.NewReader(c.body)
			}
			code, resp := 0, ""
			if body != nil {
				code, resp = do(t, hc, c.method, c.url, c.contentType, body)
			} else {
				code, resp = do(t, hc, c.method, c.url, c.contentType, nil)
			}
			msg := messageOf(resp)
			r.Did = fmt.Sprintf("HTTP %d: %s", code, msg)
			if c.wantCode != 0 {
				assert.Equal(t, c.wantCode, code, msg)
			}
			assert.True(t, code >= 400 && code < 500, "want a 4xx, got %d: %s", code, msg)
			assert.Contains(t, msg, c.wantInMsg)
			requireReady(t, p)
			r.Upstream = c.upstream
		})
	}
}

// jsonPatchUpstream is why a JSON patch that cannot be applied gets a 422
// that does not say what is wrong.
const jsonPatchUpstream = "k8s.io/apiserver/pkg/endpoints/handlers/patch.go:425 wraps the error of jsonpatch's Apply (here \"Unexpected kind: frobnicate\") " +
	"in errors.NewGenericServerResponse(422, ..., isUnexpectedResponse=false), which drops the message; errors.NewInvalid or NewBadRequest with err.Error() would keep it. kube-apiserver answers the same."
