// Package pki creates and reuses the certificates of a server that keeps
// everything in its data directory: a CA, the serving certificate, an admin
// client certificate in system:masters, a front-proxy CA and client
// certificate and a service account key. It links nothing of Kubernetes but
// client-go, so any server of this repository can use it.
package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/client-go/util/keyutil"
)

// PKI holds the file paths of the self-managed certificates under <data-dir>/pki.
type PKI struct {
	Dir                          string
	CACert, CAKey                string
	ServingCert, ServingKey      string
	AdminCert, AdminKey          string
	ServiceAccountKey            string // private key; also used as public key file
	FrontProxyCA, FrontProxyKey  string // request-header CA for the aggregator
	ProxyClientCert, ProxyClient string // aggregator -> aggregated API server client cert
}

// Paths are the files of the PKI in dir.
func Paths(dir string) PKI {
	p := func(n string) string { return filepath.Join(dir, n) }
	return PKI{Dir: dir,
		CACert: p("ca.crt"), CAKey: p("ca.key"),
		ServingCert: p("apiserver.crt"), ServingKey: p("apiserver.key"),
		AdminCert: p("admin.crt"), AdminKey: p("admin.key"),
		ServiceAccountKey: p("sa.key"),
		FrontProxyCA:      p("front-proxy-ca.crt"), FrontProxyKey: p("front-proxy-ca.key"),
		ProxyClientCert: p("front-proxy-client.crt"), ProxyClient: p("front-proxy-client.key"),
	}
}

// Ensure creates (once) a CA, a serving cert for the given hosts, an admin
// client cert in system:masters, a front-proxy CA + client cert and a
// service-account signing key. Existing files are reused so a restart on the
// same data dir keeps the same identity.
//
// A kill -9 at any instant leaves a set the next call completes consistently:
// every file is replaced atomically (writeFileAtomic), a CA whose cert or key
// is missing or unreadable is created anew, and a leaf whose key does not
// match its cert or whose cert does not verify against its current CA (signed
// by a CA replaced since, expired) is issued again.
func Ensure(dir string, hosts []string) (PKI, error) {
	p := Paths(dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return p, err
	}
	// MkdirAll keeps the mode of a directory that exists.
	if err := os.Chmod(dir, 0o700); err != nil {
		return p, err
	}
	type leaf struct {
		cert, key string
		subject   pkix.Name
		hosts     []string
		usage     x509.ExtKeyUsage
	}
	// Two trust roots: the cluster CA signs the serving and admin certs, the
	// front-proxy CA signs the aggregator's client cert (requestheader auth).
	for _, ca := range []struct {
		cert, key, commonName string
		leaves                []leaf
	}{
		{p.CACert, p.CAKey, "minimal-apiserver-ca", []leaf{
			{p.ServingCert, p.ServingKey, pkix.Name{CommonName: "minimal-apiserver"}, hosts, x509.ExtKeyUsageServerAuth},
			{p.AdminCert, p.AdminKey, pkix.Name{CommonName: "admin", Organization: []string{"system:masters"}}, nil, x509.ExtKeyUsageClientAuth},
		}},
		{p.FrontProxyCA, p.FrontProxyKey, "minimal-apiserver-front-proxy-ca", []leaf{
			{p.ProxyClientCert, p.ProxyClient, pkix.Name{CommonName: "front-proxy-client"}, nil, x509.ExtKeyUsageClientAuth},
		}},
	} {
		caCert, caKey, err := loadOrCreateCA(ca.cert, ca.key, ca.commonName)
		if err != nil {
			return p, err
		}
		for _, l := range ca.leaves {
			if err := ensureSigned(l.cert, l.key, caCert, caKey, l.subject, l.hosts, l.usage); err != nil {
				return p, err
			}
		}
	}
	if _, err := loadKey(p.ServiceAccountKey); err != nil {
		// Missing or unreadable: tokens signed with a lost key cannot be
		// verified anyway.
		k, err := newKey()
		if err != nil {
			return p, err
		}
		if err := writeKey(p.ServiceAccountKey, k); err != nil {
			return p, err
		}
	}
	return p, nil
}

func newKey() (*ecdsa.PrivateKey, error) { return ecdsa.GenerateKey(elliptic.P256(), rand.Reader) }

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	return n
}

