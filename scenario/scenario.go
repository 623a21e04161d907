// Package scenario runs a fixed list of Kubernetes-compliance steps with real
// clients (client-go and a kubectl binary) against any API server reachable
// through an admin kubeconfig, and records pass/fail/skip per step.
package scenario

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apiextv1client "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset/typed/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Status of a step.
type Status string

const (
	Pass Status = "pass"
	Fail Status = "fail"
	Skip Status = "skip"
)

// Result of one step.
type Result struct {
	Step   string `json:"step"`
	Status Status `json:"status"`
	Reason string `json:"reason,omitempty"`
}

// Target is a server under test.
type Target struct {
	Name       string
	Kubeconfig string
	Kubectl    string // path to a kubectl binary
	// ExpectedGroups, if set, must equal the served API groups ("" = core).
	ExpectedGroups []string
	// AdmissionDenied is a ConfigMap data key the server's inline admission rejects ("" = none).
	AdmissionDenied string
	// AdmissionDeniedLabel is a ConfigMap label ("key=value") the server's
	// inline admission rejects ("" = none), for servers whose plugin looks at
	// labels instead of data.
	AdmissionDeniedLabel string
	// MiddlewareHeader is a response header the server's middleware sets ("" = none).
	MiddlewareHeader string
	// AggregatedAddr is where the step's aggregated API server listens ("" = a free
	// port); servers that can map Service scenario/demo to it may route to it.
	AggregatedAddr string
	// AggregatedBackend, if set, starts a real API server listening on
	// AggregatedAddr and returns its admin kubeconfig: the
	// apiservice-aggregation step serves demo.scenario.example.com/v1 from
	// a CRD there, through the server under test. The backend must let the
	// aggregator's requests in (without a front-proxy certificate they are
	// anonymous). Unset, a minimal HTTPS handler serves the group's
	// discovery.
	AggregatedBackend func(ctx context.Context, addr string) (kubeconfig string, stop func(), err error)
	// Only, if not nil, names the steps to run (see Steps); the others are
	// left out of the results.
	Only []string
	// Progress, if set, is told of each step as it ends and how long it
	// took: a run takes tens of seconds, and the caller says where it is.
	Progress func(step string, status Status, took time.Duration)
}

type runner struct {
	t      Target
	cfg    *rest.Config
	kube   *kubernetes.Clientset
	dyn    *dynamic.DynamicClient
	ext    *apiextclient.Clientset
	groups map[string]bool
	res    map[string]bool // "group/resource" served
	ns     string
}

// Steps in order.
var Steps = []string{"discovery", "crud", "kubectl-ssa-conflict", "watch", "crd-two-versions",
	"inline-admission", "middleware", "rbac-deny-then-allow", "namespace-deletion", "garbage-collection", "apiservice-aggregation"}

// SlowSteps are the steps that wait for a controller of the server to act:
// a new CRD to be Established (5 s with the upstream sample's server count
// of 3), the namespace controller, the garbage collector's next discovery of
// a new resource, an APIService to become Available behind a second server.
// On the series tip's generic sample they took 7.5, 5.5, 14.5 and 0.6 s of a
// 30 s run (the others together 1.8 s), so callers that run the scenario
// many times may run them less often.
var SlowSteps = []string{"crd-two-versions", "namespace-deletion", "garbage-collection", "apiservice-aggregation"}

// FastSteps are Steps without SlowSteps, in order.
func FastSteps() []string {
	var fast []string
	for _, s := range Steps {
		if !slices.Contains(SlowSteps, s) {
			fast = append(fast, s)
		}
	}
	return fast
}

// Run executes the steps of Steps that the target selects (all, unless
// Target.Only names some), in order, and returns one result per step run.
// It never returns early: each step records its own result.
func Run(ctx context.Context, t Target) []Result {
	r := &runner{t: t, ns: "scenario"}
	var run []string
	for _, s := range Steps {
		if t.Only == nil || slices.Contains(t.Only, s) {
			run = append(run, s)
		}
	}
	var out []Result
	cfg, err := clientcmd.BuildConfigFromFlags("", t.Kubeconfig)
	if err != nil {
		for _, s := range run {
			out = append(out, Result{s, Fail, "kubeconfig: " + err.Error()})
		}
		return out
	}
	cfg.QPS, cfg.Burst = 200, 400
	r.cfg = cfg
	r.kube = kubernetes.NewForConfigOrDie(cfg)
	r.dyn = dynamic.NewForConfigOrDie(cfg)
	r.ext = apiextclient.NewForConfigOrDie(cfg)
	steps := map[string]func(context.Context) (Status, string){
		"discovery":              r.discovery,
		"crud":                   r.crud,
		"kubectl-ssa-conflict":   r.ssa,
		"watch":                  r.watch,
		"crd-two-versions":       r.crdVersions,
		"inline-admission":       r.admission,
		"middleware":             r.middleware,
		"rbac-deny-then-allow":   r.rbac,
		"namespace-deletion":     r.nsDeletion,
		"garbage-collection":     r.garbageCollection,
		"apiservice-aggregation": r.apiService,
	}
	for _, s := range run {
		sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		start := time.Now()
		st, reason := steps[s](sctx)
		cancel()
		if t.Progress != nil {
			t.Progress(s, st, time.Since(start))
		}
		out = append(out, Result{s, st, reason})
	}
	return out
}

