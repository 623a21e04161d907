//go:build !gcp_patched

package server

import (
	"context"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/informers"
	v1listers "k8s.io/client-go/listers/core/v1"
	"k8s.io/kubernetes/pkg/serviceaccount"
)

// genericTokenGetter wires ServiceAccount token authentication without pods and
// nodes (adapted from the upstream generic sample, which does not export it).
// Informers are only requested for served resources: an informer on a
// resource that is not served never syncs and keeps /readyz failing.
func tokenGetter(withServiceAccounts, withSecrets bool) func(factory informers.SharedInformerFactory) serviceaccount.ServiceAccountTokenGetter {
	return func(factory informers.SharedInformerFactory) serviceaccount.ServiceAccountTokenGetter {
		g := clientGetter{}
		if withServiceAccounts {
			g.serviceAccountLister = factory.Core().V1().ServiceAccounts().Lister()
		}
		if withSecrets {
			g.secretLister = factory.Core().V1().Secrets().Lister()
		}
		return g
	}
}

type clientGetter struct {
	secretLister         v1listers.SecretLister
	serviceAccountLister v1listers.ServiceAccountLister
}

func (c clientGetter) GetServiceAccount(ctx context.Context, namespace, name string) (*v1.ServiceAccount, error) {
	if c.serviceAccountLister == nil {
		return nil, apierrors.NewNotFound(v1.Resource("serviceaccounts"), name)
	}
	return c.serviceAccountLister.ServiceAccounts(namespace).Get(name)
}

func (c clientGetter) GetPod(ctx context.Context, namespace, name string) (*v1.Pod, error) {
	return nil, apierrors.NewNotFound(v1.Resource("pods"), name)
}

func (c clientGetter) GetSecret(ctx context.Context, namespace, name string) (*v1.Secret, error) {
	if c.secretLister == nil {
		return nil, apierrors.NewNotFound(v1.Resource("secrets"), name)
	}
	return c.secretLister.Secrets(namespace).Get(name)
}

func (c clientGetter) GetNode(ctx context.Context, name string) (*v1.Node, error) {
	return nil, apierrors.NewNotFound(v1.Resource("nodes"), name)
}

func (c clientGetter) GetValidatingWebhookConfiguration(ctx context.Context, name string) (*admissionregistrationv1.ValidatingWebhookConfiguration, error) {
	return nil, apierrors.NewNotFound(admissionregistrationv1.Resource("validatingwebhookconfigurations"), name)
}

func (c clientGetter) GetMutatingWebhookConfiguration(ctx context.Context, name string) (*admissionregistrationv1.MutatingWebhookConfiguration, error) {
	return nil, apierrors.NewNotFound(admissionregistrationv1.Resource("mutatingwebhookconfigurations"), name)
}
