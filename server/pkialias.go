package server

import "github.com/generic-controlplane/gcp/server/pki"

// PKI holds the file paths of the self-managed certificates under <data-dir>/pki.
//
// Deprecated: use pki.PKI; kept for the callers of this package's earlier API.
type PKI = pki.PKI

// EnsurePKI creates the certificates a server run would create;
// benchmarks and tests use it to give other API servers the same identity setup.
//
// Deprecated: use pki.Ensure.
func EnsurePKI(dir string, hosts []string) (PKI, error) { return pki.Ensure(dir, hosts) }

// WriteAdminKubeconfig writes a kubeconfig for the admin client cert of p.
//
// Deprecated: use pki.WriteAdminKubeconfig.
func WriteAdminKubeconfig(file, serverURL string, p PKI) error {
	return pki.WriteAdminKubeconfig(file, serverURL, p)
}