func (r *runner) served(group, resource string) bool { return r.res[group+"/"+resource] }

func (r *runner) discovery(ctx context.Context) (Status, string) {
	_, lists, err := r.kube.Discovery().ServerGroupsAndResources()
	if err != nil {
		return Fail, "discovery: " + err.Error()
	}
	r.groups, r.res = map[string]bool{}, map[string]bool{}
	for _, l := range lists {
		gv, _ := schema.ParseGroupVersion(l.GroupVersion)
		r.groups[gv.Group] = true
		for _, res := range l.APIResources {
			r.res[gv.Group+"/"+res.Name] = true
		}
	}
	var got []string
	for g := range r.groups {
		got = append(got, g)
	}
	sort.Strings(got)
	show := strings.ReplaceAll(strings.Join(got, ","), ",,", ",")
	if len(got) > 0 && got[0] == "" {
		show = "core," + strings.Join(got[1:], ",")
	}
	if r.t.ExpectedGroups == nil {
		return Pass, "groups: " + show
	}
	want := append([]string(nil), r.t.ExpectedGroups...)
	sort.Strings(want)
	if strings.Join(want, "|") != strings.Join(got, "|") {
		return Fail, fmt.Sprintf("groups %q, want %q", got, want)
	}
	return Pass, "exactly: " + show
}

// crudTarget is one resource exercised by the CRUD step.
type crudTarget struct {
	gvr        schema.GroupVersionResource
	namespaced bool
	obj        func(name string) map[string]any
	mutate     func(u *unstructured.Unstructured)
}

func labelMutate(u *unstructured.Unstructured) {
	l := u.GetLabels()
	if l == nil {
		l = map[string]string{}
	}
	l["scenario"] = "updated"
	u.SetLabels(l)
}

var crudTargets = []crudTarget{
	{schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}, false, func(n string) map[string]any { return obj("v1", "Namespace", n, nil) }, labelMutate},
	{schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, true, func(n string) map[string]any {
		return obj("v1", "ConfigMap", n, map[string]any{"data": map[string]any{"k": "v"}})
	}, labelMutate},
	{schema.GroupVersionResource{Version: "v1", Resource: "secrets"}, true, func(n string) map[string]any {
		return obj("v1", "Secret", n, map[string]any{"stringData": map[string]any{"k": "v"}})
	}, labelMutate},
	{schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}, true, func(n string) map[string]any { return obj("v1", "ServiceAccount", n, nil) }, labelMutate},
	{schema.GroupVersionResource{Version: "v1", Resource: "events"}, true, func(n string) map[string]any {
		return obj("v1", "Event", n, map[string]any{"involvedObject": map[string]any{"kind": "ConfigMap", "name": "x", "namespace": "scenario"}, "reason": "Test", "message": "hello"})
	}, labelMutate},
	{schema.GroupVersionResource{Group: "events.k8s.io", Version: "v1", Resource: "events"}, true, func(n string) map[string]any {
		return obj("events.k8s.io/v1", "Event", n, map[string]any{"eventTime": time.Now().UTC().Format("2006-01-02T15:04:05.000000Z"), "reportingController": "scenario/test", "reportingInstance": "i", "action": "Test", "reason": "Test", "type": "Normal",
			"regarding": map[string]any{"kind": "ConfigMap", "name": "x", "namespace": "scenario"}})
	}, labelMutate},
	{schema.GroupVersionResource{Group: "coordination.k8s.io", Version: "v1", Resource: "leases"}, true, func(n string) map[string]any {
		return obj("coordination.k8s.io/v1", "Lease", n, map[string]any{"spec": map[string]any{"holderIdentity": "a"}})
	}, labelMutate},
	{schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "roles"}, true, func(n string) map[string]any {
		return obj("rbac.authorization.k8s.io/v1", "Role", n, map[string]any{"rules": []any{map[string]any{"apiGroups": []any{""}, "resources": []any{"configmaps"}, "verbs": []any{"get"}}}})
	}, labelMutate},
	{schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"}, false, func(n string) map[string]any {
		return obj("rbac.authorization.k8s.io/v1", "ClusterRole", n, map[string]any{"rules": []any{}})
	}, labelMutate},
	{schema.GroupVersionResource{Group: "admissionregistration.k8s.io", Version: "v1", Resource: "validatingwebhookconfigurations"}, false, func(n string) map[string]any {
		return obj("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", n, nil)
	}, labelMutate},
}

