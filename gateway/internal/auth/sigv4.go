package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// AWS Signature Version 4 constants (AWS S3 API reference, "Authenticating
// Requests (AWS Signature Version 4)").
const (
	v4Algorithm   = "AWS4-HMAC-SHA256"
	v4DateLayout  = "20060102T150405Z"
	v4Terminator  = "aws4_request"
	v4Service     = "s3"
	v4SigLen      = sha256.Size
	emptySHA256   = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	payloadUnsign = "UNSIGNED-PAYLOAD"
	// Streaming payload modes (value of x-amz-content-sha256).
	payloadStreamSigned          = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	payloadStreamSignedTrailer   = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
	payloadStreamUnsignedTrailer = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
)

// v4Auth is a parsed SigV4 credential, from the header or the query.
type v4Auth struct {
	ak            string
	date          string // yyyymmdd of the credential scope
	region        string
	scope         string // date/region/s3/aws4_request
	signedHeaders []string
	signedRaw     string // SignedHeaders exactly as sent
	signature     [v4SigLen]byte
}

// parseSigV4Authorization parses
// "AWS4-HMAC-SHA256 Credential=AK/date/region/s3/aws4_request, SignedHeaders=a;b, Signature=hex".
func parseSigV4Authorization(s string) (v4Auth, error) {
	if len(s) > AuthorizationBytesMax {
		return v4Auth{}, errMalformedV4Header("The authorization header is too long.")
	}
	rest, ok := strings.CutPrefix(s, v4Algorithm+" ")
	if !ok {
		return v4Auth{}, errMalformedV4Header("The authorization header is malformed; the algorithm must be AWS4-HMAC-SHA256.")
	}
	var cred, signed, sig string
	var seen [3]bool
	for part := range strings.SplitSeq(rest, ",") {
		part = strings.TrimSpace(part)
		k, val, ok := strings.Cut(part, "=")
		if !ok {
			return v4Auth{}, errMalformedV4Header("The authorization header is malformed; a component lacks '='.")
		}
		var i int
		switch k {
		case "Credential":
			i, cred = 0, val
		case "SignedHeaders":
			i, signed = 1, val
		case "Signature":
			i, sig = 2, val
		default:
			return v4Auth{}, errMalformedV4Header("The authorization header is malformed; unknown component.")
		}
		if seen[i] {
			return v4Auth{}, errMalformedV4Header("The authorization header is malformed; duplicate component.")
		}
		seen[i] = true
	}
	if !seen[0] || !seen[1] || !seen[2] {
		return v4Auth{}, errMalformedV4Header("The authorization header is malformed; Credential, SignedHeaders and Signature are required.")
	}
	return newV4Auth(cred, signed, sig, errMalformedV4Header)
}

func newV4Auth(cred, signed, sig string, malformed func(string) *Error) (v4Auth, error) {
	var a v4Auth
	parts := strings.Split(cred, "/")
	if len(parts) != 5 || parts[0] == "" || parts[4] != v4Terminator {
		return v4Auth{}, malformed("The Credential is malformed; expecting \"<AccessKey>/<YYYYMMDD>/<Region>/s3/aws4_request\".")
	}
	if parts[3] != v4Service {
		return v4Auth{}, malformed("The Credential names the wrong service; expecting \"s3\".")
	}
	if _, err := time.Parse("20060102", parts[1]); err != nil || len(parts[1]) != 8 {
		return v4Auth{}, malformed("The Credential date is malformed.")
	}
	if parts[2] == "" {
		return v4Auth{}, malformed("The Credential region is empty.")
	}
	a.ak, a.date, a.region = parts[0], parts[1], parts[2]
	a.scope = cred[len(parts[0])+1:]
	if signed == "" || strings.Count(signed, ";") >= SignedNamesMax {
		return v4Auth{}, malformed("SignedHeaders is empty or too long.")
	}
	a.signedRaw = signed
	a.signedHeaders = strings.Split(signed, ";")
	for _, h := range a.signedHeaders {
		if h == "" || h != strings.ToLower(h) {
			return v4Auth{}, malformed("SignedHeaders must be lower-case names separated by ';'.")
		}
	}
	if !slices.Contains(a.signedHeaders, "host") {
		return v4Auth{}, malformed("SignedHeaders must include host.")
	}
	if len(sig) != 2*v4SigLen {
		return v4Auth{}, malformed("The Signature is malformed.")
	}
	if _, err := hex.Decode(a.signature[:], []byte(sig)); err != nil {
		return v4Auth{}, malformed("The Signature is malformed.")
	}
	return a, nil
}

// requestTime returns the signing time of a header-signed request: X-Amz-Date,
// else Date.
func requestTime(r *http.Request) (time.Time, string, bool) {
	if s := r.Header.Get("X-Amz-Date"); s != "" {
		t, err := time.Parse(v4DateLayout, s)
		return t, s, err == nil
	}
	if s := r.Header.Get("Date"); s != "" {
		t, err := http.ParseTime(s)
		return t, t.UTC().Format(v4DateLayout), err == nil
	}
	return time.Time{}, "", false
}

