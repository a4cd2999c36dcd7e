package auth

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"
)

// Secrets looks up the secret key of an access key. It returns ErrUnknownAccessKey
// (possibly wrapped) when the key does not exist. Implementations must be safe for
// concurrent use. The returned secret is not retained by this package beyond the
// request.
type Secrets interface {
	SecretKey(ctx context.Context, accessKeyID string) (secret string, err error)
}

// Method names how a request authenticated.
type Method uint8

const (
	MethodAnonymous   Method = iota // no credentials at all
	MethodCOSHeader                 // q-sign in the Authorization header
	MethodCOSQuery                  // q-sign in the query (presigned URL)
	MethodSigV4Header               // AWS4-HMAC-SHA256 in the Authorization header
	MethodSigV4Query                // X-Amz-* presigned query
	MethodPostForm                  // browser POST form (COS or S3 dialect)
)

var methodNames = [...]string{"anonymous", "cos-header", "cos-query", "sigv4-header", "sigv4-query", "post-form"}

func (m Method) String() string {
	if int(m) < len(methodNames) {
		return methodNames[m]
	}
	return "unknown"
}

// Identity is who sent a request.
type Identity struct {
	AccessKeyID string // empty when Anonymous
	Anonymous   bool
	Method      Method
}

// Result is the outcome of a successful Verify.
type Result struct {
	Identity Identity
	// Body is the reader the gateway must use instead of r.Body. It is r.Body
	// itself unless the payload needs decoding or verification (aws-chunked,
	// x-amz-content-sha256 digest, x-amz-checksum-* header); such readers return
	// an *Error instead of io.EOF when the payload is not what was signed.
	Body io.Reader
	// DecodedLength is the payload length the client declared
	// (x-amz-decoded-content-length for aws-chunked bodies, else r.ContentLength);
	// -1 if unknown.
	DecodedLength int64
}

// Limits and defaults (named per house rule 10).
const (
	// DefaultClockSkewMax is how far a request's signing time may lie ahead of
	// (SigV4: or behind) the server clock. AWS uses 15 minutes.
	DefaultClockSkewMax = 15 * time.Minute
	// PresignExpiresMax is the longest validity of a SigV4 presigned URL (AWS: 7 days).
	PresignExpiresMax = 7 * 24 * time.Hour
	// DefaultChunkBytesMax bounds one aws-chunked chunk (signed chunks are held in
	// memory until their signature verifies).
	DefaultChunkBytesMax = 16 << 20
	// DefaultChunkLineBytesMax bounds a chunk header line or trailer line.
	DefaultChunkLineBytesMax = 4 << 10
	// DefaultTrailerBytesMax bounds the whole trailer section of an aws-chunked body.
	DefaultTrailerBytesMax = 16 << 10
	// AuthorizationBytesMax bounds the Authorization header value we parse.
	AuthorizationBytesMax = 16 << 10
	// SignedNamesMax bounds the entries in q-header-list, q-url-param-list and
	// SignedHeaders.
	SignedNamesMax = 256
)

// Config configures a Verifier. The zero value, after EnsureDefaults, is usable.
type Config struct {
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// ClockSkewMax is the tolerated difference between a request's signing time and
	// Now. Default DefaultClockSkewMax (15 min).
	ClockSkewMax time.Duration
	// Region, if set, is the only SigV4 region accepted in credential scopes.
	// Default "" accepts any region (the gateway is a single-region endpoint).
	Region string
	// ChunkBytesMax bounds one aws-chunked chunk, in bytes. Default DefaultChunkBytesMax.
	ChunkBytesMax int
	// ChunkLineBytesMax bounds one chunk header or trailer line, in bytes.
	// Default DefaultChunkLineBytesMax.
	ChunkLineBytesMax int
	// TrailerBytesMax bounds the trailer section, in bytes. Default DefaultTrailerBytesMax.
	TrailerBytesMax int
}

// EnsureDefaults fills in zero fields with their defaults.
func (c *Config) EnsureDefaults() {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.ClockSkewMax == 0 {
		c.ClockSkewMax = DefaultClockSkewMax
	}
	if c.ChunkBytesMax == 0 {
		c.ChunkBytesMax = DefaultChunkBytesMax
	}
	if c.ChunkLineBytesMax == 0 {
		c.ChunkLineBytesMax = DefaultChunkLineBytesMax
	}
	if c.TrailerBytesMax == 0 {
		c.TrailerBytesMax = DefaultTrailerBytesMax
	}
}

