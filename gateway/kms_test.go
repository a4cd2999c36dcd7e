package gateway_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	cos "github.com/tencentyun/cos-go-sdk-v5"

	"github.com/coffer-io/coffer/cluster/meta"
	"github.com/coffer-io/coffer/gateway"
	"github.com/coffer-io/coffer/gateway/gatewaytest"
	"github.com/coffer-io/coffer/gateway/internal/kms"
	"github.com/coffer-io/coffer/sse"
)

// kmsHeader is the SSE-KMS request header set; id and encCtx (base64 JSON) may be "".
func kmsHeader(id, encCtx string) *http.Header {
	h := http.Header{}
	if id != "" {
		h.Set("x-cos-server-side-encryption-cos-kms-key-id", id)
	}
	if encCtx != "" {
		h.Set("x-cos-server-side-encryption-context", encCtx)
	}
	return &h
}

func kmsPut(id, encCtx string) *cos.ObjectPutOptions {
	return &cos.ObjectPutOptions{ObjectPutHeaderOptions: &cos.ObjectPutHeaderOptions{
		XCosServerSideEncryption: "cos/kms", XOptionHeader: kmsHeader(id, encCtx),
	}}
}

// checkKMSEcho checks the SSE-KMS response headers of cos-api.md 3.3.
func checkKMSEcho(t *testing.T, what string, h http.Header, id string) {
	t.Helper()
	if m, k := h.Get("x-cos-server-side-encryption"), h.Get("x-cos-server-side-encryption-cos-kms-key-id"); m != "cos/kms" || k != id {
		t.Errorf("%s: echo %q key %q, want cos/kms %q", what, m, k, id)
	}
}

func kmsGet(t *testing.T, cl *cos.Client, key string, opt *cos.ObjectGetOptions) ([]byte, http.Header, error) {
	t.Helper()
	resp, err := cl.Object.Get(context.Background(), key, opt)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return b, resp.Header, err
}

func adminCode(err error) string {
	var ae *gateway.AdminError
	if errors.As(err, &ae) {
		return ae.Code
	}
	return ""
}