func (v *Verifier) verifyV4Header(ctx context.Context, r *http.Request, q Query, authz string) (Result, error) {
	a, err := parseSigV4Authorization(authz)
	if err != nil {
		return Result{}, err
	}
	t, amzDate, ok := requestTime(r)
	if !ok {
		return Result{}, newErr(ErrMalformed, "AccessDenied", http.StatusForbidden,
			"AWS authentication requires a valid Date or x-amz-date header.")
	}
	if amzDate[:8] != a.date {
		return Result{}, errMalformedV4Header("The Credential date does not match the request date.")
	}
	if v.cfg.Region != "" && a.region != v.cfg.Region {
		return Result{}, errMalformedV4Header("The authorization header is malformed; the region '" + sanitize(a.region) + "' is wrong; expecting '" + v.cfg.Region + "'.")
	}
	now := v.cfg.Now()
	if d := now.Sub(t); d > v.cfg.ClockSkewMax || d < -v.cfg.ClockSkewMax {
		return Result{}, errSkewed()
	}
	payload := r.Header.Get("X-Amz-Content-Sha256")
	mode, err := payloadModeOf(payload)
	if err != nil {
		return Result{}, err
	}
	if err := checkAmzSigned(r, a.signedHeaders); err != nil {
		return Result{}, err
	}
	secret, err := v.lookup(ctx, a.ak)
	if err != nil {
		return Result{}, err
	}
	key := v4SigningKey(secret, a.date, a.region)
	if !v4Match(key, r, q, &a, amzDate, payload, false) {
		return Result{}, errSignature()
	}
	body, n, err := v.v4Body(r, mode, payload, key, amzDate, &a)
	if err != nil {
		return Result{}, err
	}
	return Result{Identity: Identity{AccessKeyID: a.ak, Method: MethodSigV4Header}, Body: body, DecodedLength: n}, nil
}

func (v *Verifier) verifyV4Query(ctx context.Context, r *http.Request, q Query) (Result, error) {
	for _, n := range []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature"} {
		if q.Count(n) != 1 {
			return Result{}, errMalformedV4Query("Query-string authentication version 4 requires exactly one each of the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.")
		}
	}
	if q.Get("X-Amz-Algorithm") != v4Algorithm {
		return Result{}, errMalformedV4Query("X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\".")
	}
	a, err := newV4Auth(q.Get("X-Amz-Credential"), q.Get("X-Amz-SignedHeaders"), q.Get("X-Amz-Signature"), errMalformedV4Query)
	if err != nil {
		return Result{}, err
	}
	amzDate := q.Get("X-Amz-Date")
	t, err := time.Parse(v4DateLayout, amzDate)
	if err != nil || amzDate[:8] != a.date {
		return Result{}, errMalformedV4Query("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\" and match the Credential date.")
	}
	exp, err := strconv.ParseInt(q.Get("X-Amz-Expires"), 10, 64)
	if err != nil || exp < 1 || exp > int64(PresignExpiresMax/time.Second) {
		return Result{}, errMalformedV4Query("X-Amz-Expires must be between 1 and 604800 seconds.")
	}
	if v.cfg.Region != "" && a.region != v.cfg.Region {
		return Result{}, errMalformedV4Query("The region '" + sanitize(a.region) + "' is wrong; expecting '" + v.cfg.Region + "'.")
	}
	now := v.cfg.Now()
	if t.Sub(now) > v.cfg.ClockSkewMax {
		return Result{}, errSkewed()
	}
	if now.After(t.Add(time.Duration(exp) * time.Second)) {
		return Result{}, errExpired()
	}
	payload := payloadUnsign
	if q.Has("X-Amz-Content-Sha256") {
		payload = q.Get("X-Amz-Content-Sha256")
	}
	mode, err := payloadModeOf(payload)
	if err != nil {
		return Result{}, err
	}
	if mode != modeUnsigned && mode != modeDigest {
		return Result{}, errMalformedV4Query("Presigned requests cannot use a streaming payload.")
	}
	if err := checkAmzSigned(r, a.signedHeaders); err != nil {
		return Result{}, err
	}
	secret, err := v.lookup(ctx, a.ak)
	if err != nil {
		return Result{}, err
	}
	key := v4SigningKey(secret, a.date, a.region)
	if !v4Match(key, r, q, &a, amzDate, payload, true) {
		return Result{}, errSignature()
	}
	body, n, err := v.v4Body(r, mode, payload, key, amzDate, &a)
	if err != nil {
		return Result{}, err
	}
	return Result{Identity: Identity{AccessKeyID: a.ak, Method: MethodSigV4Query}, Body: body, DecodedLength: n}, nil
}

