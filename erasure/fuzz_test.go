package erasure_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/coffer-io/coffer/erasure"
	"github.com/coffer-io/coffer/erasure/erasuretest"
)

// goldenSeeds adds the golden shard files to a fuzz corpus.
func goldenSeeds(f *testing.F) [][]byte {
	paths, _ := filepath.Glob(filepath.Join("testdata", "golden", "*"))
	var out [][]byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, b)
	}
	if len(out) == 0 {
		f.Fatal("no golden files")
	}
	return out
}

// FuzzParseHeader: ParseHeader never panics, accepts only headers it can reproduce
// byte for byte, and classifies every rejection.
func FuzzParseHeader(f *testing.F) {
	for _, b := range goldenSeeds(f) {
		f.Add(b[:erasure.HeaderSize])
	}
	for _, g := range geometries {
		b, _ := erasure.Header{Geometry: g, ShardIndex: g.TotalShards() - 1, VersionID: erasuretest.VersionID(1)}.AppendBinary(nil)
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte("CFSH"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := erasure.ParseHeader(b)
		if err != nil {
			if !erasure.IsCorrupt(err) && !errors.Is(err, erasure.ErrUnsupportedVersion) {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		again, err := h.AppendBinary(nil)
		if err != nil || !bytes.Equal(again, b[:erasure.HeaderSize]) {
			t.Fatalf("accepted %x but re-encodes as %x (%v)", b[:erasure.HeaderSize], again, err)
		}
	})
}

// FuzzVerifyFrame: the bare and the identity-aware checks never panic, agree on the
// content half, and accept a frame only when its digest is the one AppendFrame
// computes.
func FuzzVerifyFrame(f *testing.F) {
	g := erasure.Geometry{DataShards: 2, ParityShards: 1, BlockSize: 64}
	for _, b := range goldenSeeds(f) {
		f.Add(b[erasure.HeaderSize:erasure.FrameOffset(g, 1)], int64(0))
		f.Add(b[erasure.FrameOffset(g, 1):], int64(1))
	}
	f.Add([]byte{}, int64(-1))
	f.Add(make([]byte, erasure.HashSize+1), int64(5))
	_, id, _ := goldenObject()
	h := erasure.Header{Geometry: g, ShardIndex: 0, VersionID: id}
	f.Fuzz(func(t *testing.T, frame []byte, block int64) {
		bare, errBare := erasure.VerifyFrame(frame)
		full, errFull := h.VerifyFrame(block, frame)
		for _, err := range []error{errBare, errFull} {
			if err != nil && !erasure.IsCorrupt(err) {
				t.Fatalf("unclassified error %v", err)
			}
		}
		if errBare == nil && !bytes.Equal(bare, frame[erasure.HashSize:]) {
			t.Fatal("bare block does not alias the frame tail")
		}
		if errFull == nil {
			if errBare != nil {
				t.Fatalf("identity check passed but content check failed: %v", errBare)
			}
			if want := h.AppendFrame(nil, block, full); !bytes.Equal(want, frame) {
				t.Fatalf("accepted frame %x, AppendFrame gives %x", frame, want)
			}
		}
	})
}

// FuzzDecode damages one shard of the golden object at a fuzzer-chosen place and
// decodes a fuzzer-chosen range: Decode must never panic and never return wrong bytes;
// with one bad shard of 2+1 it must succeed.
func FuzzDecode(f *testing.F) {
	f.Add(uint8(0), uint16(100), []byte{0x01}, uint8(0), uint8(150))
	f.Add(uint8(1), uint16(64), []byte{0xff, 0xff}, uint8(60), uint8(30))
	f.Add(uint8(2), uint16(180), []byte{}, uint8(149), uint8(1))
	f.Add(uint8(0), uint16(202), []byte{0x80}, uint8(128), uint8(22))
	g, id, data := goldenObject()
	c := codec(f, g)
	clean := erasuretest.Encode(f, g, id, data)
	f.Fuzz(func(t *testing.T, shard uint8, at uint16, xor []byte, off, n uint8) {
		src := slices.Clone(clean)
		i := int(shard) % len(src)
		src[i] = slices.Clone(src[i])
		for j, x := range xor {
			if p := int(at) + j; p < len(src[i]) {
				src[i][p] ^= x
			}
		}
		if len(xor) == 0 { // no flip: truncate instead
			src[i] = src[i][:int(at)%(len(src[i])+1)]
		}
		o := int64(off) % int64(len(data)+1)
		m := int64(n) % (int64(len(data)) - o + 1)
		var out bytes.Buffer
		if _, err := c.Decode(&out, erasure.Source{VersionID: id, Size: int64(len(data)), Shards: erasuretest.Sources(src)}, o, m); err != nil {
			t.Fatalf("one damaged shard of 2+1: %v", err)
		}
		if !bytes.Equal(out.Bytes(), data[o:o+m]) {
			t.Fatalf("wrong bytes for [%d,+%d)", o, m)
		}
	})
}
