package server

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
	controlplaneapiserver "k8s.io/kubernetes/pkg/controlplane/apiserver"
)

// APIGroup is a built-in API group a server can offer besides the catalog
// of ValidAPIs (Options.MoreAPIs): one that GenericStorageProviders does not
// list. The packages under server/kubeapis define kube-apiserver's own
// groups (apps, batch, ...); each is a package of its own so that a binary
// links only the groups it offers.
type APIGroup struct {
	// Name is the Options.APIs entry that serves the group.
	Name string
	// Help says what the group serves, for flag help.
	Help string
	// Versions are enabled when the group is served.
	Versions []schema.GroupVersion
	// Resources are enabled one by one when the group is served: for a
	// group that shares a version with others, as pods and nodes share
	// core v1 with the generic core resources.
	Resources []schema.GroupVersionResource
	// Provider builds the group's REST storage.
	Provider controlplaneapiserver.RESTStorageProvider
	// NewProvider, instead of Provider, builds the group's REST storage
	// from the control plane's completed config, for a provider that needs
	// it (kube-apiserver's core storage does). A provider of a group the
	// generic providers serve replaces the generic one, and serves every
	// resource of the group that is enabled. Only a server built on the
	// series tip has that config (see ProviderContext).
	NewProvider func(ProviderContext) (controlplaneapiserver.RESTStorageProvider, error)
	// Requires are Options.APIs entries the group cannot be served
	// without, and RequiresWhy says why, for the error that names them.
	Requires    []string
	RequiresWhy string
	// Priorities order the versions in discovery (the aggregator's local
	// APIServices). The aggregator registers no APIService for a version
	// without one: it is then missing from /apis.
	Priorities map[schema.GroupVersion]controlplaneapiserver.APIServicePriority
}

// validateMoreAPIs checks that each group can be served and that no name is
// taken twice.
func validateMoreAPIs(more []APIGroup) error {
	seen := map[string]bool{}
	for i, g := range more {
		field := fmt.Sprintf("Options.MoreAPIs[%d]", i)
		switch {
		case g.Name == "" || (g.Provider == nil) == (g.NewProvider == nil) || len(g.Versions)+len(g.Resources) == 0:
			return newFieldError(field, nil, "{field} %q: a group needs a Name, one of Provider and NewProvider, and Versions or Resources", g.Name)
		case g.NewProvider != nil && !providerContextBuilt:
			return newFieldError(field, nil, "{field} %q: NewProvider needs a server built on the patch series (go build -tags gcp_patched, see server/README.md)", g.Name)
		case seen[g.Name]:
			return newFieldError(field, nil, "{field}: the name %q is taken by another entry of Options.MoreAPIs", g.Name)
		}
		if _, ok := catalog[g.Name]; ok {
			return newFieldError(field, nil, "{field}: the name %q is an entry of the APIs catalog", g.Name)
		}
		seen[g.Name] = true
	}
	return nil
}

// ValidAPIsWith lists the accepted Options.APIs entries when more are
// offered: ValidAPIs, then the names of more.
func ValidAPIsWith(more []APIGroup) []string {
	out := ValidAPIs()
	for _, g := range more {
		out = append(out, g.Name)
	}
	return out
}

// providersAndPriorities returns the providers of the selected groups, the
// NewProvider functions of those that build theirs from the completed
// config, and the aggregator priorities of the generic groups and theirs.
func providersAndPriorities(groups []APIGroup) ([]controlplaneapiserver.RESTStorageProvider, []func(ProviderContext) (controlplaneapiserver.RESTStorageProvider, error), map[schema.GroupVersion]controlplaneapiserver.APIServicePriority) {
	priorities := controlplaneapiserver.DefaultGenericAPIServicePriorities()
	var (
		providers    []controlplaneapiserver.RESTStorageProvider
		newProviders []func(ProviderContext) (controlplaneapiserver.RESTStorageProvider, error)
	)
	for _, g := range groups {
		if g.NewProvider != nil {
			newProviders = append(newProviders, g.NewProvider)
		} else {
			providers = append(providers, g.Provider)
		}
		for gv, p := range g.Priorities {
			priorities[gv] = p
		}
	}
	return providers, newProviders, priorities
}

