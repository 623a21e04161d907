// Package crdestablish establishes, at start, the CRDs a crash left with
// their names accepted but not Established (a gap of apiextensions-apiserver,
// see AddPostStartHook). It links nothing of k/k.
package crdestablish

import (
	"context"
	"fmt"

	apiextensionshelpers "k8s.io/apiextensions-apiserver/pkg/apihelpers"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apiextensionsinformers "k8s.io/apiextensions-apiserver/pkg/client/informers/externalversions"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
)

// HookName is the post-start hook that establishes CRDs a
// previous run left with their names accepted but not Established.
const HookName = "establish-leftover-crds"

// AddPostStartHook works around a gap in apiextensions-apiserver
// (v0.37.2): its establishing controller is queued only from CRD *update*
// events (pkg/apiserver/customresource_handler.go:489-495), never from the
// add events of the informer's first list. A server killed after the naming
// controller accepted a new CRD's names and before the establishing
// controller marked it Established restarts with the CRD not Established,
// and stays so until the CRD informer's resync, 5 minutes later
// (pkg/apiserver/apiserver.go:172). The fault suite's kill -9 right after a
// CRD create hits it. The hook does, once, what the establishing controller
// does for such CRDs with a single API server (no 5 s HA wait); CRDs with a
// conversion webhook are left to it, as their CA bundle decides the
// condition. kube-apiserver has the same gap; the fix belongs upstream (queue
// from add events too).
func AddPostStartHook(s *genericapiserver.GenericAPIServer, informers apiextensionsinformers.SharedInformerFactory, client apiextensionsclient.Interface) error {
	return s.AddPostStartHook(HookName, PostStartHook(informers, client))
}

// PostStartHook is the hook AddPostStartHook adds, for a server that adds
// it under HookName itself (a library's post-start hook list). It starts
// informers' CRD informer (a no-op for a factory the apiextensions server
// already started), so a factory of its own works too.
func PostStartHook(informers apiextensionsinformers.SharedInformerFactory, client apiextensionsclient.Interface) genericapiserver.PostStartHookFunc {
	crds := informers.Apiextensions().V1().CustomResourceDefinitions()
	crds.Informer()
	return func(hc genericapiserver.PostStartHookContext) error {
		informers.Start(hc.Done())
		go func() {
			if !cache.WaitForCacheSync(hc.Done(), crds.Informer().HasSynced) {
				return
			}
			list, err := crds.Lister().List(labels.Everything())
			if err != nil {
				klog.Errorf("%s: listing CRDs: %v", HookName, err)
				return
			}
			for _, crd := range list {
				if err := establishLeftover(hc, client, crd); err != nil {
					klog.Errorf("%s: %s: %v", HookName, crd.Name, err)
				}
			}
		}()
		return nil
	}
}

func establishLeftover(ctx context.Context, client apiextensionsclient.Interface, cached *apiextensionsv1.CustomResourceDefinition) error {
	if !apiextensionshelpers.IsCRDConditionTrue(cached, apiextensionsv1.NamesAccepted) ||
		apiextensionshelpers.IsCRDConditionTrue(cached, apiextensionsv1.Established) ||
		(cached.Spec.Conversion != nil && cached.Spec.Conversion.Webhook != nil) {
		return nil
	}
	crd := cached.DeepCopy()
	apiextensionshelpers.SetCRDCondition(crd, apiextensionsv1.CustomResourceDefinitionCondition{
		Type: apiextensionsv1.Established, Status: apiextensionsv1.ConditionTrue,
		Reason: "InitialNamesAccepted", Message: "the initial names have been accepted",
	})
	_, err := client.ApiextensionsV1().CustomResourceDefinitions().UpdateStatus(ctx, crd, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil // deleted or changed since: an update event queues the establishing controller
	}
	if err != nil {
		return fmt.Errorf("marking it Established: %w", err)
	}
	klog.Infof("%s: %s had its names accepted but was not Established (left by an earlier run); marked Established", HookName, crd.Name)
	return nil
}
