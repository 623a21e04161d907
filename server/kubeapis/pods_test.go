//go:build gcp_patched

package kubeapis_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/kubernetes"
	"k8s.io/kubernetes/pkg/controlplane/apiserver/options"

	"github.com/generic-controlplane/gcp/internal/etcdrun"
	"github.com/generic-controlplane/gcp/server"
	"github.com/generic-controlplane/gcp/server/kubeapis"
	"github.com/generic-controlplane/gcp/server/kubeapis/pods"
)

// TestPodsAndNodes serves pods, nodes and pod templates from kube-apiserver's
// core storage next to the generic core resources, on an etcd the test
// reads: no service and nothing that connects to a kubelet is served, a pod
// is bound to a node and read back, and a node is stored where
// kube-apiserver stores it.
func TestPodsAndNodes(t *testing.T) {
	e, err := etcdrun.Start(t.TempDir(), "pods")
	require.NoError(t, err)
	defer e.Stop()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	o := server.Options{APIs: []string{"namespaces", "configmaps", "secrets", "serviceaccounts", "pods"}, MoreAPIs: kubeapis.All()}
	cfg, done := startWith(t, ctx, o, func(co *options.Options) {
		co.Etcd.StorageConfig.Transport.ServerList = []string{e.Endpoint}
	})
	c := kubernetes.NewForConfigOrDie(cfg)

	resources, err := c.Discovery().ServerResourcesForGroupVersion("v1")
	require.NoError(t, err)
	served := sets.New[string]()
	for _, r := range resources.APIResources {
		served.Insert(r.Name)
	}
	for _, r := range []string{"pods", "pods/status", "pods/binding", "pods/eviction", "nodes", "nodes/status", "podtemplates",
		"namespaces", "configmaps", "secrets", "serviceaccounts", "serviceaccounts/token"} {
		assert.True(t, served.Has(r), "%s not served", r)
	}
	for _, r := range []string{"services", "endpoints", "events", "replicationcontrollers", "persistentvolumes", "pods/log", "pods/exec", "pods/attach", "pods/portforward", "pods/proxy", "nodes/proxy"} {
		assert.False(t, served.Has(r), "%s served", r)
	}

	ns, create := "default", metav1.CreateOptions{}
	_, err = c.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}}, create)
	require.NoError(t, err)
	_, err = c.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}, create)
	require.NoError(t, err)
	require.NoError(t, c.CoreV1().Pods(ns).Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "p"},
		Target: corev1.ObjectReference{Kind: "Node", Name: "n1"}}, create))
	pod, err := c.CoreV1().Pods(ns).Get(ctx, "p", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "n1", pod.Spec.NodeName)
	assert.Empty(t, pod.Spec.ServiceAccountName, "no admission plugin for pods: stored as given")
	_, err = c.CoreV1().Services(ns).List(ctx, metav1.ListOptions{})
	assert.True(t, apierrors.IsNotFound(err), "services: %v", err)

	ec, err := clientv3.New(clientv3.Config{Endpoints: []string{e.Endpoint}, DialTimeout: 10 * time.Second})
	require.NoError(t, err)
	defer ec.Close()
	got, err := ec.Get(ctx, "/registry/minions/n1", clientv3.WithCountOnly())
	require.NoError(t, err)
	assert.EqualValues(t, 1, got.Count, "node n1 not under /registry/minions, where kube-apiserver keeps nodes")

	stop(t, cancel, done)
}

// TestPodsGroupIsOffered checks that the group is among kubeapis.All on the
// series, where the server can build its provider.
func TestPodsGroupIsOffered(t *testing.T) {
	assert.Contains(t, server.ValidAPIsWith(kubeapis.All()), pods.Group.Name)
}
