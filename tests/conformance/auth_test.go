package conformance

import (
	"bytes"
	"encoding/xml"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/logging"
	cos "github.com/tencentyun/cos-go-sdk-v5"

	"github.com/coffer-io/coffer/gateway/gatewaytest"
)

// rawError is the <Error> body of a response.
type rawError struct {
	Code, Message, Resource, RequestId string
}

// signed sends a raw request to bucket's virtual host, signed the way the COS Go
// SDK signs (cos.AddAuthorizationHeader) with the given key pair and validity,
// after which tamper may change the request. It returns the response and body.
func (e *env) signed(t *testing.T, method, bucket, pathQuery string, h http.Header, body []byte,
	ak, sk string, at *cos.AuthTime, tamper func(*http.Request)) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(e.ctx, method, "http://"+e.c.Host(bucket)+pathQuery, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	if at == nil {
		at = cos.NewAuthTime(time.Hour)
	}
	cos.AddAuthorizationHeader(ak, sk, "", req, at)
	if tamper != nil {
		tamper(req)
	}
	resp, err := e.httpClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func parseError(t *testing.T, b []byte) rawError {
	t.Helper()
	var er rawError
	if err := xml.Unmarshal(b, &er); err != nil {
		t.Errorf("error body does not parse: %v: %q", err, b)
	}
	return er
}

// TestAuth covers the signature errors of cos-api.md 2.6 and the addressing rules
// of section 1 that the SDK tests elsewhere do not reach.
func TestAuth(t *testing.T) {
	e := start(t)
	const bucket = "auth-1250000000"
	cl := e.mkBucket(t, bucket, nil)
	e.put(t, cl, "obj", []byte("auth"))
	ak, sk := gatewaytest.AccessKey, gatewaytest.SecretKey
	past := time.Now().Add(-2 * time.Hour)

	cases := []struct {
		name    string
		method  string
		path    string
		h       http.Header
		ak, sk  string
		at      *cos.AuthTime
		tamper  func(*http.Request)
		status  int
		code    string
		message string
	}{
		{name: "Valid", method: "GET", path: "/obj", ak: ak, sk: sk, status: 200},
		{name: "WrongSecret", method: "GET", path: "/obj", ak: ak, sk: "wrong", status: 403, code: "SignatureDoesNotMatch"},
		{name: "UnknownAccessKey", method: "GET", path: "/obj", ak: "AKIDunknown0000000000000000000000000", sk: sk, status: 403, code: "InvalidAccessKeyId"},
		// Node matches this exact message to resync its clock.
		{name: "Expired", method: "GET", path: "/obj", ak: ak, sk: sk, at: &cos.AuthTime{
			SignStartTime: past, SignEndTime: past.Add(time.Hour), KeyStartTime: past, KeyEndTime: past.Add(time.Hour),
		}, status: 403, code: "AccessDenied", message: "Request has expired"},
		// The Go SDK builds StringToSign from q-key-time; when it differs from
		// q-sign-time a server must still accept it (cos-api.md 2.2 step 5).
		{name: "KeyTimeDiffersFromSignTime", method: "GET", path: "/obj", ak: ak, sk: sk, at: &cos.AuthTime{
			SignStartTime: time.Now().Add(-time.Minute), SignEndTime: time.Now().Add(time.Hour),
			KeyStartTime: time.Now().Add(-2 * time.Minute), KeyEndTime: time.Now().Add(2 * time.Hour),
		}, status: 200},
		{name: "TamperedSignedHeader", method: "GET", path: "/obj", h: http.Header{"X-Cos-Meta-A": {"1"}}, ak: ak, sk: sk,
			tamper: func(r *http.Request) { r.Header.Set("X-Cos-Meta-A", "2") }, status: 403, code: "SignatureDoesNotMatch"},
		{name: "TamperedQuery", method: "GET", path: "/?prefix=o", ak: ak, sk: sk,
			tamper: func(r *http.Request) { r.URL.RawQuery = "prefix=x" }, status: 403, code: "SignatureDoesNotMatch"},
		{name: "TamperedMethod", method: "GET", path: "/obj", ak: ak, sk: sk,
			tamper: func(r *http.Request) { r.Method = http.MethodDelete }, status: 403, code: "SignatureDoesNotMatch"},
		// Node signs neither Content-Type nor Cache-Control (cos-api.md 2.2).
		{name: "NodeUnsignedContentType", method: "GET", path: "/obj", ak: ak, sk: sk,
			tamper: func(r *http.Request) {
				r.Header.Set("Content-Type", "text/plain")
				r.Header.Set("Cache-Control", "no-cache")
			}, status: 200},
		{name: "UnsignedHeaderAdded", method: "GET", path: "/obj", ak: ak, sk: sk,
			tamper: func(r *http.Request) { r.Header.Set("X-Unsigned", "fine") }, status: 200},
		{name: "MalformedAuthorization", method: "GET", path: "/obj", ak: ak, sk: sk,
			tamper: func(r *http.Request) {
				r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "q-signature=", "q-sig=", 1))
			}, status: 400, code: ""}, // COS documents no code; S3 says AuthorizationHeaderMalformed
		// Node sends prefix= (empty) on every listing: it means no prefix.
		{name: "EmptyPrefixParam", method: "GET", path: "/?prefix=&delimiter=&marker=", ak: ak, sk: sk, status: 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, b := e.signed(t, tc.method, bucket, tc.path, tc.h, nil, tc.ak, tc.sk, tc.at, tc.tamper)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, b)
			}
			if tc.status == 200 {
				if tc.name == "EmptyPrefixParam" && !bytes.Contains(b, []byte("<Key>obj</Key>")) {
					t.Errorf("listing with empty prefix: %s", b)
				}
				return
			}
			er := parseError(t, b)
			if tc.code != "" && er.Code != tc.code {
				t.Errorf("code %q, want %q", er.Code, tc.code)
			}
			if tc.message != "" && er.Message != tc.message {
				t.Errorf("message %q, want %q", er.Message, tc.message)
			}
			if er.RequestId == "" || er.RequestId != resp.Header.Get("x-cos-request-id") {
				t.Errorf("RequestId %q, header %q", er.RequestId, resp.Header.Get("x-cos-request-id"))
			}
			if resp.Header.Get("Date") == "" {
				t.Error("error without Date (Node resyncs its clock from it)")
			}
		})
	}

	t.Run("S3WrongSecret", func(t *testing.T) {
		cfg, err := config.LoadDefaultConfig(e.ctx, config.WithRegion(gatewaytest.Region),
			config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(ak, "wrong", "")))
		if err != nil {
			t.Fatal(err)
		}
		bad := s3.NewFromConfig(cfg, func(o *s3.Options) {
			o.BaseEndpoint, o.UsePathStyle, o.Logger = aws.String(e.c.URL), true, logging.Nop{}
			o.HTTPClient = &http.Client{Transport: e.transport()}
		})
		_, err = bad.GetObject(e.ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("obj")})
		wantS3Err(t, "s3 wrong secret", err, 403, "SignatureDoesNotMatch")
	})

	t.Run("LongVirtualHost", func(t *testing.T) {
		// "<bucket>.cos.<region>.<domain>" addresses the bucket like "<bucket>.<domain>".
		long := e.cos(bucket)
		long.Host = bucket + ".cos." + gatewaytest.Region + "." + e.c.Host("")[1:]
		if got := e.get(t, long, "obj"); string(got) != "auth" {
			t.Errorf("object through the long host holds %q", got)
		}
	})
	t.Run("KeyWithEncodedSlashes", func(t *testing.T) {
		// The Go SDK sends '/' as %2F; a raw request with literal slashes names the
		// same key (cos-api.md 1.2).
		e.put(t, cl, "x/y/z w", []byte("slashes"))
		resp, b := e.signed(t, "GET", bucket, "/x/y/z%20w", nil, nil, ak, sk, nil, nil)
		if resp.StatusCode != 200 || string(b) != "slashes" {
			t.Errorf("GET with literal slashes: %d %q", resp.StatusCode, b)
		}
	})
}
