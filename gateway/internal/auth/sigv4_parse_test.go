package auth

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestParseSigV4Authorization(t *testing.T) {
	const sig = "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
	good := "AWS4-HMAC-SHA256 " + awsCred + ", SignedHeaders=host;range;x-amz-date, " + sig
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"good", good, true},
		{"no spaces", "AWS4-HMAC-SHA256 " + awsCred + ",SignedHeaders=host," + sig, true},
		{"any order", "AWS4-HMAC-SHA256 " + sig + ",SignedHeaders=host," + awsCred, true},
		{"wrong algorithm", strings.Replace(good, "AWS4-HMAC-SHA256", "AWS4-HMAC-SHA512", 1), false},
		{"missing signature", "AWS4-HMAC-SHA256 " + awsCred + ", SignedHeaders=host", false},
		{"duplicate component", good + ", " + sig, false},
		{"unknown component", good + ", Foo=bar", false},
		{"component without =", good + ", Foo", false},
		{"short signature", strings.TrimSuffix(good, "41"), false},
		{"non-hex signature", strings.Replace(good, "f0e8", "g0e8", 1), false},
		{"no host signed", strings.Replace(good, "host;", "", 1), false},
		{"upper-case signed header", strings.Replace(good, "range", "Range", 1), false},
		{"empty signed header", strings.Replace(good, "host;", "host;;", 1), false},
		{"credential too short", strings.Replace(good, "/us-east-1", "", 1), false},
		{"credential wrong terminator", strings.Replace(good, "aws4_request", "aws4_reques", 1), false},
		{"credential wrong service", strings.Replace(good, "/s3/", "/iam/", 1), false},
		{"credential bad date", strings.Replace(good, "20130524", "2013-5-24", 1), false},
		{"credential empty region", strings.Replace(good, "us-east-1", "", 1), false},
		{"credential empty key", strings.Replace(good, "AKIAIOSFODNN7EXAMPLE", "", 1), false},
		{"too many signed headers", strings.Replace(good, "host;", "host;"+strings.Repeat("a;", SignedNamesMax), 1), false},
	}
	for _, tt := range tests {
		a, err := parseSigV4Authorization(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("%s: err %v, want ok=%v", tt.name, err, tt.ok)
			continue
		}
		if err != nil {
			wantCode(t, err, "AuthorizationHeaderMalformed", ErrMalformed)
			continue
		}
		if a.ak != awsAK || a.scope != "20130524/us-east-1/s3/aws4_request" || a.region != "us-east-1" {
			t.Errorf("%s: parsed %+v", tt.name, a)
		}
	}
}

func TestSigV4HeaderChecks(t *testing.T) {
	// The AWS GET example, with one thing changed per case.
	mk := func() (*httptestRequest, string) {
		r := httptest.NewRequest("GET", "http://examplebucket.s3.amazonaws.com/test.txt", nil)
		r.Header.Set("Range", "bytes=0-9")
		r.Header.Set("x-amz-content-sha256", emptySHA256)
		r.Header.Set("x-amz-date", "20130524T000000Z")
		return r, "AWS4-HMAC-SHA256 " + awsCred + ",SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
	}
	tests := []struct {
		name   string
		edit   func(r *httptestRequest, authz *string)
		cfg    func(c *Config)
		code   string
		sentin error
	}{
		{"baseline", func(*httptestRequest, *string) {}, nil, "", nil},
		{"region pinned ok", func(*httptestRequest, *string) {}, func(c *Config) { c.Region = "us-east-1" }, "", nil},
		{"region pinned wrong", func(*httptestRequest, *string) {}, func(c *Config) { c.Region = "ap-guangzhou" }, "AuthorizationHeaderMalformed", ErrMalformed},
		{"unsigned amz header", func(r *httptestRequest, _ *string) { r.Header.Set("X-Amz-Server-Side-Encryption", "AES256") }, nil, "AccessDenied", ErrHeadersNotSigned},
		{"missing content sha", func(r *httptestRequest, _ *string) { r.Header.Del("x-amz-content-sha256") }, nil, "InvalidRequest", ErrMalformed},
		{"bad content sha", func(r *httptestRequest, _ *string) { r.Header.Set("x-amz-content-sha256", "nope") }, nil, "InvalidArgument", ErrMalformed},
		{"missing date", func(r *httptestRequest, _ *string) { r.Header.Del("x-amz-date") }, nil, "AccessDenied", ErrMalformed},
		{"date differs from scope", func(r *httptestRequest, _ *string) { r.Header.Set("x-amz-date", "20130525T000000Z") }, nil, "AuthorizationHeaderMalformed", ErrMalformed},
		{"header value changed", func(r *httptestRequest, _ *string) { r.Header.Set("Range", "bytes=0-10") }, nil, "SignatureDoesNotMatch", ErrSignatureMismatch},
		{"header value spacing folded", func(r *httptestRequest, _ *string) { r.Header.Set("Range", "  bytes=0-9 ") }, nil, "", nil},
		{"method changed", func(r *httptestRequest, _ *string) { r.Method = "DELETE" }, nil, "SignatureDoesNotMatch", ErrSignatureMismatch},
		{"host changed", func(r *httptestRequest, _ *string) { r.Host = "evil.s3.amazonaws.com" }, nil, "SignatureDoesNotMatch", ErrSignatureMismatch},
		{"query added", func(r *httptestRequest, _ *string) { r.URL.RawQuery = "acl" }, nil, "SignatureDoesNotMatch", ErrSignatureMismatch},
		{"secrets lookup fails", func(*httptestRequest, *string) {}, nil, "InternalError", ErrInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, authz := mk()
			tt.edit(r, &authz)
			r.Header.Set("Authorization", authz)
			cfg := Config{Now: func() time.Time { return awsNow }}
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			var secrets Secrets = mapSecrets{awsAK: awsSecret}
			if tt.name == "secrets lookup fails" {
				secrets = failingSecrets{}
			}
			v, err := New(secrets, cfg)
			if err != nil {
				t.Fatal(err)
			}
			_, err = v.Verify(r, nil)
			if tt.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantCode(t, err, tt.code, tt.sentin)
			if strings.Contains(err.Error(), awsSecret) || strings.Contains(err.Error(), "f0e8bdb8") {
				t.Fatalf("error leaks secret material: %v", err)
			}
		})
	}
}

func FuzzParseSigV4Authorization(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 " + awsCred + ", SignedHeaders=host;range;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
	f.Add("AWS4-HMAC-SHA256 Credential=a/b/c/d/e,SignedHeaders=,Signature=")
	f.Add("AWS4-HMAC-SHA256 ,,,")
	f.Add("AWS4-HMAC-SHA256 Credential=//////")
	f.Fuzz(func(t *testing.T, s string) {
		a, err := parseSigV4Authorization(s)
		if err != nil {
			var ae *Error
			if !errors.As(err, &ae) || ae.Status != 400 {
				t.Fatalf("error %v is not a 400 *Error", err)
			}
			return
		}
		if a.ak == "" || a.region == "" || len(a.date) != 8 || len(a.signedHeaders) == 0 || !strings.HasSuffix(a.scope, "/s3/aws4_request") {
			t.Fatalf("accepted inconsistent credential %+v", a)
		}
	})
}
