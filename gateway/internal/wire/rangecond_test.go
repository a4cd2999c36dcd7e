package wire

import (
	"errors"
	"net/http"
	"testing"
	"time"
)

func TestParseRange(t *testing.T) {
	tests := []struct {
		h       string
		size    int64
		off, n  int64
		ok      bool
		invalid bool // 416
	}{
		{"", 100, 0, 0, false, false},
		{"bytes=0-9", 100, 0, 10, true, false},
		{"bytes=8-14", 16, 8, 7, true, false}, // cos-api.md §5.6: Content-Range bytes 8-14/16
		{"bytes=90-", 100, 90, 10, true, false},
		{"bytes=-10", 100, 90, 10, true, false},
		{"bytes=-200", 100, 0, 100, true, false},
		{"bytes=0-1000", 100, 0, 100, true, false},
		{"bytes=99-99", 100, 99, 1, true, false},
		{"BYTES=1-2", 100, 1, 2, true, false},
		{" bytes= 1 - 2 ", 100, 1, 2, true, false},
		{"bytes=100-", 100, 0, 0, false, true},
		{"bytes=100-200", 100, 0, 0, false, true},
		{"bytes=-0", 100, 0, 0, false, true},
		{"bytes=0-", 0, 0, 0, false, true},
		{"bytes=-5", 0, 0, 0, false, true},
		{"bytes=5-1", 100, 0, 0, false, false},                   // invalid: ignored
		{"bytes=0-1,5-6", 100, 0, 0, false, false},               // multiple: whole object
		{"items=0-1", 100, 0, 0, false, false},                   // other unit
		{"bytes=a-b", 100, 0, 0, false, false},                   // syntax
		{"bytes=-", 100, 0, 0, false, false},                     // syntax
		{"bytes=1", 100, 0, 0, false, false},                     // syntax
		{"bytes=+1-2", 100, 0, 0, false, false},                  // sign not allowed
		{"bytes=99999999999999999999-", 100, 0, 0, false, false}, // overflow
		{"bytes", 100, 0, 0, false, false},
	}
	for _, tt := range tests {
		off, n, ok, err := ParseRange(tt.h, tt.size)
		if tt.invalid {
			checkCode(t, tt.h, err, ErrInvalidRange)
			var we *Error
			if errors.As(err, &we) && we.Header.Get("Content-Range") == "" {
				t.Errorf("%q: 416 without Content-Range", tt.h)
			}
			continue
		}
		if err != nil || off != tt.off || n != tt.n || ok != tt.ok {
			t.Errorf("ParseRange(%q, %d) = %d, %d, %v, %v; want %d, %d, %v", tt.h, tt.size, off, n, ok, err, tt.off, tt.n, tt.ok)
		}
	}
	if got := ContentRange(8, 7, 16); got != "bytes 8-14/16" {
		t.Errorf("ContentRange = %q", got)
	}
}

func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"bytes=0-9", "bytes=-5", "bytes=5-", "bytes=0-1,2-3", "bytes=9-1", "bytes=--1", "bytes=18446744073709551615-"} {
		f.Add(s, int64(10))
	}
	f.Fuzz(func(t *testing.T, h string, size int64) {
		if size < 0 {
			size = -size
			if size < 0 {
				size = 0
			}
		}
		off, n, ok, err := ParseRange(h, size)
		if err != nil {
			if !errors.Is(err, ErrInvalidRange) || ok {
				t.Fatalf("%q: %v ok=%v", h, err, ok)
			}
			return
		}
		if ok && (off < 0 || n < 1 || off+n > size || off+n < off) {
			t.Fatalf("%q size %d: off %d n %d out of bounds", h, size, off, n)
		}
	})
}

