package auth

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestCOSVectors pins docs/cos-api.md section 2.4: all four vectors.
func TestCOSVectors(t *testing.T) {
	const (
		vecTime = "1700000000;1700003600"
		vecHost = "examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com"
	)
	tests := []struct {
		name       string
		secret     string
		now        int64
		method     string
		target     string
		host       string
		headers    map[string]string
		time       string
		headerList string
		paramList  string
		signature  string
		httpString string // optional
	}{
		{
			name: "go sdk unit test", secret: "AKIDZfbOA78asKUYBcXFrJD0a1ICvR98JM", now: 1480932300,
			method: "PUT", target: "/testfile2", host: "testbucket-125000000.cos.ap-guangzhou.myqcloud.com",
			headers: map[string]string{
				"x-cos-content-sha1":  "db8ac1c259eb89d4a131b253bacfca5f319d54f2",
				"x-cos-stroage-class": "nearline",
			},
			time: "1480932292;1481012292", headerList: "host;x-cos-content-sha1;x-cos-stroage-class",
			signature: "ce4ac0ecbcdb30538b3fee0a97cc6389694ce53a",
		},
		{
			name: "presign get", secret: "SECRETKEYEXAMPLE", now: 1700000100,
			method: "GET", target: "/dir/a%20b%2Bc.txt", host: vecHost,
			time: vecTime, headerList: "host", signature: "59f36dbfffa5de66c1ab3321e1d94da6358dc5b0",
		},
		{
			name: "upload part signed by go", secret: "SECRETKEYEXAMPLE", now: 1700000100,
			method: "PUT", target: "/dir/a%20b.txt?partNumber=1&uploadId=abc", host: vecHost,
			headers: map[string]string{"Content-Type": "text/plain", "X-Cos-Meta-Foo": "Bar Baz"},
			time:    vecTime, headerList: "content-length;content-type;host;x-cos-meta-foo", paramList: "partnumber;uploadid",
			signature:  "7d475320a9281d3d0155adbeebf8e4865c8225e1",
			httpString: "put\n/dir/a b.txt\npartnumber=1&uploadid=abc\ncontent-length=5&content-type=text%2Fplain&host=examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com&x-cos-meta-foo=Bar%20Baz\n",
		},
		{
			name: "upload part signed by node", secret: "SECRETKEYEXAMPLE", now: 1700000100,
			method: "PUT", target: "/dir/a%20b.txt?partNumber=1&uploadId=abc", host: vecHost,
			headers: map[string]string{"Content-Type": "text/plain", "X-Cos-Meta-Foo": "Bar Baz"},
			time:    vecTime, headerList: "content-length;host;x-cos-meta-foo", paramList: "partnumber;uploadid",
			signature: "8875d2d69641425fd43601c9e3e7134c2695c351",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := ""
			if tt.method == "PUT" && strings.Contains(tt.target, "partNumber") {
				body = "hello"
			}
			r := httptest.NewRequest(tt.method, tt.target, strings.NewReader(body))
			r.Host = tt.host
			if body != "" {
				r.Header.Set("Content-Length", "5")
			}
			for k, v := range tt.headers {
				r.Header.Set(k, v)
			}
			r.Header.Set("Authorization", "q-sign-algorithm=sha1&q-ak=AKIDEXAMPLE&q-sign-time="+tt.time+
				"&q-key-time="+tt.time+"&q-header-list="+tt.headerList+"&q-url-param-list="+tt.paramList+"&q-signature="+tt.signature)
			v := newTestVerifier(t, mapSecrets{"AKIDEXAMPLE": tt.secret}, time.Unix(tt.now, 0))
			res, err := v.Verify(r, nil)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if res.Identity != (Identity{AccessKeyID: "AKIDEXAMPLE", Method: MethodCOSHeader}) {
				t.Fatalf("identity = %+v", res.Identity)
			}
			if tt.httpString != "" {
				q, _ := ParseQuery(r.URL.RawQuery)
				a, err := parseCOSAuthorization(r.Header.Get("Authorization"))
				if err != nil {
					t.Fatal(err)
				}
				if got := string(cosHTTPString(r, q, a.headerList, a.paramList)); got != tt.httpString {
					t.Fatalf("HttpString = %q, want %q", got, tt.httpString)
				}
			}
			// Flip one signature digit: must fail.
			bad := tt.signature[:39] + string("01"[(tt.signature[39]-'0'+1)%2])
			if bad == tt.signature {
				bad = tt.signature[:39] + "f"
			}
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), tt.signature, bad, 1))
			_, err = v.Verify(r, nil)
			wantCode(t, err, "SignatureDoesNotMatch", ErrSignatureMismatch)
		})
	}
}

func TestCOSSignKey(t *testing.T) {
	if got := string(cosSignKey("SECRETKEYEXAMPLE", "1700000000;1700003600")); got != "6ea8bbb485369fd5022439f4156a60385747a36c" {
		t.Fatalf("SignKey = %s", got)
	}
}

