// Example (b): a CRD-only API server.
package main

import (
	"github.com/generic-controlplane/gcp/cmd/minimal-apiserver/app"
	"github.com/generic-controlplane/gcp/server"
)

func main() { app.Main(server.Options{Name: "example-crdonly", APIs: server.CRDOnly}) }
