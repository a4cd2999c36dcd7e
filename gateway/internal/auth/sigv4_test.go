package auth

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// Examples from the AWS S3 API reference, "Signature Calculations for the
// Authorization Header" and "Query String Authentication": secret
// wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY, time 20130524T000000Z, us-east-1.
const (
	awsAK     = "AKIAIOSFODNN7EXAMPLE"
	awsSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	awsCred   = "Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request"
)

var awsNow = time.Date(2013, 5, 24, 0, 5, 0, 0, time.UTC)

func awsVerifier(t testing.TB, now time.Time) *Verifier {
	return newTestVerifier(t, mapSecrets{awsAK: awsSecret}, now)
}

func TestSigV4AWSExamples(t *testing.T) {
	tests := []struct {
		name    string
		method  string
		target  string
		host    string
		headers [][2]string
		signed  string
		sig     string
		body    string
	}{
		{
			name: "GET object", method: "GET", target: "/test.txt", host: "examplebucket.s3.amazonaws.com",
			headers: [][2]string{{"Range", "bytes=0-9"}, {"x-amz-content-sha256", emptySHA256}, {"x-amz-date", "20130524T000000Z"}},
			signed:  "host;range;x-amz-content-sha256;x-amz-date",
			sig:     "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
		},
		{
			name: "PUT object", method: "PUT", target: "/test$file.text", host: "examplebucket.s3.amazonaws.com",
			headers: [][2]string{{"Date", "Fri, 24 May 2013 00:00:00 GMT"}, {"x-amz-date", "20130524T000000Z"},
				{"x-amz-storage-class", "REDUCED_REDUNDANCY"},
				{"x-amz-content-sha256", "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"}},
			signed: "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
			sig:    "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
			body:   "Welcome to Amazon S3.",
		},
		{
			name: "GET bucket lifecycle", method: "GET", target: "/?lifecycle", host: "examplebucket.s3.amazonaws.com",
			headers: [][2]string{{"x-amz-date", "20130524T000000Z"}, {"x-amz-content-sha256", emptySHA256}},
			signed:  "host;x-amz-content-sha256;x-amz-date",
			sig:     "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
		},
		{
			name: "GET bucket list", method: "GET", target: "/?max-keys=2&prefix=J", host: "examplebucket.s3.amazonaws.com",
			headers: [][2]string{{"x-amz-date", "20130524T000000Z"}, {"x-amz-content-sha256", emptySHA256}},
			signed:  "host;x-amz-content-sha256;x-amz-date",
			sig:     "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mk := func(sig, body string) *http.Request {
				r := httptest.NewRequest(tt.method, "http://"+tt.host+tt.target, strings.NewReader(body))
				for _, h := range tt.headers {
					r.Header.Set(h[0], h[1])
				}
				r.Header.Set("Authorization", "AWS4-HMAC-SHA256 "+awsCred+",SignedHeaders="+tt.signed+",Signature="+sig)
				return r
			}
			v := awsVerifier(t, awsNow)
			res, err := v.Verify(mk(tt.sig, tt.body), nil)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if res.Identity != (Identity{AccessKeyID: awsAK, Method: MethodSigV4Header}) {
				t.Fatalf("identity %+v", res.Identity)
			}
			got, err := io.ReadAll(res.Body)
			if err != nil || string(got) != tt.body {
				t.Fatalf("body %q, %v", got, err)
			}
			// A different body fails at EOF when a digest was signed.
			if tt.body != "" {
				res, err := v.Verify(mk(tt.sig, tt.body+"!"), nil)
				if err != nil {
					t.Fatal(err)
				}
				_, err = io.ReadAll(res.Body)
				wantCode(t, err, "XAmzContentSHA256Mismatch", ErrContentSHA256Mismatch)
			}
			_, err = v.Verify(mk(strings.Replace(tt.sig, tt.sig[:2], "00", 1), tt.body), nil)
			wantCode(t, err, "SignatureDoesNotMatch", ErrSignatureMismatch)
			_, err = awsVerifier(t, awsNow.Add(16*time.Minute)).Verify(mk(tt.sig, tt.body), nil)
			wantCode(t, err, "RequestTimeTooSkewed", ErrClockSkew)
			_, err = newTestVerifier(t, mapSecrets{}, awsNow).Verify(mk(tt.sig, tt.body), nil)
			wantCode(t, err, "InvalidAccessKeyId", ErrUnknownAccessKey)
		})
	}
}

