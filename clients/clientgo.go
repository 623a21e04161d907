package clients

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilversion "k8s.io/apimachinery/pkg/util/version"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/disk"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/utils/ptr"
)

func clientGoCases() []Case {
	cg := func(name, what string, needs []string, run func(ctx context.Context, e *Env) error) Case {
		return Case{ID: ClientGo + "/" + name, Client: ClientGo, What: what, Needs: needs, Run: run}
	}
	return []Case{
		cg("server-version", "discovery ServerVersion, parsed as semver (what version checks and helm's kubeVersion do)", nil,
			func(ctx context.Context, e *Env) error {
				v, err := e.Client.Discovery().ServerVersion()
				if err != nil {
					return err
				}
				if _, err := utilversion.ParseSemantic(v.GitVersion); err != nil {
					return fmt.Errorf("gitVersion %q: %w", v.GitVersion, err)
				}
				if v.Major == "" || v.Minor == "" {
					return fmt.Errorf("major %q minor %q empty", v.Major, v.Minor)
				}
				return nil
			}),
		cg("discovery-aggregated", "discovery ServerGroupsAndResources (aggregated discovery, /api and /apis as APIGroupDiscoveryList)", nil,
			func(ctx context.Context, e *Env) error {
				_, _, err := e.Client.Discovery().ServerGroupsAndResources()
				return err
			}),
		cg("discovery-legacy", "discovery ServerGroupsAndResources with aggregated discovery off (one request per group version)", nil,
			func(ctx context.Context, e *Env) error {
				dc, err := discovery.NewDiscoveryClientForConfig(e.Config)
				if err != nil {
					return err
				}
				dc.UseLegacyDiscovery = true
				_, _, err = dc.ServerGroupsAndResources()
				return err
			}),
		cg("discovery-walk", "a discovery walk as top-like and backup tools do: list (limit 1) every listable resource of every preferred version", nil,
			func(ctx context.Context, e *Env) error {
				lists, err := e.Client.Discovery().ServerPreferredResources()
				if err != nil {
					return err
				}
				dyn, err := dynamic.NewForConfig(e.Config)
				if err != nil {
					return err
				}
				var failed []string
				for _, l := range lists {
					gv, _ := schema.ParseGroupVersion(l.GroupVersion)
					for _, r := range l.APIResources {
						if strings.Contains(r.Name, "/") || !hasVerb(r.Verbs, "list") {
							continue
						}
						if _, err := dyn.Resource(gv.WithResource(r.Name)).List(ctx, metav1.ListOptions{Limit: 1}); err != nil {
							failed = append(failed, l.GroupVersion+"/"+r.Name+": "+err.Error())
						}
					}
				}
				if len(failed) > 0 {
					return fmt.Errorf("list failed: %s", strings.Join(failed, "; "))
				}
				return nil
			}),
		cg("cached-discovery-restmapper", "disk-cached discovery and the deferred RESTMapper: map kinds to resources, invalidate, map again", []string{rConfigMaps},
			func(ctx context.Context, e *Env) error {
				cdc, err := disk.NewCachedDiscoveryClientForConfig(e.Config, filepath.Join(e.Dir, "discovery"), filepath.Join(e.Dir, "http"), time.Minute)
				if err != nil {
					return err
				}
				m := restmapper.NewDeferredDiscoveryRESTMapper(cdc)
				for range 2 {
					mp, err := m.RESTMapping(schema.GroupKind{Kind: "ConfigMap"}, "v1")
					if err != nil {
						return err
					}
					if mp.Resource.Resource != "configmaps" || mp.Scope.Name() != meta.RESTScopeNameNamespace {
						return fmt.Errorf("ConfigMap mapped to %v %s", mp.Resource, mp.Scope.Name())
					}
					m.Reset()
				}
				return nil
			}),
		cg("dynamic-crud", "dynamic client: create, get, update, patch, list, delete a configmap as unstructured", []string{rConfigMaps},
			func(ctx context.Context, e *Env) error {
				dyn, err := dynamic.NewForConfig(e.Config)
				if err != nil {
					return err
				}
				r := dyn.Resource(GVR(rConfigMaps)).Namespace(e.Namespace)
				u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
					"metadata": map[string]any{"name": "dyn"}, "data": map[string]any{"a": "1"}}}
				if _, err := r.Create(ctx, u, metav1.CreateOptions{}); err != nil {
					return err
				}
				got, err := r.Get(ctx, "dyn", metav1.GetOptions{})
				if err != nil {
					return err
				}
				_ = unstructured.SetNestedField(got.Object, "2", "data", "a")
				if _, err := r.Update(ctx, got, metav1.UpdateOptions{}); err != nil {
					return err
				}
				if _, err := r.Patch(ctx, "dyn", "application/merge-patch+json", []byte(`{"data":{"b":"3"}}`), metav1.PatchOptions{}); err != nil {
					return err
				}
				if _, err := r.List(ctx, metav1.ListOptions{}); err != nil {
					return err
				}
				return r.Delete(ctx, "dyn", metav1.DeleteOptions{})
			}),
		cg("metadata-client", "metadata-only client (PartialObjectMetadata, as garbage collectors and quota do) on configmaps", []string{rConfigMaps},
			func(ctx context.Context, e *Env) error {
				mc, err := metadata.NewForConfig(e.Config)
				if err != nil {
					return err
				}
				if _, err := e.Client.CoreV1().ConfigMaps(e.Namespace).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "m"}}, metav1.CreateOptions{}); err != nil {
					return err
				}
				l, err := mc.Resource(GVR(rConfigMaps)).Namespace(e.Namespace).List(ctx, metav1.ListOptions{})
				return wantItems("metadata list", 1, l, err)
			}),
		cg("informer-bookmarks", "shared informer on configmaps (watch with bookmarks); sees a create, an update and a delete", []string{rConfigMaps},
			func(ctx context.Context, e *Env) error {
				return informerEvents(ctx, e, 0)
			}),
		cg("informer-resync", "shared informer with a 1 s resync: the handler gets resync updates", []string{rConfigMaps},
			func(ctx context.Context, e *Env) error {
				return informerEvents(ctx, e, time.Second)
			}),
		cg("watch-list", "watch-list: a watch with sendInitialEvents=true streams the list and the initial-events-end bookmark", []string{rConfigMaps},
			func(ctx context.Context, e *Env) error {
				if _, err := e.Client.CoreV1().ConfigMaps(e.Namespace).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "wl"}}, metav1.CreateOptions{}); err != nil {
					return err
				}
				w, err := e.Client.CoreV1().ConfigMaps(e.Namespace).Watch(ctx, metav1.ListOptions{
					SendInitialEvents: ptr.To(true), AllowWatchBookmarks: true,
					ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan})
				if err != nil {
					return err
				}
				defer w.Stop()
				added := 0
				for ev := range w.ResultChan() {
					switch ev.Type {
					case watch.Added:
						added++
					case watch.Bookmark:
						m, _ := meta.Accessor(ev.Object)
						if m.GetAnnotations()[metav1.InitialEventsAnnotationKey] == "true" {
							if added < 1 {
								return fmt.Errorf("bookmark before the initial configmap")
							}
							return nil
						}
					case watch.Error:
						return fmt.Errorf("watch error: %v", ev.Object)
					}
				}
				return fmt.Errorf("watch closed before the initial-events-end bookmark (%d added)", added)
			}),
		cg("server-side-apply", "typed Apply with two field managers: conflict, force, managedFields", []string{rConfigMaps},
			func(ctx context.Context, e *Env) error {
				cms := e.Client.CoreV1().ConfigMaps(e.Namespace)
				if _, err := cms.Apply(ctx, corev1ac.ConfigMap("ssa", e.Namespace).WithData(map[string]string{"a": "1"}), metav1.ApplyOptions{FieldManager: "one"}); err != nil {
					return err
				}
				_, err := cms.Apply(ctx, corev1ac.ConfigMap("ssa", e.Namespace).WithData(map[string]string{"a": "2"}), metav1.ApplyOptions{FieldManager: "two"})
				if err == nil || !strings.Contains(err.Error(), "conflict") {
					return fmt.Errorf("want a conflict, got %v", err)
				}
				cm, err := cms.Apply(ctx, corev1ac.ConfigMap("ssa", e.Namespace).WithData(map[string]string{"a": "2"}), metav1.ApplyOptions{FieldManager: "two", Force: true})
				if err != nil {
					return err
				}
				if len(cm.ManagedFields) == 0 {
					return fmt.Errorf("no managedFields")
				}
				return nil
			}),
		cg("protobuf", "typed client with protobuf content type (kubectl and controllers' default for built-ins)", []string{rConfigMaps},
			func(ctx context.Context, e *Env) error {
				cfg := rest.CopyConfig(e.Config)
				cfg.ContentType = "application/vnd.kubernetes.protobuf"
				cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
				cs, err := kubernetes.NewForConfig(cfg)
				if err != nil {
					return err
				}
				if _, err := cs.CoreV1().ConfigMaps(e.Namespace).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "pb"}}, metav1.CreateOptions{}); err != nil {
					return err
				}
				_, err = cs.CoreV1().ConfigMaps(e.Namespace).List(ctx, metav1.ListOptions{})
				return err
			}),
		cg("pagination-fieldselector", "list with limit/continue and a metadata.name field selector", []string{rConfigMaps},
			func(ctx context.Context, e *Env) error {
				cms := e.Client.CoreV1().ConfigMaps(e.Namespace)
				for i := range 3 {
					if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprint("p", i)}}, metav1.CreateOptions{}); err != nil {
						return err
					}
				}
				l, err := cms.List(ctx, metav1.ListOptions{Limit: 2})
				if err != nil {
					return err
				}
				if l.Continue == "" {
					return fmt.Errorf("no continue token with limit 2 of 3")
				}
				if _, err := cms.List(ctx, metav1.ListOptions{Limit: 2, Continue: l.Continue}); err != nil {
					return err
				}
				l, err = cms.List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=p1"})
				return wantItems("field selector", 1, l, err)
			}),
		cg("leader-election", "client-go leader election on a Lease: acquire, then release on cancel", []string{rLeases},
			func(ctx context.Context, e *Env) error {
				lock := &resourcelock.LeaseLock{LeaseMeta: metav1.ObjectMeta{Name: "le", Namespace: e.Namespace},
					Client: e.Client.CoordinationV1(), LockConfig: resourcelock.ResourceLockConfig{Identity: "a"}}
				lctx, cancel := context.WithCancel(ctx)
				led := make(chan struct{})
				le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{Lock: lock, ReleaseOnCancel: true,
					LeaseDuration: 15 * time.Second, RenewDeadline: 10 * time.Second, RetryPeriod: 2 * time.Second,
					Callbacks: leaderelection.LeaderCallbacks{OnStartedLeading: func(context.Context) { close(led) }, OnStoppedLeading: func() {}}})
				if err != nil {
					cancel()
					return err
				}
				done := make(chan struct{})
				go func() { le.Run(lctx); close(done) }()
				select {
				case <-led:
				case <-ctx.Done():
					cancel()
					<-done
					return fmt.Errorf("not leading: %w", ctx.Err())
				}
				cancel()
				<-done
				l, err := e.Client.CoordinationV1().Leases(e.Namespace).Get(ctx, "le", metav1.GetOptions{})
				if err != nil {
					return err
				}
				if h := ptr.Deref(l.Spec.HolderIdentity, ""); h != "" {
					return fmt.Errorf("lease still held by %q after release", h)
				}
				return nil
			}),
		cg("events-recorder", "events.k8s.io/v1 event recorder (tools/events broadcaster), then list the event", []string{rEvents, rConfigMaps},
			func(ctx context.Context, e *Env) error {
				cm, err := e.Client.CoreV1().ConfigMaps(e.Namespace).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "ev"}}, metav1.CreateOptions{})
				if err != nil {
					return err
				}
				b := events.NewBroadcaster(&events.EventSinkImpl{Interface: e.Client.EventsV1()})
				b.StartRecordingToSink(ctx.Done())
				defer b.Shutdown()
				b.NewRecorder(schemeForEvents(), "gcp-clients").Eventf(cm, nil, corev1.EventTypeNormal, "Tested", "Test", "hello %s", "world")
				return wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
					l, err := e.Client.EventsV1().Events(e.Namespace).List(ctx, metav1.ListOptions{})
					return err == nil && len(l.Items) > 0, err
				})
			}),
		cg("crd-conversion", "create a CRD with v1 (storage) and v2 (served), conversion None: write v1, read v2, list v2 via dynamic client", []string{rCRDs},
			func(ctx context.Context, e *Env) error {
				group, err := createCRD(ctx, e)
				if err != nil {
					return err
				}
				dyn, err := dynamic.NewForConfig(e.Config)
				if err != nil {
					return err
				}
				v1 := dyn.Resource(schema.GroupVersionResource{Group: group, Version: "v1", Resource: "widgets"}).Namespace(e.Namespace)
				v2 := dyn.Resource(schema.GroupVersionResource{Group: group, Version: "v2", Resource: "widgets"}).Namespace(e.Namespace)
				u := &unstructured.Unstructured{}
				if err := u.UnmarshalJSON([]byte(widget(e.Namespace, "w", group, "v1"))); err != nil {
					return err
				}
				if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
					_, err := v1.Create(ctx, u, metav1.CreateOptions{})
					return err == nil, nil
				}); err != nil {
					return fmt.Errorf("create widget: %w", err)
				}
				got, err := v2.Get(ctx, "w", metav1.GetOptions{})
				if err != nil {
					return err
				}
				if got.GetAPIVersion() != group+"/v2" {
					return fmt.Errorf("read as v2 but apiVersion %s", got.GetAPIVersion())
				}
				_, err = v2.List(ctx, metav1.ListOptions{})
				return err
			}),
		cg("owner-references-gc", "garbage collection: delete an owner configmap (background propagation); its dependent, with an ownerReference, goes too", []string{rConfigMaps},
			func(ctx context.Context, e *Env) error {
				cms := e.Client.CoreV1().ConfigMaps(e.Namespace)
				owner, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "owner"}}, metav1.CreateOptions{})
				if err != nil {
					return err
				}
				ref := metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: owner.Name, UID: owner.UID}
				if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "dependent", OwnerReferences: []metav1.OwnerReference{ref}}}, metav1.CreateOptions{}); err != nil {
					return err
				}
				if err := cms.Delete(ctx, "owner", metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationBackground)}); err != nil {
					return err
				}
				if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 15*time.Second, true, func(ctx context.Context) (bool, error) {
					_, err := cms.Get(ctx, "dependent", metav1.GetOptions{})
					return apierrors.IsNotFound(err), nil
				}); err != nil {
					return fmt.Errorf("dependent still there 15 s after its owner was deleted: %w", err)
				}
				return nil
			}),
		cg("crd-conversion-webhook", "a CRD with a conversion webhook (clientConfig.url, a server in the runner): write v1, read v2 converted by the webhook", []string{rCRDs},
			func(ctx context.Context, e *Env) error {
				url, ca, stop, err := startConversionWebhook()
				if err != nil {
					return err
				}
				defer stop()
				group, err := createCRDWith(ctx, e, &apiextensionsv1.CustomResourceConversion{Strategy: apiextensionsv1.WebhookConverter,
					Webhook: &apiextensionsv1.WebhookConversion{ConversionReviewVersions: []string{"v1"},
						ClientConfig: &apiextensionsv1.WebhookClientConfig{URL: &url, CABundle: ca}}})
				if err != nil {
					return err
				}
				dyn, err := dynamic.NewForConfig(e.Config)
				if err != nil {
					return err
				}
				u := &unstructured.Unstructured{}
				if err := u.UnmarshalJSON([]byte(widget(e.Namespace, "w", group, "v1"))); err != nil {
					return err
				}
				gvr := schema.GroupVersionResource{Group: group, Version: "v1", Resource: "widgets"}
				if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
					_, err = dyn.Resource(gvr).Namespace(e.Namespace).Create(ctx, u, metav1.CreateOptions{})
					return err == nil, nil
				}); err != nil {
					return fmt.Errorf("create widget: %w", err)
				}
				gvr.Version = "v2"
				got, err := dyn.Resource(gvr).Namespace(e.Namespace).Get(ctx, "w", metav1.GetOptions{})
				if err != nil {
					return err
				}
				if got.GetAnnotations()[convertedAnnotation] != "v2" {
					return fmt.Errorf("read as v2 without the webhook's annotation: %v", got.GetAnnotations())
				}
				return nil
			}),
		cg("table-printing", "list configmaps as meta.k8s.io/v1 Table (server-side printing, as kubectl get asks)", []string{rConfigMaps},
			func(ctx context.Context, e *Env) error {
				body, err := e.Client.CoreV1().RESTClient().Get().Namespace(e.Namespace).Resource("configmaps").
					SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").DoRaw(ctx)
				if err != nil {
					return err
				}
				return expect(string(body), `"kind":"Table"`)
			}),
		cg("openapi-v3", "OpenAPI v3: the root lists group versions and each schema document fetches", nil,
			func(ctx context.Context, e *Env) error {
				paths, err := e.Client.Discovery().OpenAPIV3().Paths()
				if err != nil {
					return err
				}
				if len(paths) == 0 {
					return fmt.Errorf("no OpenAPI v3 paths")
				}
				for p, gv := range paths {
					if _, err := gv.Schema("application/json"); err != nil {
						return fmt.Errorf("%s: %w", p, err)
					}
				}
				return nil
			}),
	}
}

