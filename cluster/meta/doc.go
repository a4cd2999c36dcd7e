// Package meta is the metadata model of Coffer: the records the Raft state machine
// keeps (buckets, object versions, multipart uploads and parts, users, the master-key
// ring, KMS customer master keys, the storage layout, the garbage queue), the typed
// commands that change them, the results those commands produce, and the listing
// option and result types. It is pure: no I/O, no clock, no randomness. Times are unix
// nanoseconds chosen by the caller (the gateway) and carried inside commands, so the
// state machine that applies them stays deterministic (DESIGN.md section 4).
//
// # Concurrency
//
// Records, commands and results are plain values. Nothing in this package is shared or
// mutated behind the caller's back; values are safe for concurrent reads and owned by
// whoever holds them. EncodeCommand and DecodeCommand never retain their arguments: the
// returned slices and structs are fresh allocations owned by the caller.
//
// # Invariants
//
//   - Every command carries a 16-byte RequestID. The state machine applies a request id
//     at most once inside its idempotency window and answers repeats with the stored
//     Result.
//   - Commands that change key state carry compare-and-set guards (ring epoch, layout
//     epoch, CMK revision, expected current version, expected sealed DEK).
//   - A Result survives serialization: DecodeResult(EncodeResult(r)).Err() satisfies
//     errors.Is against the same sentinel as r.Err(), so a forwarding follower can pass
//     results back to a gateway unchanged.
//   - Bucket names contain no NUL byte and object keys contain no NUL byte (Validate
//     rejects them), so the state machine may use NUL as a separator in its keys.
//
// # Command wire format
//
// EncodeCommand produces the bytes of one Raft log entry:
//
//	offset size  field
//	0      2     magic 0xC0 0xFE
//	2      1     envelope format version (EnvelopeVersion = 1)
//	3      1     command type (CommandType; values never change)
//	4      1     body version: 1 = JSON, any type; 2 = binary, CommitObject only
//	5      16    request id
//	21     n     body. Version 1: the command struct as JSON (encoding/json; struct
//	             field order and sorted map keys make it deterministic), unknown fields
//	             rejected. Version 2: the binary CommitObject layout documented in
//	             binary.go (AppendVersion), no trailing bytes allowed.
//
// The whole entry is at most CommandBytesMax bytes. A Result is encoded the same way
// with magic 0xC0 0xFD, version 1, and the JSON of the Result after byte 3.
//
// Constants in this comment and the numeric values of CommandType and Code are part of
// the persisted Raft log: they must never change meaning. New fields are added as new
// body versions.
package meta
