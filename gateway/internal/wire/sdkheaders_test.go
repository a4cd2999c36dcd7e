package wire

import (
	"bytes"
	"context"
	"hash/crc64"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	cos "github.com/tencentyun/cos-go-sdk-v5"
)

// headerRecorder answers every request minimally (with the CRC-64 header the COS
// Go SDK checks) and keeps the request headers of the last one.
type headerRecorder struct {
	mu   sync.Mutex
	last http.Header
}

func (s *headerRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.last = r.Header.Clone()
	s.mu.Unlock()
	w.Header().Set("x-cos-request-id", "req")
	w.Header().Set("ETag", `"0cc175b9c0f1b6a831c399e269772661"`)
	w.Header().Set("x-cos-hash-crc64ecma", strconv.FormatUint(crc64.Checksum(body, crc64.MakeTable(crc64.ECMA)), 10))
	if r.Method == http.MethodPut && (r.Header.Get("x-cos-copy-source") != "" || r.Header.Get("x-amz-copy-source") != "") {
		v := any(CopyObjectResult{ETag: `"x"`})
		if r.URL.Query().Has("uploadId") {
			v = CopyPartResult{ETag: `"x"`}
		}
		_ = WriteXML(w, http.StatusOK, v)
		return
	}
	if r.Method == http.MethodGet {
		w.Header().Set("Content-Length", "1")
		_, _ = w.Write([]byte("a"))
	}
}

func (s *headerRecorder) take() http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// TestSSEHeadersFromSDKs parses the SSE headers exactly as the COS Go SDK and
// aws-sdk-go-v2 put them on the wire.
func TestSSEHeadersFromSDKs(t *testing.T) {
	rec := &headerRecorder{}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	c := cos.NewClient(&cos.BaseURL{BucketURL: u}, &http.Client{Transport: &cos.AuthorizationTransport{SecretID: "AK", SecretKey: "SK"}})
	c.Host = "examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com"
	a := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("AK", "SK", ""), RetryMaxAttempts: 1,
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired, ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired})
	ctx := context.Background()
	cust := CustomerKey{Algorithm: "AES256", Key: testKey, KeyMD5: testKeyMD5}
	kmsHeaders := &http.Header{}
	kmsHeaders.Set("x-cos-server-side-encryption", "cos/kms")
	kmsHeaders.Set("x-cos-server-side-encryption-cos-kms-key-id", "cmk-1")
	kmsHeaders.Set("x-cos-server-side-encryption-context", testCtx)
	b, k := aws.String("bucket-1"), aws.String("k")

	steps := []struct {
		name string
		call func() error
		op   SSEOp
		want SSERequest
	}{
		{"cos put sse-cos", func() error {
			_, err := c.Object.Put(ctx, "k", strings.NewReader("x"), &cos.ObjectPutOptions{ObjectPutHeaderOptions: &cos.ObjectPutHeaderOptions{XCosServerSideEncryption: "AES256"}})
			return err
		}, SSEOpPut, SSERequest{Mode: SSECOS}},
		{"cos put sse-kms", func() error {
			_, err := c.Object.Put(ctx, "k", strings.NewReader("x"), &cos.ObjectPutOptions{ObjectPutHeaderOptions: &cos.ObjectPutHeaderOptions{XOptionHeader: kmsHeaders}})
			return err
		}, SSEOpPut, SSERequest{Mode: SSEKMS, KMSKeyID: "cmk-1", KMSContext: map[string]string{"a": "asdfa", "b": "123321"}, KMSContextRaw: testCtx}},
		{"cos put sse-c", func() error {
			_, err := c.Object.Put(ctx, "k", strings.NewReader("x"), &cos.ObjectPutOptions{ObjectPutHeaderOptions: &cos.ObjectPutHeaderOptions{
				XCosSSECustomerAglo: "AES256", XCosSSECustomerKey: testKey, XCosSSECustomerKeyMD5: testKeyMD5}})
			return err
		}, SSEOpPut, SSERequest{Mode: SSEC, Customer: cust}},
		{"cos get sse-c", func() error {
			resp, err := c.Object.Get(ctx, "k", &cos.ObjectGetOptions{XCosSSECustomerAglo: "AES256", XCosSSECustomerKey: testKey, XCosSSECustomerKeyMD5: testKeyMD5})
			if err == nil {
				resp.Body.Close()
			}
			return err
		}, SSEOpRead, SSERequest{Mode: SSEC, Customer: cust}},
		{"cos copy source sse-c", func() error {
			_, _, err := c.Object.Copy(ctx, "k", c.Host+"/src", &cos.ObjectCopyOptions{ObjectCopyHeaderOptions: &cos.ObjectCopyHeaderOptions{
				XCosServerSideEncryption:      "AES256",
				XCosCopySourceSSECustomerAglo: "AES256", XCosCopySourceSSECustomerKey: testKey, XCosCopySourceSSECustomerKeyMD5: testKeyMD5}})
			return err
		}, SSEOpCopy, SSERequest{Mode: SSECOS, CopySource: &cust}},
		{"cos upload part sse-c", func() error {
			_, err := c.Object.UploadPart(ctx, "k", "u", 1, bytes.NewReader([]byte("p")), &cos.ObjectUploadPartOptions{
				XCosSSECustomerAglo: "AES256", XCosSSECustomerKey: testKey, XCosSSECustomerKeyMD5: testKeyMD5})
			return err
		}, SSEOpUploadPart, SSERequest{Mode: SSEC, Customer: cust}},
		{"aws put sse-c", func() error {
			_, err := a.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: k, Body: strings.NewReader("x"),
				SSECustomerAlgorithm: aws.String("AES256"), SSECustomerKey: aws.String(testKey), SSECustomerKeyMD5: aws.String(testKeyMD5)})
			return err
		}, SSEOpPut, SSERequest{Mode: SSEC, Customer: cust, Dialect: DialectS3}},
		{"aws put sse-kms", func() error {
			_, err := a.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: k, Body: strings.NewReader("x"),
				ServerSideEncryption: types.ServerSideEncryptionAwsKms, SSEKMSKeyId: aws.String("cmk-1"), SSEKMSEncryptionContext: aws.String(testCtx)})
			return err
		}, SSEOpPut, SSERequest{Mode: SSEKMS, KMSKeyID: "cmk-1", KMSContext: map[string]string{"a": "asdfa", "b": "123321"}, KMSContextRaw: testCtx, Dialect: DialectS3}},
		{"aws put sse-s3", func() error {
			_, err := a.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: k, Body: strings.NewReader("x"), ServerSideEncryption: types.ServerSideEncryptionAes256})
			return err
		}, SSEOpPut, SSERequest{Mode: SSECOS, Dialect: DialectS3}},
		{"aws copy source sse-c", func() error {
			_, err := a.CopyObject(ctx, &s3.CopyObjectInput{Bucket: b, Key: k, CopySource: aws.String("bucket-1/src"),
				CopySourceSSECustomerAlgorithm: aws.String("AES256"), CopySourceSSECustomerKey: aws.String(testKey), CopySourceSSECustomerKeyMD5: aws.String(testKeyMD5)})
			return err
		}, SSEOpCopy, SSERequest{CopySource: &cust, Dialect: DialectS3}},
	}
	for _, st := range steps {
		if err := st.call(); err != nil {
			t.Errorf("%s: SDK: %v", st.name, err)
			continue
		}
		got, err := ParseSSE(rec.take(), st.op)
		if err != nil || !reflect.DeepEqual(got, st.want) {
			t.Errorf("%s: ParseSSE = %+v, %v; want %+v", st.name, got, err, st.want)
		}
	}
}
