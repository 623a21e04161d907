package server

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
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

func pkiPaths(dir string) PKI {
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

// EnsurePKI creates the certificates a server run would create (see ensurePKI);
// benchmarks and tests use it to give other API servers the same identity setup.
func EnsurePKI(dir string, hosts []string) (PKI, error) { return ensurePKI(dir, hosts) }

// WriteAdminKubeconfig writes a kubeconfig for the admin client cert of p.
func WriteAdminKubeconfig(file, serverURL string, p PKI) error {
	return writeAdminKubeconfig(file, serverURL, p)
}

// ensurePKI creates (once) a CA, a serving cert for the given hosts, an admin
// client cert in system:masters, a front-proxy CA + client cert and a
// service-account signing key. Existing files are reused so a restart on the
// same data dir keeps the same identity.
func ensurePKI(dir string, hosts []string) (PKI, error) {
	p := pkiPaths(dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
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
	if _, err := os.Stat(p.ServiceAccountKey); errors.Is(err, os.ErrNotExist) {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
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
	if err := writeCert(certFile, der); err != nil {
		return nil, nil, err
	}
	if err := writeKey(keyFile, k); err != nil {
		return nil, nil, err
	}
	c, _ := x509.ParseCertificate(der)
	return c, k, nil
}

func ensureSigned(certFile, keyFile string, ca *x509.Certificate, caKey crypto.Signer, subject pkix.Name, hosts []string, usage x509.ExtKeyUsage) error {
	if _, _, err := loadPair(certFile, keyFile); err == nil {
		return nil
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
	if err := writeCert(certFile, der); err != nil {
		return err
	}
	return writeKey(keyFile, k)
}

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
	k, err := keyutil.PrivateKeyFromFile(keyFile)
	if err != nil {
		return nil, nil, err
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, nil, fmt.Errorf("%s: not a signing key", keyFile)
	}
	return c, s, nil
}

func writeCert(file string, der []byte) error {
	return os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
}

func writeKey(file string, k *ecdsa.PrivateKey) error {
	b, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		return err
	}
	return os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: b}), 0o600)
}

// writeAdminKubeconfig writes a kubeconfig for the system:masters admin cert,
// atomically (temp file + rename) so pollers never read a partial file.
func writeAdminKubeconfig(file, serverURL string, p PKI) error {
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
	tmp := file + ".tmp"
	if err := clientcmd.WriteToFile(*cfg, tmp); err != nil {
		return err
	}
	return os.Rename(tmp, file)
}

func tlsWithCA(pemBytes []byte) *tls.Config {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemBytes)
	return &tls.Config{RootCAs: pool}
}
