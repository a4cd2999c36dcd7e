// Package gatewaytest runs a whole Coffer cluster in one test process, like httptest:
// a metadata cluster (clustertest), storage nodes each with its own on-disk store and
// shard RPC server over mutual TLS, and a gateway served on a loopback HTTP listener,
// with the master-key ring and a root user bootstrapped.
//
// Everything is torn down by t.Cleanup. Storage nodes can be stopped and started
// again to test degraded reads and writes.
package gatewaytest

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/coffer-io/coffer/cluster/clustertest"
	"github.com/coffer-io/coffer/cluster/meta"
	"github.com/coffer-io/coffer/erasure"
	"github.com/coffer-io/coffer/gateway"
	"github.com/coffer-io/coffer/node"
	"github.com/coffer-io/coffer/sse"
)

// Root credentials of every test cluster.
const (
	AccessKey = "AKIDcofferTEST0000000000000000000000"
	SecretKey = "cofferTestSecretKey0000000000000000000000"
	// Domain is the gateway's base domain: bucket hosts are "<bucket>.localhost".
	Domain = "localhost"
	Region = "local"
)

// Options tune a test cluster.
type Options struct {
	// StorageNodes is how many storage nodes run. Default 6.
	StorageNodes int
	// Geometry is the erasure geometry. Default 4+2 with 64 KiB blocks (small, so
	// tests cross stripe boundaries cheaply).
	Geometry erasure.Geometry
	// Logger receives every component's logs. Default: discarded.
	Logger *slog.Logger
	// Tune adjusts the gateway config before it starts.
	Tune func(*gateway.Config)
}

// Cluster is a running in-process cluster.
type Cluster struct {
	t testing.TB
	// URL is the gateway's base URL (http://127.0.0.1:port).
	URL string
	// Gateway is the running gateway.
	Gateway *gateway.Server
	// Meta is the gateway's metadata client.
	Meta gateway.Meta
	// RootKey is the cluster's root key.
	RootKey sse.Key

	meta    *clustertest.Cluster
	dir     string
	nodeTLS node.ServerConfig
	logger  *slog.Logger

	mu      sync.Mutex
	storage []*storageNode
}

type storageNode struct {
	id    string
	dir   string
	addr  string
	store *node.Store
	srv   *node.Server
	done  chan struct{}
}

// Start starts a cluster with the default options.
func Start(t testing.TB) *Cluster { return StartWith(t, Options{}) }

