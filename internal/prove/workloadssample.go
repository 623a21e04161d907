package prove

import (
	"context"
	"fmt"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/generic-controlplane/gcp/internal/serverproc"
)

// WorkloadsSample is the generic sample that serves pods, nodes, apps and
// batch as data, without services or kubelets (patch 0032 adds it).
const WorkloadsSample = "./pkg/controlplane/samples/workloads"

// workloadsServed must be served by WorkloadsSample; workloadsNotServed
// must not: services (they would need service ranges) and every
// subresource that connects to a kubelet, a pod or a service.
var (
	workloadsServed = []string{"v1/pods", "v1/pods/status", "v1/pods/binding", "v1/nodes", "v1/nodes/status", "v1/podtemplates",
		"v1/namespaces", "v1/secrets", "apps/v1/deployments", "batch/v1/jobs"}
	workloadsNotServed = []string{"v1/services", "v1/endpoints", "v1/pods/log", "v1/pods/exec", "v1/pods/attach",
		"v1/pods/portforward", "v1/pods/proxy", "v1/nodes/proxy"}
)

// checkWorkloadsServed checks what WorkloadsSample's discovery serves and
// leaves out.
func checkWorkloadsServed(served []string) error {
	var problems []string
	for _, r := range workloadsServed {
		if !slices.Contains(served, r) {
			problems = append(problems, r+" is not served")
		}
	}
	for _, r := range workloadsNotServed {
		if slices.Contains(served, r) {
			problems = append(problems, r+" is served")
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("discovery: %s", strings.Join(problems, "; "))
	}
	return nil
}

// checkWorkloadsObjects checks that a started WorkloadsSample stores a
// Node, a Pod bound to it, a Deployment and a Job, and reads the Pod back as
// written (nothing runs them).
func checkWorkloadsObjects(ctx context.Context, srv *serverproc.Server) error {
	client, err := kubernetes.NewForConfig(srv.RESTConfig())
	if err != nil {
		return err
	}
	const ns = "default"
	// The ServiceAccount admission plugin wants the pod's service account;
	// no controller creates "default" here.
	if _, err := client.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating the default ServiceAccount: %w", err)
	}
	if _, err := client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "prove-node"}}, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating a Node: %w", err)
	}
	podSpec := corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "registry.k8s.io/pause:3.10"}}}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "prove"}, Spec: *podSpec.DeepCopy()}
	pod.Spec.NodeName = "prove-node"
	if _, err := client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating a Pod: %w", err)
	}
	got, err := client.CoreV1().Pods(ns).Get(ctx, "prove", metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("reading the Pod back: %w", err)
	}
	if got.Spec.NodeName != "prove-node" {
		return fmt.Errorf("the Pod reads back on node %q, want prove-node", got.Spec.NodeName)
	}
	labels := map[string]string{"app": "prove"}
	template := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: *podSpec.DeepCopy()}
	if _, err := client.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "prove"},
		Spec:       appsv1.DeploymentSpec{Replicas: ptr.To[int32](1), Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: template},
	}, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating a Deployment: %w", err)
	}
	jobTemplate := *template.DeepCopy()
	jobTemplate.Labels = nil
	jobTemplate.Spec.RestartPolicy = corev1.RestartPolicyNever
	if _, err := client.BatchV1().Jobs(ns).Create(ctx, &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "prove"},
		Spec:       batchv1.JobSpec{Template: jobTemplate},
	}, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating a Job: %w", err)
	}
	return nil
}

// hasWorkloadsSample reports whether the prefix tree has WorkloadsSample.
func (r *runner) hasWorkloadsSample() bool {
	return r.hasRoot(WorkloadsSample)
}