func TestSigV4PresignedAWSExample(t *testing.T) {
	const base = "http://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature="
	const sig = "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
	tests := []struct {
		name string
		url  string
		now  time.Time
		hdr  [2]string
		code string
	}{
		{"ok", base + sig, awsNow, [2]string{}, ""},
		{"ok near expiry", base + sig, awsNow.Add(23 * time.Hour), [2]string{}, ""},
		{"expired", base + sig, awsNow.Add(25 * time.Hour), [2]string{}, "AccessDenied"},
		{"not yet valid", base + sig, awsNow.Add(-time.Hour), [2]string{}, "RequestTimeTooSkewed"},
		{"tampered expiry", strings.Replace(base, "86400", "86401", 1) + sig, awsNow, [2]string{}, "SignatureDoesNotMatch"},
		{"tampered key", strings.Replace(base, "test.txt", "test2.txt", 1) + sig, awsNow, [2]string{}, "SignatureDoesNotMatch"},
		{"expires too long", strings.Replace(base, "86400", "604801", 1) + sig, awsNow, [2]string{}, "AuthorizationQueryParametersError"},
		{"missing date", strings.Replace(base, "&X-Amz-Date=20130524T000000Z", "", 1) + sig, awsNow, [2]string{}, "AuthorizationQueryParametersError"},
		{"wrong service", strings.Replace(base, "%2Fs3%2F", "%2Fec2%2F", 1) + sig, awsNow, [2]string{}, "AuthorizationQueryParametersError"},
		{"unsigned amz header", base + sig, awsNow, [2]string{"X-Amz-Acl", "public-read"}, "AccessDenied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", tt.url, nil)
			if tt.hdr[0] != "" {
				r.Header.Set(tt.hdr[0], tt.hdr[1])
			}
			res, err := awsVerifier(t, tt.now).Verify(r, nil)
			if tt.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				if res.Identity != (Identity{AccessKeyID: awsAK, Method: MethodSigV4Query}) {
					t.Fatalf("identity %+v", res.Identity)
				}
				return
			}
			wantCode(t, err, tt.code, nil)
		})
	}
}

// awsChunkedExample builds the documented chunked upload: 66560 bytes of 'a'
// in chunks of 64 KiB, 1 KiB and 0 with the published chunk signatures.
func awsChunkedExample(sigs [3]string) []byte {
	var b bytes.Buffer
	b.WriteString("10000;chunk-signature=" + sigs[0] + "\r\n")
	b.Write(bytes.Repeat([]byte{'a'}, 65536))
	b.WriteString("\r\n400;chunk-signature=" + sigs[1] + "\r\n")
	b.Write(bytes.Repeat([]byte{'a'}, 1024))
	b.WriteString("\r\n0;chunk-signature=" + sigs[2] + "\r\n\r\n")
	return b.Bytes()
}

var awsChunkSigs = [3]string{
	"ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
	"0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
	"b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
}

func awsChunkedRequest(body []byte) *http.Request {
	r := httptest.NewRequest("PUT", "http://s3.amazonaws.com/examplebucket/chunkObject.txt", bytes.NewReader(body))
	r.Header.Set("x-amz-date", "20130524T000000Z")
	r.Header.Set("x-amz-storage-class", "REDUCED_REDUNDANCY")
	r.Header.Set("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
	r.Header.Set("Content-Encoding", "aws-chunked")
	r.Header.Set("x-amz-decoded-content-length", "66560")
	r.Header.Set("Content-Length", "66824")
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 "+awsCred+",SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9")
	return r
}

func TestSigV4ChunkedAWSExample(t *testing.T) {
	body := awsChunkedExample(awsChunkSigs)
	if len(body) != 66824 {
		t.Fatalf("example body is %d bytes, want 66824", len(body))
	}
	v := awsVerifier(t, awsNow)
	res, err := v.Verify(awsChunkedRequest(body), nil)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	got, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if !bytes.Equal(got, bytes.Repeat([]byte{'a'}, 66560)) || res.DecodedLength != 66560 {
		t.Fatalf("decoded %d bytes (declared %d)", len(got), res.DecodedLength)
	}

	// Corrupting the second chunk: the first chunk's 64 KiB are released, not one
	// byte of the second.
	bad := bytes.Clone(body)
	bad[65626+100] = 'b'
	res, err = v.Verify(awsChunkedRequest(bad), nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err = io.ReadAll(res.Body)
	wantCode(t, err, "SignatureDoesNotMatch", ErrSignatureMismatch)
	if len(got) != 65536 {
		t.Fatalf("released %d bytes before the bad chunk, want 65536", len(got))
	}
	// Reordered signatures fail on the first chunk.
	res, _ = v.Verify(awsChunkedRequest(awsChunkedExample([3]string{awsChunkSigs[1], awsChunkSigs[0], awsChunkSigs[2]})), nil)
	got, err = io.ReadAll(res.Body)
	wantCode(t, err, "SignatureDoesNotMatch", nil)
	if len(got) != 0 {
		t.Fatalf("released %d unverified bytes", len(got))
	}
	// Truncation anywhere is an error, never a clean EOF.
	for _, n := range []int{0, 10, 65626, 66000, len(body) - 2, len(body) - 1} {
		res, _ := v.Verify(awsChunkedRequest(body[:n]), nil)
		_, err := io.ReadAll(res.Body)
		if err == nil {
			t.Fatalf("truncated at %d: clean EOF", n)
		}
		if !errors.Is(err, ErrIncompleteBody) && !errors.Is(err, ErrMalformedBody) {
			t.Fatalf("truncated at %d: %v", n, err)
		}
	}
}
