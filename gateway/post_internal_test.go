package gateway

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/coffer-io/coffer/gateway/internal/auth"
	"github.com/coffer-io/coffer/gateway/internal/wire"
)

// spoolIn is a spool writing its temporary file to dir; peek, once the spool has
// gone to disk, is a second handle on that file (taken before it is unlinked).
func spoolIn(t testing.TB, dir string, memMax int) (*spool, *(*os.File)) {
	peek := new(*os.File)
	sp := newSpool(memMax, rand.Reader, func() (*os.File, error) {
		f, err := os.CreateTemp(dir, "spool-*")
		if err == nil {
			*peek, err = os.Open(f.Name())
		}
		return f, err
	})
	t.Cleanup(func() {
		sp.Close()
		if *peek != nil {
			(*peek).Close()
		}
	})
	return sp, peek
}

// spoolReference is what fill must keep: the first limit+1 bytes.
func spoolReference(data []byte, limit int64) []byte {
	if int64(len(data)) > limit+1 {
		return data[:limit+1]
	}
	return data
}

func checkSpool(t *testing.T, data []byte, memMax int, limit, hint int64, chunked bool) {
	t.Helper()
	dir := t.TempDir()
	sp, peek := spoolIn(t, dir, memMax)
	var r io.Reader = bytes.NewReader(data)
	if chunked {
		r = iotest.HalfReader(iotest.OneByteReader(r))
	}
	n, err := sp.fill(r, limit, hint)
	if err != nil {
		t.Fatalf("fill: %v", err)
	}
	want := spoolReference(data, limit)
	if n != int64(len(want)) {
		t.Fatalf("fill kept %d bytes, want %d", n, len(want))
	}
	got, err := io.ReadAll(sp.reader())
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("read back %d bytes (%v), want %d", len(got), err, len(want))
	}
	// Memory takes up to memMax+1 bytes; the disk is needed only when that is
	// not already more than the limit.
	onDisk := len(want) > memMax && limit > int64(memMax)
	if (*peek != nil) != onDisk {
		t.Fatalf("temporary file used: %v, want %v", *peek != nil, onDisk)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("temporary file still linked: %v", entries)
	}
	if onDisk {
		raw, err := io.ReadAll(*peek)
		if err != nil || len(raw) != len(want) {
			t.Fatalf("temporary file holds %d bytes (%v), want %d", len(raw), err, len(want))
		}
		if len(want) >= 16 && bytes.Equal(raw, want) {
			t.Fatal("temporary file holds plaintext")
		}
	}
	if err := sp.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestSpool(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB
	for _, tc := range []struct {
		len, memMax int
		limit       int64
	}{
		{0, 16, 100},
		{10, 16, 100},
		{16, 16, 100},
		{17, 16, 100},      // one byte over memory
		{100, 16, 100},     // exactly the limit, on disk
		{101, 16, 100},     // limit+1 kept: too large
		{5000, 16, 100},    // far over the limit: limit+1 kept
		{50, 1000, 10},     // too large while still in memory
		{11, 1000, 10},     // limit+1 exactly in memory
		{0, 0, 0},          // empty, no memory
		{1, 0, 0},          // one byte: over a zero limit, known in memory
		{2, 0, 1},          // over the limit, on disk
		{65536, 1000, 1e6}, // large, on disk
	} {
		for i, chunked := range []bool{false, true} {
			hint := i // with and without a size hint
			t.Run(fmt.Sprintf("len%d/mem%d/limit%d/chunked=%v", tc.len, tc.memMax, tc.limit, chunked), func(t *testing.T) {
				checkSpool(t, data[:tc.len], tc.memMax, tc.limit, int64(tc.len)*int64(hint), chunked)
			})
		}
	}
}

func TestSpoolErrors(t *testing.T) {
	// A failing body is IncompleteBody, in memory and on disk.
	for _, memMax := range []int{1 << 10, 4} {
		sp, _ := spoolIn(t, t.TempDir(), memMax)
		r := io.MultiReader(bytes.NewReader(make([]byte, 100)), iotest.ErrReader(io.ErrUnexpectedEOF))
		if _, err := sp.fill(r, 1000, 0); !errors.Is(err, wire.ErrIncompleteBody) {
			t.Errorf("memMax %d: broken body: %v", memMax, err)
		}
	}
	// A temporary file that cannot be created is an internal error, not a client one.
	sp := newSpool(4, rand.Reader, func() (*os.File, error) { return nil, os.ErrPermission })
	_, err := sp.fill(bytes.NewReader(make([]byte, 100)), 1000, 100)
	if err == nil || !errors.Is(err, os.ErrPermission) || errors.Is(err, wire.ErrIncompleteBody) {
		t.Errorf("temp file failure: %v", err)
	}
	// A failing randomness source fails the spool before anything touches the disk.
	sp = newSpool(4, iotest.ErrReader(errors.New("no entropy")), func() (*os.File, error) {
		t.Fatal("temporary file created without a key")
		return nil, nil
	})
	if _, err := sp.fill(bytes.NewReader(make([]byte, 100)), 1000, 100); err == nil {
		t.Error("spool without a key succeeded")
	}
}

