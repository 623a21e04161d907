//go:build !gcp_patched

package server

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"net/url"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apiserver/pkg/util/webhook"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	"k8s.io/kube-aggregator/pkg/apis/apiregistration/v1/helper"
	aggregatorclient "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset"

	"github.com/generic-controlplane/gcp/server/pki"
)

// A generic control plane has no Services or Endpoints. ServiceEndpoints
// ("namespace/name" -> "host:port") lets service references in APIServices,
// admission webhooks and CRD conversion webhooks resolve to fixed addresses.
type staticResolver struct {
	endpoints map[string]string
	next      webhook.ServiceResolver
}

func (r staticResolver) ResolveEndpoint(namespace, name string, port int32) (*url.URL, error) {
	if hp, ok := r.endpoints[namespace+"/"+name]; ok {
		return &url.URL{Scheme: "https", Host: hp}, nil
	}
	return r.next.ResolveEndpoint(namespace, name, port)
}

// runAvailability plays the role of the remote APIService availability
// controller (disabled in the generic control plane because it needs Services
// and Endpoints) for APIServices whose service has a static endpoint: it
// probes /apis/<group>/<version> and sets the Available condition.
func runAvailability(ctx context.Context, cfg *rest.Config, endpoints map[string]string) {
	c, err := aggregatorclient.NewForConfig(cfg)
	if err != nil {
		klog.Errorf("static APIService availability: %v", err)
		return
	}
	wait.UntilWithContext(ctx, func(ctx context.Context) {
		list, err := c.ApiregistrationV1().APIServices().List(ctx, metav1.ListOptions{})
		if err != nil {
			return
		}
		for i := range list.Items {
			as := &list.Items[i]
			if as.Spec.Service == nil {
				continue
			}
			hp, ok := endpoints[as.Spec.Service.Namespace+"/"+as.Spec.Service.Name]
			if !ok {
				continue
			}
			cond := probe(ctx, hp, as)
			if old := helper.GetAPIServiceConditionByType(as, apiregistrationv1.Available); old != nil &&
				old.Status == cond.Status && old.Reason == cond.Reason {
				continue
			}
			helper.SetAPIServiceCondition(as, cond)
			if _, err := c.ApiregistrationV1().APIServices().UpdateStatus(ctx, as, metav1.UpdateOptions{}); err != nil {
				klog.V(2).Infof("updating APIService %s status: %v", as.Name, err)
			}
		}
	}, 2*time.Second)
}

func probe(ctx context.Context, hostPort string, as *apiregistrationv1.APIService) apiregistrationv1.APIServiceCondition {
	cond := apiregistrationv1.APIServiceCondition{Type: apiregistrationv1.Available, Status: apiregistrationv1.ConditionFalse,
		LastTransitionTime: metav1.Now(), Reason: "FailedDiscoveryCheck"}
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: as.Spec.InsecureSkipTLSVerify}} // #nosec G402 -- per APIService setting
	if !as.Spec.InsecureSkipTLSVerify && len(as.Spec.CABundle) > 0 {
		tr.TLSClientConfig = pki.TLSWithCA(as.Spec.CABundle)
	}
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+hostPort+"/apis/"+as.Spec.Group+"/"+as.Spec.Version, nil)
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		cond.Message = err.Error()
		return cond
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		cond.Message = fmt.Sprintf("discovery returned %d", resp.StatusCode)
		return cond
	}
	cond.Status, cond.Reason, cond.Message = apiregistrationv1.ConditionTrue, "Passed", "static endpoint "+hostPort+" answered discovery"
	return cond
}
