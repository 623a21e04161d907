package faults

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	certutil "k8s.io/client-go/util/cert"
	"k8s.io/client-go/util/keyutil"
)

// TestSecurityDefaults asserts what minimal-apiserver does with no security
// flags at all.
func TestSecurityDefaults(t *testing.T) {
	bin := minimalBin(t)
	dir := t.TempDir()
	p := startIn(t, dir, bin)

	t.Run("anonymous-denied-everywhere", func(t *testing.T) {
		r := record(t, "security", "anonymous requests on every path", "")
		anon := anonymousClient(t, p)
		paths := []string{"/api", "/api/v1/namespaces", "/apis", "/apis/rbac.authorization.k8s.io/v1/clusterroles", "/version", "/metrics",
			"/debug/pprof/", "/openapi/v2", "/openapi/v3", "/healthz", "/livez", "/readyz", "/.well-known/openid-configuration", "/openid/v1/jwks", "/"}
		var not401 []string
		for _, path := range paths {
			code, _ := do(t, anon, http.MethodGet, p.URL()+path, "", nil)
			if code != http.StatusUnauthorized {
				not401 = append(not401, fmt.Sprintf("%s: %d", path, code))
			}
		}
		r.Numbers["paths"] = float64(len(paths))
		r.Did = fmt.Sprintf("401 on all %d paths (%s)", len(paths), strings.Join(paths, " "))
		if len(not401) > 0 {
			r.Did = "not 401: " + strings.Join(not401, ", ")
		}
		assert.Empty(t, not401, "anonymous requests that were not refused with 401")
	})

	t.Run("client-certificate-from-another-CA", func(t *testing.T) {
		r := record(t, "security", "client certificate of system:masters signed by another CA", "")
		caCert, caKey := newCA(t, "impostor-ca")
		cert := clientCert(t, caCert, caKey, pkix.Name{CommonName: "admin", Organization: []string{"system:masters"}})
		code, body := do(t, anonymousClient(t, p, cert), http.MethodGet, p.URL()+"/api/v1/namespaces", "", nil)
		r.Did = fmt.Sprintf("HTTP %d: %s", code, messageOf(body))
		assert.Equal(t, http.StatusUnauthorized, code)
	})

	t.Run("new-user-forbidden-until-granted", func(t *testing.T) {
		r := record(t, "security", "a new user (certificate of the server's CA) before and after an RBAC grant", "")
		caCert, caKey := loadCA(t, filepath.Join(dir, "pki"))
		alice := anonymousClient(t, p, clientCert(t, caCert, caKey, pkix.Name{CommonName: "alice"}))
		url := p.URL() + "/api/v1/namespaces/default/configmaps"
		code, body := do(t, alice, http.MethodGet, url, "", nil)
		r.Did = fmt.Sprintf("before: HTTP %d: %s", code, messageOf(body))
		require.Equal(t, http.StatusForbidden, code, body)
		cs := client(t, p)
		_, err := cs.RbacV1().Roles("default").Create(t.Context(), &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "cm-reader"},
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "list"}}}}, metav1.CreateOptions{})
		require.NoError(t, err)
		_, err = cs.RbacV1().RoleBindings("default").Create(t.Context(), &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "alice-reads"},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "cm-reader"},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "alice"}}}, metav1.CreateOptions{})
		require.NoError(t, err)
		start := time.Now()
		err = wait.PollUntilContextTimeout(t.Context(), 50*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
			code, body = do(t, alice, http.MethodGet, url, "", nil)
			return code == http.StatusOK, nil
		})
		require.NoError(t, err, "alice after the grant: HTTP %d: %s", code, body)
		code, body = do(t, alice, http.MethodGet, p.URL()+"/api/v1/namespaces/default/secrets", "", nil)
		assert.Equal(t, http.StatusForbidden, code, "secrets stay forbidden: %s", body)
		r.Numbers["granted after s"] = seconds(time.Since(start))
		r.Did += fmt.Sprintf("; after a Role and RoleBinding: configmaps 200 within %.2f s, secrets still %d", seconds(time.Since(start)), code)
	})

	t.Run("loopback-only", func(t *testing.T) {
		r := record(t, "security", "listens on loopback only unless told otherwise", "")
		u, err := url.Parse(p.URL())
		require.NoError(t, err)
		assert.Equal(t, "127.0.0.1", u.Hostname())
		ip := nonLoopbackIP(t)
		if ip == nil {
			t.Skip("this machine has no non-loopback IPv4 address to try")
		}
		conn, err := net.DialTimeout("tcp", net.JoinHostPort(ip.String(), u.Port()), 2*time.Second)
		if err == nil {
			conn.Close()
		}
		r.Did = fmt.Sprintf("bound to %s; a connection to %s:%s: %v", u.Host, ip, u.Port(), err)
		assert.Error(t, err, "the server's port answers on %s", ip)
	})
}

func nonLoopbackIP(t *testing.T) net.IP {
	addrs, err := net.InterfaceAddrs()
	require.NoError(t, err)
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			return n.IP
		}
	}
	return nil
}

func newCA(t *testing.T, cn string) (*x509.Certificate, crypto.Signer) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	require.NoError(t, err)
	c, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return c, k
}

func loadCA(t *testing.T, pkiDir string) (*x509.Certificate, crypto.Signer) {
	certs, err := certutil.CertsFromFile(filepath.Join(pkiDir, "ca.crt"))
	require.NoError(t, err)
	k, err := keyutil.PrivateKeyFromFile(filepath.Join(pkiDir, "ca.key"))
	require.NoError(t, err)
	return certs[0], k.(crypto.Signer)
}

func clientCert(t *testing.T, ca *x509.Certificate, caKey crypto.Signer, subject pkix.Name) tls.Certificate {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: subject, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
	require.NoError(t, err)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k}
}

// TestFileModes starts a server on a data dir it creates and checks that
// nothing it writes there (certificates, keys, kubeconfig, storage files and
// logs) can be read by other users.
func TestFileModes(t *testing.T) {
	bin := minimalBin(t)
	for _, storage := range durableStorages() {
		t.Run(storage, func(t *testing.T) {
			r := record(t, "security", "modes of everything the server writes in a new data dir", storage)
			dir := filepath.Join(t.TempDir(), "data")
			startIn(t, dir, bin, "--storage="+storage)
			var bad []string
			files, dirs := 0, 0
			require.NoError(t, filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				fi, err := d.Info()
				if err != nil {
					return err
				}
				if d.IsDir() {
					dirs++
				} else {
					files++
				}
				if fi.Mode().Perm()&0o077 != 0 {
					rel, _ := filepath.Rel(dir, path)
					bad = append(bad, fmt.Sprintf("%s %v", rel, fi.Mode().Perm()))
				}
				return nil
			}))
			r.Numbers["files"], r.Numbers["dirs"] = float64(files), float64(dirs)
			r.Did = fmt.Sprintf("all %d files 0600 or stricter and all %d directories 0700 (keys, certificates, admin.kubeconfig, storage)", files, dirs)
			if len(bad) > 0 {
				r.Did = "readable by others: " + strings.Join(bad, ", ")
			}
			assert.Empty(t, bad, "files and directories with group or other permissions")
		})
	}
}
