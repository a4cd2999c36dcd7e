package auth

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"testing"
	"time"
)

// TestCOSPostSignatureVector pins the second half of the docs/cos-api.md 5.9
// example (the doc does not publish its secret key): signature =
// HMAC-SHA1(SignKey, StringToSign).
func TestCOSPostSignatureVector(t *testing.T) {
	m := hmac.New(sha1.New, []byte("39acc8c9f34ba5b19bce4e965b370cd3f62d2fba"))
	m.Write([]byte("d5d903b8360468bc81c1311f134989bc8c8b5b89"))
	if got := hex.EncodeToString(m.Sum(nil)); got != "7758dc9a832e9d301dca704cacbf9d9f8172fdef" {
		t.Fatalf("signature %s", got)
	}
}

const testPolicy = `{"expiration": "2013-05-25T00:00:00.000Z", "conditions": [
	{"bucket": "examplebucket-1250000000"},
	["starts-with", "$key", "user/ann/"],
	{"acl": "public-read"},
	["eq", "$Content-Type", "image/jpeg"],
	["starts-with", "$x-amz-meta-tag", ""],
	["content-length-range", 10, "1048576"],
	{"x-amz-credential": "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request"},
	{"x-amz-algorithm": "AWS4-HMAC-SHA256"},
	{"x-amz-date": "20130524T000000Z"}
]}`

const cosPolicy = `{"expiration": "2013-05-25T00:00:00.000Z", "conditions": [
	{"bucket": "examplebucket-1250000000"},
	["starts-with", "$key", "user/ann/"],
	{"acl": "public-read"},
	{"q-sign-algorithm": "sha1"},
	{"q-ak": "AKIAIOSFODNN7EXAMPLE"},
	["content-length-range", 10, "1048576"]
]}`

func cosPostFields(secret, keyTime, policy string) map[string]string {
	h := sha1.Sum([]byte(policy))
	m := hmac.New(sha1.New, []byte(hex.EncodeToString(refHMACSHA1([]byte(secret), keyTime))))
	m.Write([]byte(hex.EncodeToString(h[:])))
	return map[string]string{
		"key": "user/ann/photo.jpg", "acl": "public-read", "Content-Type": "image/jpeg", "x-amz-meta-tag": "t",
		"q-sign-algorithm": "sha1", "q-ak": awsAK, "q-key-time": keyTime,
		"q-signature": hex.EncodeToString(m.Sum(nil)), "policy": base64.StdEncoding.EncodeToString([]byte(policy)),
	}
}