// Validate reports every problem of c at once.
func (c *Config) Validate() error {
	var errs []error
	if c.Now == nil {
		errs = append(errs, errors.New("auth: Config.Now is nil"))
	}
	if c.ClockSkewMax <= 0 || c.ClockSkewMax > time.Hour {
		errs = append(errs, errors.New("auth: Config.ClockSkewMax must be in (0, 1h]"))
	}
	if c.ChunkBytesMax <= 0 || c.ChunkBytesMax > 1<<30 {
		errs = append(errs, errors.New("auth: Config.ChunkBytesMax must be in (0, 1 GiB]"))
	}
	if c.ChunkLineBytesMax < 128 {
		errs = append(errs, errors.New("auth: Config.ChunkLineBytesMax must be at least 128"))
	}
	if c.TrailerBytesMax < c.ChunkLineBytesMax {
		errs = append(errs, errors.New("auth: Config.TrailerBytesMax must be at least ChunkLineBytesMax"))
	}
	if strings.ContainsAny(c.Region, "/ ") {
		errs = append(errs, errors.New("auth: Config.Region must not contain '/' or spaces"))
	}
	return errors.Join(errs...)
}

// Verifier checks request signatures. It is immutable and safe for concurrent use.
type Verifier struct {
	secrets Secrets
	cfg     Config
}

// New returns a Verifier; cfg is defaulted and validated.
func New(secrets Secrets, cfg Config) (*Verifier, error) {
	if secrets == nil {
		return nil, errors.New("auth: nil Secrets")
	}
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Verifier{secrets: secrets, cfg: cfg}, nil
}

// Verify authenticates r. It reads no body bytes: body verification, where the
// scheme demands it, happens in Result.Body as the gateway reads it. q is the
// parsed r.URL.RawQuery; pass nil to have Verify parse it.
func (v *Verifier) Verify(r *http.Request, q Query) (Result, error) {
	if q == nil && r.URL.RawQuery != "" {
		var err error
		if q, err = ParseQuery(r.URL.RawQuery); err != nil {
			return Result{}, newErr(ErrMalformed, "InvalidArgument", http.StatusBadRequest, "The query string is malformed.")
		}
	}
	authz := r.Header.Values("Authorization")
	if len(authz) > 1 {
		return Result{}, newErr(ErrMalformed, "InvalidArgument", http.StatusBadRequest, "More than one Authorization header.")
	}
	header := ""
	if len(authz) == 1 {
		header = authz[0]
		if header == "" {
			return Result{}, newErr(ErrMalformed, "InvalidArgument", http.StatusBadRequest, "The Authorization header is empty.")
		}
		if len(header) > AuthorizationBytesMax {
			return Result{}, newErr(ErrMalformed, "InvalidArgument", http.StatusBadRequest, "The Authorization header is too long.")
		}
	}
	qkind := queryKind(q)
	if header != "" && qkind != kindNone {
		return Result{}, newErr(ErrMalformed, "InvalidArgument", http.StatusBadRequest, "Only one auth mechanism allowed.")
	}
	ctx := r.Context()
	switch {
	case strings.HasPrefix(header, "q-sign-algorithm=") || strings.HasPrefix(header, "q-ak="):
		return v.verifyCOS(ctx, r, q, header, MethodCOSHeader)
	case strings.HasPrefix(header, v4Algorithm+" "):
		return v.verifyV4Header(ctx, r, q, header)
	case header != "":
		return Result{}, errUnsupportedScheme()
	}
	switch qkind {
	case kindCOS:
		return v.verifyCOS(ctx, r, q, "", MethodCOSQuery)
	case kindCOSMerged:
		return v.verifyCOS(ctx, r, q, q.Get("sign"), MethodCOSQuery)
	case kindV4:
		return v.verifyV4Query(ctx, r, q)
	case kindV2:
		return Result{}, errUnsupportedScheme()
	}
	return Result{Identity: Identity{Anonymous: true}, Body: r.Body, DecodedLength: r.ContentLength}, nil
}

func errUnsupportedScheme() *Error {
	return newErr(ErrUnsupported, "InvalidRequest", http.StatusBadRequest,
		"The authorization mechanism you have provided is not supported. Please use q-sign or AWS4-HMAC-SHA256.")
}

type credKind uint8

const (
	kindNone credKind = iota
	kindCOS
	kindCOSMerged
	kindV4
	kindV2
)

// queryKind classifies the signature parameters present in q, if any.
func queryKind(q Query) credKind {
	for _, p := range q {
		switch p.Name {
		case "q-sign-algorithm", "q-ak", "q-signature", "q-sign-time", "q-key-time":
			return kindCOS
		case "sign":
			if strings.HasPrefix(p.Value, "q-sign-algorithm=") || strings.HasPrefix(p.Value, "q-ak=") {
				return kindCOSMerged
			}
		case "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature":
			return kindV4
		case "AWSAccessKeyId", "Signature":
			return kindV2
		}
	}
	return kindNone
}

// lookup fetches the secret for ak, mapping the lookup's failure to an *Error.
func (v *Verifier) lookup(ctx context.Context, ak string) (string, error) {
	secret, err := v.secrets.SecretKey(ctx, ak)
	if err != nil {
		if errors.Is(err, ErrUnknownAccessKey) {
			return "", errUnknownKey()
		}
		return "", errInternal(err)
	}
	if secret == "" {
		return "", errInternal(errors.New("auth: Secrets returned an empty secret"))
	}
	return secret, nil
}
