package prove

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/generic-controlplane/gcp/internal/serverproc"
)

// KubeSample is the generic sample that serves every resource
// kube-apiserver serves, from the same provider list (patch 0031 adds it):
// measured at every prefix that has it, its discovery compared with the
// same prefix's kube-apiserver, to prove "up to and including".
const KubeSample = "./pkg/controlplane/samples/kube"

// kubeSampleServiceCIDR is the range KubeSample allocates cluster IPs from
// (kube-apiserver's default --service-cluster-ip-range).
var _, kubeSampleServiceCIDR, _ = net.ParseCIDR("10.0.0.0/24")

// serviceIPTimeout bounds the wait for the default ServiceCIDR: the sample
// creates it in a post-start hook, and a Service created before it exists
// is refused.
const serviceIPTimeout = 30 * time.Second

// discoveryGroups lists srv's API groups in discovery order, each with its
// versions in order and its preferred version: what a client resolves a
// resource name with ("kubectl get events" picks the first group serving
// "events").
func discoveryGroups(srv *serverproc.Server) ([]string, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(srv.RESTConfig())
	if err != nil {
		return nil, err
	}
	groups, err := dc.ServerGroups()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, g := range groups.Groups {
		var versions []string
		for _, v := range g.Versions {
			versions = append(versions, v.Version)
		}
		name := g.Name
		if name == "" {
			name = "core"
		}
		out = append(out, fmt.Sprintf("%s %s (preferred %s)", name, strings.Join(versions, ","), g.PreferredVersion.Version))
	}
	return out, nil
}

// checkKubeSample checks a started KubeSample against kube-apiserver's
// discovery of the same prefix (its groups in order; the served resources
// are compared by the caller, from what runOne listed), then that what only
// kube-apiserver served works as data: a Deployment is stored and a Service
// gets a cluster IP from the default ServiceCIDR.
func checkKubeSample(ctx context.Context, srv *serverproc.Server, kubeGroups []string) error {
	groups, err := discoveryGroups(srv)
	if err != nil {
		return fmt.Errorf("discovery: %w", err)
	}
	if diff := cmp.Diff(kubeGroups, groups); diff != "" {
		return fmt.Errorf("lists its groups unlike kube-apiserver (-kube-apiserver +sample):\n%s", diff)
	}
	client, err := kubernetes.NewForConfig(srv.RESTConfig())
	if err != nil {
		return err
	}
	const ns = "default"
	labels := map[string]string{"app": "prove"}
	deployment := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "prove"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "registry.k8s.io/pause:3.10"}}},
			},
		},
	}
	if _, err := client.AppsV1().Deployments(ns).Create(ctx, deployment, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating a Deployment: %w", err)
	}
	service := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "prove"},
		Spec:       corev1.ServiceSpec{Selector: labels, Ports: []corev1.ServicePort{{Port: 80}}},
	}
	var created *corev1.Service
	var lastErr error
	err = wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, serviceIPTimeout, true, func(ctx context.Context) (bool, error) {
		created, lastErr = client.CoreV1().Services(ns).Create(ctx, service, metav1.CreateOptions{})
		return lastErr == nil, nil
	})
	if err != nil {
		return fmt.Errorf("creating a Service for %s: %v", serviceIPTimeout, lastErr)
	}
	if ip := net.ParseIP(created.Spec.ClusterIP); ip == nil || !kubeSampleServiceCIDR.Contains(ip) {
		return fmt.Errorf("the Service got cluster IP %q, want one in %s", created.Spec.ClusterIP, kubeSampleServiceCIDR)
	}
	return nil
}

// checkKubeSampleServed compares the resources KubeSample serves with
// kube-apiserver's.
func checkKubeSampleServed(kubeServed, served []string) error {
	if diff := cmp.Diff(kubeServed, served); diff != "" {
		return fmt.Errorf("serves other resources than kube-apiserver (-kube-apiserver +sample):\n%s", diff)
	}
	return nil
}

// everyAPIArgs turn on every API and every feature: the kube sample must
// match kube-apiserver beyond the defaults too.
var everyAPIArgs = []string{"--runtime-config=api/all=true", "--feature-gates=AllAlpha=true,AllBeta=true"}

// kubeSampleEveryAPI starts kube-apiserver and the kube sample of this
// prefix with everyAPIArgs and returns how their discoveries differ ("" when
// they do not) and how many resources kube-apiserver served.
func (r *runner) kubeSampleEveryAPI(ctx context.Context, dir string, binaries map[string]string) (resources int, problem string) {
	type discovered struct{ served, groups []string }
	run := func(root string) (discovered, string) {
		var d discovered
		var err error
		rt, surface := r.runOne(ctx, filepath.Join(dir, filepath.Base(binaries[root])+"-every-api"), binaries[root], everyAPIArgs, false, func(srv *serverproc.Server, _, _ string) {
			d.groups, err = discoveryGroups(srv)
		})
		switch {
		case rt.Error != "":
			return d, fmt.Sprintf("%s with %s: %s", filepath.Base(binaries[root]), strings.Join(everyAPIArgs, " "), rt.Error)
		case err != nil:
			return d, fmt.Sprintf("%s with %s: discovery: %v", filepath.Base(binaries[root]), strings.Join(everyAPIArgs, " "), err)
		}
		d.served = surface[AspectServed]
		return d, ""
	}
	kube, problem := run(KubeAPIServer)
	if problem != "" {
		return 0, problem
	}
	sample, problem := run(KubeSample)
	if problem != "" {
		return 0, problem
	}
	if diff := cmp.Diff(kube, sample, cmp.AllowUnexported(discovered{})); diff != "" {
		return len(kube.served), fmt.Sprintf("with %s, discovery differs from kube-apiserver's (-kube-apiserver +sample):\n%s", strings.Join(everyAPIArgs, " "), diff)
	}
	return len(kube.served), ""
}