func FuzzSpool(f *testing.F) {
	f.Add([]byte("hello world"), uint16(4), uint32(100))
	f.Add([]byte("hello world"), uint16(100), uint32(3))
	f.Add([]byte{}, uint16(0), uint32(0))
	f.Add(bytes.Repeat([]byte{7}, 3000), uint16(1000), uint32(2999))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte, memMax uint16, limit uint32) {
		sp, _ := spoolIn(t, dir, int(memMax))
		n, err := sp.fill(bytes.NewReader(data), int64(limit), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		want := spoolReference(data, int64(limit))
		got, err := io.ReadAll(sp.reader())
		if err != nil || n != int64(len(want)) || !bytes.Equal(got, want) {
			t.Fatalf("kept %d, read %d bytes (%v); want %d", n, len(got), err, len(want))
		}
	})
}

func TestSubstituteFilename(t *testing.T) {
	for _, tc := range []struct{ key, filename, want string }{
		{"a/${filename}", "photo.jpg", "a/photo.jpg"},
		{"a/${filename}", `C:\Users\me\photo.jpg`, "a/photo.jpg"},
		{"a/${filename}", "dir/sub/photo.jpg", "a/photo.jpg"},
		{"${filename}-${filename}", "x", "x-x"},
		{"fixed", "photo.jpg", "fixed"},
		{"a/${filename}", "", "a/"},
		{"${FILENAME}", "x", "${FILENAME}"}, // the variable is case-sensitive, as in S3
	} {
		if got := substituteFilename(tc.key, tc.filename); got != tc.want {
			t.Errorf("substituteFilename(%q, %q) = %q, want %q", tc.key, tc.filename, got, tc.want)
		}
	}
}

func TestRedirectTarget(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want string // "" means ignored
	}{
		{"https://app.example/done", `https://app.example/done?bucket=b&etag=%22e%22&key=k+1`},
		{"http://app.example/done?x=1#frag", `http://app.example/done?x=1&bucket=b&etag=%22e%22&key=k+1#frag`},
		{"", ""},
		{"/relative", ""},
		{"javascript:alert(1)", ""},
		{"ftp://app.example/", ""},
		{"https://user:pw@app.example/", ""},
		{"https://app.example/" + strings.Repeat("a", postRedirectBytesMax), ""},
		{"http://[::1", ""},
	} {
		got, ok := redirectTarget(tc.raw, "b", "k 1", `"e"`)
		if ok != (tc.want != "") || got != tc.want {
			t.Errorf("redirectTarget(%q) = %q, %v; want %q", tc.raw, got, ok, tc.want)
		}
	}
}

func TestParsePostForm(t *testing.T) {
	form, err := parsePostForm(map[string]string{"Key": "u/${filename}", "BUCKET": "forged", "Content-Type": "a/b"}, "f.txt", "real")
	if err != nil {
		t.Fatal(err)
	}
	if form.key != "u/f.txt" || form.signed["Key"] != "u/f.txt" || form.signed["bucket"] != "real" || form.signed["BUCKET"] != "" ||
		form.get("content-type") != "a/b" || form.get("bucket") != "real" {
		t.Fatalf("form %+v", form)
	}
	for name, fields := range map[string]map[string]string{
		"NoKey":     {"x": "y"},
		"Duplicate": {"key": "a", "KEY": "b"},
		"TooLarge":  {"key": "a", "x-ignore-1": strings.Repeat("x", postFormBytesMax)},
	} {
		if _, err := parsePostForm(fields, "f", "b"); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestPostFormHeader(t *testing.T) {
	form, err := parsePostForm(map[string]string{
		"key": "k", "Content-Type": "text/plain", "Cache-Control": "no-cache", "X-Cos-Meta-A": "1",
		"x-amz-meta-b": "2", "acl": "public-read", "x-cos-storage-class": "standard_ia", "policy": "ignored",
	}, "", "b")
	if err != nil {
		t.Fatal(err)
	}
	h, err := form.header()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"Content-Type": "text/plain", "Cache-Control": "no-cache", "X-Cos-Meta-A": "1", "X-Amz-Meta-B": "2",
		"X-Cos-Acl": "public-read", "X-Cos-Storage-Class": "standard_ia",
	}
	if len(h) != len(want) {
		t.Errorf("header %v, want %v", h, want)
	}
	for k, v := range want {
		if h.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, h.Get(k), v)
		}
	}
	for name, fields := range map[string]map[string]string{
		"Newline":     {"key": "k", "Content-Type": "a\r\nSet-Cookie: x"},
		"NUL":         {"key": "k", "x-cos-meta-a": "a\x00"},
		"ACLConflict": {"key": "k", "acl": "private", "x-cos-acl": "public-read"},
	} {
		form, err := parsePostForm(fields, "", "b")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := form.header(); !errors.Is(err, wire.ErrInvalidArgument) {
			t.Errorf("%s: %v, want InvalidArgument", name, err)
		}
	}
}

