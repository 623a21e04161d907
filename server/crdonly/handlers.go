package crdonly

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	discoveryendpoint "k8s.io/apiserver/pkg/endpoints/discovery/aggregated"
	genericapiserver "k8s.io/apiserver/pkg/server"
)

// withoutLegacyAPI answers GET /api with an empty list of versions: the
// server has no legacy core group, and discovery clients (kubectl, client-go)
// ask for it before /apis.
func withoutLegacyAPI(next http.Handler) http.Handler {
	legacy, _ := json.Marshal(metav1.APIVersions{TypeMeta: metav1.TypeMeta{Kind: "APIVersions"}, Versions: []string{}})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || (r.URL.Path != "/api" && r.URL.Path != "/api/") {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(legacy)
	})
}

// noServices resolves the service references of conversion webhooks: the
// server serves no Services.
type noServices struct{}

func (noServices) ResolveEndpoint(namespace, name string, port int32) (*url.URL, error) {
	return nil, fmt.Errorf("webhook service %s/%s: the CRD-only server has no Services; give the webhook a URL (clientConfig.url)", namespace, name)
}

// randomToken is the loopback client's bearer token.
func randomToken() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// installGroupDiscovery serves /apis, the list of API groups. (The test
// control plane's in-process server, a module of its own that links staging
// only, has the same function: it cannot import this module.)
// apiextensions-apiserver turns it off (it expects kube-aggregator in front,
// which lists the CRD groups through APIServices that
// k8s.io/kubernetes's crdregistration controller keeps), so alone it lists
// nothing and discovery clients fail. Its CRD discovery controller keeps
// the aggregated form (apidiscovery.k8s.io/v2) up to date; the
// unaggregated APIGroupList that older clients ask for is made from it.
func installGroupDiscovery(s *genericapiserver.GenericAPIServer) {
	aggregated := s.AggregatedDiscoveryGroupManager
	unaggregated := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		list, err := groupList(aggregated)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(list)
	})
	wrapped := discoveryendpoint.WrapAggregatedDiscoveryToHandler(unaggregated, aggregated, aggregated)
	s.Handler.GoRestfulContainer.Add(wrapped.GenerateWebService("/apis", metav1.APIGroupList{}))
}

// groupList asks the aggregated handler for its document and turns it
// into an APIGroupList: every group with its versions, the first preferred.
func groupList(aggregated http.Handler) (*metav1.APIGroupList, error) {
	req := httptest.NewRequest(http.MethodGet, "/apis", nil)
	req.Header.Set("Accept", "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList")
	rec := httptest.NewRecorder()
	aggregated.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		return nil, fmt.Errorf("aggregated discovery answered %d: %s", rec.Code, rec.Body)
	}
	var doc apidiscoveryv2.APIGroupDiscoveryList
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		return nil, err
	}
	list := &metav1.APIGroupList{TypeMeta: metav1.TypeMeta{Kind: "APIGroupList", APIVersion: "v1"}, Groups: []metav1.APIGroup{}}
	for _, g := range doc.Items {
		group := metav1.APIGroup{Name: g.Name}
		for _, v := range g.Versions {
			group.Versions = append(group.Versions, metav1.GroupVersionForDiscovery{GroupVersion: g.Name + "/" + v.Version, Version: v.Version})
		}
		if len(group.Versions) == 0 {
			continue
		}
		group.PreferredVersion = group.Versions[0]
		list.Groups = append(list.Groups, group)
	}
	return list, nil
}
