// Package app is the command line of minimal-apiserver and the example
// servers: it binds flags to server.Options (every upstream generic control
// plane flag included), runs the server until SIGTERM/SIGINT and reports
// errors in terms of flags. Flags are this package's concern only; the server
// package's Go API names Options fields.
package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/generic-controlplane/gcp/server"
	"github.com/spf13/pflag"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	genericapiserver "k8s.io/apiserver/pkg/server"
	cliflag "k8s.io/component-base/cli/flag"
)

// Main parses os.Args[1:] into o, runs the server until SIGTERM/SIGINT and
// exits. Errors are printed to stderr with exit code 1 (2 for flag errors).
func Main(o server.Options) {
	ctx := genericapiserver.SetupSignalContext()
	err := Run(ctx, o, os.Args[1:])
	switch {
	case err == nil, errors.Is(err, pflag.ErrHelp):
		os.Exit(0)
	case errors.As(err, new(flagError)):
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		os.Exit(2)
	default:
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		os.Exit(1)
	}
}

// Run parses args into o (fields o sets are the flags' defaults) and runs
// the server until ctx is done. Errors about an Options field name its flag.
func Run(ctx context.Context, o server.Options, args []string) error {
	name := o.Name
	if name == "" {
		name = filepath.Base(os.Args[0])
	}
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	AddFlags(fs, &o)
	if err := fs.Parse(args); err != nil {
		return flagError{err}
	}
	if fs.NArg() > 0 {
		return flagError{fmt.Errorf("unexpected arguments %q", fs.Args())}
	}
	return withFlagNames(server.Run(ctx, o))
}

// AddFlags binds the flags of o's fields and of the upstream generic control
// plane options (o.ControlPlane, created if nil) to fs.
func AddFlags(fs *pflag.FlagSet, o *server.Options) {
	if o.ControlPlane == nil {
		o.ControlPlane = server.NewControlPlaneOptions()
	}
	defaultAPIs := server.DefaultAPIs
	if o.APIs != nil {
		defaultAPIs = o.APIs
	}
	fs.StringSliceVar(&o.APIs, "apis", defaultAPIs, "Comma-separated built-in APIs to serve. Valid: "+strings.Join(server.ValidAPIsWith(o.MoreAPIs), ",")+". 'apiservices' is always on.")
	fs.StringVar(&o.DataDir, "data-dir", o.DataDir, "Directory for storage data, certificates and the admin kubeconfig (default "+server.DefaultDataDir+").")
	fs.StringVar(&o.KubeconfigOut, "kubeconfig-out", o.KubeconfigOut, "Where to write the admin kubeconfig (default <data-dir>/admin.kubeconfig).")
	fs.StringVar(&o.Storage.Backend, "storage", o.Storage.Backend, "In-process storage when --etcd-servers is not set: "+server.StorageEtcd+" (embedded, default), "+server.StorageKine+", "+server.StorageSQLite+" (native, <data-dir>/native.db) or "+server.StorageMemory+" (native, nothing survives a restart). The native backend needs a build on the patch series.")
	fs.StringVar(&o.Storage.KineDSN, "kine-dsn", o.Storage.KineDSN, "kine datastore: SQLite file path or postgres:// DSN (default <data-dir>/kine.db).")
	fs.IntVar(&o.APIServerCount, "apiserver-count", o.APIServerCount, "How many API servers share the storage (default 1). Above 1, a new CRD is reported Established 5 s after it is served, so that every server serves it.")
	fs.Int64Var(&o.MinFreeDiskBytes, "min-free-disk-bytes", o.MinFreeDiskBytes, "Free space to keep on the disk of the storage (default 64 MiB). With less the server does not start, and while running it rejects writes with 507 until space returns; reads go on. Negative turns it off.")
	fs.StringToStringVar(&o.ServiceEndpoints, "service-endpoint", o.ServiceEndpoints, "namespace/name=host:port: where service references of APIServices and webhooks point (repeatable).")
	var upstream cliflag.NamedFlagSets
	o.ControlPlane.AddFlags(&upstream)
	for _, f := range upstream.FlagSets {
		fs.AddFlagSet(f)
	}
}

// flagNames maps server.FieldError fields to the flags that set them.
var flagNames = map[string]string{
	"Options.APIs":                       "--apis",
	"Options.DataDir":                    "--data-dir",
	"Options.KubeconfigOut":              "--kubeconfig-out",
	"Options.Storage.Backend":            "--storage",
	"Options.Storage.KineDSN":            "--kine-dsn",
	"Options.ServiceEndpoints":           "--service-endpoint",
	"Options.APIServerCount":             "--apiserver-count",
	"Options.MinFreeDiskBytes":           "--min-free-disk-bytes",
	"Options.ControlPlane.SecureServing": "--bind-address/--secure-port",
}

// withFlagNames rewrites the messages of the server.FieldErrors in err to name
// flags instead of Options fields.
func withFlagNames(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	for _, fe := range fieldErrors(err) {
		if flag, ok := flagNames[fe.Field]; ok {
			msg = strings.ReplaceAll(msg, fe.Error(), fe.Describe(flag))
		}
	}
	if msg == err.Error() {
		return err
	}
	return errors.New(msg)
}

// fieldErrors finds the server.FieldErrors in err, also inside aggregates and
// joined errors.
func fieldErrors(err error) []*server.FieldError {
	var inner []error
	switch e := err.(type) {
	case utilerrors.Aggregate:
		inner = e.Errors()
	case interface{ Unwrap() []error }:
		inner = e.Unwrap()
	default:
		var fe *server.FieldError
		if errors.As(err, &fe) {
			return []*server.FieldError{fe}
		}
		return nil
	}
	var found []*server.FieldError
	for _, e := range inner {
		found = append(found, fieldErrors(e)...)
	}
	return found
}

// flagError marks command-line errors (exit code 2).
type flagError struct{ error }

func (f flagError) Unwrap() error { return f.error }
