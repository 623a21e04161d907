package sqlite

import (
	"context"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/storage"
	"k8s.io/apiserver/pkg/storage/etcd3/metrics"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	"k8s.io/apiserver/pkg/storage/storagebackend/factory"
)

// Backend serves an API server's storage from a DB. Its methods are those of
// factory.Backend, the storage backend registry of the patch series (patch
// 0024):
//
//	factory.Register("native", sqlite.Backend{DB: db})
//
// and --storage-backend=native then stores every resource of the process
// (built-in, CRDs, APIServices) in db, with its health and readiness checks.
// The Backend does not own the DB: close it after the server stops.
type Backend struct {
	DB *DB
}

// checkTimeout bounds one health, readiness or size query, as
// storagebackend's default health check timeout does for etcd.
const checkTimeout = storagebackend.DefaultHealthcheckTimeout

// Create returns the store of one resource.
func (b Backend) Create(c storagebackend.ConfigForResource, newFunc, newListFunc func() runtime.Object, resourcePrefix string) (storage.Interface, factory.DestroyFunc, error) {
	s, destroy, err := NewStoreFromConfig(b.DB, c, newFunc, newListFunc, resourcePrefix)
	return s, factory.DestroyFunc(destroy), err
}

func (b Backend) check() error {
	ctx, cancel := context.WithTimeout(context.Background(), checkTimeout)
	defer cancel()
	return b.DB.Check(ctx)
}

// HealthCheck is served at /livez/etcd and /healthz/etcd.
func (b Backend) HealthCheck(storagebackend.Config, <-chan struct{}) (func() error, error) {
	return b.check, nil
}

// ReadyCheck is served at /readyz/etcd-readiness.
func (b Backend) ReadyCheck(storagebackend.Config, <-chan struct{}) (func() error, error) {
	return b.check, nil
}

// Prober probes the DB.
func (b Backend) Prober(storagebackend.Config) (factory.Prober, error) { return probe(b), nil }

// Monitor reports the DB's size as the storage size metric.
func (b Backend) Monitor(storagebackend.Config) (metrics.Monitor, error) { return probe(b), nil }

// probe is the prober and the size monitor of a DB. Closing it leaves the DB
// open: the DB belongs to whoever opened it.
type probe Backend

func (p probe) Probe(ctx context.Context) error { return p.DB.Check(ctx) }

func (p probe) Monitor(ctx context.Context) (metrics.StorageMetrics, error) {
	size, err := p.DB.Size(ctx)
	return metrics.StorageMetrics{Size: size}, err
}

func (probe) Close() error { return nil }
