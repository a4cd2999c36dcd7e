// Package clustertest runs in-process metadata clusters for tests, like httptest:
// N meta voters on loopback, mutual TLS from a throwaway CA, temporary data
// directories, short raft timeouts, and helpers to kill, stop and restart voters, wait
// for a leader and get clients.
//
// Everything is torn down by t.Cleanup. A Cluster's methods must be called from the
// test goroutine (or with external synchronisation); the nodes and clients it hands
// out are safe for concurrent use.
package clustertest

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/coffer-io/coffer/cluster"
	"github.com/coffer-io/coffer/internal/pki"
)

// Raft timers of every test cluster (unless Options.Tune changes them): short enough
// for fast elections, long enough that a loaded 2-core machine does not make the
// leader step down.
const (
	HeartbeatTimeout   = 300 * time.Millisecond
	ElectionTimeout    = 300 * time.Millisecond
	LeaderLeaseTimeout = 250 * time.Millisecond
	// LeaderWait bounds WaitLeader.
	LeaderWait = 15 * time.Second
)

// Options tune a test cluster.
type Options struct {
	// Tune, when set, adjusts each voter's configuration before its first start.
	Tune func(i int, cfg *cluster.Config)
	// Logger receives all nodes' logs; default discards them.
	Logger *slog.Logger
}

// Cluster is an in-process group of meta voters.
type Cluster struct {
	t testing.TB
	// CA is the throwaway cluster CA; ServerTLS and ClientTLS are a node certificate's
	// mutual-TLS configurations, usable by extra in-test servers and clients.
	CA        *pki.CA
	ServerTLS *tls.Config
	ClientTLS *tls.Config

	mu    sync.Mutex // guards nodes
	cfgs  []cluster.Config
	nodes []*cluster.Node
}

// Start starts an n-voter cluster (n is 1, 3 or 5 typically) and waits for a leader.
func Start(t testing.TB, n int) *Cluster {
	t.Helper()
	return StartWith(t, n, Options{})
}

// StartWith is Start with options.
func StartWith(t testing.TB, n int, opts Options) *Cluster {
	t.Helper()
	if n < 1 || n > cluster.VotersMax {
		t.Fatalf("clustertest: %d voters, want 1..%d", n, cluster.VotersMax)
	}
	now := time.Now()
	ca, err := pki.NewCA(rand.Reader, "clustertest CA", now, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.Issue(rand.Reader, "meta", []string{"127.0.0.1", "localhost"}, now, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	c := &Cluster{t: t, CA: ca, ServerTLS: ca.ServerConfig(cert), ClientTLS: ca.ClientConfig(cert)}
	root := t.TempDir()
	peers := make([]cluster.Peer, n)
	for i := range peers {
		peers[i] = cluster.Peer{ID: fmt.Sprintf("meta%d", i), Addr: freeAddr(t)}
	}
	for i := range n {
		cfg := cluster.Config{
			ID:                 peers[i].ID,
			DataDir:            filepath.Join(root, peers[i].ID),
			BindAddr:           peers[i].Addr,
			Bootstrap:          peers,
			ServerTLS:          c.ServerTLS,
			ClientTLS:          c.ClientTLS,
			HeartbeatTimeout:   HeartbeatTimeout,
			ElectionTimeout:    ElectionTimeout,
			LeaderLeaseTimeout: LeaderLeaseTimeout,
			CommitTimeout:      5 * time.Millisecond,
			RequestTimeout:     10 * time.Second,
			FSMCacheBytes:      8 << 20,
			Logger:             logger.With("voter", i),
		}
		if opts.Tune != nil {
			opts.Tune(i, &cfg)
		}
		c.cfgs = append(c.cfgs, cfg)
	}
	c.nodes = make([]*cluster.Node, n)
	t.Cleanup(c.Close)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			node, err := cluster.Start(context.Background(), c.cfgs[i])
			c.mu.Lock()
			c.nodes[i] = node
			c.mu.Unlock()
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("clustertest: start voter %d: %v", i, err)
		}
	}
	c.WaitLeader()
	return c
}

