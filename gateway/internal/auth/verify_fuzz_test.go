package auth

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

// FuzzVerify throws arbitrary request lines, Authorization headers and SigV4
// headers at Verify: it must never panic, every failure must be an *Error whose
// text carries no secret, and a body it hands out must read without panicking.
func FuzzVerify(f *testing.F) {
	f.Add("GET", "/test.txt", "", "AWS4-HMAC-SHA256 "+awsCred+",SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41", "20130524T000000Z", emptySHA256, "bytes=0-9", "")
	f.Add("GET", "/test.txt", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404", "", "", "", "", "")
	f.Add("PUT", "/k", "", "AWS4-HMAC-SHA256 "+awsCred+",SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41", "20130524T000000Z", payloadStreamSigned, "", "0;chunk-signature=00\r\n\r\n")
	f.Add("GET", "/dir/a%20b%2Bc.txt", "q-sign-algorithm=sha1&q-ak=AKIAIOSFODNN7EXAMPLE&q-sign-time=1369353600;1369440000&q-key-time=1369353600;1369440000&q-header-list=host&q-url-param-list=&q-signature=59f36dbfffa5de66c1ab3321e1d94da6358dc5b0", "", "", "", "", "")
	f.Add("POST", "/?uploads", "", "q-sign-algorithm=sha1&q-ak=AKIAIOSFODNN7EXAMPLE&q-sign-time=1;2&q-key-time=1;2&q-header-list=host;x&q-url-param-list=uploads&q-signature=59f36dbfffa5de66c1ab3321e1d94da6358dc5b0", "", "", "", "")
	v := awsVerifier(f, awsNow)
	f.Fuzz(func(t *testing.T, method, target, rawQuery, authz, amzDate, sha, rng, body string) {
		r, err := http.NewRequest(method, "http://examplebucket.s3.amazonaws.com"+target, strings.NewReader(body))
		if err != nil {
			return
		}
		if rawQuery != "" {
			r.URL.RawQuery = rawQuery
		}
		for k, val := range map[string]string{"Authorization": authz, "X-Amz-Date": amzDate, "X-Amz-Content-Sha256": sha, "Range": rng} {
			if val != "" {
				r.Header.Set(k, val)
			}
		}
		r.Header.Set("X-Amz-Decoded-Content-Length", "3")
		res, err := v.Verify(r, nil)
		if err != nil {
			var ae *Error
			if !errors.As(err, &ae) || ae.Status < 400 {
				t.Fatalf("error %v is not an *Error with a 4xx/5xx status", err)
			}
			if strings.Contains(err.Error(), awsSecret) {
				t.Fatal("error leaks the secret")
			}
			return
		}
		if res.Body != nil {
			_, err = io.ReadAll(res.Body)
			var ae *Error
			if err != nil && !errors.As(err, &ae) {
				t.Fatalf("body error %v is not an *Error", err)
			}
		}
	})
}
