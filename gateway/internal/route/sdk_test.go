package route

import (
	"bytes"
	"context"
	"hash/crc64"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	cos "github.com/tencentyun/cos-go-sdk-v5"

	"github.com/coffer-io/coffer/gateway/internal/auth"
	"github.com/coffer-io/coffer/gateway/internal/wire"
)

// routed is what the test server saw for one request.
type routed struct {
	op     Op
	target Target
	copy   wire.CopySource
	err    error
}

// sdkServer routes every request with Resolve and Dispatch, records the result
// and answers with a minimal valid response for the operation, so real SDK
// clients complete their calls.
type sdkServer struct {
	mu   sync.Mutex
	last routed
}

func (s *sdkServer) take() routed {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.last
	s.last = routed{}
	return r
}

func (s *sdkServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var rec routed
	defer func() {
		s.mu.Lock()
		s.last = rec
		s.mu.Unlock()
	}()
	w.Header().Set("x-cos-request-id", "req")
	tg, err := Resolve(cfg, r.Host, r.URL.EscapedPath())
	if err != nil {
		rec.err = err
		wire.WriteError(w, err, "req")
		return
	}
	q, err := auth.ParseQuery(r.URL.RawQuery)
	if err != nil {
		rec.err = err
		wire.WriteError(w, wire.NewError(wire.ErrInvalidURI, ""), "req")
		return
	}
	src, hasCopy, _ := wire.CopySourceHeader(r.Header)
	op, err := Dispatch(Request{Method: r.Method, Bucket: tg.Bucket, Key: tg.Key, Query: q, CopySource: hasCopy, ContentType: r.Header.Get("Content-Type")})
	rec = routed{op: op, target: tg, err: err}
	if err != nil {
		wire.WriteError(w, err, "req")
		return
	}
	if hasCopy {
		if rec.copy, err = wire.ParseCopySource(src); err != nil {
			rec.err = err
			wire.WriteError(w, err, "req")
			return
		}
	}
	etag := `"0cc175b9c0f1b6a831c399e269772661"`
	var v any
	switch op {
	case OpListBuckets:
		v = wire.ListAllMyBucketsResult{}
	case OpListObjects:
		v = wire.ListBucketResult{Name: tg.Bucket, MaxKeys: 1000}
	case OpListObjectsV2:
		v = wire.ListBucketV2Result{Name: tg.Bucket, MaxKeys: 1000}
	case OpGetBucketLocation:
		v = wire.LocationConstraint{Region: "ap-guangzhou"}
	case OpGetBucketACL, OpGetObjectACL:
		v = wire.AccessControlPolicy{Owner: wire.Owner{ID: "o"}}
	case OpGetBucketEncryption:
		v = wire.BucketEncryption{Mode: wire.SSECOS}.Configuration()
	case OpListMultipartUploads:
		v = wire.ListMultipartUploadsResult{Bucket: tg.Bucket, MaxUploads: 1000}
	case OpDeleteObjects:
		v = wire.DeleteResult{}
	case OpInitiateMultipartUpload:
		v = wire.InitiateMultipartUploadResult{Bucket: tg.Bucket, Key: tg.Key, UploadID: "upload-1"}
	case OpCompleteMultipartUpload:
		v = wire.CompleteMultipartUploadResult{Bucket: tg.Bucket, Key: tg.Key, ETag: `"0cc175b9c0f1b6a831c399e269772661-1"`}
	case OpListParts:
		v = wire.ListPartsResult{Bucket: tg.Bucket, Key: tg.Key, UploadID: "upload-1", MaxParts: 1000}
	case OpCopyObject:
		v = wire.CopyObjectResult{ETag: etag}
	case OpUploadPartCopy:
		v = wire.CopyPartResult{ETag: etag}
	case OpPutObject, OpUploadPart:
		w.Header().Set("ETag", etag)
		w.Header().Set("x-cos-hash-crc64ecma", strconv.FormatUint(crc64.Checksum(body, crc64.MakeTable(crc64.ECMA)), 10))
	case OpGetObject, OpHeadObject:
		w.Header().Set("ETag", etag)
		w.Header().Set("Content-Length", "1")
		w.WriteHeader(http.StatusOK)
		if op == OpGetObject {
			_, _ = w.Write([]byte("a"))
		}
		return
	case OpDeleteObject, OpDeleteBucket, OpDeleteBucketEncryption, OpAbortMultipartUpload:
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if v != nil {
		_ = wire.WriteXML(w, http.StatusOK, v)
		return
	}
	w.WriteHeader(http.StatusOK)
}

const sdkBucket = "examplebucket-1250000000"

// TestCOSGoSDK drives the official COS Go SDK (default config, CRC checks on)
// through every operation and checks the bucket, key and Op the gateway
// derives from its requests.
func TestCOSGoSDK(t *testing.T) {
	s := &sdkServer{}
	srv := httptest.NewServer(s)
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	c := cos.NewClient(&cos.BaseURL{BucketURL: u, ServiceURL: u}, &http.Client{
		Transport: &cos.AuthorizationTransport{SecretID: "AKIDEXAMPLE", SecretKey: "SECRETKEYEXAMPLE"},
	})
	const host = sdkBucket + ".cos.ap-guangzhou.myqcloud.com"
	ctx := context.Background()
	const key = "dir/a b+c.txt"
	src := host + "/src dir/测试.jpg"
	acl := &cos.ACLXml{Owner: &cos.Owner{ID: "o"}, AccessControlList: []cos.ACLGrant{{Grantee: &cos.ACLGrantee{Type: "RootAccount", ID: "qcs::cam::uin/1:uin/1"}, Permission: "READ"}}}
	steps := []struct {
		name string
		call func() error
		op   Op
		key  string
	}{
		{"Service.Get", func() error {
			c.Host = "service.cos.myqcloud.com"
			defer func() { c.Host = host }()
			_, _, err := c.Service.Get(ctx)
			return err
		}, OpListBuckets, ""},
		{"Bucket.Put", func() error { _, err := c.Bucket.Put(ctx, nil); return err }, OpCreateBucket, ""},
		{"Bucket.Head", func() error { _, err := c.Bucket.Head(ctx); return err }, OpHeadBucket, ""},
		{"Bucket.Get", func() error {
			_, _, err := c.Bucket.Get(ctx, &cos.BucketGetOptions{Prefix: "dir/", Delimiter: "/", EncodingType: "url", MaxKeys: 10})
			return err
		}, OpListObjects, ""},
		{"Bucket.GetLocation", func() error { _, _, err := c.Bucket.GetLocation(ctx); return err }, OpGetBucketLocation, ""},
		{"Bucket.GetACL", func() error { _, _, err := c.Bucket.GetACL(ctx); return err }, OpGetBucketACL, ""},
		{"Bucket.PutACL", func() error {
			_, err := c.Bucket.PutACL(ctx, &cos.BucketPutACLOptions{Header: &cos.ACLHeaderOptions{XCosACL: "private"}})
			return err
		}, OpPutBucketACL, ""},
		{"Bucket.PutEncryption", func() error {
			_, err := c.Bucket.PutEncryption(ctx, &cos.BucketPutEncryptionOptions{Rule: &cos.BucketEncryptionConfiguration{SSEAlgorithm: "AES256"}})
			return err
		}, OpPutBucketEncryption, ""},
		{"Bucket.GetEncryption", func() error { _, _, err := c.Bucket.GetEncryption(ctx); return err }, OpGetBucketEncryption, ""},
		{"Bucket.DeleteEncryption", func() error { _, err := c.Bucket.DeleteEncryption(ctx); return err }, OpDeleteBucketEncryption, ""},
		{"Bucket.ListMultipartUploads", func() error {
			_, _, err := c.Bucket.ListMultipartUploads(ctx, &cos.ListMultipartUploadsOptions{Prefix: key, EncodingType: "url"})
			return err
		}, OpListMultipartUploads, ""},
		{"Object.Put", func() error { _, err := c.Object.Put(ctx, key, strings.NewReader("hello"), nil); return err }, OpPutObject, key},
		{"Object.Put unicode", func() error { _, err := c.Object.Put(ctx, "测试/a//b", strings.NewReader("hello"), nil); return err }, OpPutObject, "测试/a//b"},
		{"Object.Get", func() error {
			resp, err := c.Object.Get(ctx, key, nil)
			if err == nil {
				resp.Body.Close()
			}
			return err
		}, OpGetObject, key},
		{"Object.Head", func() error { _, err := c.Object.Head(ctx, key, nil); return err }, OpHeadObject, key},
		{"Object.Copy", func() error { _, _, err := c.Object.Copy(ctx, key, src, nil); return err }, OpCopyObject, key},
		{"Object.PutACL", func() error {
			_, err := c.Object.PutACL(ctx, key, &cos.ObjectPutACLOptions{Body: acl})
			return err
		}, OpPutObjectACL, key},
		{"Object.GetACL", func() error { _, _, err := c.Object.GetACL(ctx, key); return err }, OpGetObjectACL, key},
		{"Object.InitiateMultipartUpload", func() error { _, _, err := c.Object.InitiateMultipartUpload(ctx, key, nil); return err }, OpInitiateMultipartUpload, key},
		{"Object.UploadPart", func() error {
			_, err := c.Object.UploadPart(ctx, key, "upload-1", 1, bytes.NewReader([]byte("part")), nil)
			return err
		}, OpUploadPart, key},
		{"Object.CopyPart", func() error { _, _, err := c.Object.CopyPart(ctx, key, "upload-1", 2, src, nil); return err }, OpUploadPartCopy, key},
		{"Object.ListParts", func() error { _, _, err := c.Object.ListParts(ctx, key, "upload-1", nil); return err }, OpListParts, key},
		{"Object.CompleteMultipartUpload", func() error {
			_, _, err := c.Object.CompleteMultipartUpload(ctx, key, "upload-1", &cos.CompleteMultipartUploadOptions{Parts: []cos.Object{{PartNumber: 1, ETag: `"x"`}}})
			return err
		}, OpCompleteMultipartUpload, key},
		{"Object.AbortMultipartUpload", func() error { _, err := c.Object.AbortMultipartUpload(ctx, key, "upload-1"); return err }, OpAbortMultipartUpload, key},
		{"Object.DeleteMulti", func() error {
			_, _, err := c.Object.DeleteMulti(ctx, &cos.ObjectDeleteMultiOptions{Objects: []cos.Object{{Key: key}}})
			return err
		}, OpDeleteObjects, ""},
		{"Object.Delete", func() error { _, err := c.Object.Delete(ctx, key); return err }, OpDeleteObject, key},
		{"Bucket.Delete", func() error { _, err := c.Bucket.Delete(ctx); return err }, OpDeleteBucket, ""},
	}
	c.Host = host
	for _, st := range steps {
		err := st.call()
		got := s.take()
		if err != nil || got.err != nil {
			t.Errorf("%s: SDK error %v, route error %v", st.name, err, got.err)
			continue
		}
		wantBucket := sdkBucket
		if st.op == OpListBuckets {
			wantBucket = ""
		}
		if got.op != st.op || got.target.Bucket != wantBucket || got.target.Key != st.key {
			t.Errorf("%s: routed to %v %+v, want %v key %q", st.name, got.op, got.target, st.op, st.key)
		}
		if (st.op == OpCopyObject || st.op == OpUploadPartCopy) && got.copy != (wire.CopySource{Bucket: sdkBucket, Key: "src dir/测试.jpg"}) {
			t.Errorf("%s: copy source %+v", st.name, got.copy)
		}
	}
}

// TestAWSSDK drives aws-sdk-go-v2's S3 client, path-style and virtual-host.
func TestAWSSDK(t *testing.T) {
	s := &sdkServer{}
	srv := httptest.NewServer(s)
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	// Every host name dials the test server, so virtual hosts need no DNS.
	dialer := &net.Dialer{}
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return dialer.DialContext(ctx, network, srv.Listener.Addr().String())
	}}}
	for _, style := range []struct {
		name     string
		endpoint string
		path     bool
	}{
		{"path-style", srv.URL, true},
		{"virtual-host", "http://cos.ap-guangzhou.myqcloud.com:" + port, false},
	} {
		t.Run(style.name, func(t *testing.T) {
			c := s3.New(s3.Options{
				Region: "ap-guangzhou", BaseEndpoint: aws.String(style.endpoint), UsePathStyle: style.path,
				Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""), HTTPClient: hc,
				RetryMaxAttempts: 1, RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
				ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
			})
			testAWSClient(t, s, c)
		})
	}
}