func obj(apiVersion, kind, name string, extra map[string]any) map[string]any {
	m := map[string]any{"apiVersion": apiVersion, "kind": kind, "metadata": map[string]any{"name": name}}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func (r *runner) ensureNS(ctx context.Context, name string) error {
	if !r.served("", "namespaces") {
		return nil // namespaced objects are stored without a namespace object
	}
	_, err := r.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	return nil
}

func (r *runner) crud(ctx context.Context) (Status, string) {
	if r.res == nil {
		return Skip, "no discovery"
	}
	if err := r.ensureNS(ctx, r.ns); err != nil {
		return Fail, "namespace: " + err.Error()
	}
	var done []string
	for _, ct := range crudTargets {
		if !r.served(ct.gvr.Group, ct.gvr.Resource) {
			continue
		}
		if err := r.crudOne(ctx, ct); err != nil {
			return Fail, fmt.Sprintf("%s: %v (ok so far: %s)", ct.gvr.Resource, err, strings.Join(done, ","))
		}
		done = append(done, strings.TrimSuffix(ct.gvr.Resource+"."+ct.gvr.Group, "."))
	}
	if len(done) == 0 {
		return Skip, "none of the CRUD resources is served"
	}
	return Pass, strings.Join(done, ",")
}

func (r *runner) crudOne(ctx context.Context, ct crudTarget) error {
	name := "scenario-crud"
	var c dynamic.ResourceInterface = r.dyn.Resource(ct.gvr)
	if ct.namespaced {
		c = r.dyn.Resource(ct.gvr).Namespace(r.ns)
	}
	_ = c.Delete(ctx, name, metav1.DeleteOptions{})
	u := &unstructured.Unstructured{Object: ct.obj(name)}
	created, err := c.Create(ctx, u, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("create: %w", err)
	}
	got, err := c.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("get: %w", err)
	}
	if got.GetUID() != created.GetUID() {
		return fmt.Errorf("get returned uid %s, created %s", got.GetUID(), created.GetUID())
	}
	ct.mutate(got)
	upd, err := c.Update(ctx, got, metav1.UpdateOptions{})
	if err != nil {
		return fmt.Errorf("update: %w", err)
	}
	if upd.GetLabels()["scenario"] != "updated" || upd.GetResourceVersion() == created.GetResourceVersion() {
		return fmt.Errorf("update not applied")
	}
	l, err := c.List(ctx, metav1.ListOptions{LabelSelector: "scenario=updated"})
	if err != nil {
		return fmt.Errorf("list: %w", err)
	}
	found := false
	for _, it := range l.Items {
		found = found || it.GetName() == name
	}
	if !found {
		return fmt.Errorf("list by label did not return the object")
	}
	if ct.gvr.Resource == "namespaces" {
		return nil // deletion of namespaces is its own step
	}
	if err := c.Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	if _, err := c.Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		return fmt.Errorf("get after delete: %v, want NotFound", err)
	}
	return nil
}

func (r *runner) kubectl(ctx context.Context, stdin string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, r.t.Kubectl, append([]string{"--kubeconfig", r.t.Kubeconfig}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var b bytes.Buffer
	cmd.Stdout, cmd.Stderr = &b, &b
	err := cmd.Run()
	return b.String(), err
}

func (r *runner) ssa(ctx context.Context) (Status, string) {
	if r.t.Kubectl == "" {
		return Skip, "no kubectl binary"
	}
	if !r.served("", "configmaps") {
		return Skip, "configmaps not served"
	}
	cm := func(v string) string {
		return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\n  namespace: %s\ndata:\n  key: %s\n", r.ns, v)
	}
	_, _ = r.kubectl(ctx, "", "delete", "configmap", "ssa", "-n", r.ns, "--ignore-not-found")
	if out, err := r.kubectl(ctx, cm("a"), "apply", "--server-side", "--field-manager=alpha", "-f", "-"); err != nil {
		return Fail, "first apply: " + out
	}
	out, err := r.kubectl(ctx, cm("b"), "apply", "--server-side", "--field-manager=beta", "-f", "-")
	if err == nil {
		return Fail, "second manager changing an owned field did not conflict: " + out
	}
	if !strings.Contains(strings.ToLower(out), "conflict") {
		return Fail, "second apply failed without a conflict: " + out
	}
	if out, err := r.kubectl(ctx, cm("b"), "apply", "--server-side", "--field-manager=beta", "--force-conflicts", "-f", "-"); err != nil {
		return Fail, "force-conflicts apply: " + out
	}
	got, err := r.kube.CoreV1().ConfigMaps(r.ns).Get(ctx, "ssa", metav1.GetOptions{})
	if err != nil || got.Data["key"] != "b" {
		return Fail, fmt.Sprintf("after forced apply: %v %v", got.Data, err)
	}
	owner := ""
	for _, mf := range got.ManagedFields {
		if strings.Contains(string(mf.FieldsV1.Raw), "f:key") {
			owner = mf.Manager
		}
	}
	if owner != "beta" {
		return Fail, "data.key owned by " + owner + ", want beta"
	}
	return Pass, "apply ok, conflict reported for manager beta, --force-conflicts moved ownership"
}

func (r *runner) watch(ctx context.Context) (Status, string) {
	if !r.served("", "configmaps") {
		return Skip, "configmaps not served"
	}
	c := r.kube.CoreV1().ConfigMaps(r.ns)
	l, err := c.List(ctx, metav1.ListOptions{})
	if err != nil {
		return Fail, err.Error()
	}
	w, err := c.Watch(ctx, metav1.ListOptions{ResourceVersion: l.ResourceVersion, FieldSelector: "metadata.name=watched"})
	if err != nil {
		return Fail, "watch: " + err.Error()
	}
	defer w.Stop()
	cm, err := c.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "watched"}}, metav1.CreateOptions{})
	if err != nil {
		return Fail, err.Error()
	}
	cm.Data = map[string]string{"x": "y"}
	if _, err := c.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		return Fail, err.Error()
	}
	if err := c.Delete(ctx, "watched", metav1.DeleteOptions{}); err != nil {
		return Fail, err.Error()
	}
	var got []string
	for len(got) < 3 {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				return Fail, fmt.Sprintf("watch closed after %v", got)
			}
			got = append(got, string(ev.Type))
		case <-ctx.Done():
			return Fail, fmt.Sprintf("events so far %v: %v", got, ctx.Err())
		}
	}
	want := []string{string(watch.Added), string(watch.Modified), string(watch.Deleted)}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		return Fail, fmt.Sprintf("events %v, want %v", got, want)
	}
	return Pass, "ADDED,MODIFIED,DELETED"
}