func TestParseCopySourceRange(t *testing.T) {
	off, n, ok, err := ParseCopySourceRange("bytes=0-1048575", 2<<20)
	if err != nil || !ok || off != 0 || n != 1<<20 {
		t.Errorf("got %d %d %v %v", off, n, ok, err)
	}
	if _, _, ok, err := ParseCopySourceRange("", 10); ok || err != nil {
		t.Errorf("empty: %v %v", ok, err)
	}
	for _, v := range []string{"bytes=0-10", "bytes=5-4", "bytes=-5", "bytes=5-", "0-1", "bytes=0-1,2-3"} {
		_, _, _, err := ParseCopySourceRange(v, 10)
		checkCode(t, v, err, ErrInvalidArgument)
	}
}

func TestEvaluateConditions(t *testing.T) {
	lm := time.Date(2024, 5, 1, 12, 0, 0, 500e6, time.UTC)
	before := FormatHTTPTime(lm.Add(-time.Hour))
	at := FormatHTTPTime(lm)
	after := FormatHTTPTime(lm.Add(time.Hour))
	const etag = `"b62e10bcab55a88240bd9c436cffdcf9"`
	tests := []struct {
		name string
		h    map[string]string
		want Code // "" = proceed
	}{
		{"none", nil, ""},
		{"if-match ok", map[string]string{"If-Match": etag}, ""},
		{"if-match unquoted", map[string]string{"If-Match": "b62e10bcab55a88240bd9c436cffdcf9"}, ""},
		{"if-match list", map[string]string{"If-Match": `"x", ` + etag}, ""},
		{"if-match star", map[string]string{"If-Match": "*"}, ""},
		{"if-match weak fails", map[string]string{"If-Match": "W/" + etag}, ErrPreconditionFailed},
		{"if-match fail", map[string]string{"If-Match": `"other"`}, ErrPreconditionFailed},
		{"ius fail", map[string]string{"If-Unmodified-Since": before}, ErrPreconditionFailed},
		{"ius same second", map[string]string{"If-Unmodified-Since": at}, ""},
		{"ius ok", map[string]string{"If-Unmodified-Since": after}, ""},
		{"if-match wins over ius", map[string]string{"If-Match": etag, "If-Unmodified-Since": before}, ""},
		{"inm match", map[string]string{"If-None-Match": etag}, ErrNotModified},
		{"inm weak match", map[string]string{"If-None-Match": "W/" + etag}, ErrNotModified},
		{"inm star", map[string]string{"If-None-Match": "*"}, ErrNotModified},
		{"inm no match", map[string]string{"If-None-Match": `"other"`}, ""},
		{"ims not modified", map[string]string{"If-Modified-Since": at}, ErrNotModified},
		{"ims modified", map[string]string{"If-Modified-Since": before}, ""},
		{"inm wins over ims", map[string]string{"If-None-Match": `"other"`, "If-Modified-Since": after}, ""},
		{"inm match and ims modified", map[string]string{"If-None-Match": etag, "If-Modified-Since": before}, ErrNotModified},
		{"bad date ignored", map[string]string{"If-Modified-Since": "yesterday"}, ""},
		{"if-match fail beats inm", map[string]string{"If-Match": `"x"`, "If-None-Match": etag}, ErrPreconditionFailed},
		{"rfc850 date", map[string]string{"If-Modified-Since": lm.Format("Monday, 02-Jan-06 15:04:05 GMT")}, ErrNotModified},
	}
	for _, tt := range tests {
		h := http.Header{}
		for k, v := range tt.h {
			h.Set(k, v)
		}
		checkCode(t, tt.name, ParseConditions(h).Evaluate(etag, lm), tt.want)

		// The same headers as copy-source conditions: never 304.
		ch := http.Header{}
		for k, v := range tt.h {
			ch.Set("x-cos-copy-source-"+k, v)
		}
		c, err := ParseCopySourceConditions(ch)
		if err != nil {
			t.Fatal(err)
		}
		want := tt.want
		if want == ErrNotModified {
			want = ErrPreconditionFailed
		}
		checkCode(t, "copy "+tt.name, c.Evaluate(etag, lm), want)
	}
	h := http.Header{}
	h.Set("x-cos-copy-source-If-Match", `"a"`)
	h.Set("x-amz-copy-source-if-match", `"b"`)
	if _, err := ParseCopySourceConditions(h); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("disagreeing dialects: %v", err)
	}
}
