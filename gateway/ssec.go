package gateway

import (
	"errors"
	"net/http"

	"github.com/coffer-io/coffer/cluster/meta"
	"github.com/coffer-io/coffer/gateway/internal/wire"
	"github.com/coffer-io/coffer/sse"
)

// SSE-C (cos-api.md section 3, DESIGN.md section 6.1).
//
// The customer sends the key on every request that writes or reads the object. The
// gateway keeps only a random salt and HMAC(key, salt) in the version (or upload)
// record, and seals the object's data key under HKDF(key, salt) with a binding of
// mode sse-c, so the metadata cluster never holds anything that opens the data without
// the customer's key. The key lives in gateway memory for the request only and is
// never logged, echoed or put in an error: responses echo its algorithm and MD5.
//
// Rules:
//   - SSE-C headers on plain HTTP are refused (400 InvalidRequest) unless
//     Config.AllowSSECOverHTTP; the key has then already crossed the network, but
//     the client learns to stop.
//   - A bucket whose SSE-C policy is blocked refuses SSE-C writes with 403
//     AccessDenied (as S3 does for blocked encryption types); reads, and parts of
//     uploads initiated before the block, are not affected.
//   - GET/HEAD of an SSE-C object without a key: 400 SsecDecryptHeaderInvalid; with
//     the wrong key: 403 AccessDenied; with a malformed key or key MD5: 400
//     InvalidArgument; SSE-C headers for an object not stored under SSE-C: 400
//     InvalidRequest. The same holds for the copy-source headers of a copy, and
//     for the parts of an SSE-C upload (Upload Part, Upload Part - Copy), whose
//     part keys derive from the upload's data key and so need the upload's key.
//   - Anonymous requests never read SSE-C objects (objectForRead).

// Errors of SSE-C requests; errors.go maps them to codes and messages.
var (
	errSSECInsecure      = errors.New("gateway: SSE-C request over plain HTTP")
	errSSECBlocked       = errors.New("gateway: SSE-C writes are blocked on this bucket")
	errSSECRequired      = errors.New("gateway: object is stored under SSE-C; no customer key given")
	errSSECNotApplicable = errors.New("gateway: customer key given for an object not stored under SSE-C")
	errSSECCopyRequired  = errors.New("gateway: copy source is stored under SSE-C; no copy-source customer key given")
	errSSECCopyNotSSEC   = errors.New("gateway: copy-source customer key given for a source not stored under SSE-C")
	errSSECPartRequired  = errors.New("gateway: upload is under SSE-C; part request carries no customer key")
	errSSECPartNotSSEC   = errors.New("gateway: customer key given for an upload not under SSE-C")
)

// customerKey is a validated SSE-C key of one request. Its String method (via
// sse.Key) never prints the key.
type customerKey struct {
	key sse.Key
	md5 string // base64 MD5 of the key, as echoed
}

// secure reports whether the request arrived over TLS, or plain HTTP is allowed
// for SSE-C.
func (s *Server) secure(q *request) bool {
	return q.r.TLS != nil || s.cfg.AllowSSECOverHTTP
}

// parseCustomer validates one SSE-C header (or form field) set: transport, base64
// 32-byte key, and its MD5.
func (s *Server) parseCustomer(q *request, k wire.CustomerKey) (*customerKey, error) {
	if !s.secure(q) {
		return nil, errSSECInsecure
	}
	key, err := sse.ParseCustomerKey(k.Algorithm, k.Key, k.KeyMD5)
	if err != nil {
		return nil, err
	}
	return &customerKey{key: key, md5: sse.CustomerKeyMD5(key)}, nil
}

// requestCustomer returns the SSE-C key of a parsed request, nil when it has none.
func (s *Server) requestCustomer(q *request, req wire.SSERequest) (*customerKey, error) {
	if req.Mode != wire.SSEC {
		return nil, nil
	}
	return s.parseCustomer(q, req.Customer)
}

// copySourceCustomer returns the copy-source SSE-C key of a parsed request, nil when
// it has none.
func (s *Server) copySourceCustomer(q *request, req wire.SSERequest) (*customerKey, error) {
	if req.CopySource == nil {
		return nil, nil
	}
	return s.parseCustomer(q, *req.CopySource)
}

// objectSSE resolves how a new object (or upload) is protected from the SSE part of
// its request: the mode (writeMode: request headers, else the bucket default) and,
// for SSE-C, the validated customer key.
func (s *Server) objectSSE(q *request, req wire.SSERequest, b *meta.Bucket) (meta.SSEMode, *customerKey, error) {
	mode, err := s.writeMode(req, b)
	if err != nil {
		return "", nil, err
	}
	ck, err := s.requestCustomer(q, req)
	return mode, ck, err
}

// checkCustomer checks a request's customer key against the SSE record of an object
// or upload: required, and matching, exactly when the record is SSE-C. missing and
// notApplicable are the errors for a key that is absent or superfluous.
func checkCustomer(rec meta.SSE, ck *customerKey, missing, notApplicable error) error {
	if rec.Mode != meta.ModeSSEC {
		if ck != nil {
			return notApplicable
		}
		return nil
	}
	if ck == nil {
		return missing
	}
	return sse.VerifyCustomerKey(ck.key, rec.CustomerSalt, rec.CustomerHMAC)
}

// setCustomerEcho sets the SSE-C response headers (algorithm and key MD5, never the
// key) for a request whose key was used; ck nil sets nothing.
func setCustomerEcho(h http.Header, q *request, ck *customerKey) {
	if ck != nil {
		wire.SetSSEHeaders(h, q.dialect(), wire.SSEC, "", ck.md5)
	}
}
