// Example (b): a CRD-only API server. It is built on server/crdonly, which
// links no package of k8s.io/kubernetes: CRDs need none of the built-in APIs.
package main

import (
	"os"

	"github.com/spf13/cobra"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/component-base/cli"

	"github.com/generic-controlplane/gcp/server/crdonly"
)

func main() {
	o := crdonly.NewOptions()
	o.Name = "example-crdonly"
	cmd := &cobra.Command{
		Use:          o.Name,
		Short:        "An API server that serves CustomResourceDefinitions and their custom resources only",
		SilenceUsage: true,
		Args:         cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return crdonly.Run(genericapiserver.SetupSignalContext(), *o)
		},
	}
	o.AddFlags(cmd.Flags())
	os.Exit(cli.Run(cmd))
}
