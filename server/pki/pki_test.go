package pki

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func readCert(t *testing.T, f string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(f)
	require.NoError(t, err)
	blk, _ := pem.Decode(b)
	require.NotNil(t, blk, "%s holds no PEM block", f)
	c, err := x509.ParseCertificate(blk.Bytes)
	require.NoError(t, err)
	return c
}

func TestEnsure(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	p, err := Ensure(dir, []string{"127.0.0.1", "localhost"})
	require.NoError(t, err)
	ca := readCert(t, p.CACert)
	pool := x509.NewCertPool()
	pool.AddCert(ca)

	serving := readCert(t, p.ServingCert)
	_, err = serving.Verify(x509.VerifyOptions{Roots: pool, DNSName: "127.0.0.1"})
	assert.NoError(t, err, "serving cert for 127.0.0.1")
	_, err = serving.Verify(x509.VerifyOptions{Roots: pool, DNSName: "example.com"})
	assert.Error(t, err, "serving cert must not verify for example.com")

	admin := readCert(t, p.AdminCert)
	assert.Empty(t, cmp.Diff([]string{"admin", "system:masters"}, append([]string{admin.Subject.CommonName}, admin.Subject.Organization...)), "admin subject (CN, O...)")
	_, err = admin.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	assert.NoError(t, err, "admin cert is a client cert of the CA")

	before, err := os.ReadFile(p.AdminCert)
	require.NoError(t, err)
	_, err = Ensure(dir, []string{"127.0.0.1"})
	require.NoError(t, err)
	after, err := os.ReadFile(p.AdminCert)
	require.NoError(t, err)
	assert.Empty(t, cmp.Diff(string(before), string(after)), "a second ensurePKI must reuse the admin cert (restart)")

	kc := filepath.Join(t.TempDir(), "kc")
	require.NoError(t, WriteAdminKubeconfig(kc, "https://127.0.0.1:1234", p))
	b, err := os.ReadFile(kc)
	require.NoError(t, err)
	assert.Contains(t, string(b), "server: https://127.0.0.1:1234")
	assert.Contains(t, string(b), "client-certificate-data")
}

// pkiFiles are the files ensurePKI writes, each with the CA it depends on
// ("" for the CAs and the service-account key).
func pkiFiles(p PKI) []string {
	return []string{p.CACert, p.CAKey, p.ServingCert, p.ServingKey, p.AdminCert, p.AdminKey,
		p.ServiceAccountKey, p.FrontProxyCA, p.FrontProxyKey, p.ProxyClientCert, p.ProxyClient}
}

