package route

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/coffer-io/coffer/gateway/internal/auth"
	"github.com/coffer-io/coffer/gateway/internal/wire"
)

var cfg = func() Config {
	c := Config{Domain: "MyQcloud.com:443", Region: "ap-guangzhou"}
	c.EnsureDefaults()
	return c
}()

func TestConfig(t *testing.T) {
	if cfg.Domain != "myqcloud.com" {
		t.Fatalf("EnsureDefaults: %q", cfg.Domain)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	var zero Config
	zero.EnsureDefaults()
	if err := zero.Validate(); err != nil {
		t.Fatalf("zero config: %v", err)
	}
	bad := Config{Domain: "bad_domain..x", Region: "a.b"}
	bad.EnsureDefaults()
	err := bad.Validate()
	if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "Domain") || !strings.Contains(err.Error(), "Region") {
		t.Fatalf("Validate must report both problems: %v", err)
	}
}

func TestResolve(t *testing.T) {
	const b = "examplebucket-1250000000"
	tests := []struct {
		host, path string
		want       Target
		code       wire.Code
	}{
		// Virtual host, COS form and short form; port and case ignored.
		{b + ".cos.ap-guangzhou.myqcloud.com", "/", Target{Bucket: b, Style: StyleVirtualHost}, ""},
		{b + ".cos.ap-guangzhou.myqcloud.com:9000", "/dir/a%20b%2Bc.txt", Target{Bucket: b, Key: "dir/a b+c.txt", Style: StyleVirtualHost}, ""},
		{"ExampleBucket-1250000000.COS.AP-Guangzhou.MyQcloud.com", "/k", Target{Bucket: b, Key: "k", Style: StyleVirtualHost}, ""},
		{b + ".myqcloud.com", "/k", Target{Bucket: b, Key: "k", Style: StyleVirtualHost}, ""},
		{b + ".myqcloud.com.", "/k", Target{Bucket: b, Key: "k", Style: StyleVirtualHost}, ""},
		// Keys keep what a cleaning router would destroy; %2F is '/'.
		{b + ".myqcloud.com", "/dir%2Fa", Target{Bucket: b, Key: "dir/a", Style: StyleVirtualHost}, ""},
		{b + ".myqcloud.com", "/a//b", Target{Bucket: b, Key: "a//b", Style: StyleVirtualHost}, ""},
		{b + ".myqcloud.com", "/a/./b/../c", Target{Bucket: b, Key: "a/./b/../c", Style: StyleVirtualHost}, ""},
		{b + ".myqcloud.com", "//lead", Target{Bucket: b, Key: "/lead", Style: StyleVirtualHost}, ""},
		{b + ".myqcloud.com", "/%E6%B5%8B%E8%AF%95.jpg", Target{Bucket: b, Key: "测试.jpg", Style: StyleVirtualHost}, ""},
		{b + ".myqcloud.com", "/a+b", Target{Bucket: b, Key: "a+b", Style: StyleVirtualHost}, ""},
		{b + ".myqcloud.com", "/..", Target{}, wire.ErrInvalidArgument},
		{b + ".myqcloud.com", "/%00", Target{}, wire.ErrInvalidArgument},
		{b + ".myqcloud.com", "/%zz", Target{}, wire.ErrInvalidURI},
		{b + ".myqcloud.com", "/" + strings.Repeat("k", wire.KeyLengthMax+1), Target{}, wire.ErrKeyTooLong},
		{"Bad_Bucket.myqcloud.com", "/", Target{}, wire.ErrInvalidBucketName},
		{b + ".cos.ap-beijing.myqcloud.com", "/", Target{}, wire.ErrInvalidURI},
		{b + ".web.myqcloud.com", "/", Target{}, wire.ErrInvalidURI},
		// Service endpoints: path-style.
		{"service.cos.myqcloud.com", "/", Target{Style: StyleService}, ""},
		{"cos.ap-guangzhou.myqcloud.com", "/", Target{Style: StyleService}, ""},
		{"myqcloud.com", "/" + b + "/dir/key", Target{Bucket: b, Key: "dir/key", Style: StylePath}, ""},
		{"localhost:9000", "/" + b, Target{Bucket: b, Style: StylePath}, ""},
		{"localhost:9000", "/" + b + "/", Target{Bucket: b, Style: StylePath}, ""},
		{"127.0.0.1:9000", "/" + b + "/a%2Fb//c", Target{Bucket: b, Key: "a/b//c", Style: StylePath}, ""},
		{"[::1]:9000", "/" + b + "/k", Target{Bucket: b, Key: "k", Style: StylePath}, ""},
		{"::1", "/", Target{Style: StyleService}, ""},
		{"other.example", "/" + b + "/k", Target{Bucket: b, Key: "k", Style: StylePath}, ""},
		{"localhost", "/Bad_Bucket/k", Target{}, wire.ErrInvalidBucketName},
		{"localhost", "/%zz/k", Target{}, wire.ErrInvalidURI},
		{"localhost", "no-slash", Target{}, wire.ErrInvalidURI},
		{"localhost", "", Target{}, wire.ErrInvalidURI},
	}
	for _, tt := range tests {
		got, err := Resolve(cfg, tt.host, tt.path)
		if tt.code != "" {
			if !errors.Is(err, tt.code) {
				t.Errorf("Resolve(%q, %q) = %+v, %v; want %s", tt.host, tt.path, got, err, tt.code)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Resolve(%q, %q) = %+v, %v; want %+v", tt.host, tt.path, got, err, tt.want)
		}
	}
	// Without a domain every host is path-style.
	got, err := Resolve(Config{}, b+".cos.ap-guangzhou.myqcloud.com", "/bucket/k")
	if err != nil || got != (Target{Bucket: "bucket", Key: "k", Style: StylePath}) {
		t.Errorf("no domain: %+v %v", got, err)
	}
	// Region unset: any region label.
	got, err = Resolve(Config{Domain: "myqcloud.com"}, b+".cos.ap-beijing.myqcloud.com", "/k")
	if err != nil || got.Bucket != b {
		t.Errorf("any region: %+v %v", got, err)
	}
}

// TestResolveEscapedPath checks the intended input, r.URL.EscapedPath(), for
// paths a cleaning router would rewrite.
func TestResolveEscapedPath(t *testing.T) {
	for raw, key := range map[string]string{"/a%2F..%2Fb": "a/../b", "/a/../b": "a/../b", "/x//y": "x//y", "/%2e%2e/z": "../z"} {
		u, err := url.ParseRequestURI(raw)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Resolve(cfg, "bkt-1.myqcloud.com", u.EscapedPath())
		if err != nil || got.Key != key {
			t.Errorf("%s: %+v %v, want key %q", raw, got, err, key)
		}
	}
}

type q map[string]string

func (m q) Has(n string) bool   { _, ok := m[n]; return ok }
func (m q) Get(n string) string { return m[n] }

func TestDispatch(t *testing.T) {
	const form = "multipart/form-data; boundary=x"
	tests := []struct {
		method, bucket, key string
		query               q
		copy                bool
		ct                  string
		want                Op
		code                wire.Code
	}{
		{"GET", "", "", nil, false, "", OpListBuckets, ""},
		{"PUT", "", "", nil, false, "", OpUnknown, wire.ErrMethodNotAllowed},
		{"HEAD", "", "", nil, false, "", OpUnknown, wire.ErrMethodNotAllowed},
		// Bucket.
		{"PUT", "b", "", nil, false, "", OpCreateBucket, ""},
		{"HEAD", "b", "", nil, false, "", OpHeadBucket, ""},
		{"DELETE", "b", "", nil, false, "", OpDeleteBucket, ""},
		{"GET", "b", "", nil, false, "", OpListObjects, ""},
		{"GET", "b", "", q{"prefix": "", "x-id": "ListObjects"}, false, "", OpListObjects, ""},
		{"GET", "b", "", q{"list-type": "2"}, false, "", OpListObjectsV2, ""},
		{"GET", "b", "", q{"list-type": "3"}, false, "", OpUnknown, wire.ErrInvalidArgument},
		{"GET", "b", "", q{"location": ""}, false, "", OpGetBucketLocation, ""},
		{"GET", "b", "", q{"acl": ""}, false, "", OpGetBucketACL, ""},
		{"PUT", "b", "", q{"acl": ""}, false, "", OpPutBucketACL, ""},
		{"DELETE", "b", "", q{"acl": ""}, false, "", OpUnknown, wire.ErrMethodNotAllowed},
		{"GET", "b", "", q{"encryption": ""}, false, "", OpGetBucketEncryption, ""},
		{"PUT", "b", "", q{"encryption": ""}, false, "", OpPutBucketEncryption, ""},
		{"DELETE", "b", "", q{"encryption": ""}, false, "", OpDeleteBucketEncryption, ""},
		{"POST", "b", "", q{"encryption": ""}, false, "", OpUnknown, wire.ErrMethodNotAllowed},
		{"GET", "b", "", q{"uploads": "", "prefix": "k", "encoding-type": "url"}, false, "", OpListMultipartUploads, ""},
		{"PUT", "b", "", q{"uploads": ""}, false, "", OpUnknown, wire.ErrMethodNotAllowed},
		{"POST", "b", "", q{"delete": ""}, false, "", OpDeleteObjects, ""},
		{"DELETE", "b", "", q{"delete": ""}, false, "", OpUnknown, wire.ErrMethodNotAllowed},
		{"POST", "b", "", nil, false, form, OpPostObject, ""},
		{"POST", "b", "", nil, false, "Multipart/Form-Data", OpPostObject, ""},
		{"POST", "b", "", nil, false, "application/xml", OpUnknown, wire.ErrMalformedPOSTRequest},
		{"GET", "b", "", q{"cors": ""}, false, "", OpUnknown, wire.ErrNotImplemented},
		{"PUT", "b", "", q{"versioning": ""}, false, "", OpUnknown, wire.ErrNotImplemented},
		{"GET", "b", "", q{"versions": ""}, false, "", OpUnknown, wire.ErrNotImplemented},
		{"PUT", "b", "", q{"lifecycle": ""}, false, "", OpUnknown, wire.ErrNotImplemented},
		{"PATCH", "b", "", nil, false, "", OpUnknown, wire.ErrMethodNotAllowed},
		{"get", "b", "", nil, false, "", OpUnknown, wire.ErrMethodNotAllowed},
		// Object.
		{"PUT", "b", "k", nil, false, "", OpPutObject, ""},
		{"PUT", "b", "k", q{"x-id": "PutObject"}, false, "", OpPutObject, ""},
		{"PUT", "b", "k", nil, true, "", OpCopyObject, ""},
		{"GET", "b", "k", nil, false, "", OpGetObject, ""},
		{"GET", "b", "k", q{"versionId": "v", "response-content-type": "x"}, false, "", OpGetObject, ""},
		{"HEAD", "b", "k", nil, false, "", OpHeadObject, ""},
		{"DELETE", "b", "k", nil, false, "", OpDeleteObject, ""},
		{"GET", "b", "k", q{"acl": ""}, false, "", OpGetObjectACL, ""},
		{"PUT", "b", "k", q{"acl": ""}, false, "", OpPutObjectACL, ""},
		{"DELETE", "b", "k", q{"acl": ""}, false, "", OpUnknown, wire.ErrMethodNotAllowed},
		{"POST", "b", "k", q{"uploads": ""}, false, "", OpInitiateMultipartUpload, ""},
		{"PUT", "b", "k", q{"partNumber": "1", "uploadId": "u"}, false, "", OpUploadPart, ""},
		{"PUT", "b", "k", q{"partNumber": "1", "uploadId": "u"}, true, "", OpUploadPartCopy, ""},
		{"PUT", "b", "k", q{"partNumber": "1"}, false, "", OpUnknown, wire.ErrInvalidArgument},
		{"PUT", "b", "k", q{"uploadId": "u"}, false, "", OpUnknown, wire.ErrInvalidArgument},
		{"POST", "b", "k", q{"uploadId": "u"}, false, "", OpCompleteMultipartUpload, ""},
		{"DELETE", "b", "k", q{"uploadId": "u"}, false, "", OpAbortMultipartUpload, ""},
		{"GET", "b", "k", q{"uploadId": "u", "max-parts": "10"}, false, "", OpListParts, ""},
		{"GET", "b", "k", q{"partNumber": "1"}, false, "", OpUnknown, wire.ErrNotImplemented},
		{"HEAD", "b", "k", q{"partNumber": "1"}, false, "", OpUnknown, wire.ErrNotImplemented},
		{"POST", "b", "k", nil, false, form, OpUnknown, wire.ErrMethodNotAllowed},
		{"POST", "b", "k", q{"append": "", "position": "0"}, false, "", OpUnknown, wire.ErrNotImplemented},
		{"POST", "b", "k", q{"restore": ""}, false, "", OpUnknown, wire.ErrNotImplemented},
		{"GET", "b", "k", q{"tagging": ""}, false, "", OpUnknown, wire.ErrNotImplemented},
		{"OPTIONS", "b", "k", nil, false, "", OpUnknown, wire.ErrMethodNotAllowed},
	}
	seen := map[Op]bool{}
	for _, tt := range tests {
		r := Request{Method: tt.method, Bucket: tt.bucket, Key: tt.key, CopySource: tt.copy, ContentType: tt.ct}
		if tt.query != nil {
			r.Query = tt.query
		}
		got, err := Dispatch(r)
		if got != tt.want || (tt.code == "" && err != nil) || (tt.code != "" && !errors.Is(err, tt.code)) {
			t.Errorf("Dispatch(%s %q %q %v copy=%v) = %v, %v; want %v, %s", tt.method, tt.bucket, tt.key, tt.query, tt.copy, got, err, tt.want, tt.code)
		}
		seen[got] = true
	}
	for o := Op(1); o < opCount; o++ {
		if !seen[o] {
			t.Errorf("no table row dispatches to %v", o)
		}
	}
}

// TestDispatchAuthQuery dispatches with the query type the gateway really uses,
// parsed from raw query strings as SDKs send them.
func TestDispatchAuthQuery(t *testing.T) {
	for raw, want := range map[string]Op{
		"uploads":                             OpListMultipartUploads,
		"uploads=&prefix=k&encoding-type=url": OpListMultipartUploads,
		"list-type=2&prefix=a%2Fb&x-id=List":  OpListObjectsV2,
		"acl":                                 OpGetBucketACL,
		"q-sign-algorithm=sha1&q-ak=AK&acl=":  OpGetBucketACL,
		"":                                    OpListObjects,
	} {
		pq, err := auth.ParseQuery(raw)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Dispatch(Request{Method: http.MethodGet, Bucket: "b-1", Query: pq})
		if err != nil || got != want {
			t.Errorf("%q: %v %v, want %v", raw, got, err, want)
		}
	}
}

func TestOpString(t *testing.T) {
	if OpUploadPartCopy.String() != "UploadPartCopy" || Op(200).String() != "Op(invalid)" {
		t.Error("String")
	}
	names := map[string]bool{}
	for o := Op(0); o < opCount; o++ {
		if names[o.String()] {
			t.Errorf("duplicate name %s", o)
		}
		names[o.String()] = true
	}
}

func FuzzRoute(f *testing.F) {
	f.Add("examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com:80", "/dir/a%20b", "PUT", "partNumber=1&uploadId=x", true)
	f.Add("localhost", "/b-1/k", "GET", "acl", false)
	f.Add("[::1]:9000", "/", "GET", "", false)
	f.Add("x.cos.y.myqcloud.com", "//%2F..", "POST", "uploads", false)
	f.Fuzz(func(t *testing.T, host, path, method, rawQuery string, copySource bool) {
		tg, err := Resolve(cfg, host, path)
		if err != nil {
			var we *wire.Error
			if !errors.As(err, &we) || we.Status != 400 {
				t.Fatalf("Resolve(%q, %q): %v", host, path, err)
			}
			return
		}
		if tg.Bucket != "" && wire.ValidBucketName(tg.Bucket) != nil || tg.Key != "" && wire.ValidKey(tg.Key) != nil {
			t.Fatalf("Resolve(%q, %q) = %+v: invalid name accepted", host, path, tg)
		}
		if tg.Key != "" && tg.Bucket == "" {
			t.Fatalf("key without bucket: %+v", tg)
		}
		pq, err := auth.ParseQuery(rawQuery)
		if err != nil {
			return
		}
		op, err := Dispatch(Request{Method: method, Bucket: tg.Bucket, Key: tg.Key, Query: pq, CopySource: copySource})
		if (err == nil) == (op == OpUnknown) {
			t.Fatalf("Dispatch: op %v with err %v", op, err)
		}
		var we *wire.Error
		if err != nil && !errors.As(err, &we) {
			t.Fatalf("Dispatch error %v is not a *wire.Error", err)
		}
	})
}

func BenchmarkRouteObject(b *testing.B) {
	pq, _ := auth.ParseQuery("partNumber=7&uploadId=1585130821cbb7df1d11846c073ad648")
	b.ReportAllocs()
	for b.Loop() {
		tg, err := Resolve(cfg, "examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com:9000", "/dir/sub/object-0001.bin")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Dispatch(Request{Method: http.MethodPut, Bucket: tg.Bucket, Key: tg.Key, Query: pq}); err != nil {
			b.Fatal(err)
		}
	}
}
