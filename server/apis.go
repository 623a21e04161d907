package server

import (
	"slices"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
	serverstorage "k8s.io/apiserver/pkg/server/storage"
)

// apiEntry describes what one Options.APIs entry turns on.
type apiEntry struct {
	core   []string              // resources of the legacy core group (v1)
	groups []schema.GroupVersion // whole group versions
	gvrs   []schema.GroupVersionResource
	help   string
}

var (
	gvCoordination = schema.GroupVersion{Group: "coordination.k8s.io", Version: "v1"}
	gvAPIExt       = schema.GroupVersion{Group: "apiextensions.k8s.io", Version: "v1"}
	gvAPIReg       = schema.GroupVersion{Group: "apiregistration.k8s.io", Version: "v1"}
)

// catalog maps Options.APIs entries to resources. Groups not listed here that the
// generic control plane could serve (internal.apiserver,
// beta/alpha versions) stay off unless enabled with ControlPlane.APIEnablement.RuntimeConfig.
var catalog = map[string]apiEntry{
	"namespaces":      {core: []string{"namespaces"}, help: "v1 namespaces"},
	"configmaps":      {core: []string{"configmaps"}, help: "v1 configmaps"},
	"secrets":         {core: []string{"secrets"}, help: "v1 secrets"},
	"serviceaccounts": {core: []string{"serviceaccounts"}, help: "v1 serviceaccounts (+token)"},
	"resourcequotas":  {core: []string{"resourcequotas"}, help: "v1 resourcequotas"},
	"events": {core: []string{"events"}, groups: []schema.GroupVersion{{Group: "events.k8s.io", Version: "v1"}},
		help: "v1 events and events.k8s.io/v1"},
	"rbac":                  {groups: []schema.GroupVersion{{Group: "rbac.authorization.k8s.io", Version: "v1"}}, help: "rbac.authorization.k8s.io/v1 (also selects RBAC authorization)"},
	"leases":                {gvrs: []schema.GroupVersionResource{gvCoordination.WithResource("leases")}, help: "coordination.k8s.io/v1 leases"},
	"admissionregistration": {groups: []schema.GroupVersion{{Group: "admissionregistration.k8s.io", Version: "v1"}}, help: "webhook configurations and admission policies"},
	"certificates":          {groups: []schema.GroupVersion{{Group: "certificates.k8s.io", Version: "v1"}}, help: "certificates.k8s.io/v1"},
	"storagemigration":      {groups: []schema.GroupVersion{{Group: "storagemigration.k8s.io", Version: "v1"}}, help: "storagemigration.k8s.io/v1 storageversionmigrations (data only: no migrator runs)"},
	"flowcontrol":           {groups: []schema.GroupVersion{{Group: "flowcontrol.apiserver.k8s.io", Version: "v1"}}, help: "API priority and fairness (also turns APF on)"},
	"authentication":        {groups: []schema.GroupVersion{{Group: "authentication.k8s.io", Version: "v1"}}, help: "tokenreviews, selfsubjectreviews"},
	"authorization":         {groups: []schema.GroupVersion{{Group: "authorization.k8s.io", Version: "v1"}}, help: "subjectaccessreviews (kubectl auth can-i)"},
	"crds":                  {groups: []schema.GroupVersion{gvAPIExt}, help: "apiextensions.k8s.io/v1 CustomResourceDefinitions"},
	"apiservices":           {groups: []schema.GroupVersion{gvAPIReg}, help: "apiregistration.k8s.io/v1 APIServices (aggregation)"},
}

// DefaultAPIs is what a server serves when Options.APIs is nil.
var DefaultAPIs = []string{"namespaces", "configmaps", "secrets", "serviceaccounts", "events", "rbac", "leases",
	"admissionregistration", "authentication", "authorization", "crds", "apiservices"}

// CRDOnly serves only CustomResourceDefinitions (plus the always-on aggregation layer).
var CRDOnly = []string{"crds"}

// alwaysOn are entries that cannot be turned off: the kube-aggregator is the
// outermost server of the chain and its controllers need APIServices.
var alwaysOn = []string{"apiservices"}

