package wire

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
)

// SSEMode is the server-side encryption mode a request asks for.
type SSEMode uint8

// SSE modes. SSENone means no SSE header: the object is still encrypted at rest
// but reported as unencrypted (DESIGN.md §3).
const (
	SSENone SSEMode = iota
	SSECOS          // x-cos-server-side-encryption: AES256
	SSEKMS          // x-cos-server-side-encryption: cos/kms
	SSEC            // customer-provided key
)

func (m SSEMode) String() string {
	switch m {
	case SSENone:
		return "none"
	case SSECOS:
		return "sse-cos"
	case SSEKMS:
		return "sse-kms"
	case SSEC:
		return "sse-c"
	}
	return "invalid"
}

// SSEOp is the operation whose SSE headers are parsed; each accepts a different
// set (cos-api.md §3.2).
type SSEOp uint8

// Operations with distinct SSE header rules.
const (
	SSEOpPut            SSEOp = iota // PUT Object: SSE-COS/KMS or SSE-C
	SSEOpPost                        // POST Object: like PUT, from form fields (ParseSSEForm)
	SSEOpCopy                        // PUT Object - Copy: destination SSE + copy-source SSE-C
	SSEOpInitiate                    // Initiate Multipart Upload: like PUT
	SSEOpUploadPart                  // Upload Part: SSE-C only; SSE-COS/KMS headers tolerated and ignored
	SSEOpUploadPartCopy              // Upload Part - Copy: dest SSE-C + copy-source SSE-C; SSE-COS/KMS ignored
	SSEOpComplete                    // Complete: every SSE header accepted and ignored (Go SDK Upload())
	SSEOpRead                        // GET/HEAD Object: SSE-C only; x-cos-server-side-encryption is SSEHeaderNotAllowed
	SSEOpDelete                      // DELETE Object: every SSE header ignored
)

// AlgorithmSSEC is the only SSE-C algorithm.
const AlgorithmSSEC = "AES256"

// CustomerKey is an SSE-C header set as sent: the algorithm, the base64 key and
// the base64 MD5 of the key. The sse package decodes and checks the key; this
// package only checks that all three are present and the algorithm is AES256.
// Its String method never prints the key.
type CustomerKey struct {
	Algorithm string
	Key       string // base64 of the raw key; secret
	KeyMD5    string // base64 of MD5(raw key)
}

// String prints the algorithm and key MD5, never the key.
func (k CustomerKey) String() string {
	return "CustomerKey{Algorithm:" + k.Algorithm + " KeyMD5:" + k.KeyMD5 + " Key:[redacted]}"
}

// GoString is String, so %#v does not print the key either.
func (k CustomerKey) GoString() string { return k.String() }

// SSERequest is the parsed SSE part of a request.
type SSERequest struct {
	Mode SSEMode
	// Dialect is DialectS3 when the SSE headers used the x-amz- family; echo the
	// response headers in the same family.
	Dialect Dialect
	// KMSKeyID is the CMK id of SSE-KMS; empty means the default CMK.
	KMSKeyID string
	// KMSContext is the decoded encryption context of SSE-KMS (nil when absent);
	// KMSContextRaw is the header value as sent.
	KMSContext    map[string]string
	KMSContextRaw string
	// Customer is the SSE-C key when Mode is SSEC.
	Customer CustomerKey
	// CopySource is the copy-source SSE-C key (Copy, UploadPartCopy), or nil.
	CopySource *CustomerKey
}

// ParseSSE parses the SSE request headers of h for op (cos-api.md §3.1–3.4),
// accepting the x-cos- and x-amz- forms. Errors: SSEHeaderNotAllowed for
// x-cos-server-side-encryption (or a KMS header) on GET/HEAD;
// SSEContentNotSupported for a server-side-encryption value other than AES256
// or cos/kms (aws:kms); InvalidArgument for KMS headers without KMS, SSE-C
// together with SSE-COS/KMS, a partial SSE-C set, an SSE-C algorithm other than
// AES256, a malformed KMS key id or context, or x-cos-/x-amz- headers that
// disagree. Messages never contain the customer key.
func ParseSSE(h http.Header, op SSEOp) (SSERequest, error) {
	return parseSSE(h.Get, op)
}

// ParseSSEForm parses the SSE form fields of a POST Object (same names as the
// headers, matched case-insensitively).
func ParseSSEForm(fields map[string]string) (SSERequest, error) {
	lower := make(map[string]string, 8)
	for k, v := range fields {
		k = strings.ToLower(k)
		if strings.Contains(k, "server-side-encryption") {
			lower[k] = v
		}
	}
	return parseSSE(func(name string) string { return lower[strings.ToLower(name)] }, SSEOpPost)
}

