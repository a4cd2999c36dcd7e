package gateway_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go/logging"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	cos "github.com/tencentyun/cos-go-sdk-v5"

	"github.com/coffer-io/coffer/gateway"
	"github.com/coffer-io/coffer/gateway/gatewaytest"
)

// s3TLSClient is aws-sdk-go-v2 (default configuration, path-style) talking to c's
// gateway through a TLS server: the SDK refuses SSE-C over plain HTTP.
func s3TLSClient(t *testing.T, c *gatewaytest.Cluster) *s3.Client {
	t.Helper()
	ts := tlsServer(t, c)
	t.Setenv("AWS_CA_BUNDLE", "")
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion("local"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(gatewaytest.AccessKey, gatewaytest.SecretKey, "")),
		config.WithHTTPClient(ts.Client()),
	)
	if err != nil {
		t.Fatal(err)
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(ts.URL)
		o.UsePathStyle = true
		o.Logger = logging.Nop{}
	})
}

// httpStatus is the HTTP status of an aws-sdk-go-v2 error, 0 if it has none.
func httpStatus(err error) int {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// TestSSECTransport runs a gateway that refuses SSE-C over plain HTTP: the COS SDK
// over HTTP is refused, and over TLS served; aws-sdk-go-v2 (which itself refuses
// SSE-C over plain HTTP) runs the SSE-C operations over TLS.
func TestSSECTransport(t *testing.T) {
	c := gatewaytest.StartWith(t, gatewaytest.Options{Tune: func(cfg *gateway.Config) { cfg.AllowSSECOverHTTP = false }})
	ctx := context.Background()
	t.Run("cos", func(t *testing.T) { testSSECOverHTTP(t, c) })
	cl := s3TLSClient(t, c)
	bucket := aws.String("s3ssec")
	if _, err := cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: bucket}); err != nil {
		t.Fatal(err)
	}
	k1, k2 := newCustomerKey(32), newCustomerKey(32)
	alg := aws.String("AES256")
	data := randomBytes(300 << 10)

	put, err := cl.PutObject(ctx, &s3.PutObjectInput{
		Bucket: bucket, Key: aws.String("obj"), Body: bytes.NewReader(data),
		SSECustomerAlgorithm: alg, SSECustomerKey: aws.String(k1.b64), SSECustomerKeyMD5: aws.String(k1.md5),
	})
	if err != nil {
		t.Fatalf("put: %v", err)
	}
	if aws.ToString(put.SSECustomerAlgorithm) != "AES256" || aws.ToString(put.SSECustomerKeyMD5) != k1.md5 {
		t.Fatalf("put echo: %q %q", aws.ToString(put.SSECustomerAlgorithm), aws.ToString(put.SSECustomerKeyMD5))
	}
	get := func(key string, k customerKey, rng *string) ([]byte, *s3.GetObjectOutput, error) {
		out, err := cl.GetObject(ctx, &s3.GetObjectInput{
			Bucket: bucket, Key: aws.String(key), Range: rng,
			SSECustomerAlgorithm: alg, SSECustomerKey: aws.String(k.b64), SSECustomerKeyMD5: aws.String(k.md5),
		})
		if err != nil {
			return nil, nil, err
		}
		defer out.Body.Close()
		b, err := io.ReadAll(out.Body)
		return b, out, err
	}
	got, out, err := get("obj", k1, nil)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("get: %v", err)
	}
	if aws.ToString(out.SSECustomerKeyMD5) != k1.md5 {
		t.Fatalf("get echo md5 %q", aws.ToString(out.SSECustomerKeyMD5))
	}
	if got, _, err := get("obj", k1, aws.String("bytes=70000-200000")); err != nil || !bytes.Equal(got, data[70000:200001]) {
		t.Fatalf("range get: %v", err)
	}

	// Refusals, by HTTP status (HEAD has no body for a code).
	for _, tc := range []struct {
		name   string
		in     s3.HeadObjectInput
		status int
	}{
		{"no key", s3.HeadObjectInput{}, http.StatusBadRequest},
		{"wrong key", s3.HeadObjectInput{SSECustomerAlgorithm: alg, SSECustomerKey: aws.String(k2.b64), SSECustomerKeyMD5: aws.String(k2.md5)}, http.StatusForbidden},
		{"MD5 mismatch", s3.HeadObjectInput{SSECustomerAlgorithm: alg, SSECustomerKey: aws.String(k1.b64), SSECustomerKeyMD5: aws.String(k2.md5)}, http.StatusBadRequest},
	} {
		in := tc.in
		in.Bucket, in.Key = bucket, aws.String("obj")
		if _, err := cl.HeadObject(ctx, &in); httpStatus(err) != tc.status {
			t.Errorf("head, %s: %v, want %d", tc.name, err, tc.status)
		}
	}
	if _, _, err := get("obj", k2, nil); httpStatus(err) != http.StatusForbidden {
		t.Fatalf("get with the wrong key: %v", err)
	}

	// Copy with re-key.
	if _, err := cl.CopyObject(ctx, &s3.CopyObjectInput{
		Bucket: bucket, Key: aws.String("copy"), CopySource: aws.String("s3ssec/obj"),
		CopySourceSSECustomerAlgorithm: alg, CopySourceSSECustomerKey: aws.String(k1.b64), CopySourceSSECustomerKeyMD5: aws.String(k1.md5),
		SSECustomerAlgorithm: alg, SSECustomerKey: aws.String(k2.b64), SSECustomerKeyMD5: aws.String(k2.md5),
	}); err != nil {
		t.Fatalf("copy: %v", err)
	}
	if got, _, err := get("copy", k2, nil); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("get of the copy: %v", err)
	}

	// Multipart: parts, a part copied from the SSE-C object, Complete.
	key := aws.String("multi")
	up, err := cl.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket: bucket, Key: key, SSECustomerAlgorithm: alg, SSECustomerKey: aws.String(k2.b64), SSECustomerKeyMD5: aws.String(k2.md5),
	})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(up.SSECustomerKeyMD5) != k2.md5 {
		t.Fatalf("initiate echo md5 %q", aws.ToString(up.SSECustomerKeyMD5))
	}
	part1 := randomBytes(1 << 20)
	if _, err := cl.UploadPart(ctx, &s3.UploadPartInput{Bucket: bucket, Key: key, UploadId: up.UploadId, PartNumber: aws.Int32(1), Body: bytes.NewReader(part1)}); httpStatus(err) != http.StatusBadRequest {
		t.Fatalf("upload part without the key: %v", err)
	}
	p1, err := cl.UploadPart(ctx, &s3.UploadPartInput{
		Bucket: bucket, Key: key, UploadId: up.UploadId, PartNumber: aws.Int32(1), Body: bytes.NewReader(part1),
		SSECustomerAlgorithm: alg, SSECustomerKey: aws.String(k2.b64), SSECustomerKeyMD5: aws.String(k2.md5),
	})
	if err != nil {
		t.Fatalf("upload part: %v", err)
	}
	p2, err := cl.UploadPartCopy(ctx, &s3.UploadPartCopyInput{
		Bucket: bucket, Key: key, UploadId: up.UploadId, PartNumber: aws.Int32(2),
		CopySource: aws.String("s3ssec/obj"), CopySourceRange: aws.String("bytes=0-99999"),
		CopySourceSSECustomerAlgorithm: alg, CopySourceSSECustomerKey: aws.String(k1.b64), CopySourceSSECustomerKeyMD5: aws.String(k1.md5),
		SSECustomerAlgorithm: alg, SSECustomerKey: aws.String(k2.b64), SSECustomerKeyMD5: aws.String(k2.md5),
	})
	if err != nil {
		t.Fatalf("upload part copy: %v", err)
	}
	if _, err := cl.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: bucket, Key: key, UploadId: up.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{
			{PartNumber: aws.Int32(1), ETag: p1.ETag}, {PartNumber: aws.Int32(2), ETag: p2.CopyPartResult.ETag},
		}},
		SSECustomerAlgorithm: alg, SSECustomerKey: aws.String(k2.b64), SSECustomerKeyMD5: aws.String(k2.md5),
	}); err != nil {
		t.Fatalf("complete: %v", err)
	}
	want := append(append([]byte(nil), part1...), data[:100000]...)
	if got, _, err := get("multi", k2, nil); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("get of the multipart object: %v", err)
	}
}

