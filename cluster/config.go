package cluster

import (
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"
)

// Defaults and limits.
const (
	// HeartbeatTimeoutDefault is raft's follower heartbeat timeout.
	HeartbeatTimeoutDefault = time.Second
	// ElectionTimeoutDefault is raft's candidate election timeout.
	ElectionTimeoutDefault = time.Second
	// LeaderLeaseTimeoutDefault is how long a leader stays leader without a quorum.
	LeaderLeaseTimeoutDefault = 500 * time.Millisecond
	// CommitTimeoutDefault is raft's idle commit-propagation delay.
	CommitTimeoutDefault = 50 * time.Millisecond
	// SnapshotThresholdDefault is how many new log entries trigger a snapshot.
	SnapshotThresholdDefault = 8192
	// SnapshotIntervalDefault is how often raft checks SnapshotThreshold.
	SnapshotIntervalDefault = 120 * time.Second
	// TrailingLogsDefault is how many entries stay in the log after a snapshot.
	TrailingLogsDefault = 10240
	// SnapshotRetainDefault is how many snapshots stay on disk.
	SnapshotRetainDefault = 2
	// MaxAppendEntriesDefault is raft's batch size for appends and FSM batches. It is
	// larger than raft's 64 because every batch costs two fsyncs (log and FSM).
	MaxAppendEntriesDefault = 512
	// RequestTimeoutDefault bounds a request whose context has no deadline.
	RequestTimeoutDefault = 10 * time.Second
	// AttemptTimeoutDefault bounds one forwarded attempt, so a request sent to a
	// leader that died silently is retried elsewhere before its deadline.
	AttemptTimeoutDefault = 3 * time.Second
	// RetryBackoffDefault is the first pause between retries; it doubles up to
	// RetryBackoffMaxDefault.
	RetryBackoffDefault = 5 * time.Millisecond
	// RetryBackoffMaxDefault caps the pause between retries.
	RetryBackoffMaxDefault = 200 * time.Millisecond
	// RequestBytesMax bounds an internal RPC request body.
	RequestBytesMax = 8 << 20
	// ResponseBytesMax bounds an internal RPC response body (listings included).
	ResponseBytesMax = 64 << 20
	// NotifyBufferLen is the NotifyCh buffer; the channel is always drained too.
	NotifyBufferLen = 64
	// VotersMax is the largest bootstrap voter set.
	VotersMax = 7
	// idFileName holds the persisted server id inside DataDir.
	idFileName = "node-id"
)

// Peer names one meta voter.
type Peer struct {
	// ID is the voter's stable raft server id.
	ID string `json:"id"`
	// Addr is the host:port of its mutual-TLS port, which carries both Raft and the
	// internal RPC (they are told apart by TLS ALPN).
	Addr string `json:"addr"`
}

// Config configures a Node.
type Config struct {
	// ID is the raft server id. Optional: when empty, the id persisted in DataDir is
	// used, or a new random one is generated and persisted on first start. A non-empty
	// ID that differs from the persisted one is an error (ErrIDMismatch).
	ID string
	// DataDir holds the raft log (raft/), the state machine (fsm/), snapshots
	// (snapshots/) and the server id (node-id). Required.
	DataDir string
	// BindAddr is the TCP address of the mutual-TLS port. Required.
	BindAddr string
	// Advertise is the address peers dial; default the bound address (which must then
	// be a specific IP).
	Advertise string
	// Bootstrap lists the initial voters (1, 3 or 5 typically, at most VotersMax). A
	// node bootstraps the cluster only when it has no raft state yet and its own ID
	// is in this list; every listed node must be given the identical list.
	Bootstrap []Peer
	// Join lists addresses of existing voters. A node with no raft state that is not
	// in Bootstrap asks them (any of them; followers forward) to add it as a voter.
	Join []string
	// ServerTLS is the mutual-TLS server configuration of the port. Required.
	ServerTLS *tls.Config
	// ClientTLS is the mutual-TLS client configuration for dialing peers. Required.
	ClientTLS *tls.Config

	// HeartbeatTimeout, ElectionTimeout, LeaderLeaseTimeout and CommitTimeout are
	// raft's timers; defaults are the ...Default constants. Tests use 100–300 ms.
	HeartbeatTimeout   time.Duration
	ElectionTimeout    time.Duration
	LeaderLeaseTimeout time.Duration
	CommitTimeout      time.Duration
	// SnapshotThreshold, SnapshotInterval and TrailingLogs are raft's snapshot
	// policy; defaults are the ...Default constants.
	SnapshotThreshold uint64
	SnapshotInterval  time.Duration
	TrailingLogs      uint64
	// SnapshotRetain is how many snapshots stay on disk; default 2.
	SnapshotRetain int
	// MaxAppendEntries is raft's append batch; default MaxAppendEntriesDefault, at
	// most 1024 (raft's limit).
	MaxAppendEntries int
	// RequestTimeout bounds requests whose context has no deadline; default
	// RequestTimeoutDefault.
	RequestTimeout time.Duration
	// AttemptTimeout bounds one forwarded attempt; default AttemptTimeoutDefault.
	AttemptTimeout time.Duration
	// RetryBackoff and RetryBackoffMax shape retries while no leader is reachable.
	RetryBackoff    time.Duration
	RetryBackoffMax time.Duration
	// FSMCacheBytes is the state machine's Pebble cache; 0 picks the fsm default.
	FSMCacheBytes int64

	// Logger receives the node's and raft's logs; default slog.Default().
	Logger *slog.Logger
	// Rand is the randomness for server ids and retry jitter; default crypto/rand.
	Rand io.Reader

	// machine opens the state machine; nil opens the metadata FSM. Tests inject a
	// trivial one.
	machine func(dir string, cfg *Config) (machine, error)
}

