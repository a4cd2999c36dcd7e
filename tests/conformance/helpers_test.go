package conformance

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"hash/crc64"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	smithy "github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"
	cos "github.com/tencentyun/cos-go-sdk-v5"

	"github.com/coffer-io/coffer/gateway/gatewaytest"
)

// env is one running cluster and the clients that talk to it. Every HTTP exchange
// of every client goes through checkTransport, which records responses without a
// request id or with one already seen; the owning test fails at cleanup if there
// were any.
type env struct {
	t   *testing.T
	c   *gatewaytest.Cluster
	ctx context.Context

	mu        sync.Mutex
	exchanges int
	missingID []string            // "METHOD URL -> status" of responses without x-cos-request-id
	ids       map[string]struct{} // request ids seen
	dupIDs    []string            // request ids seen twice
}

func start(t *testing.T) *env {
	t.Helper()
	// aws-sdk-go-v2 with a custom HTTP client refuses to start when the machine
	// sets a CA bundle it cannot apply to that client.
	t.Setenv("AWS_CA_BUNDLE", "")
	e := &env{t: t, c: gatewaytest.Start(t), ctx: context.Background(), ids: map[string]struct{}{}}
	t.Cleanup(func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		if e.exchanges == 0 {
			t.Error("no HTTP exchange went through the checking transport")
		}
		for _, m := range e.missingID {
			t.Errorf("response without x-cos-request-id: %s", m)
		}
		for _, id := range e.dupIDs {
			t.Errorf("request id %s answered two requests", id)
		}
	})
	return e
}

// checkTransport dials the gateway for every request (so virtual hosts such as
// "<bucket>.localhost:port" need no DNS) and records responses without a request id.
type checkTransport struct {
	e    *env
	base http.RoundTripper
}

func (ct checkTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := ct.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	ct.e.mu.Lock()
	ct.e.exchanges++
	id := resp.Header.Get("x-cos-request-id")
	if id == "" {
		ct.e.missingID = append(ct.e.missingID, r.Method+" "+r.URL.String()+" -> "+resp.Status)
	} else if _, dup := ct.e.ids[id]; dup {
		ct.e.dupIDs = append(ct.e.dupIDs, id)
	}
	ct.e.ids[id] = struct{}{}
	ct.e.mu.Unlock()
	return resp, nil
}

// transport is the checking transport over a fresh transport that always connects
// to the gateway's listener.
func (e *env) transport() http.RoundTripper {
	addr := e.c.URL[len("http://"):]
	tr := http.DefaultTransport.(*http.Transport).Clone()
	dial := tr.DialContext
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return dial(ctx, network, addr)
	}
	return checkTransport{e: e, base: tr}
}

// httpClient is a plain client for raw requests (presigned URLs, anonymous access).
func (e *env) httpClient() *http.Client { return &http.Client{Transport: e.transport()} }

// cos is the COS Go SDK with its default configuration, signed with the root
// credentials, addressing bucket through its virtual host.
func (e *env) cos(bucket string) *cos.Client {
	return e.cosWith(bucket, gatewaytest.AccessKey, gatewaytest.SecretKey)
}

// anon is the COS Go SDK without credentials: it sends no Authorization header.
func (e *env) anon(bucket string) *cos.Client { return e.cosWith(bucket, "", "") }

func (e *env) cosWith(bucket, ak, sk string) *cos.Client {
	u, _ := url.Parse(e.c.URL)
	var rt http.RoundTripper = e.transport()
	if ak != "" {
		rt = &cos.AuthorizationTransport{SecretID: ak, SecretKey: sk, Transport: rt}
	}
	cl := cos.NewClient(&cos.BaseURL{BucketURL: u, ServiceURL: u}, &http.Client{Transport: rt})
	if bucket != "" {
		cl.Host = e.c.Host(bucket)
	}
	return cl
}

// hostClient is the COS Go SDK addressing the bucket's virtual host directly in its
// base URL, as presigned URLs need (they sign the URL's host).
func (e *env) hostClient(bucket string) *cos.Client {
	u, _ := url.Parse("http://" + e.c.Host(bucket))
	var rt http.RoundTripper = &cos.AuthorizationTransport{SecretID: gatewaytest.AccessKey, SecretKey: gatewaytest.SecretKey, Transport: e.transport()}
	return cos.NewClient(&cos.BaseURL{BucketURL: u, ServiceURL: u}, &http.Client{Transport: rt})
}

