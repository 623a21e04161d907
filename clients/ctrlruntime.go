package clients

import (
	"context"
	"fmt"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

func init() {
	// Without a logger controller-runtime prints a warning with a stack
	// trace 30 s after the first log call.
	ctrl.SetLogger(logr.Discard())
}

func ctrlRuntimeCases() []Case {
	cr := func(name, what string, needs []string, run func(ctx context.Context, e *Env) error) Case {
		return Case{ID: ControllerRuntime + "/" + name, Client: ControllerRuntime, What: what, Needs: needs, Run: run, Timeout: 45 * time.Second}
	}
	return []Case{
		cr("manager-cache", "manager with a cache on configmaps: client reads through the informer cache", []string{rConfigMaps},
			func(ctx context.Context, e *Env) error {
				return withManager(ctx, e, manager.Options{}, nil, func(ctx context.Context, m manager.Manager) error {
					if _, err := e.Client.CoreV1().ConfigMaps(e.Namespace).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c"}}, metav1.CreateOptions{}); err != nil {
						return err
					}
					return wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 15*time.Second, true, func(ctx context.Context) (bool, error) {
						var cm corev1.ConfigMap
						return m.GetClient().Get(ctx, types.NamespacedName{Namespace: e.Namespace, Name: "c"}, &cm) == nil, nil
					})
				})
			}),
		cr("finalizer-controller", "a controller adds a finalizer to configmaps and removes it on deletion; the delete completes", []string{rConfigMaps},
			func(ctx context.Context, e *Env) error {
				const fin = "gcp.example.com/cleanup"
				setup := func(m manager.Manager) error {
					return ctrl.NewControllerManagedBy(m).For(&corev1.ConfigMap{}).Named("finalizer-" + e.Namespace).
						WithOptions(controllerOptions()).
						Complete(reconcile.Func(func(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
							var cm corev1.ConfigMap
							if err := m.GetClient().Get(ctx, req.NamespacedName, &cm); err != nil {
								return reconcile.Result{}, client.IgnoreNotFound(err)
							}
							if cm.DeletionTimestamp.IsZero() {
								if controllerutil.AddFinalizer(&cm, fin) {
									return reconcile.Result{}, m.GetClient().Update(ctx, &cm)
								}
								return reconcile.Result{}, nil
							}
							if controllerutil.RemoveFinalizer(&cm, fin) {
								return reconcile.Result{}, m.GetClient().Update(ctx, &cm)
							}
							return reconcile.Result{}, nil
						}))
				}
				return withManager(ctx, e, manager.Options{}, setup, func(ctx context.Context, m manager.Manager) error {
					cms := e.Client.CoreV1().ConfigMaps(e.Namespace)
					if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "f"}}, metav1.CreateOptions{}); err != nil {
						return err
					}
					if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 15*time.Second, true, func(ctx context.Context) (bool, error) {
						cm, err := cms.Get(ctx, "f", metav1.GetOptions{})
						return err == nil && len(cm.Finalizers) == 1, nil
					}); err != nil {
						return fmt.Errorf("finalizer not added: %w", err)
					}
					if err := cms.Delete(ctx, "f", metav1.DeleteOptions{}); err != nil {
						return err
					}
					return wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 15*time.Second, true, func(ctx context.Context) (bool, error) {
						_, err := cms.Get(ctx, "f", metav1.GetOptions{})
						return apierrors.IsNotFound(err), nil
					})
				})
			}),
		cr("leader-election", "manager with leader election (Lease lock) becomes leader and releases on stop", []string{rLeases},
			func(ctx context.Context, e *Env) error {
				o := manager.Options{LeaderElection: true, LeaderElectionID: "gcp-clients", LeaderElectionNamespace: e.Namespace,
					LeaderElectionReleaseOnCancel: true}
				return withManager(ctx, e, o, nil, func(ctx context.Context, m manager.Manager) error {
					select {
					case <-m.Elected():
						return nil
					case <-time.After(20 * time.Second):
						return fmt.Errorf("not elected within 20s")
					}
				})
			}),
		cr("events", "manager's event recorder (events.k8s.io/v1, GetEventRecorder) on a configmap", []string{rConfigMaps},
			func(ctx context.Context, e *Env) error { return recordEvent(ctx, e, false) }),
		cr("events-legacy", "manager's deprecated core/v1 event recorder (GetEventRecorderFor), still the most used", []string{rConfigMaps},
			func(ctx context.Context, e *Env) error { return recordEvent(ctx, e, true) }),
		cr("client-apply", "controller-runtime client Apply (server-side apply with applyconfigurations)", []string{rConfigMaps},
			func(ctx context.Context, e *Env) error {
				c, err := client.New(e.Config, client.Options{})
				if err != nil {
					return err
				}
				return c.Apply(ctx, corev1ac.ConfigMap("a", e.Namespace).WithData(map[string]string{"k": "v"}), client.FieldOwner("gcp-clients"), client.ForceOwnership)
			}),
		cr("unstructured-crd-cache", "manager cache on a custom resource as unstructured (informer from the dynamic RESTMapper)", []string{rCRDs},
			func(ctx context.Context, e *Env) error {
				group, err := createCRD(ctx, e)
				if err != nil {
					return err
				}
				return withManager(ctx, e, manager.Options{}, nil, func(ctx context.Context, m manager.Manager) error {
					u := &unstructured.Unstructured{}
					if err := u.UnmarshalJSON([]byte(widget(e.Namespace, "w", group, "v1"))); err != nil {
						return err
					}
					if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
						return m.GetClient().Create(ctx, u.DeepCopy()) == nil, nil
					}); err != nil {
						return fmt.Errorf("create widget: %w", err)
					}
					return wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 15*time.Second, true, func(ctx context.Context) (bool, error) {
						got := &unstructured.Unstructured{}
						got.SetGroupVersionKind(u.GroupVersionKind())
						return m.GetClient().Get(ctx, types.NamespacedName{Namespace: e.Namespace, Name: "w"}, got) == nil, nil
					})
				})
			}),
		cr("envtest-existing-cluster", "envtest.Environment{UseExistingCluster: true}: Start installs a CRD and waits for it, Stop", []string{rCRDs},
			func(ctx context.Context, e *Env) error {
				crd := &apiextensionsv1.CustomResourceDefinition{}
				if err := jsonUnmarshal(testCRD(e.Tag+".gcp.example.com"), crd); err != nil {
					return err
				}
				env := &envtest.Environment{UseExistingCluster: ptr.To(true), Config: e.Config,
					CRDInstallOptions: envtest.CRDInstallOptions{CRDs: []*apiextensionsv1.CustomResourceDefinition{crd}, MaxTime: 20 * time.Second}}
				if _, err := env.Start(); err != nil {
					return err
				}
				return env.Stop()
			}),
	}
}

