package serverproc

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"time"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Server is a started API server process and the admin kubeconfig that
// reaches it.
type Server struct {
	*Process
	// Kubeconfig is the path of an admin kubeconfig for the server.
	Kubeconfig string
	// StartToReady is from launch to the first 200 from /readyz.
	StartToReady time.Duration
	cfg          *rest.Config
}

// URL is the server's base URL, e.g. https://127.0.0.1:34567.
func (s *Server) URL() string { return s.cfg.Host }

// RESTConfig is an admin client configuration for the server, without
// client-side rate limits (discovery of kube-apiserver makes ~50 requests).
func (s *Server) RESTConfig() *rest.Config { return rest.CopyConfig(s.cfg) }

// Resources lists what discovery serves as sorted "group/version/resource"
// strings (core as "v1/resource"), subresources included.
func (s *Server) Resources() ([]string, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(s.RESTConfig())
	if err != nil {
		return nil, err
	}
	_, lists, err := dc.ServerGroupsAndResources()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, l := range lists {
		for _, r := range l.APIResources {
			out = append(out, l.GroupVersion+"/"+r.Name)
		}
	}
	sort.Strings(out)
	return out, nil
}

// awaitServer waits until the server p answers /readyz with the
// credentials of kubeconfig and returns it; on failure it stops p. The
// kubeconfig may appear only while the server starts (our servers write
// it), so it is read on every poll until it parses.
func awaitServer(ctx context.Context, p *Process, started time.Time, kubeconfig string, timeout time.Duration) (*Server, error) {
	var (
		cfg    *rest.Config
		client *http.Client
	)
	probe := func(ctx context.Context) error {
		if client == nil {
			c, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
			if err != nil {
				return err
			}
			hc, err := rest.HTTPClientFor(c)
			if err != nil {
				return err
			}
			hc.Timeout = probeTimeout
			cfg, client = c, hc
		}
		return readyz(ctx, client, cfg.Host)
	}
	if err := p.waitReady(ctx, timeout, probe); err != nil {
		p.Stop()
		return nil, err
	}
	cfg.QPS, cfg.Burst = 1000, 1000
	return &Server{Process: p, Kubeconfig: kubeconfig, StartToReady: time.Since(started), cfg: cfg}, nil
}

// Help runs `binary --help` and returns what it printed: the flag set.
func Help(ctx context.Context, binary string) (string, error) {
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, binary, "--help")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%s --help: %w", binary, err)
	}
	return out.String(), nil
}

// removeStale removes a kubeconfig left by an earlier run, so that
// readiness is judged with the one this run writes.
func removeStale(kubeconfig string) error {
	if err := os.Remove(kubeconfig); err != nil && !os.IsNotExist(err) {
		return err
	}
	return nil
}
