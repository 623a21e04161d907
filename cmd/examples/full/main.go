// Example (a): namespaces, RBAC, secrets, configmaps and CRDs, with an inline
// admission plugin and an HTTP middleware.
package main

import (
	"context"
	"fmt"
	"log"
	"net/http"

	"github.com/generic-controlplane/gcp/cmd/minimal-apiserver/app"
	"github.com/generic-controlplane/gcp/server"
	"k8s.io/apiserver/pkg/endpoints/request"
)

func main() {
	app.Main(server.Options{
		Name:       "example-full",
		APIs:       []string{"namespaces", "rbac", "secrets", "configmaps", "crds", "authorization"},
		Admission:  []server.AdmissionPlugin{{Name: "NoPasswordInConfigMaps", Admit: noPasswords}},
		Middleware: []server.Middleware{auditLine},
	})
}

// noPasswords rejects ConfigMaps that carry a "password" key.
func noPasswords(ctx context.Context, r server.Request) error {
	if r.GetResource().Resource != "configmaps" || r.Object == nil {
		return nil
	}
	if data, _ := r.Object["data"].(map[string]any); data["password"] != nil {
		return fmt.Errorf("configmaps must not contain a \"password\" key, use a Secret")
	}
	return nil
}

// auditLine tags every response and logs one line per mutating request.
func auditLine(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Minimal-Apiserver", "example-full")
		if u, ok := request.UserFrom(r.Context()); ok && r.Method != http.MethodGet {
			log.Printf("audit: user=%s verb=%s path=%s", u.GetName(), r.Method, r.URL.Path)
		}
		next.ServeHTTP(w, r)
	})
}
