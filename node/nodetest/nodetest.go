// Package nodetest holds test helpers for code that uses package node: valid shard
// streams built with the erasure format (Shard), and TestStore, a conformance suite
// any node.Store configuration must pass. Helpers fail the test through testing.TB;
// they are safe for concurrent use.
package nodetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/coffer-io/coffer/erasure"
	"github.com/coffer-io/coffer/node"
)

// Geometry is the shape of the shards the suite stores: 64 KiB blocks, so a shard of
// a few hundred KiB has several frames and a short last one.
var Geometry = erasure.Geometry{DataShards: 4, ParityShards: 2, BlockSize: 64 << 10}

// ID returns a shard id whose version id is derived from seed.
func ID(seed uint64, part uint32, index uint16) node.ShardID {
	id := node.ShardID{Part: part, Index: index}
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	for i := range id.Version {
		id.Version[i] = byte(r.Uint32())
	}
	return id
}

// Shard returns the stored byte stream of shard id in geometry g carrying dataLen
// block bytes derived from seed: the erasure header, then frames.
func Shard(tb testing.TB, id node.ShardID, g erasure.Geometry, dataLen int64, seed uint64) []byte {
	tb.Helper()
	h := erasure.Header{Geometry: g, ShardIndex: int(id.Index), VersionID: id.Version}
	out, err := h.AppendBinary(nil)
	if err != nil {
		tb.Fatalf("nodetest: header: %v", err)
	}
	r := rand.New(rand.NewPCG(seed, uint64(dataLen)))
	block := make([]byte, g.BlockSize)
	for i := int64(0); dataLen > 0; i++ {
		n := min(dataLen, int64(g.BlockSize))
		for j := range block[:n] {
			block[j] = byte(r.Uint32())
		}
		out = h.AppendFrame(out, i, block[:n])
		dataLen -= n
	}
	return out
}

// SizedShard is Shard with about total stored bytes (never fewer than a header, and
// rounded so the last frame holds at least one block byte).
func SizedShard(tb testing.TB, id node.ShardID, g erasure.Geometry, total int64, seed uint64) []byte {
	tb.Helper()
	frame := int64(erasure.HashSize + g.BlockSize)
	body := max(total-erasure.HeaderSize, 0)
	full, rem := body/frame, body%frame
	data := full * int64(g.BlockSize)
	if rem > erasure.HashSize {
		data += rem - erasure.HashSize
	}
	return Shard(tb, id, g, data, seed)
}

// Put stores b as id and fails the test on error.
func Put(tb testing.TB, s *node.Store, id node.ShardID, b []byte) {
	tb.Helper()
	if err := s.Put(context.Background(), id, int64(len(b)), bytes.NewReader(b)); err != nil {
		tb.Fatalf("Put(%v): %v", id, err)
	}
}

