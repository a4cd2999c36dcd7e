// Package sse is Coffer's server-side encryption: the encrypted object stream, data keys
// and their sealing, per-part keys for multipart uploads, the master-key ring, the SSE-C
// primitives, and the small KMS interface the gateway consumes (DESIGN.md sections 5.1
// and 6).
//
// # Object stream
//
// An object (or one part of a multipart upload) is encrypted under its own 256-bit data
// key as a header followed by packages of PackagePlainBytes (64 KiB) of plaintext, each
// sealed with AES-256-GCM:
//
//	header   = magic "CFSE" (4) ‖ version 0x01 ‖ suite 0x01 ‖ reserved 0x0000 ‖ nonce prefix (4)
//	package  = AES-256-GCM(key, nonce = prefix ‖ uint64be(index),
//	                       aad = header ‖ final flag (0x00 or 0x01), plaintext) ‖ tag (16)
//
// Every stream has at least one package; only the last one carries the final flag and it
// is the only one that may be shorter than 64 KiB (it is empty exactly when the plaintext
// is). So CiphertextSize(n) = HeaderBytes + n + TagBytes*max(1, ceil(n/64 KiB)). The
// header is authenticated by every package, the index by the nonce and the end of the
// stream by the final flag, so bit flips, truncation, reordering, duplication, splicing
// between streams and a dropped final package all fail with ErrAuth or ErrTruncated.
// sse/FORMAT.md documents the layout byte by byte; testdata/ holds known-answer vectors.
//
// Decryption fails closed: a Decrypter never returns plaintext of a package whose tag
// has not verified. It does return verified packages before a later one fails, so a
// caller that streams the output (the gateway writing an HTTP response) must treat any
// error as "everything emitted so far is void" and abort the response instead of
// finishing it.
//
// # Keys
//
// Each object version gets a fresh data key (GenerateDEK). The DEK is sealed under a key
// encryption key with SealDEK; the additional data is the canonical, length-prefixed
// encoding of a Binding (bucket, key, version id, mode and key reference), so a sealed
// DEK cannot be moved to another object or mode. The KEK is, per mode:
//
//	none, sse-cos  a master-key version from the Ring (material sealed by the root key)
//	sse-kms        the plaintext data key returned by KMS.GenerateDataKey / KMS.Decrypt
//	sse-c          CustomerKEK(customer key, salt) (HKDF-SHA256); the server keeps only
//	               the salt and CustomerKeyMAC(customer key, salt)
//
// Multipart parts are independent streams under PartKey(upload DEK, part number, salt);
// AppendPartRanges splits an object range over the parts. IsCorrupt tells damaged or
// forged stored bytes from other failures.
// Key is the type of every secret here; it formats as a redaction under fmt, and no
// error of this package contains key material. Note that fmt cannot call methods on
// unexported struct fields, so never keep a Key in an unexported field of a value that
// may be printed.
//
// # Concurrency and ownership
//
// Encrypter and Decrypter are single-goroutine streams; they own one package-sized
// buffer each, reused for every package and across Reset, and do not allocate per
// package. Ring is an immutable value: every change returns a new Ring, so a *Ring may
// be shared freely. All other functions are pure and safe for concurrent use. Nothing
// here reads the clock or global randomness: callers pass time values and an io.Reader
// of randomness (crypto/rand.Reader in production).
package sse
