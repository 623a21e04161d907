package server

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
)

// storageBackend is a running in-process storage endpoint.
type storageBackend struct {
	endpoint string
	stop     func()
}

func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// startEmbeddedEtcd runs a single-member etcd in-process on <dataDir>/etcd,
// listening on free loopback ports (client and peer). fsync stays on: a create
// acknowledged by the API server survives kill -9.
func startEmbeddedEtcd(dataDir string) (*storageBackend, error) {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		ports, err := freePorts(2)
		if err != nil {
			return nil, err
		}
		cfg := embed.NewConfig()
		cfg.Name = "minimal-apiserver"
		cfg.Dir = filepath.Join(dataDir, "etcd")
		cfg.LogLevel = "error"
		cfg.LogOutputs = []string{filepath.Join(dataDir, "etcd.log")}
		client := url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))}
		peer := url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1]))}
		cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{client}, []url.URL{client}
		cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{peer}, []url.URL{peer}
		cfg.ListenMetricsUrls = nil
		cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
		e, err := embed.StartEtcd(cfg)
		if err != nil {
			lastErr = err
			continue
		}
		select {
		case <-e.Server.ReadyNotify():
		case err := <-e.Err():
			e.Close()
			return nil, fmt.Errorf("embedded etcd failed: %w", err)
		case <-time.After(60 * time.Second):
			e.Close()
			return nil, fmt.Errorf("embedded etcd in %s not ready after 60s", cfg.Dir)
		}
		return &storageBackend{endpoint: client.String(), stop: e.Close}, nil
	}
	return nil, fmt.Errorf("starting embedded etcd in %s: %w", filepath.Join(dataDir, "etcd"), lastErr)
}
