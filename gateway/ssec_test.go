package gateway_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	cos "github.com/tencentyun/cos-go-sdk-v5"

	"github.com/coffer-io/coffer/cluster/meta"
	"github.com/coffer-io/coffer/gateway/gatewaytest"
)

// customerKey is an SSE-C key as a client holds it.
type customerKey struct {
	raw      []byte
	b64, md5 string
}

func newCustomerKey(n int) customerKey {
	raw := randomBytes(n)
	sum := md5.Sum(raw)
	return customerKey{raw: raw, b64: base64.StdEncoding.EncodeToString(raw), md5: base64.StdEncoding.EncodeToString(sum[:])}
}

func (k customerKey) put() *cos.ObjectPutHeaderOptions {
	return &cos.ObjectPutHeaderOptions{XCosSSECustomerAglo: "AES256", XCosSSECustomerKey: k.b64, XCosSSECustomerKeyMD5: k.md5}
}

func (k customerKey) get() *cos.ObjectGetOptions {
	return &cos.ObjectGetOptions{XCosSSECustomerAglo: "AES256", XCosSSECustomerKey: k.b64, XCosSSECustomerKeyMD5: k.md5}
}

func (k customerKey) head() *cos.ObjectHeadOptions {
	return &cos.ObjectHeadOptions{XCosSSECustomerAglo: "AES256", XCosSSECustomerKey: k.b64, XCosSSECustomerKeyMD5: k.md5}
}

// copyFrom sets k as the copy-source key of opt.
func (k customerKey) copyFrom(opt *cos.ObjectCopyHeaderOptions) *cos.ObjectCopyHeaderOptions {
	opt.XCosCopySourceSSECustomerAglo, opt.XCosCopySourceSSECustomerKey, opt.XCosCopySourceSSECustomerKeyMD5 = "AES256", k.b64, k.md5
	return opt
}

// header is k as raw request headers (for requests the SDK has no fields for).
func (k customerKey) header(prefix string) *http.Header {
	return &http.Header{
		prefix + "server-side-encryption-customer-algorithm": {"AES256"},
		prefix + "server-side-encryption-customer-key":       {k.b64},
		prefix + "server-side-encryption-customer-key-MD5":   {k.md5},
	}
}

// checkEcho checks that a response echoes k's algorithm and MD5 and never the key.
func checkEcho(t *testing.T, what string, h http.Header, k customerKey) {
	t.Helper()
	if a, m := h.Get("x-cos-server-side-encryption-customer-algorithm"), h.Get("x-cos-server-side-encryption-customer-key-MD5"); a != "AES256" || m != k.md5 {
		t.Errorf("%s: echo algorithm %q md5 %q, want AES256 %q", what, a, m, k.md5)
	}
	if h.Get("x-cos-server-side-encryption-customer-key") != "" || h.Get("x-cos-server-side-encryption") != "" {
		t.Errorf("%s: response echoes the key or an SSE-COS header: %v", what, h)
	}
}