func schemaProps() *apiextensionsv1.CustomResourceValidation {
	return &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
		Type: "object",
		Properties: map[string]apiextensionsv1.JSONSchemaProps{
			"spec": {Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{"size": {Type: "integer"}}},
		},
	}}
}

func (r *runner) crdVersions(ctx context.Context) (Status, string) {
	if !r.served("apiextensions.k8s.io", "customresourcedefinitions") {
		return Skip, "CRDs not served"
	}
	crd := &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "widgets.scenario.example.com"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "scenario.example.com", Scope: apiextensionsv1.NamespaceScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "widgets", Singular: "widget", Kind: "Widget", ListKind: "WidgetList"},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{
				{Name: "v1", Served: true, Storage: true, Schema: schemaProps()},
				{Name: "v1alpha1", Served: true, Storage: false, Schema: schemaProps()},
			},
		},
	}
	crds := r.ext.ApiextensionsV1().CustomResourceDefinitions()
	_ = crds.Delete(ctx, crd.Name, metav1.DeleteOptions{})
	if err := wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		_, err := crds.Get(ctx, crd.Name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	}); err != nil {
		return Fail, "old CRD not gone: " + err.Error()
	}
	if _, err := crds.Create(ctx, crd, metav1.CreateOptions{}); err != nil {
		return Fail, "create CRD: " + err.Error()
	}
	if err := waitEstablished(ctx, crds, crd.Name); err != nil {
		return Fail, "CRD not Established: " + err.Error()
	}
	if err := r.ensureNS(ctx, r.ns); err != nil {
		return Fail, err.Error()
	}
	v1 := r.dyn.Resource(schema.GroupVersionResource{Group: "scenario.example.com", Version: "v1", Resource: "widgets"}).Namespace(r.ns)
	v1a1 := r.dyn.Resource(schema.GroupVersionResource{Group: "scenario.example.com", Version: "v1alpha1", Resource: "widgets"}).Namespace(r.ns)
	w := &unstructured.Unstructured{Object: obj("scenario.example.com/v1", "Widget", "w1", map[string]any{"spec": map[string]any{"size": int64(3)}})}
	var err error
	// The CRD handler may need a moment after Established to serve the new group.
	err = wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		_, err = v1.Create(ctx, w, metav1.CreateOptions{})
		return err == nil || apierrors.IsAlreadyExists(err), nil
	})
	if err != nil {
		return Fail, "create v1 widget: " + err.Error()
	}
	g1, err := v1.Get(ctx, "w1", metav1.GetOptions{})
	if err != nil {
		return Fail, "get v1: " + err.Error()
	}
	g2, err := v1a1.Get(ctx, "w1", metav1.GetOptions{})
	if err != nil {
		return Fail, "get v1alpha1: " + err.Error()
	}
	s1, _, _ := unstructured.NestedInt64(g1.Object, "spec", "size")
	s2, _, _ := unstructured.NestedInt64(g2.Object, "spec", "size")
	if g2.GetAPIVersion() != "scenario.example.com/v1alpha1" || s1 != 3 || s2 != 3 {
		return Fail, fmt.Sprintf("v1 size=%d, v1alpha1 apiVersion=%s size=%d", s1, g2.GetAPIVersion(), s2)
	}
	reason := "created at v1, read at v1 and v1alpha1"
	if r.t.Kubectl != "" {
		out, err := r.kubectl(ctx, "", "get", "widgets.v1alpha1.scenario.example.com", "w1", "-n", r.ns, "-o", "jsonpath={.apiVersion}")
		if err != nil || out != "scenario.example.com/v1alpha1" {
			return Fail, "kubectl get v1alpha1: " + out
		}
		reason += " (client-go and kubectl)"
	}
	return Pass, reason
}

func (r *runner) admission(ctx context.Context) (Status, string) {
	denied := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "denied"}}
	var what string
	switch {
	case r.t.AdmissionDenied != "":
		denied.Data = map[string]string{r.t.AdmissionDenied: "x"}
		what = "with key " + r.t.AdmissionDenied
	case r.t.AdmissionDeniedLabel != "":
		key, value, _ := strings.Cut(r.t.AdmissionDeniedLabel, "=")
		denied.Labels = map[string]string{key: value}
		what = "labelled " + r.t.AdmissionDeniedLabel
	default:
		return Skip, "server has no inline admission plugin"
	}
	_, err := r.kube.CoreV1().ConfigMaps(r.ns).Create(ctx, denied, metav1.CreateOptions{})
	if err == nil {
		return Fail, "ConfigMap " + what + " was admitted"
	}
	if !apierrors.IsForbidden(err) {
		return Fail, "unexpected error: " + err.Error()
	}
	if _, err := r.kube.CoreV1().ConfigMaps(r.ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "allowed"},
		Data: map[string]string{"other": "x"}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return Fail, "ConfigMap without the key or label rejected: " + err.Error()
	}
	return Pass, "403: " + err.Error()
}

