package wire

import (
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	cos "github.com/tencentyun/cos-go-sdk-v5"
)

func TestCodeStatus(t *testing.T) {
	// The statuses cos-api.md §5.1, §3.4 and §4 fix.
	want := map[Code]int{
		ErrNoSuchBucket: 404, ErrNoSuchKey: 404, ErrNoSuchUpload: 404, ErrNoSuchVersion: 404,
		ErrBucketAlreadyExists: 409, ErrBucketAlreadyOwnedByYou: 409, ErrBucketNotEmpty: 409,
		ErrInvalidBucketName: 400, ErrKeyTooLong: 400, ErrEntityTooLarge: 400, ErrEntityTooSmall: 400,
		ErrInvalidPart: 400, ErrInvalidPartOrder: 400, ErrInvalidRange: 416, ErrPreconditionFailed: 412,
		ErrNotModified: 304, ErrMalformedXML: 400, ErrInvalidArgument: 400, ErrInvalidDigest: 400,
		ErrBadDigest: 400, ErrMissingContentLength: 411, ErrInvalidRequest: 400, ErrMethodNotAllowed: 405,
		ErrNotImplemented: 501, ErrAccessDenied: 403, ErrSignatureDoesNotMatch: 403,
		ErrInvalidAccessKeyID: 403, ErrRequestTimeTooSkewed: 403, ErrSSEHeaderNotAllowed: 400,
		ErrSSEContentNotSupported: 400, ErrKmsKeyNotExist: 400, ErrKmsKeyDisabled: 400,
		ErrKmsException: 400, ErrKmsInternalException: 500, ErrKmsFreqControl: 503,
		ErrNoSuchEncryptionConfig: 404, ErrSSEConfigNotFound: 404, ErrInvalidEncryptionAlgo: 400,
		ErrInternalError: 500, ErrSlowDown: 503, ErrServiceUnavailable: 503, ErrInvalidURI: 400,
		ErrSSECDecryptHeaderInvalid: 400, ErrMalformedACL: 400, ErrMetadataTooLarge: 400,
	}
	for c, s := range want {
		if got := c.Status(); got != s {
			t.Errorf("%s: status %d, want %d", c, got, s)
		}
	}
	for c, info := range codeTable {
		if info.status < 300 || info.status > 599 || info.message == "" {
			t.Errorf("%s: bad table entry %+v", c, info)
		}
	}
	if Code("Bogus").Status() != 500 {
		t.Error("unknown code must be 500")
	}
}

func TestErrorsIs(t *testing.T) {
	err := fmt.Errorf("gateway: get: %w", Wrap(ErrNoSuchKey, errors.New("meta: not found")))
	if !errors.Is(err, ErrNoSuchKey) || errors.Is(err, ErrNoSuchBucket) {
		t.Fatalf("errors.Is does not match codes: %v", err)
	}
	e := AsError(err)
	if e.Code != ErrNoSuchKey || e.Status != 404 || e.Message != ErrNoSuchKey.Message() {
		t.Fatalf("AsError = %+v", e)
	}
	if e := AsError(fmt.Errorf("x: %w", ErrBucketNotEmpty)); e.Code != ErrBucketNotEmpty || e.Status != 409 {
		t.Fatalf("bare code: %+v", e)
	}
	secret := errors.New("disk /var/secret failed")
	if e := AsError(secret); e.Code != ErrInternalError || strings.Contains(e.Message, "secret") {
		t.Fatalf("plain error leaked: %+v", e)
	}
}

func TestWriteError(t *testing.T) {
	rec := httptest.NewRecorder()
	e := NewError(ErrNoSuchKey, "")
	e.Resource = "examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com/test_404"
	e.TraceID = "trace<&>"
	WriteError(rec, fmt.Errorf("wrapped: %w", e), "NjA3OGY4NGFf")
	want := "<?xml version='1.0' encoding='utf-8' ?>\n<Error>\n" +
		"  <Code>NoSuchKey</Code>\n  <Message>The specified key does not exist.</Message>\n" +
		"  <Resource>examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com/test_404</Resource>\n" +
		"  <RequestId>NjA3OGY4NGFf</RequestId>\n  <TraceId>trace&lt;&amp;&gt;</TraceId>\n</Error>\n"
	if rec.Code != 404 || rec.Body.String() != want {
		t.Fatalf("status %d body\n%s\nwant\n%s", rec.Code, rec.Body.String(), want)
	}
	for k, v := range map[string]string{"Content-Type": "application/xml", "X-Cos-Request-Id": "NjA3OGY4NGFf",
		"X-Cos-Trace-Id": "trace<&>", "Content-Length": fmt.Sprint(len(want))} {
		if got := rec.Header().Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	// The COS Go SDK's error type reads it.
	var sdk cos.ErrorResponse
	if err := xml.Unmarshal(rec.Body.Bytes(), &sdk); err != nil {
		t.Fatal(err)
	}
	if sdk.Code != "NoSuchKey" || sdk.RequestID != "NjA3OGY4NGFf" || sdk.Resource != e.Resource || sdk.TraceID != "trace<&>" {
		t.Errorf("SDK read %+v", sdk)
	}
}

func TestWriteErrorSpecial(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteError(rec, NewError(ErrNotModified, ""), "id")
	if rec.Code != http.StatusNotModified || rec.Body.Len() != 0 || rec.Header().Get("Content-Type") != "" {
		t.Errorf("304: status %d body %q ct %q", rec.Code, rec.Body.String(), rec.Header().Get("Content-Type"))
	}
	rec = httptest.NewRecorder()
	_, _, _, err := ParseRange("bytes=100-", 10)
	WriteError(rec, err, "id")
	if rec.Code != 416 || rec.Header().Get("Content-Range") != "bytes */10" {
		t.Errorf("416: status %d Content-Range %q", rec.Code, rec.Header().Get("Content-Range"))
	}
	rec = httptest.NewRecorder()
	WriteErrorHeader(rec, NewError(ErrNoSuchKey, ""), "id")
	if rec.Code != 404 || rec.Body.Len() != 0 || rec.Header().Get("x-cos-request-id") != "id" {
		t.Errorf("HEAD: status %d body %q", rec.Code, rec.Body.String())
	}
	// Control characters and invalid UTF-8 from a key cannot break the document.
	e := NewError(ErrNoSuchKey, "")
	e.Resource = "b/\x01\xff</Resource>"
	body := AppendErrorBody(nil, e, "id")
	var sdk cos.ErrorResponse
	if err := xml.Unmarshal(body, &sdk); err != nil || sdk.Code != "NoSuchKey" {
		t.Errorf("hostile resource: %v %+v\n%s", err, sdk, body)
	}
}
