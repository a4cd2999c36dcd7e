package gateway_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	cos "github.com/tencentyun/cos-go-sdk-v5"

	"github.com/coffer-io/coffer/cluster/meta"
	"github.com/coffer-io/coffer/gateway/gatewaytest"
)

// cosCode returns the COS error code of err, or "" when it is not an error response.
func cosCode(err error) string {
	var cerr *cos.ErrorResponse
	if errors.As(err, &cerr) {
		return cerr.Code
	}
	return ""
}

// storedMode is the SSE mode in the metadata record of bucket/key.
func storedMode(t *testing.T, c *gatewaytest.Cluster, bucket, key string) meta.SSEMode {
	t.Helper()
	v, err := c.Meta.GetObject(context.Background(), bucket, key)
	if err != nil {
		t.Fatalf("meta get %s/%s: %v", bucket, key, err)
	}
	return v.SSE.Mode
}

// rawCOS sends a q-signed request for bucket's virtual host to c's gateway.
func rawCOS(t *testing.T, c *gatewaytest.Cluster, bucket, method, path string, body []byte, h http.Header) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, c.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range h {
		req.Header[k] = vs
	}
	req.Host = c.Host(bucket)
	cl := &http.Client{Transport: &cos.AuthorizationTransport{SecretID: gatewaytest.AccessKey, SecretKey: gatewaytest.SecretKey}}
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestBucketEncryption(t *testing.T) {
	c := gatewaytest.Start(t)
	ctx := context.Background()
	const bucket = "enc-1250000000"
	cl := cosClient(c, bucket)
	if _, err := cl.Bucket.Put(ctx, nil); err != nil {
		t.Fatal(err)
	}
	put := func(key string, opt *cos.ObjectPutOptions) *cos.Response {
		t.Helper()
		resp, err := cl.Object.Put(ctx, key, strings.NewReader("data of "+key), opt)
		if err != nil {
			t.Fatalf("put %s: %v", key, err)
		}
		return resp
	}

	// Unconfigured: 404 NoSuchEncryptionConfiguration; objects are stored in mode none.
	_, resp, err := cl.Bucket.GetEncryption(ctx)
	if cosCode(err) != "NoSuchEncryptionConfiguration" || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("get of an unconfigured bucket: %v", err)
	}
	if h := put("plain", nil).Header.Get("x-cos-server-side-encryption"); h != "" {
		t.Fatalf("unencrypted put echoes %q", h)
	}

	// AES256 default.
	if _, err := cl.Bucket.PutEncryption(ctx, &cos.BucketPutEncryptionOptions{
		Rule: &cos.BucketEncryptionConfiguration{SSEAlgorithm: "AES256"},
	}); err != nil {
		t.Fatalf("put encryption: %v", err)
	}
	got, _, err := cl.Bucket.GetEncryption(ctx)
	if err != nil || got.Rule == nil || got.Rule.SSEAlgorithm != "AES256" || got.Rule.KMSMasterKeyID != "" {
		t.Fatalf("get encryption: %+v, %v", got, err)
	}
	if h := put("defaulted", nil).Header.Get("x-cos-server-side-encryption"); h != "AES256" {
		t.Fatalf("put into an AES256 bucket echoes %q", h)
	}
	head, err := cl.Object.Head(ctx, "defaulted", nil)
	if err != nil || head.Header.Get("x-cos-server-side-encryption") != "AES256" {
		t.Fatalf("head of a defaulted object: %v, %q", err, head.Header.Get("x-cos-server-side-encryption"))
	}
	if m := storedMode(t, c, bucket, "defaulted"); m != meta.ModeSSECOS {
		t.Fatalf("defaulted object stored in mode %q", m)
	}
	if m := storedMode(t, c, bucket, "plain"); m != meta.ModeNone {
		t.Fatalf("older object changed to mode %q", m)
	}
	// Multipart uploads and copies without headers take the default too.
	init, resp, err := cl.Object.InitiateMultipartUpload(ctx, "multi", nil)
	if err != nil || resp.Header.Get("x-cos-server-side-encryption") != "AES256" {
		t.Fatalf("initiate in an AES256 bucket: %v", err)
	}
	cl.Object.AbortMultipartUpload(ctx, "multi", init.UploadID)
	if _, _, err := cl.Object.Copy(ctx, "copied", c.Host(bucket)+"/plain", nil); err != nil {
		t.Fatalf("copy: %v", err)
	}
	if m := storedMode(t, c, bucket, "copied"); m != meta.ModeSSECOS {
		t.Fatalf("copy into an AES256 bucket stored in mode %q", m)
	}

	// Refused configurations leave the stored one alone.
	for _, tc := range []struct {
		name string
		rule *cos.BucketEncryptionConfiguration
		code string
	}{
		{"no rule", nil, "MalformedXML"},
		{"unknown algorithm", &cos.BucketEncryptionConfiguration{SSEAlgorithm: "DES"}, "InvalidArgument"},
		{"key id without KMS", &cos.BucketEncryptionConfiguration{SSEAlgorithm: "AES256", KMSMasterKeyID: "k"}, "InvalidArgument"},
		{"KMS with an unknown key", &cos.BucketEncryptionConfiguration{SSEAlgorithm: "KMS", KMSMasterKeyID: "no-such-key"}, "KmsKeyNotExist"},
	} {
		_, err := cl.Bucket.PutEncryption(ctx, &cos.BucketPutEncryptionOptions{Rule: tc.rule})
		if cosCode(err) != tc.code {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.code)
		}
	}
	if got, _, err := cl.Bucket.GetEncryption(ctx); err != nil || got.Rule.SSEAlgorithm != "AES256" {
		t.Fatalf("configuration after refused puts: %+v, %v", got, err)
	}

	// Only the owner sees or changes the configuration.
	anon := cosClientWith(c, bucket, http.DefaultTransport)
	if _, _, err := anon.Bucket.GetEncryption(ctx); cosCode(err) != "AccessDenied" {
		t.Fatalf("anonymous get encryption: %v", err)
	}
	if _, err := anon.Bucket.DeleteEncryption(ctx); cosCode(err) != "AccessDenied" {
		t.Fatalf("anonymous delete encryption: %v", err)
	}

	// The exact body of cos-api.md section 4, as XML.
	raw := rawCOS(t, c, bucket, http.MethodGet, "/?encryption", nil, nil)
	body, _ := io.ReadAll(raw.Body)
	raw.Body.Close()
	const wantXML = "<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>"
	if got := regexp.MustCompile(`>\s+<`).ReplaceAllString(strings.TrimSpace(string(body)), "><"); raw.StatusCode != http.StatusOK ||
		!strings.HasSuffix(got, wantXML) || !strings.HasPrefix(raw.Header.Get("Content-Type"), "application/xml") {
		t.Fatalf("get encryption: %d %q %q", raw.StatusCode, raw.Header.Get("Content-Type"), body)
	}
	// A body that does not match its Content-MD5 is refused.
	aesXML := []byte("<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>")
	raw = rawCOS(t, c, bucket, http.MethodPut, "/?encryption", aesXML, http.Header{"Content-MD5": {"1B2M2Y8AsgTpgAmY7PhCfg=="}})
	body, _ = io.ReadAll(raw.Body)
	raw.Body.Close()
	if raw.StatusCode != http.StatusBadRequest || !bytes.Contains(body, []byte("<Code>BadDigest</Code>")) {
		t.Fatalf("put encryption with a wrong Content-MD5: %d %s", raw.StatusCode, body)
	}

	// Delete: 204, then 404 again and new objects are unencrypted.
	resp, err = cl.Bucket.DeleteEncryption(ctx)
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete encryption: %v", err)
	}
	if _, _, err := cl.Bucket.GetEncryption(ctx); cosCode(err) != "NoSuchEncryptionConfiguration" {
		t.Fatalf("get after delete: %v", err)
	}
	put("after-delete", nil)
	if m := storedMode(t, c, bucket, "after-delete"); m != meta.ModeNone {
		t.Fatalf("object after delete stored in mode %q", m)
	}

	// aws-sdk-go-v2 speaks the same API.
	s3c := s3Client(t, c)
	if _, err := s3c.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{
		Bucket: aws.String(bucket),
		ServerSideEncryptionConfiguration: &types.ServerSideEncryptionConfiguration{Rules: []types.ServerSideEncryptionRule{{
			ApplyServerSideEncryptionByDefault: &types.ServerSideEncryptionByDefault{SSEAlgorithm: types.ServerSideEncryptionAes256},
		}}},
	}); err != nil {
		t.Fatalf("aws put encryption: %v", err)
	}
	enc, err := s3c.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: aws.String(bucket)})
	if err != nil || len(enc.ServerSideEncryptionConfiguration.Rules) != 1 ||
		enc.ServerSideEncryptionConfiguration.Rules[0].ApplyServerSideEncryptionByDefault.SSEAlgorithm != types.ServerSideEncryptionAes256 {
		t.Fatalf("aws get encryption: %v", err)
	}
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("aws"), Body: strings.NewReader("x")}); err != nil {
		t.Fatal(err)
	}
	if m := storedMode(t, c, bucket, "aws"); m != meta.ModeSSECOS {
		t.Fatalf("aws put into an AES256 bucket stored as %q", m)
	}
	if _, err := s3c.DeleteBucketEncryption(ctx, &s3.DeleteBucketEncryptionInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("aws delete encryption: %v", err)
	}

	// A KMS default naming a key that is gone (set underneath) fails writes clearly
	// instead of storing them unencrypted.
	if _, err := c.Meta.Apply(ctx, &meta.UpdateBucket{Name: bucket, Fields: meta.FieldEncryption, Encryption: meta.BucketEncryption{Mode: meta.ModeSSEKMS, CMKID: "gone"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Object.Put(ctx, "kms", strings.NewReader("x"), nil); cosCode(err) != "KmsKeyNotExist" {
		t.Fatalf("put into a KMS bucket: %v", err)
	}
	if got, _, err := cl.Bucket.GetEncryption(ctx); err != nil || got.Rule.SSEAlgorithm != "KMS" {
		t.Fatalf("get of a KMS configuration: %+v, %v", got, err)
	}
}