func TestSSEKMS(t *testing.T) {
	c := gatewaytest.Start(t)
	ctx := context.Background()
	const bucket = "kms-1250000000"
	cl := cosClient(c, bucket)
	if _, err := cl.Bucket.Put(ctx, nil); err != nil {
		t.Fatal(err)
	}
	admin := &gateway.AdminClient{Endpoint: c.URL, AccessKey: gatewaytest.AccessKey, SecretKey: gatewaytest.SecretKey}
	data := randomBytes(200<<10 + 7) // several 64 KiB packages

	// expectKMS reads key back whole and in a range across a package boundary, and
	// checks the echo of GET and HEAD.
	expectKMS := func(t *testing.T, key string, want []byte, id string) {
		t.Helper()
		got, h, err := kmsGet(t, cl, key, nil)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("get %s: %d bytes, %v", key, len(got), err)
		}
		checkKMSEcho(t, "get "+key, h, id)
		if len(want) > 70<<10 {
			got, _, err = kmsGet(t, cl, key, &cos.ObjectGetOptions{Range: fmt.Sprintf("bytes=%d-%d", 64<<10-5, 70<<10)})
			if err != nil || !bytes.Equal(got, want[64<<10-5:70<<10+1]) {
				t.Fatalf("range of %s: %v", key, err)
			}
		}
		resp, err := cl.Object.Head(ctx, key, nil)
		if err != nil {
			t.Fatalf("head %s: %v", key, err)
		}
		checkKMSEcho(t, "head "+key, resp.Header, id)
		v, err := c.Meta.GetObject(ctx, bucket, key)
		if err != nil || v.SSE.Mode != meta.ModeSSEKMS || v.SSE.CMKID != id {
			t.Fatalf("record of %s: %+v, %v", key, v, err)
		}
	}
	expectCode := func(t *testing.T, what string, err error, code string) {
		t.Helper()
		if cosCode(err) != code || statusOf(err) != http.StatusBadRequest {
			t.Fatalf("%s: %v, want 400 %s", what, err, code)
		}
	}

	var defaultID string
	t.Run("default CMK", func(t *testing.T) {
		resp, err := cl.Object.Put(ctx, "d", bytes.NewReader(data), kmsPut("", ""))
		if err != nil {
			t.Fatal(err)
		}
		def, err := admin.KMSDescribe(ctx, gateway.DefaultCMKAlias)
		if err != nil || def.State != meta.CMKEnabled || def.Origin != meta.OriginCoffer {
			t.Fatalf("default CMK after first use: %+v, %v", def, err)
		}
		defaultID = def.KeyID
		checkKMSEcho(t, "put", resp.Header, defaultID)
		expectKMS(t, "d", data, defaultID)
	})

	named, err := admin.KMSCreate(ctx, gateway.KMSCreateRequest{Alias: "app", Description: "application key"})
	if err != nil || named.State != meta.CMKEnabled || named.MaterialVersions != 1 {
		t.Fatalf("create: %+v, %v", named, err)
	}
	if _, err := admin.KMSCreate(ctx, gateway.KMSCreateRequest{Alias: "app"}); adminCode(err) != "InvalidArgument" {
		t.Fatalf("a second key with alias app: %v", err)
	}
	encCtx := base64.StdEncoding.EncodeToString([]byte(`{"team":"blue","app":"x"}`))

	t.Run("named CMK with context", func(t *testing.T) {
		resp, err := cl.Object.Put(ctx, "n", bytes.NewReader(data), kmsPut(named.KeyID, encCtx))
		if err != nil {
			t.Fatal(err)
		}
		checkKMSEcho(t, "put", resp.Header, named.KeyID)
		expectKMS(t, "n", data, named.KeyID)
		if v, _ := c.Meta.GetObject(ctx, bucket, "n"); v.SSE.Context != encCtx {
			t.Fatalf("stored context %q", v.SSE.Context)
		}
		// By alias: the record names the key id.
		if _, err := cl.Object.Put(ctx, "alias", strings.NewReader("by alias"), kmsPut("app", "")); err != nil {
			t.Fatal(err)
		}
		expectKMS(t, "alias", []byte("by alias"), named.KeyID)
		_, err = cl.Object.Put(ctx, "unknown", strings.NewReader("x"), kmsPut("no-such-key", ""))
		expectCode(t, "put under an unknown key", err, "KmsKeyNotExist")
		// GET and HEAD refuse SSE headers.
		_, err = cl.Object.Get(ctx, "n", &cos.ObjectGetOptions{XOptionHeader: &http.Header{"X-Cos-Server-Side-Encryption": {"cos/kms"}}})
		expectCode(t, "get with SSE header", err, "SSEHeaderNotAllowed")
	})

	t.Run("multipart", func(t *testing.T) {
		init, resp, err := cl.Object.InitiateMultipartUpload(ctx, "mp", &cos.InitiateMultipartUploadOptions{ObjectPutHeaderOptions: kmsPut(named.KeyID, encCtx).ObjectPutHeaderOptions})
		if err != nil {
			t.Fatal(err)
		}
		checkKMSEcho(t, "initiate", resp.Header, named.KeyID)
		whole := randomBytes(1<<20 + 3000)
		parts := [][]byte{whole[:1<<20], whole[1<<20:]}
		opt := &cos.CompleteMultipartUploadOptions{}
		for i, p := range parts {
			resp, err := cl.Object.UploadPart(ctx, "mp", init.UploadID, i+1, bytes.NewReader(p), nil)
			if err != nil {
				t.Fatalf("part %d: %v", i+1, err)
			}
			opt.Parts = append(opt.Parts, cos.Object{PartNumber: i + 1, ETag: resp.Header.Get("ETag")})
		}
		if _, _, err := cl.Object.CompleteMultipartUpload(ctx, "mp", init.UploadID, opt); err != nil {
			t.Fatal(err)
		}
		expectKMS(t, "mp", whole, named.KeyID)
		got, _, err := kmsGet(t, cl, "mp", &cos.ObjectGetOptions{Range: fmt.Sprintf("bytes=%d-%d", 1<<20-10, 1<<20+10)})
		if err != nil || !bytes.Equal(got, whole[1<<20-10:1<<20+11]) {
			t.Fatalf("range across parts: %v", err)
		}
	})

	t.Run("copy", func(t *testing.T) {
		src := c.Host(bucket) + "/"
		// Out of SSE-KMS into no SSE headers.
		if _, _, err := cl.Object.Copy(ctx, "plain-copy", src+"n", nil); err != nil {
			t.Fatal(err)
		}
		if m := storedMode(t, c, bucket, "plain-copy"); m != meta.ModeNone {
			t.Fatalf("copy without SSE headers stored as %q", m)
		}
		// Into SSE-KMS under the named key.
		_, resp, err := cl.Object.Copy(ctx, "kms-copy", src+"plain-copy", &cos.ObjectCopyOptions{ObjectCopyHeaderOptions: &cos.ObjectCopyHeaderOptions{
			XCosServerSideEncryption: "cos/kms", XOptionHeader: kmsHeader(named.KeyID, ""),
		}})
		if err != nil {
			t.Fatal(err)
		}
		checkKMSEcho(t, "copy", resp.Header, named.KeyID)
		expectKMS(t, "kms-copy", data, named.KeyID)
	})

	t.Run("disable and enable", func(t *testing.T) {
		k, err := admin.KMSAction(ctx, named.KeyID, "disable")
		if err != nil || k.State != meta.CMKDisabled {
			t.Fatalf("disable: %+v, %v", k, err)
		}
		for _, key := range []string{"n", "mp", "kms-copy"} {
			_, _, err = kmsGet(t, cl, key, nil)
			expectCode(t, "get under a disabled key", err, "KmsKeyDisabled")
		}
		_, err = cl.Object.Put(ctx, "x", strings.NewReader("x"), kmsPut(named.KeyID, ""))
		expectCode(t, "put under a disabled key", err, "KmsKeyDisabled")
		_, _, err = cl.Object.Copy(ctx, "x", c.Host(bucket)+"/n", nil)
		expectCode(t, "copy from a disabled key", err, "KmsKeyDisabled")
		// Other keys are unaffected.
		expectKMS(t, "d", data, defaultID)
		if _, err := admin.KMSAction(ctx, named.KeyID, "enable"); err != nil {
			t.Fatal(err)
		}
		expectKMS(t, "n", data, named.KeyID)
	})

	t.Run("scheduled deletion", func(t *testing.T) {
		if _, err := admin.KMSScheduleDeletion(ctx, named.KeyID, 3); adminCode(err) != "InvalidArgument" {
			t.Fatalf("3-day window: %v", err)
		}
		if _, err := admin.KMSScheduleDeletion(ctx, gateway.DefaultCMKAlias, 7); adminCode(err) != "InvalidRequest" {
			t.Fatalf("deleting the default key: %v", err)
		}
		k, err := admin.KMSScheduleDeletion(ctx, named.KeyID, 7)
		if err != nil || k.State != meta.CMKPendingDeletion || k.DeletionDate == nil {
			t.Fatalf("schedule deletion: %+v, %v", k, err)
		}
		_, _, err = kmsGet(t, cl, "n", nil)
		expectCode(t, "get under a key pending deletion", err, "KmsKeyDisabled")
		if _, err := admin.KMSAction(ctx, named.KeyID, "enable"); adminCode(err) != "InvalidRequest" {
			t.Fatalf("enable of a key pending deletion: %v", err)
		}
		if k, err := admin.KMSAction(ctx, named.KeyID, "cancel-deletion"); err != nil || k.State != meta.CMKEnabled || k.DeletionDate != nil {
			t.Fatalf("cancel deletion: %+v, %v", k, err)
		}
		expectKMS(t, "n", data, named.KeyID)
	})

	t.Run("rotate", func(t *testing.T) {
		k, err := admin.KMSAction(ctx, named.KeyID, "rotate")
		if err != nil || k.MaterialVersions != 2 || k.LastRotated == nil {
			t.Fatalf("rotate: %+v, %v", k, err)
		}
		if _, err := cl.Object.Put(ctx, "after-rotate", strings.NewReader("new"), kmsPut(named.KeyID, encCtx)); err != nil {
			t.Fatal(err)
		}
		expectKMS(t, "after-rotate", []byte("new"), named.KeyID)
		expectKMS(t, "n", data, named.KeyID) // sealed under version 1
	})

	t.Run("import", func(t *testing.T) {
		ext, err := admin.KMSCreate(ctx, gateway.KMSCreateRequest{Alias: "byok", Origin: meta.OriginExternal})
		if err != nil || ext.State != meta.CMKPendingImport || ext.MaterialVersions != 0 {
			t.Fatalf("create external: %+v, %v", ext, err)
		}
		_, err = cl.Object.Put(ctx, "ext", strings.NewReader("x"), kmsPut(ext.KeyID, ""))
		expectCode(t, "put under a key pending import", err, "KmsKeyDisabled")
		if _, err := admin.KMSAction(ctx, ext.KeyID, "rotate"); adminCode(err) != "InvalidRequest" {
			t.Fatalf("rotate of an external key: %v", err)
		}
		params, err := admin.KMSImportParams(ctx, ext.KeyID, 2048)
		if err != nil || params.WrappingAlgorithm != gateway.WrappingAlgorithmOAEPSHA256 {
			t.Fatalf("import params: %+v, %v", params, err)
		}
		pk, err := x509.ParsePKIXPublicKey(params.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		pub := pk.(*rsa.PublicKey)
		material := randomBytes(32)
		wrapped, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, material, nil)
		if err != nil {
			t.Fatal(err)
		}
		badToken := bytes.Clone(params.ImportToken)
		badToken[0] ^= 1
		if _, err := admin.KMSImport(ctx, ext.KeyID, badToken, wrapped); adminCode(err) != "InvalidArgument" {
			t.Fatalf("import with a wrong token: %v", err)
		}
		short, _ := rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, material[:16], nil)
		if _, err := admin.KMSImport(ctx, ext.KeyID, params.ImportToken, short); adminCode(err) != "InvalidArgument" {
			t.Fatalf("import of 16 bytes: %v", err)
		}
		k, err := admin.KMSImport(ctx, ext.KeyID, params.ImportToken, wrapped)
		if err != nil || k.State != meta.CMKEnabled || k.MaterialVersions != 1 {
			t.Fatalf("import: %+v, %v", k, err)
		}
		if _, err := admin.KMSImport(ctx, ext.KeyID, params.ImportToken, wrapped); adminCode(err) != "InvalidArgument" {
			t.Fatalf("second import with a used token: %v", err)
		}
		if _, err := cl.Object.Put(ctx, "ext", bytes.NewReader(data), kmsPut(ext.KeyID, encCtx)); err != nil {
			t.Fatal(err)
		}
		expectKMS(t, "ext", data, ext.KeyID)
	})

	t.Run("admin crypto", func(t *testing.T) {
		c1 := map[string]string{"purpose": "test"}
		enc, err := admin.KMSCrypt(ctx, "encrypt", gateway.KMSCryptRequest{KeyID: "app", Context: c1, Plaintext: []byte("secret")})
		if err != nil || enc.KeyID != named.KeyID {
			t.Fatalf("encrypt: %+v, %v", enc, err)
		}
		dec, err := admin.KMSCrypt(ctx, "decrypt", gateway.KMSCryptRequest{KeyID: named.KeyID, Context: c1, CiphertextBlob: enc.CiphertextBlob})
		if err != nil || string(dec.Plaintext) != "secret" {
			t.Fatalf("decrypt: %+v, %v", dec, err)
		}
		for _, in := range []gateway.KMSCryptRequest{
			{KeyID: named.KeyID, Context: map[string]string{"purpose": "other"}, CiphertextBlob: enc.CiphertextBlob},
			{KeyID: named.KeyID, CiphertextBlob: enc.CiphertextBlob},
			{KeyID: defaultID, Context: c1, CiphertextBlob: enc.CiphertextBlob},
		} {
			if out, err := admin.KMSCrypt(ctx, "decrypt", in); err == nil {
				t.Fatalf("decrypt with context %v under %s gave %q", in.Context, in.KeyID, out.Plaintext)
			}
		}
		dk, err := admin.KMSCrypt(ctx, "generate-data-key", gateway.KMSCryptRequest{})
		if err != nil || len(dk.Plaintext) != 32 || dk.KeyID != defaultID {
			t.Fatalf("generate data key: %+v, %v", dk.KeyID, err)
		}
		keys, err := admin.KMSList(ctx)
		if err != nil || len(keys) != 3 {
			t.Fatalf("list: %d keys, %v", len(keys), err)
		}
	})

	t.Run("tamper", func(t *testing.T) {
		// A record whose context, key id or object identity changed does not open:
		// the read fails and never yields bytes.
		v, err := c.Meta.GetObject(ctx, bucket, "n")
		if err != nil {
			t.Fatal(err)
		}
		otherCtx := *v
		otherCtx.Key = "other-ctx"
		otherCtx.SSE.Context = base64.StdEncoding.EncodeToString([]byte(`{"team":"red","app":"x"}`))
		noCtx := *v
		noCtx.Key = "no-ctx"
		noCtx.SSE.Context = ""
		moved := *v
		moved.Key = "moved"
		for _, tv := range []meta.Version{otherCtx, noCtx, moved} {
			if _, err := c.Meta.Apply(ctx, &meta.CommitObject{Version: tv}); err != nil {
				t.Fatalf("commit %s: %v", tv.Key, err)
			}
			got, _, err := kmsGet(t, cl, tv.Key, nil)
			if err == nil {
				t.Fatalf("tampered %s served %d bytes", tv.Key, len(got))
			}
			if s := statusOf(err); s != http.StatusInternalServerError {
				t.Errorf("tampered %s: %v, want 500", tv.Key, err)
			}
		}
	})

	t.Run("anonymous", func(t *testing.T) {
		if _, err := cl.Object.Put(ctx, "public", strings.NewReader("p"), &cos.ObjectPutOptions{ObjectPutHeaderOptions: &cos.ObjectPutHeaderOptions{
			XCosServerSideEncryption: "cos/kms",
		}, ACLHeaderOptions: &cos.ACLHeaderOptions{XCosACL: "public-read"}}); err != nil {
			t.Fatal(err)
		}
		resp, err := c.HTTPClient().Do(mustRequest(t, c, bucket, "/public"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("anonymous GET of an SSE-KMS object: %d", resp.StatusCode)
		}
	})

	t.Run("bucket default", func(t *testing.T) {
		if _, err := cl.Bucket.PutEncryption(ctx, &cos.BucketPutEncryptionOptions{Rule: &cos.BucketEncryptionConfiguration{SSEAlgorithm: "KMS", KMSMasterKeyID: named.KeyID}}); err != nil {
			t.Fatal(err)
		}
		resp, err := cl.Object.Put(ctx, "defaulted", strings.NewReader("by default"), nil)
		if err != nil {
			t.Fatal(err)
		}
		checkKMSEcho(t, "put", resp.Header, named.KeyID)
		expectKMS(t, "defaulted", []byte("by default"), named.KeyID)
		got, _, err := cl.Bucket.GetEncryption(ctx)
		if err != nil || got.Rule.SSEAlgorithm != "KMS" || got.Rule.KMSMasterKeyID != named.KeyID {
			t.Fatalf("get encryption: %+v, %v", got, err)
		}
		if _, err := admin.KMSAction(ctx, named.KeyID, "disable"); err != nil {
			t.Fatal(err)
		}
		_, err = cl.Bucket.PutEncryption(ctx, &cos.BucketPutEncryptionOptions{Rule: &cos.BucketEncryptionConfiguration{SSEAlgorithm: "KMS", KMSMasterKeyID: named.KeyID}})
		expectCode(t, "bucket default under a disabled key", err, "KmsKeyDisabled")
		_, err = cl.Object.Put(ctx, "defaulted-2", strings.NewReader("x"), nil)
		expectCode(t, "put into a bucket whose default key is disabled", err, "KmsKeyDisabled")
		if _, err := admin.KMSAction(ctx, named.KeyID, "enable"); err != nil {
			t.Fatal(err)
		}
		if _, err := cl.Bucket.DeleteEncryption(ctx); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("post form", func(t *testing.T) {
		doc := policyDoc(t, time.Now().Add(time.Hour),
			map[string]string{"bucket": bucket},
			[]any{"starts-with", "$key", "form/"},
			map[string]string{"x-cos-server-side-encryption": "cos/kms"},
			map[string]string{"x-cos-server-side-encryption-cos-kms-key-id": named.KeyID},
			map[string]string{"x-cos-server-side-encryption-context": encCtx},
		)
		fields := append([]field{
			{"key", "form/${filename}"},
			{"x-cos-server-side-encryption", "cos/kms"},
			{"x-cos-server-side-encryption-cos-kms-key-id", named.KeyID},
			{"x-cos-server-side-encryption-context", encCtx},
		}, cosSigned(doc, gatewaytest.SecretKey)...)
		resp := postForm(t, c, bucket, fields, "f.bin", data)
		if resp.StatusCode != http.StatusNoContent {
			wantPostError(t, resp, http.StatusNoContent, "")
		}
		checkKMSEcho(t, "post", resp.Header, named.KeyID)
		expectKMS(t, "form/f.bin", data, named.KeyID)
		if v, _ := c.Meta.GetObject(ctx, bucket, "form/f.bin"); v.SSE.Context != encCtx {
			t.Fatalf("stored context %q", v.SSE.Context)
		}
	})

	t.Run("aws-sdk-go-v2", func(t *testing.T) {
		s3c := s3Client(t, c)
		s3ctx := base64.StdEncoding.EncodeToString([]byte(`{"k":"v"}`))
		out, err := s3c.PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String(bucket), Key: aws.String("s3"), Body: bytes.NewReader(data),
			ServerSideEncryption: types.ServerSideEncryptionAwsKms, SSEKMSKeyId: aws.String(named.KeyID),
			SSEKMSEncryptionContext: aws.String(s3ctx),
		})
		if err != nil {
			t.Fatal(err)
		}
		if out.ServerSideEncryption != types.ServerSideEncryptionAwsKms || aws.ToString(out.SSEKMSKeyId) != named.KeyID {
			t.Errorf("put echo %q %q", out.ServerSideEncryption, aws.ToString(out.SSEKMSKeyId))
		}
		got, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("s3"), Range: aws.String("bytes=100-70000")})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(got.Body)
		got.Body.Close()
		if !bytes.Equal(b, data[100:70001]) || got.ServerSideEncryption != types.ServerSideEncryptionAwsKms || aws.ToString(got.SSEKMSKeyId) != named.KeyID {
			t.Fatalf("get: %d bytes, echo %q %q", len(b), got.ServerSideEncryption, aws.ToString(got.SSEKMSKeyId))
		}
		if v, _ := c.Meta.GetObject(ctx, bucket, "s3"); v.SSE.Context != s3ctx {
			t.Fatalf("stored context %q", v.SSE.Context)
		}
		// Multipart under SSE-KMS: one uploaded part and one copied from an SSE-KMS
		// object with an encryption context.
		up, err := s3c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
			Bucket: aws.String(bucket), Key: aws.String("s3-mp"),
			ServerSideEncryption: types.ServerSideEncryptionAwsKms, SSEKMSKeyId: aws.String(named.KeyID),
		})
		if err != nil {
			t.Fatal(err)
		}
		if up.ServerSideEncryption != types.ServerSideEncryptionAwsKms || aws.ToString(up.SSEKMSKeyId) != named.KeyID {
			t.Errorf("initiate echo %q %q", up.ServerSideEncryption, aws.ToString(up.SSEKMSKeyId))
		}
		part1 := randomBytes(1 << 20)
		p1, err := s3c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(bucket), Key: aws.String("s3-mp"), UploadId: up.UploadId, PartNumber: aws.Int32(1), Body: bytes.NewReader(part1)})
		if err != nil {
			t.Fatal(err)
		}
		p2, err := s3c.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: aws.String(bucket), Key: aws.String("s3-mp"), UploadId: up.UploadId, PartNumber: aws.Int32(2),
			CopySource: aws.String(bucket + "/s3"), CopySourceRange: aws.String("bytes=0-999")})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s3c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String("s3-mp"), UploadId: up.UploadId,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{
				{PartNumber: aws.Int32(1), ETag: p1.ETag}, {PartNumber: aws.Int32(2), ETag: p2.CopyPartResult.ETag},
			}}}); err != nil {
			t.Fatal(err)
		}
		expectKMS(t, "s3-mp", append(bytes.Clone(part1), data[:1000]...), named.KeyID)

		_, err = s3c.PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String(bucket), Key: aws.String("s3-unknown"), Body: strings.NewReader("x"),
			ServerSideEncryption: types.ServerSideEncryptionAwsKms, SSEKMSKeyId: aws.String("nope"),
		})
		if httpStatus(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "KmsKeyNotExist") {
			t.Fatalf("aws put under an unknown key: %v", err)
		}
	})

	// Last: after this the running gateway's root key no longer opens the CMKs.
	t.Run("reseal", func(t *testing.T) {
		var newRoot sse.Key
		rand.Read(newRoot[:])
		n, err := c.Gateway.ResealCMKs(ctx, newRoot)
		if err != nil || n != 3 {
			t.Fatalf("reseal: %d keys, %v", n, err)
		}
		if n, err := c.Gateway.ResealCMKs(ctx, newRoot); err != nil || n != 0 {
			t.Fatalf("second reseal: %d keys, %v", n, err)
		}
		all, err := c.Meta.ListCMKs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range all {
			if _, err := kms.OpenMaterial(newRoot, k.ID, k.SealedMaterial); err != nil {
				t.Errorf("%s after reseal: %v", k.ID, err)
			}
			if _, err := kms.OpenMaterial(c.RootKey, k.ID, k.SealedMaterial); err == nil {
				t.Errorf("%s still opens under the old root key", k.ID)
			}
		}
	})
}

