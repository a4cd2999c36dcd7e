package erasure_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/coffer-io/coffer/erasure"
	"github.com/coffer-io/coffer/erasure/erasuretest"
)

// geometries is every geometry the round-trip tests cover. Block sizes are small so
// multi-stripe objects stay small under -race.
var geometries = []erasure.Geometry{
	{DataShards: 1, ParityShards: 1, BlockSize: 64},
	{DataShards: 2, ParityShards: 1, BlockSize: 64},
	{DataShards: 2, ParityShards: 2, BlockSize: 128},
	{DataShards: 4, ParityShards: 2, BlockSize: 256},
	{DataShards: 6, ParityShards: 3, BlockSize: 192},
	{DataShards: 8, ParityShards: 4, BlockSize: 64},
	{DataShards: 12, ParityShards: 4, BlockSize: 128},
	{DataShards: 16, ParityShards: 16, BlockSize: 64},
	{DataShards: 200, ParityShards: 55, BlockSize: 64},
	{DataShards: 128, ParityShards: 128, BlockSize: 64},
	{DataShards: 4, ParityShards: 2, BlockSize: 256 << 10},
}

// sizes returns the object sizes tried for g: empty, one byte, around one stripe, and
// several stripes with a short tail.
func sizes(g erasure.Geometry) []int {
	s := int(g.StripeSize())
	out := []int{0, 1, s - 1, s, s + 1, 3*s + g.BlockSize/2 + 7}
	if g.DataShards > 1 {
		out = append(out, g.DataShards-1, g.DataShards+1)
	}
	if s >= 1<<20 || g.TotalShards() > 64 { // keep big geometries cheap under -race
		out = []int{0, 1, s - 1, s, s + 1, 2*s + 1}
	}
	return out
}

func codec(t testing.TB, g erasure.Geometry) *erasure.Codec {
	t.Helper()
	c, err := erasure.New(g)
	if err != nil {
		t.Fatalf("New(%v): %v", g, err)
	}
	return c
}

func decode(t testing.TB, c *erasure.Codec, shards []io.ReaderAt, id [16]byte, size, off, n int64) ([]byte, erasure.Report, error) {
	t.Helper()
	var out bytes.Buffer
	rep, err := c.Decode(&out, erasure.Source{VersionID: id, Size: size, Shards: shards}, off, n)
	return out.Bytes(), rep, err
}

func TestRoundTrip(t *testing.T) {
	for _, g := range geometries {
		t.Run(g.String(), func(t *testing.T) {
			t.Parallel()
			c := codec(t, g)
			for _, size := range sizes(g) {
				data := erasuretest.Data(size, uint64(size))
				id := erasuretest.VersionID(uint64(size) + 1)
				shards := erasuretest.Encode(t, g, id, data)
				for i, sh := range shards {
					h, err := erasure.ParseHeader(sh)
					if err != nil || h != (erasure.Header{Geometry: g, ShardIndex: i, VersionID: id}) {
						t.Fatalf("size %d shard %d: header %+v, %v", size, i, h, err)
					}
				}
				// Whole object with every shard, then with the first m shards (all data
				// shards when m ≥ k) missing.
				got, rep, err := decode(t, c, erasuretest.Sources(shards), id, int64(size), 0, int64(size))
				if err != nil || !bytes.Equal(got, data) || len(rep.Faults) != 0 {
					t.Fatalf("size %d: decode all: err=%v equal=%v faults=%v", size, err, bytes.Equal(got, data), rep.Faults)
				}
				lost := slices.Clone(shards)
				for i := range g.ParityShards {
					lost[i] = nil
				}
				got, rep, err = decode(t, c, erasuretest.Sources(lost), id, int64(size), 0, int64(size))
				if err != nil || !bytes.Equal(got, data) || len(rep.Faults) != 0 {
					t.Fatalf("size %d: decode without %d shards: err=%v equal=%v faults=%v", size, g.ParityShards, err, bytes.Equal(got, data), rep.Faults)
				}
			}
		})
	}
}

