package server

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestParseAPIsUnknown(t *testing.T) {
	_, err := parseAPIs([]string{"configmaps", "pods", "deployments"})
	if err == nil {
		t.Fatal("want error for unknown entries")
	}
	for _, want := range []string{"unknown --apis entries pods,deployments", "valid entries are: admissionregistration,apiservices,authentication"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestExpectedGroups(t *testing.T) {
	got, err := ExpectedGroups(CRDOnly)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"apiextensions.k8s.io", "apiregistration.k8s.io"}, got); diff != "" {
		t.Errorf("CRDOnly groups (-want +got):\n%s", diff)
	}
	got, _ = ExpectedGroups([]string{"configmaps", "leases", "events"})
	if diff := cmp.Diff([]string{"", "apiregistration.k8s.io", "coordination.k8s.io", "events.k8s.io"}, got); diff != "" {
		t.Errorf("groups (-want +got):\n%s", diff)
	}
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
		if err != nil {
			t.Fatal(err)
		}
		rc := defaultGenericResourceConfig()
		rt := set.applyTo(rc)
		for _, gvr := range c.on {
			if !rc.ResourceEnabled(gvr) {
				t.Errorf("%v: %v disabled, want enabled", c.apis, gvr)
			}
		}
		for _, gvr := range c.off {
			if rc.ResourceEnabled(gvr) {
				t.Errorf("%v: %v enabled, want disabled", c.apis, gvr)
			}
		}
		if diff := cmp.Diff(c.runtime, rt); diff != "" {
			t.Errorf("%v runtime config (-want +got):\n%s", c.apis, diff)
		}
	}
}

func TestParseAPIsDependencies(t *testing.T) {
	_, err := parseAPIs([]string{"rbac", "configmaps"})
	if err == nil || !strings.Contains(err.Error(), "--apis entry rbac requires namespaces") {
		t.Errorf("rbac without namespaces: %v", err)
	}
	if _, err := parseAPIs([]string{"rbac", "namespaces"}); err != nil {
		t.Errorf("rbac with namespaces: %v", err)
	}
}