// Get reads n bytes of id at off and fails the test on error.
func Get(tb testing.TB, s *node.Store, id node.ShardID, off, n int64) []byte {
	tb.Helper()
	r, err := s.Get(id, off, n)
	if err != nil {
		tb.Fatalf("Get(%v, %d, %d): %v", id, off, n, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		tb.Fatalf("Get(%v, %d, %d): read: %v", id, off, n, err)
	}
	return b
}

// TestStore runs the conformance suite against stores made by open. Each subtest
// opens its own store; open must register its cleanup with t.Cleanup and use the
// default inline threshold and a FreeBytesMin the environment satisfies.
func TestStore(t *testing.T, open func(t *testing.T) *node.Store) {
	ctx := context.Background()
	g := Geometry
	sizes := []struct {
		name string
		data int64
	}{
		{"empty", 0},
		{"one-byte", 1},
		{"one-block", int64(g.BlockSize)},
		{"inline-max", 0}, // filled below
		{"file-short-last", 3*int64(g.BlockSize) + 777},
		{"file-aligned", 5 * int64(g.BlockSize)},
	}
	// Largest data length that still stays inline: one frame less than 128 KiB total.
	sizes[3].data = int64(node.DefaultInlineMaxBytes) - erasure.HeaderSize - 2*erasure.HashSize - 1

	t.Run("RoundTrip", func(t *testing.T) {
		s := open(t)
		for i, sz := range sizes {
			id := ID(uint64(i), 0, uint16(i%6))
			want := Shard(t, id, g, sz.data, uint64(i))
			Put(t, s, id, want)
			if got := Get(t, s, id, 0, -1); !bytes.Equal(got, want) {
				t.Errorf("%s: Get returned %d bytes, want the %d stored", sz.name, len(got), len(want))
			}
			info, err := s.Stat(id)
			if err != nil {
				t.Fatalf("%s: Stat: %v", sz.name, err)
			}
			if info.Size != int64(len(want)) || !bytes.Equal(info.Header, want[:erasure.HeaderSize]) || info.ID != id {
				t.Errorf("%s: Stat = size %d, want %d (header equal %v)", sz.name, info.Size, len(want), bytes.Equal(info.Header, want[:erasure.HeaderSize]))
			}
			if wantInline := int64(len(want)) < node.DefaultInlineMaxBytes; info.Inline != wantInline {
				t.Errorf("%s: %d bytes stored inline=%v, want %v", sz.name, len(want), info.Inline, wantInline)
			}
		}
	})

	t.Run("Ranges", func(t *testing.T) {
		s := open(t)
		id := ID(100, 1, 2)
		want := Shard(t, id, g, 3*int64(g.BlockSize)+100, 100)
		Put(t, s, id, want)
		size := int64(len(want))
		fo := func(b int64) int64 { return erasure.FrameOffset(g, b) }
		ranges := [][2]int64{
			{0, erasure.HeaderSize}, // the header alone
			{fo(0), fo(1) - fo(0)},  // the first frame
			{fo(1), fo(3) - fo(1)},  // two frames
			{fo(3), size - fo(3)},   // the short last frame
			{fo(1) + 5, 10},         // inside a frame
			{fo(1) - 3, 7},          // across a frame boundary
			{3, size - 4},           // nearly everything
			{size, 0},               // empty at the end
			{0, size},               // everything
		}
		for _, rg := range ranges {
			got := Get(t, s, id, rg[0], rg[1])
			if !bytes.Equal(got, want[rg[0]:rg[0]+rg[1]]) {
				t.Errorf("range %d+%d: got %d bytes, not the stored ones", rg[0], rg[1], len(got))
			}
		}
		for _, rg := range [][2]int64{{-1, 1}, {0, size + 1}, {size + 1, 0}, {size - 1, 2}} {
			if _, err := s.Get(id, rg[0], rg[1]); !errors.Is(err, node.ErrRange) {
				t.Errorf("range %d+%d: err %v, want ErrRange", rg[0], rg[1], err)
			}
		}
	})

	t.Run("Idempotent", func(t *testing.T) {
		s := open(t)
		for _, data := range []int64{1000, 4 * int64(g.BlockSize)} {
			id := ID(uint64(200+data), 0, 1)
			a := Shard(t, id, g, data, 1)
			b := Shard(t, id, g, data, 2) // same length and header, other bytes
			Put(t, s, id, a)
			Put(t, s, id, a) // identical: succeeds
			err := s.Put(ctx, id, int64(len(b)), bytes.NewReader(b))
			if !errors.Is(err, node.ErrExists) {
				t.Errorf("%d: Put of other bytes: %v, want ErrExists", data, err)
			}
			c := Shard(t, id, g, data+1, 3) // other length
			if err := s.Put(ctx, id, int64(len(c)), bytes.NewReader(c)); !errors.Is(err, node.ErrExists) {
				t.Errorf("%d: Put of other length: %v, want ErrExists", data, err)
			}
			if got := Get(t, s, id, 0, -1); !bytes.Equal(got, a) {
				t.Errorf("%d: a refused put changed the shard", data)
			}
			// Replace switches content, also between inline and file.
			for _, next := range [][]byte{b, c, Shard(t, id, g, 6*int64(g.BlockSize), 4), Shard(t, id, g, 10, 5)} {
				if err := s.Replace(ctx, id, int64(len(next)), bytes.NewReader(next)); err != nil {
					t.Fatalf("%d: Replace: %v", data, err)
				}
				if got := Get(t, s, id, 0, -1); !bytes.Equal(got, next) {
					t.Errorf("%d: after Replace Get returned other bytes", data)
				}
			}
		}
	})

	t.Run("Rejects", func(t *testing.T) {
		s := open(t)
		id := ID(300, 0, 3)
		good := Shard(t, id, g, 2*int64(g.BlockSize)+5, 7)
		other := ID(301, 0, 3)
		cases := []struct {
			name  string
			id    node.ShardID
			body  []byte
			size  int64
			check func(error) bool
		}{
			{"other version", other, good, int64(len(good)), isInvalid},
			{"other index", node.ShardID{Version: id.Version, Index: 4}, good, int64(len(good)), isInvalid},
			{"short body", id, good[:len(good)-10], int64(len(good)), isInvalid},
			{"impossible length", id, good[:erasure.HeaderSize+erasure.HashSize], erasure.HeaderSize + erasure.HashSize, isInvalid},
			{"below header", id, good[:10], 10, isInvalid},
			{"garbage header", id, bytes.Repeat([]byte{7}, 200), 200, isInvalid},
			{"flipped bit in frame 1", id, flip(good, erasure.FrameOffset(g, 1)+erasure.HashSize+9), int64(len(good)), erasure.IsCorrupt},
			{"flipped bit in last frame", id, flip(good, int64(len(good))-1), int64(len(good)), erasure.IsCorrupt},
			{"swapped frames", id, swapFrames(good, g), int64(len(good)), erasure.IsCorrupt},
			{"too large", id, good, node.DefaultShardMaxBytes + 1, func(err error) bool { return errors.Is(err, node.ErrTooLarge) }},
		}
		for _, c := range cases {
			err := s.Put(ctx, c.id, c.size, bytes.NewReader(c.body))
			if err == nil || !c.check(err) {
				t.Errorf("%s: Put err %v", c.name, err)
			}
			if _, err := s.Stat(c.id); !errors.Is(err, node.ErrNotFound) {
				t.Errorf("%s: rejected shard is visible (Stat: %v)", c.name, err)
			}
		}
		// A small corrupt shard is rejected too (inline path).
		small := Shard(t, id, g, 100, 8)
		if err := s.Put(ctx, id, int64(len(small)), bytes.NewReader(flip(small, int64(len(small))-1))); !erasure.IsCorrupt(err) {
			t.Errorf("corrupt inline shard: %v", err)
		}
		Put(t, s, id, good) // and the store still works
	})

	t.Run("Delete", func(t *testing.T) {
		s := open(t)
		v1, v2 := ID(400, 0, 0), ID(401, 0, 0)
		var ids []node.ShardID
		for part := uint32(0); part < 2; part++ {
			for idx := uint16(0); idx < 3; idx++ {
				for _, v := range []node.ShardID{v1, v2} {
					id := node.ShardID{Version: v.Version, Part: part, Index: idx}
					data := int64(500)
					if idx == 1 {
						data = 3 * int64(g.BlockSize)
					}
					Put(t, s, id, Shard(t, id, g, data, uint64(part)*10+uint64(idx)))
					if v == v1 {
						ids = append(ids, id)
					}
				}
			}
		}
		got, err := s.ListVersion(v1.Version)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != fmt.Sprint(ids) {
			t.Errorf("ListVersion = %v, want %v", got, ids)
		}
		if err := s.Delete(ids[1]); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		if err := s.Delete(ids[1]); !errors.Is(err, node.ErrNotFound) {
			t.Errorf("second Delete: %v, want ErrNotFound", err)
		}
		if _, err := s.Get(ids[1], 0, -1); !errors.Is(err, node.ErrNotFound) {
			t.Errorf("Get after Delete: %v, want ErrNotFound", err)
		}
		n, err := s.DeleteVersion(v1.Version)
		if err != nil || n != len(ids)-1 {
			t.Errorf("DeleteVersion = %d, %v; want %d", n, err, len(ids)-1)
		}
		if got, _ := s.ListVersion(v1.Version); len(got) != 0 {
			t.Errorf("ListVersion after DeleteVersion = %v", got)
		}
		if got, _ := s.ListVersion(v2.Version); len(got) != len(ids) {
			t.Errorf("other version lost shards: %v", got)
		}
		// A deleted id can be stored again.
		Put(t, s, ids[1], Shard(t, ids[1], g, 3*int64(g.BlockSize), 9))
	})

	t.Run("Concurrent", func(t *testing.T) {
		s := open(t)
		var wg sync.WaitGroup
		errs := make(chan error, 64)
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 6; i++ {
					id := ID(uint64(500+w), uint32(i), uint16(i%6))
					data := int64(300 + w*i)
					if i%3 == 0 {
						data = 2*int64(g.BlockSize) + int64(w)
					}
					b := Shard(t, id, g, data, uint64(w*100+i))
					// Two writers of the same id race: both must succeed.
					var inner sync.WaitGroup
					for range 2 {
						inner.Add(1)
						go func() {
							defer inner.Done()
							if err := s.Put(ctx, id, int64(len(b)), bytes.NewReader(b)); err != nil {
								errs <- err
							}
						}()
					}
					inner.Wait()
					r, err := s.Get(id, 0, -1)
					if err != nil {
						errs <- err
						continue
					}
					got, err := io.ReadAll(r)
					r.Close()
					if err != nil || !bytes.Equal(got, b) {
						errs <- fmt.Errorf("%v: read back %d bytes, err %v", id, len(got), err)
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})
}

func isInvalid(err error) bool { return errors.Is(err, node.ErrInvalid) }

// flip returns a copy of b with one bit of byte off inverted.
func flip(b []byte, off int64) []byte {
	c := bytes.Clone(b)
	c[off] ^= 0x10
	return c
}

// swapFrames returns a copy of b with frames 0 and 1 exchanged: each frame is intact
// but sits at the wrong position.
func swapFrames(b []byte, g erasure.Geometry) []byte {
	c := bytes.Clone(b)
	f0, f1 := erasure.FrameOffset(g, 0), erasure.FrameOffset(g, 1)
	n := f1 - f0
	copy(c[f0:f1], b[f1:f1+n])
	copy(c[f1:f1+n], b[f0:f1])
	return c
}
