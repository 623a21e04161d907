// Package loadgen drives an API server with client-go the way the
// benchmarks measure it: concurrent creates, LIST latency, and the latency
// from a write to its watch event.
package loadgen

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
)

// Kind is what Creates creates.
type Kind int

const (
	// ConfigMaps are built-in objects.
	ConfigMaps Kind = iota
	// CustomResources are objects of a CRD that Creates installs first.
	CustomResources
)

func (k Kind) String() string {
	if k == CustomResources {
		return "custom resources"
	}
	return "ConfigMaps"
}

// Unthrottled returns a copy of cfg without client-side rate limits: the
// benchmarks measure the server.
func Unthrottled(cfg *rest.Config) *rest.Config {
	c := rest.CopyConfig(cfg)
	c.QPS, c.Burst = 100000, 100000
	return c
}

// Creates creates n objects of kind in namespace "default" (names prefix-0 ...)
// with workers concurrent workers and returns creates per second. Any failed
// create fails the run.
func Creates(ctx context.Context, cfg *rest.Config, kind Kind, prefix string, n, workers int) (float64, error) {
	cfg = Unthrottled(cfg)
	create, err := creator(ctx, cfg, kind, prefix)
	if err != nil {
		return 0, err
	}
	var next, failed atomic.Int64
	next.Store(-1)
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i >= int64(n) {
					return
				}
				if err := create(ctx, int(i)); err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	if f := failed.Load(); f > 0 {
		return 0, fmt.Errorf("%d of %d creates of %s failed, the first: %v", f, n, kind, firstErr.Load())
	}
	return float64(n) / elapsed, nil
}

func creator(ctx context.Context, cfg *rest.Config, kind Kind, prefix string) (func(context.Context, int) error, error) {
	if kind == ConfigMaps {
		c := kubernetes.NewForConfigOrDie(cfg).CoreV1().ConfigMaps(metav1.NamespaceDefault)
		return func(ctx context.Context, i int) error {
			_, err := c.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%d", prefix, i)}, Data: map[string]string{"k": "v"}}, metav1.CreateOptions{})
			return err
		}, nil
	}
	items, err := installCRD(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, i int) error {
		_, err := items.Create(ctx, &unstructured.Unstructured{Object: map[string]any{"apiVersion": "bench.example.com/v1", "kind": "Item",
			"metadata": map[string]any{"name": fmt.Sprintf("%s-%d", prefix, i)}, "data": map[string]any{"k": "v"}}}, metav1.CreateOptions{})
		return err
	}, nil
}

// installCRD installs items.bench.example.com and waits until it is served.
func installCRD(ctx context.Context, cfg *rest.Config) (dynamic.ResourceInterface, error) {
	crd := &apiextensionsv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Name: "items.bench.example.com"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{Group: "bench.example.com", Scope: apiextensionsv1.NamespaceScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "items", Singular: "item", Kind: "Item", ListKind: "ItemList"},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{Name: "v1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{Type: "object", XPreserveUnknownFields: ptr.To(true)}}}}}}
	if _, err := apiextclient.NewForConfigOrDie(cfg).ApiextensionsV1().CustomResourceDefinitions().Create(ctx, crd, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("creating the benchmark CRD: %w", err)
	}
	items := dynamic.NewForConfigOrDie(cfg).Resource(schema.GroupVersionResource{Group: "bench.example.com", Version: "v1", Resource: "items"}).Namespace(metav1.NamespaceDefault)
	if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := items.List(ctx, metav1.ListOptions{})
		return err == nil, nil
	}); err != nil {
		return nil, fmt.Errorf("the benchmark CRD was not served within a minute: %w", err)
	}
	return items, nil
}

// ListLatencies lists the ConfigMaps of namespace "default" times times, as
// clients do by default (a consistent read), and returns how long each list
// took and how many items the last one returned.
func ListLatencies(ctx context.Context, cfg *rest.Config, times int) ([]time.Duration, int, error) {
	c := kubernetes.NewForConfigOrDie(Unthrottled(cfg)).CoreV1().ConfigMaps(metav1.NamespaceDefault)
	var took []time.Duration
	items := 0
	for range times {
		start := time.Now()
		l, err := c.List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, 0, err
		}
		took, items = append(took, time.Since(start)), len(l.Items)
	}
	return took, items, nil
}

// WatchLatencies watches ConfigMaps in a namespace of its own, creates n
// ConfigMaps there one after another, and returns for each the time from the
// start of its create call to the arrival of its ADDED event. It fails if an
// event is missing after timeout.
func WatchLatencies(ctx context.Context, cfg *rest.Config, n int, timeout time.Duration) ([]time.Duration, error) {
	client := kubernetes.NewForConfigOrDie(Unthrottled(cfg))
	ns := fmt.Sprintf("watch-latency-%d", time.Now().UnixNano())
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		return nil, err
	}
	w, err := client.CoreV1().ConfigMaps(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	defer w.Stop()

	var mu sync.Mutex
	sent := make(map[string]time.Time, n)
	arrived := make(chan time.Duration, n)
	go func() {
		for ev := range w.ResultChan() {
			cm, ok := ev.Object.(*corev1.ConfigMap)
			if ev.Type != watch.Added || !ok {
				continue
			}
			now := time.Now()
			mu.Lock()
			at, found := sent[cm.Name]
			mu.Unlock()
			if found {
				arrived <- now.Sub(at)
			}
		}
	}()
	for i := range n {
		name := fmt.Sprintf("w-%d", i)
		mu.Lock()
		sent[name] = time.Now()
		mu.Unlock()
		if _, err := client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
			return nil, err
		}
	}
	latencies := make([]time.Duration, 0, n)
	deadline := time.After(timeout)
	for len(latencies) < n {
		select {
		case d := <-arrived:
			latencies = append(latencies, d)
		case <-deadline:
			return nil, fmt.Errorf("%d of %d watch events arrived within %s", len(latencies), n, timeout)
		}
	}
	return latencies, nil
}