// StartWith starts a cluster and waits until its gateway is ready.
func StartWith(t testing.TB, opts Options) *Cluster {
	t.Helper()
	if opts.StorageNodes == 0 {
		opts.StorageNodes = 6
	}
	if opts.Geometry == (erasure.Geometry{}) {
		opts.Geometry = erasure.Geometry{DataShards: 4, ParityShards: 2, BlockSize: 64 << 10}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	mc := clustertest.StartWith(t, 1, clustertest.Options{Logger: opts.Logger})
	c := &Cluster{
		t: t, meta: mc, dir: t.TempDir(), logger: opts.Logger,
		nodeTLS: node.ServerConfig{TLS: mc.ServerTLS, Logger: opts.Logger},
	}
	if _, err := rand.Read(c.RootKey[:]); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.stopAll)

	layout := meta.ClusterLayout{}
	for i := range opts.StorageNodes {
		sn := &storageNode{id: fmt.Sprintf("storage-%d", i), dir: filepath.Join(c.dir, fmt.Sprintf("storage-%d", i))}
		c.storage = append(c.storage, sn)
		c.startNode(sn, "127.0.0.1:0")
		layout.Nodes = append(layout.Nodes, meta.StorageNode{
			ID: sn.id, Zone: fmt.Sprintf("z%d", i%3), Addrs: []string{sn.addr}, State: meta.NodeActive,
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := mc.Client()
	if _, err := client.SetLayout(ctx, layout, 0); err != nil {
		t.Fatalf("gatewaytest: set layout: %v", err)
	}
	c.Meta = gateway.ClusterMeta(client)
	boot := gateway.Bootstrap{RootKey: c.RootKey, RootAccessKey: AccessKey, RootSecretKey: SecretKey, Now: time.Now, Rand: rand.Reader}
	if err := boot.Run(ctx, c.Meta); err != nil {
		t.Fatalf("gatewaytest: bootstrap: %v", err)
	}
	cfg := gateway.Config{
		Domain: Domain, Region: Region, Geometry: opts.Geometry, RootKey: c.RootKey,
		AllowSSECOverHTTP: true, Logger: opts.Logger,
		ShardClient: node.ClientConfig{TLS: mc.ClientTLS},
	}
	if opts.Tune != nil {
		opts.Tune(&cfg)
	}
	gw, err := gateway.New(cfg, c.Meta)
	if err != nil {
		t.Fatalf("gatewaytest: gateway: %v", err)
	}
	if err := gw.Ready(ctx); err != nil {
		t.Fatalf("gatewaytest: gateway not ready: %v", err)
	}
	c.Gateway = gw
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)
	c.URL = srv.URL
	return c
}

func (c *Cluster) startNode(sn *storageNode, addr string) {
	c.t.Helper()
	store, err := node.Open(node.Config{Dir: sn.dir, Logger: c.logger, FreeBytesMin: -1})
	if err != nil {
		c.t.Fatalf("gatewaytest: open store %s: %v", sn.id, err)
	}
	srv, err := node.NewServer(store, c.nodeTLS)
	if err != nil {
		store.Close()
		c.t.Fatalf("gatewaytest: shard server %s: %v", sn.id, err)
	}
	var ln net.Listener
	for attempt := 0; ; attempt++ {
		ln, err = net.Listen("tcp", addr)
		if err == nil || attempt == 50 {
			break
		}
		time.Sleep(100 * time.Millisecond) // the old listener's port is being released
	}
	if err != nil {
		store.Close()
		c.t.Fatalf("gatewaytest: listen %s: %v", sn.id, err)
	}
	sn.store, sn.srv, sn.addr, sn.done = store, srv, ln.Addr().String(), make(chan struct{})
	go func() {
		defer close(sn.done)
		srv.Serve(ln)
	}()
}

func (c *Cluster) stopNode(sn *storageNode) {
	if sn.srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sn.srv.Shutdown(ctx)
	<-sn.done
	sn.store.Close()
	sn.srv, sn.store = nil, nil
}

// StopStorage stops storage node i (its server and store); its data stays on disk.
func (c *Cluster) StopStorage(i int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopNode(c.storage[i])
}

// StartStorage starts storage node i again on its old address and data.
func (c *Cluster) StartStorage(i int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	sn := c.storage[i]
	if sn.srv == nil {
		c.startNode(sn, sn.addr)
	}
}

// StorageDirs returns every storage node's data directory.
func (c *Cluster) StorageDirs() []string {
	var out []string
	for _, sn := range c.storage {
		out = append(out, sn.dir)
	}
	return out
}

// Store returns storage node i's store (nil while it is stopped).
func (c *Cluster) Store(i int) *node.Store {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.storage[i].store
}

// MetaCluster is the underlying metadata cluster.
func (c *Cluster) MetaCluster() *clustertest.Cluster { return c.meta }

// Host returns the virtual host of a bucket on this gateway (with port), for the COS
// SDK's Client.Host.
func (c *Cluster) Host(bucket string) string {
	return bucket + "." + Domain + c.URL[len("http://127.0.0.1"):]
}

// HTTPClient is a client for the gateway with short timeouts.
func (c *Cluster) HTTPClient() *http.Client { return &http.Client{Timeout: 60 * time.Second} }

func (c *Cluster) stopAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, sn := range c.storage {
		c.stopNode(sn)
	}
}
