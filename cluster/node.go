package cluster

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coffer-io/coffer/cluster/internal/raftstore"
	"github.com/coffer-io/coffer/cluster/internal/transport"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// Sentinel errors.
var (
	// ErrUnavailable is returned when no leader with a quorum could be reached before
	// the request's deadline (no quorum, an election that did not finish, or every
	// peer unreachable). For a write the outcome is unknown; repeating it with the same
	// request id is safe.
	ErrUnavailable = errors.New("cluster: unavailable: no leader with a quorum reachable")
	// ErrClosed is returned by a Node that is shutting down or closed.
	ErrClosed = errors.New("cluster: node closed")
	// ErrIDMismatch is returned when Config.ID differs from the id persisted in DataDir.
	ErrIDMismatch = errors.New("cluster: configured server id differs from the persisted one")
	// ErrBadRequest is returned for a request the leader refused as malformed; it is
	// never retried.
	ErrBadRequest = errors.New("cluster: bad request")
	// ErrJoin is returned when a new node could not be added to the cluster.
	ErrJoin = errors.New("cluster: join failed")
)

// errNoLeader is the retryable condition "no leader known right now".
var errNoLeader = errors.New("cluster: no leader known")

// machine is the replicated state machine as the node needs it. The metadata FSM is
// the production implementation; the codec methods turn its responses and errors into
// bytes for forwarding.
type machine interface {
	raft.BatchingFSM
	// AppliedIndex is the last raft index whose effects are in the machine's state.
	AppliedIndex() uint64
	Close() error
	// checkCommand rejects a command that can never apply (malformed), before it
	// enters the log.
	checkCommand(cmd []byte) error
	// encodeResponse and decodeResponse carry an Apply response over the RPC.
	encodeResponse(resp any) ([]byte, error)
	decodeResponse(b []byte) (any, error)
	// errorCode and errorFrom carry a read error over the RPC, keeping its identity.
	errorCode(err error) (code int, msg string)
	errorFrom(code int, msg string) error
	// readHandler returns the RPC handler of the named read.
	readHandler(op string) (readHandler, bool)
}

// Node is one meta voter: a raft instance over the Pebble log store, the state
// machine, the mutual-TLS transport, and the internal RPC server.
//
// A Node is safe for concurrent use. It owns the goroutines it starts (the notify
// loop, the RPC server, waiters on raft futures) and joins them in Close.
type Node struct {
	cfg   Config
	id    string
	log   *slog.Logger
	store *raftstore.Store
	sm    machine
	mux   *transport.Mux
	trans *raft.NetworkTransport
	raft  *raft.Raft
	srv   *http.Server
	hc    *http.Client

	notify chan bool
	stats  counters
	// leaderGen counts leadership changes; leaderReady is true once a barrier in the
	// current leadership (generation readyGen) has applied, so the FSM holds every
	// entry committed by earlier leaders and linearizable reads may be served.
	leaderGen   atomic.Uint64
	readyGen    atomic.Uint64
	leaderReady atomic.Bool

	stop    chan struct{}
	loops   sync.WaitGroup // notify loop, RPC server
	mu      sync.RWMutex   // guards closing; held for writing only while closing
	closing bool
	waiters sync.WaitGroup // goroutines waiting on raft futures
	once    sync.Once
	err     error
}

// Start opens the node's stores, joins or bootstraps the raft group as its
// configuration says, and starts serving. ctx bounds only the join step.
func Start(ctx context.Context, cfg Config) (*Node, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("cluster: data dir: %w", err)
	}
	id, err := loadID(cfg.DataDir, cfg.ID, cfg.Rand)
	if err != nil {
		return nil, err
	}
	n := &Node{cfg: cfg, id: id, log: cfg.Logger.With("node", id), stop: make(chan struct{})}
	ok := false
	defer func() {
		if !ok {
			n.closeResources()
		}
	}()
	if err := n.open(); err != nil {
		return nil, err
	}
	ok = true
	if err := n.maybeJoin(ctx); err != nil {
		n.Abort()
		return nil, err
	}
	return n, nil
}