// TestCOSPresignedURL verifies the Go SDK's presigned URL of vector 2, the
// Node-style raw ';' form and the merged sign= form.
func TestCOSPresignedURL(t *testing.T) {
	const host = "examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com"
	const sig = "59f36dbfffa5de66c1ab3321e1d94da6358dc5b0"
	goURL := "http://" + host + "/dir/a%20b%2Bc.txt?q-sign-algorithm=sha1&q-ak=AKIDEXAMPLE&q-sign-time=1700000000%3B1700003600&q-key-time=1700000000%3B1700003600&q-header-list=host&q-url-param-list=&q-signature=" + sig
	nodeURL := "http://" + host + "/dir/a%20b%2Bc.txt?q-sign-algorithm=sha1&q-ak=AKIDEXAMPLE&q-sign-time=1700000000;1700003600&q-key-time=1700000000;1700003600&q-header-list=host&q-url-param-list=&q-signature=" + sig
	merged := "http://" + host + "/dir/a%20b%2Bc.txt?sign=q-sign-algorithm%3Dsha1%26q-ak%3DAKIDEXAMPLE%26q-sign-time%3D1700000000%3B1700003600%26q-key-time%3D1700000000%3B1700003600%26q-header-list%3Dhost%26q-url-param-list%3D%26q-signature%3D" + sig
	tests := []struct {
		name string
		url  string
		now  int64
		code string
	}{
		{"go", goURL, 1700000100, ""},
		{"node raw semicolons", nodeURL, 1700000100, ""},
		{"merged sign", merged, 1700000100, ""},
		{"expired", goURL, 1700003601, "AccessDenied"},
		{"start within skew", goURL, 1700000000 - 60, ""},
		{"start too far ahead", goURL, 1700000000 - 3600, "RequestTimeTooSkewed"},
		{"changed key", strings.Replace(goURL, "a%20b", "a%20c", 1), 1700000100, "SignatureDoesNotMatch"},
		{"changed expiry", strings.Replace(goURL, "1700003600", "1700007200", 2), 1700000100, "SignatureDoesNotMatch"},
		{"extra unsigned param is ignored", goURL + "&response-content-type=x", 1700000100, ""},
		{"bad time", strings.Replace(goURL, "1700000000%3B", "17x%3B", 1), 1700000100, "InvalidArgument"},
		{"missing signature", strings.Replace(goURL, "&q-signature="+sig, "", 1), 1700000100, "InvalidArgument"},
		{"duplicate ak", goURL + "&q-ak=OTHER", 1700000100, "InvalidArgument"},
		{"unknown key", strings.Replace(goURL, "AKIDEXAMPLE", "NOPE", 1), 1700000100, "InvalidAccessKeyId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newTestVerifier(t, mapSecrets{"AKIDEXAMPLE": "SECRETKEYEXAMPLE"}, time.Unix(tt.now, 0))
			r := httptest.NewRequest("GET", tt.url, nil)
			res, err := v.Verify(r, nil)
			if tt.code == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if res.Identity.Method != MethodCOSQuery || res.Identity.AccessKeyID != "AKIDEXAMPLE" {
					t.Fatalf("identity = %+v", res.Identity)
				}
				return
			}
			wantCode(t, err, tt.code, nil)
		})
	}
}

func TestVerifyDispatch(t *testing.T) {
	v := newTestVerifier(t, mapSecrets{}, time.Unix(1700000000, 0))
	tests := []struct {
		name   string
		target string
		authz  []string
		code   string
	}{
		{"anonymous", "/a?uploads", nil, ""},
		{"anonymous with unrelated sign param", "/a?sign=xyz", nil, ""},
		{"sigv2 header", "/a", []string{"AWS AKID:c2ln"}, "InvalidRequest"},
		{"sigv2 query", "/a?AWSAccessKeyId=a&Signature=b&Expires=1", nil, "InvalidRequest"},
		{"garbage header", "/a", []string{"Bearer x"}, "InvalidRequest"},
		{"two headers", "/a", []string{"q-ak=a", "q-ak=b"}, "InvalidArgument"},
		{"header and query", "/a?q-ak=x", []string{"q-sign-algorithm=sha1"}, "InvalidArgument"},
		{"bad query escape", "/a?x=%zz", nil, "InvalidArgument"},
		{"cos wrong algorithm", "/a", []string{"q-sign-algorithm=md5&q-ak=a&q-sign-time=1;2&q-key-time=1;2&q-header-list=&q-url-param-list=&q-signature=ce4ac0ecbcdb30538b3fee0a97cc6389694ce53a"}, "InvalidArgument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "http://h"+tt.target, nil)
			for _, a := range tt.authz {
				r.Header.Add("Authorization", a)
			}
			res, err := v.Verify(r, nil)
			if tt.code == "" {
				if err != nil || !res.Identity.Anonymous || res.Identity.Method != MethodAnonymous {
					t.Fatalf("got %+v, %v; want anonymous", res.Identity, err)
				}
				if res.Body != r.Body {
					t.Fatal("anonymous Body is not r.Body")
				}
				return
			}
			wantCode(t, err, tt.code, nil)
			if res.Identity.Anonymous {
				t.Fatal("failed request reported as anonymous")
			}
		})
	}
}

func FuzzParseCOSAuthorization(f *testing.F) {
	for _, s := range []string{
		"q-sign-algorithm=sha1&q-ak=AKIDEXAMPLE&q-sign-time=1700000000;1700003600&q-key-time=1700000000;1700003600&q-header-list=host&q-url-param-list=&q-signature=59f36dbfffa5de66c1ab3321e1d94da6358dc5b0",
		"q-sign-algorithm=sha1&q-ak=a&q-sign-time=1;2&q-key-time=3;4&q-header-list=a;b;c&q-url-param-list=x&q-signature=ce4ac0ecbcdb30538b3fee0a97cc6389694ce53a",
		"q-ak=&q-ak=", "q-sign-time=2;1", "=&=", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := parseCOSAuthorization(s)
		if err != nil {
			var ae *Error
			if !errorsAs(err, &ae) || ae.Status != http.StatusBadRequest {
				t.Fatalf("error %v is not a 400 *Error", err)
			}
			return
		}
		if a.ak == "" || a.signStart > a.signEnd || a.keyStart > a.keyEnd || len(a.headerList) > SignedNamesMax {
			t.Fatalf("accepted inconsistent credential %+v", a)
		}
	})
}