// TestEveryLossPattern drops every subset of at most m shards of small geometries and
// decodes the whole object and a range inside the second stripe.
func TestEveryLossPattern(t *testing.T) {
	for _, g := range []erasure.Geometry{
		{DataShards: 2, ParityShards: 1, BlockSize: 64},
		{DataShards: 2, ParityShards: 2, BlockSize: 64},
		{DataShards: 4, ParityShards: 2, BlockSize: 64},
		{DataShards: 3, ParityShards: 3, BlockSize: 64},
	} {
		t.Run(g.String(), func(t *testing.T) {
			c := codec(t, g)
			size := 2*int(g.StripeSize()) + 77
			data := erasuretest.Data(size, 7)
			id := erasuretest.VersionID(7)
			shards := erasuretest.Encode(t, g, id, data)
			n := g.TotalShards()
			for mask := 0; mask < 1<<n; mask++ {
				lost := popcount(mask)
				src := slices.Clone(shards)
				for i := range n {
					if mask&(1<<i) != 0 {
						src[i] = nil
					}
				}
				got, _, err := decode(t, c, erasuretest.Sources(src), id, int64(size), 0, int64(size))
				if lost <= g.ParityShards {
					if err != nil || !bytes.Equal(got, data) {
						t.Fatalf("lost %06b: err=%v equal=%v", mask, err, bytes.Equal(got, data))
					}
					off := g.StripeSize() + 5
					got, _, err = decode(t, c, erasuretest.Sources(src), id, int64(size), off, 70)
					if err != nil || !bytes.Equal(got, data[off:off+70]) {
						t.Fatalf("lost %06b: range: err=%v", mask, err)
					}
					continue
				}
				if !errors.Is(err, erasure.ErrTooFewShards) || erasure.IsCorrupt(err) {
					t.Fatalf("lost %06b (%d > m): err=%v, want ErrTooFewShards and not corrupt", mask, lost, err)
				}
			}
		})
	}
}

func popcount(x int) int {
	n := 0
	for ; x != 0; x &= x - 1 {
		n++
	}
	return n
}

// TestRanges decodes random ranges and compares them with the plaintext slice.
func TestRanges(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, g := range []erasure.Geometry{
		{DataShards: 2, ParityShards: 1, BlockSize: 64},
		{DataShards: 4, ParityShards: 2, BlockSize: 128},
		{DataShards: 6, ParityShards: 3, BlockSize: 64},
	} {
		c := codec(t, g)
		for _, size := range []int{1, 100, int(g.StripeSize()) * 3, int(g.StripeSize())*5 + 13} {
			data := erasuretest.Data(size, uint64(size))
			id := erasuretest.VersionID(3)
			shards := erasuretest.Encode(t, g, id, data)
			for range 60 {
				off := r.IntN(size + 1)
				n := r.IntN(size - off + 1)
				src := slices.Clone(shards)
				if r.IntN(2) == 0 { // sometimes lose up to m random shards
					for range r.IntN(g.ParityShards + 1) {
						src[r.IntN(len(src))] = nil
					}
				}
				got, _, err := decode(t, c, erasuretest.Sources(src), id, int64(size), int64(off), int64(n))
				if err != nil || !bytes.Equal(got, data[off:off+n]) {
					t.Fatalf("%v size %d range [%d,+%d): err=%v equal=%v", g, size, off, n, err, bytes.Equal(got, data[off:off+n]))
				}
			}
		}
	}
}