func hasVerb(verbs []string, v string) bool {
	for _, x := range verbs {
		if x == v {
			return true
		}
	}
	return false
}

// informerEvents runs a configmap informer; with resync > 0 it also waits
// for resync updates (old and new with the same resourceVersion).
func informerEvents(ctx context.Context, e *Env, resync time.Duration) error {
	f := informers.NewSharedInformerFactoryWithOptions(e.Client, resync, informers.WithNamespace(e.Namespace))
	inf := f.Core().V1().ConfigMaps().Informer()
	var adds, updates, deletes, resyncs atomic.Int32
	if _, err := inf.AddEventHandlerWithResyncPeriod(cache.ResourceEventHandlerFuncs{
		AddFunc: func(any) { adds.Add(1) },
		UpdateFunc: func(o, n any) {
			if o.(*corev1.ConfigMap).ResourceVersion == n.(*corev1.ConfigMap).ResourceVersion {
				resyncs.Add(1)
			} else {
				updates.Add(1)
			}
		},
		DeleteFunc: func(any) { deletes.Add(1) },
	}, resync); err != nil {
		return err
	}
	ictx, cancel := context.WithCancel(ctx)
	defer func() { cancel(); f.Shutdown() }()
	f.Start(ictx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		return fmt.Errorf("informer did not sync")
	}
	cms := e.Client.CoreV1().ConfigMaps(e.Namespace)
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "inf"}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	if _, err := cms.Update(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "inf"}, Data: map[string]string{"a": "1"}}, metav1.UpdateOptions{}); err != nil {
		return err
	}
	if resync > 0 {
		if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
			return resyncs.Load() >= 2, nil
		}); err != nil {
			return fmt.Errorf("resync updates: %d: %w", resyncs.Load(), err)
		}
	}
	if err := cms.Delete(ctx, "inf", metav1.DeleteOptions{}); err != nil {
		return err
	}
	return wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		return adds.Load() >= 1 && updates.Load() >= 1 && deletes.Load() >= 1, nil
	})
}

