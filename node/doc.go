// Package node is a Coffer storage node: a durable store of erasure-coded shards
// (Store) and the shard RPC that serves it to gateways over mutual TLS (Server,
// Client). DESIGN.md sections 3, 5.2 and 8.
//
// # Shards
//
// A shard is identified by ShardID (object version id, part number, shard index) and
// stored as exactly the byte stream the gateway produced: the erasure header
// (erasure.HeaderSize bytes), then frames of digest‖block, every block
// Geometry.BlockSize bytes except a shorter last one. The header and the total length
// fix every frame boundary. Put verifies the header (it must parse and name the same
// version id and shard index as the ShardID) and every frame before it
// acknowledges; Get verifies every frame it returns. A stored byte that fails its
// digest is reported as an error that wraps the erasure corruption marker
// (erasure.IsCorrupt) and names the shard.
//
// Shards smaller than Config.InlineMaxBytes live inline in Pebble, in the same
// batch as their index record. Larger shards are files at
// shards/ab/cd/<version hex>-<part hex>-<index hex> (ab, cd: the first two bytes of
// the version id), written through the FS seam (os.Root on a real disk) as
//
//	pending mark → create temp → write+verify → fsync → rename → fsync(dir) → Sync commit of the index record
//
// and acknowledged only after the last step. A crash at any point leaves either no
// shard or the whole shard: Open removes temp files, files without an index record
// and pending marks, and finishes queued unlinks. The pending mark is written
// without its own fsync (the commit's WAL sync makes it durable), so Open does not
// trust it alone: it also walks the shard tree once. Replace first deletes the old
// record durably, so a crash during healing leaves the shard missing, never the old
// record paired with new bytes. Deletes commit the removal and a garbage entry in
// one Sync batch, then unlink; Sweep and Open retry unlinks that failed.
//
// # Index layout (one Pebble DB per node, directory "index")
//
// Keys are a one-byte kind followed by a fixed-width binary ShardID key
// (16-byte version id, 4-byte big-endian part, 2-byte big-endian index):
//
//	'r' id  → shard record (below)
//	'd' id  → inline shard bytes (only for inline shards)
//	'p' id  → pending mark (empty value): a file put of id is in progress; its temp file is <final name>.tmp
//	'g' seq → garbage: the binary key of a shard whose file is still to unlink (seq: 8-byte big-endian)
//	'm' "format" → store format: magic "CFNI", version 1
//
// Records sort by version id, so all shards of a version are one key range. A shard
// record is
//
//	magic "CFSR" (4) | version 1 (1) | location (1: 0 inline, 1 file) | size u64 BE (8) |
//	created unix ns i64 BE (8) | header length u16 BE (2) | header bytes | CRC-32C of all previous bytes (4)
//
// # Concurrency
//
// A Store is safe for concurrent use. Puts, Replaces and Deletes of the same ShardID
// are serialised by a per-id lock; operations on different ids run in parallel, at
// most Config.PutsMax puts at a time. Concurrent durable commits share WAL fsyncs
// (Pebble group commit). A reader returned by Get is used by one goroutine and must
// be closed. The only goroutine a Store starts is the optional sweeper loop, owned
// by the Sweeper returned from StartSweeper and joined by its Stop.
//
// # Health
//
// The store counts read errors, write errors and corruptions. It turns read-only
// (Put returns ErrReadOnly) while free space is below Config.FreeBytesMin, and for
// the rest of its life after Config.WriteErrorsMax consecutive write errors or any
// "no space" error. Health reports all of it.
//
// # Maintenance
//
// Sweep removes orphans (shards of versions metadata does not know, after
// Config.SweepGrace), finishes queued unlinks and removes stray files; StartSweeper
// runs it periodically. Scrub re-reads and verifies every shard and reports the
// corrupt or unreadable ones for healing. Both run beside live traffic.
//
// # RPC
//
// The shard RPC is HTTP/1.1 with streaming bodies under versioned paths:
//
//	PUT    /shard/v1/{version hex}/{part}/{index}   body: the shard (Content-Length required)
//	GET    /shard/v1/{version hex}/{part}/{index}   optional "Range: bytes=a-b"
//	HEAD   /shard/v1/{version hex}/{part}/{index}   stat
//	DELETE /shard/v1/{version hex}/{part}/{index}
//	GET    /shard/v1/{version hex}                  list shard ids of a version
//	DELETE /shard/v1/{version hex}                  delete all shards of a version
//	GET    /shard/v1/health
//
// Every request carries the header Coffer-Shard-Protocol: 1 (another value: 400
// with code "protocol"). A PUT with Coffer-Replace: 1 is a Replace. Errors carry a
// machine-readable code in Coffer-Error ("not-found", "exists", "read-only",
// "too-large", "invalid", "corrupt", "range", "busy", "protocol", "internal") that
// Client maps back to this package's sentinels (corrupt: the erasure corruption
// marker). Requests beyond ServerConfig.StreamsMax get 503 "busy" with Retry-After.
// A body that makes no progress for ServerConfig.StallTimeout loses its connection.
// A GET verifies frame 0 of its range before answering; a corrupt frame met after
// the response started aborts the connection, and Client reports any body shorter
// than announced as an error. Connections are HTTP/1.1 keep-alive (no HTTP/2), with
// mutual TLS when configured.
package node
