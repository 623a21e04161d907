package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilversion "k8s.io/apimachinery/pkg/util/version"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// startInProcess runs Run(ctx, o) with o.DataDir set to a temporary directory
// and a free port, waits for /readyz and returns the admin kubeconfig, its
// client config and the channel Run's result arrives on.
func startInProcess(t *testing.T, ctx context.Context, o Options) (kubeconfig string, _ *rest.Config, _ <-chan error) {
	t.Helper()
	o.DataDir = t.TempDir()
	kubeconfig = filepath.Join(o.DataDir, "admin.kubeconfig")
	o.ControlPlane = NewControlPlaneOptions()
	o.ControlPlane.SecureServing.BindPort = 0
	done := make(chan error, 1)
	go func() { done <- Run(ctx, o) }()

	var cfg *rest.Config
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		select {
		case err := <-done:
			return false, fmt.Errorf("Run returned early: %v", err)
		default:
		}
		var err error
		cfg, err = clientcmd.BuildConfigFromFlags("", kubeconfig)
		if err != nil {
			return false, nil
		}
		_, err = kubernetes.NewForConfigOrDie(cfg).Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err == nil, nil
	})
	require.NoError(t, err, "server did not become ready")
	return kubeconfig, cfg, done
}

// TestRunInProcess uses the Go API: Run with an inline admission plugin and a
// middleware on a real embedded etcd, checked with client-go; /version reports
// a Kubernetes version kubectl understands; cancelling the context stops the
// server.
func TestRunInProcess(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	kubeconfig, cfg, done := startInProcess(t, ctx, Options{
		APIs: []string{"namespaces", "configmaps", "rbac"},
		Admission: []AdmissionPlugin{{Name: "DenyLabel", Admit: func(ctx context.Context, r Request) error {
			if l, _, _ := unstructured.NestedStringMap(r.Object, "metadata", "labels"); l["deny"] != "" {
				return errors.New("label deny is not allowed")
			}
			return nil
		}}},
		Middleware: []Middleware{func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Header().Set("X-Test", "1"); h.ServeHTTP(w, r) })
		}},
	})
	c := kubernetes.NewForConfigOrDie(cfg)

	t.Run("admission", func(t *testing.T) {
		cms := c.CoreV1().ConfigMaps("default")
		_, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "bad", Labels: map[string]string{"deny": "x"}}}, metav1.CreateOptions{})
		assert.True(t, apierrors.IsForbidden(err), "create with deny label: %v, want Forbidden", err)
		assert.ErrorContains(t, err, "label deny is not allowed")
		_, err = cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "good"}}, metav1.CreateOptions{})
		assert.NoError(t, err)
	})
	t.Run("unselected-api", func(t *testing.T) {
		_, err := c.CoreV1().Secrets("default").List(ctx, metav1.ListOptions{})
		assert.True(t, apierrors.IsNotFound(err), "list secrets: %v, want NotFound", err)
	})
	t.Run("anonymous-rejected", func(t *testing.T) {
		anon := kubernetes.NewForConfigOrDie(rest.AnonymousClientConfig(cfg))
		_, err := anon.Discovery().RESTClient().Get().AbsPath("/version").DoRaw(ctx)
		assert.True(t, apierrors.IsUnauthorized(err), "anonymous /version: %v, want 401", err)
	})
	t.Run("middleware", func(t *testing.T) {
		rt, err := rest.TransportFor(cfg)
		require.NoError(t, err)
		resp, err := (&http.Client{Transport: rt}).Get(cfg.Host + "/api/v1/namespaces")
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, "1", resp.Header.Get("X-Test"))
	})
	t.Run("namespace-deletion", func(t *testing.T) {
		// The namespace controller deletes the content, then removes the
		// "kubernetes" finalizer (server/namespacedeletion.go).
		_, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "gone"}}, metav1.CreateOptions{})
		require.NoError(t, err)
		_, err = c.CoreV1().ConfigMaps("gone").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, metav1.CreateOptions{})
		require.NoError(t, err)
		deleteNamespaceAndWait(t, ctx, c, "gone")
	})
	// A test binary carries no module versions, so only the form is checked
	// here; TestSIGTERMStopsStorageLast checks the release a built binary reports.
	t.Run("version", func(t *testing.T) { checkVersion(t, ctx, kubeconfig, "") })

	stopRun(t, cancel, done)
}

