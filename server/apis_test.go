package server

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/runtime/schema"
	controlplaneapiserver "k8s.io/kubernetes/pkg/controlplane/apiserver"
)

func TestParseAPIsUnknown(t *testing.T) {
	_, _, err := parseAPIs([]string{"configmaps", "pods", "deployments"}, nil)
	require.Error(t, err)
	assert.ErrorContains(t, err, "unknown Options.APIs entries pods,deployments")
	assert.ErrorContains(t, err, "valid entries are: admissionregistration,apiservices,authentication")
}

func TestExpectedGroups(t *testing.T) {
	got, err := ExpectedGroups(CRDOnly)
	require.NoError(t, err)
	assert.Empty(t, cmp.Diff([]string{"apiextensions.k8s.io", "apiregistration.k8s.io"}, got), "CRDOnly groups (-want +got)")

	got, err = ExpectedGroups([]string{"configmaps", "leases", "events"})
	require.NoError(t, err)
	assert.Empty(t, cmp.Diff([]string{"", "apiregistration.k8s.io", "coordination.k8s.io", "events.k8s.io"}, got), "groups (-want +got)")
}

func TestApplyToResourceConfig(t *testing.T) {
	core := func(r string) schema.GroupVersionResource {
		return schema.GroupVersionResource{Version: "v1", Resource: r}
	}
	cases := []struct {
		apis    []string
		on, off []schema.GroupVersionResource
		runtime map[string]string
	}{{
		apis: CRDOnly,
		off: []schema.GroupVersionResource{core("configmaps"), core("namespaces"), core("secrets"),
			{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "roles"},
			{Group: "coordination.k8s.io", Version: "v1", Resource: "leases"},
			{Group: "flowcontrol.apiserver.k8s.io", Version: "v1", Resource: "flowschemas"},
			{Group: "admissionregistration.k8s.io", Version: "v1", Resource: "validatingwebhookconfigurations"}},
		runtime: map[string]string{},
	}, {
		apis: DefaultAPIs,
		on: []schema.GroupVersionResource{core("configmaps"), core("namespaces"), core("secrets"), core("serviceaccounts"), core("events"),
			{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "roles"},
			{Group: "coordination.k8s.io", Version: "v1", Resource: "leases"},
			{Group: "events.k8s.io", Version: "v1", Resource: "events"}},
		off: []schema.GroupVersionResource{core("resourcequotas"),
			{Group: "flowcontrol.apiserver.k8s.io", Version: "v1", Resource: "flowschemas"},
			{Group: "certificates.k8s.io", Version: "v1", Resource: "certificatesigningrequests"}},
		runtime: map[string]string{},
	}, {
		apis:    []string{"secrets"},
		on:      []schema.GroupVersionResource{core("secrets")},
		off:     []schema.GroupVersionResource{core("configmaps")},
		runtime: map[string]string{"apiextensions.k8s.io/v1": "false"},
	}}
	for _, c := range cases {
		set, _, err := parseAPIs(c.apis, nil)
		require.NoError(t, err)
		rc := defaultGenericResourceConfig()
		rt := set.applyTo(rc)
		for _, gvr := range c.on {
			assert.True(t, rc.ResourceEnabled(gvr), "%v: %v disabled, want enabled", c.apis, gvr)
		}
		for _, gvr := range c.off {
			assert.False(t, rc.ResourceEnabled(gvr), "%v: %v enabled, want disabled", c.apis, gvr)
		}
		assert.Empty(t, cmp.Diff(c.runtime, rt), "%v runtime config (-want +got)", c.apis)
	}
}

func TestParseAPIsDependencies(t *testing.T) {
	_, _, err := parseAPIs([]string{"rbac", "configmaps"}, nil)
	assert.ErrorContains(t, err, "Options.APIs entry rbac requires namespaces")
	assert.ErrorContains(t, err, "add namespaces to Options.APIs")
	_, _, err = parseAPIs([]string{"rbac", "namespaces"}, nil)
	assert.NoError(t, err)
}

// fakeProvider stands for a group's REST storage in parsing tests.
type fakeProvider struct {
	controlplaneapiserver.RESTStorageProvider
}

