//go:build tools

// Package main pins, for go mod tidy, the modules this project builds on
// before every one of them has a real importer in the tree.
package main

import (
	_ "github.com/google/go-cmp/cmp"
	_ "github.com/stretchr/testify/require"
	_ "go.etcd.io/etcd/server/v3/embed"
	_ "golang.org/x/tools/go/analysis/analysistest"
	_ "golang.org/x/tools/go/packages"
	_ "k8s.io/client-go/kubernetes"
	_ "k8s.io/kubectl/pkg/cmd"
	_ "k8s.io/kubernetes/pkg/controlplane/apiserver"
)