func testSSECOverHTTP(t *testing.T, c *gatewaytest.Cluster) {
	ctx := context.Background()
	const bucket = "tls-1250000000"
	cl := cosClient(c, bucket)
	if _, err := cl.Bucket.Put(ctx, nil); err != nil {
		t.Fatal(err)
	}
	k := newCustomerKey(32)
	_, err := cl.Object.Put(ctx, "x", strings.NewReader("data"), &cos.ObjectPutOptions{ObjectPutHeaderOptions: k.put()})
	if cosCode(err) != "InvalidRequest" || statusOf(err) != http.StatusBadRequest {
		t.Fatalf("SSE-C put over plain HTTP: %v", err)
	}
	if _, err := cl.Object.Put(ctx, "x", strings.NewReader("data"), nil); err != nil {
		t.Fatalf("plain put over plain HTTP: %v", err)
	}

	// The same gateway behind TLS takes SSE-C.
	tcl := tlsClient(t, c, bucket)
	if _, err := tcl.Object.Put(ctx, "y", strings.NewReader("secret data"), &cos.ObjectPutOptions{ObjectPutHeaderOptions: k.put()}); err != nil {
		t.Fatalf("SSE-C put over TLS: %v", err)
	}
	resp, err := tcl.Object.Get(ctx, "y", k.get())
	if err != nil || string(readAll(t, resp)) != "secret data" {
		t.Fatalf("SSE-C get over TLS: %v", err)
	}
	// Reading it over plain HTTP is refused before the key is looked at.
	if _, err := cl.Object.Get(ctx, "y", k.get()); cosCode(err) != "InvalidRequest" {
		t.Fatalf("SSE-C get over plain HTTP: %v", err)
	}
}
