// Package placement decides which storage node holds each shard of an object version.
//
// It is a pure function of (version id, shard count, candidate nodes): no clock, no
// randomness, no I/O and no state. The same inputs give the same layout on every
// gateway, whatever the order of the candidate list. The result is recorded in the
// version record (DESIGN.md section 7), so placement only has to be good when a
// version is written or healed; it never has to find data again later.
//
// # Algorithm
//
// Every candidate gets a rendezvous (highest-random-weight) score for the version:
// FNV-1a 64 over version id ‖ node id, finished with the murmur3 fmix64 mixer. With
// weights, the score is the weighted-rendezvous key w / -ln(u) where u is the hash
// mapped into (0,1) (Schindelhauer and Schomaker, "Weighted distributed hash tables",
// 2005); when all weights are equal the integer hash is compared directly, so the
// common case has no floating point. Ties (two equal scores) break on the node id.
//
// Zones are ranked by the best score of their nodes. Shards are then filled one at a
// time: each takes the best unused node of the zone that holds the fewest shards of
// this version so far, ties going to the better-ranked zone. This is a round robin over
// zones in rank order, so no zone holds more than ceil(shards/zones) shards while every
// zone still has unused nodes; only when zones run out of nodes do the others take
// more ("then fill"). Nodes without a zone form one zone named "".
//
// # Movement
//
// Without zones the chosen set is the top shards nodes by score, so:
//   - removing a node that holds no shard of a version changes nothing for it;
//   - removing a node that holds one replaces exactly that node in the set;
//   - adding a node changes the set of a version with probability shards/(n+1), and
//     then replaces exactly one node.
//
// Shard indices are another matter. No memoryless function can keep every surviving
// node on its index when a node leaves once shards ≥ 3: an exhaustive search over all
// layouts for 3 shards and 5 nodes finds none. Place therefore numbers shards in pick
// order, and Repair exists for layouts that already exist: it keeps every surviving
// holder on its index and refills only the lost ones with the same ranking. Healing
// uses Repair, so a node's departure moves exactly the shards it held.
//
// With zones, removing or adding a node can change a zone's rank or the per-zone quota
// and so move a few more shards of the versions it touches; tests assert the measured
// bound (at most twice the no-zone movement).
//
// # Concurrency
//
// Place and Repair are safe for concurrent use. They allocate nothing when dst has
// room for the result: scratch space comes from an internal pool.
//
// # Limits
//
// ShardsMax bounds the shard count (the Reed–Solomon limit, 256) and NodesMax the
// candidate list, so one call does bounded work.
package placement
