// Package example is a controller project's view of testcontrolplane: a
// controller-runtime reconciler and its test, run against testcontrolplane
// and against envtest with the same body. Its go.mod requires only
// testcontrolplane, controller-runtime and client-go at released versions:
// no replace directive for a k8s.io module.
package example

import (
	"context"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
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
	return ctrl.NewControllerManagedBy(mgr).For(w).Named("widget").Complete(r)
}