// freeAddr returns a loopback address with a port that was free a moment ago. The
// bootstrap configuration needs every voter's address before any voter listens.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Size is the number of voters, running or not.
func (c *Cluster) Size() int { return len(c.cfgs) }

// Node returns voter i, or nil while it is down.
func (c *Cluster) Node(i int) *cluster.Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[i]
}

// Config returns voter i's configuration.
func (c *Cluster) Config(i int) cluster.Config { return c.cfgs[i] }

// Addrs returns every voter's address (down ones included).
func (c *Cluster) Addrs() []string {
	out := make([]string, len(c.cfgs))
	for i, cfg := range c.cfgs {
		out[i] = cfg.BindAddr
	}
	return out
}

// WaitLeader waits until a running voter is leader and ready to serve linearizable
// reads, and returns its index.
func (c *Cluster) WaitLeader() int {
	c.t.Helper()
	deadline := time.Now().Add(LeaderWait)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		for i, n := range c.nodes {
			if n != nil && n.IsLeader() {
				c.mu.Unlock()
				return i
			}
		}
		c.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
	c.t.Fatalf("clustertest: no leader within %v", LeaderWait)
	return -1
}

// Leader waits for a leader and returns it.
func (c *Cluster) Leader() *cluster.Node { return c.Node(c.WaitLeader()) }

// Follower returns the index of a running voter that is not the leader, or -1.
func (c *Cluster) Follower() int {
	li := c.WaitLeader()
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, n := range c.nodes {
		if n != nil && i != li {
			return i
		}
	}
	return -1
}

// Kill stops voter i abruptly (no leadership hand-over), as a crash would.
func (c *Cluster) Kill(i int) { c.down(i, false) }

// Stop shuts voter i down gracefully (a leader hands over leadership first).
func (c *Cluster) Stop(i int) { c.down(i, true) }

func (c *Cluster) down(i int, graceful bool) {
	c.t.Helper()
	c.mu.Lock()
	n := c.nodes[i]
	c.nodes[i] = nil
	c.mu.Unlock()
	if n == nil {
		return
	}
	var err error
	if graceful {
		err = n.Close()
	} else {
		err = n.Abort()
	}
	if err != nil {
		c.t.Errorf("clustertest: stop voter %d: %v", i, err)
	}
}

// Restart starts a stopped voter i again on its data directory and address.
func (c *Cluster) Restart(i int) *cluster.Node {
	c.t.Helper()
	c.mu.Lock()
	running := c.nodes[i] != nil
	c.mu.Unlock()
	if running {
		c.t.Fatalf("clustertest: voter %d is running", i)
	}
	var n *cluster.Node
	var err error
	// The old listener's port may need a moment to be free again.
	for attempt := 0; attempt < 50; attempt++ {
		n, err = cluster.Start(context.Background(), c.cfgs[i])
		if err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		c.t.Fatalf("clustertest: restart voter %d: %v", i, err)
	}
	c.mu.Lock()
	c.nodes[i] = n
	c.mu.Unlock()
	return n
}

// WaitApplied waits until voter i has applied at least index.
func (c *Cluster) WaitApplied(i int, index uint64) {
	c.t.Helper()
	deadline := time.Now().Add(LeaderWait)
	for {
		n := c.Node(i)
		if n != nil && n.AppliedIndex() >= index {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("clustertest: voter %d did not apply index %d", i, index)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Client returns a network client of the whole cluster (every voter's address,
// mutual TLS with the cluster certificate). It is closed by t.Cleanup.
func (c *Cluster) Client() *cluster.Client {
	c.t.Helper()
	cl, err := cluster.NewClient(cluster.ClientConfig{Addrs: c.Addrs(), TLS: c.ClientTLS})
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { cl.Close() })
	return cl
}

// Close stops every running voter. It is registered with t.Cleanup by Start.
func (c *Cluster) Close() {
	c.mu.Lock()
	nodes := append([]*cluster.Node(nil), c.nodes...)
	for i := range c.nodes {
		c.nodes[i] = nil
	}
	c.mu.Unlock()
	for _, n := range nodes {
		if n != nil {
			n.Abort()
		}
	}
}
