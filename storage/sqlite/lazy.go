package sqlite

import (
	"context"
	"sync"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/storage"
	"k8s.io/apiserver/pkg/storage/etcd3/metrics"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	"k8s.io/apiserver/pkg/storage/storagebackend/factory"
)

// LazyBackend is a Backend whose DB opens when the API server first uses it.
type LazyBackend struct {
	options func() Options
	once    sync.Once
	backend Backend
	err     error
}

// OnFirstUse returns a backend whose DB opens, with the options options
// returns then, when the API server first creates a store or builds a check
// of its storage. A program registers it before it parses the flags that
// name the file, and needs no hook between parsing and serving:
//
//	path := cmd.Flags().String("sqlite-db", "controlplane.db", "...")
//	factory.Register("sqlite", sqlite.OnFirstUse(func() sqlite.Options { return sqlite.Options{Path: *path} }))
//
// The DB stays open until the process exits; a program that must close it
// opens it itself and registers a Backend.
func OnFirstUse(options func() Options) *LazyBackend {
	return &LazyBackend{options: options}
}

// open opens the DB once; every later call returns the same DB or error.
func (l *LazyBackend) open() (Backend, error) {
	l.once.Do(func() {
		var db *DB
		db, l.err = Open(context.Background(), l.options())
		l.backend = Backend{DB: db}
	})
	return l.backend, l.err
}

// DB returns the DB, opening it if the API server has not yet.
func (l *LazyBackend) DB() (*DB, error) {
	b, err := l.open()
	return b.DB, err
}

// Create returns the store of one resource.
func (l *LazyBackend) Create(c storagebackend.ConfigForResource, newFunc, newListFunc func() runtime.Object, resourcePrefix string) (storage.Interface, factory.DestroyFunc, error) {
	b, err := l.open()
	if err != nil {
		return nil, nil, err
	}
	return b.Create(c, newFunc, newListFunc, resourcePrefix)
}

// HealthCheck is served at /livez/etcd and /healthz/etcd.
func (l *LazyBackend) HealthCheck(c storagebackend.Config, stop <-chan struct{}) (func() error, error) {
	return withOpened(l, func(b Backend) (func() error, error) { return b.HealthCheck(c, stop) })
}

// ReadyCheck is served at /readyz/etcd-readiness.
func (l *LazyBackend) ReadyCheck(c storagebackend.Config, stop <-chan struct{}) (func() error, error) {
	return withOpened(l, func(b Backend) (func() error, error) { return b.ReadyCheck(c, stop) })
}

// Prober probes the DB.
func (l *LazyBackend) Prober(c storagebackend.Config) (factory.Prober, error) {
	return withOpened(l, func(b Backend) (factory.Prober, error) { return b.Prober(c) })
}

// Monitor reports the DB's size as the storage size metric.
func (l *LazyBackend) Monitor(c storagebackend.Config) (metrics.Monitor, error) {
	return withOpened(l, func(b Backend) (metrics.Monitor, error) { return b.Monitor(c) })
}

// withOpened calls use with the opened backend, or returns the open error.
func withOpened[T any](l *LazyBackend, use func(Backend) (T, error)) (T, error) {
	b, err := l.open()
	if err != nil {
		var zero T
		return zero, err
	}
	return use(b)
}