func (n *Node) open() error {
	cfg := &n.cfg
	var err error
	n.store, err = raftstore.Open(raftstore.Config{Dir: filepath.Join(cfg.DataDir, "raft"), Logger: n.log})
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	openMachine := cfg.machine
	if openMachine == nil {
		openMachine = openMetaMachine
	}
	n.sm, err = openMachine(filepath.Join(cfg.DataDir, "fsm"), cfg)
	if err != nil {
		return fmt.Errorf("cluster: open state machine: %w", err)
	}
	hl := newHclog(n.log, "raft", hclog.Info)
	snaps, err := raft.NewFileSnapshotStoreWithLogger(cfg.DataDir, cfg.SnapshotRetain, hl.Named("snapshot"))
	if err != nil {
		return fmt.Errorf("cluster: snapshot store: %w", err)
	}
	n.mux, err = transport.Listen(transport.Config{
		BindAddr: cfg.BindAddr, Advertise: cfg.Advertise,
		ServerTLS: cfg.ServerTLS, ClientTLS: cfg.ClientTLS, Logger: n.log,
	})
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	n.trans = raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream:  n.mux.StreamLayer(),
		MaxPool: 3,
		Timeout: 10 * time.Second,
		Logger:  hl.Named("transport"),
	})
	n.hc = &http.Client{Transport: transport.HTTPTransport(cfg.ClientTLS, cfg.ElectionTimeout)}

	n.notify = make(chan bool, NotifyBufferLen)
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(n.id)
	rc.HeartbeatTimeout = cfg.HeartbeatTimeout
	rc.ElectionTimeout = cfg.ElectionTimeout
	rc.LeaderLeaseTimeout = cfg.LeaderLeaseTimeout
	rc.CommitTimeout = cfg.CommitTimeout
	rc.SnapshotThreshold = cfg.SnapshotThreshold
	rc.SnapshotInterval = cfg.SnapshotInterval
	rc.TrailingLogs = cfg.TrailingLogs
	rc.MaxAppendEntries = cfg.MaxAppendEntries
	rc.BatchApplyCh = true
	rc.NotifyCh = n.notify
	rc.NoSnapshotRestoreOnStart = true // the FSM is persistent and skips applied indexes
	rc.Logger = hl
	if err := raft.ValidateConfig(rc); err != nil {
		return fmt.Errorf("cluster: raft config: %w", err)
	}

	existing, err := raft.HasExistingState(n.store, n.store, snaps)
	if err != nil {
		return fmt.Errorf("cluster: inspect raft state: %w", err)
	}
	logs, err := raft.NewLogCache(cfg.MaxAppendEntries, n.store)
	if err != nil {
		return fmt.Errorf("cluster: log cache: %w", err)
	}
	if !existing && n.inBootstrap() {
		var conf raft.Configuration
		for _, p := range cfg.Bootstrap {
			conf.Servers = append(conf.Servers, raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(p.ID), Address: raft.ServerAddress(p.Addr)})
		}
		if err := raft.BootstrapCluster(rc, logs, n.store, snaps, noPipelineTransport{n.trans}, conf); err != nil && !errors.Is(err, raft.ErrCantBootstrap) {
			return fmt.Errorf("cluster: bootstrap: %w", err)
		}
		n.log.Info("cluster: bootstrapped", "voters", len(conf.Servers))
	}
	n.raft, err = raft.NewRaft(rc, n.sm, logs, n.store, snaps, noPipelineTransport{n.trans})
	if err != nil {
		return fmt.Errorf("cluster: start raft: %w", err)
	}

	n.srv = &http.Server{
		Handler:           n.rpcHandler(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(n.log.Handler(), slog.LevelDebug),
	}
	n.loops.Add(2)
	go n.notifyLoop()
	go func() {
		defer n.loops.Done()
		if err := n.srv.Serve(n.mux.RPCListener()); err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.log.Error("cluster: rpc server stopped", "err", err)
		}
	}()
	return nil
}