func TestPolicySize(t *testing.T) {
	p := &auth.Policy{Conditions: []auth.Condition{
		{Op: "eq", Field: "key", Value: "a"},
		{Op: "content-length-range", Min: 1, Max: 500},
		{Op: "starts-with", Field: "x", Value: ""},
		{Op: "content-length-range", Min: 0, Max: 300},
	}}
	if got := policySizeMax(p); got != 300 {
		t.Errorf("policySizeMax = %d, want 300", got)
	}
	if got := policySizeMax(&auth.Policy{}); got != postFileBytesMax {
		t.Errorf("policySizeMax without a range = %d", got)
	}
	w := withoutSize(p)
	if len(w.Conditions) != 2 || w.Conditions[0].Field != "key" || w.Conditions[1].Field != "x" || len(p.Conditions) != 4 {
		t.Errorf("withoutSize = %+v (original %+v)", w.Conditions, p.Conditions)
	}
}

// FuzzPostForm drives the pure form helpers with arbitrary field names, values,
// file names and redirect targets: they must never panic, and what they accept
// must hold their promises.
func FuzzPostForm(f *testing.F) {
	f.Add("uploads/${filename}", "C:\\a\\b.jpg", "x-cos-meta-origin", "browser", "https://app.example/done?x=1")
	f.Add("${filename}", "", "Content-Type", "a\r\nb", "javascript:x")
	f.Add("k", "f", "acl", "public-read", "http://[::1]:80/p")
	f.Add("k", "f", "x-amz-meta-", "v", "")
	f.Fuzz(func(t *testing.T, key, filename, name, value, redirect string) {
		fields := map[string]string{"key": key}
		if !strings.EqualFold(name, "key") {
			fields[name] = value
		}
		form, err := parsePostForm(fields, filename, "bucket-1")
		if err != nil {
			return
		}
		if form.signed["bucket"] != "bucket-1" || form.key != substituteFilename(key, filename) || form.signed["key"] != form.key {
			t.Fatalf("form %+v", form)
		}
		if h, err := form.header(); err == nil {
			for k, vs := range h {
				for _, v := range vs {
					if !validFieldValue(v) {
						t.Fatalf("header %s carries an invalid value %q", k, v)
					}
				}
			}
		}
		loc, ok := redirectTarget(redirect, "bucket-1", form.key, `"etag"`)
		if !ok {
			return
		}
		u, err := url.Parse(loc)
		if err != nil {
			t.Fatalf("redirect %q does not parse: %v", loc, err)
		}
		q := u.Query()
		if (u.Scheme != "http" && u.Scheme != "https") || q.Get("bucket") != "bucket-1" || q.Get("key") != form.key || q.Get("etag") != `"etag"` {
			t.Fatalf("redirect %q for %q", loc, redirect)
		}
	})
}

func BenchmarkSpool(b *testing.B) {
	for _, size := range []int{64 << 10, 4 << 20} {
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			data := make([]byte, size)
			dir := b.TempDir()
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				sp := newSpool(postSpoolMemoryBytes, rand.Reader, func() (*os.File, error) { return os.CreateTemp(dir, "spool-*") })
				if _, err := sp.fill(bytes.NewReader(data), int64(size), int64(size)); err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, sp.reader()); err != nil {
					b.Fatal(err)
				}
				sp.Close()
			}
		})
	}
}