func refHMACSHA1(key []byte, msg string) []byte {
	m := hmac.New(sha1.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

func s3PostFields(policy string) map[string]string {
	b64 := base64.StdEncoding.EncodeToString([]byte(policy))
	return map[string]string{
		"key": "user/ann/photo.jpg", "acl": "public-read", "Content-Type": "image/jpeg", "x-amz-meta-tag": "t",
		"X-Amz-Credential": "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request", "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
		"X-Amz-Date": "20130524T000000Z", "Policy": b64,
		"X-Amz-Signature": hex.EncodeToString(refHMAC(refSigningKey(awsSecret, "20130524", "us-east-1"), b64)),
	}
}

func TestVerifyPost(t *testing.T) {
	keyTime := "1369353600;1369440000" // 2013-05-24 00:00 .. +1 day
	tests := []struct {
		name   string
		fields map[string]string
		now    time.Time
		edit   func(map[string]string)
		code   string
	}{
		{"cos", cosPostFields(awsSecret, keyTime, cosPolicy), awsNow, nil, ""},
		{"s3", s3PostFields(testPolicy), awsNow, nil, ""},
		{"anonymous", map[string]string{"key": "a"}, awsNow, nil, ""},
		{"cos wrong secret", cosPostFields("other", keyTime, testPolicy), awsNow, nil, "SignatureDoesNotMatch"},
		{"cos policy swapped", cosPostFields(awsSecret, keyTime, testPolicy), awsNow, func(f map[string]string) {
			f["policy"] = base64.StdEncoding.EncodeToString([]byte(testPolicy + " "))
		}, "SignatureDoesNotMatch"},
		{"cos key time over", cosPostFields(awsSecret, keyTime, testPolicy), awsNow.Add(48 * time.Hour), nil, "AccessDenied"},
		{"cos unknown key", cosPostFields(awsSecret, keyTime, testPolicy), awsNow, func(f map[string]string) { f["q-ak"] = "x" }, "InvalidAccessKeyId"},
		{"s3 tampered policy", s3PostFields(testPolicy), awsNow, func(f map[string]string) {
			f["Policy"] = base64.StdEncoding.EncodeToString([]byte(testPolicy + " "))
		}, "SignatureDoesNotMatch"},
		{"s3 policy expired", s3PostFields(testPolicy), awsNow.Add(25 * time.Hour), nil, "AccessDenied"},
		{"s3 bad policy base64", s3PostFields(testPolicy), awsNow, func(f map[string]string) { f["Policy"] = "!!" }, "InvalidPolicyDocument"},
		{"s3 date mismatch", s3PostFields(testPolicy), awsNow, func(f map[string]string) { f["X-Amz-Date"] = "20130525T000000Z" }, "InvalidArgument"},
		{"policy without signature", map[string]string{"policy": "e30="}, awsNow, nil, "AccessDenied"},
		{"both dialects", cosPostFields(awsSecret, keyTime, testPolicy), awsNow, func(f map[string]string) { f["x-amz-signature"] = "00" }, "InvalidArgument"},
		{"case duplicate", s3PostFields(testPolicy), awsNow, func(f map[string]string) { f["KEY"] = "x" }, "InvalidArgument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.edit != nil {
				tt.edit(tt.fields)
			}
			v := awsVerifier(t, tt.now)
			id, p, err := v.VerifyPost(t.Context(), tt.fields)
			if tt.code != "" {
				wantCode(t, err, tt.code, nil)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.name == "anonymous" {
				if !id.Anonymous || p != nil {
					t.Fatalf("got %+v %v", id, p)
				}
				return
			}
			if id != (Identity{AccessKeyID: awsAK, Method: MethodPostForm}) || len(p.Conditions) < 6 {
				t.Fatalf("identity %+v, %d conditions", id, len(p.Conditions))
			}
			tt.fields["bucket"] = "examplebucket-1250000000"
			if err := v.CheckPolicy(p, tt.fields, 100); err != nil {
				t.Fatalf("CheckPolicy: %v", err)
			}
		})
	}
}

func TestCheckPolicy(t *testing.T) {
	base := func() map[string]string {
		f := s3PostFields(testPolicy)
		f["bucket"] = "examplebucket-1250000000"
		return f
	}
	tests := []struct {
		name     string
		edit     func(map[string]string)
		size     int64
		now      time.Time
		code     string
		sentinel error
	}{
		{"ok", nil, 100, awsNow, "", nil},
		{"ok at bounds", nil, 10, awsNow, "", nil},
		{"ok at max", nil, 1048576, awsNow, "", nil},
		{"too small", nil, 9, awsNow, "EntityTooSmall", ErrEntityTooSmall},
		{"too large", nil, 1048577, awsNow, "EntityTooLarge", ErrEntityTooLarge},
		{"wrong prefix", func(f map[string]string) { f["key"] = "user/bob/x" }, 100, awsNow, "AccessDenied", ErrPolicy},
		{"wrong eq", func(f map[string]string) { f["acl"] = "private" }, 100, awsNow, "AccessDenied", ErrPolicy},
		{"eq is case-sensitive in value", func(f map[string]string) { f["Content-Type"] = "IMAGE/JPEG" }, 100, awsNow, "AccessDenied", ErrPolicy},
		{"missing field", func(f map[string]string) { delete(f, "acl") }, 100, awsNow, "AccessDenied", ErrPolicy},
		{"wrong bucket", func(f map[string]string) { f["bucket"] = "other-1" }, 100, awsNow, "AccessDenied", ErrPolicy},
		{"extra field", func(f map[string]string) { f["x-amz-meta-extra"] = "1" }, 100, awsNow, "AccessDenied", ErrPolicy},
		{"ignored extra field", func(f map[string]string) { f["x-ignore-me"] = "1" }, 100, awsNow, "", nil},
		{"expired", nil, 100, awsNow.Add(25 * time.Hour), "AccessDenied", ErrExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := base()
			_, p, err := awsVerifier(t, awsNow).VerifyPost(t.Context(), f)
			if err != nil {
				t.Fatal(err)
			}
			if tt.edit != nil {
				tt.edit(f)
			}
			err = awsVerifier(t, tt.now).CheckPolicy(p, f, tt.size)
			if tt.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantCode(t, err, tt.code, tt.sentinel)
		})
	}
}