// middleware checks that the server's middleware runs on requests to every
// server of the chain: a built-in resource (the native API server), a custom
// resource of the crd-two-versions step (apiextensions) and /apis (the
// aggregator). The apiservice-aggregation step checks an aggregated request.
func (r *runner) middleware(ctx context.Context) (Status, string) {
	if r.t.MiddlewareHeader == "" {
		return Skip, "server has no middleware"
	}
	paths := []string{"/apis"}
	if r.served("", "configmaps") {
		paths = append(paths, "/api/v1/namespaces/"+r.ns+"/configmaps")
	}
	if _, err := r.ext.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, "widgets.scenario.example.com", metav1.GetOptions{}); err == nil {
		paths = append(paths, "/apis/scenario.example.com/v1/namespaces/"+r.ns+"/widgets")
	}
	var seen []string
	for _, path := range paths {
		v, err := r.middlewareHeader(ctx, path)
		if err != nil {
			return Fail, fmt.Sprintf("GET %s: %v", path, err)
		}
		if v == "" {
			return Fail, fmt.Sprintf("header %s missing on GET %s", r.t.MiddlewareHeader, path)
		}
		seen = append(seen, path)
	}
	return Pass, fmt.Sprintf("%s set on GET %s", r.t.MiddlewareHeader, strings.Join(seen, ", "))
}

// middlewareHeader returns the value of the middleware's header on a GET of
// path.
func (r *runner) middlewareHeader(ctx context.Context, path string) (string, error) {
	rt, err := rest.TransportFor(r.cfg)
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.cfg.Host+path, nil)
	if err != nil {
		return "", err
	}
	resp, err := (&http.Client{Transport: rt}).Do(req)
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	return resp.Header.Get(r.t.MiddlewareHeader), nil
}

func (r *runner) rbac(ctx context.Context) (Status, string) {
	if !r.served("rbac.authorization.k8s.io", "roles") || !r.served("", "configmaps") {
		return Skip, "rbac or configmaps not served"
	}
	alice := rest.CopyConfig(r.cfg)
	alice.Impersonate = rest.ImpersonationConfig{UserName: "alice", Groups: []string{"system:authenticated"}}
	ac := kubernetes.NewForConfigOrDie(alice)
	_ = r.kube.RbacV1().RoleBindings(r.ns).Delete(ctx, "alice-reads", metav1.DeleteOptions{})
	// Wait until a possibly pre-existing binding is gone from the authorizer cache.
	var err error
	if e := wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		_, err = ac.CoreV1().ConfigMaps(r.ns).List(ctx, metav1.ListOptions{})
		return apierrors.IsForbidden(err), nil
	}); e != nil {
		return Fail, fmt.Sprintf("non-admin user was not denied: %v", err)
	}
	denied := err.Error()
	if _, err := r.kube.RbacV1().Roles(r.ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "cm-reader"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "list"}}}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return Fail, "create role: " + err.Error()
	}
	if _, err := r.kube.RbacV1().RoleBindings(r.ns).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "alice-reads"},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "cm-reader"},
		Subjects: []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "User", Name: "alice"}}}, metav1.CreateOptions{}); err != nil {
		return Fail, "create rolebinding: " + err.Error()
	}
	// RBAC is evaluated from informer caches: eventually consistent.
	if e := wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		_, err = ac.CoreV1().ConfigMaps(r.ns).List(ctx, metav1.ListOptions{})
		return err == nil, nil
	}); e != nil {
		return Fail, fmt.Sprintf("still denied after RoleBinding: %v", err)
	}
	if _, err := ac.CoreV1().Secrets(r.ns).List(ctx, metav1.ListOptions{}); r.served("", "secrets") && !apierrors.IsForbidden(err) {
		return Fail, fmt.Sprintf("alice can list secrets: %v", err)
	}
	return Pass, "denied (" + shorten(denied) + "), allowed after RoleBinding; secrets still denied"
}

func shorten(s string) string {
	if len(s) > 120 {
		return s[:120] + "..."
	}
	return s
}

// nsDeletionTimeout is how long a namespace holding a few objects may take to
// be deleted. The namespace controller waits 5 s before it acts
// (pkg/controller/namespace), so 10 s leaves it 5 s to empty the namespace.
const nsDeletionTimeout = 10 * time.Second