// Header names in canonical form, so http.Header.Get does not allocate.
const (
	hdrSSE        = "X-Cos-Server-Side-Encryption"
	hdrSSEAmz     = "X-Amz-Server-Side-Encryption"
	hdrKMSKey     = "X-Cos-Server-Side-Encryption-Cos-Kms-Key-Id"
	hdrKMSKeyAmz  = "X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id"
	hdrContext    = "X-Cos-Server-Side-Encryption-Context"
	hdrContextAmz = "X-Amz-Server-Side-Encryption-Context"
	valueKMS      = "cos/kms"
	valueKMSAmz   = "aws:kms"
)

// customerNames are the three header names of one SSE-C set in both dialects.
type customerNames struct {
	alg, key, md5          string
	algAmz, keyAmz, md5Amz string
}

var (
	ssecNames = customerNames{
		"X-Cos-Server-Side-Encryption-Customer-Algorithm", "X-Cos-Server-Side-Encryption-Customer-Key", "X-Cos-Server-Side-Encryption-Customer-Key-Md5",
		"X-Amz-Server-Side-Encryption-Customer-Algorithm", "X-Amz-Server-Side-Encryption-Customer-Key", "X-Amz-Server-Side-Encryption-Customer-Key-Md5",
	}
	copySSECNames = customerNames{
		"X-Cos-Copy-Source-Server-Side-Encryption-Customer-Algorithm", "X-Cos-Copy-Source-Server-Side-Encryption-Customer-Key", "X-Cos-Copy-Source-Server-Side-Encryption-Customer-Key-Md5",
		"X-Amz-Copy-Source-Server-Side-Encryption-Customer-Algorithm", "X-Amz-Copy-Source-Server-Side-Encryption-Customer-Key", "X-Amz-Copy-Source-Server-Side-Encryption-Customer-Key-Md5",
	}
)

func parseSSE(get func(string) string, op SSEOp) (SSERequest, error) {
	var r SSERequest
	ignoreServer := op == SSEOpUploadPart || op == SSEOpUploadPartCopy || op == SSEOpComplete || op == SSEOpDelete
	ignoreCustomer := op == SSEOpComplete || op == SSEOpDelete
	amz := false
	if !ignoreServer {
		sse, a1, err := dualGet(get, hdrSSE, hdrSSEAmz)
		if err != nil {
			return SSERequest{}, err
		}
		keyID, a2, err := dualGet(get, hdrKMSKey, hdrKMSKeyAmz)
		if err != nil {
			return SSERequest{}, err
		}
		ctx, a3, err := dualGet(get, hdrContext, hdrContextAmz)
		if err != nil {
			return SSERequest{}, err
		}
		amz = a1 || a2 || a3
		if op == SSEOpRead {
			if sse != "" || keyID != "" || ctx != "" {
				return SSERequest{}, NewError(ErrSSEHeaderNotAllowed, "")
			}
		} else {
			switch sse {
			case "":
				if keyID != "" || ctx != "" {
					return SSERequest{}, NewError(ErrInvalidArgument, "A KMS key id or context requires server-side-encryption cos/kms.")
				}
			case AlgorithmAES256:
				if keyID != "" || ctx != "" {
					return SSERequest{}, NewError(ErrInvalidArgument, "A KMS key id or context requires server-side-encryption cos/kms.")
				}
				r.Mode = SSECOS
			case valueKMS, valueKMSAmz:
				if err := validKMSKeyID(keyID); err != nil {
					return SSERequest{}, err
				}
				if ctx != "" {
					m, err := DecodeKMSContext(ctx)
					if err != nil {
						return SSERequest{}, err
					}
					r.KMSContext, r.KMSContextRaw = m, ctx
				}
				r.Mode, r.KMSKeyID = SSEKMS, keyID
			default:
				return SSERequest{}, NewError(ErrSSEContentNotSupported, "")
			}
		}
	}
	if !ignoreCustomer {
		k, present, a, err := parseCustomerKey(get, &ssecNames)
		if err != nil {
			return SSERequest{}, err
		}
		if present {
			if r.Mode != SSENone {
				return SSERequest{}, NewError(ErrInvalidArgument, "Server-side encryption with customer-provided keys cannot be combined with another encryption method.")
			}
			r.Mode, r.Customer = SSEC, k
			amz = amz || a
		}
	}
	if op == SSEOpCopy || op == SSEOpUploadPartCopy {
		k, present, a, err := parseCustomerKey(get, &copySSECNames)
		if err != nil {
			return SSERequest{}, err
		}
		if present {
			r.CopySource = &k
			amz = amz || a
		}
	}
	if amz {
		r.Dialect = DialectS3
	}
	return r, nil
}

