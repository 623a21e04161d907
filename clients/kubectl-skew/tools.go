//go:build tools

// Package tools pins kubectl's main package so that go mod tidy keeps what
// `go build k8s.io/kubernetes/cmd/kubectl` needs.
package tools

import _ "k8s.io/kubernetes/cmd/kubectl"