func TestParsePolicy(t *testing.T) {
	tests := []struct {
		doc string
		n   int
		ok  bool
	}{
		{testPolicy, 9, true},
		{`{"expiration":"2030-01-01T00:00:00Z","conditions":[]}`, 0, true},
		{`{"expiration":"2030-01-01T00:00:00Z","conditions":[{"a":"1","b":"2"}]}`, 2, true},
		{`{"conditions":[]}`, 0, false},
		{`{"expiration":"tomorrow","conditions":[]}`, 0, false},
		{`{"expiration":"2030-01-01T00:00:00Z"}`, 0, false},
		{`{"expiration":"2030-01-01T00:00:00Z","conditions":[["eq","key","x"]]}`, 0, false},
		{`{"expiration":"2030-01-01T00:00:00Z","conditions":[["in","$key","x"]]}`, 0, false},
		{`{"expiration":"2030-01-01T00:00:00Z","conditions":[["content-length-range",5,1]]}`, 0, false},
		{`{"expiration":"2030-01-01T00:00:00Z","conditions":[["content-length-range",1.5,2]]}`, 0, false},
		{`{"expiration":"2030-01-01T00:00:00Z","conditions":[{"a":1}]}`, 0, false},
		{`{"expiration":"2030-01-01T00:00:00Z","conditions":[]} {}`, 0, false},
		{`[]`, 0, false},
	}
	for _, tt := range tests {
		p, err := ParsePolicy([]byte(tt.doc))
		if (err == nil) != tt.ok {
			t.Errorf("ParsePolicy(%s): err %v, want ok=%v", tt.doc, err, tt.ok)
			continue
		}
		if err == nil && len(p.Conditions) != tt.n {
			t.Errorf("ParsePolicy(%s): %d conditions, want %d", tt.doc, len(p.Conditions), tt.n)
		}
	}
}

func FuzzPolicy(f *testing.F) {
	f.Add([]byte(testPolicy), "user/ann/x", int64(100))
	f.Add([]byte(`{"expiration":"2030-01-01T00:00:00Z","conditions":[["content-length-range","0","9"],{"key":"k"}]}`), "k", int64(5))
	f.Add([]byte(`{"expiration":"2030-01-01T00:00:00Z","conditions":[["starts-with","$key",""]]}`), "", int64(0))
	f.Add([]byte(`{"expiration":1,"conditions":{}}`), "", int64(0))
	v := awsVerifier(f, awsNow)
	f.Fuzz(func(t *testing.T, doc []byte, key string, size int64) {
		p, err := ParsePolicy(doc)
		if err != nil {
			var ae *Error
			if !errors.As(err, &ae) || ae.Status != 400 {
				t.Fatalf("ParsePolicy error %v is not a 400 *Error", err)
			}
			return
		}
		if len(p.Conditions) > PolicyConditionsMax {
			t.Fatalf("%d conditions accepted", len(p.Conditions))
		}
		err = v.CheckPolicy(p, map[string]string{"key": key}, size)
		if err != nil {
			var ae *Error
			if !errors.As(err, &ae) {
				t.Fatalf("CheckPolicy error %v is not an *Error", err)
			}
		}
	})
}