// nsDeletion deletes a namespace holding a configmap and, when the
// crd-two-versions step left its CRD, a custom resource, with
// `kubectl delete namespace --wait` (client-go without kubectl), and checks
// that the namespace and its content are gone within nsDeletionTimeout.
// Deletion needs a namespace controller to remove the "kubernetes" finalizer:
// kube-controller-manager in a cluster, an in-process one in a generic
// control plane.
func (r *runner) nsDeletion(ctx context.Context) (Status, string) {
	if !r.served("", "namespaces") {
		return Skip, "namespaces not served"
	}
	name := "scenario-delete-me"
	nc := r.kube.CoreV1().Namespaces()
	if _, err := nc.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return Fail, err.Error()
	}
	var inside []string
	if r.served("", "configmaps") {
		if _, err := r.kube.CoreV1().ConfigMaps(name).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "inside"}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return Fail, "create configmap: " + err.Error()
		}
		inside = append(inside, "a configmap")
	}
	widgets := r.dyn.Resource(schema.GroupVersionResource{Group: "scenario.example.com", Version: "v1", Resource: "widgets"}).Namespace(name)
	widget := &unstructured.Unstructured{Object: obj("scenario.example.com/v1", "Widget", "inside", map[string]any{"spec": map[string]any{"size": int64(1)}})}
	haveWidget := false
	if _, err := widgets.Create(ctx, widget, metav1.CreateOptions{}); err == nil || apierrors.IsAlreadyExists(err) {
		haveWidget = true
		inside = append(inside, "a custom resource")
	}

	start := time.Now()
	var how string
	var delErr error
	if r.t.Kubectl != "" {
		how = "kubectl delete namespace --wait"
		var out string
		out, delErr = r.kubectl(ctx, "", "delete", "namespace", name, "--wait", fmt.Sprintf("--timeout=%s", nsDeletionTimeout))
		if delErr != nil {
			delErr = fmt.Errorf("%v: %s", delErr, strings.TrimSpace(out))
		}
	} else {
		how = "client-go delete and poll"
		if delErr = nc.Delete(ctx, name, metav1.DeleteOptions{}); delErr == nil {
			delErr = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, nsDeletionTimeout, true, func(ctx context.Context) (bool, error) {
				_, err := nc.Get(ctx, name, metav1.GetOptions{})
				return apierrors.IsNotFound(err), nil
			})
		}
	}
	took := time.Since(start).Seconds()
	ns, err := nc.Get(ctx, name, metav1.GetOptions{})
	if err == nil {
		return Fail, fmt.Sprintf("%s: after %.1fs still phase=%s finalizers=%v conditions=%s (%v)", how, took, ns.Status.Phase, ns.Spec.Finalizers, nsConditions(ns), shorten(fmt.Sprint(delErr)))
	}
	if !apierrors.IsNotFound(err) {
		return Fail, "get after delete: " + err.Error()
	}
	if delErr != nil {
		return Fail, fmt.Sprintf("%s failed after %.1fs although the namespace is gone: %v", how, took, shorten(delErr.Error()))
	}
	// The namespace is gone: nothing may be left in it (its content would
	// come back with a namespace of the same name).
	if r.served("", "configmaps") {
		if l, err := r.kube.CoreV1().ConfigMaps(name).List(ctx, metav1.ListOptions{}); err != nil || len(l.Items) > 0 {
			return Fail, "configmaps left in the deleted namespace: " + left(l, err)
		}
	}
	if haveWidget {
		if l, err := widgets.List(ctx, metav1.ListOptions{}); err != nil || len(l.Items) > 0 {
			return Fail, "widgets left in the deleted namespace: " + left(l, err)
		}
	}
	what := "an empty namespace"
	if len(inside) > 0 {
		what = "a namespace holding " + strings.Join(inside, " and ")
	}
	return Pass, fmt.Sprintf("%s deleted %s in %.1fs (limit %s); its content is gone", how, what, took, nsDeletionTimeout)
}

func nsConditions(ns *corev1.Namespace) string {
	var out []string
	for _, c := range ns.Status.Conditions {
		if c.Status == corev1.ConditionTrue {
			out = append(out, string(c.Type)+": "+c.Message)
		}
	}
	if len(out) == 0 {
		return "none"
	}
	return shorten(strings.Join(out, "; "))
}

// left describes what a List of a deleted namespace's content returned.
func left(list runtime.Object, err error) string {
	if err != nil {
		return "list: " + err.Error()
	}
	return fmt.Sprintf("%d remaining", meta.LenList(list))
}

const (
	// gcTimeout is how long the garbage collector may take to delete the
	// dependents of a deleted owner; it acts on watch events, within a
	// second or two on an idle server.
	gcTimeout = 10 * time.Second
	// gcNewResourceTimeout is how long it may take for a custom resource
	// whose CRD is new: a garbage collector finds new resources when it
	// rediscovers them, every 30 s in kube-controller-manager.
	gcNewResourceTimeout = 45 * time.Second
)

