package auth

import (
	"errors"
	"net/http"
)

// Sentinels callers can branch on with errors.Is. Every error returned by
// Verify, VerifyPost, CheckPolicy, ReadPostForm and ParsePolicy, and every
// verification failure of a body reader, is an *Error wrapping one of them
// (ErrInternal is joined with the Secrets lookup's own error). A body reader
// passes errors of the underlying r.Body through unchanged.
var (
	// ErrUnknownAccessKey is returned by Secrets when the access key does not
	// exist; Verify turns it into InvalidAccessKeyId.
	ErrUnknownAccessKey = errors.New("auth: unknown access key")
	// ErrSignatureMismatch: the signature (request, chunk or trailer) is wrong.
	ErrSignatureMismatch = errors.New("auth: signature does not match")
	// ErrExpired: the request is outside its signed validity window.
	ErrExpired = errors.New("auth: request has expired")
	// ErrClockSkew: the request's time is too far from the server's clock.
	ErrClockSkew = errors.New("auth: request time too skewed")
	// ErrMalformed: the credentials (header, query or form fields) cannot be parsed.
	ErrMalformed = errors.New("auth: malformed credentials")
	// ErrUnsupported: the credentials use a scheme or algorithm we do not accept.
	ErrUnsupported = errors.New("auth: unsupported authorization mechanism")
	// ErrHeadersNotSigned: x-amz-* headers are present that the signature does not cover.
	ErrHeadersNotSigned = errors.New("auth: headers present that were not signed")
	// ErrContentSHA256Mismatch: the body does not hash to x-amz-content-sha256.
	ErrContentSHA256Mismatch = errors.New("auth: payload does not match x-amz-content-sha256")
	// ErrChecksumMismatch: the body does not match its x-amz-checksum-* header or trailer.
	ErrChecksumMismatch = errors.New("auth: payload checksum mismatch")
	// ErrIncompleteBody: the body is shorter or longer than it declared.
	ErrIncompleteBody = errors.New("auth: incomplete body")
	// ErrMalformedBody: the aws-chunked framing is invalid or exceeds a limit.
	ErrMalformedBody = errors.New("auth: malformed chunked body")
	// ErrPolicy: a POST policy condition failed.
	ErrPolicy = errors.New("auth: policy condition failed")
	// ErrEntityTooLarge / ErrEntityTooSmall: content-length-range of a POST policy.
	ErrEntityTooLarge = errors.New("auth: entity too large")
	ErrEntityTooSmall = errors.New("auth: entity too small")
	// ErrInternal: the Secrets lookup failed for a reason other than an unknown key.
	ErrInternal = errors.New("auth: internal error")
)

// Error is the one error type of this package. Code and Message are safe to send
// to the client in an <Error> body; neither ever contains a secret, a derived key
// or an expected signature.
type Error struct {
	Code    string // COS/S3 error code, e.g. "SignatureDoesNotMatch"
	Status  int    // HTTP status code
	Message string // client-safe explanation
	Err     error  // the sentinel (or lookup/read cause) for errors.Is
}

func (e *Error) Error() string { return "auth: " + e.Code + ": " + e.Message }

// Unwrap returns the sentinel or cause.
func (e *Error) Unwrap() error { return e.Err }

func newErr(sentinel error, code string, status int, msg string) *Error {
	return &Error{Code: code, Status: status, Message: msg, Err: sentinel}
}

func errSignature() *Error {
	return newErr(ErrSignatureMismatch, "SignatureDoesNotMatch", http.StatusForbidden,
		"The request signature we calculated does not match the signature you provided.")
}

func errExpired() *Error {
	// Node's COS SDK matches this exact message to resync its clock.
	return newErr(ErrExpired, "AccessDenied", http.StatusForbidden, "Request has expired")
}

func errSkewed() *Error {
	return newErr(ErrClockSkew, "RequestTimeTooSkewed", http.StatusForbidden,
		"The difference between the request time and the server's time is too large.")
}

func errUnknownKey() *Error {
	return newErr(ErrUnknownAccessKey, "InvalidAccessKeyId", http.StatusForbidden,
		"The access key Id you provided does not exist in our records.")
}

func errMalformedCOS(msg string) *Error {
	return newErr(ErrMalformed, "InvalidArgument", http.StatusBadRequest, msg)
}

func errMalformedV4Header(msg string) *Error {
	return newErr(ErrMalformed, "AuthorizationHeaderMalformed", http.StatusBadRequest, msg)
}

func errMalformedV4Query(msg string) *Error {
	return newErr(ErrMalformed, "AuthorizationQueryParametersError", http.StatusBadRequest, msg)
}

func errMalformedBody(msg string) *Error {
	return newErr(ErrMalformedBody, "InvalidRequest", http.StatusBadRequest, msg)
}

func errIncomplete() *Error {
	return newErr(ErrIncompleteBody, "IncompleteBody", http.StatusBadRequest,
		"You did not provide the number of bytes specified by the Content-Length HTTP header.")
}

func errInternal(cause error) *Error {
	return &Error{Code: "InternalError", Status: http.StatusInternalServerError,
		Message: "We encountered an internal error. Please try again.",
		Err:     errors.Join(ErrInternal, cause)}
}