// TestRangeReadsOnlyCoveringStripes checks that a range read asks exactly for the
// frames of the data shards covering the range, and with a lost data shard, for
// frames of the covering stripes only.
func TestRangeReadsOnlyCoveringStripes(t *testing.T) {
	g := erasure.Geometry{DataShards: 4, ParityShards: 2, BlockSize: 64}
	c := codec(t, g)
	size := 10*int(g.StripeSize()) + 100
	data := erasuretest.Data(size, 9)
	id := erasuretest.VersionID(9)
	shards := erasuretest.Encode(t, g, id, data)
	frame := func(block int64) erasuretest.Read {
		return erasuretest.Read{Off: erasure.FrameOffset(g, block), Len: erasure.HashSize + g.BlockSize}
	}
	tests := []struct {
		name    string
		off, n  int64
		lost    int // shard index to drop, -1 for none
		want    map[int][]erasuretest.Read
		wantBad []int
	}{
		{"inside one block", 3*256 + 64 + 10, 20, -1, map[int][]erasuretest.Read{1: {frame(3)}}, nil},
		{"across two blocks", 3*256 + 60, 10, -1, map[int][]erasuretest.Read{0: {frame(3)}, 1: {frame(3)}}, nil},
		{"across stripes", 3*256 + 250, 10, -1, map[int][]erasuretest.Read{3: {frame(3)}, 0: {frame(4)}}, nil},
		{"lost data shard", 5*256 + 70, 10, 1, map[int][]erasuretest.Read{0: {frame(5)}, 2: {frame(5)}, 3: {frame(5)}, 4: {frame(5)}}, nil},
		{"short tail", 10*256 + 90, 10, -1, map[int][]erasuretest.Read{3: {{Off: erasure.FrameOffset(g, 10), Len: erasure.HashSize + 25}}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			counters := make([]*erasuretest.CountingReaderAt, len(shards))
			src := make([]io.ReaderAt, len(shards))
			for i, s := range shards {
				if i == tt.lost {
					continue
				}
				counters[i] = &erasuretest.CountingReaderAt{R: bytes.NewReader(s)}
				src[i] = counters[i]
			}
			got, _, err := decode(t, c, src, id, int64(size), tt.off, tt.n)
			if err != nil || !bytes.Equal(got, data[tt.off:tt.off+tt.n]) {
				t.Fatalf("err=%v equal=%v", err, bytes.Equal(got, data[tt.off:tt.off+tt.n]))
			}
			for i, ctr := range counters {
				if ctr == nil {
					continue
				}
				if got, want := ctr.Reads(), tt.want[i]; !slices.Equal(got, want) {
					t.Errorf("shard %d reads %v, want %v", i, got, want)
				}
			}
		})
	}
}

func TestDecodeArguments(t *testing.T) {
	g := erasure.Geometry{DataShards: 2, ParityShards: 1, BlockSize: 64}
	c := codec(t, g)
	id := erasuretest.VersionID(1)
	shards := erasuretest.Sources(erasuretest.Encode(t, g, id, erasuretest.Data(100, 1)))
	tests := []struct {
		name      string
		shards    []io.ReaderAt
		size      int64
		off, n    int64
		wantError error
	}{
		{"ok", shards, 100, 0, 100, nil},
		{"empty range at end", shards, 100, 100, 0, nil},
		{"past end", shards, 100, 50, 51, erasure.ErrInvalidRange},
		{"negative off", shards, 100, -1, 1, erasure.ErrInvalidRange},
		{"negative n", shards, 100, 0, -1, erasure.ErrInvalidRange},
		{"off past end", shards, 100, 101, 0, erasure.ErrInvalidRange},
		{"huge size", shards, erasure.ObjectSizeMax + 1, 0, 1, erasure.ErrInvalidRange},
		{"overflowing range", shards, 100, 1, 1<<63 - 1, erasure.ErrInvalidRange},
		{"too few sources", shards[:2], 100, 0, 1, erasure.ErrShardCount},
	}
	for _, tt := range tests {
		_, _, err := decode(t, c, tt.shards, id, tt.size, tt.off, tt.n)
		if !errors.Is(err, tt.wantError) || (tt.wantError == nil) != (err == nil) {
			t.Errorf("%s: err=%v, want %v", tt.name, err, tt.wantError)
		}
	}
}

func TestEncodeErrors(t *testing.T) {
	g := erasure.Geometry{DataShards: 2, ParityShards: 1, BlockSize: 64}
	c := codec(t, g)
	id := erasuretest.VersionID(1)
	data := erasuretest.Data(300, 1)
	if _, err := c.Encode(bytes.NewReader(data), id, make([]io.Writer, 2)); !errors.Is(err, erasure.ErrShardCount) {
		t.Errorf("2 writers: %v", err)
	}
	boom := errors.New("boom")
	w := []io.Writer{io.Discard, &failAfter{n: 1, err: boom}, io.Discard}
	_, err := c.Encode(bytes.NewReader(data), id, w)
	var se *erasure.ShardError
	if !errors.Is(err, boom) || !errors.As(err, &se) || se.Shard != 1 || se.Block != 0 || erasure.IsCorrupt(err) {
		t.Errorf("failing writer: %v", err)
	}
	w = []io.Writer{io.Discard, io.Discard, &failAfter{n: 3, err: boom}} // header and frames 0, 1
	_, err = c.Encode(bytes.NewReader(data), id, w)
	if !errors.As(err, &se) || se.Shard != 2 || se.Block != 2 || !errors.Is(err, boom) {
		t.Errorf("writer failing at block 2: %v", err)
	}
	_, err = c.Encode(io.MultiReader(bytes.NewReader(data), errReader{boom}), id, []io.Writer{io.Discard, io.Discard, io.Discard})
	if !errors.Is(err, boom) {
		t.Errorf("failing reader: %v", err)
	}
	stop := errors.New("stop")
	calls := 0
	n, err := c.EncodeStripes(bytes.NewReader(data), id, func(*erasure.Stripe) error { calls++; return stop })
	if err != stop || calls != 1 || n != g.StripeSize() {
		t.Errorf("callback error: n=%d calls=%d err=%v", n, calls, err)
	}
}

