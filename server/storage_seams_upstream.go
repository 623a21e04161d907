//go:build !gcp_patched

package server

import (
	"errors"
	"net"

	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/apiserver/pkg/storage/storagebackend"
)

// See storage_seams_patched.go. The pinned release has neither seam: the API
// server reaches etcd and kine over a loopback port, and the native backend
// cannot be used.

const storageSeams = false

// useEtcd points the storage config at endpoint; the pinned release cannot
// take an injected client.
func useEtcd(endpoint string, _ func() (*clientv3.Client, error)) func(*storagebackend.Config) {
	return func(cfg *storagebackend.Config) { cfg.Transport.ServerList = []string{endpoint} }
}

// listenForEtcdClients listens on a free loopback port.
func listenForEtcdClients() (net.Listener, func(*storagebackend.Config), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	return l, useEtcd("http://"+l.Addr().String(), nil), nil
}

func startNative(string) (*storageBackend, error) {
	return nil, errors.New("the native storage backend needs the storage backend registry of the patch series (patch 0024); build against the series tree with -tags gcp_patched")
}
