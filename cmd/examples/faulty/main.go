// Example (c), the server of the fault suite (faults/): example-full's APIs
// with an inline admission plugin and a middleware that fail on request, to
// show what a faulty plugin does to its request and to the server.
//
//   - a ConfigMap whose data has the key "panic" makes the admission plugin
//     panic; the key "hang" makes it block, ignoring its context, so that
//     its timeout (2 s here) ends the request;
//   - a request with the header "X-Fault: panic" makes the middleware panic;
//     "X-Fault: hang" makes it block until the server's request timeout.
package main

import (
	"context"
	"net/http"
	"time"

	"github.com/generic-controlplane/gcp/cmd/minimal-apiserver/app"
	"github.com/generic-controlplane/gcp/server"
)

func main() {
	app.Main(server.Options{
		Name:       "example-faulty",
		APIs:       []string{"namespaces", "rbac", "secrets", "configmaps", "crds", "authorization"},
		Admission:  []server.AdmissionPlugin{{Name: "FaultyAdmission", Admit: faultyAdmission, Timeout: 2 * time.Second}},
		Middleware: []server.Middleware{faultyMiddleware},
	})
}

// block never returns: a plugin that ignores its deadline.
func block() { select {} }

func faultyAdmission(_ context.Context, r server.Request) error {
	if r.GetResource().Resource != "configmaps" || r.Object == nil {
		return nil
	}
	data, _ := r.Object["data"].(map[string]any)
	switch {
	case data["panic"] != nil:
		panic("configmap asked for a panic")
	case data["hang"] != nil:
		block()
	}
	return nil
}

func faultyMiddleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Header.Get("X-Fault") {
		case "panic":
			panic("request asked for a panic")
		case "hang":
			block()
		}
		next.ServeHTTP(w, r)
	})
}
