package server

import "github.com/generic-controlplane/gcp/internal/etcdrun"

// storageBackend is a running in-process storage endpoint.
type storageBackend struct {
	endpoint string
	stop     func()
}

// startEmbeddedEtcd runs a single-member etcd in-process on <dataDir>/etcd,
// listening on free loopback ports (client and peer). fsync stays on: a create
// acknowledged by the API server survives kill -9.
func startEmbeddedEtcd(dataDir string) (*storageBackend, error) {
	e, err := etcdrun.Start(dataDir, "minimal-apiserver")
	if err != nil {
		return nil, err
	}
	return &storageBackend{endpoint: e.Endpoint, stop: e.Stop}, nil
}