// wantItems says whether a list call succeeded with the items it should.
func wantItems(what string, want int, list runtime.Object, err error) error {
	if err != nil {
		return err
	}
	if got := meta.LenList(list); got != want {
		return fmt.Errorf("%s: want %d items, got %d", what, want, got)
	}
	return nil
}

// createCRD creates the test CRD (testCRD) in the case's group with
// client-go, waits until it is Established and returns the group.
func createCRD(ctx context.Context, e *Env) (string, error) {
	return createCRDWith(ctx, e, nil)
}

// createCRDWith is createCRD with conversion set on the CRD.
func createCRDWith(ctx context.Context, e *Env, conversion *apiextensionsv1.CustomResourceConversion) (string, error) {
	group := e.Tag + ".gcp.example.com"
	ac, err := apiextensionsclient.NewForConfig(e.Config)
	if err != nil {
		return "", err
	}
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := jsonUnmarshal(testCRD(group), crd); err != nil {
		return "", err
	}
	crd.Spec.Conversion = conversion
	if _, err := ac.ApiextensionsV1().CustomResourceDefinitions().Create(ctx, crd, metav1.CreateOptions{}); err != nil {
		return "", err
	}
	return group, wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 20*time.Second, true, func(ctx context.Context) (bool, error) {
		c, err := ac.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, crd.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, cond := range c.Status.Conditions {
			if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})
}
