package cluster

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coffer-io/coffer/cluster/internal/transport"
	"github.com/coffer-io/coffer/internal/pki"
	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"
)

// testCluster runs N voters in process on loopback with mutual TLS.
type testCluster struct {
	t      testing.TB
	ca     *pki.CA
	server *tls.Config
	client *tls.Config
	cfgs   []Config
	nodes  []*Node
}

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func testTLS(t testing.TB, name string) (*pki.CA, *tls.Config, *tls.Config) {
	t.Helper()
	now := time.Now()
	ca, err := pki.NewCA(rand.Reader, name+" CA", now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.Issue(rand.Reader, name, []string{"127.0.0.1", "localhost"}, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return ca, ca.ServerConfig(cert), ca.ClientConfig(cert)
}

// newTestCluster prepares n voters (started by start) with mk as state machine (nil:
// the metadata FSM) and cfg applied to every node's config.
func newTestCluster(t testing.TB, n int, mk func(string, *Config) (machine, error), tune func(*Config)) *testCluster {
	t.Helper()
	c := &testCluster{t: t}
	c.ca, c.server, c.client = testTLS(t, "meta")
	root := t.TempDir()
	var peers []Peer
	for i := range n {
		peers = append(peers, Peer{ID: fmt.Sprintf("m%d", i), Addr: freeAddr(t)})
	}
	for i := range n {
		cfg := Config{
			ID:                 peers[i].ID,
			DataDir:            filepath.Join(root, peers[i].ID),
			BindAddr:           peers[i].Addr,
			Bootstrap:          peers,
			ServerTLS:          c.server,
			ClientTLS:          c.client,
			HeartbeatTimeout:   300 * time.Millisecond,
			ElectionTimeout:    300 * time.Millisecond,
			LeaderLeaseTimeout: 250 * time.Millisecond,
			CommitTimeout:      5 * time.Millisecond,
			RequestTimeout:     5 * time.Second,
			Logger:             slog.New(slog.DiscardHandler),
			machine:            mk,
		}
		if tune != nil {
			tune(&cfg)
		}
		c.cfgs = append(c.cfgs, cfg)
	}
	c.nodes = make([]*Node, n)
	t.Cleanup(c.closeAll)
	return c
}

func (c *testCluster) start(i int) *Node {
	c.t.Helper()
	n, err := Start(context.Background(), c.cfgs[i])
	if err != nil {
		c.t.Fatalf("start node %d: %v", i, err)
	}
	c.nodes[i] = n
	return n
}

func (c *testCluster) startAll() {
	var wg sync.WaitGroup
	errs := make([]error, len(c.cfgs))
	for i := range c.cfgs {
		wg.Go(func() {
			n, err := Start(context.Background(), c.cfgs[i])
			c.nodes[i], errs[i] = n, err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		c.t.Fatal(err)
	}
}

func (c *testCluster) kill(i int) {
	c.t.Helper()
	if err := c.nodes[i].Abort(); err != nil {
		c.t.Errorf("abort node %d: %v", i, err)
	}
	c.nodes[i] = nil
}

func (c *testCluster) closeAll() {
	for i, n := range c.nodes {
		if n != nil {
			n.Abort()
			c.nodes[i] = nil
		}
	}
}

// leader waits until one running node is a ready leader.
func (c *testCluster) leader() (int, *Node) {
	c.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for i, n := range c.nodes {
			if n != nil && n.IsLeader() {
				return i, n
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.t.Fatal("no leader within 10s")
	return -1, nil
}

// follower returns a running node that is not the leader.
func (c *testCluster) follower() (int, *Node) {
	li, _ := c.leader()
	for i, n := range c.nodes {
		if n != nil && i != li {
			return i, n
		}
	}
	c.t.Fatal("no follower")
	return -1, nil
}

func add(ctx context.Context, n *Node, id, name string, delta int64) (int64, error) {
	resp, err := n.applyBytes(ctx, addCmd(id, name, delta))
	if err != nil {
		return 0, err
	}
	switch r := resp.(type) {
	case int64:
		return r, nil
	case error:
		return 0, r
	}
	return 0, fmt.Errorf("response %T", resp)
}

func get(ctx context.Context, n *Node, name string, opts ReadOptions) (int64, error) {
	return clientRead(ctx, n.Client(), testGet, name, opts)
}

// gather collects n's metrics as name(/label value) → value.
func gather(t *testing.T, n *Node) map[string]float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(n.Collector()); err != nil {
		t.Fatal(err)
	}
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			name := f.GetName()
			for _, l := range m.GetLabel() {
				if l.GetName() == "path" {
					name += "/" + l.GetValue()
				}
			}
			if g := m.GetGauge(); g != nil {
				out[name] = g.GetValue()
			}
			if c := m.GetCounter(); c != nil {
				out[name] = c.GetValue()
			}
		}
	}
	return out
}

func TestConfigValidate(t *testing.T) {
	cfg := Config{Bootstrap: []Peer{{ID: "a b", Addr: "x:1"}, {ID: "a b", Addr: "x:1"}, {ID: "c", Addr: "0.0.0.0:7000"}, {ID: "d", Addr: "h:0"}}, ID: "bad/id"}
	cfg.EnsureDefaults()
	cfg.MaxAppendEntries = 5000
	err := cfg.Validate()
	if err == nil {
		t.Fatal("invalid config accepted")
	}
	for _, want := range []string{"DataDir", "BindAddr", "ServerTLS", "ClientTLS", "bad/id", "duplicate ID", "duplicate Addr", "MaxAppendEntries", `"0.0.0.0:7000" is not dialable`, `"h:0" is not dialable`} {
		if !contains(err.Error(), want) {
			t.Errorf("Validate error lacks %q:\n%v", want, err)
		}
	}
}

func contains(s, sub string) bool {
	return len(sub) == 0 || (len(s) >= len(sub) && indexOf(s, sub) >= 0)
}

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

func TestSingleVoterRestartKeepsStateAndID(t *testing.T) {
	c := newTestCluster(t, 1, openTestMachine, func(cfg *Config) { cfg.ID = "" })
	// The node generates and persists its id; the bootstrap list must name it, so
	// start once to learn it, then restart with the list.
	c.cfgs[0].Bootstrap = nil
	n := c.start(0)
	id := n.ID()
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	c.cfgs[0].Bootstrap = []Peer{{ID: id, Addr: c.cfgs[0].BindAddr}}
	n = c.start(0)
	if n.ID() != id {
		t.Fatalf("id changed across restart: %q then %q", id, n.ID())
	}
	c.leader()
	ctx := t.Context()
	for i := range 5 {
		if _, err := add(ctx, n, fmt.Sprintf("r%d", i), "x", 1); err != nil {
			t.Fatal(err)
		}
	}
	last := n.raft.LastIndex()
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	// Restart: existing state, so no second bootstrap; the counter survives.
	n = c.start(0)
	c.leader()
	if v, err := get(ctx, n, "x", ReadOptions{}); err != nil || v != 5 {
		t.Fatalf("after restart x = %d, %v; want 5", v, err)
	}
	if got := n.raft.LastIndex(); got < last {
		t.Errorf("log shrank across restart: %d < %d", got, last)
	}
	st, err := n.Status()
	if err != nil || len(st.Voters) != 1 || st.Voters[0].ID != id {
		t.Errorf("status after restart %+v, %v", st, err)
	}
	// A replayed request id is answered from the idempotency table, not re-applied.
	if v, err := add(ctx, n, "r0", "x", 1); err != nil || v != 1 {
		t.Errorf("replayed request = %d, %v; want the original result 1", v, err)
	}
	if v, _ := get(ctx, n, "x", ReadOptions{}); v != 5 {
		t.Errorf("x = %d after a replayed request, want 5", v)
	}
	// A configured id that differs from the persisted one is refused.
	n.Close()
	c.nodes[0] = nil
	cfg := c.cfgs[0]
	cfg.ID = "other"
	if _, err := Start(ctx, cfg); !errors.Is(err, ErrIDMismatch) {
		t.Errorf("start with a different id: %v, want ErrIDMismatch", err)
	}
}

func TestFollowerForwardsWritesAndReads(t *testing.T) {
	c := newTestCluster(t, 3, openTestMachine, nil)
	c.startAll()
	_, f := c.follower()
	ctx := t.Context()
	for i := range 10 {
		v, err := add(ctx, f, fmt.Sprintf("f%d", i), "c", 2)
		if err != nil {
			t.Fatal(err)
		}
		if v != int64(2*(i+1)) {
			t.Fatalf("add %d returned %d", i, v)
		}
		// Read-your-writes through the follower: the read is served by the leader.
		got, err := get(ctx, f, "c", ReadOptions{})
		if err != nil || got != v {
			t.Fatalf("linearizable read via follower = %d, %v; want %d", got, err, v)
		}
	}
	if _, err := get(ctx, f, "missing", ReadOptions{}); !errors.Is(err, errNoCounter) {
		t.Errorf("forwarded read of a missing counter: %v, want errNoCounter", err)
	}
	// A malformed command is refused by the leader's RPC and not retried.
	if _, err := f.applyBytes(ctx, []byte("garbage")); !errors.Is(err, ErrBadRequest) {
		t.Errorf("forwarded garbage: %v, want ErrBadRequest", err)
	}
	// The follower's metrics show forwarded requests and no leadership.
	if m := gather(t, f); m["coffer_meta_leader"] != 0 || m["coffer_meta_requests_total/forwarded"] < 20 {
		t.Errorf("follower metrics %v", m)
	}
	if _, l := c.leader(); gather(t, l)["coffer_meta_leader"] != 1 {
		t.Errorf("leader metrics %v", gather(t, l))
	}
	// Stale reads are local.
	deadline := time.Now().Add(5 * time.Second)
	for {
		v, err := get(ctx, f, "c", ReadOptions{Stale: true})
		if err == nil && v == 20 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stale read never caught up: %d, %v", v, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestNoQuorumFailsWithinDeadline(t *testing.T) {
	c := newTestCluster(t, 3, openTestMachine, nil)
	c.startAll()
	li, l := c.leader()
	if _, err := add(t.Context(), l, "q0", "q", 1); err != nil {
		t.Fatal(err)
	}
	// One voter down: writes still succeed.
	fi, _ := c.follower()
	c.kill(fi)
	if _, err := add(t.Context(), l, "q1", "q", 1); err != nil {
		t.Fatalf("write with one voter down: %v", err)
	}
	// Two down: a clear error within the deadline, from the former leader and from
	// its own perspective as a follower later.
	for i := range c.nodes {
		if i != li && c.nodes[i] != nil {
			c.kill(i)
		}
	}
	for _, name := range []string{"q2", "q3"} {
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		start := time.Now()
		_, err := add(ctx, c.nodes[li], name, "q", 1)
		cancel()
		if !errors.Is(err, ErrUnavailable) {
			t.Errorf("write without quorum: %v, want ErrUnavailable", err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("write without quorum took %v, deadline was 1s", d)
		}
		ctx, cancel = context.WithTimeout(t.Context(), 500*time.Millisecond)
		_, err = get(ctx, c.nodes[li], "q", ReadOptions{})
		cancel()
		if !errors.Is(err, ErrUnavailable) {
			t.Errorf("linearizable read without quorum: %v, want ErrUnavailable", err)
		}
	}
	// Stale reads still work locally.
	if v, err := get(t.Context(), c.nodes[li], "q", ReadOptions{Stale: true}); err != nil || v < 2 {
		t.Errorf("stale read without quorum = %d, %v", v, err)
	}
}

func TestLeaderKilledDuringConcurrentWrites(t *testing.T) {
	c := newTestCluster(t, 3, openTestMachine, nil)
	c.startAll()
	c.leader()
	const writers, perWriter = 6, 40
	var acked atomic.Int64
	var wg sync.WaitGroup
	killed := make(chan struct{})
	for w := range writers {
		wg.Go(func() {
			name := fmt.Sprintf("w%d", w)
			for i := range perWriter {
				id := fmt.Sprintf("%s-%d", name, i)
				for {
					// Use any running node; each attempt reuses the request id.
					var n *Node
					for _, cand := range c.snapshotNodes() {
						if cand != nil {
							n = cand
							if (w+i)%2 == 0 {
								break
							}
						}
					}
					ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
					_, err := add(ctx, n, id, name, 1)
					cancel()
					if err == nil {
						acked.Add(1)
						break
					}
					if !errors.Is(err, ErrUnavailable) && !errors.Is(err, ErrClosed) {
						t.Errorf("%s: %v", id, err)
						return
					}
				}
			}
		})
	}
	// Kill the leader once a third of the writes are in.
	for acked.Load() < writers*perWriter/3 {
		time.Sleep(time.Millisecond)
	}
	li, _ := c.leader()
	c.mu().Lock()
	c.kill(li)
	c.mu().Unlock()
	close(killed)
	wg.Wait()
	if t.Failed() {
		return
	}
	_, l := c.leader()
	for w := range writers {
		v, err := get(t.Context(), l, fmt.Sprintf("w%d", w), ReadOptions{})
		if err != nil || v != perWriter {
			t.Errorf("writer %d: counter %d, %v; want exactly %d (every ack, no duplicate)", w, v, err, perWriter)
		}
	}
	if got := l.sm.(*testMachine).applies(); got != writers*perWriter {
		t.Errorf("state machine applied %d distinct requests, want %d", got, writers*perWriter)
	}
	// The killed voter restarts and catches up from its log.
	c.start(li)
	waitCaughtUp(t, c.nodes[li], l)
}

var clusterMu sync.Mutex

func (c *testCluster) mu() *sync.Mutex { return &clusterMu }

func (c *testCluster) snapshotNodes() []*Node {
	clusterMu.Lock()
	defer clusterMu.Unlock()
	return append([]*Node(nil), c.nodes...)
}

func waitCaughtUp(t *testing.T, n, leader *Node) {
	t.Helper()
	want := leader.AppliedIndex()
	deadline := time.Now().Add(10 * time.Second)
	for n.AppliedIndex() < want {
		if time.Now().After(deadline) {
			t.Fatalf("node %s applied %d, leader %d", n.ID(), n.AppliedIndex(), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRestartedFollowerCatchesUpFromSnapshot(t *testing.T) {
	c := newTestCluster(t, 3, openTestMachine, func(cfg *Config) {
		cfg.TrailingLogs = 5
		cfg.SnapshotThreshold = 1 << 20 // snapshots only when forced
	})
	c.startAll()
	fi, _ := c.follower()
	_, l := c.leader()
	ctx := t.Context()
	if _, err := add(ctx, l, "s-0", "s", 1); err != nil {
		t.Fatal(err)
	}
	c.kill(fi)
	for i := 1; i < 50; i++ {
		if _, err := add(ctx, l, fmt.Sprintf("s-%d", i), "s", 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Snapshot(); err != nil {
		t.Fatal(err)
	}
	if first, _ := l.store.FirstIndex(); first <= 2 {
		t.Fatalf("log not compacted by the snapshot: first index %d", first)
	}
	n := c.start(fi)
	waitCaughtUp(t, n, l)
	if v, err := get(ctx, n, "s", ReadOptions{Stale: true}); err != nil || v != 50 {
		t.Errorf("restarted follower has s = %d, %v; want 50", v, err)
	}
}

func TestLeaderCloseTransfersLeadership(t *testing.T) {
	c := newTestCluster(t, 3, openTestMachine, nil)
	c.startAll()
	li, l := c.leader()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	c.nodes[li] = nil
	start := time.Now()
	_, nl := c.leader()
	if _, err := add(t.Context(), nl, "t0", "t", 1); err != nil {
		t.Fatal(err)
	}
	t.Logf("new leader ready %v after graceful close", time.Since(start))
}

func TestJoinAndRemove(t *testing.T) {
	c := newTestCluster(t, 1, openTestMachine, nil)
	c.start(0)
	c.leader()
	// A second node that is not in the bootstrap list joins via the first.
	extra := c.cfgs[0]
	extra.ID = "joiner"
	extra.DataDir = filepath.Join(t.TempDir(), "joiner")
	extra.BindAddr = freeAddr(t)
	extra.Bootstrap = c.cfgs[0].Bootstrap
	extra.Join = []string{c.nodes[0].Addr()}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	j, err := Start(ctx, extra)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Abort()
	st, err := c.nodes[0].Status()
	if err != nil || len(st.Voters) != 2 {
		t.Fatalf("voters after join: %+v, %v", st.Voters, err)
	}
	if _, err := add(ctx, j, "j0", "j", 1); err != nil {
		t.Fatalf("write via the joined node: %v", err)
	}
	if err := j.Remove(ctx, "joiner"); err != nil {
		t.Fatal(err)
	}
	st, _ = c.nodes[0].Status()
	if len(st.Voters) != 1 {
		t.Errorf("voters after remove: %+v", st.Voters)
	}
}

func TestRPCRefusesForeignCertificate(t *testing.T) {
	c := newTestCluster(t, 1, openTestMachine, nil)
	n := c.start(0)
	c.leader()
	_, _, evil := testTLS(t, "intruder")
	evil = evil.Clone()
	evil.RootCAs = c.client.RootCAs // trusts us; only its own certificate is foreign
	hc := &http.Client{Transport: transport.HTTPTransport(evil, time.Second)}
	defer hc.CloseIdleConnections()
	if _, err := rpcCall(t.Context(), hc, n.Addr(), "status", nil, false, nil); err == nil {
		t.Error("internal RPC served a client with a foreign certificate")
	}
	if _, err := rpcCall(t.Context(), hc, n.Addr(), "apply", addCmd("e0", "e", 1), false, nil); err == nil {
		t.Error("apply served a client with a foreign certificate")
	}
	good := &http.Client{Transport: transport.HTTPTransport(c.client, time.Second)}
	defer good.CloseIdleConnections()
	if _, err := rpcCall(t.Context(), good, n.Addr(), "status", nil, false, nil); err != nil {
		t.Errorf("status with the cluster certificate: %v", err)
	}
	if v, _ := get(t.Context(), n, "e", ReadOptions{Stale: true}); v != 0 {
		t.Errorf("foreign apply changed state: e = %d", v)
	}
	_ = raft.ErrNotLeader
}
