package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// TestRunInProcess uses the Go API: Run with an inline admission plugin and a
// middleware on a real embedded etcd, checked with client-go; cancelling the
// context stops the server.
func TestRunInProcess(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	o := Options{
		APIs:    []string{"namespaces", "configmaps", "rbac"},
		DataDir: dir,
		Admission: []AdmissionPlugin{{Name: "DenyLabel", Admit: func(ctx context.Context, r Request) error {
			if l, _, _ := unstructured.NestedStringMap(r.Object, "metadata", "labels"); l["deny"] != "" {
				return errors.New("label deny is not allowed")
			}
			return nil
		}}},
		Middleware: []Middleware{func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Header().Set("X-Test", "1"); h.ServeHTTP(w, r) })
		}},
	}
	s := o.upstream()
	s.SecureServing.BindPort = 0
	done := make(chan error, 1)
	go func() { done <- Run(ctx, o, s) }()

	var c *kubernetes.Clientset
	var cfg *rest.Config
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		select {
		case err := <-done:
			return false, fmt.Errorf("Run returned early: %v", err)
		default:
		}
		var err error
		cfg, err = clientcmd.BuildConfigFromFlags("", filepath.Join(dir, "admin.kubeconfig"))
		if err != nil {
			return false, nil
		}
		c = kubernetes.NewForConfigOrDie(cfg)
		_, err = c.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err == nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	cms := c.CoreV1().ConfigMaps("default")
	_, err = cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "bad", Labels: map[string]string{"deny": "x"}}}, metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "label deny is not allowed") {
		t.Errorf("create with deny label: %v, want Forbidden with the plugin's message", err)
	}
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "good"}}, metav1.CreateOptions{}); err != nil {
		t.Errorf("create without label: %v", err)
	}
	if _, err := c.CoreV1().Secrets("default").List(ctx, metav1.ListOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("secrets are not selected, list: %v, want NotFound", err)
	}
	// Anonymous requests are rejected.
	anon := rest.AnonymousClientConfig(cfg)
	ac := kubernetes.NewForConfigOrDie(anon)
	if _, err := ac.Discovery().RESTClient().Get().AbsPath("/version").DoRaw(ctx); !apierrors.IsUnauthorized(err) {
		t.Errorf("anonymous /version: %v, want 401", err)
	}
	rt, _ := rest.TransportFor(cfg)
	resp, err := (&http.Client{Transport: rt}).Get(cfg.Host + "/api/v1/namespaces")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("X-Test") != "1" {
		t.Errorf("middleware header missing: %v", resp.Header)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after cancel: %v", err)
		}
	case <-time.After(2 * time.Minute):
		t.Errorf("Run did not return after cancel")
	}
}
