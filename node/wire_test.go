package node

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParsePath(t *testing.T) {
	v := "00112233445566778899aabbccddeeff"
	tests := []struct {
		path string
		want route
		ok   bool
	}{
		{"/shard/v1/health", route{kind: routeHealth}, true},
		{"/shard/v1/" + v, route{kind: routeVersion, id: ShardID{Version: [16]byte{0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}}}, true},
		{"/shard/v1/" + v + "/7/3", route{kind: routeShard, id: ShardID{Version: [16]byte{0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}, Part: 7, Index: 3}}, true},
		{"/shard/v1/" + v + "/4294967295/65535", route{kind: routeShard, id: ShardID{Version: [16]byte{0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}, Part: 1<<32 - 1, Index: 1<<16 - 1}}, true},
		{"/shard/v1/" + v + "/4294967296/0", route{}, false}, // part overflows
		{"/shard/v1/" + v + "/0/65536", route{}, false},      // index overflows
		{"/shard/v1/" + v + "/01/0", route{}, false},         // not canonical
		{"/shard/v1/" + v + "/+1/0", route{}, false},
		{"/shard/v1/" + v + "/-1/0", route{}, false},
		{"/shard/v1/" + v + "/0", route{}, false},
		{"/shard/v1/" + v + "/0/0/0", route{}, false},
		{"/shard/v1/" + v + "/", route{}, false},
		{"/shard/v1/" + strings.ToUpper(v[:30]) + "zz", route{}, false},
		{"/shard/v1/" + v[:30], route{}, false},
		{"/shard/v2/" + v, route{}, false},
		{"/shard/v1/../" + v, route{}, false},
		{"", route{}, false},
		{"/shard/v1/" + strings.Repeat("0", 300), route{}, false},
	}
	for _, tt := range tests {
		got, err := parsePath(tt.path)
		if (err == nil) != tt.ok || (tt.ok && got != tt.want) {
			t.Errorf("parsePath(%q) = %+v, %v; want %+v ok=%v", tt.path, got, err, tt.want, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("parsePath(%q): %v does not wrap ErrInvalid", tt.path, err)
		}
		if tt.ok && tt.want.kind == routeShard && shardPath(got.id) != tt.path {
			t.Errorf("shardPath round trip: %q != %q", shardPath(got.id), tt.path)
		}
	}
}

func TestParseRange(t *testing.T) {
	tests := []struct {
		h       string
		size    int64
		off, n  int64
		wantErr error
	}{
		{"", 100, 0, 100, nil},
		{"bytes=0-99", 100, 0, 100, nil},
		{"bytes=10-10", 100, 10, 1, nil},
		{"bytes=64-163", 1000, 64, 100, nil},
		{"bytes=0-100", 100, 0, 0, ErrRange},
		{"bytes=100-100", 100, 0, 0, ErrRange},
		{"bytes=5-4", 100, 0, 0, ErrInvalid},
		{"bytes=-5", 100, 0, 0, ErrInvalid},
		{"bytes=5-", 100, 0, 0, ErrInvalid},
		{"bytes=0-1,3-4", 100, 0, 0, ErrInvalid},
		{"items=0-1", 100, 0, 0, ErrInvalid},
		{"bytes=00-1", 100, 0, 0, ErrInvalid},
		{"bytes=0-99999999999999999999", 100, 0, 0, ErrInvalid},
	}
	for _, tt := range tests {
		off, n, err := parseRange(tt.h, tt.size)
		if tt.wantErr != nil {
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("parseRange(%q, %d) err %v, want %v", tt.h, tt.size, err, tt.wantErr)
			}
			continue
		}
		if err != nil || off != tt.off || n != tt.n {
			t.Errorf("parseRange(%q, %d) = %d, %d, %v; want %d, %d", tt.h, tt.size, off, n, err, tt.off, tt.n)
		}
		if tt.h != "" && rangeHeader(off, n) != tt.h {
			t.Errorf("rangeHeader(%d, %d) = %q, want %q", off, n, rangeHeader(off, n), tt.h)
		}
	}
}