func (n *Node) inBootstrap() bool {
	for _, p := range n.cfg.Bootstrap {
		if p.ID == n.id {
			return true
		}
	}
	return false
}

// maybeJoin asks the configured voters to add this node when it has never been part
// of a configuration.
func (n *Node) maybeJoin(ctx context.Context) error {
	if len(n.cfg.Join) == 0 || n.inBootstrap() {
		return nil
	}
	cf := n.raft.GetConfiguration()
	if err := cf.Error(); err != nil {
		return fmt.Errorf("cluster: configuration: %w", err)
	}
	for _, s := range cf.Configuration().Servers {
		if s.ID == raft.ServerID(n.id) {
			return nil // already a member: restarted node
		}
	}
	ctx, cancel := n.bound(ctx)
	defer cancel()
	var last error
	for attempt := 0; ; attempt++ {
		for _, addr := range n.cfg.Join {
			err := n.rpcJoinVia(ctx, addr, Peer{ID: n.id, Addr: n.mux.Addr()})
			var re *rpcError
			if errors.As(err, &re) && re.Leader != "" {
				err = n.rpcJoinVia(ctx, re.Leader, Peer{ID: n.id, Addr: n.mux.Addr()})
			}
			if err == nil {
				n.log.Info("cluster: joined", "via", addr)
				return nil
			}
			last = err
			if errors.Is(err, ErrBadRequest) {
				return fmt.Errorf("%w: %w", ErrJoin, err)
			}
		}
		if !n.pause(ctx, attempt) {
			return fmt.Errorf("%w: %w: %w", ErrJoin, ctx.Err(), last)
		}
	}
}

// loadID returns the persisted server id, creating it on first start.
func loadID(dir, want string, rnd io.Reader) (string, error) {
	path := filepath.Join(dir, idFileName)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		got := strings.TrimSpace(string(b))
		if err := validID(got); err != nil {
			return "", fmt.Errorf("cluster: persisted id: %w", err)
		}
		if want != "" && want != got {
			return "", fmt.Errorf("%w: configured %q, persisted %q", ErrIDMismatch, want, got)
		}
		return got, nil
	case !errors.Is(err, os.ErrNotExist):
		return "", fmt.Errorf("cluster: read server id: %w", err)
	}
	id := want
	if id == "" {
		var raw [8]byte
		if _, err := io.ReadFull(rnd, raw[:]); err != nil {
			return "", fmt.Errorf("cluster: generate server id: %w", err)
		}
		id = "meta-" + hex.EncodeToString(raw[:])
	}
	if err := writeFileSync(path, []byte(id+"\n")); err != nil {
		return "", err
	}
	return id, nil
}

func writeFileSync(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	_, werr := f.Write(data)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("cluster: write %s: %w", filepath.Base(path), err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("cluster: sync dir: %w", err)
	}
	return nil
}

// ID is the node's raft server id.
func (n *Node) ID() string { return n.id }

// Addr is the advertised address of the node's mutual-TLS port (Raft and RPC).
func (n *Node) Addr() string { return n.mux.Addr() }

// IsLeader reports whether this node is the leader and has applied every entry
// committed before its leadership (so it may serve linearizable reads).
func (n *Node) IsLeader() bool {
	return n.raft.State() == raft.Leader && n.leaderReady.Load() && n.readyGen.Load() == n.leaderGen.Load()
}

// Leader returns the current leader's id and address as this node knows them; empty
// strings when there is none.
func (n *Node) Leader() (id, addr string) {
	a, i := n.raft.LeaderWithID()
	return string(i), string(a)
}

// Snapshot forces a raft snapshot now (tests and operators).
func (n *Node) Snapshot() error {
	if err := n.raft.Snapshot().Error(); err != nil {
		return fmt.Errorf("cluster: snapshot: %w", err)
	}
	return nil
}