// checkVersion asserts that /version reports a Kubernetes version (wantGitVersion
// unless empty) in a form client tools parse: apimachinery's ParseSemantic and,
// if $KUBECTL names one, kubectl version.
func checkVersion(t *testing.T, ctx context.Context, kubeconfig, wantGitVersion string) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	require.NoError(t, err)
	info, err := kubernetes.NewForConfigOrDie(cfg).Discovery().ServerVersion()
	require.NoError(t, err)
	t.Logf("/version: gitVersion %q major %q minor %q", info.GitVersion, info.Major, info.Minor)
	if wantGitVersion != "" {
		assert.Equal(t, wantGitVersion, info.GitVersion)
	}
	v, err := utilversion.ParseSemantic(info.GitVersion)
	require.NoError(t, err, "GitVersion %q", info.GitVersion)
	assert.Empty(t, cmp.Diff([]string{fmt.Sprint(v.Major()), fmt.Sprint(v.Minor())}, []string{info.Major, info.Minor}), "Major/Minor of %s", info.GitVersion)
	assert.Equal(t, uint(1), v.Major())

	kubectl := os.Getenv("KUBECTL")
	if kubectl == "" {
		t.Log("KUBECTL is not set; skipping the kubectl version check")
		return
	}
	var stderr strings.Builder
	cmd := exec.CommandContext(ctx, kubectl, "--kubeconfig", kubeconfig, "version", "-o", "json")
	cmd.Stderr = &stderr // a version skew warning goes here
	// make harness stamps kubectl with the pinned release (mk/harness.mk), so
	// both versions must parse: a failure here is ours or the build's.
	out, err := cmd.Output()
	require.NoError(t, err, "kubectl version (a kubectl built without the version stamps of make harness cannot parse its own version):\n%s%s", out, stderr.String())
	var parsed struct {
		ServerVersion struct{ GitVersion, Major, Minor string }
	}
	require.NoError(t, json.Unmarshal(out, &parsed), "kubectl version output:\n%s", out)
	assert.Empty(t, cmp.Diff([]string{info.GitVersion, info.Major, info.Minor},
		[]string{parsed.ServerVersion.GitVersion, parsed.ServerVersion.Major, parsed.ServerVersion.Minor}))
}

// TestNamespacesWithoutNamespacedResources serves namespaces and CRDs only:
// before the first CRD no served resource is namespaced, which made the
// upstream namespace controller exit the process at its start. The server
// must get ready, stay up and still delete a namespace.
func TestNamespacesWithoutNamespacedResources(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, cfg, done := startInProcess(t, ctx, Options{APIs: []string{"namespaces", "crds"}})
	c := kubernetes.NewForConfigOrDie(cfg)
	_, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "empty"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	deleteNamespaceAndWait(t, ctx, c, "empty")
	stopRun(t, cancel, done)
}

// deleteNamespaceAndWait deletes namespace name and asserts that it is gone
// within 30 s (the namespace controller removed its content and finalizer).
func deleteNamespaceAndWait(t *testing.T, ctx context.Context, c kubernetes.Interface, name string) {
	t.Helper()
	require.NoError(t, c.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{}))
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := c.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	assert.NoError(t, err, "namespace %s still there 30 s after delete", name)
}

// stopRun cancels a Run started by startInProcess and asserts that it
// returns without error within 2 minutes.
func stopRun(t *testing.T, cancel context.CancelFunc, done <-chan error) {
	t.Helper()
	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err, "Run after cancel")
	case <-time.After(2 * time.Minute):
		t.Fatal("Run did not return after cancel")
	}
}
