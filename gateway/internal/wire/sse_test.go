package wire

import (
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// Doc example key (cos-api.md §3.1).
const (
	testKey    = "MDEyMzQ1Njc4OUFCQ0RFRjAxMjM0NTY3ODlBQkNERUY="
	testKeyMD5 = "U5L61r7jcwdNvT7frmUG8g=="
	testCtx    = "eyJhIjoiYXNkZmEiLCJiIjoiMTIzMzIxIn0=" // {"a":"asdfa","b":"123321"}
)

func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

func ssec(prefix string) []string {
	return []string{prefix + "algorithm", "AES256", prefix + "key", testKey, prefix + "key-MD5", testKeyMD5}
}

func TestParseSSE(t *testing.T) {
	cosC := ssec("x-cos-server-side-encryption-customer-")
	amzC := ssec("x-amz-server-side-encryption-customer-")
	copyC := ssec("x-cos-copy-source-server-side-encryption-customer-")
	cust := CustomerKey{Algorithm: "AES256", Key: testKey, KeyMD5: testKeyMD5}
	tests := []struct {
		name string
		op   SSEOp
		h    http.Header
		want SSERequest
		code Code
	}{
		{"none", SSEOpPut, hdr(), SSERequest{}, ""},
		{"sse-cos", SSEOpPut, hdr("x-cos-server-side-encryption", "AES256"), SSERequest{Mode: SSECOS}, ""},
		{"sse-cos amz", SSEOpPut, hdr("x-amz-server-side-encryption", "AES256"), SSERequest{Mode: SSECOS, Dialect: DialectS3}, ""},
		{"both agree", SSEOpPut, hdr("x-amz-server-side-encryption", "AES256", "x-cos-server-side-encryption", "AES256"), SSERequest{Mode: SSECOS}, ""},
		{"both disagree", SSEOpPut, hdr("x-amz-server-side-encryption", "aws:kms", "x-cos-server-side-encryption", "AES256"), SSERequest{}, ErrInvalidArgument},
		{"kms default key", SSEOpInitiate, hdr("x-cos-server-side-encryption", "cos/kms"), SSERequest{Mode: SSEKMS}, ""},
		{"kms key and context", SSEOpPut, hdr("x-cos-server-side-encryption", "cos/kms",
			"x-cos-server-side-encryption-cos-kms-key-id", "48ba38aa-26c5-11ea-855c-52540085a1b2",
			"x-cos-server-side-encryption-context", testCtx),
			SSERequest{Mode: SSEKMS, KMSKeyID: "48ba38aa-26c5-11ea-855c-52540085a1b2",
				KMSContext: map[string]string{"a": "asdfa", "b": "123321"}, KMSContextRaw: testCtx}, ""},
		{"aws kms", SSEOpCopy, hdr("x-amz-server-side-encryption", "aws:kms", "x-amz-server-side-encryption-aws-kms-key-id", "arn:aws:kms:us-east-1:1:key/abc"),
			SSERequest{Mode: SSEKMS, KMSKeyID: "arn:aws:kms:us-east-1:1:key/abc", Dialect: DialectS3}, ""},
		{"bad value", SSEOpPut, hdr("x-cos-server-side-encryption", "SM4"), SSERequest{}, ErrSSEContentNotSupported},
		{"lowercase value", SSEOpPut, hdr("x-cos-server-side-encryption", "aes256"), SSERequest{}, ErrSSEContentNotSupported},
		{"key id without kms", SSEOpPut, hdr("x-cos-server-side-encryption-cos-kms-key-id", "k"), SSERequest{}, ErrInvalidArgument},
		{"key id with aes", SSEOpPut, hdr("x-cos-server-side-encryption", "AES256", "x-cos-server-side-encryption-cos-kms-key-id", "k"), SSERequest{}, ErrInvalidArgument},
		{"key id with space", SSEOpPut, hdr("x-cos-server-side-encryption", "cos/kms", "x-cos-server-side-encryption-cos-kms-key-id", "a b"), SSERequest{}, ErrInvalidArgument},
		{"context not base64", SSEOpPut, hdr("x-cos-server-side-encryption", "cos/kms", "x-cos-server-side-encryption-context", "!!"), SSERequest{}, ErrInvalidArgument},
		{"context not object", SSEOpPut, hdr("x-cos-server-side-encryption", "cos/kms", "x-cos-server-side-encryption-context", "WzFd"), SSERequest{}, ErrInvalidArgument},
		{"context non-string", SSEOpPut, hdr("x-cos-server-side-encryption", "cos/kms", "x-cos-server-side-encryption-context", "eyJhIjoxfQ=="), SSERequest{}, ErrInvalidArgument},
		{"context null", SSEOpPut, hdr("x-cos-server-side-encryption", "cos/kms", "x-cos-server-side-encryption-context", "bnVsbA=="), SSERequest{}, ErrInvalidArgument},
		{"context too long", SSEOpPut, hdr("x-cos-server-side-encryption", "cos/kms", "x-cos-server-side-encryption-context", strings.Repeat("A", SSEContextBytesMax+4)), SSERequest{}, ErrInvalidArgument},
		{"sse-c", SSEOpPut, hdr(cosC...), SSERequest{Mode: SSEC, Customer: cust}, ""},
		{"sse-c amz", SSEOpInitiate, hdr(amzC...), SSERequest{Mode: SSEC, Customer: cust, Dialect: DialectS3}, ""},
		{"sse-c canonical md5 name", SSEOpPut, hdr("X-Cos-Server-Side-Encryption-Customer-Algorithm", "AES256",
			"X-Cos-Server-Side-Encryption-Customer-Key", testKey, "X-Cos-Server-Side-Encryption-Customer-Key-Md5", testKeyMD5),
			SSERequest{Mode: SSEC, Customer: cust}, ""},
		{"sse-c no md5", SSEOpPut, hdr(cosC[:4]...), SSERequest{}, ErrInvalidArgument},
		{"sse-c no key", SSEOpPut, hdr(cosC[0], cosC[1], cosC[4], cosC[5]), SSERequest{}, ErrInvalidArgument},
		{"sse-c no algorithm", SSEOpPut, hdr(cosC[2:]...), SSERequest{}, ErrInvalidArgument},
		{"sse-c bad algorithm", SSEOpPut, hdr(cosC[0], "AES128", cosC[2], cosC[3], cosC[4], cosC[5]), SSERequest{}, ErrInvalidArgument},
		{"sse-c plus sse-cos", SSEOpPut, hdr(append(cosC, "x-cos-server-side-encryption", "AES256")...), SSERequest{}, ErrInvalidArgument},
		{"get plain", SSEOpRead, hdr(), SSERequest{}, ""},
		{"get sse header", SSEOpRead, hdr("x-cos-server-side-encryption", "AES256"), SSERequest{}, ErrSSEHeaderNotAllowed},
		{"get amz sse header", SSEOpRead, hdr("x-amz-server-side-encryption", "aws:kms"), SSERequest{}, ErrSSEHeaderNotAllowed},
		{"get kms key header", SSEOpRead, hdr("x-cos-server-side-encryption-cos-kms-key-id", "k"), SSERequest{}, ErrSSEHeaderNotAllowed},
		{"get sse-c", SSEOpRead, hdr(cosC...), SSERequest{Mode: SSEC, Customer: cust}, ""},
		{"get partial sse-c", SSEOpRead, hdr(cosC[:2]...), SSERequest{}, ErrInvalidArgument},
		{"upload part tolerates sse", SSEOpUploadPart, hdr("x-cos-server-side-encryption", "AES256"), SSERequest{}, ""},
		{"upload part tolerates junk sse", SSEOpUploadPart, hdr("x-cos-server-side-encryption", "junk"), SSERequest{}, ""},
		{"upload part sse-c", SSEOpUploadPart, hdr(append(cosC, "x-cos-server-side-encryption", "AES256")...), SSERequest{Mode: SSEC, Customer: cust}, ""},
		{"upload part partial sse-c", SSEOpUploadPart, hdr(cosC[:2]...), SSERequest{}, ErrInvalidArgument},
		{"complete ignores all", SSEOpComplete, hdr(slices.Concat(cosC[:2], []string{"x-cos-server-side-encryption", "cos/kms", "x-cos-server-side-encryption-context", "!!"})...), SSERequest{}, ""},
		{"delete ignores all", SSEOpDelete, hdr(cosC...), SSERequest{}, ""},
		{"copy with source key", SSEOpCopy, hdr(append(copyC, "x-cos-server-side-encryption", "AES256")...), SSERequest{Mode: SSECOS, CopySource: &cust}, ""},
		{"copy partial source key", SSEOpCopy, hdr(copyC[:4]...), SSERequest{}, ErrInvalidArgument},
		{"put ignores copy-source key", SSEOpPut, hdr(copyC...), SSERequest{}, ""},
		{"part copy", SSEOpUploadPartCopy, hdr(append(copyC, cosC...)...), SSERequest{Mode: SSEC, Customer: cust, CopySource: &cust}, ""},
	}
	for _, tt := range tests {
		got, err := ParseSSE(tt.h, tt.op)
		if tt.code != "" {
			checkCode(t, tt.name, err, tt.code)
			if !reflect.DeepEqual(got, SSERequest{}) {
				t.Errorf("%s: error with a non-zero request %+v", tt.name, got)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %+v, %v; want %+v", tt.name, got, err, tt.want)
		}
	}
}

func TestParseSSEForm(t *testing.T) {
	got, err := ParseSSEForm(map[string]string{"X-Cos-Server-Side-Encryption": "cos/kms", "key": "a", "Content-Type": "x"})
	if err != nil || got.Mode != SSEKMS {
		t.Errorf("form kms: %+v %v", got, err)
	}
	got, err = ParseSSEForm(map[string]string{"x-cos-server-side-encryption-customer-algorithm": "AES256",
		"x-cos-server-side-encryption-customer-key": testKey, "x-cos-server-side-encryption-customer-key-MD5": testKeyMD5})
	if err != nil || got.Mode != SSEC || got.Customer.Key != testKey {
		t.Errorf("form sse-c: %v %v", got.Mode, err)
	}
}

func TestCustomerKeyNeverPrinted(t *testing.T) {
	r := SSERequest{Mode: SSEC, Customer: CustomerKey{Algorithm: "AES256", Key: testKey, KeyMD5: testKeyMD5}}
	r.CopySource = &r.Customer
	for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
		if s := fmt.Sprintf(f, r); strings.Contains(s, testKey) {
			t.Errorf("%s prints the key: %s", f, s)
		}
	}
	// Errors for every malformed combination never carry the key.
	for _, h := range []http.Header{
		hdr("x-cos-server-side-encryption-customer-key", testKey),
		hdr("x-cos-server-side-encryption-customer-key", testKey, "x-amz-server-side-encryption-customer-key", "other"),
		hdr("x-cos-server-side-encryption-customer-algorithm", testKey, "x-cos-server-side-encryption-customer-key", testKey),
	} {
		_, err := ParseSSE(h, SSEOpPut)
		if err == nil || strings.Contains(err.Error(), testKey) || strings.Contains(AsError(err).Message, testKey) {
			t.Errorf("error %v carries the key", err)
		}
	}
}

func TestSetSSEHeaders(t *testing.T) {
	tests := []struct {
		d     Dialect
		mode  SSEMode
		keyID string
		want  map[string]string
	}{
		{DialectCOS, SSENone, "", map[string]string{}},
		{DialectCOS, SSECOS, "", map[string]string{"X-Cos-Server-Side-Encryption": "AES256"}},
		{DialectCOS, SSEKMS, "cmk", map[string]string{"X-Cos-Server-Side-Encryption": "cos/kms", "X-Cos-Server-Side-Encryption-Cos-Kms-Key-Id": "cmk"}},
		{DialectS3, SSEKMS, "cmk", map[string]string{"X-Amz-Server-Side-Encryption": "aws:kms", "X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id": "cmk"}},
		{DialectCOS, SSEC, "", map[string]string{"X-Cos-Server-Side-Encryption-Customer-Algorithm": "AES256", "X-Cos-Server-Side-Encryption-Customer-Key-Md5": testKeyMD5}},
		{DialectS3, SSEC, "", map[string]string{"X-Amz-Server-Side-Encryption-Customer-Algorithm": "AES256", "X-Amz-Server-Side-Encryption-Customer-Key-Md5": testKeyMD5}},
	}
	for _, tt := range tests {
		h := http.Header{}
		SetSSEHeaders(h, tt.d, tt.mode, tt.keyID, testKeyMD5)
		got := map[string]string{}
		for k := range h {
			got[k] = h.Get(k)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%v/%v: got %v want %v", tt.d, tt.mode, got, tt.want)
		}
	}
}

func FuzzParseSSEHeaders(f *testing.F) {
	f.Add(uint8(SSEOpPut), "AES256", "", "", "", "", "")
	f.Add(uint8(SSEOpPut), "cos/kms", "key", testCtx, "", "", "")
	f.Add(uint8(SSEOpRead), "", "", "", "AES256", testKey, testKeyMD5)
	f.Add(uint8(SSEOpUploadPart), "junk", "", "", "AES256", testKey, "")
	f.Fuzz(func(t *testing.T, op uint8, sse, keyID, ctx, alg, key, md5 string) {
		h := hdr("x-cos-server-side-encryption", sse, "x-cos-server-side-encryption-cos-kms-key-id", keyID,
			"x-cos-server-side-encryption-context", ctx, "x-cos-server-side-encryption-customer-algorithm", alg,
			"x-cos-server-side-encryption-customer-key", key, "x-cos-server-side-encryption-customer-key-MD5", md5,
			"x-cos-copy-source-server-side-encryption-customer-key", key)
		r, err := ParseSSE(h, SSEOp(op%9))
		if err != nil {
			if AsError(err).Status != 400 {
				t.Fatalf("status %d", AsError(err).Status)
			}
			if len(key) >= 8 && (strings.Contains(err.Error(), key) || strings.Contains(fmt.Sprint(r), key)) {
				t.Fatalf("key leaked: %v", err)
			}
			return
		}
		if r.Mode == SSEC && (r.Customer.Key != key || r.Customer.Algorithm != AlgorithmSSEC) {
			t.Fatalf("SSE-C request %v lost the key", r)
		}
	})
}