// AppliedIndex is the last raft index applied to this node's state machine.
func (n *Node) AppliedIndex() uint64 { return n.sm.AppliedIndex() }

// Status describes a node for operators and tests.
type Status struct {
	ID           string `json:"id"`
	Addr         string `json:"addr"`
	State        string `json:"state"`
	LeaderID     string `json:"leaderId,omitempty"`
	LeaderAddr   string `json:"leaderAddr,omitempty"`
	Term         uint64 `json:"term"`
	CommitIndex  uint64 `json:"commitIndex"`
	AppliedIndex uint64 `json:"appliedIndex"`
	Voters       []Peer `json:"voters"`
}

// Status returns the node's view of the cluster.
func (n *Node) Status() (Status, error) {
	lid, laddr := n.Leader()
	st := Status{
		ID: n.id, Addr: n.Addr(), State: n.raft.State().String(),
		LeaderID: lid, LeaderAddr: laddr,
		Term: n.raft.CurrentTerm(), CommitIndex: n.raft.CommitIndex(), AppliedIndex: n.sm.AppliedIndex(),
	}
	cf := n.raft.GetConfiguration()
	if err := cf.Error(); err != nil {
		return st, fmt.Errorf("cluster: configuration: %w", err)
	}
	for _, s := range cf.Configuration().Servers {
		if s.Suffrage == raft.Voter {
			st.Voters = append(st.Voters, Peer{ID: string(s.ID), Addr: string(s.Address)})
		}
	}
	return st, nil
}

// notifyLoop drains raft's leadership notifications (never letting raft block on
// them) and runs a barrier at the start of each leadership.
func (n *Node) notifyLoop() {
	defer n.loops.Done()
	for {
		select {
		case <-n.stop:
			return
		case isLeader := <-n.notify:
			gen := n.leaderGen.Add(1)
			n.leaderReady.Store(false)
			if !isLeader {
				n.log.Info("cluster: lost leadership")
				continue
			}
			n.log.Info("cluster: became leader")
			if !n.track() {
				continue
			}
			go func() {
				defer n.waiters.Done()
				if err := n.raft.Barrier(0).Error(); err != nil {
					return
				}
				if n.leaderGen.Load() == gen {
					n.readyGen.Store(gen)
					n.leaderReady.Store(true)
				}
			}()
		}
	}
}

// track registers a goroutine that waits on a raft future. It fails once the node is
// closing; Close joins every tracked goroutine after raft has shut down (which
// resolves every future).
func (n *Node) track() bool {
	n.mu.RLock()
	defer n.mu.RUnlock()
	if n.closing {
		return false
	}
	n.waiters.Add(1)
	return true
}

// await waits for f or ctx, whichever comes first.
func (n *Node) await(ctx context.Context, f raft.Future) error {
	if !n.track() {
		return ErrClosed
	}
	done := make(chan error, 1)
	go func() {
		defer n.waiters.Done()
		done <- f.Error()
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// bound gives ctx a deadline when it has none.
func (n *Node) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, n.cfg.RequestTimeout)
}

// pause sleeps before retry attempt (exponential backoff with jitter); false when ctx
// ended or the node is closing.
func (n *Node) pause(ctx context.Context, attempt int) bool {
	return sleepBackoff(ctx, n.stop, n.cfg.RetryBackoff, n.cfg.RetryBackoffMax, attempt, n.cfg.Rand)
}

func sleepBackoff(ctx context.Context, stop <-chan struct{}, base, max time.Duration, attempt int, rnd io.Reader) bool {
	d := base << min(attempt, 16)
	if d > max || d <= 0 {
		d = max
	}
	var b [1]byte
	if _, err := io.ReadFull(rnd, b[:]); err == nil {
		d = d/2 + d*time.Duration(b[0])/512 // 50%..100% of d
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-stop:
		return false
	}
}