// garbageCollection deletes the owner of a configmap and (when the
// crd-two-versions step left its CRD) a custom resource with kubectl, which
// deletes in the background, and checks that the dependents are deleted;
// then it deletes another owner in the foreground with client-go and checks
// that the owner goes once its dependent has gone. Both need a garbage
// collector: kube-controller-manager's in a cluster, an in-process one in a
// generic control plane.
func (r *runner) garbageCollection(ctx context.Context) (Status, string) {
	if !r.served("", "configmaps") {
		return Skip, "configmaps not served"
	}
	if err := r.ensureNS(ctx, r.ns); err != nil {
		return Fail, err.Error()
	}
	cms := r.kube.CoreV1().ConfigMaps(r.ns)
	widgets := r.dyn.Resource(schema.GroupVersionResource{Group: "scenario.example.com", Version: "v1", Resource: "widgets"}).Namespace(r.ns)
	// owned creates an owner configmap and its dependents; it returns
	// functions telling whether each dependent is gone.
	owned := func(prefix string) (map[string]func() bool, error) {
		for _, n := range []string{prefix + "-owner", prefix + "-dependent"} {
			_ = cms.Delete(ctx, n, metav1.DeleteOptions{})
			_ = widgets.Delete(ctx, n, metav1.DeleteOptions{})
		}
		owner, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: prefix + "-owner"}}, metav1.CreateOptions{})
		if err != nil {
			return nil, fmt.Errorf("create owner: %w", err)
		}
		refs := []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: owner.Name, UID: owner.UID}}
		name := prefix + "-dependent"
		if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, OwnerReferences: refs}}, metav1.CreateOptions{}); err != nil {
			return nil, fmt.Errorf("create dependent: %w", err)
		}
		gone := map[string]func() bool{"configmap": func() bool {
			_, err := cms.Get(ctx, name, metav1.GetOptions{})
			return apierrors.IsNotFound(err)
		}}
		w := &unstructured.Unstructured{Object: obj("scenario.example.com/v1", "Widget", name, map[string]any{"spec": map[string]any{"size": int64(1)}})}
		w.SetOwnerReferences(refs)
		if _, err := widgets.Create(ctx, w, metav1.CreateOptions{}); err == nil {
			gone["custom resource"] = func() bool {
				_, err := widgets.Get(ctx, name, metav1.GetOptions{})
				return apierrors.IsNotFound(err)
			}
		}
		return gone, nil
	}
	allGone := func(gone map[string]func() bool) (bool, []string) {
		var left []string
		for what, g := range gone {
			if !g() {
				left = append(left, what)
			}
		}
		sort.Strings(left)
		return len(left) == 0, left
	}
	waitGone := func(timeout time.Duration, cond func() (bool, []string)) (float64, []string, bool) {
		start := time.Now()
		var left []string
		err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, timeout, true, func(context.Context) (bool, error) {
			var ok bool
			ok, left = cond()
			return ok, nil
		})
		return time.Since(start).Seconds(), left, err == nil
	}

	background, err := owned("gc-background")
	if err != nil {
		return Fail, err.Error()
	}
	how := "client-go delete"
	deleted := time.Now()
	if r.t.Kubectl != "" {
		how = "kubectl delete"
		if out, err := r.kubectl(ctx, "", "delete", "configmap", "gc-background-owner", "-n", r.ns); err != nil {
			return Fail, "kubectl delete owner: " + shorten(out)
		}
	} else if err := cms.Delete(ctx, "gc-background-owner", metav1.DeleteOptions{}); err != nil {
		return Fail, "delete owner: " + err.Error()
	}
	// The configmap first, with the short timeout: a server without a
	// garbage collector fails here, without waiting for a resync.
	took, _, ok := waitGone(gcTimeout, func() (bool, []string) { return background["configmap"](), nil })
	if !ok {
		return Fail, fmt.Sprintf("%s of the owner: after %.1fs the dependent configmap still exists (no garbage collector deletes dependents)", how, took)
	}
	_, left, ok := waitGone(gcNewResourceTimeout, func() (bool, []string) { return allGone(background) })
	took = time.Since(deleted).Seconds()
	if !ok {
		return Fail, fmt.Sprintf("%s of the owner: after %.1fs the dependent %s still exist", how, took, strings.Join(left, " and "))
	}
	kinds := make([]string, 0, len(background))
	for k := range background {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)

	foreground, err := owned("gc-foreground")
	if err != nil {
		return Fail, err.Error()
	}
	policy := metav1.DeletePropagationForeground
	if err := cms.Delete(ctx, "gc-foreground-owner", metav1.DeleteOptions{PropagationPolicy: &policy}); err != nil {
		return Fail, "foreground delete of the owner: " + err.Error()
	}
	foreground["owner"] = func() bool {
		_, err := cms.Get(ctx, "gc-foreground-owner", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	}
	fgTook, left, ok := waitGone(gcTimeout, func() (bool, []string) { return allGone(foreground) })
	if !ok {
		return Fail, fmt.Sprintf("foreground deletion: after %.1fs still there: %s", fgTook, strings.Join(left, ", "))
	}
	return Pass, fmt.Sprintf("%s of an owner deleted its dependent %s in %.1fs (a custom resource of a new CRD waits for the garbage collector's next discovery); foreground deletion finished in %.1fs", how, strings.Join(kinds, " and "), took, fgTook)
}

// startBackend starts the target's aggregated backend at addr and creates
// the CRD of demo.scenario.example.com/v1 there.
func (r *runner) startBackend(ctx context.Context, addr string) (func(), error) {
	kubeconfig, stop, err := r.t.AggregatedBackend(ctx, addr)
	if err != nil {
		return nil, err
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		stop()
		return nil, err
	}
	crds := apiextclient.NewForConfigOrDie(cfg).ApiextensionsV1().CustomResourceDefinitions()
	crd := &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "gadgets.demo.scenario.example.com"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "demo.scenario.example.com", Scope: apiextensionsv1.NamespaceScoped,
			Names:    apiextensionsv1.CustomResourceDefinitionNames{Plural: "gadgets", Singular: "gadget", Kind: "Gadget", ListKind: "GadgetList"},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{Name: "v1", Served: true, Storage: true, Schema: schemaProps()}},
		},
	}
	if _, err := crds.Create(ctx, crd, metav1.CreateOptions{}); err != nil {
		stop()
		return nil, fmt.Errorf("create CRD on the backend: %w", err)
	}
	if err := waitEstablished(ctx, crds, crd.Name); err != nil {
		stop()
		return nil, fmt.Errorf("CRD not Established on the backend: %w", err)
	}
	return stop, nil
}

