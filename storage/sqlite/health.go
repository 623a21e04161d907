package sqlite

import (
	"context"
	"fmt"
)

// Check reports whether the database answers a read: what the API server's
// storage health and readiness checks ask of a backend.
func (db *DB) Check(ctx context.Context) error {
	var rev int64
	if err := db.sql.QueryRowContext(ctx, "SELECT value FROM meta WHERE name = 'rev'").Scan(&rev); err != nil {
		return fmt.Errorf("sqlite: health check: %w", err)
	}
	return nil
}

// Size is the size of the database in bytes (pages in use and free), what
// the API server's storage size metric reports for etcd.
func (db *DB) Size(ctx context.Context) (int64, error) {
	var pages, pageSize int64
	if err := db.sql.QueryRowContext(ctx, "PRAGMA page_count").Scan(&pages); err != nil {
		return 0, fmt.Errorf("sqlite: page count: %w", err)
	}
	if err := db.sql.QueryRowContext(ctx, "PRAGMA page_size").Scan(&pageSize); err != nil {
		return 0, fmt.Errorf("sqlite: page size: %w", err)
	}
	return pages * pageSize, nil
}
