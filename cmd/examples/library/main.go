//go:build gcp_patched

// Command library is a control plane as a platform team writes it on the series' generic server
// library (samples/generic/server): namespaces, secrets and the other generic core resources,
// RBAC, CRDs, an inline admission plugin, a middleware and the storage backend it chose
// (this project's SQLite, in the file --sqlite-db names).
package main

import (
	"context"
	"errors"
	"net/http"
	"os"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apiserver/pkg/admission"
	serverstorage "k8s.io/apiserver/pkg/server/storage"
	"k8s.io/apiserver/pkg/storage/storagebackend/factory"
	"k8s.io/client-go/discovery"
	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/pkg/controlplane/apiserver/base"
	"k8s.io/kubernetes/pkg/controlplane/apiserver/samples/generic/server"

	"github.com/generic-controlplane/gcp/storage/sqlite"
)

func main() {
	resources := serverstorage.NewResourceConfig()
	resources.EnableVersions(corev1.SchemeGroupVersion, rbacv1.SchemeGroupVersion)
	s := server.NewOptions()
	s.Etcd.StorageConfig.Type = "sqlite"
	cmd := server.NewCommandWithConfig(s, server.ConfigOptions{
		ResourceConfig: resources,
		StorageProviders: func(c *base.CompletedConfig, _ discovery.DiscoveryInterface) ([]base.RESTStorageProvider, error) {
			return []base.RESTStorageProvider{c.NewCoreGenericConfig(), c.NewRBACStorageProvider()}, nil
		},
		AdmissionPlugins: []server.AdmissionPlugin{{Name: "DenyLabel", Plugin: denyLabel{admission.NewHandler(admission.Create, admission.Update)}}},
		HandlerWrappers:  []func(http.Handler) http.Handler{servedBy},
	})
	path := cmd.Flags().String("sqlite-db", "controlplane.db", "The SQLite file that holds every object.")
	options := func() sqlite.Options { return sqlite.Options{Path: *path, CompactionInterval: 5 * time.Minute} }
	utilruntime.Must(factory.Register("sqlite", sqlite.OnFirstUse(options)))
	os.Exit(cli.Run(cmd))
}

// servedBy is the middleware: it marks every response.
func servedBy(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Served-By", "library")
		h.ServeHTTP(w, r)
	})
}

// denyLabel refuses to create or update an object labelled deny=true.
type denyLabel struct{ *admission.Handler }

func (denyLabel) Validate(_ context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	if o, ok := a.GetObject().(interface{ GetLabels() map[string]string }); ok && o.GetLabels()["deny"] == "true" {
		return admission.NewForbidden(a, errors.New("objects labelled deny=true are refused"))
	}
	return nil
}
