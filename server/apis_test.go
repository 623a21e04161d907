package server

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestParseAPIsUnknown(t *testing.T) {
	_, err := parseAPIs([]string{"configmaps", "pods", "deployments"})
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
		set, err := parseAPIs(c.apis)
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
	_, err := parseAPIs([]string{"rbac", "configmaps"})
	assert.ErrorContains(t, err, "Options.APIs entry rbac requires namespaces")
	assert.ErrorContains(t, err, "add namespaces to Options.APIs")
	_, err = parseAPIs([]string{"rbac", "namespaces"})
	assert.NoError(t, err)
}
