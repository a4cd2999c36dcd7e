// Package gateway is Coffer's public endpoint: it speaks the COS XML API and the S3
// dialect over HTTP(S), authenticates requests (COS q-sign, AWS SigV4, POST forms),
// and runs every object through the data path of DESIGN.md section 3 — encrypted at
// rest under a per-version data key, erasure-coded across storage nodes, committed
// through the metadata cluster.
//
// A Server is an http.Handler. It keeps no state of its own beyond caches (the
// unsealed master-key ring, node clients); everything authoritative lives in the
// metadata cluster (Meta) and on the storage nodes (Shards). Any number of gateways
// can serve the same cluster.
//
// Request flow: request id → health endpoints → query parse → address resolution
// (virtual-host or path-style) → operation dispatch → authentication → access check
// → operation. Errors of every layer are mapped to COS error codes in one place
// (errors.go); every response carries x-cos-request-id.
//
// Invariants:
//   - An object is visible only after its metadata commit; a PUT that fails before
//     it leaves only orphan shards, which the storage nodes' sweepers remove.
//   - Plaintext never reaches a storage node: every object, also one stored without
//     SSE headers, is sealed under a data key that is itself sealed by the master-key
//     ring (mode "none" in the binding).
//   - No secret (data key, customer key, secret key, signature) is logged or put in
//     an error sent to a client.
//
// Concurrency: a Server is safe for concurrent use; each request runs on its own
// goroutine and owns its buffers. Background work (garbage collection) is started
// by Run and stopped by cancelling its context.
package gateway
