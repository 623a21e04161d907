// Package example is a controller project's view of testcontrolplane: a
// controller-runtime reconciler and its test, run against testcontrolplane
// and against envtest with the same body. Its go.mod requires only
// testcontrolplane, controller-runtime and client-go at released versions:
// no replace directive for a k8s.io module.
package example

import (
	"context"
	"errors"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// WidgetGVK is the kind of testdata/widgets.yaml.
var WidgetGVK = schema.GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Widget"}

// WidgetReconciler marks every Widget ready.
type WidgetReconciler struct {
	Client client.Client
}

func (r *WidgetReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	w := &unstructured.Unstructured{}
	w.SetGroupVersionKind(WidgetGVK)
	if err := r.Client.Get(ctx, req.NamespacedName, w); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if ready, _, _ := unstructured.NestedBool(w.Object, "status", "ready"); ready {
		return ctrl.Result{}, nil
	}
	if err := unstructured.SetNestedField(w.Object, true, "status", "ready"); err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{}, r.Client.Status().Update(ctx, w)
}

// SetupWithManager registers the reconciler for Widgets.
func (r *WidgetReconciler) SetupWithManager(mgr ctrl.Manager) error {
	w := &unstructured.Unstructured{}
	w.SetGroupVersionKind(WidgetGVK)
	// Tests run one manager per control plane in one process; the
	// process-wide check of unique controller names would refuse the second.
	return ctrl.NewControllerManagedBy(mgr).For(w).Named("widget").
		WithOptions(controller.Options{SkipNameValidation: ptr.To(true)}).Complete(r)
}

// CheckWidgetController is what a controller test does: run a manager with
// the reconciler, create a Widget, wait until it is marked ready.
func CheckWidgetController(ctx context.Context, cfg *rest.Config) (err error) {
	ctx, cancel := context.WithCancel(ctx)
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{Metrics: metricsserver.Options{BindAddress: "0"}})
	if err != nil {
		cancel()
		return err
	}
	if err := (&WidgetReconciler{Client: mgr.GetClient()}).SetupWithManager(mgr); err != nil {
		cancel()
		return err
	}
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	defer func() {
		cancel()
		err = errors.Join(err, <-done)
	}()

	c, err := client.New(cfg, client.Options{})
	if err != nil {
		return err
	}
	w := &unstructured.Unstructured{}
	w.SetGroupVersionKind(WidgetGVK)
	w.SetNamespace("default")
	w.SetGenerateName("w-") // a test may run it more than once on one server
	if err := c.Create(ctx, w); err != nil {
		return err
	}
	for {
		if err := c.Get(ctx, client.ObjectKeyFromObject(w), w); err != nil {
			return err
		}
		if ready, _, _ := unstructured.NestedBool(w.Object, "status", "ready"); ready {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the Widget was not marked ready: %w", ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}