// retryable reports whether err means "try again, maybe elsewhere".
func retryable(err error) bool {
	var re *rpcError
	if errors.As(err, &re) {
		return re.Retry
	}
	return errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) ||
		errors.Is(err, raft.ErrLeadershipTransferInProgress) || errors.Is(err, raft.ErrEnqueueTimeout) ||
		errors.Is(err, raft.ErrAbortedByRestore) || errors.Is(err, errNoLeader) || errors.Is(err, errUnreachable)
}

// tryOnce runs fn under a per-attempt timeout. When only the attempt timed out (the
// request's own deadline has not passed), the failure is reported as unreachable so
// the caller retries, possibly elsewhere; commands are idempotent by request id.
func tryOnce(ctx context.Context, timeout time.Duration, fn func(context.Context) error) error {
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := fn(actx)
	if err != nil && actx.Err() != nil && ctx.Err() == nil {
		return fmt.Errorf("%w: attempt timed out after %v: %v", errUnreachable, timeout, err)
	}
	return err
}

// unavailable is the error for a request that ran out of time while retrying.
func unavailable(ctx context.Context, last error) error {
	if last == nil {
		// No attempt failed: the caller's context ended before one could be made
		// (it does not mean no leader was known).
		return fmt.Errorf("%w (%w before any attempt)", ErrUnavailable, context.Cause(ctx))
	}
	return fmt.Errorf("%w (%w; last error: %v)", ErrUnavailable, context.Cause(ctx), last)
}

// leaderDo runs local on this node when it is the leader, or remote against the
// leader it knows, retrying retryable failures with backoff until ctx ends.
func (n *Node) leaderDo(ctx context.Context, local func(context.Context) error, remote func(ctx context.Context, addr string) error) error {
	if !n.enter() {
		return ErrClosed
	}
	defer n.leave()
	ctx, cancel := n.bound(ctx)
	defer cancel()
	var last error
	for attempt := 0; ; attempt++ {
		var err error
		if n.raft.State() == raft.Leader {
			n.stats.local.Add(1)
			err = local(ctx)
		} else if addr, _ := n.raft.LeaderWithID(); addr != "" {
			n.stats.forwarded.Add(1)
			err = tryOnce(ctx, n.cfg.AttemptTimeout, func(ctx context.Context) error { return remote(ctx, string(addr)) })
		} else {
			err = errNoLeader
		}
		switch {
		case err == nil:
			return nil
		case errors.Is(err, raft.ErrRaftShutdown):
			return ErrClosed
		case ctx.Err() != nil:
			n.stats.unavailable.Add(1)
			return unavailable(ctx, err)
		case !retryable(err):
			return err
		}
		last = err
		n.stats.retries.Add(1)
		if !n.pause(ctx, attempt) {
			if n.isClosing() {
				return ErrClosed
			}
			n.stats.unavailable.Add(1)
			return unavailable(ctx, last)
		}
	}
}

func (n *Node) isClosing() bool {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.closing
}

// applyBytes commits one encoded command through the leader and returns the state
// machine's response.
func (n *Node) applyBytes(ctx context.Context, cmd []byte) (any, error) {
	var resp any
	err := n.leaderDo(ctx,
		func(ctx context.Context) error {
			r, err := n.applyLocal(ctx, cmd)
			resp = r
			return err
		},
		func(ctx context.Context, addr string) error {
			b, err := n.rpcApply(ctx, n.hc, addr, cmd)
			if err != nil {
				return err
			}
			resp, err = n.sm.decodeResponse(b)
			return err
		})
	return resp, err
}

// applyLocal proposes cmd on this node, which must be the leader.
func (n *Node) applyLocal(ctx context.Context, cmd []byte) (any, error) {
	timeout := n.cfg.RequestTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
		if timeout <= 0 {
			return nil, ctx.Err()
		}
	}
	f := n.raft.Apply(cmd, timeout)
	if err := n.await(ctx, f); err != nil {
		return nil, err
	}
	return f.Response(), nil
}