func TestIDEncoding(t *testing.T) {
	ids := []ShardID{{}, {Part: 1}, {Index: 1}, testID(1, 2, 3), {Version: [16]byte{0xff, 0xff}, Part: 1<<32 - 1, Index: 1<<16 - 1}}
	for _, id := range ids {
		k := id.appendKey(nil)
		got, ok := decodeIDKey(k)
		if !ok || got != id {
			t.Errorf("key round trip of %v: %v %v", id, got, ok)
		}
		got, ok = parseFileName(id.fileName())
		if !ok || got != id {
			t.Errorf("file name round trip of %v: %v %v", id, got, ok)
		}
	}
	// Keys sort by version, then part, then index.
	a, b := ShardID{Part: 1, Index: 9}, ShardID{Part: 2, Index: 0}
	if bytes.Compare(a.appendKey(nil), b.appendKey(nil)) >= 0 {
		t.Error("keys do not sort by part before index")
	}
	for _, bad := range []string{"", "x", testID(1, 2, 3).fileName() + ".tmp", strings.Repeat("g", 46)} {
		if _, ok := parseFileName(bad); ok {
			t.Errorf("parseFileName(%q) accepted", bad)
		}
	}
}

func TestRecordRoundTrip(t *testing.T) {
	recs := []record{
		{inline: true, size: 64, created: time.Unix(0, 1), header: bytes.Repeat([]byte{1}, 64)},
		{inline: false, size: 1 << 40, created: time.Unix(1700000000, 5), header: bytes.Repeat([]byte{2}, 64)},
	}
	for _, r := range recs {
		b := r.append(nil)
		got, err := decodeRecord(b)
		if err != nil || got.inline != r.inline || got.size != r.size || !got.created.Equal(r.created) || !bytes.Equal(got.header, r.header) {
			t.Errorf("round trip %+v: %+v, %v", r, got, err)
		}
		for i := range b {
			c := bytes.Clone(b)
			c[i] ^= 0x01
			if _, err := decodeRecord(c); !errors.Is(err, ErrIndexCorrupt) {
				t.Errorf("flipped byte %d decoded: %v", i, err)
			}
		}
		if _, err := decodeRecord(b[:len(b)-1]); !errors.Is(err, ErrIndexCorrupt) {
			t.Errorf("truncated record decoded: %v", err)
		}
	}
}

func FuzzParsePath(f *testing.F) {
	for _, s := range []string{"/shard/v1/health", "/shard/v1/00112233445566778899aabbccddeeff", "/shard/v1/00112233445566778899aabbccddeeff/1/2", "/shard/v1//", "/shard/v1/0/01/0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		rt, err := parsePath(p)
		if err != nil {
			return
		}
		switch rt.kind {
		case routeShard:
			if shardPath(rt.id) != strings.ToLower(p) && shardPath(rt.id) != p {
				t.Fatalf("accepted %q but canonical form is %q", p, shardPath(rt.id))
			}
		case routeVersion:
			if !strings.EqualFold(versionPath(rt.id.Version), p) {
				t.Fatalf("accepted %q but canonical form is %q", p, versionPath(rt.id.Version))
			}
		case routeHealth:
		default:
			t.Fatalf("accepted %q with kind %d", p, rt.kind)
		}
	})
}

func FuzzParseRange(f *testing.F) {
	f.Add("bytes=0-99", int64(100))
	f.Add("bytes=64-163", int64(1000))
	f.Add("bytes=-5", int64(10))
	f.Add("", int64(0))
	f.Fuzz(func(t *testing.T, h string, size int64) {
		if size < 0 {
			return
		}
		off, n, err := parseRange(h, size)
		if err != nil {
			return
		}
		if off < 0 || n < 0 || off+n > size || (h != "" && n == 0) {
			t.Fatalf("parseRange(%q, %d) = %d, %d outside the shard", h, size, off, n)
		}
	})
}

func FuzzDecodeRecord(f *testing.F) {
	f.Add(record{inline: true, size: 100, created: time.Unix(5, 0), header: make([]byte, 64)}.append(nil))
	f.Add(record{size: 1 << 30, header: bytes.Repeat([]byte{9}, 64)}.append(nil))
	f.Add([]byte("CFSR"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRecord(b)
		if err != nil {
			if !errors.Is(err, ErrIndexCorrupt) {
				t.Fatalf("error %v does not wrap ErrIndexCorrupt", err)
			}
			return
		}
		if !bytes.Equal(r.append(nil), b) {
			t.Fatalf("accepted record does not re-encode to its input")
		}
	})
}
