package gateway_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"hash/crc64"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	cos "github.com/tencentyun/cos-go-sdk-v5"

	"github.com/coffer-io/coffer/gateway/gatewaytest"
)

// The signatures below are computed independently of the auth package, from
// cos-api.md 5.9 (COS) and the S3 POST policy documentation (SigV4).

type field struct{ name, value string }

// policyDoc is a POST policy expiring at exp with the given conditions.
func policyDoc(t *testing.T, exp time.Time, conds ...any) []byte {
	t.Helper()
	if conds == nil {
		conds = []any{}
	}
	doc, err := json.Marshal(map[string]any{"expiration": exp.UTC().Format("2006-01-02T15:04:05.000Z"), "conditions": conds})
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func hmacSHA1(key []byte, msg string) []byte {
	m := hmac.New(sha1.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

func hmacSHA256(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// cosSigned returns the COS-dialect auth fields for policy doc, signed with secret.
func cosSigned(doc []byte, secret string) []field {
	now := time.Now().Unix()
	keyTime := fmt.Sprintf("%d;%d", now-60, now+3600)
	signKey := hex.EncodeToString(hmacSHA1([]byte(secret), keyTime))
	sum := sha1.Sum(doc)
	sig := hex.EncodeToString(hmacSHA1([]byte(signKey), hex.EncodeToString(sum[:])))
	return []field{
		{"policy", base64.StdEncoding.EncodeToString(doc)},
		{"q-sign-algorithm", "sha1"},
		{"q-ak", gatewaytest.AccessKey},
		{"q-key-time", keyTime},
		{"q-signature", sig},
	}
}

// s3Credential is the x-amz-credential and x-amz-date of a SigV4 form made now.
func s3Credential() (cred, date string) {
	now := time.Now().UTC()
	return gatewaytest.AccessKey + "/" + now.Format("20060102") + "/" + gatewaytest.Region + "/s3/aws4_request", now.Format("20060102T150405Z")
}

// s3Signed returns the S3-dialect auth fields for policy doc (which must cover
// cred and date), signed with secret.
func s3Signed(doc []byte, cred, date, secret string) []field {
	b64 := base64.StdEncoding.EncodeToString(doc)
	k := hmacSHA256([]byte("AWS4"+secret), date[:8])
	k = hmacSHA256(k, gatewaytest.Region)
	k = hmacSHA256(k, "s3")
	k = hmacSHA256(k, "aws4_request")
	return []field{
		{"policy", b64},
		{"x-amz-algorithm", "AWS4-HMAC-SHA256"},
		{"x-amz-credential", cred},
		{"x-amz-date", date},
		{"x-amz-signature", hex.EncodeToString(hmacSHA256(k, b64))},
	}
}

// multipartForm encodes fields in order, then the file part.
func multipartForm(t *testing.T, fields []field, filename string, file []byte) (*bytes.Buffer, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, f := range fields {
		if err := mw.WriteField(f.name, f.value); err != nil {
			t.Fatal(err)
		}
	}
	fw, err := mw.CreateFormFile("file", filename)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(file)
	mw.Close()
	return &b, mw.FormDataContentType()
}

// postForm sends a form to bucket's virtual host without following redirects.
func postForm(t *testing.T, c *gatewaytest.Cluster, bucket string, fields []field, filename string, file []byte) *http.Response {
	t.Helper()
	return postFormTo(t, c, c.Host(bucket), "/", fields, filename, file)
}

// postFormTo sends a form to path on host (path-style when host is the service).
func postFormTo(t *testing.T, c *gatewaytest.Cluster, host, path string, fields []field, filename string, file []byte) *http.Response {
	t.Helper()
	body, ct := multipartForm(t, fields, filename, file)
	req, err := http.NewRequest(http.MethodPost, c.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	req.Header.Set("Content-Type", ct)
	hc := c.HTTPClient()
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// wantPostError checks the status and error code of a refused form.
func wantPostError(t *testing.T, resp *http.Response, status int, code string) {
	t.Helper()
	var e struct{ Code, Message string }
	body, _ := io.ReadAll(resp.Body)
	if err := xml.Unmarshal(body, &e); err != nil || resp.StatusCode != status || e.Code != code {
		t.Fatalf("got %d %q (%s), want %d %s", resp.StatusCode, e.Code, body, status, code)
	}
}

func wantObject(t *testing.T, cl *cos.Client, key string, data []byte) *cos.Response {
	t.Helper()
	resp, err := cl.Object.Get(context.Background(), key, nil)
	if err != nil {
		t.Fatalf("get %q: %v", key, err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("get %q: %d bytes (%v), want %d", key, len(got), err, len(data))
	}
	return resp
}

func wantNoObject(t *testing.T, cl *cos.Client, key string) {
	t.Helper()
	_, err := cl.Object.Head(context.Background(), key, nil)
	if !cos.IsNotFoundError(err) {
		t.Fatalf("head %q after a refused upload: %v, want 404", key, err)
	}
}

func md5ETag(data []byte) string {
	sum := md5.Sum(data)
	return `"` + hex.EncodeToString(sum[:]) + `"`
}

func TestPostObject(t *testing.T) {
	c := gatewaytest.Start(t)
	ctx := context.Background()
	const bucket = "post-1250000000"
	cl := cosClient(c, bucket)
	if _, err := cl.Bucket.Put(ctx, nil); err != nil {
		t.Fatal(err)
	}
	soon := time.Now().Add(time.Hour)

	t.Run("COS", func(t *testing.T) {
		data := randomBytes(70 << 10)
		doc := policyDoc(t, soon,
			map[string]string{"bucket": bucket},
			[]any{"starts-with", "$key", "uploads/"},
			[]any{"content-length-range", 1, 1 << 20},
			[]any{"eq", "$Content-Type", "image/jpeg"},
		)
		fields := append([]field{
			{"key", "uploads/${filename}"},
			{"Content-Type", "image/jpeg"},
			{"Cache-Control", "max-age=60"},
			{"x-cos-meta-origin", "browser form"},
		}, cosSigned(doc, gatewaytest.SecretKey)...)
		resp := postForm(t, c, bucket, fields, "photo.jpg", data)
		if resp.StatusCode != http.StatusNoContent {
			wantPostError(t, resp, http.StatusNoContent, "")
		}
		if got := resp.Header.Get("ETag"); got != md5ETag(data) {
			t.Errorf("ETag %s, want %s", got, md5ETag(data))
		}
		crc := crc64.Checksum(data, crc64.MakeTable(crc64.ECMA))
		if got := resp.Header.Get("x-cos-hash-crc64ecma"); got != strconv.FormatUint(crc, 10) {
			t.Errorf("crc64 %s, want %d", got, crc)
		}
		if got, want := resp.Header.Get("Location"), "http://"+c.Host(bucket)+"/uploads/photo.jpg"; got != want {
			t.Errorf("Location %q, want %q", got, want)
		}
		get := wantObject(t, cl, "uploads/photo.jpg", data)
		h := get.Header
		if h.Get("Content-Type") != "image/jpeg" || h.Get("Cache-Control") != "max-age=60" || h.Get("x-cos-meta-origin") != "browser form" {
			t.Errorf("stored headers: %v", h)
		}
	})

	t.Run("S3Status201", func(t *testing.T) {
		data := randomBytes(1<<20 + 12345) // beyond the in-memory spool
		spoolDir := t.TempDir()
		t.Setenv("TMPDIR", spoolDir)
		cred, date := s3Credential()
		doc := policyDoc(t, soon,
			map[string]string{"bucket": bucket},
			map[string]string{"key": "s3/big.bin"},
			map[string]string{"success_action_status": "201"},
			map[string]string{"x-amz-meta-kind": "s3"},
			map[string]string{"x-amz-algorithm": "AWS4-HMAC-SHA256"},
			map[string]string{"x-amz-credential": cred},
			map[string]string{"x-amz-date": date},
			[]any{"content-length-range", 0, 2 << 20},
		)
		fields := append([]field{
			{"key", "s3/big.bin"}, {"success_action_status", "201"}, {"x-amz-meta-kind", "s3"},
		}, s3Signed(doc, cred, date, gatewaytest.SecretKey)...)
		resp := postForm(t, c, bucket, fields, "big.bin", data)
		var pr struct {
			XMLName                     xml.Name `xml:"PostResponse"`
			Location, Bucket, Key, ETag string
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		if err := xml.Unmarshal(body, &pr); err != nil {
			t.Fatalf("PostResponse %s: %v", body, err)
		}
		want := "http://" + c.Host(bucket) + "/s3/big.bin"
		if pr.Location != want || pr.Bucket != bucket || pr.Key != "s3/big.bin" || pr.ETag != md5ETag(data) {
			t.Errorf("PostResponse %+v", pr)
		}
		get := wantObject(t, cl, "s3/big.bin", data)
		if get.Header.Get("x-cos-meta-kind") != "s3" {
			t.Errorf("metadata: %v", get.Header)
		}
		if left, _ := os.ReadDir(spoolDir); len(left) != 0 {
			t.Errorf("spool files left behind: %v", left)
		}
	})

	t.Run("Redirect", func(t *testing.T) {
		data := []byte("redirected")
		doc := policyDoc(t, soon, []any{"starts-with", "$key", ""})
		fields := append([]field{
			{"key", "r/${filename}"}, {"success_action_redirect", "https://app.example/done?x=1"}, {"success_action_status", "201"},
		}, cosSigned(doc, gatewaytest.SecretKey)...)
		resp := postForm(t, c, bucket, fields, `C:\Users\me\note one.txt`, data)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("status %d, want 303", resp.StatusCode)
		}
		loc, err := url.Parse(resp.Header.Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		qv := loc.Query()
		if loc.Host != "app.example" || loc.Path != "/done" || qv.Get("x") != "1" || qv.Get("bucket") != bucket ||
			qv.Get("key") != "r/note one.txt" || qv.Get("etag") != md5ETag(data) {
			t.Errorf("redirect to %s", loc)
		}
		wantObject(t, cl, "r/note one.txt", data)
	})

	t.Run("Status200", func(t *testing.T) {
		doc := policyDoc(t, soon)
		fields := append([]field{{"key", "plain"}, {"success_action_status", "200"}}, cosSigned(doc, gatewaytest.SecretKey)...)
		resp := postForm(t, c, bucket, fields, "x", nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d, want 200", resp.StatusCode)
		}
		wantObject(t, cl, "plain", nil)
	})

	t.Run("PathStyleForbidOverwrite", func(t *testing.T) {
		service := strings.TrimPrefix(c.URL, "http://")
		doc := policyDoc(t, soon)
		fields := append([]field{{"key", "path/style"}, {"x-cos-forbid-overwrite", "true"}}, cosSigned(doc, gatewaytest.SecretKey)...)
		resp := postFormTo(t, c, service, "/"+bucket, fields, "x", []byte("first"))
		if resp.StatusCode != http.StatusNoContent {
			wantPostError(t, resp, 204, "")
		}
		if got, want := resp.Header.Get("Location"), c.URL+"/"+bucket+"/path/style"; got != want {
			t.Errorf("Location %q, want %q", got, want)
		}
		resp = postFormTo(t, c, service, "/"+bucket, fields, "x", []byte("second"))
		wantPostError(t, resp, http.StatusPreconditionFailed, "PreconditionFailed")
		wantObject(t, cl, "path/style", []byte("first"))
	})

	t.Run("SSE", func(t *testing.T) {
		data := []byte("encrypted by request")
		doc := policyDoc(t, soon)
		fields := append([]field{{"key", "sse"}, {"x-cos-server-side-encryption", "AES256"}}, cosSigned(doc, gatewaytest.SecretKey)...)
		resp := postForm(t, c, bucket, fields, "x", data)
		if resp.StatusCode != http.StatusNoContent || resp.Header.Get("x-cos-server-side-encryption") != "AES256" {
			t.Fatalf("status %d, SSE echo %q", resp.StatusCode, resp.Header.Get("x-cos-server-side-encryption"))
		}
		get := wantObject(t, cl, "sse", data)
		if get.Header.Get("x-cos-server-side-encryption") != "AES256" {
			t.Errorf("GET does not report SSE: %v", get.Header)
		}
	})

	refused := []struct {
		name   string
		key    string
		doc    []byte
		extra  []field
		file   []byte
		s3     bool
		secret string
		status int
		code   string
	}{
		{name: "Expired", key: "expired", doc: policyDoc(t, time.Now().Add(-time.Minute)),
			status: 403, code: "AccessDenied"},
		{name: "WrongBucket", key: "wrong-bucket", file: make([]byte, 3<<20), doc: policyDoc(t, soon, map[string]string{"bucket": "other-1250000000"}),
			status: 403, code: "AccessDenied"},
		{name: "KeyPrefix", key: "elsewhere/a", doc: policyDoc(t, soon, []any{"starts-with", "$key", "uploads/"}),
			status: 403, code: "AccessDenied"},
		{name: "FieldMismatch", key: "ct", extra: []field{{"Content-Type", "text/html"}},
			doc:    policyDoc(t, soon, []any{"eq", "$Content-Type", "image/png"}),
			status: 403, code: "AccessDenied"},
		{name: "TooSmall", key: "small", file: make([]byte, 10), doc: policyDoc(t, soon, []any{"content-length-range", 100, 1000}),
			status: 400, code: "EntityTooSmall"},
		{name: "TooLarge", key: "large", file: make([]byte, 1001), doc: policyDoc(t, soon, []any{"content-length-range", 100, 1000}),
			status: 400, code: "EntityTooLarge"},
		{name: "TooLargeSpooled", key: "spooled", file: make([]byte, 3<<20), doc: policyDoc(t, soon, []any{"content-length-range", 0, 2 << 20}),
			status: 400, code: "EntityTooLarge"},
		{name: "BadSignature", key: "badsig", doc: policyDoc(t, soon), secret: "not-the-secret",
			status: 403, code: "SignatureDoesNotMatch"},
		{name: "S3ExtraField", key: "extra", s3: true, extra: []field{{"x-cos-meta-sneaky", "1"}},
			status: 403, code: "AccessDenied"},
		{name: "BadDigest", key: "digest", extra: []field{{"Content-MD5", base64.StdEncoding.EncodeToString(make([]byte, 16))}},
			doc: policyDoc(t, soon), status: 400, code: "BadDigest"},
		{name: "FormTooLarge", key: "form", doc: policyDoc(t, soon),
			extra:  []field{{"x-ignore-a", strings.Repeat("a", 40<<10)}, {"x-ignore-b", strings.Repeat("b", 40<<10)}},
			status: 400, code: "MaxPostPreDataLengthExceeded"},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			file := tc.file
			if file == nil {
				file = []byte("payload")
			}
			secret := tc.secret
			if secret == "" {
				secret = gatewaytest.SecretKey
			}
			fields := append([]field{{"key", tc.key}}, tc.extra...)
			if tc.s3 {
				cred, date := s3Credential()
				doc := policyDoc(t, soon,
					map[string]string{"key": tc.key},
					map[string]string{"x-amz-algorithm": "AWS4-HMAC-SHA256"},
					map[string]string{"x-amz-credential": cred},
					map[string]string{"x-amz-date": date},
				)
				fields = append(fields, s3Signed(doc, cred, date, secret)...)
			} else {
				fields = append(fields, cosSigned(tc.doc, secret)...)
			}
			resp := postForm(t, c, bucket, fields, "f", file)
			wantPostError(t, resp, tc.status, tc.code)
			wantNoObject(t, cl, tc.key)
		})
	}

	t.Run("MissingKey", func(t *testing.T) {
		resp := postForm(t, c, bucket, cosSigned(policyDoc(t, soon), gatewaytest.SecretKey), "f", []byte("x"))
		wantPostError(t, resp, 400, "InvalidArgument")
	})

	t.Run("Anonymous", func(t *testing.T) {
		// A private bucket refuses unsigned forms.
		resp := postForm(t, c, bucket, []field{{"key", "anon"}}, "f", []byte("x"))
		wantPostError(t, resp, 403, "AccessDenied")
		wantNoObject(t, cl, "anon")
		// A policy without a signature is refused even where anonymous writes are allowed.
		const open = "open-1250000000"
		ocl := cosClient(c, open)
		if _, err := ocl.Bucket.Put(ctx, &cos.BucketPutOptions{XCosACL: "public-read-write"}); err != nil {
			t.Fatal(err)
		}
		resp = postForm(t, c, open, []field{{"key", "anon"}, {"policy", base64.StdEncoding.EncodeToString(policyDoc(t, soon))}}, "f", []byte("x"))
		wantPostError(t, resp, 403, "AccessDenied")
		// A public-read-write bucket takes them.
		data := []byte("anonymous upload")
		resp = postForm(t, c, open, []field{{"key", "anon/${filename}"}}, "a.txt", data)
		if resp.StatusCode != http.StatusNoContent {
			wantPostError(t, resp, 204, "")
		}
		wantObject(t, ocl, "anon/a.txt", data)
	})

	t.Run("WrongUser", func(t *testing.T) {
		fields := append([]field{{"key", "unknown-ak"}}, cosSigned(policyDoc(t, soon), gatewaytest.SecretKey)...)
		for i := range fields {
			if fields[i].name == "q-ak" {
				fields[i].value = "AKIDunknown"
			}
		}
		resp := postForm(t, c, bucket, fields, "f", []byte("x"))
		wantPostError(t, resp, 403, "InvalidAccessKeyId")
	})
}