// readBarrier makes a leader read linearizable. The local state machine already
// holds every write acknowledged before the read began: writes of earlier leaders
// because the barrier at the start of this leadership applied them, and writes of
// this leader because raft answers a command only after applying it. What remains
// is to confirm with a quorum that no newer leader exists (VerifyLeader) and that the
// leadership whose barrier we rely on is still the current one.
func (n *Node) readBarrier(ctx context.Context) error {
	gen := n.leaderGen.Load()
	if !n.IsLeader() {
		return raft.ErrNotLeader
	}
	if err := n.await(ctx, n.raft.VerifyLeader()); err != nil {
		return err
	}
	if n.leaderGen.Load() != gen {
		return raft.ErrLeadershipLost
	}
	return nil
}

// Join adds a voter through the leader. It is idempotent for a voter that is
// already present with the same address.
func (n *Node) Join(ctx context.Context, p Peer) error {
	if err := validID(p.ID); err != nil || p.Addr == "" {
		return fmt.Errorf("%w: join needs a valid id and address", ErrBadRequest)
	}
	return n.leaderDo(ctx,
		func(ctx context.Context) error {
			return n.await(ctx, n.raft.AddVoter(raft.ServerID(p.ID), raft.ServerAddress(p.Addr), 0, n.cfg.RequestTimeout))
		},
		func(ctx context.Context, addr string) error { return n.rpcJoinVia(ctx, addr, p) })
}

// Remove removes a server from the configuration through the leader.
func (n *Node) Remove(ctx context.Context, id string) error {
	if err := validID(id); err != nil {
		return fmt.Errorf("%w: %w", ErrBadRequest, err)
	}
	return n.leaderDo(ctx,
		func(ctx context.Context) error {
			return n.await(ctx, n.raft.RemoveServer(raft.ServerID(id), 0, n.cfg.RequestTimeout))
		},
		func(ctx context.Context, addr string) error { return n.rpcRemove(ctx, addr, id) })
}

// Close shuts the node down gracefully: a leader first hands leadership to another
// voter, so writes resume without waiting for an election timeout.
func (n *Node) Close() error { return n.shutdown(true) }

// Abort shuts the node down without handing over leadership, as a crash would (files
// are still closed cleanly). Tests use it to kill a voter.
func (n *Node) Abort() error { return n.shutdown(false) }

func (n *Node) shutdown(transfer bool) error {
	n.once.Do(func() {
		if transfer && n.raft != nil && n.raft.State() == raft.Leader && n.voterCount() > 1 {
			if err := n.raft.LeadershipTransfer().Error(); err != nil {
				n.log.Warn("cluster: leadership transfer before shutdown failed", "err", err)
			}
		}
		n.err = n.closeResources()
	})
	return n.err
}

func (n *Node) voterCount() int {
	cf := n.raft.GetConfiguration()
	if cf.Error() != nil {
		return 0
	}
	c := 0
	for _, s := range cf.Configuration().Servers {
		if s.Suffrage == raft.Voter {
			c++
		}
	}
	return c
}

// closeResources releases whatever open/Start created, in reverse order.
func (n *Node) closeResources() error {
	n.mu.Lock()
	n.closing = true
	n.mu.Unlock()
	var errs []error
	if n.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		if err := n.srv.Shutdown(ctx); err != nil {
			n.srv.Close()
		}
		cancel()
	}
	if n.raft != nil {
		if err := n.raft.Shutdown().Error(); err != nil {
			errs = append(errs, fmt.Errorf("cluster: raft shutdown: %w", err))
		}
	}
	close(n.stop)
	if n.trans != nil {
		n.trans.Close()
	}
	if n.mux != nil {
		n.mux.Close()
	}
	n.loops.Wait()
	n.waiters.Wait()
	if n.hc != nil {
		n.hc.CloseIdleConnections()
	}
	if n.sm != nil {
		if err := n.sm.Close(); err != nil {
			errs = append(errs, fmt.Errorf("cluster: close state machine: %w", err))
		}
	}
	if n.store != nil {
		if err := n.store.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
