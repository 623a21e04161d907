package prove

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/generic-controlplane/gcp/internal/serverproc"
)

// minimalSampleGroupVersions are all MinimalSample may serve: what it picks
// (core/v1, RBAC) and what apiextensions-apiserver and kube-aggregator serve.
var minimalSampleGroupVersions = sets.New("v1", "rbac.authorization.k8s.io/v1", "apiextensions.k8s.io/v1", "apiregistration.k8s.io/v1")

// minimalSampleNeeds are resources MinimalSample must serve.
var minimalSampleNeeds = []string{"v1/namespaces", "v1/secrets", "v1/configmaps", "rbac.authorization.k8s.io/v1/roles",
	"apiextensions.k8s.io/v1/customresourcedefinitions", "apiregistration.k8s.io/v1/apiservices"}

// namespaceDeletionTimeout bounds the wait for a deleted namespace to go.
const namespaceDeletionTimeout = time.Minute

// checkMinimalSample checks that a started MinimalSample serves what it
// picked and nothing of the groups it did not pick, and that a namespace
// with a secret in it can be deleted (its namespace controller runs with
// only the picked providers).
func checkMinimalSample(ctx context.Context, srv *serverproc.Server) error {
	client, err := servedOnlyClient(srv, minimalSampleGroupVersions, minimalSampleNeeds)
	if err != nil {
		return err
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "prove-minimal"}}
	if _, err := client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating namespace %s: %w", ns.Name, err)
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s"}, StringData: map[string]string{"k": "v"}}
	if _, err := client.CoreV1().Secrets(ns.Name).Create(ctx, secret, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating a secret in %s: %w", ns.Name, err)
	}
	if err := client.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{}); err != nil {
		return fmt.Errorf("deleting namespace %s: %w", ns.Name, err)
	}
	err = wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, namespaceDeletionTimeout, true, func(ctx context.Context) (bool, error) {
		_, err := client.CoreV1().Namespaces().Get(ctx, ns.Name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	if err != nil {
		return fmt.Errorf("namespace %s with a secret still exists %s after its deletion", ns.Name, namespaceDeletionTimeout)
	}
	return nil
}

// servedOnlyClient checks what srv serves with checkServedOnly and returns
// a client of it.
func servedOnlyClient(srv *serverproc.Server, allowed sets.Set[string], needs []string) (*kubernetes.Clientset, error) {
	served, err := srv.Resources()
	if err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	if err := checkServedOnly(served, allowed, needs); err != nil {
		return nil, err
	}
	return kubernetes.NewForConfig(srv.RESTConfig())
}

// checkServedOnly reports resources (as serverproc.Server.Resources lists
// them: "group/version/resource", "v1/resource" for core) outside the
// allowed group versions, and needed resources that are missing.
func checkServedOnly(served []string, allowed sets.Set[string], needs []string) error {
	var extra []string
	for _, r := range served {
		if !allowed.Has(groupVersionOf(r)) {
			extra = append(extra, r)
		}
	}
	missing := sets.List(sets.New(needs...).Difference(sets.New(served...)))
	switch {
	case len(extra) > 0:
		return fmt.Errorf("serves resources of groups it did not pick: %s", strings.Join(extra, ", "))
	case len(missing) > 0:
		return fmt.Errorf("does not serve %s", strings.Join(missing, ", "))
	}
	return nil
}

// groupVersionOf is the group version of a resource as
// serverproc.Server.Resources lists it: "v1" for the legacy core group
// ("v1/namespaces/status"), "group/version" otherwise.
func groupVersionOf(resource string) string {
	parts := strings.SplitN(resource, "/", 3)
	if parts[0] == "v1" || len(parts) < 2 {
		return parts[0]
	}
	return parts[0] + "/" + parts[1]
}