// sanitize keeps a client-supplied token printable and short before it is echoed.
func sanitize(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '\'' || r == '"' || r == '<' || r == '>' || r == '&' {
			return '?'
		}
		return r
	}, s)
}

// checkAmzSigned rejects requests carrying x-amz-* headers the signature does not
// cover: such headers (SSE, copy source, ACL) change the meaning of a request.
func checkAmzSigned(r *http.Request, signed []string) error {
	for name := range r.Header {
		if len(name) < 6 || !strings.EqualFold(name[:6], "x-amz-") {
			continue
		}
		if !slices.Contains(signed, strings.ToLower(name)) {
			return newErr(ErrHeadersNotSigned, "AccessDenied", http.StatusForbidden,
				"There were headers present in the request which were not signed.")
		}
	}
	return nil
}

// v4SigningKey derives HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), "s3"), "aws4_request").
func v4SigningKey(secret, date, region string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, v4Service)
	return hmacSHA256(k, v4Terminator)
}

func hmacSHA256(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	io.WriteString(m, msg)
	return m.Sum(nil)
}

// v4Match computes the request signature and compares it in constant time. The
// canonical URI is first the path re-encoded from its decoded form (what SDKs
// sign for S3); if that fails and the client's own escaping differs, the path as
// sent is tried.
func v4Match(key []byte, r *http.Request, q Query, a *v4Auth, amzDate, payload string, presigned bool) bool {
	path := r.URL.Path
	if path == "" {
		path = "/"
	}
	uri := uriEncode(path, true)
	if hmac.Equal(v4Signature(key, r, q, a, uri, amzDate, payload, presigned), a.signature[:]) {
		return true
	}
	if raw := r.URL.EscapedPath(); raw != uri && raw != "" {
		return hmac.Equal(v4Signature(key, r, q, a, raw, amzDate, payload, presigned), a.signature[:])
	}
	return false
}

func v4Signature(key []byte, r *http.Request, q Query, a *v4Auth, uri, amzDate, payload string, presigned bool) []byte {
	creq := canonicalRequest(make([]byte, 0, 512), r, q, uri, a, payload, presigned)
	h := sha256.Sum256(creq)
	sts := make([]byte, 0, 128)
	sts = append(sts, v4Algorithm+"\n"...)
	sts = append(sts, amzDate...)
	sts = append(sts, '\n')
	sts = append(sts, a.scope...)
	sts = append(sts, '\n')
	sts = hex.AppendEncode(sts, h[:])
	m := hmac.New(sha256.New, key)
	m.Write(sts)
	return m.Sum(nil)
}

// canonicalRequest appends the SigV4 canonical request:
// method\nURI\nquery\nheaders\n\nsignedHeaders\npayload.
func canonicalRequest(b []byte, r *http.Request, q Query, uri string, a *v4Auth, payload string, presigned bool) []byte {
	b = append(b, r.Method...)
	b = append(b, '\n')
	b = append(b, uri...)
	b = append(b, '\n')

	type kv struct{ k, v string }
	pairs := make([]kv, 0, len(q))
	for _, p := range q {
		if presigned && p.Name == "X-Amz-Signature" {
			continue
		}
		pairs = append(pairs, kv{uriEncode(p.Name, false), uriEncode(p.Value, false)})
	}
	slices.SortFunc(pairs, func(x, y kv) int {
		if c := strings.Compare(x.k, y.k); c != 0 {
			return c
		}
		return strings.Compare(x.v, y.v)
	})
	for i, p := range pairs {
		if i > 0 {
			b = append(b, '&')
		}
		b = append(b, p.k...)
		b = append(b, '=')
		b = append(b, p.v...)
	}
	b = append(b, '\n')

	for _, name := range a.signedHeaders {
		b = append(b, name...)
		b = append(b, ':')
		switch name {
		case "host":
			b = append(b, r.Host...)
		case "content-length":
			if cl := r.Header.Get("Content-Length"); cl != "" {
				b = appendTrimmed(b, cl)
			} else if r.ContentLength >= 0 && len(r.TransferEncoding) == 0 {
				b = strconv.AppendInt(b, r.ContentLength, 10)
			}
		case "transfer-encoding":
			b = append(b, strings.Join(r.TransferEncoding, ",")...)
		default:
			for i, val := range r.Header.Values(name) {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendTrimmed(b, val)
			}
		}
		b = append(b, '\n')
	}
	b = append(b, '\n')
	b = append(b, a.signedRaw...)
	b = append(b, '\n')
	b = append(b, payload...)
	return b
}

// appendTrimmed appends s without leading/trailing spaces and with runs of
// spaces folded into one.
func appendTrimmed(b []byte, s string) []byte {
	s = strings.TrimSpace(s)
	space := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		b = append(b, c)
	}
	return b
}

func sha256Factory() hash.Hash { return sha256.New() }
