package etcdrun

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
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