// mustRequest is an unsigned GET of path on bucket's host.
func mustRequest(t *testing.T, c *gatewaytest.Cluster, bucket, path string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = c.Host(bucket)
	return req
}

// TestSSEKMSCache checks that a change made elsewhere (another gateway, here the
// metadata cluster directly) takes effect within KMSCacheTTL, and that a key past its
// deletion date is gone.
func TestSSEKMSCache(t *testing.T) {
	var off atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(off.Load())) }
	c := gatewaytest.StartWith(t, gatewaytest.Options{Tune: func(cfg *gateway.Config) { cfg.Now = now }})
	ctx := context.Background()
	const bucket = "kms-cache-1250000000"
	cl := cosClient(c, bucket)
	if _, err := cl.Bucket.Put(ctx, nil); err != nil {
		t.Fatal(err)
	}
	admin := &gateway.AdminClient{Endpoint: c.URL, AccessKey: gatewaytest.AccessKey, SecretKey: gatewaytest.SecretKey}

	// Writers racing to first use the KMS end with one default CMK.
	const racers = 4
	errs := make(chan error, racers)
	for i := range racers {
		go func() {
			_, err := cl.Object.Put(ctx, fmt.Sprintf("race-%d", i), strings.NewReader("x"), kmsPut("", ""))
			errs <- err
		}()
	}
	for range racers {
		if err := <-errs; err != nil {
			t.Fatalf("racing first use: %v", err)
		}
	}
	all, err := c.Meta.ListCMKs(ctx)
	if err != nil || len(all) != 1 || all[0].Alias != gateway.DefaultCMKAlias {
		t.Fatalf("after racing first use: %+v, %v", all, err)
	}

	k, err := admin.KMSCreate(ctx, gateway.KMSCreateRequest{Alias: "cached"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Object.Put(ctx, "o", strings.NewReader("cached"), kmsPut(k.KeyID, "")); err != nil {
		t.Fatal(err)
	}
	set := func(change func(*meta.CMK)) {
		t.Helper()
		cur, err := c.Meta.GetCMK(ctx, k.KeyID)
		if err != nil {
			t.Fatal(err)
		}
		next := *cur
		change(&next)
		if _, err := c.Meta.Apply(ctx, &meta.PutCMK{CMK: next, ExpectRevision: cur.Revision}); err != nil {
			t.Fatal(err)
		}
	}
	set(func(c *meta.CMK) { c.State = meta.CMKDisabled })
	if got, _, err := kmsGet(t, cl, "o", nil); err != nil || string(got) != "cached" {
		t.Fatalf("read within the cache TTL: %q, %v", got, err)
	}
	off.Add(int64(gateway.KMSCacheTTL))
	_, _, err = kmsGet(t, cl, "o", nil)
	if cosCode(err) != "KmsKeyDisabled" {
		t.Fatalf("read after the cache TTL of a key disabled elsewhere: %v", err)
	}
	set(func(c *meta.CMK) {
		c.State, c.DeletionDate = meta.CMKPendingDeletion, now().Add(-time.Second).UnixNano()
	})
	off.Add(int64(gateway.KMSCacheTTL))
	if _, _, err = kmsGet(t, cl, "o", nil); cosCode(err) != "KmsKeyNotExist" {
		t.Fatalf("read after the deletion date: %v", err)
	}
	if _, err := c.Meta.GetCMK(ctx, k.KeyID); !errors.Is(err, meta.ErrCMKNotFound) {
		t.Fatalf("key past its deletion date: %v", err)
	}
}

// BenchmarkObjectModeKMS is PUT and GET through the COS Go SDK with SSE-KMS (default
// CMK; named CMK with a context) beside mode none in the same run, on the in-process
// cluster (4+2, 64 KiB blocks, loopback). The gap is the per-object KMS work: a
// generate-data-key on PUT and a decrypt on GET, from cached CMK material.
func BenchmarkObjectModeKMS(b *testing.B) {
	c := gatewaytest.Start(b)
	ctx := context.Background()
	const bucket = "bench-kms-1250000000"
	cl := cosClient(c, bucket)
	if _, err := cl.Bucket.Put(ctx, nil); err != nil {
		b.Fatal(err)
	}
	admin := &gateway.AdminClient{Endpoint: c.URL, AccessKey: gatewaytest.AccessKey, SecretKey: gatewaytest.SecretKey}
	named, err := admin.KMSCreate(ctx, gateway.KMSCreateRequest{Alias: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	encCtx := base64.StdEncoding.EncodeToString([]byte(`{"app":"bench"}`))
	modes := []struct {
		name string
		put  *cos.ObjectPutOptions
	}{
		{"none", nil},
		{"sse-kms-default", kmsPut("", "")},
		{"sse-kms-named-ctx", kmsPut(named.KeyID, encCtx)},
	}
	for _, size := range []int{64 << 10, 1 << 20} {
		data := randomBytes(size)
		for _, m := range modes {
			key := fmt.Sprintf("%s-%d", m.name, size)
			put := func() {
				if _, err := cl.Object.Put(ctx, key, bytes.NewReader(data), m.put); err != nil {
					b.Fatal(err)
				}
			}
			b.Run(fmt.Sprintf("4+2/put/%s/%dKiB", m.name, size>>10), func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(size))
				for b.Loop() {
					put()
				}
			})
			b.Run(fmt.Sprintf("4+2/get/%s/%dKiB", m.name, size>>10), func(b *testing.B) {
				put()
				b.ReportAllocs()
				b.SetBytes(int64(size))
				for b.Loop() {
					resp, err := cl.Object.Get(ctx, key, nil)
					if err != nil {
						b.Fatal(err)
					}
					n, err := io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err != nil || n != int64(size) {
						b.Fatalf("get: %d bytes, %v", n, err)
					}
				}
			})
		}
	}
}
