//go:build !nokine

package server

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/k3s-io/kine/pkg/drivers"
	"github.com/k3s-io/kine/pkg/drivers/pgsql"
	"github.com/k3s-io/kine/pkg/drivers/sqlite"
	kineserver "github.com/k3s-io/kine/pkg/server"
	"google.golang.org/grpc"
)

const kineAvailable = true

// startKine serves the etcd v3 API from kine in-process: over an in-memory
// connection where the tree can inject the etcd client, else over a loopback
// port.
// dsn is either a SQLite path (optionally with ?params) or a postgres:// DSN.
// Only the sqlite and pgsql drivers are linked (kine's endpoint package also
// pulls in the t4 driver, whose module is not available from the proxy).
func startKine(dsn string) (*storageBackend, error) {
	ctx, cancel := context.WithCancel(context.Background())
	wg := &sync.WaitGroup{}
	cfg := &drivers.Config{
		DataSourceName:   dsn,
		CompactInterval:  5 * time.Minute,
		CompactTimeout:   5 * time.Second,
		CompactMinRetain: 1000,
		CompactBatchSize: 1000,
		PollBatchSize:    500,
	}
	newBackend := sqlite.New
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		newBackend = pgsql.New
		cfg.Endpoint = dsn
	default:
		dsn = strings.TrimPrefix(dsn, "sqlite://")
		// Created by SQLite, the database (every object, Secrets included)
		// and its -wal and -shm files would be readable by everyone.
		if err := createPrivate(strings.SplitN(dsn, "?", 2)[0]); err != nil {
			cancel()
			return nil, fmt.Errorf("kine: %w", err)
		}
		if !strings.Contains(dsn, "?") {
			dsn += "?" + sqlite.DefaultParams
		}
		cfg.DataSourceName = dsn
		cfg.Endpoint = "sqlite://" + dsn
	}
	_, backend, err := newBackend(ctx, wg, cfg)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("kine: opening datastore: %w", err)
	}
	if err := backend.Start(ctx); err != nil {
		cancel()
		return nil, fmt.Errorf("kine: starting backend: %w", err)
	}
	l, configure, err := listenForEtcdClients()
	if err != nil {
		cancel()
		return nil, err
	}
	g := grpc.NewServer()
	kineserver.New(backend, "http", 5*time.Second, "3.6.11").Register(g)
	go g.Serve(l)
	// Stopping waits for kine to close its database, so that what it
	// leaves (a checkpointed SQLite WAL) is final when stop returns.
	return &storageBackend{kind: "kine", configure: configure, stop: func() { g.Stop(); cancel(); wg.Wait() }}, nil
}
