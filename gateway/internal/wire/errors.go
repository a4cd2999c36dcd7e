package wire

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Code is a COS/S3 error code. Every Code is also an error, so the constants
// below are the sentinels callers branch on: errors.Is(err, wire.ErrNoSuchKey)
// holds for every *Error whose Code is NoSuchKey. Codes are constants and can
// never be reassigned.
type Code string

// Error returns "wire: <code>".
func (c Code) Error() string { return "wire: " + string(c) }

// Status returns the HTTP status the code is sent with, 500 for an unknown code.
func (c Code) Status() int {
	if s, ok := codeTable[c]; ok {
		return s.status
	}
	return http.StatusInternalServerError
}

// Message returns the default client-safe message of the code.
func (c Code) Message() string {
	if s, ok := codeTable[c]; ok {
		return s.message
	}
	return "We encountered an internal error. Please try again."
}

// The error codes the gateway sends (cos-api.md §2.6, §3.4, §4, §5.1).
const (
	ErrAccessDenied             Code = "AccessDenied"
	ErrBadDigest                Code = "BadDigest"
	ErrBucketAlreadyExists      Code = "BucketAlreadyExists"
	ErrBucketAlreadyOwnedByYou  Code = "BucketAlreadyOwnedByYou"
	ErrBucketNameTooLong        Code = "BucketNameTooLong"
	ErrBucketNotEmpty           Code = "BucketNotEmpty"
	ErrEntityTooLarge           Code = "EntityTooLarge"
	ErrEntityTooSmall           Code = "EntityTooSmall"
	ErrExpiredToken             Code = "ExpiredToken"
	ErrIncompleteBody           Code = "IncompleteBody"
	ErrInternalError            Code = "InternalError"
	ErrInvalidAccessKeyID       Code = "InvalidAccessKeyId"
	ErrInvalidArgument          Code = "InvalidArgument"
	ErrInvalidBucketName        Code = "InvalidBucketName"
	ErrInvalidDigest            Code = "InvalidDigest"
	ErrInvalidEncryptionAlgo    Code = "InvalidEncryptionAlgorithmError"
	ErrInvalidObjectState       Code = "InvalidObjectState"
	ErrInvalidPart              Code = "InvalidPart"
	ErrInvalidPartOrder         Code = "InvalidPartOrder"
	ErrInvalidRange             Code = "InvalidRange"
	ErrInvalidRequest           Code = "InvalidRequest"
	ErrInvalidStorageClass      Code = "InvalidStorageClass"
	ErrInvalidURI               Code = "InvalidURI"
	ErrKeyTooLong               Code = "KeyTooLong"
	ErrKmsException             Code = "KmsException"
	ErrKmsFreqControl           Code = "KmsFreqControl"
	ErrKmsInternalException     Code = "KmsInternalException"
	ErrKmsKeyDisabled           Code = "KmsKeyDisabled"
	ErrKmsKeyNotExist           Code = "KmsKeyNotExist"
	ErrMalformedACL             Code = "MalformedACLError"
	ErrMalformedPOSTRequest     Code = "MalformedPOSTRequest"
	ErrMalformedXML             Code = "MalformedXML"
	ErrMaxMessageLengthExceeded Code = "MaxMessageLengthExceeded"
	ErrMetadataTooLarge         Code = "MetadataTooLarge"
	ErrMethodNotAllowed         Code = "MethodNotAllowed"
	ErrMissingContentLength     Code = "MissingContentLength"
	ErrNoSuchBucket             Code = "NoSuchBucket"
	ErrNoSuchEncryptionConfig   Code = "NoSuchEncryptionConfiguration"
	ErrNoSuchKey                Code = "NoSuchKey"
	ErrNoSuchUpload             Code = "NoSuchUpload"
	ErrNoSuchVersion            Code = "NoSuchVersion"
	ErrNotImplemented           Code = "NotImplemented"
	ErrNotModified              Code = "NotModified"
	ErrPreconditionFailed       Code = "PreconditionFailed"
	ErrRequestTimeTooSkewed     Code = "RequestTimeTooSkewed"
	ErrSignatureDoesNotMatch    Code = "SignatureDoesNotMatch"
	ErrSlowDown                 Code = "SlowDown"
	ErrServiceUnavailable       Code = "ServiceUnavailable"
	ErrSSEContentNotSupported   Code = "SSEContentNotSupported"
	ErrSSEHeaderNotAllowed      Code = "SSEHeaderNotAllowed"
	ErrSSECDecryptHeaderInvalid Code = "SsecDecryptHeaderInvalid"
	ErrSSEConfigNotFound        Code = "ServerSideEncryptionConfigurationNotFoundError"
)

type codeInfo struct {
	status  int
	message string
}