// s3 is aws-sdk-go-v2 with its default configuration, path-style.
func (e *env) s3() *s3.Client {
	e.t.Helper()
	cfg, err := config.LoadDefaultConfig(e.ctx,
		config.WithRegion(gatewaytest.Region),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(gatewaytest.AccessKey, gatewaytest.SecretKey, "")),
	)
	if err != nil {
		e.t.Fatal(err)
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(e.c.URL)
		o.UsePathStyle = true
		o.Logger = logging.Nop{}
		o.HTTPClient = &http.Client{Transport: e.transport()}
	})
}

// mkBucket creates a bucket through the COS SDK and returns a client for it.
func (e *env) mkBucket(t *testing.T, name string, opt *cos.BucketPutOptions) *cos.Client {
	t.Helper()
	cl := e.cos(name)
	if _, err := cl.Bucket.Put(e.ctx, opt); err != nil {
		t.Fatalf("create bucket %s: %v", name, err)
	}
	return cl
}

// put stores data under key with the COS SDK (which checks the CRC-64 header).
func (e *env) put(t *testing.T, cl *cos.Client, key string, data []byte) *cos.Response {
	t.Helper()
	resp, err := cl.Object.Put(e.ctx, key, bytes.NewReader(data), nil)
	if err != nil {
		t.Fatalf("put %q: %v", key, err)
	}
	return resp
}

// get reads key back whole with the COS SDK.
func (e *env) get(t *testing.T, cl *cos.Client, key string) []byte {
	t.Helper()
	resp, err := cl.Object.Get(e.ctx, key, nil)
	if err != nil {
		t.Fatalf("get %q: %v", key, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("get %q: read body: %v", key, err)
	}
	return b
}

// cosErr is the HTTP status and COS error code of an SDK error (0, "" if err is
// not an error response). It checks the error body's request id against the header.
func cosErr(t *testing.T, err error) (int, string) {
	t.Helper()
	var e *cos.ErrorResponse
	if !errors.As(err, &e) || e.Response == nil {
		return 0, ""
	}
	if hdr := e.Response.Header.Get("x-cos-request-id"); hdr == "" || (e.Code != "" && e.RequestID != hdr) {
		t.Errorf("error %s: body request id %q, header %q", e.Code, e.RequestID, hdr)
	}
	return e.Response.StatusCode, e.Code
}

// wantCOSErr fails unless err is an error response with the status and code.
// An empty code accepts any (HEAD errors have no body).
func wantCOSErr(t *testing.T, what string, err error, status int, code string) {
	t.Helper()
	gs, gc := cosErr(t, err)
	if gs != status || (code != "" && gc != code) {
		t.Errorf("%s: got status %d code %q (err %v), want %d %s", what, gs, gc, err, status, code)
	}
}

// s3Err is the HTTP status and error code of an aws-sdk-go-v2 error.
func s3Err(err error) (int, string) {
	var status int
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return status, ae.ErrorCode()
	}
	return status, ""
}

func wantS3Err(t *testing.T, what string, err error, status int, code string) {
	t.Helper()
	gs, gc := s3Err(err)
	if gs != status || (code != "" && gc != code) {
		t.Errorf("%s: got status %d code %q (err %v), want %d %s", what, gs, gc, err, status, code)
	}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

var crcTable = crc64.MakeTable(crc64.ECMA)

// crc is the decimal CRC-64/XZ of data, as x-cos-hash-crc64ecma carries it.
func crc(data []byte) string { return strconv.FormatUint(crc64.Checksum(data, crcTable), 10) }

func md5hex(data []byte) string { s := md5.Sum(data); return hex.EncodeToString(s[:]) }

func md5b64(data []byte) string { s := md5.Sum(data); return base64.StdEncoding.EncodeToString(s[:]) }

// etag is the quoted ETag of a single PUT or part.
func etag(data []byte) string { return `"` + md5hex(data) + `"` }

// multipartETag is the S3-style ETag of an object assembled from parts.
func multipartETag(parts ...[]byte) string {
	var cat []byte
	for _, p := range parts {
		s := md5.Sum(p)
		cat = append(cat, s[:]...)
	}
	return `"` + md5hex(cat) + "-" + strconv.Itoa(len(parts)) + `"`
}

// hdr builds a header for the SDKs' XOptionHeader fields.
func hdr(kv ...string) *http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return &h
}

// asErr is errors.As for the SDK error types.
func asErr[T error](err error, target *T) bool { return errors.As(err, target) }
