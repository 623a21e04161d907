package testcontrolplane_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/generic-controlplane/gcp/testcontrolplane"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if err := testcontrolplane.Shutdown(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	os.Exit(code)
}

var widgets = schema.GroupVersionResource{Group: "example.com", Version: "v1", Resource: "widgets"}

func widget(name string, size int64) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "example.com/v1", "kind": "Widget",
		"metadata": map[string]any{"name": name, "namespace": "default"},
		"spec":     map[string]any{"size": size},
	}}
}

// Eight instances in parallel install the same CRD and write the same
// object name; each sees only its own.
func TestParallelInstancesAreIsolated(t *testing.T) {
	for i := range 8 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			cp := testcontrolplane.Start(t, testcontrolplane.Options{CRDPaths: []string{"testdata/crds"}})
			require.True(t, cp.InProcess)
			client := dynamic.NewForConfigOrDie(cp.Config).Resource(widgets).Namespace("default")
			ctx := context.Background()

			_, err := client.Create(ctx, widget("w", int64(i)), metav1.CreateOptions{})
			require.NoError(t, err)
			list, err := client.List(ctx, metav1.ListOptions{})
			require.NoError(t, err)
			require.Len(t, list.Items, 1)
			size, _, _ := unstructured.NestedInt64(list.Items[0].Object, "spec", "size")
			assert.Equal(t, int64(i), size, "instance %d sees another instance's object", i)
		})
	}
}

// The kubeconfig reaches the same server as Config; a client without the
// admin token is not let in.
func TestKubeconfigAndAuthentication(t *testing.T) {
	cp := testcontrolplane.Start(t, testcontrolplane.Options{})
	fromKubeconfig, err := clientcmd.RESTConfigFromKubeConfig(cp.Kubeconfig)
	require.NoError(t, err)
	version, err := kubernetes.NewForConfigOrDie(fromKubeconfig).Discovery().ServerVersion()
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(version.GitVersion, "v1."), "gitVersion %q", version.GitVersion)

	anonymous := rest.AnonymousClientConfig(cp.Config)
	_, err = kubernetes.NewForConfigOrDie(anonymous).Discovery().ServerGroups()
	assert.True(t, apierrors.IsUnauthorized(err), "anonymous discovery: %v", err)
}

func TestStopIsIdempotentAndFreesThePort(t *testing.T) {
	cp, err := testcontrolplane.New(context.Background(), testcontrolplane.Options{})
	require.NoError(t, err)
	require.NoError(t, cp.Stop())
	require.NoError(t, cp.Stop())
	_, err = kubernetes.NewForConfigOrDie(cp.Config).Discovery().ServerVersion()
	assert.Error(t, err, "the server still answers after Stop")
}

func TestReadCRDs(t *testing.T) {
	crds, err := testcontrolplane.ReadCRDs("testdata/crds")
	require.NoError(t, err)
	var names []string
	for _, c := range crds {
		names = append(names, c.Name)
	}
	assert.Equal(t, []string{"gadgets.example.com", "widgets.example.com"}, names)

	for path, want := range map[string]string{
		"testdata/missing":      "no such file or directory",
		"testdata/v1beta1.yaml": `apiVersion "apiextensions.k8s.io/v1beta1": only apiextensions.k8s.io/v1 is served`,
		"testdata/broken.yaml":  "testdata/broken.yaml: document 1",
	} {
		_, err := testcontrolplane.ReadCRDs(path)
		assert.ErrorContains(t, err, want, path)
	}
}

func TestStartFailsOnABadCRD(t *testing.T) {
	bad := &apiextensionsv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Name: "bad.example.com"}}
	_, err := testcontrolplane.New(context.Background(), testcontrolplane.Options{CRDs: []*apiextensionsv1.CustomResourceDefinition{bad}})
	assert.ErrorContains(t, err, "installing CRD bad.example.com")
}

// Built-in APIs come from a minimal-apiserver binary: namespaces and
// configmaps are served next to CRDs.
func TestBuiltinAPIsOutOfProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds minimal-apiserver unless $" + testcontrolplane.ServerEnv + " names one")
	}
	t.Parallel()
	cp := testcontrolplane.Start(t, testcontrolplane.Options{
		BuiltinAPIs: []string{"namespaces", "configmaps"},
		CRDPaths:    []string{"testdata/crds/widgets.yaml"},
	})
	require.False(t, cp.InProcess)
	ctx := context.Background()
	kube := kubernetes.NewForConfigOrDie(cp.Config)
	_, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = dynamic.NewForConfigOrDie(cp.Config).Resource(widgets).Namespace("default").Create(ctx, widget("w", 1), metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = kube.CoreV1().Secrets("default").List(ctx, metav1.ListOptions{})
	assert.True(t, apierrors.IsNotFound(err), "secrets were not asked for: %v", err)

	// the server is gone once stopped
	require.NoError(t, cp.Stop())
	_, err = kube.Discovery().ServerVersion()
	assert.Error(t, err)
}

// /apis lists the CRD groups in both forms: aggregated (client-go's
// default) and the APIGroupList older clients ask for.
func TestGroupDiscovery(t *testing.T) {
	t.Parallel()
	cp := testcontrolplane.Start(t, testcontrolplane.Options{CRDPaths: []string{"testdata/crds"}})
	groups, err := kubernetes.NewForConfigOrDie(cp.Config).Discovery().ServerGroups()
	require.NoError(t, err)
	var names []string
	for _, g := range groups.Groups {
		names = append(names, g.Name)
	}
	assert.Contains(t, names, "example.com")

	raw, err := kubernetes.NewForConfigOrDie(cp.Config).Discovery().RESTClient().Get().AbsPath("/apis").
		SetHeader("Accept", "application/json").DoRaw(context.Background())
	require.NoError(t, err)
	var list metav1.APIGroupList
	require.NoError(t, json.Unmarshal(raw, &list))
	names = nil
	for _, g := range list.Groups {
		names = append(names, g.Name+"="+g.PreferredVersion.GroupVersion)
	}
	assert.Contains(t, names, "example.com=example.com/v1")
	assert.Contains(t, names, "apiextensions.k8s.io=apiextensions.k8s.io/v1")
}

// A CRD object that envtest (or an earlier install) filled with the
// server's fields installs again.
func TestCRDWithServerFieldsInstalls(t *testing.T) {
	t.Parallel()
	crds, err := testcontrolplane.ReadCRDs("testdata/crds/widgets.yaml")
	require.NoError(t, err)
	crds[0].ResourceVersion, crds[0].UID = "42", "0b9f3f0e-8d1c-4a57-9a36-8b5f0c3f6d11"
	testcontrolplane.Start(t, testcontrolplane.Options{CRDs: crds})
}