// failAfter accepts n writes, then fails every write with err.
type failAfter struct {
	n   int
	err error
}

func (f *failAfter) Write(p []byte) (int, error) {
	if f.n == 0 {
		return 0, f.err
	}
	f.n--
	return len(p), nil
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// TestEncodeStripesMatchesEncode checks that the callback API and the writer API
// produce the same frames, and that stripe indexes and lengths are as documented.
func TestEncodeStripesMatchesEncode(t *testing.T) {
	g := erasure.Geometry{DataShards: 3, ParityShards: 2, BlockSize: 64}
	c := codec(t, g)
	id := erasuretest.VersionID(5)
	for _, size := range []int{0, 1, 191, 192, 193, 1000} {
		data := erasuretest.Data(size, 5)
		want := erasuretest.Encode(t, g, id, data)
		got := make([][]byte, g.TotalShards())
		for i := range got {
			got[i], _ = erasure.Header{Geometry: g, ShardIndex: i, VersionID: id}.AppendBinary(nil)
		}
		var next int64
		n, err := c.EncodeStripes(bytes.NewReader(data), id, func(s *erasure.Stripe) error {
			if s.Index != next || s.BlockLen != erasure.BlockLen(g, int64(size), s.Index) {
				return fmt.Errorf("stripe %d (want %d) blockLen %d", s.Index, next, s.BlockLen)
			}
			next++
			for i := range got {
				got[i] = append(got[i], s.Frame(i)...)
			}
			return nil
		})
		if err != nil || n != int64(size) || next != erasure.StripeCount(g, int64(size)) {
			t.Fatalf("size %d: n=%d stripes=%d err=%v", size, n, next, err)
		}
		for i := range got {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("size %d shard %d differs", size, i)
			}
		}
	}
}

// TestEncodeToPipes encodes into blocking writers (io.Pipe) drained at different
// paces, as the PUT path does towards the network, and checks the bytes.
func TestEncodeToPipes(t *testing.T) {
	g := erasure.Geometry{DataShards: 3, ParityShards: 2, BlockSize: 128}
	c := codec(t, g)
	id := erasuretest.VersionID(8)
	data := erasuretest.Data(7*int(g.StripeSize())+50, 8)
	want := erasuretest.Encode(t, g, id, data)
	got := make([][]byte, g.TotalShards())
	w := make([]io.Writer, g.TotalShards())
	var wg sync.WaitGroup
	for i := range w {
		pr, pw := io.Pipe()
		w[i] = pw
		wg.Go(func() {
			buf := make([]byte, 1+i*17) // small, different read sizes
			for {
				n, err := pr.Read(buf)
				got[i] = append(got[i], buf[:n]...)
				if err != nil {
					return
				}
			}
		})
	}
	n, err := c.Encode(bytes.NewReader(data), id, w)
	for _, wi := range w {
		wi.(*io.PipeWriter).Close()
	}
	wg.Wait()
	if err != nil || n != int64(len(data)) {
		t.Fatalf("n=%d err=%v", n, err)
	}
	for i := range got {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("shard %d differs", i)
		}
	}
}

// TestNewShares checks that New validates and returns one shared Codec per geometry.
func TestNewShares(t *testing.T) {
	a, b := codec(t, erasure.DefaultGeometry), codec(t, erasure.DefaultGeometry)
	if a != b || a.Geometry() != erasure.DefaultGeometry {
		t.Errorf("New(DefaultGeometry) twice: %p %p", a, b)
	}
	if _, err := erasure.New(erasure.Geometry{DataShards: 4, ParityShards: 0, BlockSize: 64}); !errors.Is(err, erasure.ErrInvalidGeometry) {
		t.Errorf("New(4+0): %v", err)
	}
}

