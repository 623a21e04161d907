package server

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/kubernetes/pkg/controlplane/apiserver/options"
)

func TestCompleteFillsDefaultsOnce(t *testing.T) {
	dir := t.TempDir()
	o := Options{DataDir: dir, Storage: StorageOptions{Backend: StorageKine}}
	require.NoError(t, o.Complete())
	want := Options{
		Name:             DefaultName,
		APIs:             DefaultAPIs,
		DataDir:          dir,
		KubeconfigOut:    filepath.Join(dir, "admin.kubeconfig"),
		Storage:          StorageOptions{Backend: StorageKine, KineDSN: filepath.Join(dir, "kine.db")},
		APIServerCount:   1,
		MinFreeDiskBytes: DefaultMinFreeDiskBytes,
	}
	ignoreUpstream := cmpopts.IgnoreFields(Options{}, "ControlPlane")
	assert.Empty(t, cmp.Diff(want, o, ignoreUpstream))
	require.NotNil(t, o.ControlPlane)

	upstream := o.ControlPlane
	o.APIs[0] = "changed" // the defaults are a copy, not DefaultAPIs itself
	assert.Equal(t, "namespaces", DefaultAPIs[0])
	require.NoError(t, o.Complete())
	assert.Same(t, upstream, o.ControlPlane, "a second Complete must keep the completed options")
}

func TestValidateNamesFields(t *testing.T) {
	o := Options{
		DataDir:          t.TempDir(),
		APIs:             []string{"configmaps", "pods"},
		Storage:          StorageOptions{Backend: "x"},
		ServiceEndpoints: map[string]string{"nameonly": "host:1"},
		Admission:        []AdmissionPlugin{{Name: "NoFunc"}},
		APIServerCount:   -1,
	}
	require.NoError(t, o.Complete())
	var got []string
	for _, err := range o.Validate() {
		var fe *FieldError
		require.True(t, errors.As(err, &fe), "%v is not a *FieldError", err)
		got = append(got, fe.Error())
	}
	want := []string{
		"unknown Options.APIs entry pods; valid entries are: admissionregistration,apiservices,authentication,authorization,certificates,configmaps,crds,events,flowcontrol,leases,namespaces,rbac,resourcequotas,secrets,serviceaccounts,storagemigration",
		"Options.ServiceEndpoints nameonly=host:1: want namespace/name=host:port",
		`unknown Options.Storage.Backend "x"; valid: etcd, kine, sqlite, memory`,
		"Options.APIServerCount -1: want a positive number of API servers",
		"Options.Admission[0]: an admission plugin needs a Name and an Admit func",
	}
	assert.Empty(t, cmp.Diff(want, got))
}

// TestConfigRejectsBeforeStarting checks that Config reports field errors
// before it binds a port or starts storage.
func TestConfigRejectsBeforeStarting(t *testing.T) {
	dir := t.TempDir()
	o := Options{DataDir: dir, Storage: StorageOptions{Backend: "x"}}
	_, err := o.Config(context.Background())
	require.Error(t, err)
	assert.Equal(t, `unknown Options.Storage.Backend "x"; valid: etcd, kine, sqlite, memory`, err.Error())
	assert.NoDirExists(t, filepath.Join(dir, "pki"))
	assert.NoDirExists(t, filepath.Join(dir, "etcd"))
}

// TestNativeStorageNeedsTheSeries checks that a build on the pinned release
// refuses the native backend by saying what it needs, and that a build on
// the series accepts it.
func TestNativeStorageNeedsTheSeries(t *testing.T) {
	for _, backend := range []string{StorageSQLite, StorageMemory} {
		o := Options{DataDir: t.TempDir(), Storage: StorageOptions{Backend: backend}}
		require.NoError(t, o.Complete())
		errs := o.Validate()
		if storageSeams {
			assert.Empty(t, errs)
			continue
		}
		require.Len(t, errs, 1)
		assert.Equal(t, `Options.Storage.Backend "`+backend+`" needs the storage backend registry of the patch series (patch 0024); build against the series tree with -tags gcp_patched`, errs[0].Error())
	}
}

func TestStorageBackendIgnoredWithExternalEtcd(t *testing.T) {
	s := options.NewOptions()
	s.Etcd.StorageConfig.Transport.ServerList = []string{"http://127.0.0.1:2379"}
	o := Options{DataDir: t.TempDir(), Storage: StorageOptions{Backend: "x"}, ControlPlane: s}
	require.NoError(t, o.Complete())
	assert.Empty(t, o.Validate())
}

func TestFieldErrorDescribe(t *testing.T) {
	err := newFieldError("Options.APIs", nil, "{field} entry %s requires %s; add %s to {field}", "rbac", "namespaces", "namespaces")
	assert.Equal(t, "Options.APIs entry rbac requires namespaces; add namespaces to Options.APIs", err.Error())
	assert.Equal(t, "--apis entry rbac requires namespaces; add namespaces to --apis", err.Describe("--apis"))
}