// codeTable is the single place that maps a code to its HTTP status and default
// message. It is never written after init.
var codeTable = map[Code]codeInfo{
	ErrAccessDenied:             {403, "Access Denied."},
	ErrBadDigest:                {400, "The Content-MD5 you specified did not match what we received."},
	ErrBucketAlreadyExists:      {409, "The requested bucket name is not available."},
	ErrBucketAlreadyOwnedByYou:  {409, "Your previous request to create the named bucket succeeded and you already own it."},
	ErrBucketNameTooLong:        {400, "The bucket name is too long."},
	ErrBucketNotEmpty:           {409, "The bucket you tried to delete is not empty."},
	ErrEntityTooLarge:           {400, "Your proposed upload exceeds the maximum allowed object size."},
	ErrEntityTooSmall:           {400, "Your proposed upload is smaller than the minimum allowed object size."},
	ErrExpiredToken:             {400, "The provided token has expired."},
	ErrIncompleteBody:           {400, "You did not provide the number of bytes specified by the Content-Length HTTP header."},
	ErrInternalError:            {500, "We encountered an internal error. Please try again."},
	ErrInvalidAccessKeyID:       {403, "The access key Id you provided does not exist in our records."},
	ErrInvalidArgument:          {400, "Invalid Argument."},
	ErrInvalidBucketName:        {400, "The specified bucket is not valid."},
	ErrInvalidDigest:            {400, "The Content-MD5 you specified is not valid."},
	ErrInvalidEncryptionAlgo:    {400, "The encryption request you specified is not valid. The valid value is AES256."},
	ErrInvalidObjectState:       {403, "The operation is not valid for the current state of the object."},
	ErrInvalidPart:              {400, "One or more of the specified parts could not be found or did not match."},
	ErrInvalidPartOrder:         {400, "The list of parts was not in ascending order."},
	ErrInvalidRange:             {416, "The requested range is not satisfiable."},
	ErrInvalidRequest:           {400, "Invalid Request."},
	ErrInvalidStorageClass:      {400, "The storage class you specified is not valid."},
	ErrInvalidURI:               {400, "Couldn't parse the specified URI."},
	ErrKeyTooLong:               {400, "Your key is too long."},
	ErrKmsException:             {400, "The KMS request failed."},
	ErrKmsFreqControl:           {503, "The KMS request rate is too high."},
	ErrKmsInternalException:     {500, "The KMS encountered an internal error."},
	ErrKmsKeyDisabled:           {400, "The KMS key is disabled."},
	ErrKmsKeyNotExist:           {400, "The KMS key does not exist."},
	ErrMalformedACL:             {400, "The XML you provided was not well-formed or did not validate against our published schema."},
	ErrMalformedPOSTRequest:     {400, "The body of your POST request is not well-formed multipart/form-data."},
	ErrMalformedXML:             {400, "The XML you provided was not well-formed or did not validate against our published schema."},
	ErrMaxMessageLengthExceeded: {400, "Your request was too big."},
	ErrMetadataTooLarge:         {400, "Your metadata headers exceed the maximum allowed metadata size."},
	ErrMethodNotAllowed:         {405, "The specified method is not allowed against this resource."},
	ErrMissingContentLength:     {411, "You must provide the Content-Length HTTP header."},
	ErrNoSuchBucket:             {404, "The specified bucket does not exist."},
	ErrNoSuchEncryptionConfig:   {404, "The specified bucket does not have a Encryption configuration"},
	ErrNoSuchKey:                {404, "The specified key does not exist."},
	ErrNoSuchUpload:             {404, "The specified multipart upload does not exist."},
	ErrNoSuchVersion:            {404, "The specified version does not exist."},
	ErrNotImplemented:           {501, "A header or query you provided implies functionality that is not implemented."},
	ErrNotModified:              {304, "Not Modified."},
	ErrPreconditionFailed:       {412, "Precondition not match."},
	ErrRequestTimeTooSkewed:     {403, "The difference between the request time and the server's time is too large."},
	ErrSignatureDoesNotMatch:    {403, "The request signature we calculated does not match the signature you provided."},
	ErrSlowDown:                 {503, "Please reduce your request rate."},
	ErrServiceUnavailable:       {503, "Service is unable to handle request."},
	ErrSSEContentNotSupported:   {400, "The server-side encryption value is not supported."},
	ErrSSEHeaderNotAllowed:      {400, "The server-side encryption header is not allowed on this request."},
	ErrSSECDecryptHeaderInvalid: {400, "The object was stored using SSE-C; the correct encryption parameters must be provided."},
	ErrSSEConfigNotFound:        {404, "The server side encryption configuration was not found."},
}

// Error is a protocol error: what the client gets in the <Error> body and the
// status line. Code and Message are client-safe; they never contain a secret.
type Error struct {
	Code      Code
	Message   string // client-safe; Code.Message() when built with an empty message
	Status    int    // HTTP status; Code.Status() unless overridden
	Resource  string // bucket host + path, filled by the gateway
	RequestID string // filled by WriteError when empty
	TraceID   string // optional
	// Header holds extra response headers, e.g. Content-Range "bytes */size" on
	// InvalidRange. May be nil.
	Header http.Header
	// Err is the internal cause (never sent to the client); may be nil.
	Err error
}

// NewError returns an *Error for code with the code's status, and msg or the
// default message when msg is empty.
func NewError(code Code, msg string) *Error {
	if msg == "" {
		msg = code.Message()
	}
	return &Error{Code: code, Message: msg, Status: code.Status()}
}

