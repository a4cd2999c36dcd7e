// Package cluster runs Coffer's metadata Raft group and gives the rest of the system
// a narrow client for it (DESIGN.md sections 4 and 7).
//
// A Node is one meta voter: hashicorp/raft over a Pebble log and stable store
// (internal/raftstore, in DataDir/raft), the metadata state machine
// (internal/fsm, in DataDir/fsm), a file snapshot store (DataDir/snapshots, two
// retained) and one mutual-TLS TCP port that carries both Raft and the internal RPC,
// told apart by TLS ALPN (internal/transport). Because the two share a port, the
// leader address raft reports is also the leader's RPC address.
//
// A Client (Node.Client in process, NewClient over the network) offers typed
// metadata operations; each write gets a fresh request id from the injected
// randomness and keeps it across retries, so retrying after a lost leader or a
// timeout never applies a command twice (the state machine deduplicates by id).
//
// # Lifecycle
//
// Start opens the stores, then bootstraps the group only when raft has no existing
// state and this node's id is in Config.Bootstrap (every listed voter must get the
// identical list; a restarted node never bootstraps again). A node with no state that
// is not in the list asks Config.Join addresses to add it as a voter. The server id is
// generated once and persisted in DataDir/node-id. raft's NoSnapshotRestoreOnStart is
// set: the state machine is persistent and skips log entries it already applied.
// Close hands leadership to another voter first when this node leads; Abort stops
// without doing so, like a crash.
//
// # Writes and reads
//
// Writes go to the leader: a follower forwards the encoded command to the leader's
// RPC and returns the encoded result. Reads are linearizable by default: the leader
// serves them after confirming leadership with a quorum (VerifyLeader), relying on a
// barrier it ran when its leadership began; followers forward them. ReadOptions.Stale
// serves a read from the local state machine instead. Every retryable condition (not
// leader, leadership lost or in transfer, no leader known, peer unreachable) is
// retried with capped exponential backoff until the context's deadline (or
// Config.RequestTimeout when it has none); then the request fails with
// ErrUnavailable. A request never hangs past its deadline.
//
// # Concurrency
//
// Node and Client are safe for concurrent use. Randomness (server ids, request ids,
// retry jitter) is injected through Config.Rand and ClientConfig.Rand; raft and the
// retry backoff use real timers. A Node owns its goroutines — the
// NotifyCh drain loop (raft's leadership notifications are always drained), the RPC
// server, the leadership barrier, waiters on raft futures — and Close joins them
// after raft has shut down. In-flight requests hold the node open until they end.
//
// # Observability
//
// Node.Collector exports raft state (leader, term, commit and applied index) and
// request counters (served locally, forwarded, retried, unavailable) to Prometheus;
// raft's own logs go through an hclog-to-slog adapter into Config.Logger.
//
// # Internal RPC
//
// HTTP/1.1 under /coffer/v1/ on the mutual-TLS port; see rpc.go for the endpoints.
// Only the leader serves applies, linearizable reads, joins and removals; others
// answer 503 with a leader hint, so a request travels at most one hop. Errors keep
// their identity across the wire: result codes of the state machine (meta.Code) map
// back to the meta sentinels, so errors.Is works on a caller far from the leader.
package cluster
