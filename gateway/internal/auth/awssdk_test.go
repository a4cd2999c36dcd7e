package auth

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// TestAWSSDKEndToEnd drives the real aws-sdk-go-v2 S3 client (default config,
// path style, static credentials) against a server verifying with this package.
// Over plain HTTP the SDK signs a hex payload digest plus an x-amz-checksum-crc32
// header; over HTTPS it streams STREAMING-UNSIGNED-PAYLOAD-TRAILER aws-chunked
// bodies with a trailing checksum. Both are exercised.
func TestAWSSDKEndToEnd(t *testing.T) {
	for _, tls := range []bool{false, true} {
		name := "http"
		if tls {
			name = "https"
		}
		t.Run(name, func(t *testing.T) { testAWSSDK(t, tls) })
	}
}

func testAWSSDK(t *testing.T, tls bool) {
	v, err := New(mapSecrets{testAK: testSecret}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	srv := newSDKServer(t, v, tls)
	ctx := context.Background()
	// The machine's AWS_CA_BUNDLE would make the SDK replace our test client's roots.
	t.Setenv("AWS_CA_BUNDLE", "")
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(testAK, testSecret, "")),
		config.WithHTTPClient(srv.Client()),
		config.WithSharedConfigFiles(nil), config.WithSharedCredentialsFiles(nil),
	)
	if err != nil {
		t.Fatal(err)
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle = true
		o.BaseEndpoint = aws.String(srv.URL)
	})
	bucket := aws.String("examplebucket")

	// expectBody checks the last verified request carried exactly want.
	expectBody := func(what string, want []byte) {
		t.Helper()
		ok, failed, _, bodies := srv.results()
		if len(failed) > 0 {
			t.Fatalf("%s: server rejected: %v", what, failed)
		}
		if len(bodies) == 0 || !bytes.Equal(bodies[len(bodies)-1], want) {
			got := 0
			if len(bodies) > 0 {
				got = len(bodies[len(bodies)-1])
			}
			t.Fatalf("%s: server decoded %d bytes, want %d (%v)", what, got, len(want), ok)
		}
		srv.reset()
	}

	big := make([]byte, 3<<20+12345)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range big {
		big[i] = byte(rng.Uint32())
	}
	for _, key := range []string{"small.txt", "dir/a b+c.txt", "测试/文件.jpg", "100%.txt", "x~y!*'()&=;,$@.bin"} {
		small := []byte("hello, " + key)
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String(key), Body: bytes.NewReader(small),
			Metadata: map[string]string{"owner": "Ann  Lee"}, ContentType: aws.String("text/plain")}); err != nil {
			t.Fatalf("PutObject %q: %v", key, err)
		}
		expectBody("PutObject "+key, small)
		out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: bucket, Key: aws.String(key), Range: aws.String("bytes=0-4")})
		if err != nil {
			t.Fatalf("GetObject %q: %v", key, err)
		}
		io.Copy(io.Discard, out.Body)
		out.Body.Close()
		if _, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: bucket, Key: aws.String(key)}); err != nil {
			t.Fatalf("HeadObject %q: %v", key, err)
		}
		expectBody("GET/HEAD "+key, nil)
	}
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String("big.bin"), Body: bytes.NewReader(big)}); err != nil {
		t.Fatalf("PutObject big: %v", err)
	}
	expectBody("PutObject big", big)
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String("sha256.bin"), Body: bytes.NewReader(big[:100000]),
		ChecksumAlgorithm: types.ChecksumAlgorithmSha256}); err != nil {
		t.Fatalf("PutObject sha256: %v", err)
	}
	expectBody("PutObject sha256 checksum", big[:100000])
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String("crc64.bin"), Body: bytes.NewReader(big[:70000]),
		ChecksumAlgorithm: types.ChecksumAlgorithmCrc64nvme}); err != nil {
		t.Fatalf("PutObject crc64nvme: %v", err)
	}
	expectBody("PutObject crc64nvme checksum", big[:70000])
	if _, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: bucket, Prefix: aws.String("dir/ a+b"), MaxKeys: aws.Int32(10)}); err != nil {
		t.Fatalf("ListObjectsV2: %v", err)
	}
	expectBody("ListObjectsV2", nil)
	part := big[:1<<20]
	if _, err := client.UploadPart(ctx, &s3.UploadPartInput{Bucket: bucket, Key: aws.String("multi part.bin"), UploadId: aws.String("up+id/1"),
		PartNumber: aws.Int32(1), Body: bytes.NewReader(part)}); err != nil {
		t.Fatalf("UploadPart: %v", err)
	}
	expectBody("UploadPart", part)
	if _, err := client.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: bucket, Delete: &types.Delete{
		Objects: []types.ObjectIdentifier{{Key: aws.String("a")}, {Key: aws.String("b c")}}}}); err != nil {
		t.Fatalf("DeleteObjects: %v", err)
	}
	_, failed, _, bodies := srv.results()
	if len(failed) > 0 || len(bodies) != 1 || !bytes.Contains(bodies[0], []byte("<Key>b c</Key>")) {
		t.Fatalf("DeleteObjects: failed %v, bodies %q", failed, bodies)
	}
	srv.reset()

	// Presigned GET and PUT.
	pc := s3.NewPresignClient(client)
	pg, err := pc.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: bucket, Key: aws.String("dir/a b+c.txt")})
	if err != nil {
		t.Fatal(err)
	}
	sendPresigned(t, srv.Client(), pg.Method, pg.URL, pg.SignedHeader, nil, 200)
	expectBody("presigned GET", nil)
	pp, err := pc.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String("up load.txt"), ContentType: aws.String("text/plain")})
	if err != nil {
		t.Fatal(err)
	}
	sendPresigned(t, srv.Client(), pp.Method, pp.URL, pp.SignedHeader, []byte("presigned body"), 200)
	expectBody("presigned PUT", []byte("presigned body"))
	// Tampered presigned URLs.
	sendPresigned(t, srv.Client(), pg.Method, strings.Replace(pg.URL, "a%20b", "a%20c", 1), pg.SignedHeader, nil, 403)
	sendPresigned(t, srv.Client(), pg.Method, strings.Replace(pg.URL, "X-Amz-Expires=900", "X-Amz-Expires=901", 1), pg.SignedHeader, nil, 403)
	_, _, codes, _ := srv.results()
	if len(codes) != 2 || codes[0] != "SignatureDoesNotMatch" || codes[1] != "SignatureDoesNotMatch" {
		t.Fatalf("tampered presigned codes %v", codes)
	}
	srv.mu.Lock()
	modes := srv.modes
	srv.mu.Unlock()
	t.Logf("payload modes seen: %v", modes)
	if tls && (modes["STREAMING-UNSIGNED-PAYLOAD-TRAILER x-amz-checksum-crc32"] == 0 || modes["STREAMING-UNSIGNED-PAYLOAD-TRAILER x-amz-checksum-crc64nvme"] == 0) {
		t.Fatalf("HTTPS PUTs did not use aws-chunked trailers: %v", modes)
	}
	if !tls && modes["digest "] == 0 {
		t.Fatalf("HTTP PUTs did not sign a payload digest: %v", modes)
	}
}

func sendPresigned(t *testing.T, c *http.Client, method, url string, hdr http.Header, body []byte, want int) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range hdr {
		if strings.EqualFold(k, "Host") {
			continue
		}
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		t.Fatalf("presigned %s %s: status %d, want %d", method, url, resp.StatusCode, want)
	}
}