func testAWSClient(t *testing.T, s *sdkServer, c *s3.Client) {
	ctx := context.Background()
	b := aws.String(sdkBucket)
	const key = "dir/a b+c.txt"
	k := aws.String(key)
	up := aws.String("upload-1")
	src := aws.String(sdkBucket + "/" + url.PathEscape("src dir/测试.jpg"))
	steps := []struct {
		name string
		call func() error
		op   Op
		key  string
	}{
		{"ListBuckets", func() error { _, err := c.ListBuckets(ctx, &s3.ListBucketsInput{}); return err }, OpListBuckets, ""},
		{"CreateBucket", func() error { _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: b}); return err }, OpCreateBucket, ""},
		{"HeadBucket", func() error { _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: b}); return err }, OpHeadBucket, ""},
		{"GetBucketLocation", func() error { _, err := c.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: b}); return err }, OpGetBucketLocation, ""},
		{"ListObjects", func() error {
			_, err := c.ListObjects(ctx, &s3.ListObjectsInput{Bucket: b, Prefix: aws.String("dir/")})
			return err
		}, OpListObjects, ""},
		{"ListObjectsV2", func() error {
			_, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: b, StartAfter: aws.String("a")})
			return err
		}, OpListObjectsV2, ""},
		{"PutObject", func() error {
			_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: k, Body: strings.NewReader("hello")})
			return err
		}, OpPutObject, key},
		{"GetObject", func() error {
			out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: k})
			if err == nil {
				out.Body.Close()
			}
			return err
		}, OpGetObject, key},
		{"HeadObject", func() error { _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: b, Key: k}); return err }, OpHeadObject, key},
		{"CopyObject", func() error {
			_, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: b, Key: k, CopySource: src})
			return err
		}, OpCopyObject, key},
		{"PutObjectAcl", func() error {
			_, err := c.PutObjectAcl(ctx, &s3.PutObjectAclInput{Bucket: b, Key: k, ACL: types.ObjectCannedACLPrivate})
			return err
		}, OpPutObjectACL, key},
		{"GetBucketAcl", func() error { _, err := c.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: b}); return err }, OpGetBucketACL, ""},
		{"PutBucketEncryption", func() error {
			_, err := c.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{Bucket: b, ServerSideEncryptionConfiguration: &types.ServerSideEncryptionConfiguration{
				Rules: []types.ServerSideEncryptionRule{{ApplyServerSideEncryptionByDefault: &types.ServerSideEncryptionByDefault{SSEAlgorithm: types.ServerSideEncryptionAes256}}}}})
			return err
		}, OpPutBucketEncryption, ""},
		{"GetBucketEncryption", func() error {
			_, err := c.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: b})
			return err
		}, OpGetBucketEncryption, ""},
		{"DeleteBucketEncryption", func() error {
			_, err := c.DeleteBucketEncryption(ctx, &s3.DeleteBucketEncryptionInput{Bucket: b})
			return err
		}, OpDeleteBucketEncryption, ""},
		{"CreateMultipartUpload", func() error {
			_, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: b, Key: k})
			return err
		}, OpInitiateMultipartUpload, key},
		{"UploadPart", func() error {
			_, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: b, Key: k, UploadId: up, PartNumber: aws.Int32(1), Body: strings.NewReader("part")})
			return err
		}, OpUploadPart, key},
		{"UploadPartCopy", func() error {
			_, err := c.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: b, Key: k, UploadId: up, PartNumber: aws.Int32(2), CopySource: src})
			return err
		}, OpUploadPartCopy, key},
		{"ListParts", func() error {
			_, err := c.ListParts(ctx, &s3.ListPartsInput{Bucket: b, Key: k, UploadId: up})
			return err
		}, OpListParts, key},
		{"ListMultipartUploads", func() error {
			_, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: b})
			return err
		}, OpListMultipartUploads, ""},
		{"CompleteMultipartUpload", func() error {
			_, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: b, Key: k, UploadId: up,
				MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: aws.String(`"x"`)}}}})
			return err
		}, OpCompleteMultipartUpload, key},
		{"AbortMultipartUpload", func() error {
			_, err := c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: b, Key: k, UploadId: up})
			return err
		}, OpAbortMultipartUpload, key},
		{"DeleteObjects", func() error {
			_, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: b, Delete: &types.Delete{Objects: []types.ObjectIdentifier{{Key: k}}}})
			return err
		}, OpDeleteObjects, ""},
		{"DeleteObject", func() error { _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: b, Key: k}); return err }, OpDeleteObject, key},
		{"DeleteBucket", func() error { _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: b}); return err }, OpDeleteBucket, ""},
	}
	for _, st := range steps {
		err := st.call()
		got := s.take()
		if err != nil || got.err != nil {
			t.Errorf("%s: SDK error %v, route error %v", st.name, err, got.err)
			continue
		}
		wantBucket := sdkBucket
		if st.op == OpListBuckets {
			wantBucket = ""
		}
		if got.op != st.op || got.target.Bucket != wantBucket || got.target.Key != st.key {
			t.Errorf("%s: routed to %v %+v, want %v key %q", st.name, got.op, got.target, st.op, st.key)
		}
		if (st.op == OpCopyObject || st.op == OpUploadPartCopy) && got.copy != (wire.CopySource{Bucket: sdkBucket, Key: "src dir/测试.jpg"}) {
			t.Errorf("%s: copy source %+v", st.name, got.copy)
		}
	}
}
