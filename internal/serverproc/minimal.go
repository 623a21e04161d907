package serverproc

import (
	"context"
	"os"
	"path/filepath"
	"time"
)

// Minimal says how to start one of this repository's servers: a binary
// built on server/ (cmd/minimal-apiserver, cmd/examples/...). Such a server
// keeps everything in its data directory, makes its own certificates there
// and writes DataDir/admin.kubeconfig once it listens.
type Minimal struct {
	Binary  string
	DataDir string
	// Log is where its output goes; "" means DataDir/server.log.
	Log string
	// Args are appended to --data-dir and --secure-port=0 (any free port;
	// a later --secure-port wins).
	Args []string
	// Timeout bounds the wait for /readyz (DefaultReadyTimeout if zero).
	Timeout time.Duration
}

// StartMinimal launches the server and returns once its /readyz answers
// 200 to the admin kubeconfig it wrote, or with an error that quotes the
// end of its log. A data directory of an earlier run is reused as it is,
// which is how a restart is tested.
func StartMinimal(ctx context.Context, o Minimal) (*Server, error) {
	if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
		return nil, err
	}
	kubeconfig := filepath.Join(o.DataDir, "admin.kubeconfig")
	if err := removeStale(kubeconfig); err != nil {
		return nil, err
	}
	log := o.Log
	if log == "" {
		log = filepath.Join(o.DataDir, "server.log")
	}
	started := time.Now()
	p, err := Launch(o.Binary, log, append([]string{"--data-dir=" + o.DataDir, "--secure-port=0"}, o.Args...)...)
	if err != nil {
		return nil, err
	}
	return awaitServer(ctx, p, started, kubeconfig, o.Timeout)
}
