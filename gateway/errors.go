package gateway

import (
	"context"
	"errors"
	"net/http"

	"github.com/coffer-io/coffer/cluster/meta"
	"github.com/coffer-io/coffer/erasure"
	"github.com/coffer-io/coffer/gateway/internal/auth"
	"github.com/coffer-io/coffer/gateway/internal/pipeline"
	"github.com/coffer-io/coffer/gateway/internal/wire"
	"github.com/coffer-io/coffer/sse"
)

// This file is the one place where errors of every layer become COS error codes.

// errorMap pairs sentinels of the lower layers with the code a client sees and,
// optionally, a client-safe message (empty: the code's default).
var errorMap = []struct {
	err  error
	code wire.Code
	msg  string
}{
	{meta.ErrBucketNotFound, wire.ErrNoSuchBucket, ""},
	{meta.ErrBucketExists, wire.ErrBucketAlreadyExists, ""},
	{meta.ErrBucketNotEmpty, wire.ErrBucketNotEmpty, ""},
	{meta.ErrObjectNotFound, wire.ErrNoSuchKey, ""},
	{meta.ErrPreconditionFailed, wire.ErrPreconditionFailed, ""},
	{meta.ErrUploadNotFound, wire.ErrNoSuchUpload, ""},
	{meta.ErrInvalidPart, wire.ErrInvalidPart, ""},
	{meta.ErrInvalidPartOrder, wire.ErrInvalidPartOrder, ""},
	{meta.ErrEntityTooSmall, wire.ErrEntityTooSmall, ""},
	{meta.ErrUserNotFound, wire.ErrInvalidAccessKeyID, ""},
	{meta.ErrInvalidArgument, wire.ErrInvalidArgument, ""},
	{pipeline.ErrBadDigest, wire.ErrBadDigest, ""},
	{pipeline.ErrSize, wire.ErrIncompleteBody, ""},
	{pipeline.ErrQuorum, wire.ErrServiceUnavailable, ""},
	{sse.ErrSSECIncomplete, wire.ErrInvalidArgument, "Requests specifying server-side encryption with customer-provided keys must provide the algorithm, the key and its MD5."},
	{sse.ErrSSECAlgorithm, wire.ErrInvalidArgument, "The SSE-C encryption algorithm must be AES256."},
	{sse.ErrSSECKey, wire.ErrInvalidArgument, "The secret key was invalid for the specified algorithm."},
	{sse.ErrSSECKeyMD5, wire.ErrInvalidArgument, "The calculated MD5 hash of the key did not match the hash that was provided."},
	{sse.ErrSSECKeyMismatch, wire.ErrAccessDenied, ""},
	{errSSECInsecure, wire.ErrInvalidRequest, "Requests specifying Server Side Encryption with Customer provided keys must be made over a secure connection."},
	{errSSECBlocked, wire.ErrAccessDenied, "Server-side encryption with customer-provided keys is blocked on this bucket."},
	{errSSECRequired, wire.ErrSSECDecryptHeaderInvalid, ""},
	{errSSECNotApplicable, wire.ErrInvalidRequest, "The encryption parameters are not applicable to this object."},
	{errSSECCopyRequired, wire.ErrInvalidRequest, "The copy source was stored using SSE-C; the copy-source encryption parameters must be provided."},
	{errSSECCopyNotSSEC, wire.ErrInvalidRequest, "The copy-source encryption parameters are not applicable to the source object."},
	{errSSECPartRequired, wire.ErrInvalidRequest, "The multipart upload initiate requested encryption. Subsequent part requests must include the appropriate encryption parameters."},
	{errSSECPartNotSSEC, wire.ErrInvalidRequest, "The multipart upload initiate did not request SSE-C; the part must not carry customer-key parameters."},
	{sse.ErrKMSKeyNotFound, wire.ErrKmsKeyNotExist, ""},
	{sse.ErrKMSKeyDisabled, wire.ErrKmsKeyDisabled, ""},
	{meta.ErrCMKNotFound, wire.ErrKmsKeyNotExist, ""},
}

// toWire converts any error to the protocol error to send.
func toWire(err error) *wire.Error {
	var we *wire.Error
	if errors.As(err, &we) {
		return we
	}
	var ae *auth.Error
	if errors.As(err, &ae) {
		return &wire.Error{Code: wire.Code(ae.Code), Status: ae.Status, Message: ae.Message, Err: err}
	}
	for _, m := range errorMap {
		if errors.Is(err, m.err) {
			e := wire.Wrap(m.code, err)
			if m.msg != "" {
				e.Message = m.msg
			}
			return e
		}
	}
	var c wire.Code
	if errors.As(err, &c) {
		return wire.Wrap(c, err)
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return wire.Wrap(wire.ErrServiceUnavailable, err)
	case erasure.IsCorrupt(err), sse.IsCorrupt(err):
		// Stored data failed its checks beyond what parity could repair. The cause
		// stays internal; the client sees a server error.
		return wire.Wrap(wire.ErrInternalError, err)
	}
	return wire.AsError(err)
}

func (s *Server) writeError(w http.ResponseWriter, q *request, err error) {
	e := toWire(err)
	if e.Resource == "" {
		e.Resource = q.r.Host + q.r.URL.EscapedPath()
	}
	if e.Code == wire.ErrInternalError || e.Code == wire.ErrServiceUnavailable {
		s.cfg.Logger.Warn("request failed", "request_id", q.id, "op", q.op.String(), "error", err.Error())
	}
	if q.r.Method == http.MethodHead {
		wire.WriteErrorHeader(w, e, q.id)
		return
	}
	wire.WriteError(w, e, q.id)
}
