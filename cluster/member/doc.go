// Package member is this process's membership in the cluster's gossip pool: a thin
// owner of a hashicorp/memberlist instance that advertises the node's roles, addresses
// and zone, and turns memberlist's events into a debounced, race-free view of who is
// alive (DESIGN.md section 7).
//
// Membership is a hint. memberlist carries liveness and addresses; Raft decides what is
// authoritative. Consumers act on debounced snapshots (Subscribe), never on single
// events, so a flapping node does not churn anything.
//
// # Metadata format
//
// NodeMeta travels in memberlist's node metadata, at most MetaMaxBytes (512) bytes:
//
//	byte 0      MetaFormat (1)
//	bytes 1..   a JSON object with one-letter keys:
//	            "r" roles []string, "d" RPC address, "f" Raft address, "a" API address,
//	            "z" zone, "v" protocol version (uint32), "l" leaving (bool)
//
// Empty fields are omitted. Unknown keys and roles are ignored, so newer nodes can add
// fields without a new format byte. Encoding reports ErrMetaTooLarge instead of letting
// memberlist panic; decoding a peer's bytes is an error path (ErrBadMeta), never a panic.
//
// # Departures
//
// memberlist does not say whether a node left or failed in a way that survives every
// path, so Leave first advertises Leaving=true (peers see StateLeaving), waits
// LeaveGrace for it to spread, then sends memberlist's leave message. Close alone is a
// hard stop that peers detect by probing. Dead nodes are dropped by memberlist after a
// while and never contacted again, so the pool re-joins its seeds every RejoinInterval
// while any of them is missing; DeadNodeReclaimTime lets a node come back under its
// name from a new address.
//
// # Keys
//
// All gossip is AES-GCM encrypted with SecretKey and authenticated with Label. A pool
// with another key, another label or no encryption cannot join. SecondaryKeys are
// accepted but never sent with, which allows rotation by rolling restart. Membership is
// as separate as the keys: a node that shares a key with any member can learn the pool
// through that member.
//
// # Concurrency
//
// A Pool is safe for concurrent use. It owns two goroutines (the debouncer and the
// seed re-joiner); Close and Leave stop and join them. memberlist's callbacks only copy
// data under a mutex and signal a buffered channel, so they never block gossip, and the
// mutex is never held while calling into memberlist. Snapshots handed out are copies.
//
// Suspicion is not exposed: memberlist keeps suspect nodes in its member list and
// gives no race-free way to read a node's state outside its callbacks, so a Member is
// StateAlive until memberlist declares it dead, or StateLeaving once it says so itself.
package member
