package server

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/storage"
	"k8s.io/apiserver/pkg/storage/etcd3/metrics"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	"k8s.io/apiserver/pkg/storage/storagebackend/factory"
	"k8s.io/klog/v2"

	"github.com/generic-controlplane/gcp/storage/sqlite"
)

// nativeBackend serves the API server's storage from the native backend
// (package storage/sqlite). Its methods are those of factory.Backend in the
// patched tree, which registers it (storage_seams_patched.go).
type nativeBackend struct {
	kind string
	db   *sqlite.DB
}

// nativeCheckTimeout bounds one health, readiness or size query, as
// storagebackend's default health check timeout does for etcd.
const nativeCheckTimeout = 2 * time.Second

// openNative opens the native database at path, in memory for "".
func openNative(path string) (*nativeBackend, error) {
	kind := "native storage in memory"
	if path != "" {
		kind = "native storage on " + path
	}
	db, err := sqlite.Open(context.Background(), sqlite.Options{Path: path, CompactionInterval: storagebackend.DefaultCompactInterval})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", kind, err)
	}
	return &nativeBackend{kind: kind, db: db}, nil
}

func (b *nativeBackend) close() {
	if err := b.db.Close(); err != nil {
		klog.Errorf("closing %s: %v", b.kind, err)
	}
}

func (b *nativeBackend) Create(c storagebackend.ConfigForResource, newFunc, newListFunc func() runtime.Object, resourcePrefix string) (storage.Interface, factory.DestroyFunc, error) {
	s, destroy, err := sqlite.NewStoreFromConfig(b.db, c, newFunc, newListFunc, resourcePrefix)
	return s, factory.DestroyFunc(destroy), err
}

func (b *nativeBackend) check() error {
	ctx, cancel := context.WithTimeout(context.Background(), nativeCheckTimeout)
	defer cancel()
	return b.db.Check(ctx)
}

func (b *nativeBackend) HealthCheck(storagebackend.Config, <-chan struct{}) (func() error, error) {
	return b.check, nil
}

func (b *nativeBackend) ReadyCheck(storagebackend.Config, <-chan struct{}) (func() error, error) {
	return b.check, nil
}

func (b *nativeBackend) Prober(storagebackend.Config) (factory.Prober, error) {
	return nativeProbe{b.db}, nil
}

func (b *nativeBackend) Monitor(storagebackend.Config) (metrics.Monitor, error) {
	return nativeProbe{b.db}, nil
}

// nativeProbe is the prober and the size monitor of the native database. It
// owns nothing: closing it leaves the database to the server.
type nativeProbe struct{ db *sqlite.DB }

func (p nativeProbe) Probe(ctx context.Context) error { return p.db.Check(ctx) }

func (p nativeProbe) Monitor(ctx context.Context) (metrics.StorageMetrics, error) {
	size, err := p.db.Size(ctx)
	return metrics.StorageMetrics{Size: size}, err
}

func (nativeProbe) Close() error { return nil }
