package server

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

func TestEnsurePKI(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	p, err := ensurePKI(dir, []string{"127.0.0.1", "localhost"})
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
	_, err = ensurePKI(dir, []string{"127.0.0.1"})
	require.NoError(t, err)
	after, err := os.ReadFile(p.AdminCert)
	require.NoError(t, err)
	assert.Empty(t, cmp.Diff(string(before), string(after)), "a second ensurePKI must reuse the admin cert (restart)")

	kc := filepath.Join(t.TempDir(), "kc")
	require.NoError(t, writeAdminKubeconfig(kc, "https://127.0.0.1:1234", p))
	b, err := os.ReadFile(kc)
	require.NoError(t, err)
	assert.Contains(t, string(b), "server: https://127.0.0.1:1234")
	assert.Contains(t, string(b), "client-certificate-data")
}