// parseCustomerKey reads one SSE-C header set (algorithm, key, key-MD5) in both
// dialects. present is false when none of the three is set.
func parseCustomerKey(get func(string) string, n *customerNames) (k CustomerKey, present, usedAmz bool, err error) {
	var a [3]bool
	if k.Algorithm, a[0], err = dualGet(get, n.alg, n.algAmz); err != nil {
		return k, false, false, err
	}
	// dualGet's message names the headers only, never their values.
	if k.Key, a[1], err = dualGet(get, n.key, n.keyAmz); err != nil {
		return CustomerKey{}, false, false, err
	}
	if k.KeyMD5, a[2], err = dualGet(get, n.md5, n.md5Amz); err != nil {
		return CustomerKey{}, false, false, err
	}
	usedAmz = a[0] || a[1] || a[2]
	switch {
	case k.Algorithm == "" && k.Key == "" && k.KeyMD5 == "":
		return CustomerKey{}, false, false, nil
	case k.Algorithm == "":
		return CustomerKey{}, false, false, Errorf(ErrInvalidArgument, "Requests specifying server-side encryption with customer-provided keys must provide a valid encryption algorithm (%s).", n.alg)
	case k.Algorithm != AlgorithmSSEC:
		return CustomerKey{}, false, false, NewError(ErrInvalidArgument, "The SSE-C encryption algorithm must be AES256.")
	case k.Key == "":
		return CustomerKey{}, false, false, Errorf(ErrInvalidArgument, "Requests specifying server-side encryption with customer-provided keys must provide an appropriate secret key (%s).", n.key)
	case k.KeyMD5 == "":
		return CustomerKey{}, false, false, Errorf(ErrInvalidArgument, "Requests specifying server-side encryption with customer-provided keys must provide the client calculated MD5 of the secret key (%s).", n.md5)
	}
	return k, true, usedAmz, nil
}

func validKMSKeyID(id string) error {
	if len(id) > KMSKeyIDMax {
		return Errorf(ErrInvalidArgument, "The KMS key id is longer than %d bytes.", KMSKeyIDMax)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c >= 0x7f {
			return NewError(ErrInvalidArgument, "The KMS key id contains an invalid character.")
		}
	}
	return nil
}

// DecodeKMSContext decodes an x-cos-server-side-encryption-context value: at
// most SSEContextBytesMax bytes of standard base64 of a JSON object whose values
// are all strings. Anything else is InvalidArgument.
func DecodeKMSContext(raw string) (map[string]string, error) {
	if len(raw) > SSEContextBytesMax {
		return nil, Errorf(ErrInvalidArgument, "The encryption context is longer than %d bytes.", SSEContextBytesMax)
	}
	b, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		return nil, NewError(ErrInvalidArgument, "The encryption context is not valid base64.")
	}
	s := strings.TrimSpace(string(b))
	if !strings.HasPrefix(s, "{") {
		return nil, NewError(ErrInvalidArgument, "The encryption context must be a JSON object of strings.")
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, NewError(ErrInvalidArgument, "The encryption context must be a JSON object of strings.")
	}
	return m, nil
}

// SetSSEHeaders sets the SSE response headers of cos-api.md §3.3 on h for an
// object (or upload) stored in mode: SSE-COS echoes the algorithm, SSE-KMS the
// algorithm and key id, SSE-C the algorithm and the key MD5 (never the key).
// SSENone sets nothing. d selects the x-cos- or x-amz- family.
func SetSSEHeaders(h http.Header, d Dialect, mode SSEMode, kmsKeyID, customerKeyMD5 string) {
	sse, kmsKey, algC, md5C := hdrSSE, hdrKMSKey, ssecNames.alg, ssecNames.md5
	kms := valueKMS
	if d == DialectS3 {
		sse, kmsKey, algC, md5C = hdrSSEAmz, hdrKMSKeyAmz, ssecNames.algAmz, ssecNames.md5Amz
		kms = valueKMSAmz
	}
	switch mode {
	case SSECOS:
		h.Set(sse, AlgorithmAES256)
	case SSEKMS:
		h.Set(sse, kms)
		if kmsKeyID != "" {
			h.Set(kmsKey, kmsKeyID)
		}
	case SSEC:
		h.Set(algC, AlgorithmSSEC)
		h.Set(md5C, customerKeyMD5)
	}
}
