// etcd built from the pinned go.etcd.io/etcd/server/v3 module, for the
// kube-apiserver side of the benchmark (`go install` of etcd's own main fails
// on its replace directives).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
