package crdonly

import (
	"context"
	"crypto/tls"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// start runs a server on dir with an embedded etcd and returns its admin
// client config once /readyz passes, and the func that stops it.
func start(t *testing.T, dir string) (*rest.Config, func()) {
	t.Helper()
	o := NewOptions()
	o.Name, o.DataDir, o.SecurePort = "crdonly-test", dir, 0
	// A restart on a free port writes a new kubeconfig; the old one names
	// the old port.
	kubeconfig := filepath.Join(dir, "admin.kubeconfig")
	require.NoError(t, os.RemoveAll(kubeconfig))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, *o) }()
	stop := func() {
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(time.Minute):
			t.Fatal("the server did not stop within a minute")
		}
	}
	var cfg *rest.Config
	err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		select {
		case err := <-done:
			return false, err
		default:
		}
		if cfg == nil {
			if _, err := os.Stat(kubeconfig); err != nil {
				return false, nil
			}
			var err error
			if cfg, err = clientcmd.BuildConfigFromFlags("", kubeconfig); err != nil {
				return false, err
			}
		}
		client, err := discovery.NewDiscoveryClientForConfig(cfg)
		if err != nil {
			return false, err
		}
		_, err = client.RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err == nil, nil
	})
	if err != nil {
		cancel()
		t.Fatalf("the server did not become ready: %v", err)
	}
	return cfg, stop
}

var widgets = schema.GroupVersionResource{Group: "demo.crdonly.example.com", Version: "v1", Resource: "widgets"}

func widgetCRD() *apiextensionsv1.CustomResourceDefinition {
	return &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: widgets.Resource + "." + widgets.Group},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: widgets.Group, Scope: apiextensionsv1.NamespaceScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "widgets", Singular: "widget", Kind: "Widget", ListKind: "WidgetList"},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{Name: "v1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type: "object", XPreserveUnknownFields: ptrTo(true)}}}},
		},
	}
}

func ptrTo[T any](v T) *T { return &v }

// TestCRDsAndCustomResourcesSurviveARestart serves a CRD and a custom
// resource, restarts the server on the same data dir and reads them back.
func TestCRDsAndCustomResourcesSurviveARestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg, stop := start(t, dir)

	groups, err := discovery.NewDiscoveryClientForConfigOrDie(cfg).ServerGroups()
	require.NoError(t, err)
	var names []string
	for _, g := range groups.Groups {
		if len(g.Versions) > 0 { // client-go lists the legacy group even without versions
			names = append(names, g.Name)
		}
	}
	assert.Equal(t, []string{"apiextensions.k8s.io"}, names, "discovery lists the CRD group only")

	crds := apiextensionsclient.NewForConfigOrDie(cfg).ApiextensionsV1().CustomResourceDefinitions()
	_, err = crds.Create(ctx, widgetCRD(), metav1.CreateOptions{})
	require.NoError(t, err)
	cr := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": widgets.GroupVersion().String(), "kind": "Widget",
		"metadata": map[string]any{"name": "w1"}, "spec": map[string]any{"size": int64(3)}}}
	client := dynamic.NewForConfigOrDie(cfg).Resource(widgets).Namespace("default")
	require.NoError(t, wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := client.Create(ctx, cr, metav1.CreateOptions{})
		return err == nil, nil
	}), "creating a Widget once its CRD is established")
	// kubectl and helm validate a custom resource against the schema the
	// server publishes for it: /openapi/v3/apis/<group>/<version>.
	rc := discovery.NewDiscoveryClientForConfigOrDie(cfg).RESTClient()
	require.NoError(t, wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := rc.Get().AbsPath("/openapi/v3/apis/" + widgets.Group + "/" + widgets.Version).DoRaw(ctx)
		return err == nil, nil
	}), "the Widget schema in /openapi/v3")
	_, err = rc.Get().AbsPath("/openapi/v2").DoRaw(ctx)
	require.NoError(t, err, "/openapi/v2")
	stop()

	cfg, stop = start(t, dir)
	defer stop()
	got, err := dynamic.NewForConfigOrDie(cfg).Resource(widgets).Namespace("default").Get(ctx, "w1", metav1.GetOptions{})
	require.NoError(t, err, "the Widget after a restart")
	size, _, _ := unstructured.NestedInt64(got.Object, "spec", "size")
	assert.Equal(t, int64(3), size)
}

// TestOnlyTheAdminIsServed: a client without a certificate of the data
// dir's CA is refused; a second server on the same data dir fails at once,
// naming the flag to change.
func TestOnlyTheAdminIsServed(t *testing.T) {
	dir := t.TempDir()
	cfg, stop := start(t, dir)
	defer stop()

	anonymous := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := anonymous.Get(cfg.Host + "/apis/apiextensions.k8s.io/v1/customresourcedefinitions")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Contains(t, []int{http.StatusUnauthorized, http.StatusForbidden}, resp.StatusCode, "a request without a client certificate")

	o := NewOptions()
	o.DataDir, o.SecurePort = dir, 0
	err = Run(context.Background(), *o)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "is in use by")
	assert.Contains(t, err.Error(), "--data-dir")
}

func TestValidateNamesTheFlags(t *testing.T) {
	o := Options{BindAddress: "localhost", SecurePort: 70000}
	err := o.Validate()
	require.Error(t, err)
	for _, flag := range []string{"--data-dir", "--bind-address", "--secure-port", "--etcd-prefix"} {
		assert.Contains(t, err.Error(), flag)
	}
	assert.NoError(t, NewOptions().Validate())
}
