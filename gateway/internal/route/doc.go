// Package route answers "which operation is this request": it resolves the
// bucket and key from the Host header and the raw request path (virtual-host or
// path-style addressing, cos-api.md §1) and dispatches (method, bucket, key,
// query parameter names, copy-source header) to an Op.
//
// Both steps are pure functions: Resolve over (Config, host, escaped path) and
// Dispatch over a Request value. The raw path must be r.URL.EscapedPath() (or
// RawPath), never a cleaned path: "%2F", "//", "/./" and ".." are legal inside
// keys and survive here, which is why the S3 front door cannot use
// http.ServeMux (deps.md §7).
//
// Concurrency: no state; a Config is a read-only value after Validate; the
// package starts no goroutines.
//
// Invariants: every input is an error path, never a panic; every failure is a
// *wire.Error (InvalidURI, InvalidBucketName, KeyTooLong, InvalidArgument,
// MethodNotAllowed, NotImplemented, PreconditionFailed) so the gateway can send
// it as is; a resolved bucket always passes wire.ValidBucketName and a resolved
// key wire.ValidKey.
package route
