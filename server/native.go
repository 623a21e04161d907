package server

import (
	"context"
	"fmt"

	"k8s.io/apiserver/pkg/storage/storagebackend"
	"k8s.io/klog/v2"

	"github.com/generic-controlplane/gcp/storage/sqlite"
)

// nativeStorage is the native backend (package storage/sqlite) opened for
// the server; storage_seams_patched.go registers its Backend.
type nativeStorage struct {
	kind    string
	db      *sqlite.DB
	backend sqlite.Backend
}

// openNative opens the native database at path, in memory for "".
func openNative(path string) (*nativeStorage, error) {
	kind := "native storage in memory"
	if path != "" {
		kind = "native storage on " + path
	}
	db, err := sqlite.Open(context.Background(), sqlite.Options{Path: path, CompactionInterval: storagebackend.DefaultCompactInterval})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", kind, err)
	}
	return &nativeStorage{kind: kind, db: db, backend: sqlite.Backend{DB: db}}, nil
}

func (n *nativeStorage) close() {
	if err := n.db.Close(); err != nil {
		klog.Errorf("closing %s: %v", n.kind, err)
	}
}
