package prove

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"k8s.io/client-go/rest"

	"github.com/generic-controlplane/gcp/internal/serverproc"
)

// etcdPrefix is where serverproc's API servers keep their keys (its default).
const etcdPrefix = "/registry"

// observeTimeout bounds each request of the observation; the server is
// ready, so anything slower is a failure to report, not to wait out.
const observeTimeout = 30 * time.Second

// observeSurface records the parts of a ready kube-apiserver's surface that
// discovery does not show: health checks, post-start hooks, the admission
// chains it logged at start and the etcd storage paths it wrote. It returns
// what it could measure and one error per part it could not.
func observeSurface(ctx context.Context, srv *serverproc.Server, etcdEndpoint string) (Surface, []error) {
	s := Surface{}
	var errs []error
	for aspect, path := range map[string]string{AspectReadyz: "/readyz?verbose", AspectLivez: "/livez?verbose"} {
		body, err := getAsAdmin(ctx, srv.RESTConfig(), path)
		if err != nil {
			errs = append(errs, fmt.Errorf("GET %s: %w", path, err))
			continue
		}
		s[aspect] = ParseHealthChecks(body)
	}
	if s[AspectReadyz] != nil || s[AspectLivez] != nil {
		s[AspectHooks] = PostStartHooks(s[AspectReadyz], s[AspectLivez])
	}
	if log, err := os.ReadFile(srv.Log()); err != nil {
		errs = append(errs, err)
	} else {
		s[AspectMutating], s[AspectValidating] = ParseAdmissionOrder(string(log))
		if s[AspectMutating] == nil && s[AspectValidating] == nil {
			errs = append(errs, fmt.Errorf("no \"Loaded N ... admission controller(s)\" line in %s", srv.Log()))
			delete(s, AspectMutating)
			delete(s, AspectValidating)
		}
	}
	prefixes, err := settledEtcdPrefixes(ctx, etcdEndpoint, etcdPrefix)
	if err != nil {
		errs = append(errs, fmt.Errorf("listing etcd keys: %w", err))
	} else {
		s[AspectEtcdPrefixes] = prefixes
	}
	return s, errs
}

// Ready is not the end of kube-apiserver's start-up writes: the bootstrap
// controller and the lease reconcilers write the kubernetes service, its
// endpoints, masterleases and peerserverleases a fraction of a second
// later. The prefixes are listed until they have not changed for
// etcdQuiet (in practice they settle within half a second of ready and do
// not change for a minute after), or etcdSettle has passed.
const (
	etcdQuiet  = 3 * time.Second
	etcdSettle = 30 * time.Second
	etcdPoll   = 250 * time.Millisecond
)

// settledEtcdPrefixes lists the storage paths under prefix once they stop
// changing.
func settledEtcdPrefixes(ctx context.Context, endpoint, prefix string) ([]string, error) {
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: 10 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		return nil, err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, etcdSettle+observeTimeout)
	defer cancel()
	var last []string
	lastChange, deadline := time.Now(), time.Now().Add(etcdSettle)
	for {
		keys, err := etcdKeys(ctx, c, prefix)
		if err != nil {
			return nil, err
		}
		if now := EtcdPrefixes(prefix, keys); !slices.Equal(now, last) {
			last, lastChange = now, time.Now()
		}
		if time.Since(lastChange) >= etcdQuiet || time.Now().After(deadline) {
			return last, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(etcdPoll):
		}
	}
}

// getAsAdmin GETs path with the server's admin credentials and returns the
// body; a verbose health endpoint answers 200 when every check passes and
// 500 otherwise, and both list the checks, so the status is not an error.
func getAsAdmin(ctx context.Context, cfg *rest.Config, path string) (string, error) {
	rt, err := rest.TransportFor(cfg)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, observeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, cfg.Host+path, nil)
	if err != nil {
		return "", err
	}
	resp, err := (&http.Client{Transport: rt}).Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return string(body), err
}

// etcdKeys lists the keys under prefix, keys only.
func etcdKeys(ctx context.Context, c *clientv3.Client, prefix string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, observeTimeout)
	defer cancel()
	resp, err := c.Get(ctx, prefix+"/", clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		keys = append(keys, string(kv.Key))
	}
	return keys, nil
}
