package etcdrun

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/pkg/v3/pbutil"
	"go.etcd.io/etcd/server/v3/storage/wal"
	"go.uber.org/zap"
)

func TestStartServesAndKeepsDataAcrossRestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "fresh", "dir")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	put := func(e *Etcd) *clientv3.Client {
		c, err := clientv3.New(clientv3.Config{Endpoints: []string{e.Endpoint}, DialTimeout: 10 * time.Second})
		require.NoError(t, err)
		return c
	}
	e, err := Start(dir, "test")
	require.NoError(t, err)
	c := put(e)
	_, err = c.Put(ctx, "/k", "v")
	require.NoError(t, err)
	c.Close()
	e.Stop()

	e, err = Start(dir, "test")
	require.NoError(t, err)
	defer e.Stop()
	c = put(e)
	defer c.Close()
	resp, err := c.Get(ctx, "/k")
	require.NoError(t, err)
	require.Len(t, resp.Kvs, 1)
	assert.Equal(t, "v", string(resp.Kvs[0].Value))
}

func TestInProcessClientSeesTheSocketClientsWrites(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	e, err := Start(t.TempDir(), "test")
	require.NoError(t, err)
	defer e.Stop()

	inProcess := e.NewInProcessClient()
	defer inProcess.Close()
	_, err = inProcess.Put(ctx, "/written-in-process", "v")
	require.NoError(t, err)

	overSocket, err := clientv3.New(clientv3.Config{Endpoints: []string{e.Endpoint}, DialTimeout: 10 * time.Second})
	require.NoError(t, err)
	defer overSocket.Close()
	resp, err := overSocket.Get(ctx, "/written-in-process")
	require.NoError(t, err)
	require.Len(t, resp.Kvs, 1)
	assert.Equal(t, "v", string(resp.Kvs[0].Value))
}

// TestStartAfterAnInterruptedBootstrap starts etcd on what a first start
// killed between creating its WAL and saving the first raft entries leaves:
// a WAL with its metadata and nothing else. etcd would restart that member
// with no voters and never get ready; Start starts it afresh.
func TestStartAfterAnInterruptedBootstrap(t *testing.T) {
	dir := t.TempDir()
	walDir := filepath.Join(DataDir(dir), "member", "wal")
	require.NoError(t, os.MkdirAll(filepath.Dir(walDir), 0o700))
	metadata := pbutil.MustMarshalMessage(&etcdserverpb.Metadata{NodeID: new(uint64(0x8e9e05c52164694d)), ClusterID: new(uint64(0xcdf818194e3a8c32))})
	w, err := wal.Create(zap.NewNop(), walDir, metadata)
	require.NoError(t, err)
	require.NoError(t, w.Close())

	e, err := Start(dir, "test")
	require.NoError(t, err)
	defer e.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := e.NewInProcessClient()
	defer c.Close()
	_, err = c.Put(ctx, "/k", "v")
	require.NoError(t, err)
}

// TestSingleMemberConfigIsValid checks the raft timing against etcd's own
// rules (an election timeout of at least 5 ticks, at most 50 s), which
// StartEtcd enforces only at start.
func TestSingleMemberConfigIsValid(t *testing.T) {
	cfg := newConfig("m", filepath.Join(t.TempDir(), "etcd"), filepath.Join(t.TempDir(), "etcd.log"), 2379, 2380)
	require.NoError(t, cfg.Validate())
	assert.Equal(t, []string{"http://127.0.0.1:2379"}, []string{cfg.AdvertiseClientUrls[0].String()})
	assert.Equal(t, "m=http://127.0.0.1:2380", cfg.InitialCluster)
}
