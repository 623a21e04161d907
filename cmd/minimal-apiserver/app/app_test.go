package app

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/generic-controlplane/gcp/server"
	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestErrorsNameFlags runs inputs that fail before the server binds a port or
// starts storage: the command line reports them in terms of its flags.
func TestErrorsNameFlags(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--storage=mysql"}, `unknown --storage "mysql"; valid: etcd, kine, sqlite, memory`},
		{[]string{"--apis=rbac,configmaps"}, "--apis entry rbac requires namespaces (RBAC bootstrapping creates roles in kube-system and kube-public and never finishes without namespaces); add namespaces to --apis"},
		{[]string{"--service-endpoint=x=y"}, "--service-endpoint x=y: want namespace/name=host:port"},
		{[]string{"--apis=pods", "--storage=x"}, `[unknown --apis entry pods; valid entries are: ` + strings.Join(server.ValidAPIs(), ",") + `, unknown --storage "x"; valid: etcd, kine, sqlite, memory]`},
	}
	for _, c := range cases {
		t.Run(c.args[0], func(t *testing.T) {
			args := append([]string{"--data-dir=" + t.TempDir()}, c.args...)
			err := Run(context.Background(), server.Options{Name: "test"}, args)
			require.Error(t, err)
			assert.Empty(t, cmp.Diff(c.want, err.Error()))
		})
	}
}

func TestFlagErrors(t *testing.T) {
	err := Run(context.Background(), server.Options{Name: "test"}, []string{"--no-such-flag"})
	assert.True(t, errors.As(err, new(flagError)), "%v is not a flag error", err)
	assert.ErrorContains(t, err, "unknown flag: --no-such-flag")

	err = Run(context.Background(), server.Options{Name: "test"}, []string{"--help"})
	assert.ErrorIs(t, err, pflag.ErrHelp)
}

// TestOptionsAreFlagDefaults checks that fields set in code are the defaults
// of their flags and that flags override them.
func TestOptionsAreFlagDefaults(t *testing.T) {
	o := server.Options{APIs: server.CRDOnly, Storage: server.StorageOptions{Backend: server.StorageKine}}
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	AddFlags(fs, &o)
	require.NoError(t, fs.Parse([]string{"--data-dir=/d", "--secure-port=0", "--min-free-disk-bytes=1000"}))
	assert.Empty(t, cmp.Diff([]string{"crds"}, o.APIs))
	assert.Equal(t, server.StorageKine, o.Storage.Backend)
	assert.Equal(t, "/d", o.DataDir)
	assert.Equal(t, 0, o.ControlPlane.SecureServing.BindPort)
	assert.Equal(t, int64(1000), o.MinFreeDiskBytes)
}

// TestMinFreeDiskBytes: a data dir with less free space than
// --min-free-disk-bytes keeps the server from starting, and the error names
// the flag.
func TestMinFreeDiskBytes(t *testing.T) {
	dir := t.TempDir()
	err := Run(context.Background(), server.Options{Name: "test"}, []string{"--data-dir=" + dir, "--min-free-disk-bytes=4611686018427387904"})
	require.Error(t, err)
	assert.Regexp(t, `^data dir `+regexp.QuoteMeta(dir)+` has \d+ MiB free, below the 4398046511104 MiB the server keeps free \(--min-free-disk-bytes\); free disk space, or lower --min-free-disk-bytes \(a negative value turns the check off\)$`, err.Error())
}
