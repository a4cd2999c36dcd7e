package nodetest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/coffer-io/coffer/node"
)

// Options configures StartNode. The zero value is a plain-HTTP node with an
// in-memory store and default limits.
type Options struct {
	// Config is the store's configuration; FS and Dir are set by StartNode, and a zero
	// FreeBytesMin becomes -1 (no free-space check on the fake disk).
	Config node.Config
	// Server is the RPC server's configuration (TLS included).
	Server node.ServerConfig
}

// Node is a storage node for tests: a store on an in-memory filesystem served over
// the shard RPC on a loopback port. Its methods are safe for concurrent use.
type Node struct {
	Store *node.Store
	FS    *vfs.MemFS
	Addr  string // host:port, stable across Stop and Start

	tb   testing.TB
	opts Options

	mu   sync.Mutex
	srv  *node.Server // nil while stopped
	done chan error   // Serve's result
}

// StartNode starts a node and registers its shutdown with tb.Cleanup.
func StartNode(tb testing.TB, opts Options) *Node {
	tb.Helper()
	n := &Node{tb: tb, opts: opts, FS: vfs.NewMem()}
	cfg := opts.Config
	cfg.FS, cfg.Dir = n.FS, "/"
	if cfg.FreeBytesMin == 0 {
		cfg.FreeBytesMin = -1
	}
	if cfg.CacheBytes == 0 {
		cfg.CacheBytes = 4 << 20
	}
	if cfg.MemTableBytes == 0 {
		cfg.MemTableBytes = 4 << 20
	}
	s, err := node.Open(cfg)
	if err != nil {
		tb.Fatalf("nodetest: open store: %v", err)
	}
	n.Store = s
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("nodetest: listen: %v", err)
	}
	n.Addr = ln.Addr().String()
	n.serve(ln)
	tb.Cleanup(func() {
		n.Stop()
		if err := s.Close(); err != nil && !errors.Is(err, node.ErrClosed) {
			tb.Errorf("nodetest: close store: %v", err)
		}
	})
	return n
}

func (n *Node) serve(ln net.Listener) {
	srv, err := node.NewServer(n.Store, n.opts.Server)
	if err != nil {
		n.tb.Fatalf("nodetest: server: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	n.mu.Lock()
	n.srv, n.done = srv, done
	n.mu.Unlock()
}

// Stop shuts the RPC server down, as if the node died: connections are refused
// until Start. The store keeps its data.
func (n *Node) Stop() {
	n.mu.Lock()
	srv, done := n.srv, n.done
	n.srv = nil
	n.mu.Unlock()
	if srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
	if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		n.tb.Errorf("nodetest: serve: %v", err)
	}
}

// Start serves again on the same address after Stop.
func (n *Node) Start() {
	n.tb.Helper()
	n.mu.Lock()
	running := n.srv != nil
	n.mu.Unlock()
	if running {
		return
	}
	ln, err := net.Listen("tcp", n.Addr)
	if err != nil {
		n.tb.Fatalf("nodetest: listen again on %s: %v", n.Addr, err)
	}
	n.serve(ln)
}

// Client returns a client of the node, closed at cleanup.
func (n *Node) Client(cfg node.ClientConfig) *node.Client {
	c := node.NewClient(n.Addr, cfg)
	n.tb.Cleanup(c.Close)
	return c
}

// FilePath is where the store keeps the file of a shard stored as a file (see the
// node package doc).
func FilePath(id node.ShardID) string {
	return fmt.Sprintf("/shards/%02x/%02x/%x-%08x-%04x", id.Version[0], id.Version[1], id.Version[:], id.Part, id.Index)
}

// Corrupt flips one bit of the stored bytes of shard id at offset off, behind the
// store's back, as a failing disk would. It works for file shards only; store
// everything as files with Options.Config.InlineMaxBytes = -1 to corrupt any shard.
func (n *Node) Corrupt(id node.ShardID, off int64) error {
	info, err := n.Store.Stat(id)
	if err != nil {
		return err
	}
	if info.Inline {
		return fmt.Errorf("nodetest: shard %v is inline; set Options.Config.InlineMaxBytes = -1", id)
	}
	f, err := n.FS.OpenReadWrite(FilePath(id), vfs.WriteCategoryUnspecified)
	if err != nil {
		return err
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		return err
	}
	b[0] ^= 0x01
	_, err = f.WriteAt(b, off)
	return err
}
