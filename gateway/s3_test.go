package gateway_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	smithy "github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"

	"github.com/coffer-io/coffer/gateway/gatewaytest"
)

// s3Client is aws-sdk-go-v2 with its default configuration, path-style.
func s3Client(t *testing.T, c *gatewaytest.Cluster) *s3.Client {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion("local"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(gatewaytest.AccessKey, gatewaytest.SecretKey, "")),
	)
	if err != nil {
		t.Fatal(err)
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(c.URL)
		o.UsePathStyle = true
		o.Logger = logging.Nop{}
	})
}

func TestS3ObjectLifecycle(t *testing.T) {
	c := gatewaytest.Start(t)
	ctx := context.Background()
	cl := s3Client(t, c)
	bucket := aws.String("s3bucket")
	if _, err := cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: bucket}); err != nil {
		t.Fatalf("create bucket: %v", err)
	}
	data := randomBytes(300 << 10)
	// The default client sends aws-chunked bodies with a CRC32 trailer.
	if _, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String("a/b.bin"), Body: bytes.NewReader(data)}); err != nil {
		t.Fatalf("put: %v", err)
	}
	out, err := cl.GetObject(ctx, &s3.GetObjectInput{Bucket: bucket, Key: aws.String("a/b.bin")})
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	got, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if !bytes.Equal(got, data) {
		t.Fatalf("get returned %d bytes", len(got))
	}
	out, err = cl.GetObject(ctx, &s3.GetObjectInput{Bucket: bucket, Key: aws.String("a/b.bin"), Range: aws.String("bytes=-100")})
	if err != nil {
		t.Fatalf("suffix range: %v", err)
	}
	got, _ = io.ReadAll(out.Body)
	out.Body.Close()
	if !bytes.Equal(got, data[len(data)-100:]) {
		t.Fatal("suffix range differs")
	}

	for _, k := range []string{"x/1", "x/2", "y"} {
		if _, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String(k), Body: strings.NewReader(k)}); err != nil {
			t.Fatal(err)
		}
	}
	list, err := cl.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: bucket, Prefix: aws.String("x/"), MaxKeys: aws.Int32(1)})
	if err != nil {
		t.Fatalf("list v2: %v", err)
	}
	if len(list.Contents) != 1 || aws.ToString(list.Contents[0].Key) != "x/1" || !aws.ToBool(list.IsTruncated) {
		t.Fatalf("list v2 page 1: %+v", list)
	}
	list, err = cl.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: bucket, Prefix: aws.String("x/"), ContinuationToken: list.NextContinuationToken})
	if err != nil || len(list.Contents) != 1 || aws.ToString(list.Contents[0].Key) != "x/2" {
		t.Fatalf("list v2 page 2: %+v, %v", list, err)
	}

	del, err := cl.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: bucket, Delete: &types.Delete{
		Objects: []types.ObjectIdentifier{{Key: aws.String("x/1")}, {Key: aws.String("x/2")}, {Key: aws.String("nope")}},
	}})
	if err != nil || len(del.Deleted) != 3 {
		t.Fatalf("delete objects: %+v, %v", del, err)
	}
	_, err = cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: bucket, Key: aws.String("x/1")})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "NotFound" {
		t.Fatalf("head after delete: %v", err)
	}
}

func TestS3Multipart(t *testing.T) {
	c := gatewaytest.Start(t)
	ctx := context.Background()
	cl := s3Client(t, c)
	bucket, key := aws.String("multipart"), aws.String("obj")
	if _, err := cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: bucket}); err != nil {
		t.Fatal(err)
	}
	up, err := cl.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: bucket, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	parts := [][]byte{randomBytes(1 << 20), randomBytes(1 << 20), randomBytes(5000)}
	var done []types.CompletedPart
	for i, p := range parts {
		n := aws.Int32(int32(i + 1))
		res, err := cl.UploadPart(ctx, &s3.UploadPartInput{Bucket: bucket, Key: key, UploadId: up.UploadId, PartNumber: n, Body: bytes.NewReader(p)})
		if err != nil {
			t.Fatalf("upload part %d: %v", i+1, err)
		}
		done = append(done, types.CompletedPart{PartNumber: n, ETag: res.ETag})
	}
	// A part below the minimum size, other than the last, fails Complete.
	if _, err := cl.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: bucket, Key: key, UploadId: up.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{done[2], done[0]}},
	}); err == nil {
		t.Fatal("complete with parts out of order succeeded")
	}
	if _, err := cl.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: bucket, Key: key, UploadId: up.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: done},
	}); err != nil {
		t.Fatalf("complete: %v", err)
	}
	out, err := cl.GetObject(ctx, &s3.GetObjectInput{Bucket: bucket, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if !bytes.Equal(got, bytes.Join(parts, nil)) {
		t.Fatal("multipart object differs")
	}
}

func TestS3Presigned(t *testing.T) {
	c := gatewaytest.Start(t)
	ctx := context.Background()
	cl := s3Client(t, c)
	bucket := aws.String("presign")
	if _, err := cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: bucket}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String("k"), Body: strings.NewReader("presigned body")}); err != nil {
		t.Fatal(err)
	}
	ps := s3.NewPresignClient(cl)
	req, err := ps.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: bucket, Key: aws.String("k")}, s3.WithPresignExpires(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.HTTPClient().Get(req.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "presigned body" {
		t.Fatalf("presigned GET: %d %q", resp.StatusCode, body)
	}
}
