//go:build gcp_patched

package server

import (
	"context"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/test/bufconn"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	"k8s.io/apiserver/pkg/storage/storagebackend/factory"
)

// This file and storage_seams_upstream.go hold how the server hands its
// in-process storage to the upstream storage config. The series has two
// seams for it: TransportConfig.NewClient (patch 0023: an injected etcd
// client, so embedded etcd and kine need no socket) and factory.Register
// (patch 0024: a storage.Interface implementation, the native backend).

// storageSeams tells whether the tree has both seams.
const storageSeams = true

// useEtcd makes every etcd client of the API server (stores, compactor,
// health and readiness checks) come from newClient.
func useEtcd(_ string, newClient func() (*clientv3.Client, error)) func(*storagebackend.Config) {
	return func(cfg *storagebackend.Config) {
		cfg.Transport.NewClient = func(storagebackend.TransportConfig) (*clientv3.Client, error) { return newClient() }
	}
}

// listenForEtcdClients returns an in-memory listener for an etcd API server
// and the config whose clients dial it: no port, nothing reachable from
// outside the process.
func listenForEtcdClients() (net.Listener, func(*storagebackend.Config), error) {
	l := bufconn.Listen(1 << 20)
	newClient := func() (*clientv3.Client, error) {
		return clientv3.New(clientv3.Config{
			// The dialer ignores the address; clientv3 needs one to resolve.
			Endpoints:   []string{"http://in-process:2379"},
			DialTimeout: 10 * time.Second,
			DialOptions: []grpc.DialOption{grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
				return l.DialContext(ctx)
			})},
		})
	}
	return l, useEtcd("", newClient), nil
}

// nativeStorageTypes numbers the storage types the native backends of this
// process are registered under: the registry is per process, and tests run
// several servers in one.
var nativeStorageTypes atomic.Int64

// startNative opens the native backend on path ("" = in memory) and
// registers it as the storage of the server's storage config.
func startNative(path string) (*storageBackend, error) {
	backend, err := openNative(path)
	if err != nil {
		return nil, err
	}
	storageType := fmt.Sprintf("gcp-native-%d", nativeStorageTypes.Add(1))
	if err := factory.Register(storageType, backend.backend); err != nil {
		backend.close()
		return nil, err
	}
	return &storageBackend{
		kind:      backend.kind,
		configure: func(cfg *storagebackend.Config) { cfg.Type = storageType },
		stop: func() {
			factory.Unregister(storageType)
			backend.close()
		},
	}, nil
}
