package serverproc

import (
	"context"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Etcd is an etcd server running as its own process (cmd/etcd built as
// bench-etcd, or any etcd binary), single member, on loopback.
type Etcd struct {
	*Process
	// Endpoint is the client URL, e.g. http://127.0.0.1:34567.
	Endpoint string
	// StartToReady is from launch to the first 200 from /readyz; zero
	// until WaitReady (or StartEtcd) has seen it.
	StartToReady time.Duration
	started      time.Time
	timeout      time.Duration
}

// EtcdOptions say which etcd to run where.
type EtcdOptions struct {
	Binary string
	// Dir holds the data (Dir/etcd) and the log (Dir/etcd.log).
	Dir string
	// Timeout bounds the wait for /readyz (DefaultReadyTimeout if zero).
	Timeout time.Duration
}

// StartEtcd launches etcd on fresh loopback ports and returns once its
// /readyz answers 200. A port taken between choosing and binding it makes
// etcd exit; StartEtcd then tries again with other ports.
func StartEtcd(ctx context.Context, o EtcdOptions) (*Etcd, error) {
	var err error
	for range 3 {
		var e *Etcd
		if e, err = LaunchEtcd(o); err != nil {
			return nil, err
		}
		if err = e.WaitReady(ctx); err == nil {
			return e, nil
		}
		e.Stop()
		if !strings.Contains(e.LogTail(logTailLines), "address already in use") {
			break
		}
	}
	return nil, err
}

// LaunchEtcd starts etcd without waiting for it, for callers that start an
// API server against it at the same time (as the benchmarks do, so that
// start-to-ready counts the two starting side by side). Call WaitReady or
// Stop on it.
func LaunchEtcd(o EtcdOptions) (*Etcd, error) {
	ports, err := FreePorts(2)
	if err != nil {
		return nil, err
	}
	client := "http://127.0.0.1:" + strconv.Itoa(ports[0])
	peer := "http://127.0.0.1:" + strconv.Itoa(ports[1])
	started := time.Now()
	p, err := Launch(o.Binary, filepath.Join(o.Dir, "etcd.log"),
		"--data-dir="+filepath.Join(o.Dir, "etcd"),
		"--listen-client-urls="+client, "--advertise-client-urls="+client,
		"--listen-peer-urls="+peer, "--initial-advertise-peer-urls="+peer,
		"--initial-cluster=default="+peer, "--log-level=error")
	if err != nil {
		return nil, err
	}
	return &Etcd{Process: p, Endpoint: client, started: started, timeout: o.Timeout}, nil
}

// WaitReady returns once etcd's /readyz answers 200, or with an error that
// quotes the end of its log. It leaves etcd running either way.
func (e *Etcd) WaitReady(ctx context.Context) error {
	client := &http.Client{Timeout: probeTimeout}
	err := e.waitReady(ctx, e.timeout, func(ctx context.Context) error {
		return readyz(ctx, client, e.Endpoint)
	})
	if err == nil && e.StartToReady == 0 {
		e.StartToReady = time.Since(e.started)
	}
	return err
}
