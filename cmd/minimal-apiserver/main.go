// minimal-apiserver serves a chosen subset of the Kubernetes generic control
// plane APIs (--apis) with TLS, client-cert auth and RBAC, on an in-process
// etcd (default) or kine, and writes an admin kubeconfig. It also offers
// kube-apiserver's own groups (apps, batch, ...; server/kubeapis), served as
// data when --apis names them.
package main

import (
	"github.com/generic-controlplane/gcp/cmd/minimal-apiserver/app"
	"github.com/generic-controlplane/gcp/server"
	"github.com/generic-controlplane/gcp/server/kubeapis"
)

func main() { app.Main(server.Options{Name: "minimal-apiserver", MoreAPIs: kubeapis.All()}) }