// kubeGroups describes kube-apiserver's own groups that server/kubeapis
// offers: what they serve, and the priorities of their GA versions as
// cmd/kube-apiserver/app/aggregator.go orders them (unexported upstream).
// The group packages add only the provider, so that each links only its
// own registry.
var kubeGroups = map[string]struct {
	help     string
	versions map[schema.GroupVersion]controlplaneapiserver.APIServicePriority
}{
	"apps": {"apps/v1 deployments, statefulsets, daemonsets, replicasets, controllerrevisions",
		map[schema.GroupVersion]controlplaneapiserver.APIServicePriority{{Group: "apps", Version: "v1"}: {Group: 17800, Version: 15}}},
	"autoscaling": {"autoscaling/v1 and v2 horizontalpodautoscalers",
		map[schema.GroupVersion]controlplaneapiserver.APIServicePriority{{Group: "autoscaling", Version: "v1"}: {Group: 17500, Version: 15}, {Group: "autoscaling", Version: "v2"}: {Group: 17500, Version: 30}}},
	"batch": {"batch/v1 jobs, cronjobs",
		map[schema.GroupVersion]controlplaneapiserver.APIServicePriority{{Group: "batch", Version: "v1"}: {Group: 17400, Version: 15}}},
	"discovery": {"discovery.k8s.io/v1 endpointslices",
		map[schema.GroupVersion]controlplaneapiserver.APIServicePriority{{Group: "discovery.k8s.io", Version: "v1"}: {Group: 16200, Version: 15}}},
	"networking": {"networking.k8s.io/v1 ingresses, ingressclasses, networkpolicies, ipaddresses, servicecidrs",
		map[schema.GroupVersion]controlplaneapiserver.APIServicePriority{{Group: "networking.k8s.io", Version: "v1"}: {Group: 17200, Version: 15}}},
	"node": {"node.k8s.io/v1 runtimeclasses",
		map[schema.GroupVersion]controlplaneapiserver.APIServicePriority{{Group: "node.k8s.io", Version: "v1"}: {Group: 16300, Version: 15}}},
	"policy": {"policy/v1 poddisruptionbudgets",
		map[schema.GroupVersion]controlplaneapiserver.APIServicePriority{{Group: "policy", Version: "v1"}: {Group: 17100, Version: 15}}},
	"scheduling": {"scheduling.k8s.io/v1 priorityclasses, with the two system ones",
		map[schema.GroupVersion]controlplaneapiserver.APIServicePriority{{Group: "scheduling.k8s.io", Version: "v1"}: {Group: 16600, Version: 15}}},
	"storage": {"storage.k8s.io/v1 storageclasses, csidrivers, csinodes, volumeattachments, csistoragecapacities, volumeattributesclasses",
		map[schema.GroupVersion]controlplaneapiserver.APIServicePriority{{Group: "storage.k8s.io", Version: "v1"}: {Group: 16800, Version: 15}}},
}

// KubeGroup returns kube-apiserver's group name served by provider, as the
// packages under server/kubeapis offer it. It panics on a name it does not
// describe: the packages call it at init with their own constant name.
func KubeGroup(name string, provider controlplaneapiserver.RESTStorageProvider) APIGroup {
	info, ok := kubeGroups[name]
	if !ok {
		panic(fmt.Sprintf("server.KubeGroup: no group %q", name))
	}
	g := APIGroup{Name: name, Help: info.help + " (data only: no controllers)", Provider: provider, Priorities: info.versions}
	for gv := range info.versions {
		g.Versions = append(g.Versions, gv)
	}
	slices.SortFunc(g.Versions, func(a, b schema.GroupVersion) int { return strings.Compare(a.String(), b.String()) })
	return g
}