// TestEncodeStripe checks the in-memory stripe API against the streaming encoder and
// its argument checks.
func TestEncodeStripe(t *testing.T) {
	g := erasure.Geometry{DataShards: 3, ParityShards: 2, BlockSize: 64}
	c := codec(t, g)
	id := erasuretest.VersionID(2)
	data := erasuretest.Data(int(g.StripeSize()), 2)
	stored := erasuretest.Encode(t, g, id, data)
	shards := make([][]byte, g.TotalShards())
	for i := range shards {
		shards[i] = make([]byte, g.BlockSize)
		if i < g.DataShards {
			copy(shards[i], data[i*g.BlockSize:])
		}
	}
	if err := c.EncodeStripe(shards); err != nil {
		t.Fatal(err)
	}
	for i := range shards {
		if !bytes.Equal(shards[i], stored[i][erasure.HeaderSize+erasure.HashSize:]) {
			t.Fatalf("shard %d: EncodeStripe differs from Encode", i)
		}
	}
	for name, bad := range map[string][][]byte{
		"too few shards": shards[:4],
		"empty blocks":   make([][]byte, 5),
		"block too long": {make([]byte, 65), make([]byte, 65), make([]byte, 65), make([]byte, 65), make([]byte, 65)},
	} {
		if err := c.EncodeStripe(bad); !errors.Is(err, erasure.ErrShardCount) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := c.EncodeStripe([][]byte{make([]byte, 8), make([]byte, 8), make([]byte, 7), make([]byte, 8), make([]byte, 8)}); err == nil {
		t.Error("unequal blocks accepted")
	}
}

// TestDecodeWriteError checks that a failing output stops Decode with the writer's
// error.
func TestDecodeWriteError(t *testing.T) {
	g := erasure.Geometry{DataShards: 2, ParityShards: 1, BlockSize: 64}
	c := codec(t, g)
	id := erasuretest.VersionID(1)
	src := erasuretest.Sources(erasuretest.Encode(t, g, id, erasuretest.Data(500, 1)))
	boom := errors.New("client went away")
	_, err := c.Decode(&failAfter{n: 2, err: boom}, erasure.Source{VersionID: id, Size: 500, Shards: src}, 0, 500)
	if !errors.Is(err, boom) || erasure.IsCorrupt(err) {
		t.Fatalf("err=%v", err)
	}
}

// signalReaderAt closes seen when a read at offset at starts.
type signalReaderAt struct {
	io.ReaderAt
	at   int64
	once sync.Once
	seen chan struct{}
}

func (s *signalReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off == s.at {
		s.once.Do(func() { close(s.seen) })
	}
	return s.ReaderAt.ReadAt(p, off)
}

// waitingWriter blocks its first Write until seen is closed.
type waitingWriter struct {
	seen   chan struct{}
	waited bool
	timely bool
	buf    bytes.Buffer
}

func (w *waitingWriter) Write(p []byte) (int, error) {
	if !w.waited {
		w.waited = true
		select {
		case <-w.seen:
			w.timely = true
		case <-time.After(10 * time.Second):
		}
	}
	return w.buf.Write(p)
}

// TestDecodeReadsAhead checks that the next stripe is requested while the current one
// is being written: the first Write waits for the read of stripe 1 to start.
func TestDecodeReadsAhead(t *testing.T) {
	g := erasure.Geometry{DataShards: 2, ParityShards: 1, BlockSize: 64}
	c := codec(t, g)
	id := erasuretest.VersionID(4)
	data := erasuretest.Data(2*int(g.StripeSize()), 4)
	src := erasuretest.Sources(erasuretest.Encode(t, g, id, data))
	seen := make(chan struct{})
	src[0] = &signalReaderAt{ReaderAt: src[0], at: erasure.FrameOffset(g, 1), seen: seen}
	w := &waitingWriter{seen: seen}
	if _, err := c.Decode(w, erasure.Source{VersionID: id, Size: int64(len(data)), Shards: src}, 0, int64(len(data))); err != nil {
		t.Fatal(err)
	}
	if !w.timely || !bytes.Equal(w.buf.Bytes(), data) {
		t.Fatalf("stripe 1 read before the first write returned: %v; bytes equal: %v", w.timely, bytes.Equal(w.buf.Bytes(), data))
	}
}
