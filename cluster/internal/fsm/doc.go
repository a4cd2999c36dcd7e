// Package fsm is Coffer's metadata state machine: it applies meta commands from the
// Raft log to a Pebble database and serves reads of the current state. *FSM implements
// raft.FSM and raft.BatchingFSM (DESIGN.md section 4).
//
// # Concurrency
//
// Apply, ApplyBatch, Snapshot and Restore are called by raft from one goroutine and
// never concurrently with each other. Read methods (GetBucket, ListObjects, ...) may be
// called from any number of goroutines at any time, also during Apply and Restore; they
// see the state after some complete raft batch (never half of a command, never half of
// a restore). Linearizability of reads is the caller's job (leader + VerifyLeader).
// FSMSnapshot.Persist runs concurrently with Apply on an immutable Pebble snapshot.
// Close must be the last call.
//
// # Determinism
//
// Apply is a pure function of (state, log entry): no clock, randomness or I/O beyond
// its own Pebble writes. Every failure is returned as a *meta.Result with a stable
// code, never a panic; an entry that fails to decode yields a CodeMalformed result. A
// command either applies completely or not at all: its writes are staged in an overlay
// and folded into the raft batch only on success.
//
// # Idempotency and replay
//
// The applied raft index is written in the same Pebble batch as the commands (as are
// the stats and the garbage sequence number, which the apply goroutine keeps in
// memory between batches), and entries with an index at or below the stored one are
// skipped, so replaying the log tail over an
// already-populated database after a restart (NoSnapshotRestoreOnStart) is safe.
// The encoded result of every command is stored under its request id; a repeated
// request id whose original was applied at index i is answered with the stored
// result, unchanged state, while the current index is at most i+RequestWindow (a
// constant shared by all voters, so every voter decides alike). Older entries are
// garbage-collected at the end of each batch; the window check, not the collection,
// decides, so batch boundaries (which differ between voters) do not matter.
//
// # Key layout
//
// One Pebble database, keyspaces under one-byte prefixes. BE = big-endian.
//
//	0x00 'F'                               format: "COFFERFSM" ‖ version byte (1)
//	0x00 'A'                               applied raft index, 8 bytes BE
//	0x00 'G'                               last garbage sequence number, 8 bytes BE
//	0x00 'S'                               meta.Stats
//	0x00 'R'                               meta.KeyRing
//	0x00 'L'                               meta.ClusterLayout
//	0x01 bucket                            meta.Bucket
//	0x02 bucket 0x00 key                   current object version (object value below)
//	0x03 bucket 0x00 key 0x00 uploadID(16) meta.Upload
//	0x04 bucket 0x00 key 0x00 uploadID(16) part(4 BE)
//	                                       meta.Part
//	0x05 accessKeyID                       meta.User
//	0x06 mkv(4 BE)                         census: DEKs sealed under master-key version mkv,
//	                                       8 bytes BE (current versions + open uploads)
//	0x07 cmkID                             meta.CMK
//	0x08 seq(8 BE)                         meta.GarbageItem
//	0x09 mkv(4 BE) kind bucket 0x00 key 0x00 id(16)
//	                                       master-key index (empty value); kind 'o' for an
//	                                       object version, 'u' for an upload
//	0x0A requestID(16)                     index(8 BE) ‖ meta.EncodeResult bytes
//	0x0B index(8 BE) requestID(16)         idempotency eviction order (empty value)
//	0x0C shardsID(16)                      live shard set: kind ('o' current version,
//	                                       'u' open upload part) ‖ uvarint part ‖
//	                                       version or upload id(16) ‖ bucket ‖ 0x00 ‖ key
//
// Record values are a version byte (1) followed by the JSON of the record. An object
// value starts with a summary header that listing decodes without touching the rest:
//
//	1 byte version (2) | uvarint size | varint created | uvarint len, ETag |
//	uvarint len, owner | uvarint len, storage class | meta.AppendVersion bytes
//
// Bucket names and object keys never contain NUL (meta validation), so the separators
// are unambiguous and key order within a bucket is byte order of the object key.
//
// # Snapshot stream
//
//	header  8 bytes magic "COFSNAP1" | 4 bytes BE version (1)
//	record  byte 'K' | uvarint key length | key | uvarint value length | value
//	trailer byte 'E' | 8 bytes BE record count | 4 bytes BE CRC-32C (Castagnoli) of
//	        every byte before the CRC
//
// followed by end of stream. Keys are at most SnapshotKeyBytesMax and values at most
// SnapshotValueBytesMax bytes. Persist streams all keys of a Pebble snapshot taken in
// Snapshot (which returns at once).
//
// # Restore
//
// The database lives in Dir/db-<generation>; Dir/CURRENT names the live generation
// (written when the state machine is created; Open refuses to start empty when the
// generation it names is missing).
// Restore writes the stream into a fresh generation directory, and only after the
// trailer checks out (magic, version, count, CRC) and the data is synced does it
// atomically replace CURRENT (write temp, sync, rename, sync dir) and swap the open
// database under the read lock. A damaged stream leaves the old state untouched and
// visible throughout; Open removes generations that CURRENT does not name (leftovers
// of a restore that crashed). The retired database is closed once the last snapshot
// reading it is released.
package fsm