func readAll(t *testing.T, resp *cos.Response) []byte {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func statusOf(err error) int {
	var cerr *cos.ErrorResponse
	if errors.As(err, &cerr) && cerr.Response != nil {
		return cerr.Response.StatusCode
	}
	return 0
}

func TestSSECObjects(t *testing.T) {
	c := gatewaytest.Start(t)
	ctx := context.Background()
	const bucket = "ssec-1250000000"
	cl := cosClient(c, bucket)
	if _, err := cl.Bucket.Put(ctx, &cos.BucketPutOptions{XCosACL: "public-read"}); err != nil {
		t.Fatal(err)
	}
	k1, k2 := newCustomerKey(32), newCustomerKey(32)
	small := []byte("small SSE-C object")
	large := randomBytes(800 << 10) // several stripes and packages

	for key, data := range map[string][]byte{"small": small, "large": large} {
		resp, err := cl.Object.Put(ctx, key, bytes.NewReader(data), &cos.ObjectPutOptions{ObjectPutHeaderOptions: k1.put()})
		if err != nil {
			t.Fatalf("put %s: %v", key, err)
		}
		checkEcho(t, "put "+key, resp.Header, k1)
		sum := md5.Sum(data)
		if etag := resp.Header.Get("ETag"); etag != `"`+hex.EncodeToString(sum[:])+`"` {
			t.Errorf("put %s: ETag %s is not the plaintext MD5", key, etag)
		}
	}
	if _, err := cl.Object.Put(ctx, "plain", bytes.NewReader(small), nil); err != nil {
		t.Fatal(err)
	}

	// The record keeps salt and HMAC, no master-key reference, and nothing that is the key.
	v, err := c.Meta.GetObject(ctx, bucket, "large")
	if err != nil {
		t.Fatal(err)
	}
	if v.SSE.Mode != meta.ModeSSEC || len(v.SSE.CustomerSalt) < 16 || len(v.SSE.CustomerHMAC) != 32 || v.SSE.MasterKeyVersion != 0 {
		t.Fatalf("stored SSE record: mode %q salt %d hmac %d mkv %d", v.SSE.Mode, len(v.SSE.CustomerSalt), len(v.SSE.CustomerHMAC), v.SSE.MasterKeyVersion)
	}
	for _, field := range [][]byte{v.SSE.CustomerSalt, v.SSE.CustomerHMAC, v.SSE.SealedDEK} {
		if bytes.Contains(field, k1.raw[:16]) {
			t.Fatal("the SSE record holds the customer key")
		}
	}

	t.Run("read", func(t *testing.T) {
		resp, err := cl.Object.Get(ctx, "large", k1.get())
		if err != nil {
			t.Fatal(err)
		}
		checkEcho(t, "get", resp.Header, k1)
		if !bytes.Equal(readAll(t, resp), large) {
			t.Fatal("get returned other bytes")
		}
		opt := k1.get()
		opt.Range = "bytes=65530-300000"
		resp, err = cl.Object.Get(ctx, "large", opt)
		if err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, resp); resp.StatusCode != http.StatusPartialContent || !bytes.Equal(got, large[65530:300001]) {
			t.Fatalf("range get: status %d, %d bytes", resp.StatusCode, len(got))
		}
		resp, err = cl.Object.Head(ctx, "small", k1.head())
		if err != nil {
			t.Fatal(err)
		}
		checkEcho(t, "head", resp.Header, k1)
		if resp.ContentLength != int64(len(small)) {
			t.Fatalf("head: Content-Length %d", resp.ContentLength)
		}
	})

	t.Run("refused reads", func(t *testing.T) {
		short := newCustomerKey(16)
		for _, tc := range []struct {
			name   string
			key    string
			header http.Header
			status int
			code   string
		}{
			{"no key", "small", nil, 400, "SsecDecryptHeaderInvalid"},
			{"wrong key", "small", *k2.header("x-cos-"), 403, "AccessDenied"},
			{"key of 16 bytes", "small", *short.header("x-cos-"), 400, "InvalidArgument"},
			{"MD5 of another key", "small", http.Header{
				"x-cos-server-side-encryption-customer-algorithm": {"AES256"},
				"x-cos-server-side-encryption-customer-key":       {k1.b64},
				"x-cos-server-side-encryption-customer-key-MD5":   {k2.md5},
			}, 400, "InvalidArgument"},
			{"algorithm AES128", "small", http.Header{
				"x-cos-server-side-encryption-customer-algorithm": {"AES128"},
				"x-cos-server-side-encryption-customer-key":       {k1.b64},
				"x-cos-server-side-encryption-customer-key-MD5":   {k1.md5},
			}, 400, "InvalidArgument"},
			{"key without MD5", "small", http.Header{
				"x-cos-server-side-encryption-customer-algorithm": {"AES256"},
				"x-cos-server-side-encryption-customer-key":       {k1.b64},
			}, 400, "InvalidArgument"},
			{"key for an unencrypted object", "plain", *k1.header("x-cos-"), 400, "InvalidRequest"},
			{"SSE-COS header on a read", "small", http.Header{"x-cos-server-side-encryption": {"AES256"}}, 400, "SSEHeaderNotAllowed"},
		} {
			h := tc.header.Clone()
			_, err := cl.Object.Get(ctx, tc.key, &cos.ObjectGetOptions{XOptionHeader: &h})
			if statusOf(err) != tc.status || cosCode(err) != tc.code {
				t.Errorf("get, %s: %v, want %d %s", tc.name, err, tc.status, tc.code)
			}
			_, err = cl.Object.Head(ctx, tc.key, &cos.ObjectHeadOptions{XOptionHeader: &h})
			if statusOf(err) != tc.status {
				t.Errorf("head, %s: %v, want %d", tc.name, err, tc.status)
			}
		}
	})

	t.Run("anonymous", func(t *testing.T) {
		// The bucket is public-read: the unencrypted object is served, the SSE-C
		// one is not, even with its key.
		anon := cosClientWith(c, bucket, http.DefaultTransport)
		resp, err := anon.Object.Get(ctx, "plain", nil)
		if err != nil {
			t.Fatalf("anonymous get of a public object: %v", err)
		}
		resp.Body.Close()
		if _, err := anon.Object.Get(ctx, "small", k1.get()); cosCode(err) != "AccessDenied" {
			t.Fatalf("anonymous get of an SSE-C object: %v", err)
		}
	})

	t.Run("copy", func(t *testing.T) {
		src := c.Host(bucket) + "/large"
		for _, tc := range []struct {
			name    string
			opt     *cos.ObjectCopyHeaderOptions
			read    *cos.ObjectGetOptions
			mode    meta.SSEMode
			errCode string
		}{
			{"re-key", k1.copyFrom(&cos.ObjectCopyHeaderOptions{XCosSSECustomerAglo: "AES256", XCosSSECustomerKey: k2.b64, XCosSSECustomerKeyMD5: k2.md5}), k2.get(), meta.ModeSSEC, ""},
			{"to none", k1.copyFrom(&cos.ObjectCopyHeaderOptions{}), nil, meta.ModeNone, ""},
			{"to SSE-COS", k1.copyFrom(&cos.ObjectCopyHeaderOptions{XCosServerSideEncryption: "AES256"}), nil, meta.ModeSSECOS, ""},
			{"without the source key", &cos.ObjectCopyHeaderOptions{}, nil, "", "InvalidRequest"},
			{"with the wrong source key", k2.copyFrom(&cos.ObjectCopyHeaderOptions{}), nil, "", "AccessDenied"},
		} {
			dst := "copy/" + tc.name
			_, resp, err := cl.Object.Copy(ctx, dst, src, &cos.ObjectCopyOptions{ObjectCopyHeaderOptions: tc.opt})
			if tc.errCode != "" {
				if cosCode(err) != tc.errCode {
					t.Errorf("copy %s: %v, want %s", tc.name, err, tc.errCode)
				}
				continue
			}
			if err != nil {
				t.Fatalf("copy %s: %v", tc.name, err)
			}
			if tc.mode == meta.ModeSSEC {
				checkEcho(t, "copy "+tc.name, resp.Header, k2)
			}
			if m := storedMode(t, c, bucket, dst); m != tc.mode {
				t.Errorf("copy %s: stored mode %q, want %q", tc.name, m, tc.mode)
			}
			got, err := cl.Object.Get(ctx, dst, tc.read)
			if err != nil {
				t.Fatalf("get copy %s: %v", tc.name, err)
			}
			if !bytes.Equal(readAll(t, got), large) {
				t.Fatalf("copy %s holds other bytes", tc.name)
			}
		}
		// The re-keyed copy does not open with the old key.
		if _, err := cl.Object.Get(ctx, "copy/re-key", k1.get()); cosCode(err) != "AccessDenied" {
			t.Fatalf("re-keyed copy with the old key: %v", err)
		}
		// An unencrypted source copied into SSE-C.
		if _, _, err := cl.Object.Copy(ctx, "copy/into", c.Host(bucket)+"/plain", &cos.ObjectCopyOptions{
			ObjectCopyHeaderOptions: &cos.ObjectCopyHeaderOptions{XCosSSECustomerAglo: "AES256", XCosSSECustomerKey: k2.b64, XCosSSECustomerKeyMD5: k2.md5},
		}); err != nil {
			t.Fatal(err)
		}
		resp, err := cl.Object.Get(ctx, "copy/into", k2.get())
		if err != nil || !bytes.Equal(readAll(t, resp), small) {
			t.Fatalf("get of a copy into SSE-C: %v", err)
		}
	})

	t.Run("multipart", func(t *testing.T) {
		data := randomBytes(3<<20 + 4321)
		path := filepath.Join(t.TempDir(), "upload.bin")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		// Upload sends the key on Initiate, every part and Complete.
		_, resp, err := cl.Object.Upload(ctx, "multi", path, &cos.MultiUploadOptions{
			PartSize: 1, ThreadPoolSize: 2,
			OptIni: &cos.InitiateMultipartUploadOptions{ObjectPutHeaderOptions: k2.put()},
		})
		if err != nil {
			t.Fatalf("upload: %v", err)
		}
		checkEcho(t, "complete", resp.Header, k2)
		got, err := cl.Object.Get(ctx, "multi", k2.get())
		if err != nil || !bytes.Equal(readAll(t, got), data) {
			t.Fatalf("get of an SSE-C multipart object: %v", err)
		}
		opt := k2.get()
		opt.Range = fmt.Sprintf("bytes=%d-%d", 1<<20-10, 2<<20+10)
		got, err = cl.Object.Get(ctx, "multi", opt)
		if err != nil || !bytes.Equal(readAll(t, got), data[1<<20-10:2<<20+11]) {
			t.Fatalf("range across parts: %v", err)
		}
		if _, err := cl.Object.Get(ctx, "multi", k1.get()); cosCode(err) != "AccessDenied" {
			t.Fatalf("multipart object with the wrong key: %v", err)
		}

		// Parts must carry the upload's key.
		init, resp, err := cl.Object.InitiateMultipartUpload(ctx, "parts", &cos.InitiateMultipartUploadOptions{ObjectPutHeaderOptions: k2.put()})
		if err != nil {
			t.Fatal(err)
		}
		checkEcho(t, "initiate", resp.Header, k2)
		part := data[:1<<20]
		for _, tc := range []struct {
			name string
			opt  *cos.ObjectUploadPartOptions
			code string
		}{
			{"no key", nil, "InvalidRequest"},
			{"wrong key", &cos.ObjectUploadPartOptions{XCosSSECustomerAglo: "AES256", XCosSSECustomerKey: k1.b64, XCosSSECustomerKeyMD5: k1.md5}, "AccessDenied"},
		} {
			if _, err := cl.Object.UploadPart(ctx, "parts", init.UploadID, 1, bytes.NewReader(part), tc.opt); cosCode(err) != tc.code {
				t.Errorf("upload part, %s: %v, want %s", tc.name, err, tc.code)
			}
		}
		resp, err = cl.Object.UploadPart(ctx, "parts", init.UploadID, 1, bytes.NewReader(part),
			&cos.ObjectUploadPartOptions{XCosSSECustomerAglo: "AES256", XCosSSECustomerKey: k2.b64, XCosSSECustomerKeyMD5: k2.md5})
		if err != nil {
			t.Fatalf("upload part: %v", err)
		}
		checkEcho(t, "upload part", resp.Header, k2)
		etag1 := resp.Header.Get("ETag")

		// Upload Part - Copy from an SSE-C source: the copy-source key opens the
		// source, the upload's key (raw headers: the SDK has no fields) the upload.
		copyOpt := &cos.ObjectCopyPartOptions{
			XCosCopySourceSSECustomerAglo: "AES256", XCosCopySourceSSECustomerKey: k1.b64, XCosCopySourceSSECustomerKeyMD5: k1.md5,
		}
		if _, _, err := cl.Object.CopyPart(ctx, "parts", init.UploadID, 2, c.Host(bucket)+"/large", copyOpt); cosCode(err) != "InvalidRequest" {
			t.Fatalf("copy part without the upload's key: %v", err)
		}
		copyOpt.XOptionHeader = k2.header("x-cos-")
		cp, _, err := cl.Object.CopyPart(ctx, "parts", init.UploadID, 2, c.Host(bucket)+"/large", copyOpt)
		if err != nil {
			t.Fatalf("copy part: %v", err)
		}
		_, resp, err = cl.Object.CompleteMultipartUpload(ctx, "parts", init.UploadID, &cos.CompleteMultipartUploadOptions{
			Parts: []cos.Object{{PartNumber: 1, ETag: etag1}, {PartNumber: 2, ETag: cp.ETag}},
		})
		if err != nil {
			t.Fatalf("complete without the key: %v", err)
		}
		if resp.Header.Get("x-cos-server-side-encryption-customer-key") != "" {
			t.Fatal("complete echoes a key")
		}
		got, err = cl.Object.Get(ctx, "parts", k2.get())
		if err != nil || !bytes.Equal(readAll(t, got), append(append([]byte(nil), part...), large...)) {
			t.Fatalf("get of part + copied part: %v", err)
		}
	})

	t.Run("tamper", func(t *testing.T) {
		// Records moved or sealed keys swapped underneath fail the read; they never
		// yield bytes, neither these nor another object's.
		for _, key := range []string{"ta", "tb"} {
			if _, err := cl.Object.Put(ctx, key, bytes.NewReader(randomBytes(1000)), &cos.ObjectPutOptions{ObjectPutHeaderOptions: k1.put()}); err != nil {
				t.Fatal(err)
			}
		}
		va, err := c.Meta.GetObject(ctx, bucket, "ta")
		if err != nil {
			t.Fatal(err)
		}
		vb, err := c.Meta.GetObject(ctx, bucket, "tb")
		if err != nil {
			t.Fatal(err)
		}
		swapped, moved := *va, *vb
		swapped.SSE = vb.SSE
		moved.Key = "tmoved"
		// Committing the same version id again is a no-op: drop ta first (this
		// cluster runs no garbage collector, so its shards stay).
		if _, err := c.Meta.Apply(ctx, &meta.DeleteObject{Bucket: bucket, Key: "ta"}); err != nil {
			t.Fatal(err)
		}
		for _, v := range []meta.Version{swapped, moved} {
			if _, err := c.Meta.Apply(ctx, &meta.CommitObject{Version: v}); err != nil {
				t.Fatalf("commit tampered %s: %v", v.Key, err)
			}
			resp, err := cl.Object.Get(ctx, v.Key, k1.get())
			if err == nil {
				resp.Body.Close()
				t.Fatalf("tampered %s was served", v.Key)
			}
			if statusOf(err) != http.StatusInternalServerError {
				t.Errorf("tampered %s: %v, want 500", v.Key, err)
			}
		}
	})

	t.Run("policy", func(t *testing.T) {
		// Bucket default encryption does not override explicit SSE-C headers.
		if _, err := cl.Bucket.PutEncryption(ctx, &cos.BucketPutEncryptionOptions{Rule: &cos.BucketEncryptionConfiguration{SSEAlgorithm: "AES256"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := cl.Object.Put(ctx, "explicit", bytes.NewReader(small), &cos.ObjectPutOptions{ObjectPutHeaderOptions: k1.put()}); err != nil {
			t.Fatal(err)
		}
		if m := storedMode(t, c, bucket, "explicit"); m != meta.ModeSSEC {
			t.Fatalf("explicit SSE-C in an AES256 bucket stored as %q", m)
		}
		// A bucket that blocks SSE-C refuses SSE-C writes with 403, and still
		// serves what it holds.
		if _, err := c.Meta.Apply(ctx, &meta.UpdateBucket{Name: bucket, Fields: meta.FieldSSEC, SSEC: meta.SSECBlocked}); err != nil {
			t.Fatal(err)
		}
		_, err := cl.Object.Put(ctx, "blocked", bytes.NewReader(small), &cos.ObjectPutOptions{ObjectPutHeaderOptions: k1.put()})
		if cosCode(err) != "AccessDenied" || statusOf(err) != http.StatusForbidden {
			t.Fatalf("SSE-C put into a blocking bucket: %v", err)
		}
		if _, _, err := cl.Object.InitiateMultipartUpload(ctx, "blocked", &cos.InitiateMultipartUploadOptions{ObjectPutHeaderOptions: k1.put()}); cosCode(err) != "AccessDenied" {
			t.Fatalf("SSE-C initiate in a blocking bucket: %v", err)
		}
		if _, err := cl.Object.Put(ctx, "unblocked", bytes.NewReader(small), nil); err != nil {
			t.Fatalf("plain put into a blocking bucket: %v", err)
		}
		resp, err := cl.Object.Get(ctx, "small", k1.get())
		if err != nil || !bytes.Equal(readAll(t, resp), small) {
			t.Fatalf("read of an SSE-C object in a blocking bucket: %v", err)
		}
	})
}

// tlsServer serves c's gateway over TLS (with its own test certificate).
func tlsServer(t *testing.T, c *gatewaytest.Cluster) *httptest.Server {
	t.Helper()
	ts := httptest.NewTLSServer(c.Gateway)
	t.Cleanup(ts.Close)
	return ts
}

// tlsClient is a COS SDK client for bucket on a TLS server in front of c's gateway.
func tlsClient(t *testing.T, c *gatewaytest.Cluster, bucket string) *cos.Client {
	t.Helper()
	ts := tlsServer(t, c)
	u, _ := url.Parse(ts.URL)
	cl := cos.NewClient(&cos.BaseURL{BucketURL: u, ServiceURL: u}, &http.Client{
		Transport: &cos.AuthorizationTransport{SecretID: gatewaytest.AccessKey, SecretKey: gatewaytest.SecretKey, Transport: ts.Client().Transport},
	})
	cl.Host = bucket + "." + gatewaytest.Domain + ":" + u.Port()
	return cl
}
