//go:build gcp_patched

// Package pods offers pods, nodes and pod templates to a server built with
// package server on the patch series (Options.MoreAPIs), from kube-apiserver's
// core storage without its cluster couplings: no services (so no service IP
// or node port range), no kubelets (no log, exec, attach, port-forward or
// proxy subresources). They are served as data: no scheduler binds a pod,
// no kubelet runs it, no controller creates a pod from a template.
//
// Its provider replaces the server's generic core provider and serves every
// core resource the server selects besides these. The server runs none of
// kube-apiserver's admission plugins for pods (ServiceAccount, PodSecurity,
// LimitRanger, ...): a pod is stored as the client sent it, after the
// registry's own defaulting and validation.
package pods

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	controlplaneapiserver "k8s.io/kubernetes/pkg/controlplane/apiserver"
	corerest "k8s.io/kubernetes/pkg/registry/core/rest"

	"github.com/generic-controlplane/gcp/server"
)

// Group is pods, nodes and pod templates.
var Group = server.APIGroup{
	Name: "pods",
	Help: "v1 pods, nodes, podtemplates (data only: no scheduler or kubelets; no log, exec, attach, port-forward or proxy)",
	Resources: []schema.GroupVersionResource{
		corev1.SchemeGroupVersion.WithResource("pods"),
		corev1.SchemeGroupVersion.WithResource("nodes"),
		corev1.SchemeGroupVersion.WithResource("podtemplates"),
	},
	// With a service account issuer, which the server always has,
	// kube-apiserver's core storage reads secrets for service account
	// tokens; it fails to start without them.
	Requires:    []string{"secrets"},
	RequiresWhy: "kube-apiserver's core storage reads secrets to issue service account tokens",
	NewProvider: newProvider,
}

// newProvider is kube-apiserver's core storage given the resource config,
// so that it creates no service allocators when services are not served
// (patch 0032), and with the kubelet and service proxies disabled.
func newProvider(pc server.ProviderContext) (controlplaneapiserver.RESTStorageProvider, error) {
	c := pc.Config
	return corerest.New(corerest.Config{
		GenericConfig: *c.NewCoreGenericConfig(),
		Proxy:         corerest.ProxyConfig{Disabled: true},
		Authorizer:    c.Generic.Authorization.Authorizer,
		Resources:     c.Extra.APIResourceConfigSource,
	}, c.Generic.Authorization.Authorizer)
}
