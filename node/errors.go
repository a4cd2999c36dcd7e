package node

import "errors"

// Sentinel errors. Functions wrap them with the shard id and cause; test with errors.Is.
var (
	// ErrNotFound is returned by Get, Stat and Delete for a shard the node does not hold.
	ErrNotFound = errors.New("node: shard not found")
	// ErrExists is returned by Put when the shard exists with different bytes.
	ErrExists = errors.New("node: shard exists with different content")
	// ErrReadOnly is returned by Put while the store is read-only (see Health).
	ErrReadOnly = errors.New("node: store is read-only")
	// ErrTooLarge is returned by Put for a shard above Config.ShardMaxBytes.
	ErrTooLarge = errors.New("node: shard too large")
	// ErrInvalid is returned for a malformed shard (bad header, header not matching the
	// id, impossible length, short body) or a malformed request.
	ErrInvalid = errors.New("node: invalid shard")
	// ErrRange is returned by Get for a range outside the stored shard.
	ErrRange = errors.New("node: range out of bounds")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("node: store closed")
	// ErrUnavailable is returned by Client when the node cannot be reached or is
	// overloaded: dial errors, timeouts, connection resets, 5xx answers. It is
	// retryable against the same or another node.
	ErrUnavailable = errors.New("node: unavailable")
	// ErrProtocol is returned by Client when the peer speaks another protocol version
	// or answers something this package does not understand.
	ErrProtocol = errors.New("node: protocol error")
	// ErrIndexCorrupt is returned when a record in the node's own index fails its
	// checksum or does not parse.
	ErrIndexCorrupt = errors.New("node: index record corrupt")
	// ErrIndexFailed is returned after Pebble reported a fatal error (a failed WAL
	// write or sync). The store is read-only from then on; reopen it to recover.
	ErrIndexFailed = errors.New("node: index failed")
)
