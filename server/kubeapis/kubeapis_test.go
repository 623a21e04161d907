package kubeapis_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	nodev1 "k8s.io/api/node/v1"
	policyv1 "k8s.io/api/policy/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	logsapi "k8s.io/component-base/logs/api/v1"
	"k8s.io/kubernetes/pkg/controlplane/apiserver/options"

	"github.com/generic-controlplane/gcp/server"
	"github.com/generic-controlplane/gcp/server/kubeapis"
)

func init() {
	// Run applies the logging options, by default only once a process;
	// these tests start several servers.
	logsapi.ReapplyHandling = logsapi.ReapplyHandlingIgnoreUnchanged
}

// start runs server.Run(ctx, o) on a temporary data dir and a free port and
// returns the admin client config once /readyz answers, and the channel
// Run's result arrives on.
func start(t *testing.T, ctx context.Context, o server.Options) (*rest.Config, <-chan error) {
	t.Helper()
	return startWith(t, ctx, o, nil)
}

// startWith is start with the control plane options changed by set, if not nil.
func startWith(t *testing.T, ctx context.Context, o server.Options, set func(*options.Options)) (*rest.Config, <-chan error) {
	t.Helper()
	o.DataDir = t.TempDir()
	o.ControlPlane = server.NewControlPlaneOptions()
	o.ControlPlane.SecureServing.BindPort = 0
	if set != nil {
		set(o.ControlPlane)
	}
	done := make(chan error, 1)
	go func() { done <- server.Run(ctx, o) }()
	var cfg *rest.Config
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		select {
		case err := <-done:
			return false, fmt.Errorf("Run returned early: %v", err)
		default:
		}
		var err error
		if cfg, err = clientcmd.BuildConfigFromFlags("", filepath.Join(o.DataDir, "admin.kubeconfig")); err != nil {
			return false, nil
		}
		_, err = kubernetes.NewForConfigOrDie(cfg).Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err == nil, nil
	})
	require.NoError(t, err, "server did not become ready")
	return cfg, done
}

// TestKubeOnlyAPIs serves every group of kubeapis.All and creates one object of each through
// client-go: the groups are in discovery (which needs their aggregator
// priorities), their storage works, and the scheduling group's post-start
// hook created the system priority classes.
func TestKubeOnlyAPIs(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	apis := []string{"namespaces", "storagemigration", "secrets"} // secrets: the pods group needs them
	for _, g := range kubeapis.All() {
		apis = append(apis, g.Name)
	}
	cfg, done := start(t, ctx, server.Options{APIs: apis, MoreAPIs: kubeapis.All()})
	c := kubernetes.NewForConfigOrDie(cfg)

	want, err := server.ExpectedGroups(apis, kubeapis.All()...)
	require.NoError(t, err)
	groups, err := c.Discovery().ServerGroups()
	require.NoError(t, err)
	served := sets.New[string]()
	for _, g := range groups.Groups {
		served.Insert(g.Name)
	}
	assert.Empty(t, sets.List(sets.New(want...).Difference(served)), "groups selected but not in aggregated discovery")
	// The unaggregated /apis lists the aggregator's APIServices: a group
	// without a priority has none.
	var legacy metav1.APIGroupList
	require.NoError(t, c.Discovery().RESTClient().Get().AbsPath("/apis").SetHeader("Accept", "application/json").Do(ctx).Into(&legacy))
	served = sets.New("")
	for _, g := range legacy.Groups {
		served.Insert(g.Name)
	}
	assert.Empty(t, sets.List(sets.New(want...).Difference(served)), "groups selected but not in /apis")

	ns, create := "default", metav1.CreateOptions{}
	labels := map[string]string{"app": "x"}
	template := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}, RestartPolicy: corev1.RestartPolicyNever}}
	creates := map[string]func() error{
		"deployment": func() error {
			d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "d"}, Spec: appsv1.DeploymentSpec{
				Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: *template.DeepCopy()}}
			d.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyAlways
			if _, err := c.AppsV1().Deployments(ns).Create(ctx, d, create); err != nil {
				return err
			}
			// The scale subresource converts through autoscaling's types.
			_, err := c.AppsV1().Deployments(ns).GetScale(ctx, "d", metav1.GetOptions{})
			return err
		},
		"job": func() error {
			_, err := c.BatchV1().Jobs(ns).Create(ctx, &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "j"}, Spec: batchv1.JobSpec{Template: template}}, create)
			return err
		},
		"cronjob": func() error {
			_, err := c.BatchV1().CronJobs(ns).Create(ctx, &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Name: "cj"}, Spec: batchv1.CronJobSpec{
				Schedule: "*/5 * * * *", JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: template}}}}, create)
			return err
		},
		"hpa": func() error {
			_, err := c.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: "h"},
				Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MaxReplicas: 3, ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "d"}}}, create)
			return err
		},
		"pdb": func() error {
			one := intstr.FromInt32(1)
			_, err := c.PolicyV1().PodDisruptionBudgets(ns).Create(ctx, &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: "p"},
				Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: &one, Selector: &metav1.LabelSelector{MatchLabels: labels}}}, create)
			return err
		},
		"networkpolicy": func() error {
			_, err := c.NetworkingV1().NetworkPolicies(ns).Create(ctx, &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "np"}}, create)
			return err
		},
		"storageclass": func() error {
			_, err := c.StorageV1().StorageClasses().Create(ctx, &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "sc"}, Provisioner: "example.com/none"}, create)
			return err
		},
		"runtimeclass": func() error {
			_, err := c.NodeV1().RuntimeClasses().Create(ctx, &nodev1.RuntimeClass{ObjectMeta: metav1.ObjectMeta{Name: "rc"}, Handler: "runc"}, create)
			return err
		},
		"endpointslice": func() error {
			_, err := c.DiscoveryV1().EndpointSlices(ns).Create(ctx, &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: "es"}, AddressType: discoveryv1.AddressTypeIPv4}, create)
			return err
		},
	}
	for name, f := range creates {
		assert.NoError(t, f(), "create %s", name)
	}
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := c.SchedulingV1().PriorityClasses().Get(ctx, "system-node-critical", metav1.GetOptions{})
		return err == nil, nil
	})
	assert.NoError(t, err, "the system priority classes were not created")

	stop(t, cancel, done)
}

// stop cancels Run's context and checks that Run returns without an error.
func stop(t *testing.T, cancel context.CancelFunc, done <-chan error) {
	t.Helper()
	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err, "Run after cancel")
	case <-time.After(2 * time.Minute):
		t.Fatal("Run did not return after cancel")
	}
}
