// Package erasure cuts an object into Reed–Solomon coded shards and reads byte ranges
// back from any k healthy shards, verifying every block it touches.
//
// # Model
//
// A Geometry is k data shards, m parity shards and a block size B (DefaultGeometry is
// 4+2 with 256 KiB blocks). The object is cut into stripes of k*B bytes; stripe s puts
// B consecutive object bytes into block s of each data shard and m parity blocks into
// block s of the parity shards. The last stripe of an object may be short: with rem
// bytes left its blocks are ceil(rem/k) bytes, the data zero-padded for the math. The
// padding is never returned; the caller keeps the true object size (Encode returns it)
// and passes it to Decode. The code is the systematic GF(2^8) Reed–Solomon code of
// klauspost/reedsolomon with its default matrix (CodeRSVandermonde), never Leopard.
//
// # Format
//
// A stored shard is a HeaderSize-byte header followed by one frame per stripe; a
// frame is a HashSize-byte digest followed by the block. Every block is BlockSize
// bytes but the shard's last, which is 1..BlockSize bytes, so the header and the
// stream length fix every frame boundary (FrameOffset, ShardSize, FrameLayout). An
// empty object has no frames. Header (big-endian):
//
//	off size field                 off size field
//	  0    4 magic "CFSH"             16   16 object version id
//	  4    1 format version (1)       32    1 code id (1 = Reed–Solomon, default matrix)
//	  5    1 hash id (1)              33   27 reserved, zero
//	  6    2 k                        60    4 CRC-32C (Castagnoli) of bytes 0..59
//	  8    2 m
//	 10    4 block size B
//	 14    2 shard index
//
// The digest is SHA-256(block)[0:16] followed by SHA-256("CFSB" || 1 || version id ||
// u16 shard index || u64 block number || SHA-256(block)[0:16])[0:16]. The first half
// checks a block alone (VerifyFrame); the second binds it to its object, shard and
// place (Header.VerifyFrame), so a shard of another object or swapped blocks are
// caught per block. FORMAT.md in this directory is the byte-by-byte reference, with
// golden files in testdata/. The format constants must never change.
//
// # Operations
//
//   - Encode / EncodeStripes (PUT): read the object once and produce the k+m shard
//     streams, to io.Writers or stripe by stripe to a callback.
//   - Decode (GET): write a byte range, reading only the stripes (and, when healthy,
//     only the data shards) that cover it, verifying every block, reconstructing
//     around missing, failing or corrupt shards.
//   - Rebuild (heal): write byte-identical replacements for lost shards.
//   - CheckShard, ParseHeader, VerifyFrame, Header.VerifyFrame (storage node, scrub):
//     check stored bytes without the rest of the object.
//
// # Errors
//
// Bad stored bytes are never a panic: they are errors for which IsCorrupt is true,
// carried by a *ShardError that names the shard and block where known. Decode and
// Rebuild work around up to m missing, failing or corrupt shards per stripe and list
// what they met in a Report, so the caller can queue healing; beyond m they fail with
// ErrTooFewShards. Panics are reserved for broken invariants of this package (bugs);
// the invariants build tag adds expensive self-checks.
//
// # Concurrency and memory
//
// A Codec is immutable and safe for concurrent use; New returns one shared Codec per
// Geometry, with one reedsolomon encoder and one pool of 64-byte-aligned stripe
// buffers. Every call streams: it holds one or two pooled stripe buffers ((k+m)
// blocks each) whatever the object size, and buffers handed to callbacks and writers
// are valid only during the call. Encode hashes and writes each shard from its own
// goroutine while the caller's goroutine reads and encodes the next stripe; Decode and
// Rebuild read and verify the shards of a stripe from at most ReadersMax goroutines.
// A call starts, stops and joins its goroutines itself; none outlives it. The package does no I/O of its own and imports only
// the standard library, reedsolomon and sha256-simd.
package erasure