func loadOrCreateCA(certFile, keyFile, cn string) (*x509.Certificate, crypto.Signer, error) {
	if c, k, err := loadPair(certFile, keyFile); err == nil {
		return c, k, nil
	}
	k, err := newKey()
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: serial(), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(10, 0, 0),
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		return nil, nil, err
	}
	if err := writePair(certFile, keyFile, der, k); err != nil {
		return nil, nil, err
	}
	c, _ := x509.ParseCertificate(der)
	return c, k, nil
}

// ensureSigned keeps the leaf pair in certFile/keyFile if it is whole and
// verifies against ca for usage, and issues a new one otherwise.
func ensureSigned(certFile, keyFile string, ca *x509.Certificate, caKey crypto.Signer, subject pkix.Name, hosts []string, usage x509.ExtKeyUsage) error {
	if c, _, err := loadPair(certFile, keyFile); err == nil {
		roots := x509.NewCertPool()
		roots.AddCert(ca)
		if _, err := c.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{usage}}); err == nil {
			return nil
		}
	}
	k, err := newKey()
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{SerialNumber: serial(), Subject: subject,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, ExtKeyUsage: []x509.ExtKeyUsage{usage}}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
	if err != nil {
		return err
	}
	return writePair(certFile, keyFile, der, k)
}

// loadPair reads a certificate and its private key and checks that they
// belong together.
func loadPair(certFile, keyFile string) (*x509.Certificate, crypto.Signer, error) {
	cb, err := os.ReadFile(certFile)
	if err != nil {
		return nil, nil, err
	}
	blk, _ := pem.Decode(cb)
	if blk == nil {
		return nil, nil, fmt.Errorf("%s: no PEM data", certFile)
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return nil, nil, err
	}
	s, err := loadKey(keyFile)
	if err != nil {
		return nil, nil, err
	}
	pub, ok := s.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(c.PublicKey) {
		return nil, nil, fmt.Errorf("%s does not hold the key of %s", keyFile, certFile)
	}
	return c, s, nil
}

func loadKey(keyFile string) (crypto.Signer, error) {
	k, err := keyutil.PrivateKeyFromFile(keyFile)
	if err != nil {
		return nil, err
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%s: not a signing key", keyFile)
	}
	return s, nil
}

// writePair writes a key, then its certificate. Whichever of the two a kill
// leaves out of date, loadPair sees a mismatch and the pair is made again.
func writePair(certFile, keyFile string, der []byte, k *ecdsa.PrivateKey) error {
	if err := writeKey(keyFile, k); err != nil {
		return err
	}
	return writeFileAtomic(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
}

func writeKey(file string, k *ecdsa.PrivateKey) error {
	b, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		return err
	}
	return writeFileAtomic(file, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: b}), 0o600)
}

// writeFileAtomic replaces file with data so that a crash at any instant
// leaves either the old or the new content, never a part: it writes a
// temporary file in the same directory, syncs it, renames it over file and
// syncs the directory (so the rename itself is durable).
func writeFileAtomic(file string, data []byte, perm os.FileMode) (err error) {
	dir, base := filepath.Split(file)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = f.Chmod(perm); err != nil {
		return err
	}
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), file); err != nil {
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// WriteAdminKubeconfig writes a kubeconfig for the system:masters admin cert,
// atomically (writeFileAtomic) so pollers never read a partial file and a
// crash never leaves one.
func WriteAdminKubeconfig(file, serverURL string, p PKI) error {
	ca, err := os.ReadFile(p.CACert)
	if err != nil {
		return err
	}
	cert, err := os.ReadFile(p.AdminCert)
	if err != nil {
		return err
	}
	key, err := os.ReadFile(p.AdminKey)
	if err != nil {
		return err
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["minimal"] = &clientcmdapi.Cluster{Server: serverURL, CertificateAuthorityData: ca}
	cfg.AuthInfos["admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: cert, ClientKeyData: key}
	cfg.Contexts["minimal"] = &clientcmdapi.Context{Cluster: "minimal", AuthInfo: "admin"}
	cfg.CurrentContext = "minimal"
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return err
	}
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		return err
	}
	return writeFileAtomic(file, data, 0o600)
}

// TLSWithCA is a client TLS config that trusts the CA certificates in pemBytes.
func TLSWithCA(pemBytes []byte) *tls.Config {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemBytes)
	return &tls.Config{RootCAs: pool}
}