// EnsureDefaults fills zero fields with their defaults.
func (c *Config) EnsureDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.HeartbeatTimeout, HeartbeatTimeoutDefault)
	def(&c.ElectionTimeout, ElectionTimeoutDefault)
	def(&c.LeaderLeaseTimeout, LeaderLeaseTimeoutDefault)
	def(&c.CommitTimeout, CommitTimeoutDefault)
	def(&c.SnapshotInterval, SnapshotIntervalDefault)
	def(&c.RequestTimeout, RequestTimeoutDefault)
	def(&c.AttemptTimeout, AttemptTimeoutDefault)
	def(&c.RetryBackoff, RetryBackoffDefault)
	def(&c.RetryBackoffMax, RetryBackoffMaxDefault)
	if c.SnapshotThreshold == 0 {
		c.SnapshotThreshold = SnapshotThresholdDefault
	}
	if c.TrailingLogs == 0 {
		c.TrailingLogs = TrailingLogsDefault
	}
	if c.SnapshotRetain <= 0 {
		c.SnapshotRetain = SnapshotRetainDefault
	}
	if c.MaxAppendEntries <= 0 {
		c.MaxAppendEntries = MaxAppendEntriesDefault
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Rand == nil {
		c.Rand = rand.Reader
	}
}

// Validate reports every problem with the configuration.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("cluster: "+format, args...)) }
	if c.DataDir == "" {
		bad("DataDir is required")
	}
	if c.BindAddr == "" {
		bad("BindAddr is required")
	}
	if c.ServerTLS == nil {
		bad("ServerTLS is required")
	}
	if c.ClientTLS == nil {
		bad("ClientTLS is required")
	}
	if c.ID != "" {
		if err := validID(c.ID); err != nil {
			errs = append(errs, err)
		}
	}
	if len(c.Bootstrap) > VotersMax {
		bad("Bootstrap lists %d voters, at most %d", len(c.Bootstrap), VotersMax)
	}
	seenID, seenAddr := map[string]bool{}, map[string]bool{}
	for i, p := range c.Bootstrap {
		if err := validID(p.ID); err != nil {
			bad("Bootstrap[%d]: %v", i, err)
		}
		if err := dialable(p.Addr); err != nil {
			bad("Bootstrap[%d]: %v", i, err)
		}
		if seenID[p.ID] {
			bad("Bootstrap[%d]: duplicate ID %q", i, p.ID)
		}
		if seenAddr[p.Addr] {
			bad("Bootstrap[%d]: duplicate Addr %q", i, p.Addr)
		}
		seenID[p.ID], seenAddr[p.Addr] = true, true
	}
	if c.HeartbeatTimeout < 5*time.Millisecond || c.ElectionTimeout < 5*time.Millisecond {
		bad("HeartbeatTimeout and ElectionTimeout must be at least 5ms")
	}
	if c.LeaderLeaseTimeout > c.HeartbeatTimeout {
		bad("LeaderLeaseTimeout (%v) must not exceed HeartbeatTimeout (%v)", c.LeaderLeaseTimeout, c.HeartbeatTimeout)
	}
	if c.MaxAppendEntries > 1024 {
		bad("MaxAppendEntries (%d) must be at most 1024", c.MaxAppendEntries)
	}
	if c.RetryBackoffMax < c.RetryBackoff {
		bad("RetryBackoffMax (%v) must be at least RetryBackoff (%v)", c.RetryBackoffMax, c.RetryBackoff)
	}
	return errors.Join(errs...)
}

// dialable checks that addr is a host:port peers can dial: not a wildcard IP and not
// port 0 (raft keeps bootstrap addresses in its configuration).
func dialable(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("address %q: %v", addr, err)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) || port == "0" || port == "" {
		return fmt.Errorf("address %q is not dialable", addr)
	}
	return nil
}

// IDBytesMax bounds a server id.
const IDBytesMax = 64

func validID(id string) error {
	if id == "" || len(id) > IDBytesMax {
		return fmt.Errorf("cluster: server id must be 1..%d bytes", IDBytesMax)
	}
	for _, r := range id {
		ok := r == '-' || r == '_' || r == '.' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
		if !ok {
			return fmt.Errorf("cluster: server id %q may hold only letters, digits, '-', '_' and '.'", id)
		}
	}
	return nil
}
