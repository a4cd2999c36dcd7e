// Package wire defines what the bytes of the COS/S3 protocol mean: the error model
// and its XML body, the XML request and response bodies of every operation the
// gateway serves, the parsing of request headers (SSE, Range, conditionals, copy
// source, user metadata, Content-MD5, canned ACLs, response-* overrides) and the
// named protocol limits.
//
// It is a leaf of the gateway: it knows nothing of storage, metadata or
// authentication. Query strings arrive already parsed (gateway/internal/auth owns
// the raw query parser); bodies arrive as io.Readers and are read up to a named
// limit.
//
// Concurrency: every function is pure or writes only to the http.ResponseWriter /
// http.Header it is given; nothing is shared, the package starts no goroutines and
// has no mutable state. All exported types are plain values owned by the caller.
//
// Invariants:
//   - every byte that comes from the network is an error path, never a panic;
//     a decoder reads at most its named limit (XMLBodyMax, CompleteBodyMax, ...);
//   - every failure is an *Error carrying the COS/S3 code and HTTP status, and
//     errors.Is(err, ErrNoSuchKey) (any Code constant) matches it;
//   - an SSE-C customer key never appears in an error, a message or a String
//     method; ParseSSE checks presence combinations only, the sse package decodes
//     and checks the key itself;
//   - responses use the dialect the SDKs parse: no XML namespace, timestamps in
//     ISO 8601 UTC with milliseconds ("2006-01-02T15:04:05.000Z"), ETags quoted.
//
// Formats: a ListObjectsV2 continuation token (ContinuationToken) is
// base64url without padding of one version byte (1) followed by the key the
// listing resumes after; a token of another version is rejected, never
// misread.
//
// References: docs/cos-api.md §1–§6 (COS XML API as the COS Go and Node SDKs use
// it); AWS S3 API reference for the S3 dialect; RFC 9110 §13 (conditional
// requests) and §14 (range requests).
package wire