// Errorf is NewError with a formatted message. The arguments must be
// client-safe.
func Errorf(code Code, format string, args ...any) *Error {
	return NewError(code, fmt.Sprintf(format, args...))
}

// Wrap returns an *Error for code whose internal cause is err. The cause is
// kept for errors.Is/As and logs but never sent to the client.
func Wrap(code Code, err error) *Error {
	e := NewError(code, "")
	e.Err = err
	return e
}

func (e *Error) Error() string {
	if e.Err != nil {
		return "wire: " + string(e.Code) + ": " + e.Message + ": " + e.Err.Error()
	}
	return "wire: " + string(e.Code) + ": " + e.Message
}

// Unwrap returns the code (so errors.Is matches the Code constants) and the
// internal cause.
func (e *Error) Unwrap() []error {
	if e.Err != nil {
		return []error{e.Code, e.Err}
	}
	return []error{e.Code}
}

// AsError converts any error to the *Error to send: an *Error in the chain is
// returned as is, a bare Code gets its default message, and anything else
// becomes InternalError with the cause kept internal (its text is never sent).
func AsError(err error) *Error {
	var we *Error
	if errors.As(err, &we) {
		return we
	}
	var c Code
	if errors.As(err, &c) {
		e := NewError(c, "")
		e.Err = err
		return e
	}
	return Wrap(ErrInternalError, err)
}

// WriteError writes err as a COS XML error response (cos-api.md §5.1):
// Content-Type application/xml, x-cos-request-id (and x-amz-request-id for S3
// clients), the status of the code and the <Error> body. NotModified (304) is
// written without a body, as HTTP requires. For HEAD requests use
// WriteErrorHeader instead.
func WriteError(w http.ResponseWriter, err error, requestID string) {
	e := AsError(err)
	status := writeErrorHeader(w, e, requestID)
	if status == http.StatusNotModified {
		w.WriteHeader(status)
		return
	}
	body := AppendErrorBody(nil, e, requestID)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// WriteErrorHeader writes the status and headers of err without a body, for HEAD
// requests (the SDKs then read the status only).
func WriteErrorHeader(w http.ResponseWriter, err error, requestID string) {
	e := AsError(err)
	w.WriteHeader(writeErrorHeader(w, e, requestID))
}

func writeErrorHeader(w http.ResponseWriter, e *Error, requestID string) int {
	h := w.Header()
	for k, vs := range e.Header {
		h[k] = append([]string(nil), vs...)
	}
	if requestID != "" {
		h.Set("x-cos-request-id", requestID)
		h.Set("x-amz-request-id", requestID)
	}
	status := e.Status
	if status == 0 {
		status = e.Code.Status()
	}
	if status != http.StatusNotModified {
		h.Set("Content-Type", "application/xml")
		if e.TraceID != "" {
			h.Set("x-cos-trace-id", e.TraceID)
		}
	}
	return status
}

// xmlProlog is the declaration COS puts before an error body (cos-api.md §5.1).
const xmlProlog = "<?xml version='1.0' encoding='utf-8' ?>\n"

// AppendErrorBody appends the <Error> document of e to dst and returns it.
// requestID is used when e.RequestID is empty.
func AppendErrorBody(dst []byte, e *Error, requestID string) []byte {
	if e.RequestID != "" {
		requestID = e.RequestID
	}
	msg := e.Message
	if msg == "" {
		msg = e.Code.Message()
	}
	var b strings.Builder
	b.WriteString(xmlProlog)
	b.WriteString("<Error>\n")
	writeElem(&b, "Code", string(e.Code))
	writeElem(&b, "Message", msg)
	writeElem(&b, "Resource", e.Resource)
	writeElem(&b, "RequestId", requestID)
	if e.TraceID != "" {
		writeElem(&b, "TraceId", e.TraceID)
	}
	b.WriteString("</Error>\n")
	return append(dst, b.String()...)
}

func writeElem(b *strings.Builder, name, text string) {
	b.WriteString("  <")
	b.WriteString(name)
	b.WriteString(">")
	escapeText(b, text)
	b.WriteString("</")
	b.WriteString(name)
	b.WriteString(">\n")
}

// escapeText writes s with the five XML special characters escaped and every
// byte XML 1.0 cannot carry (control characters, invalid UTF-8) replaced by
// U+FFFD, so a hostile key in Resource cannot break the document.
func escapeText(b *strings.Builder, s string) {
	for _, r := range s {
		switch {
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '&':
			b.WriteString("&amp;")
		case r == '"':
			b.WriteString("&quot;")
		case r == '\'':
			b.WriteString("&apos;")
		case r == '\t' || r == '\n' || r == '\r':
			b.WriteRune(r)
		case r < 0x20 || r == 0xFFFE || r == 0xFFFF || (r >= 0xD800 && r <= 0xDFFF):
			b.WriteRune('\uFFFD')
		default:
			b.WriteRune(r) // invalid UTF-8 decodes to U+FFFD already
		}
	}
}
