package server

import (
	"fmt"
	"path/filepath"
	"sync"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/generic-controlplane/gcp/internal/etcdrun"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/storage"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	"k8s.io/apiserver/pkg/storage/storagebackend/factory"
	"k8s.io/client-go/tools/cache"
)

// storageBackend is a running in-process storage.
type storageBackend struct {
	// kind names the backend in logs ("embedded etcd", "kine", ...).
	kind string
	// configure points the upstream storage config at the backend: an etcd
	// endpoint, an injected etcd client or a registered storage type,
	// depending on what the k/k tree offers (see storage_seams_*.go).
	configure func(*storagebackend.Config)
	stop      func()
}

// startStorage starts the backend o.Storage selects.
func startStorage(o *Options) (*storageBackend, error) {
	switch o.Storage.Backend {
	case StorageEtcd:
		return startEmbeddedEtcd(o.DataDir)
	case StorageKine:
		return startKine(o.Storage.KineDSN)
	case StorageSQLite:
		return startNative(filepath.Join(o.DataDir, nativeDBFile))
	case StorageMemory:
		return startNative("")
	}
	return nil, fmt.Errorf("unknown storage backend %q", o.Storage.Backend)
}

// startEmbeddedEtcd runs a single-member etcd in-process on <dataDir>/etcd,
// listening on free loopback ports (client and peer). fsync stays on: a create
// acknowledged by the API server survives kill -9. Where the tree can inject
// the etcd client, the API server calls etcd in-process, without gRPC.
func startEmbeddedEtcd(dataDir string) (*storageBackend, error) {
	e, err := etcdrun.Start(dataDir, "minimal-apiserver")
	if err != nil {
		return nil, err
	}
	newClient := func() (*clientv3.Client, error) { return e.NewInProcessClient(), nil }
	return &storageBackend{kind: "embedded etcd", configure: useEtcd(e.Endpoint, newClient), stop: e.Stop}, nil
}

// storageClients remembers the destroy function of every storage (etcd
// client, watch cache) the API servers create through their REST options.
// The servers destroy what they install when they stop, but not every storage
// they create is installed (REST storage built for a resource that is then not
// served, for example); such a leftover keeps etcd watch streams open, so
// closing the in-process etcd waits for them and they log "connection
// refused" while they redial. destroyAll closes them before storage stops.
type storageClients struct {
	mu       sync.Mutex
	destroys []factory.DestroyFunc
}

// track wraps getter so that every storage created through it is recorded.
func (c *storageClients) track(getter generic.RESTOptionsGetter) generic.RESTOptionsGetter {
	return trackingRESTOptionsGetter{next: getter, clients: c}
}

func (c *storageClients) add(d factory.DestroyFunc) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.destroys = append(c.destroys, d)
}

// destroyAll closes every recorded storage. Upstream destroy functions run
// once, so those the servers already destroyed are not closed twice.
func (c *storageClients) destroyAll() {
	c.mu.Lock()
	destroys := c.destroys
	c.destroys = nil
	c.mu.Unlock()
	for _, d := range destroys {
		d()
	}
}

type trackingRESTOptionsGetter struct {
	next    generic.RESTOptionsGetter
	clients *storageClients
}

func (g trackingRESTOptionsGetter) GetRESTOptions(resource schema.GroupResource, example runtime.Object) (generic.RESTOptions, error) {
	opts, err := g.next.GetRESTOptions(resource, example)
	if err != nil || opts.Decorator == nil {
		return opts, err
	}
	decorate := opts.Decorator
	opts.Decorator = func(config *storagebackend.ConfigForResource, resourcePrefix string,
		keyFunc func(obj runtime.Object) (string, error), newFunc, newListFunc func() runtime.Object,
		getAttrs storage.AttrFunc, triggers storage.IndexerFuncs, indexers *cache.Indexers,
	) (storage.Interface, factory.DestroyFunc, error) {
		s, destroy, err := decorate(config, resourcePrefix, keyFunc, newFunc, newListFunc, getAttrs, triggers, indexers)
		if destroy != nil {
			g.clients.add(destroy)
		}
		return s, destroy, err
	}
	return opts, nil
}
