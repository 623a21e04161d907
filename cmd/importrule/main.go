// Command importrule is a go vet tool that runs the importrule analyzer:
//
//	go build -o _output/bin/importrule ./cmd/importrule
//	go vet -vettool=$(pwd)/_output/bin/importrule -importrule.rules=analysis/rules/gcp-imports.yaml ./...
//
// It speaks the go vet tool protocol (unitchecker), so it cannot be run on
// packages directly; use go vet.
package main

import (
	"golang.org/x/tools/go/analysis/unitchecker"

	"github.com/generic-controlplane/gcp/analysis/importrule"
)

func main() { unitchecker.Main(importrule.Analyzer) }