// recordEvent runs a manager, emits an event about a new configmap with
// its events.k8s.io/v1 recorder (legacy: its core/v1 one) and waits until
// the event is listed.
func recordEvent(ctx context.Context, e *Env, legacy bool) error {
	return withManager(ctx, e, manager.Options{}, nil, func(ctx context.Context, m manager.Manager) error {
		cm, err := e.Client.CoreV1().ConfigMaps(e.Namespace).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "ev"}}, metav1.CreateOptions{})
		if err != nil {
			return err
		}
		if legacy {
			m.GetEventRecorderFor("gcp-clients").Event(cm, corev1.EventTypeNormal, "Tested", "hello") //nolint:staticcheck
		} else {
			m.GetEventRecorder("gcp-clients").Eventf(cm, nil, corev1.EventTypeNormal, "Tested", "Test", "hello")
		}
		return wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
			var l runtime.Object
			if legacy {
				l, err = e.Client.CoreV1().Events(e.Namespace).List(ctx, metav1.ListOptions{})
			} else {
				l, err = e.Client.EventsV1().Events(e.Namespace).List(ctx, metav1.ListOptions{})
			}
			return err == nil && meta.LenList(l) > 0, nil
		})
	})
}

func controllerOptions() ctrlControllerOptions {
	return ctrlControllerOptions{SkipNameValidation: ptr.To(true)}
}

// withManager starts a manager (metrics and probes off) on the case's
// namespace, with setup run before Start, calls f once its cache has synced,
// then stops it.
func withManager(ctx context.Context, e *Env, o manager.Options, setup func(manager.Manager) error, f func(context.Context, manager.Manager) error) error {
	o.Metrics = metricsserver.Options{BindAddress: "0"}
	o.HealthProbeBindAddress = "0"
	o.Cache.DefaultNamespaces = nil
	m, err := manager.New(e.Config, o)
	if err != nil {
		return err
	}
	if setup != nil {
		if err := setup(m); err != nil {
			return err
		}
	}
	mctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- m.Start(mctx) }()
	stop := func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Second):
			return fmt.Errorf("manager did not stop within 10s")
		}
	}
	if !m.GetCache().WaitForCacheSync(ctx) {
		_ = stop()
		return fmt.Errorf("cache did not sync")
	}
	if err := f(ctx, m); err != nil {
		_ = stop()
		return err
	}
	return stop()
}
