package server

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
)

func readCert(t *testing.T, f string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestEnsurePKI(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	p, err := ensurePKI(dir, []string{"127.0.0.1", "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	ca := readCert(t, p.CACert)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	serving := readCert(t, p.ServingCert)
	if _, err := serving.Verify(x509.VerifyOptions{Roots: pool, DNSName: "127.0.0.1"}); err != nil {
		t.Errorf("serving cert does not verify for 127.0.0.1: %v", err)
	}
	if _, err := serving.Verify(x509.VerifyOptions{Roots: pool, DNSName: "example.com"}); err == nil {
		t.Errorf("serving cert verifies for example.com")
	}
	admin := readCert(t, p.AdminCert)
	if admin.Subject.CommonName != "admin" || len(admin.Subject.Organization) != 1 || admin.Subject.Organization[0] != "system:masters" {
		t.Errorf("admin subject %v, want CN=admin O=system:masters", admin.Subject)
	}
	if _, err := admin.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("admin cert is not a client cert of the CA: %v", err)
	}
	before, _ := os.ReadFile(p.AdminCert)
	if _, err := ensurePKI(dir, []string{"127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(p.AdminCert)
	if !bytes.Equal(before, after) {
		t.Errorf("second ensurePKI replaced the admin cert; want reuse on restart")
	}
	kc := filepath.Join(t.TempDir(), "kc")
	if err := writeAdminKubeconfig(kc, "https://127.0.0.1:1234", p); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(kc)
	if !bytes.Contains(b, []byte("server: https://127.0.0.1:1234")) || !bytes.Contains(b, []byte("client-certificate-data")) {
		t.Errorf("kubeconfig:\n%s", b)
	}
}
