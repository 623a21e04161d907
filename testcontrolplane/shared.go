package testcontrolplane

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"

	genericapiserver "k8s.io/apiserver/pkg/server"
)

// shared is what every in-process instance of a test binary uses, set up
// by the first one: an embedded etcd (instances keep apart by key prefix)
// and one serving certificate for 127.0.0.1.
type shared struct {
	etcd     *embed.Etcd
	etcdURL  string
	dir      string
	certPEM  []byte
	keyPEM   []byte
	sequence int
}

var (
	sharedMu  sync.Mutex
	sharedSet *shared
)

// sharedDirPrefix names the directories of the shared etcd in os.TempDir;
// the process ID follows, so that a later run removes the directories of
// processes that are gone (a test binary has no exit hook to do it).
const sharedDirPrefix = "testcontrolplane-etcd-"

// getShared returns the process-wide setup, making it on first use, and a
// number no other instance of this process gets.
func getShared() (*shared, int, error) {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if sharedSet == nil {
		s, err := newShared()
		if err != nil {
			return nil, 0, err
		}
		sharedSet = s
	}
	sharedSet.sequence++
	return sharedSet, sharedSet.sequence, nil
}

// Shutdown stops the etcd that in-process instances share and removes its
// data; call it from TestMain after m.Run, once every instance stopped. A
// later in-process Start sets up a new one. Without it, the data stays in
// os.TempDir until the next test binary that uses this package removes it.
func Shutdown() error {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if sharedSet == nil {
		return nil
	}
	s := sharedSet
	sharedSet = nil
	s.etcd.Close()
	return os.RemoveAll(s.dir)
}

func newShared() (*shared, error) {
	removeStaleDirs()
	certPEM, keyPEM, err := selfSignedCert()
	if err != nil {
		return nil, fmt.Errorf("making the serving certificate: %w", err)
	}
	dir, err := os.MkdirTemp("", sharedDirPrefix+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return nil, err
	}
	// Two free ports are chosen before etcd binds them; another process may
	// take one in between, so try again with new ones.
	var lastErr error
	for range 3 {
		e, clientURL, err := startEtcd(filepath.Join(dir, "etcd"))
		if err == nil {
			return &shared{etcd: e, etcdURL: clientURL, dir: dir, certPEM: certPEM, keyPEM: keyPEM}, nil
		}
		lastErr = err
		if rmErr := os.RemoveAll(filepath.Join(dir, "etcd")); rmErr != nil {
			return nil, rmErr
		}
	}
	os.RemoveAll(dir)
	return nil, fmt.Errorf("starting the embedded etcd: %w", lastErr)
}

func startEtcd(dir string) (*embed.Etcd, string, error) {
	ports, err := freePorts(2)
	if err != nil {
		return nil, "", err
	}
	clientURL := url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))}
	peerURL := url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1]))}

	cfg := embed.NewConfig()
	cfg.Name = "testcontrolplane"
	cfg.Dir = dir
	// Test data need not survive a power cut; fsync is most of etcd's write
	// latency.
	cfg.UnsafeNoFsync = true
	cfg.ListenClientUrls = []url.URL{clientURL}
	cfg.AdvertiseClientUrls = []url.URL{clientURL}
	cfg.ListenPeerUrls = []url.URL{peerURL}
	cfg.AdvertisePeerUrls = []url.URL{peerURL}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	// One member, on loopback: it waits an election timeout before it
	// leads (1 s at etcd's defaults), which is most of the first start.
	cfg.TickMs = 10
	cfg.ElectionMs = 100
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	// Tests delete what they create; a small backend keeps the data dir
	// small too.
	cfg.QuotaBackendBytes = 2 << 30

	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, "", err
	}
	select {
	case <-e.Server.ReadyNotify():
		return e, clientURL.String(), nil
	case err := <-e.Err():
		e.Close()
		return nil, "", err
	case <-time.After(30 * time.Second):
		e.Close()
		return nil, "", errors.New("etcd was not ready within 30s")
	}
}

// removeStaleDirs removes the shared etcd directories of test processes
// that no longer run.
func removeStaleDirs() {
	matches, _ := filepath.Glob(filepath.Join(os.TempDir(), sharedDirPrefix+"*"))
	for _, m := range matches {
		rest := strings.TrimPrefix(filepath.Base(m), sharedDirPrefix)
		pid, err := strconv.Atoi(strings.SplitN(rest, "-", 2)[0])
		if err != nil || pid == os.Getpid() || processRuns(pid) {
			continue
		}
		os.RemoveAll(m)
	}
}

func processRuns(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

func freePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// selfSignedCert makes the certificate every in-process instance serves:
// ECDSA, because an RSA key costs tens of milliseconds, and valid for
// 127.0.0.1, localhost and the name the generic API server's loopback
// client asks for.
func selfSignedCert() (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "testcontrolplane"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour * 365),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost", genericapiserver.LoopbackClientServerNameOverride},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), nil
}
