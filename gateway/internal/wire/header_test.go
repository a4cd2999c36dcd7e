package wire

import (
	"crypto/md5"
	"encoding/hex"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestETag(t *testing.T) {
	for in, want := range map[string]string{`"abc"`: "abc", "abc": "abc", `W/"abc"`: "abc", "&quot;abc&quot;": "abc", ` "abc" `: "abc", `"`: `"`, "": ""} {
		if got := UnquoteETag(in); got != want {
			t.Errorf("UnquoteETag(%q) = %q, want %q", in, got, want)
		}
	}
	if QuoteETag("abc") != `"abc"` || QuoteETag(`"abc"`) != `"abc"` {
		t.Error("QuoteETag")
	}
	if got := ETagFromMD5(md5.Sum([]byte("hello world\n"))); got != `"6f5902ac237024bdd0c176cb93063dc4"` {
		t.Errorf("ETagFromMD5 = %s", got)
	}
}

func TestMultipartETag(t *testing.T) {
	// Reference: MD5 over the concatenated binary part MD5s, "-N".
	p1, p2 := md5.Sum([]byte("part one")), md5.Sum([]byte("part two"))
	cat := append(p1[:], p2[:]...)
	sum := md5.Sum(cat)
	want := `"` + hex.EncodeToString(sum[:]) + `-2"`
	got, err := MultipartETag([]string{ETagFromMD5(p1), hex.EncodeToString(p2[:])})
	if err != nil || got != want {
		t.Errorf("MultipartETag = %s, %v; want %s", got, err, want)
	}
	for _, bad := range [][]string{nil, {"xyz"}, {`"` + strings.Repeat("g", 32) + `"`}} {
		if _, err := MultipartETag(bad); err == nil {
			t.Errorf("MultipartETag(%q) accepted", bad)
		}
	}
}

func TestParseContentMD5(t *testing.T) {
	sum, ok, err := ParseContentMD5("XrY7u+Ae7tCTyyK7j1rNww==") // MD5("hello world")
	if err != nil || !ok || hex.EncodeToString(sum[:]) != "5eb63bbbe01eeed093cb22bb8f5acdc3" {
		t.Errorf("got %x %v %v", sum, ok, err)
	}
	if _, ok, err := ParseContentMD5(""); ok || err != nil {
		t.Error("empty")
	}
	for _, bad := range []string{"abc", "XrY7u+Ae7tCTyyK7j1rN", "5eb63bbbe01eeed093cb22bb8f5acdc3", strings.Repeat("A", 1000)} {
		_, _, err := ParseContentMD5(bad)
		checkCode(t, bad, err, ErrInvalidDigest)
	}
}

func TestHTTPTime(t *testing.T) {
	tm := time.Date(2019, 5, 24, 11, 20, 10, 0, time.FixedZone("x", 3600))
	s := FormatHTTPTime(tm)
	if s != "Fri, 24 May 2019 10:20:10 GMT" {
		t.Errorf("FormatHTTPTime = %q", s)
	}
	for _, in := range []string{s, "Friday, 24-May-19 10:20:10 GMT", "Fri May 24 10:20:10 2019"} {
		got, err := ParseHTTPTime(in)
		if err != nil || !got.Equal(tm) {
			t.Errorf("ParseHTTPTime(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseHTTPTime("2019-05-24"); err == nil {
		t.Error("accepted ISO date")
	}
}

func TestParseMetadata(t *testing.T) {
	h := hdr("x-cos-meta-Foo", "Bar Baz", "X-Amz-Meta-other", "1", "x-cos-meta-multi", "a", "x-cos-meta-multi", "b", "Content-Type", "x")
	m, err := ParseMetadata(h)
	want := Metadata{"foo": "Bar Baz", "other": "1", "multi": "a,b"}
	if err != nil || !reflect.DeepEqual(m, want) {
		t.Errorf("got %v %v", m, err)
	}
	out := http.Header{}
	m.Set(out, DialectCOS)
	if out.Get("x-cos-meta-foo") != "Bar Baz" || len(out) != 3 {
		t.Errorf("Set: %v", out)
	}
	if m, err := ParseMetadata(hdr("Content-Type", "x")); m != nil || err != nil {
		t.Errorf("none: %v %v", m, err)
	}
	_, err = ParseMetadata(hdr("x-cos-meta-a", "1", "x-amz-meta-a", "2"))
	checkCode(t, "conflict", err, ErrInvalidArgument)
	_, err = ParseMetadata(hdr("x-cos-meta-", "1"))
	checkCode(t, "empty name", err, ErrInvalidArgument)
	_, err = ParseMetadata(hdr("x-cos-meta-a", "x\x00y"))
	checkCode(t, "ctl value", err, ErrInvalidArgument)
	_, err = ParseMetadata(hdr("x-cos-meta-big", strings.Repeat("v", MetadataBytesMax-3)))
	checkCode(t, "at limit", err, "")
	_, err = ParseMetadata(hdr("x-cos-meta-big", strings.Repeat("v", MetadataBytesMax-2)))
	checkCode(t, "over limit", err, ErrMetadataTooLarge)
}

type testQuery map[string]string

func (q testQuery) Get(n string) string { return q[n] }
func (q testQuery) Has(n string) bool   { _, ok := q[n]; return ok }

func TestParseOverrides(t *testing.T) {
	o, err := ParseOverrides(testQuery{"response-content-type": "text/plain", "response-expires": "", "prefix": "x",
		"response-content-disposition": `attachment; filename="a.txt"`})
	want := Overrides{"Content-Type": "text/plain", "Expires": "", "Content-Disposition": `attachment; filename="a.txt"`}
	if err != nil || !reflect.DeepEqual(o, want) {
		t.Errorf("got %v %v", o, err)
	}
	h := http.Header{"Content-Type": {"application/octet-stream"}}
	o.Apply(h)
	if h.Get("Content-Type") != "text/plain" {
		t.Error("Apply")
	}
	if o, err := ParseOverrides(testQuery{}); o != nil || err != nil {
		t.Error("none")
	}
	_, err = ParseOverrides(testQuery{"response-cache-control": "a\r\nSet-Cookie: x"})
	checkCode(t, "crlf", err, ErrInvalidArgument)
}

func TestParseCannedACL(t *testing.T) {
	tests := []struct {
		h      http.Header
		object bool
		want   CannedACL
		code   Code
	}{
		{hdr(), false, ACLNone, ""},
		{hdr("x-cos-acl", "public-read"), false, ACLPublicRead, ""},
		{hdr("x-amz-acl", "public-read-write"), false, ACLPublicReadWrite, ""},
		{hdr("x-cos-acl", "private", "x-amz-acl", "private"), false, ACLPrivate, ""},
		{hdr("x-cos-acl", "private", "x-amz-acl", "public-read"), false, ACLNone, ErrInvalidArgument},
		{hdr("x-cos-acl", "default"), true, ACLDefault, ""},
		{hdr("x-cos-acl", "default"), false, ACLNone, ErrInvalidArgument},
		{hdr("x-cos-acl", "bucket-owner-full-control"), true, ACLBucketOwnerFullControl, ""},
		{hdr("x-cos-acl", "everyone"), true, ACLNone, ErrInvalidArgument},
	}
	for i, tt := range tests {
		got, err := ParseCannedACL(tt.h, tt.object)
		checkCode(t, tt.h.Get("x-cos-acl"), err, tt.code)
		if got != tt.want {
			t.Errorf("%d: got %q want %q", i, got, tt.want)
		}
	}
	if !HasACLHeaders(hdr("x-cos-grant-read", `id="1"`)) || !HasACLHeaders(hdr("x-amz-acl", "private")) || HasACLHeaders(hdr("x-cos-meta-a", "b")) {
		t.Error("HasACLHeaders")
	}
}

func TestQueryValues(t *testing.T) {
	for _, tt := range []struct {
		v    string
		want int
		ok   bool
	}{{"", 1000, true}, {"10", 10, true}, {"0", 0, true}, {"5000", 1000, true}, {"-1", 0, false}, {"x", 0, false}} {
		got, err := ParseMaxKeys(tt.v, ListMaxKeysMax)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseMaxKeys(%q) = %d, %v", tt.v, got, err)
		}
	}
	for _, tt := range []struct {
		v  string
		ok bool
	}{{"1", true}, {"10000", true}, {"0", false}, {"10001", false}, {"", false}, {"1.5", false}} {
		if _, err := ParsePartNumber(tt.v); (err == nil) != tt.ok {
			t.Errorf("ParsePartNumber(%q): %v", tt.v, err)
		}
	}
	if u, err := ParseEncodingType("url"); !u || err != nil {
		t.Error("url")
	}
	if _, err := ParseEncodingType("base64"); err == nil {
		t.Error("base64 accepted")
	}
}

func TestParseMetadataDirective(t *testing.T) {
	for _, tt := range []struct {
		h       http.Header
		replace bool
		code    Code
	}{
		{hdr(), false, ""},
		{hdr("x-cos-metadata-directive", "Copy"), false, ""},
		{hdr("x-cos-metadata-directive", "Replaced"), true, ""},
		{hdr("x-amz-metadata-directive", "REPLACE"), true, ""},
		{hdr("x-cos-metadata-directive", "Merge"), false, ErrInvalidArgument},
		{hdr("x-cos-metadata-directive", "Copy", "x-amz-metadata-directive", "REPLACE"), false, ErrInvalidArgument},
	} {
		got, err := ParseMetadataDirective(tt.h)
		checkCode(t, tt.h.Get("x-cos-metadata-directive"), err, tt.code)
		if got != tt.replace {
			t.Errorf("%v: got %v", tt.h, got)
		}
	}
}

func TestParseStorageClass(t *testing.T) {
	for _, tt := range []struct {
		h    http.Header
		want string
		code Code
	}{
		{hdr(), "STANDARD", ""},
		{hdr("x-cos-storage-class", "standard_ia"), "STANDARD_IA", ""},
		{hdr("x-amz-storage-class", "GLACIER_IR"), "GLACIER_IR", ""},
		{hdr("x-cos-storage-class", "COLD"), "", ErrInvalidStorageClass},
	} {
		got, err := ParseStorageClass(tt.h)
		checkCode(t, tt.want, err, tt.code)
		if got != tt.want {
			t.Errorf("%v: got %q", tt.h, got)
		}
	}
}