// waitEstablished waits until the CRD name is Established, or ctx ends.
func waitEstablished(ctx context.Context, crds apiextv1client.CustomResourceDefinitionInterface, name string) error {
	return wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		c, err := crds.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		for _, cond := range c.Status.Conditions {
			if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})
}

// apiServiceTimeout is how long an APIService may take to become Available
// and its group to be served: the availability controller probes a new
// APIService at once, and the aggregator serves it when it is Available.
const apiServiceTimeout = 10 * time.Second

// apiService registers an APIService for a group served by a tiny in-process
// HTTPS server and checks whether the group shows up in discovery and proxies.
func (r *runner) apiService(ctx context.Context) (Status, string) {
	if !r.served("apiregistration.k8s.io", "apiservices") {
		return Skip, "apiservices not served"
	}
	listen := r.t.AggregatedAddr
	if listen == "" {
		listen = "127.0.0.1:0"
	}
	backend := "a minimal discovery handler"
	var addr string
	var stop func()
	var err error
	if r.t.AggregatedBackend != nil && r.t.AggregatedAddr != "" {
		backend = "a second API server (CRD gadgets.demo.scenario.example.com)"
		addr = r.t.AggregatedAddr
		stop, err = r.startBackend(ctx, addr)
	} else {
		addr, stop, err = startAggregated(listen)
	}
	if err != nil {
		return Fail, "aggregated server: " + err.Error()
	}
	defer stop()
	gvr := schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}
	name := "v1.demo.scenario.example.com"
	_ = r.dyn.Resource(gvr).Delete(ctx, name, metav1.DeleteOptions{})
	host, port := splitHostPort(addr)
	// There are no Services/Endpoints in a generic control plane; point the
	// APIService at a service name and record whether the aggregator can reach it.
	svc := map[string]any{"namespace": "scenario", "name": "demo", "port": port}
	as := &unstructured.Unstructured{Object: obj("apiregistration.k8s.io/v1", "APIService", name, map[string]any{"spec": map[string]any{
		"group": "demo.scenario.example.com", "version": "v1", "service": svc, "insecureSkipTLSVerify": true,
		"groupPriorityMinimum": int64(1000), "versionPriority": int64(15)}})}
	if _, err := r.dyn.Resource(gvr).Create(ctx, as, metav1.CreateOptions{}); err != nil {
		return Fail, "create APIService: " + err.Error()
	}
	defer r.dyn.Resource(gvr).Delete(context.Background(), name, metav1.DeleteOptions{})
	// Pass needs both: the APIService is Available (the availability
	// controller reached the backend) and its group is served through the
	// aggregator (the proxy reached it).
	var lastErr error
	var cond string
	available := false
	err = wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, apiServiceTimeout, true, func(ctx context.Context) (bool, error) {
		u, err := r.dyn.Resource(gvr).Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
			b, _ := json.Marshal(conds)
			cond = string(b)
			available = false
			for _, c := range conds {
				m, _ := c.(map[string]any)
				if m["type"] == "Available" && m["status"] == "True" {
					available = true
				}
			}
		}
		res, err := r.kube.Discovery().ServerResourcesForGroupVersion("demo.scenario.example.com/v1")
		lastErr = err
		return available && err == nil && len(res.APIResources) > 0, nil
	})
	if err == nil {
		reason := fmt.Sprintf("APIService Available and its group served through the aggregator by %s (service scenario/demo -> %s:%d)", backend, host, port)
		if r.t.AggregatedBackend != nil && r.t.AggregatedAddr != "" {
			gadgets := schema.GroupVersionResource{Group: "demo.scenario.example.com", Version: "v1", Resource: "gadgets"}
			if _, err := r.dyn.Resource(gadgets).List(ctx, metav1.ListOptions{}); err != nil {
				return Fail, fmt.Sprintf("%s, but listing gadgets through the aggregator failed: %v", reason, err)
			}
			reason += "; listed its gadgets through the aggregator"
		}
		if r.t.MiddlewareHeader != "" {
			// The aggregator proxies this request to the backend; the
			// middleware wraps the aggregator, so it runs on it too.
			v, err := r.middlewareHeader(ctx, "/apis/demo.scenario.example.com/v1")
			if err != nil || v == "" {
				return Fail, fmt.Sprintf("%s, but the middleware header %s is missing on the aggregated request (%v)", reason, r.t.MiddlewareHeader, err)
			}
			reason += "; middleware ran on the aggregated request"
		}
		return Pass, reason
	}
	if lastErr == nil {
		return Fail, fmt.Sprintf("group served through the aggregator, but the APIService is not Available after %s; conditions=%s", apiServiceTimeout, shorten(cond))
	}
	return Fail, fmt.Sprintf("group not reachable through the aggregator after %s: %v; conditions=%s", apiServiceTimeout, shorten(fmt.Sprint(lastErr)), shorten(cond))
}
