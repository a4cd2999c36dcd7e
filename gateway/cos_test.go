package gateway_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"hash/crc64"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	cos "github.com/tencentyun/cos-go-sdk-v5"

	"github.com/coffer-io/coffer/gateway/gatewaytest"
)

// cosClient is the official COS Go SDK with its default configuration (CRC-64
// checking on), addressing bucket through its virtual host.
func cosClient(c *gatewaytest.Cluster, bucket string) *cos.Client {
	return cosClientWith(c, bucket, &cos.AuthorizationTransport{SecretID: gatewaytest.AccessKey, SecretKey: gatewaytest.SecretKey})
}

func cosClientWith(c *gatewaytest.Cluster, bucket string, rt http.RoundTripper) *cos.Client {
	u, _ := url.Parse(c.URL)
	cl := cos.NewClient(&cos.BaseURL{BucketURL: u, ServiceURL: u}, &http.Client{Transport: rt})
	cl.Host = c.Host(bucket)
	return cl
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func TestCOSObjectLifecycle(t *testing.T) {
	c := gatewaytest.Start(t)
	ctx := context.Background()
	const bucket = "lifecycle-1250000000"
	cl := cosClient(c, bucket)
	if _, err := cl.Bucket.Put(ctx, nil); err != nil {
		t.Fatalf("create bucket: %v", err)
	}
	if _, err := cl.Bucket.Head(ctx); err != nil {
		t.Fatalf("head bucket: %v", err)
	}

	objects := map[string][]byte{
		"empty":                  {},
		"small.txt":              []byte("hello world"),
		"dir/a b+c.txt":          randomBytes(1000),
		"测试/unicode.bin":         randomBytes(70 << 10),  // crosses a 64 KiB package
		"big/three-stripes.bin":  randomBytes(800 << 10), // several 256 KiB stripes
		"odd%key;with=chars&x.y": randomBytes(17),
	}
	for key, data := range objects {
		resp, err := cl.Object.Put(ctx, key, bytes.NewReader(data), &cos.ObjectPutOptions{
			ObjectPutHeaderOptions: &cos.ObjectPutHeaderOptions{
				ContentType: "text/x-test", ContentLength: int64(len(data)),
				XCosMetaXXX: &http.Header{"x-cos-meta-origin": []string{"coffer test"}},
			},
		})
		if err != nil {
			t.Fatalf("put %q: %v", key, err)
		}
		want := crc64.Checksum(data, crc64.MakeTable(crc64.ECMA))
		if got := resp.Header.Get("x-cos-hash-crc64ecma"); got != strconv.FormatUint(want, 10) {
			t.Errorf("put %q: crc64 header %q, want %d", key, got, want)
		}
	}
	for key, data := range objects {
		resp, err := cl.Object.Get(ctx, key, nil)
		if err != nil {
			t.Fatalf("get %q: %v", key, err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("get %q: %d bytes, err %v", key, len(got), err)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "text/x-test" {
			t.Errorf("get %q: Content-Type %q", key, ct)
		}
		if m := resp.Header.Get("x-cos-meta-origin"); m != "coffer test" {
			t.Errorf("get %q: metadata %q", key, m)
		}
		head, err := cl.Object.Head(ctx, key, nil)
		if err != nil {
			t.Fatalf("head %q: %v", key, err)
		}
		if head.ContentLength != int64(len(data)) {
			t.Errorf("head %q: Content-Length %d, want %d", key, head.ContentLength, len(data))
		}
	}

	// A range crossing the package and stripe boundaries.
	big := objects["big/three-stripes.bin"]
	resp, err := cl.Object.Get(ctx, "big/three-stripes.bin", &cos.ObjectGetOptions{Range: "bytes=65530-300000"})
	if err != nil {
		t.Fatalf("range get: %v", err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(got, big[65530:300001]) {
		t.Fatalf("range get: status %d, %d bytes", resp.StatusCode, len(got))
	}

	// Listing with a delimiter.
	list, _, err := cl.Bucket.Get(ctx, &cos.BucketGetOptions{Delimiter: "/"})
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	var keys, prefixes []string
	for _, o := range list.Contents {
		keys = append(keys, o.Key)
	}
	prefixes = append(prefixes, list.CommonPrefixes...)
	if strings.Join(keys, ",") != "empty,odd%key;with=chars&x.y,small.txt" || strings.Join(prefixes, ",") != "big/,dir/,测试/" {
		t.Errorf("list: keys %q prefixes %q", keys, prefixes)
	}

	// Copy, overwrite, delete.
	src := c.Host(bucket) + "/" + "small.txt"
	if _, _, err := cl.Object.Copy(ctx, "copied.txt", src, nil); err != nil {
		t.Fatalf("copy: %v", err)
	}
	resp, err = cl.Object.Get(ctx, "copied.txt", nil)
	if err != nil {
		t.Fatalf("get copy: %v", err)
	}
	got, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(got) != "hello world" {
		t.Fatalf("copy holds %q", got)
	}
	if _, err := cl.Object.Delete(ctx, "small.txt"); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := cl.Object.Get(ctx, "small.txt", nil); !cos.IsNotFoundError(err) {
		t.Fatalf("get after delete: %v", err)
	}
	if _, err := cl.Bucket.Delete(ctx); err == nil {
		t.Fatal("deleting a non-empty bucket succeeded")
	}
}

func TestCOSMultipartUpload(t *testing.T) {
	c := gatewaytest.Start(t)
	ctx := context.Background()
	const bucket = "multipart-1250000000"
	cl := cosClient(c, bucket)
	if _, err := cl.Bucket.Put(ctx, nil); err != nil {
		t.Fatal(err)
	}
	data := randomBytes(3<<20 + 12345)
	path := filepath.Join(t.TempDir(), "upload.bin")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	// Upload checks the whole-object CRC-64 of Complete against the file.
	_, _, err := cl.Object.Upload(ctx, "multi/part.bin", path, &cos.MultiUploadOptions{PartSize: 1, ThreadPoolSize: 2})
	if err != nil {
		t.Fatalf("multipart upload: %v", err)
	}
	resp, err := cl.Object.Get(ctx, "multi/part.bin", nil)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(got, data) {
		t.Fatalf("multipart object differs: %d bytes", len(got))
	}
	if etag := resp.Header.Get("ETag"); !strings.HasSuffix(etag, "-4\"") {
		t.Errorf("multipart ETag %q", etag)
	}
	// A range across the part boundary at 1 MiB.
	resp, err = cl.Object.Get(ctx, "multi/part.bin", &cos.ObjectGetOptions{Range: fmt.Sprintf("bytes=%d-%d", 1<<20-10, 2<<20+10)})
	if err != nil {
		t.Fatal(err)
	}
	got, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(got, data[1<<20-10:2<<20+11]) {
		t.Fatal("range across parts differs")
	}

	// An aborted upload disappears.
	init, _, err := cl.Object.InitiateMultipartUpload(ctx, "aborted", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Object.UploadPart(ctx, "aborted", init.UploadID, 1, bytes.NewReader(data[:1000]), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Object.AbortMultipartUpload(ctx, "aborted", init.UploadID); err != nil {
		t.Fatal(err)
	}
	_, _, err = cl.Object.ListParts(ctx, "aborted", init.UploadID, nil)
	var cerr *cos.ErrorResponse
	if !errors.As(err, &cerr) || cerr.Code != "NoSuchUpload" {
		t.Fatalf("list parts of an aborted upload: %v", err)
	}
}

func TestCOSErrors(t *testing.T) {
	c := gatewaytest.Start(t)
	ctx := context.Background()
	cl := cosClient(c, "missing-1250000000")
	_, err := cl.Object.Get(ctx, "x", nil)
	var cerr *cos.ErrorResponse
	if !errors.As(err, &cerr) || cerr.Code != "NoSuchBucket" || cerr.RequestID == "" {
		t.Fatalf("get from a missing bucket: %v", err)
	}

	// A wrong secret is refused.
	bad := cosClientWith(c, "missing-1250000000", &cos.AuthorizationTransport{SecretID: gatewaytest.AccessKey, SecretKey: "wrong"})
	_, err = bad.Bucket.Put(ctx, nil)
	if !errors.As(err, &cerr) || cerr.Code != "SignatureDoesNotMatch" {
		t.Fatalf("wrong secret: %v", err)
	}
	// Anonymous requests cannot create buckets or read private objects.
	anon := cosClientWith(c, "missing-1250000000", http.DefaultTransport)
	if _, err := anon.Bucket.Put(ctx, nil); !errors.As(err, &cerr) || cerr.Code != "AccessDenied" {
		t.Fatalf("anonymous create: %v", err)
	}
}

func TestNoPlaintextOnDisk(t *testing.T) {
	c := gatewaytest.Start(t)
	ctx := context.Background()
	cl := cosClient(c, "secret-1250000000")
	if _, err := cl.Bucket.Put(ctx, nil); err != nil {
		t.Fatal(err)
	}
	marker := []byte("COFFER-MARKER-7d41c0ffee-plaintext")
	small := bytes.Repeat(marker, 10)      // inline shards in Pebble
	large := bytes.Repeat(marker, 100_000) // shard files
	for key, data := range map[string][]byte{"small": small, "large": large} {
		if _, err := cl.Object.Put(ctx, key, bytes.NewReader(data), nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, dir := range c.StorageDirs() {
		filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
			if err != nil || info.IsDir() {
				return nil
			}
			b, err := os.ReadFile(path)
			if err == nil && bytes.Contains(b, marker[:20]) {
				t.Errorf("plaintext marker found in %s", path)
			}
			return nil
		})
	}
}
