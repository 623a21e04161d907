//go:build gcp_patched

// Command sample-native is k/k's generic control plane sample
// (k8s.io/kubernetes/pkg/controlplane/apiserver/samples/generic) keeping its
// objects in this project's native storage backend (storage/sqlite) instead
// of etcd. It is what an embedder writes with the storage backend registry of
// the patch series (patch 0024): register a backend, then select it with
// --storage-backend. It builds only against the series tree (-tags
// gcp_patched and a modfile from cmd/treemod).
//
//	sample-native --storage-backend=native --native-storage=/var/lib/cp/native.db ...
package main

import (
	"context"
	"os"

	"github.com/spf13/cobra"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	"k8s.io/apiserver/pkg/storage/storagebackend/factory"
	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	// The generic control plane's REST storage providers, which the sample
	// serves by default: from patch 0027 on the sample's server package no
	// longer links them itself (the sample's own main imports this too).
	_ "k8s.io/kubernetes/pkg/controlplane/apiserver"
	"k8s.io/kubernetes/pkg/controlplane/apiserver/samples/generic/server"

	"github.com/generic-controlplane/gcp/storage/sqlite"
)

// storageType is the --storage-backend value that selects the native backend.
const storageType = "native"

func main() {
	command := server.NewCommand()
	var path string
	command.Flags().StringVar(&path, "native-storage", "", "SQLite database of the native storage backend, used with --storage-backend="+storageType+"; empty keeps it in memory (nothing survives a restart).")

	// The database opens once the flags are parsed, and before the sample
	// validates --storage-backend; it closes after the server stops.
	run := command.RunE
	command.RunE = func(cmd *cobra.Command, args []string) error {
		db, err := sqlite.Open(context.Background(), sqlite.Options{Path: path, CompactionInterval: storagebackend.DefaultCompactInterval})
		if err != nil {
			return err
		}
		defer db.Close()
		if err := factory.Register(storageType, sqlite.Backend{DB: db}); err != nil {
			return err
		}
		return run(cmd, args)
	}
	os.Exit(cli.Run(command))
}
