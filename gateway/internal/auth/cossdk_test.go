package auth

import (
	"bytes"
	"context"
	"fmt"
	"hash/crc64"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cos "github.com/tencentyun/cos-go-sdk-v5"
)

// sdkServer is an httptest server whose handler verifies every request with a
// Verifier and answers with what the SDKs need.
type sdkServer struct {
	*httptest.Server
	v *Verifier

	mu     sync.Mutex
	ok     []string // "METHOD path?query" of verified requests
	failed []string
	codes  []string
	bodies [][]byte       // decoded bodies of verified requests
	modes  map[string]int // x-amz-content-sha256 kinds seen on PUTs
}

func newSDKServer(t *testing.T, v *Verifier, tls bool) *sdkServer {
	s := &sdkServer{v: v}
	h := http.HandlerFunc(s.serve)
	if tls {
		s.Server = httptest.NewTLSServer(h)
	} else {
		s.Server = httptest.NewServer(h)
	}
	t.Cleanup(s.Close)
	return s
}

var crcTable = crc64.MakeTable(crc64.ECMA)

func (s *sdkServer) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("x-cos-request-id", "req-1")
	w.Header().Set("x-amz-request-id", "req-1")
	res, err := s.v.Verify(r, nil)
	var body []byte
	if err == nil {
		body, err = io.ReadAll(res.Body)
	}
	s.mu.Lock()
	what := r.Method + " " + r.URL.Path + "?" + r.URL.RawQuery
	if err != nil {
		s.failed = append(s.failed, what+": "+err.Error())
		code := "InternalError"
		status := 500
		if ae, ok := err.(*Error); ok {
			code, status = ae.Code, ae.Status
		}
		s.codes = append(s.codes, code)
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(status)
		fmt.Fprintf(w, "<Error><Code>%s</Code><Message>x</Message></Error>", code)
		return
	}
	s.ok = append(s.ok, what)
	if r.Method == "PUT" {
		m := r.Header.Get("X-Amz-Content-Sha256")
		if len(m) == 64 {
			m = "digest"
		}
		if s.modes == nil {
			s.modes = map[string]int{}
		}
		s.modes[m+" "+r.Header.Get("X-Amz-Trailer")]++
	}
	s.bodies = append(s.bodies, body)
	s.mu.Unlock()

	w.Header().Set("ETag", `"d41d8cd98f00b204e9800998ecf8427e"`)
	w.Header().Set("x-cos-hash-crc64ecma", strconv.FormatUint(crc64.Checksum(body, crcTable), 10))
	q, _ := ParseQuery(r.URL.RawQuery)
	switch {
	case r.Method == "POST" && q.Has("uploads"):
		w.Header().Set("Content-Type", "application/xml")
		fmt.Fprint(w, "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>up+id/1</UploadId></InitiateMultipartUploadResult>")
	case r.Method == "POST" && q.Has("delete"):
		w.Header().Set("Content-Type", "application/xml")
		fmt.Fprint(w, "<DeleteResult></DeleteResult>")
	case r.Method == "GET" && (r.URL.Path == "/" || strings.HasSuffix(r.URL.Path, "/examplebucket") || strings.HasSuffix(r.URL.Path, "/examplebucket/")):
		w.Header().Set("Content-Type", "application/xml")
		fmt.Fprint(w, `<ListBucketResult><Name>examplebucket</Name><KeyCount>0</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated></ListBucketResult>`)
	case r.Method == "GET":
		w.Header().Set("Content-Length", "5")
		w.Header().Set("x-cos-hash-crc64ecma", strconv.FormatUint(crc64.Checksum([]byte("hello"), crcTable), 10))
		io.WriteString(w, "hello")
	case r.Method == "DELETE":
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *sdkServer) results() (ok, failed, codes []string, bodies [][]byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.ok...), append([]string(nil), s.failed...), append([]string(nil), s.codes...), s.bodies
}

func (s *sdkServer) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ok, s.failed, s.codes, s.bodies = nil, nil, nil, nil
}

const (
	testAK     = "AKIDcofferTEST"
	testSecret = "secret/with+odd=chars"
)