// requireConsistentPKI checks what the server and its admin rely on: every
// leaf verifies against its CA for its use, every key matches its cert,
// the service-account key parses, files are 0600 and the directory 0700.
func requireConsistentPKI(t *testing.T, p PKI) {
	t.Helper()
	for _, pair := range [][2]string{{p.CACert, p.CAKey}, {p.ServingCert, p.ServingKey}, {p.AdminCert, p.AdminKey}, {p.FrontProxyCA, p.FrontProxyKey}, {p.ProxyClientCert, p.ProxyClient}} {
		_, _, err := loadPair(pair[0], pair[1])
		require.NoError(t, err, "key and cert belong together")
	}
	_, err := loadKey(p.ServiceAccountKey)
	require.NoError(t, err)
	pool := func(f string) *x509.CertPool {
		pool := x509.NewCertPool()
		pool.AddCert(readCert(t, f))
		return pool
	}
	_, err = readCert(t, p.ServingCert).Verify(x509.VerifyOptions{Roots: pool(p.CACert), DNSName: "127.0.0.1"})
	require.NoError(t, err, "serving cert against ca.crt for 127.0.0.1")
	_, err = readCert(t, p.AdminCert).Verify(x509.VerifyOptions{Roots: pool(p.CACert), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	require.NoError(t, err, "admin cert against ca.crt")
	_, err = readCert(t, p.ProxyClientCert).Verify(x509.VerifyOptions{Roots: pool(p.FrontProxyCA), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	require.NoError(t, err, "front-proxy client cert against front-proxy-ca.crt")

	st, err := os.Stat(p.Dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), st.Mode().Perm(), "mode of %s", p.Dir)
	entries, err := os.ReadDir(p.Dir)
	require.NoError(t, err)
	assert.Len(t, entries, len(pkiFiles(p)), "no temporary files left in %s", p.Dir)
	for _, f := range pkiFiles(p) {
		st, err := os.Stat(f)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), st.Mode().Perm(), "mode of %s", f)
	}
}

// TestEnsureRepairs damages each file in turn, as a kill -9 in the middle
// of a write or between two writes could have, and checks that the next
// ensurePKI leaves a consistent set, keeping the CAs when only a leaf was
// damaged.
func TestEnsureRepairs(t *testing.T) {
	hosts := []string{"127.0.0.1", "localhost"}
	damages := map[string]func(f string) error{
		"deleted":   os.Remove,
		"truncated": func(f string) error { b, _ := os.ReadFile(f); return os.WriteFile(f, b[:len(b)/2], 0o600) },
		"corrupt": func(f string) error {
			b, _ := os.ReadFile(f)
			copy(b[len(b)/2:], "garbage!")
			return os.WriteFile(f, b, 0o600)
		},
		"empty": func(f string) error { return os.WriteFile(f, nil, 0o600) },
	}
	for _, damage := range []string{"deleted", "truncated", "corrupt", "empty"} {
		for i := range pkiFiles(Paths("")) {
			dir := filepath.Join(t.TempDir(), "pki")
			p, err := Ensure(dir, hosts)
			require.NoError(t, err)
			file := pkiFiles(p)[i]
			t.Run(damage+"/"+filepath.Base(file), func(t *testing.T) {
				before := map[string][]byte{}
				for _, f := range pkiFiles(p) {
					before[f], err = os.ReadFile(f)
					require.NoError(t, err)
				}
				require.NoError(t, damages[damage](file))
				_, err := Ensure(dir, hosts)
				require.NoError(t, err)
				requireConsistentPKI(t, p)
				caFiles := map[string]bool{p.CACert: true, p.CAKey: true, p.FrontProxyCA: true, p.FrontProxyKey: true}
				if !caFiles[file] {
					for ca := range caFiles {
						after, err := os.ReadFile(ca)
						require.NoError(t, err)
						assert.Equal(t, string(before[ca]), string(after), "%s must be kept when only %s was damaged", ca, filepath.Base(file))
					}
				}
			})
		}
	}
}

// TestEnsureReissuesLeavesOfAReplacedCA is the crash between a CA's two
// files before writes were atomic: the CA was made anew, the leaves it did
// not sign must be issued again.
func TestEnsureReissuesLeavesOfAReplacedCA(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	p, err := Ensure(dir, []string{"127.0.0.1"})
	require.NoError(t, err)
	other, err := Ensure(filepath.Join(t.TempDir(), "pki"), []string{"127.0.0.1"})
	require.NoError(t, err)
	for _, f := range [][2]string{{other.CACert, p.CACert}, {other.CAKey, p.CAKey}} {
		b, err := os.ReadFile(f[0])
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(f[1], b, 0o600))
	}
	_, err = Ensure(dir, []string{"127.0.0.1"})
	require.NoError(t, err)
	requireConsistentPKI(t, p)
}

func TestWriteAdminKubeconfigIsPrivate(t *testing.T) {
	p, err := Ensure(filepath.Join(t.TempDir(), "pki"), []string{"127.0.0.1"})
	require.NoError(t, err)
	dir := t.TempDir()
	kc := filepath.Join(dir, "admin.kubeconfig")
	for range 2 { // create, then replace
		require.NoError(t, WriteAdminKubeconfig(kc, "https://127.0.0.1:1234", p))
	}
	st, err := os.Stat(kc)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary files left")
}
