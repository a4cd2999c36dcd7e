package pipeline

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"errors"
	"fmt"
	"hash/crc64"
	"io"
	mrand "math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/coffer-io/coffer/erasure"
	"github.com/coffer-io/coffer/node"
	"github.com/coffer-io/coffer/sse"
)

// memShards is an in-memory Shards with per-node fault injection.
type memShards struct {
	mu    sync.Mutex
	data  map[string]map[node.ShardID][]byte
	down  map[string]bool // node refuses everything
	gets  int
	bytes int64 // bytes served by Get
}

func newMemShards() *memShards {
	return &memShards{data: map[string]map[node.ShardID][]byte{}, down: map[string]bool{}}
}

var errDown = errors.New("node down")

func (m *memShards) Put(ctx context.Context, nodeID string, id node.ShardID, size int64, r io.Reader) error {
	m.mu.Lock()
	down := m.down[nodeID]
	m.mu.Unlock()
	if down {
		return errDown
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if int64(len(b)) != size {
		return fmt.Errorf("short shard: %d of %d", len(b), size)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.data[nodeID] == nil {
		m.data[nodeID] = map[node.ShardID][]byte{}
	}
	m.data[nodeID][id] = b
	return nil
}

func (m *memShards) Get(ctx context.Context, nodeID string, id node.ShardID, off, n int64) (io.ReadCloser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down[nodeID] {
		return nil, errDown
	}
	b, ok := m.data[nodeID][id]
	if !ok {
		return nil, node.ErrNotFound
	}
	if off < 0 || off+n > int64(len(b)) {
		return nil, fmt.Errorf("range %d+%d outside %d", off, n, len(b))
	}
	m.gets++
	m.bytes += n
	return io.NopCloser(bytes.NewReader(b[off : off+n])), nil
}

func (m *memShards) setDown(nodeID string, down bool) {
	m.mu.Lock()
	m.down[nodeID] = down
	m.mu.Unlock()
}

var testGeometry = erasure.Geometry{DataShards: 4, ParityShards: 2, BlockSize: 4096}

func nodes(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("n%d", i)
	}
	return out
}

func newPipeline(t testing.TB, g erasure.Geometry, s Shards) *Pipeline {
	t.Helper()
	c, err := erasure.New(g)
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(c, s, 0)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

type stored struct {
	req  PutRequest
	data []byte
	res  PutResult
}

func put(t *testing.T, p *Pipeline, size int) stored {
	t.Helper()
	data := make([]byte, size)
	rand.Read(data)
	req := PutRequest{Size: int64(size), Nodes: nodes(p.Geometry().TotalShards())}
	rand.Read(req.VersionID[:])
	rand.Read(req.Key[:])
	rand.Read(req.Nonce[:])
	req.Body = bytes.NewReader(data)
	res, err := p.Put(context.Background(), req)
	if err != nil {
		t.Fatalf("put %d bytes: %v", size, err)
	}
	return stored{req: req, data: data, res: res}
}

func (s stored) get(t *testing.T, p *Pipeline, off, n int64) ([]byte, erasure.Report, error) {
	t.Helper()
	var buf bytes.Buffer
	rep, err := p.Get(context.Background(), &buf, GetRequest{
		VersionID: s.req.VersionID, Geometry: p.Geometry(), Nodes: s.req.Nodes,
		Key: s.req.Key, PlainSize: s.req.Size, Off: off, N: n,
	})
	return buf.Bytes(), rep, err
}

func TestRoundTrip(t *testing.T) {
	ms := newMemShards()
	p := newPipeline(t, testGeometry, ms)
	stripe := int(testGeometry.StripeSize())
	for _, size := range []int{0, 1, 100, stripe - 13, stripe, stripe + 1, 64 << 10, 64<<10 + 1, 5*stripe + 77, 300 << 10} {
		s := put(t, p, size)
		if s.res.MD5 != md5.Sum(s.data) {
			t.Errorf("size %d: MD5 mismatch", size)
		}
		if want := crc64.Checksum(s.data, crc64.MakeTable(crc64.ECMA)); s.res.CRC64 != want {
			t.Errorf("size %d: CRC64 %d, want %d", size, s.res.CRC64, want)
		}
		if len(s.res.Missing) != 0 {
			t.Errorf("size %d: missing %v", size, s.res.Missing)
		}
		got, _, err := s.get(t, p, 0, int64(size))
		if err != nil || !bytes.Equal(got, s.data) {
			t.Fatalf("size %d: whole read: err %v, equal %v", size, err, bytes.Equal(got, s.data))
		}
		rnd := mrand.New(mrand.NewPCG(uint64(size), 1))
		for i := 0; i < 20 && size > 0; i++ {
			off := rnd.Int64N(int64(size))
			n := 1 + rnd.Int64N(int64(size)-off)
			got, _, err := s.get(t, p, off, n)
			if err != nil || !bytes.Equal(got, s.data[off:off+n]) {
				t.Fatalf("size %d range %d+%d: err %v", size, off, n, err)
			}
		}
	}
}

func TestRangeReadsOnlyCoveringStripes(t *testing.T) {
	ms := newMemShards()
	p := newPipeline(t, testGeometry, ms)
	stripe := testGeometry.StripeSize()
	s := put(t, p, int(20*stripe))
	ms.bytes = 0
	off := 10*stripe + 5
	got, _, err := s.get(t, p, off, 100)
	if err != nil || !bytes.Equal(got, s.data[off:off+100]) {
		t.Fatalf("range read: %v", err)
	}
	// The range touches only the stripes under its covering packages (a 64 KiB package
	// spans several 16 KiB stripes here), plus stripe 0 for the stream header.
	rng, err := sse.MapRange(s.req.Size, off, 100)
	if err != nil {
		t.Fatal(err)
	}
	stripes := (rng.Offset+rng.Length-1)/stripe - rng.Offset/stripe + 1
	frame := int64(erasure.HashSize + testGeometry.BlockSize)
	k := int64(testGeometry.DataShards)
	if limit := (stripes+1)*k*frame + k*erasure.HeaderSize; ms.bytes > limit {
		t.Errorf("range read fetched %d bytes, want at most %d", ms.bytes, limit)
	}
	if whole := erasure.ShardSize(testGeometry, sse.CiphertextSize(s.req.Size)) * k; ms.bytes > whole/3 {
		t.Errorf("range read fetched %d bytes of %d", ms.bytes, whole)
	}
}

func TestPutToleratesFailedNodes(t *testing.T) {
	ms := newMemShards()
	p := newPipeline(t, testGeometry, ms)
	ms.setDown("n1", true)
	s := put(t, p, 50_000)
	if len(s.res.Missing) != 1 || s.res.Missing[0] != 1 {
		t.Fatalf("missing %v, want [1]", s.res.Missing)
	}
	ms.setDown("n1", false)
	got, _, err := s.get(t, p, 0, s.req.Size)
	if err != nil || !bytes.Equal(got, s.data) {
		t.Fatalf("read with a missing shard: %v", err)
	}

	// Quorum is k+1 = 5: two failed nodes make the write fail.
	ms.setDown("n2", true)
	ms.setDown("n4", true)
	req := PutRequest{Body: bytes.NewReader(make([]byte, 1000)), Size: 1000, Nodes: nodes(6)}
	if _, err := p.Put(context.Background(), req); !errors.Is(err, ErrQuorum) {
		t.Fatalf("put with 2 nodes down: %v, want ErrQuorum", err)
	}
}

func TestGetReconstructs(t *testing.T) {
	ms := newMemShards()
	p := newPipeline(t, testGeometry, ms)
	s := put(t, p, 7*int(testGeometry.StripeSize())+3)
	// Any two shards missing (node down or known missing) still read back exactly.
	for a := 0; a < 6; a++ {
		for b := a + 1; b < 6; b++ {
			ms.setDown(fmt.Sprintf("n%d", a), true)
			nodes := append([]string(nil), s.req.Nodes...)
			nodes[b] = ""
			var buf bytes.Buffer
			_, err := p.Get(context.Background(), &buf, GetRequest{
				VersionID: s.req.VersionID, Geometry: testGeometry, Nodes: nodes,
				Key: s.req.Key, PlainSize: s.req.Size, Off: 0, N: s.req.Size,
			})
			ms.setDown(fmt.Sprintf("n%d", a), false)
			if err != nil || !bytes.Equal(buf.Bytes(), s.data) {
				t.Fatalf("shards %d and %d missing: %v", a, b, err)
			}
		}
	}
	// Three missing is too many.
	for _, n := range []string{"n0", "n1", "n2"} {
		ms.setDown(n, true)
	}
	if _, _, err := s.get(t, p, 0, s.req.Size); err == nil {
		t.Fatal("read with 3 of 6 shards missing succeeded")
	}
}

func TestGetDetectsCorruption(t *testing.T) {
	ms := newMemShards()
	p := newPipeline(t, testGeometry, ms)
	s := put(t, p, 3*int(testGeometry.StripeSize()))
	id := node.ShardID{Version: s.req.VersionID, Index: 2}
	ms.data["n2"][id][erasure.HeaderSize+erasure.HashSize+10] ^= 0x40
	got, rep, err := s.get(t, p, 0, s.req.Size)
	if err != nil || !bytes.Equal(got, s.data) {
		t.Fatalf("read with one corrupt block: %v", err)
	}
	if bad := rep.BadShards(); len(bad) != 1 || bad[0] != 2 {
		t.Fatalf("report names shards %v, want [2]", bad)
	}
}

func TestGetWrongKeyFails(t *testing.T) {
	ms := newMemShards()
	p := newPipeline(t, testGeometry, ms)
	s := put(t, p, 10_000)
	s.req.Key[0] ^= 1
	if _, _, err := s.get(t, p, 0, s.req.Size); !errors.Is(err, sse.ErrAuth) {
		t.Fatalf("wrong key: %v, want sse.ErrAuth", err)
	}
}

func TestPutBodyChecks(t *testing.T) {
	ms := newMemShards()
	p := newPipeline(t, testGeometry, ms)
	body := make([]byte, 5000)
	sum := md5.Sum(body)
	tests := []struct {
		name string
		body []byte
		size int64
		md5  []byte
		want error
	}{
		{"short body", body[:4000], 5000, nil, ErrSize},
		{"long body", body, 4000, nil, ErrSize},
		{"bad Content-MD5", body, 5000, make([]byte, 16), ErrBadDigest},
		{"good Content-MD5", body, 5000, sum[:], nil},
	}
	for _, tt := range tests {
		req := PutRequest{Body: bytes.NewReader(tt.body), Size: tt.size, Nodes: nodes(6), ContentMD5: tt.md5}
		_, err := p.Put(context.Background(), req)
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestNoPlaintextReachesShards(t *testing.T) {
	ms := newMemShards()
	p := newPipeline(t, testGeometry, ms)
	marker := []byte("COFFER-PLAINTEXT-MARKER-3f9a1c")
	data := bytes.Repeat(marker, 5000)
	req := PutRequest{Body: bytes.NewReader(data), Size: int64(len(data)), Nodes: nodes(6)}
	rand.Read(req.Key[:])
	if _, err := p.Put(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	for n, shards := range ms.data {
		for id, b := range shards {
			if bytes.Contains(b, marker[:16]) {
				t.Fatalf("plaintext found in shard %v on %s", id, n)
			}
		}
	}
}

// discardShards accepts every shard and keeps nothing: it measures the pipeline alone.
type discardShards struct{}

func (discardShards) Put(ctx context.Context, nodeID string, id node.ShardID, size int64, r io.Reader) error {
	_, err := io.Copy(io.Discard, r)
	return err
}

func (discardShards) Get(ctx context.Context, nodeID string, id node.ShardID, off, n int64) (io.ReadCloser, error) {
	return nil, node.ErrNotFound
}

// stallShards wraps memShards: the stalled node stops reading after its first
// bytes (stallRead) or takes every byte but never answers (stallAck), until the
// upload's context ends, as a partitioned node would.
type stallShards struct {
	*memShards
	node      string
	stallRead bool
}

func (s stallShards) Put(ctx context.Context, nodeID string, id node.ShardID, size int64, r io.Reader) error {
	if nodeID != s.node {
		return s.memShards.Put(ctx, nodeID, id, size, r)
	}
	if s.stallRead {
		io.CopyN(io.Discard, r, 100)
	} else {
		io.Copy(io.Discard, r)
	}
	<-ctx.Done()
	return ctx.Err()
}

// A node that stops reading, or never acknowledges, costs the PUT at most the stall
// timeout; the shard is recorded missing and the object reads back.
func TestPutDropsStalledShard(t *testing.T) {
	for _, stallRead := range []bool{true, false} {
		ms := newMemShards()
		p := newPipeline(t, testGeometry, stallShards{memShards: ms, node: "n3", stallRead: stallRead})
		p.SetStallTimeout(200 * time.Millisecond)
		data := make([]byte, 3*int(testGeometry.StripeSize())+5)
		rand.Read(data)
		req := PutRequest{Body: bytes.NewReader(data), Size: int64(len(data)), Nodes: nodes(6)}
		rand.Read(req.Key[:])
		start := time.Now()
		res, err := p.Put(context.Background(), req)
		if err != nil {
			t.Fatalf("stallRead=%v: %v", stallRead, err)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("stallRead=%v: PUT took %v", stallRead, took)
		}
		if len(res.Missing) != 1 || res.Missing[0] != 3 {
			t.Fatalf("stallRead=%v: missing %v, want [3]", stallRead, res.Missing)
		}
		s := stored{req: req, data: data, res: res}
		got, _, err := s.get(t, newPipeline(t, testGeometry, ms), 0, req.Size)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("stallRead=%v: read back: %v", stallRead, err)
		}
	}
}