// ValidAPIs lists the accepted Options.APIs entries, sorted.
func ValidAPIs() []string {
	var out []string
	for k := range catalog {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// apiSet is a validated selection.
type apiSet map[string]bool

// parseAPIs validates Options.APIs entries against the catalog and the
// names of more (Options.MoreAPIs); it returns the catalog selection and the
// selected groups of more, in more's order.
func parseAPIs(entries []string, more []APIGroup) (apiSet, []APIGroup, error) {
	set := apiSet{}
	picked := map[string]bool{}
	var unknown []string
	for _, e := range entries {
		e = strings.TrimSpace(strings.ToLower(e))
		if e == "" {
			continue
		}
		if slices.ContainsFunc(more, func(g APIGroup) bool { return g.Name == e }) {
			picked[e] = true
			continue
		}
		if _, ok := catalog[e]; !ok {
			unknown = append(unknown, e)
			continue
		}
		set[e] = true
	}
	if len(unknown) > 0 {
		return nil, nil, newFieldError("Options.APIs", nil, "unknown {field} entr%s %s; valid entries are: %s",
			map[bool]string{true: "y", false: "ies"}[len(unknown) == 1], strings.Join(unknown, ","), strings.Join(ValidAPIsWith(more), ","))
	}
	for _, e := range alwaysOn {
		set[e] = true
	}
	for _, e := range ValidAPIs() {
		for _, dep := range requires[e] {
			if set[e] && !set[dep] {
				return nil, nil, newFieldError("Options.APIs", nil, "{field} entry %s requires %s (%s); add %s to {field}", e, dep, requiresWhy[e], dep)
			}
		}
	}
	var groups []APIGroup
	for _, g := range more {
		if !picked[g.Name] {
			continue
		}
		for _, dep := range g.Requires {
			if !set[dep] && !picked[dep] {
				return nil, nil, newFieldError("Options.APIs", nil, "{field} entry %s requires %s (%s); add %s to {field}", g.Name, dep, g.RequiresWhy, dep)
			}
		}
		groups = append(groups, g)
	}
	return set, groups, nil
}

// requires lists selections that cannot become ready without another one.
var requires = map[string][]string{
	"rbac":                  {"namespaces"},
	"admissionregistration": {"namespaces"},
}

var requiresWhy = map[string]string{
	"rbac":                  "RBAC bootstrapping creates roles in kube-system and kube-public and never finishes without namespaces",
	"admissionregistration": "webhook admission waits for a namespace informer to sync",
}

// has reports whether an entry is selected.
func (s apiSet) has(e string) bool { return s[e] }

// ExpectedGroups returns the API groups ("" for the core group) that discovery
// should list for the given Options.APIs entries, with Options.MoreAPIs more.
func ExpectedGroups(entries []string, more ...APIGroup) ([]string, error) {
	set, picked, err := parseAPIs(entries, more)
	if err != nil {
		return nil, err
	}
	groups := map[string]bool{}
	for _, g := range picked {
		for _, gv := range g.Versions {
			groups[gv.Group] = true
		}
		for _, gvr := range g.Resources {
			groups[gvr.Group] = true
		}
	}
	for e := range set {
		ent := catalog[e]
		if len(ent.core) > 0 {
			groups[""] = true
		}
		for _, gv := range ent.groups {
			groups[gv.Group] = true
		}
		for _, gvr := range ent.gvrs {
			groups[gvr.Group] = true
		}
	}
	var out []string
	for g := range groups {
		out = append(out, g)
	}
	sort.Strings(out)
	return out, nil
}

// kubeCoreResources are the core/v1 resources only kube-apiserver's core
// storage serves. The generic core provider never serves them; a group of
// Options.MoreAPIs whose provider replaces it (package kubeapis/pods) serves
// each that is enabled, so all but the group's own Resources are turned off.
var kubeCoreResources = []string{"pods", "bindings", "podtemplates", "replicationcontrollers", "services", "endpoints",
	"nodes", "limitranges", "persistentvolumes", "persistentvolumeclaims", "componentstatuses"}

// genericCoreResources are the core/v1 resources the generic control plane can serve.
var genericCoreResources = []string{"namespaces", "configmaps", "secrets", "serviceaccounts", "resourcequotas", "events"}

// applyTo turns the default generic resource config into exactly the selection,
// and returns runtime-config overrides for the apiextensions and aggregator
// servers (which start from their own defaults).
func (s apiSet) applyTo(rc *serverstorage.ResourceConfig) map[string]string {
	coreGV := schema.GroupVersion{Version: "v1"}
	wantCore := map[string]bool{}
	wantGV := map[schema.GroupVersion]bool{}
	wantGVR := map[schema.GroupVersionResource]bool{}
	for e := range s {
		ent := catalog[e]
		for _, r := range ent.core {
			wantCore[r] = true
		}
		for _, gv := range ent.groups {
			wantGV[gv] = true
		}
		for _, gvr := range ent.gvrs {
			wantGVR[gvr] = true
		}
	}
	// Disable every group version of the generic defaults that is not wanted.
	for gv, enabled := range rc.GroupVersionConfigs {
		if !enabled || gv == coreGV {
			continue
		}
		if wantGV[gv] {
			continue
		}
		partial := false
		for gvr := range wantGVR {
			if gvr.GroupVersion() == gv {
				partial = true
			}
		}
		if !partial {
			rc.DisableVersions(gv)
		}
	}
	// A selected group version the generic defaults leave off
	// (storagemigration.k8s.io/v1) is turned on.
	for gv := range wantGV {
		rc.EnableVersions(gv)
	}
	for gvr := range wantGVR {
		rc.EnableVersions(gvr.GroupVersion())
		rc.EnableResources(gvr)
	}
	// Coordination v1 also has no other GA resources besides leases, but be explicit.
	for _, r := range genericCoreResources {
		gvr := coreGV.WithResource(r)
		if wantCore[r] {
			rc.EnableResources(gvr)
		} else {
			rc.DisableResources(gvr)
		}
	}
	if len(wantCore) == 0 {
		rc.DisableVersions(coreGV)
	}
	rt := map[string]string{}
	for _, gv := range []schema.GroupVersion{gvAPIExt, gvAPIReg} {
		if !wantGV[gv] {
			rt[gv.String()] = "false"
		}
	}
	return rt
}
