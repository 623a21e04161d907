// minimal-apiserver serves a chosen subset of the Kubernetes generic control
// plane APIs (--apis) with TLS, client-cert auth and RBAC, on an in-process
// etcd (default) or kine, and writes an admin kubeconfig.
package main

import (
	"github.com/generic-controlplane/gcp/cmd/minimal-apiserver/app"
	"github.com/generic-controlplane/gcp/server"
)

func main() { app.Main(server.Options{Name: "minimal-apiserver"}) }