func TestParseAPIsMoreAPIs(t *testing.T) {
	widgets := APIGroup{Name: "widgets", Provider: fakeProvider{}, Versions: []schema.GroupVersion{{Group: "widgets.example.com", Version: "v1"}}}
	gadgets := APIGroup{Name: "gadgets", Provider: fakeProvider{}, Versions: []schema.GroupVersion{{Group: "gadgets.example.com", Version: "v1"}}}
	more := []APIGroup{widgets, gadgets}

	set, picked, err := parseAPIs([]string{"configmaps", "Gadgets"}, more)
	require.NoError(t, err)
	assert.True(t, set.has("configmaps"))
	assert.False(t, set.has("gadgets"), "a MoreAPIs group is not a catalog entry")
	require.Len(t, picked, 1)
	assert.Equal(t, "gadgets", picked[0].Name)

	_, _, err = parseAPIs([]string{"sprockets"}, more)
	assert.ErrorContains(t, err, "valid entries are: admissionregistration,")
	assert.ErrorContains(t, err, ",widgets,gadgets", "the offered groups are named as valid")

	got, err := ExpectedGroups([]string{"configmaps", "widgets"}, more...)
	require.NoError(t, err)
	assert.Equal(t, []string{"", "apiregistration.k8s.io", "widgets.example.com"}, got)

	assert.NoError(t, validateMoreAPIs(more))
	newProvider := func(ProviderContext) (controlplaneapiserver.RESTStorageProvider, error) { return fakeProvider{}, nil }
	for name, bad := range map[string][]APIGroup{
		"twice":          {widgets, widgets},
		"no provider":    {{Name: "x", Versions: widgets.Versions}},
		"two providers":  {{Name: "x", Provider: fakeProvider{}, NewProvider: newProvider, Versions: widgets.Versions}},
		"nothing served": {{Name: "x", Provider: fakeProvider{}}},
		"catalog":        {{Name: "secrets", Provider: fakeProvider{}, Versions: widgets.Versions}},
	} {
		assert.Error(t, validateMoreAPIs(bad), name)
	}

	// A group of single resources of a version others share, built from
	// the completed config: only a server on the series has that config.
	pods := APIGroup{Name: "pods", NewProvider: newProvider, Resources: []schema.GroupVersionResource{{Version: "v1", Resource: "pods"}}}
	got, err = ExpectedGroups([]string{"pods"}, pods)
	require.NoError(t, err)
	assert.Equal(t, []string{"", "apiregistration.k8s.io"}, got)
	pods.Requires, pods.RequiresWhy = []string{"secrets"}, "tokens"
	_, _, err = parseAPIs([]string{"pods"}, []APIGroup{pods})
	assert.ErrorContains(t, err, "Options.APIs entry pods requires secrets (tokens); add secrets to Options.APIs")
	_, picked, err = parseAPIs([]string{"pods", "secrets"}, []APIGroup{pods})
	require.NoError(t, err)
	assert.Len(t, picked, 1)
	if providerContextBuilt {
		assert.NoError(t, validateMoreAPIs([]APIGroup{pods}))
	} else {
		assert.ErrorContains(t, validateMoreAPIs([]APIGroup{pods}), `Options.MoreAPIs[0] "pods": NewProvider needs a server built on the patch series`)
	}
}

func TestProvidersAndPriorities(t *testing.T) {
	built := fakeProvider{}
	widgets := APIGroup{Name: "widgets", Provider: fakeProvider{}, Versions: []schema.GroupVersion{{Group: "widgets.example.com", Version: "v1"}},
		Priorities: map[schema.GroupVersion]controlplaneapiserver.APIServicePriority{{Group: "widgets.example.com", Version: "v1"}: {Group: 100, Version: 15}}}
	pods := APIGroup{Name: "pods", Resources: []schema.GroupVersionResource{{Version: "v1", Resource: "pods"}},
		NewProvider: func(ProviderContext) (controlplaneapiserver.RESTStorageProvider, error) { return built, nil }}
	providers, newProviders, priorities := providersAndPriorities([]APIGroup{pods, widgets})
	assert.Equal(t, []controlplaneapiserver.RESTStorageProvider{widgets.Provider}, providers)
	require.Len(t, newProviders, 1, "a group with NewProvider is built later, from the completed config")
	p, err := newProviders[0](ProviderContext{})
	require.NoError(t, err)
	assert.Equal(t, built, p)
	assert.Equal(t, controlplaneapiserver.APIServicePriority{Group: 100, Version: 15}, priorities[schema.GroupVersion{Group: "widgets.example.com", Version: "v1"}])
	assert.Contains(t, priorities, schema.GroupVersion{Version: "v1"}, "the generic priorities stay")
}
