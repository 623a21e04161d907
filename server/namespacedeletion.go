//go:build !gcp_patched

package server

import (
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	corev1 "k8s.io/api/core/v1"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	namespacecontroller "k8s.io/kubernetes/pkg/controller/namespace"
	controlplaneapiserver "k8s.io/kubernetes/pkg/controlplane/apiserver"
)

// namespaceDeletionHook is the post-start hook that runs the namespace
// controller.
const namespaceDeletionHook = "start-namespace-deletion-controller"

// kube-controller-manager's defaults: --concurrent-namespace-syncs and
// --namespace-sync-period.
const (
	namespaceDeletionWorkers = 10
	namespaceDeletionResync  = 5 * time.Minute
)

// addNamespaceDeletion makes deleted namespaces go away. The namespace
// registry adds the "kubernetes" finalizer to every namespace and only
// kube-controller-manager's namespace controller removes it, so without
// this `kubectl delete namespace` waits forever and the content stays (the
// client matrix's delete-namespace case). The hook runs that controller
// (k8s.io/kubernetes/pkg/controller/namespace) on the loopback client: it
// discovers the namespaced resources of the whole chain (built-in, custom,
// aggregated), deletes them, then removes the finalizer. The series' patch
// 0015 adds the same as controlplane/apiserver/controllers/namespacedeletion
// for embedders of a patched tree; this copy works on the released modules.
// Call it after InstallAPIs and before the aggregator copies the hooks.
func addNamespaceDeletion(s *controlplaneapiserver.Server) error {
	config := rest.AddUserAgent(rest.CopyConfig(s.GenericAPIServer.LoopbackClientConfig), "namespace-controller")
	kubeClient, err := kubernetes.NewForConfig(config)
	if err != nil {
		return fmt.Errorf("namespace deletion: %w", err)
	}
	metadataClient, err := metadata.NewForConfig(config)
	if err != nil {
		return fmt.Errorf("namespace deletion: %w", err)
	}
	// Requested before the hooks run (concurrently): the hook that starts
	// the shared informers may run before this one.
	namespaces := s.VersionedInformers.Core().V1().Namespaces()
	namespaces.Informer()
	return s.GenericAPIServer.AddPostStartHook(namespaceDeletionHook, func(hc genericapiserver.PostStartHookContext) error {
		c := namespacecontroller.NewNamespaceController(hc, kubeClient, metadataClient,
			discoverNamespacedResources(kubeClient.Discovery().ServerPreferredNamespacedResources), namespaces, namespaceDeletionResync, corev1.FinalizerKubernetes)
		s.VersionedInformers.Start(hc.Done()) // idempotent
		go c.Run(hc, namespaceDeletionWorkers)
		return nil
	})
}

// discoverNamespacedResources wraps the namespace controller's discovery so
// that it never reports no namespaced resource at all. The controller exits
// the process (klog.FlushAndExit in namespaced_resources_deleter.go's
// initOpCache, without a message on stderr) when the discovery at its start
// lists none, which is the normal state of a server that serves namespaces
// and only cluster-scoped or custom resources (--apis=namespaces,crds before
// the first CRD). An empty list for the core group keeps it running; each
// deletion discovers the resources anew.
func discoverNamespacedResources(discover func() ([]*metav1.APIResourceList, error)) func() ([]*metav1.APIResourceList, error) {
	return func() ([]*metav1.APIResourceList, error) {
		lists, err := discover()
		if len(lists) == 0 {
			lists = []*metav1.APIResourceList{{GroupVersion: "v1"}}
		}
		return lists, err
	}
}