// TestCOSGoSDKEndToEnd drives the real COS Go SDK against a server that verifies
// every request with this package.
func TestCOSGoSDKEndToEnd(t *testing.T) {
	v, err := New(mapSecrets{testAK: testSecret}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	srv := newSDKServer(t, v, false)
	u, _ := url.Parse(srv.URL)
	client := cos.NewClient(&cos.BaseURL{BucketURL: u}, &http.Client{
		Transport: &cos.AuthorizationTransport{SecretID: testAK, SecretKey: testSecret},
	})
	client.Host = "examplebucket-1250000000.cos.local.localhost:" + u.Port()
	ctx := context.Background()

	keys := []string{"plain.txt", "dir/a b+c.txt", "测试/文件.jpg", "100%.txt", "x~y!*'()&=;,$.bin", "a//b/../c"}
	for _, key := range keys {
		body := []byte("payload of " + key)
		hdr := http.Header{}
		hdr.Set("x-cos-meta-Owner", "Ann  Lee")
		hdr.Add("x-cos-meta-Tag", "b")
		hdr.Add("x-cos-meta-Tag", "a")
		if _, err := client.Object.Put(ctx, key, bytes.NewReader(body), &cos.ObjectPutOptions{
			ObjectPutHeaderOptions: &cos.ObjectPutHeaderOptions{ContentType: "text/plain; charset=utf-8", XCosMetaXXX: &hdr},
			ACLHeaderOptions:       &cos.ACLHeaderOptions{XCosACL: "private"},
		}); err != nil {
			t.Fatalf("Put %q: %v", key, err)
		}
		resp, err := client.Object.Get(ctx, key, &cos.ObjectGetOptions{Range: "bytes=0-4", ResponseContentType: "a/b c"})
		if err != nil {
			t.Fatalf("Get %q: %v", key, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if _, err := client.Object.Head(ctx, key, nil); err != nil {
			t.Fatalf("Head %q: %v", key, err)
		}
		if _, err := client.Object.Delete(ctx, key); err != nil {
			t.Fatalf("Delete %q: %v", key, err)
		}
	}
	init, _, err := client.Object.InitiateMultipartUpload(ctx, "dir/multi part.bin", &cos.InitiateMultipartUploadOptions{
		ObjectPutHeaderOptions: &cos.ObjectPutHeaderOptions{ContentType: "application/octet-stream"},
	})
	if err != nil {
		t.Fatalf("InitiateMultipartUpload: %v", err)
	}
	meta := http.Header{}
	meta.Set("x-cos-meta-Part", "one")
	if _, err := client.Object.UploadPart(ctx, "dir/multi part.bin", init.UploadID, 1, strings.NewReader("part one data"),
		&cos.ObjectUploadPartOptions{XOptionHeader: &meta}); err != nil {
		t.Fatalf("UploadPart: %v", err)
	}

	ok, failed, _, _ := srv.results()
	if len(failed) > 0 {
		t.Fatalf("server rejected SDK requests:\n%s", strings.Join(failed, "\n"))
	}
	if want := 4*len(keys) + 2; len(ok) != want {
		t.Fatalf("server verified %d requests, want %d:\n%s", len(ok), want, strings.Join(ok, "\n"))
	}
	if !strings.Contains(strings.Join(ok, "\n"), "uploadId=up%2Bid%2F1") && !strings.Contains(strings.Join(ok, "\n"), "uploadId=up+id") {
		t.Logf("verified: %s", strings.Join(ok, "\n"))
	}

	// Presigned URLs through a client without a Host override: plain http.Get.
	plain := cos.NewClient(&cos.BaseURL{BucketURL: u}, nil)
	for _, key := range keys {
		srv.reset()
		pu, err := plain.Object.GetPresignedURL(ctx, http.MethodGet, key, testAK, testSecret, time.Hour, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Get(pu.String())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			_, failed, _, _ := srv.results()
			t.Fatalf("presigned GET %q: status %d: %v", key, resp.StatusCode, failed)
		}
		// Tampering: another key, or a stretched expiry.
		otherKey := *pu
		otherKey.Path += "x"
		otherKey.RawPath = ""
		longer := *pu
		q, _ := ParseQuery(pu.RawQuery)
		st := q.Get("q-sign-time")
		start, end, _ := strings.Cut(st, ";")
		e, _ := strconv.ParseInt(end, 10, 64)
		stretched := start + ";" + strconv.FormatInt(e+3600, 10)
		longer.RawQuery = strings.ReplaceAll(pu.RawQuery, url.QueryEscape(st), url.QueryEscape(stretched))
		longer.RawQuery = strings.ReplaceAll(longer.RawQuery, strings.ReplaceAll(st, ";", "%3B"), strings.ReplaceAll(stretched, ";", "%3B"))
		if longer.RawQuery == pu.RawQuery {
			t.Fatalf("test did not manage to change the expiry in %q", pu.RawQuery)
		}
		for _, bad := range []*url.URL{&otherKey, &longer} {
			srv.reset()
			resp, err := http.Get(bad.String())
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			_, _, codes, _ := srv.results()
			if resp.StatusCode != 403 || len(codes) != 1 || codes[0] != "SignatureDoesNotMatch" {
				t.Fatalf("tampered URL %s: status %d codes %v", bad, resp.StatusCode, codes)
			}
		}
	}
	// The merged sign= form.
	srv.reset()
	pu, err := plain.Object.GetPresignedURL(ctx, http.MethodGet, "dir/a b+c.txt", testAK, testSecret, time.Hour,
		&cos.PresignedURLOptions{SignMerged: true})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(pu.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("merged presigned GET: %d", resp.StatusCode)
	}
}

// TestCOSServerSidePitfalls signs requests with the SDK's own
// AddAuthorizationHeader and checks the server-side rebuilding rules of
// docs/cos-api.md 2.2: transfer-encoding from r.TransferEncoding, a listed
// header that is absent signs an empty value, duplicate values, and a
// q-key-time that differs from q-sign-time (the Go SDK signs the key time).
func TestCOSServerSidePitfalls(t *testing.T) {
	now := time.Unix(1700000100, 0)
	v := newTestVerifier(t, mapSecrets{testAK: testSecret}, now)
	at := &cos.AuthTime{SignStartTime: now.Add(-time.Minute), SignEndTime: now.Add(time.Hour),
		KeyStartTime: now.Add(-time.Minute), KeyEndTime: now.Add(time.Hour)}
	tests := []struct {
		name   string
		client func(r *http.Request) // before signing
		server func(r *http.Request) // after signing, as net/http would present it
		at     *cos.AuthTime
		code   string
	}{
		{"transfer-encoding rebuilt", func(r *http.Request) { r.Header.Set("Transfer-Encoding", "chunked") },
			func(r *http.Request) {
				r.Header.Del("Transfer-Encoding")
				r.TransferEncoding = []string{"chunked"}
				r.ContentLength = -1
			}, at, ""},
		{"listed header absent signs empty", func(r *http.Request) { r.Header.Set("X-Cos-Meta-Empty", "") },
			func(r *http.Request) { r.Header.Del("X-Cos-Meta-Empty") }, at, ""},
		{"listed header changed", func(r *http.Request) { r.Header.Set("X-Cos-Acl", "private") },
			func(r *http.Request) { r.Header.Set("X-Cos-Acl", "public-read") }, at, "SignatureDoesNotMatch"},
		{"duplicate header values", func(r *http.Request) { r.Header.Add("X-Cos-Meta-M", "2"); r.Header.Add("X-Cos-Meta-M", "1") },
			func(r *http.Request) {}, at, ""},
		{"duplicate query values", func(r *http.Request) { r.URL.RawQuery = "tag=b&tag=a&uploads" },
			func(r *http.Request) {}, at, ""},
		{"query value changed", func(r *http.Request) { r.URL.RawQuery = "versionId=1" },
			func(r *http.Request) { r.URL.RawQuery = "versionId=2" }, at, "SignatureDoesNotMatch"},
		{"unsigned header added is ignored", func(r *http.Request) {},
			func(r *http.Request) { r.Header.Set("User-Agent", "other") }, at, ""},
		{"key time differs from sign time", func(r *http.Request) {}, func(r *http.Request) {},
			&cos.AuthTime{SignStartTime: now.Add(-time.Minute), SignEndTime: now.Add(time.Hour),
				KeyStartTime: now.Add(-2 * time.Minute), KeyEndTime: now.Add(2 * time.Hour)}, ""},
		{"key time expired", func(r *http.Request) {}, func(r *http.Request) {},
			&cos.AuthTime{SignStartTime: now.Add(-time.Minute), SignEndTime: now.Add(time.Hour),
				KeyStartTime: now.Add(-2 * time.Hour), KeyEndTime: now.Add(-time.Hour)}, "AccessDenied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("PUT", "http://examplebucket-1250000000.cos.local:8080/dir/a%20b.txt", strings.NewReader("body"))
			r.Header.Set("Content-Type", "text/plain")
			tt.client(r)
			cos.AddAuthorizationHeader(testAK, testSecret, "", r, tt.at)
			r.Header.Del("Host") // the SDK sets it for signing; net/http servers keep it in r.Host
			authz := r.Header.Get("Authorization")
			if strings.HasPrefix(tt.name, "transfer") && !strings.Contains(authz, "transfer-encoding") ||
				strings.HasPrefix(tt.name, "listed header absent") && !strings.Contains(authz, "x-cos-meta-empty") {
				t.Fatalf("the SDK did not sign the header under test: %s", authz)
			}
			tt.server(r)
			_, err := v.Verify(r, nil)
			if tt.code == "" {
				if err != nil {
					t.Fatalf("Verify: %v (Authorization %s)", err, r.Header.Get("Authorization"))
				}
				return
			}
			wantCode(t, err, tt.code, nil)
		})
	}
}
