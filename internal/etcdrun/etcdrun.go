// Package etcdrun runs a real single-member etcd in-process on loopback, for
// tools that start API servers against it.
package etcdrun

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.etcd.io/etcd/server/v3/etcdserver/api/v3client"
	"go.etcd.io/etcd/server/v3/storage/wal"
	"go.etcd.io/etcd/server/v3/storage/wal/walpb"
	"go.etcd.io/raft/v3"
	"go.uber.org/zap"
	"k8s.io/klog/v2"

	"github.com/generic-controlplane/gcp/internal/serverproc"
)

// Etcd is a running embedded etcd.
type Etcd struct {
	// Endpoint is the client URL, e.g. http://127.0.0.1:34567.
	Endpoint string
	e        *embed.Etcd
}

// Stop shuts etcd down and waits for it.
func (e *Etcd) Stop() { e.e.Close() }

// NewInProcessClient returns a client that calls the etcd server directly,
// without gRPC or a socket. The caller closes it.
func (e *Etcd) NewInProcessClient() *clientv3.Client { return v3client.New(e.e.Server) }

// DataDir is where Start keeps etcd's data for dir: etcd's own layout
// (member/snap/db, member/wal) is below it.
func DataDir(dir string) string { return filepath.Join(dir, "etcd") }

// Start runs etcd with its data in DataDir(dir) and its log in dir/etcd.log. A
// port taken between choosing and binding it is retried with new ports.
// fsync stays on: a write etcd acknowledged survives kill -9. name is the
// member name; a data dir must be reopened with the name it was created with.
func Start(dir, name string) (*Etcd, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	// etcd's logger would create its file readable by everyone.
	logFile := filepath.Join(dir, "etcd.log")
	f, err := os.OpenFile(logFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	f.Close()
	if err := resetInterruptedBootstrap(filepath.Join(DataDir(dir), "member")); err != nil {
		return nil, err
	}
	var lastErr error
	for range 3 {
		ports, err := serverproc.FreePorts(2)
		if err != nil {
			return nil, err
		}
		cfg := newConfig(name, DataDir(dir), logFile, ports[0], ports[1])
		e, err := embed.StartEtcd(cfg)
		if err != nil {
			lastErr = err
			continue
		}
		select {
		case <-e.Server.ReadyNotify():
			return &Etcd{Endpoint: cfg.AdvertiseClientUrls[0].String(), e: e}, nil
		case err := <-e.Err():
			e.Close()
			return nil, fmt.Errorf("etcd in %s failed: %w", cfg.Dir, err)
		case <-time.After(time.Minute):
			// Closing a member that never got a leader can block for good:
			// the error matters more than a clean stop.
			closed := make(chan struct{})
			go func() { e.Close(); close(closed) }()
			select {
			case <-closed:
			case <-time.After(10 * time.Second):
			}
			return nil, fmt.Errorf("etcd in %s not ready after a minute (log: %s)", cfg.Dir, cfg.LogOutputs[0])
		}
	}
	return nil, fmt.Errorf("starting etcd in %s: %w", dir, lastErr)
}

// Raft timing of the single member. etcd's defaults (100 ms ticks, 1 s
// election timeout) are for members on a network; a lone member has no peer
// to hear from, yet still waits out a randomized election timeout of 10 to
// 20 ticks at every start before it becomes leader and serves: 0.1 to 0.8 s
// measured here. Ten times shorter ticks make that 10 to 100 ms and cost a
// lone member nothing (it sends no heartbeats). A data dir does not record
// them.
const (
	tickMs     = 10
	electionMs = 100
)

// newConfig is the configuration of a single loopback member.
func newConfig(name, dataDir, logFile string, clientPort, peerPort int) *embed.Config {
	cfg := embed.NewConfig()
	cfg.Name = name
	cfg.Dir = dataDir
	cfg.LogLevel = "error"
	cfg.LogOutputs = []string{logFile}
	client := url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(clientPort))}
	peer := url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(peerPort))}
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{client}, []url.URL{client}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{peer}, []url.URL{peer}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.TickMs, cfg.ElectionMs = tickMs, electionMs
	return cfg
}

// resetInterruptedBootstrap removes memberDir if the first start of its
// member was killed after etcd created the WAL and before it saved the first
// raft entries to it: the configuration changes that make the member a
// voter. etcd restarts such a member with no voters, so it never elects a
// leader and never gets ready. Nothing is lost: every write etcd
// acknowledges is a raft entry in the WAL or in a snapshot, and there are
// none. Anything else, including a WAL that does not read, is left to etcd
// and the caller's checks.
func resetInterruptedBootstrap(memberDir string) error {
	walDir := filepath.Join(memberDir, "wal")
	if !wal.Exist(walDir) {
		return nil
	}
	if snaps, err := filepath.Glob(filepath.Join(memberDir, "snap", "*.snap")); err != nil || len(snaps) > 0 {
		return err
	}
	w, err := wal.OpenForRead(zap.NewNop(), walDir, &walpb.Snapshot{})
	if err != nil {
		return nil
	}
	_, state, ents, err := w.ReadAll()
	w.Close()
	if err != nil || len(ents) > 0 || !raft.IsEmptyHardState(state) {
		return nil
	}
	klog.Warningf("etcd in %s: the first start stopped before etcd saved its first raft entries (its WAL holds none); starting it afresh", memberDir)
	if err := os.RemoveAll(memberDir); err != nil {
		return fmt.Errorf("removing the member of an interrupted first etcd start: %w", err)
	}
	return nil
}
