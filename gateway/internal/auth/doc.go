// Package auth answers, for every request the gateway receives, "who sent this
// request, and is it intact".
//
// It verifies the three signature schemes a Coffer endpoint accepts:
//
//   - COS "q-sign" (HMAC-SHA1), from the Authorization header or from the seven
//     q-* presigned query parameters (or their merged sign= form);
//   - AWS Signature Version 4 (HMAC-SHA256), from the Authorization header or from
//     X-Amz-* presigned query parameters, including the aws-chunked streaming
//     payloads (signed chunks, unsigned chunks with a trailing checksum, and signed
//     chunks with a signed trailer);
//   - browser POST form uploads, in the COS and the S3 dialect, with policy
//     documents whose conditions are checked against the submitted fields.
//
// Verify returns an Identity and, for SigV4 requests whose payload is covered by
// the signature, a Body reader that the gateway must read instead of r.Body: it
// decodes aws-chunked framing, checks every chunk signature before it releases the
// chunk's bytes, and checks x-amz-content-sha256, trailing checksums and the
// decoded length, failing at EOF (never silently) when the payload does not match.
// A body is intact only if its reader returned io.EOF; the gateway must not commit
// an object whose body reader returned any other error.
//
// Concurrency: a Verifier is immutable after New and safe for concurrent use. The
// body readers it returns belong to one request and must be used by one goroutine.
// The package starts no goroutines.
//
// Invariants:
//   - every byte that comes from the network is an error path, never a panic;
//   - secrets, derived keys and expected signatures never appear in errors;
//     the package never logs;
//   - signatures are compared in constant time;
//   - a request with no Authorization header and no signature query parameter is
//     anonymous; any other shape of credentials is either verified or rejected,
//     never treated as anonymous.
//
// Using it from the gateway:
//
//	q, err := auth.ParseQuery(r.URL.RawQuery) // also for dispatch (?uploads, ?acl)
//	res, err := v.Verify(r, q)                // *auth.Error → <Error><Code>...
//	body := res.Body                          // never r.Body
//	size := res.DecodedLength                 // object size for aws-chunked bodies
//
// For aws-chunked bodies the gateway must drop "aws-chunked" from the stored
// Content-Encoding. POST Object: ReadPostForm reads the fields up to the file
// part, VerifyPost authenticates them and returns the policy, and CheckPolicy
// checks it once the file size is known (the caller adds the "bucket" field and
// substitutes ${filename} in key first). Temporary credentials
// (x-cos-security-token, X-Amz-Security-Token) are not validated here.
//
// Errors: every verification failure is an *Error carrying the COS/S3 error code, the HTTP
// status and a message that is safe to send to the client; errors.Is matches the
// sentinels (ErrSignatureMismatch, ErrExpired, ...) for branching.
//
// References: docs/cos-api.md sections 2 and 5.9 (q-sign, POST Object); AWS S3 API
// reference, "Authenticating Requests (AWS Signature Version 4)", including
// "Transferring Payload in Multiple Chunks" and "Including Trailing Headers".
package auth
