package erasure

import (
	"fmt"
	"sync"

	"github.com/klauspost/reedsolomon"
)

// codecCacheMax bounds how many distinct geometries New remembers; beyond it New
// builds a fresh, uncached Codec.
const codecCacheMax = 64

// codecs memoizes New per Geometry so that every caller of a geometry shares one
// reedsolomon encoder (its matrices and inversion cache) and one stripe-buffer pool.
// A Codec is immutable apart from its pool, so the cache holds no mutable state of
// interest and needs no reset.
var codecs struct {
	mu sync.Mutex
	m  map[Geometry]*Codec // guarded by mu
}

// Codec encodes and decodes objects of one Geometry. It is safe for concurrent use;
// obtain it with New and share it.
type Codec struct {
	g    Geometry
	enc  reedsolomon.Encoder
	pool sync.Pool // of *stripe
}

// New returns the Codec for g, shared with every other caller of New(g) (for the
// first codecCacheMax geometries a process uses; later ones get a private Codec). It
// fails with ErrInvalidGeometry when g does not validate.
func New(g Geometry) (*Codec, error) {
	if err := g.Validate(); err != nil {
		return nil, err
	}
	codecs.mu.Lock()
	c := codecs.m[g]
	codecs.mu.Unlock()
	if c != nil {
		return c, nil
	}
	// Built outside the lock: large geometries take milliseconds. A lost race builds
	// one spare encoder, which is harmless. One goroutine per call: requests are
	// already concurrent, and a stripe's parity costs a tenth of its hashing, so the
	// library's own fan-out would buy little and allocate on every stripe. Options
	// that only schedule work do not change the parity bytes; the matrix is the
	// default one (CodeRSVandermonde).
	enc, err := reedsolomon.New(g.DataShards, g.ParityShards, reedsolomon.WithMaxGoroutines(1))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidGeometry, err)
	}
	c = &Codec{g: g, enc: enc}
	c.pool.New = func() any { return newStripe(g) }
	codecs.mu.Lock()
	defer codecs.mu.Unlock()
	if prev := codecs.m[g]; prev != nil {
		return prev, nil
	}
	if codecs.m == nil {
		codecs.m = make(map[Geometry]*Codec)
	}
	if len(codecs.m) < codecCacheMax {
		codecs.m[g] = c
	}
	return c, nil
}

// Geometry returns the geometry of c.
func (c *Codec) Geometry() Geometry { return c.g }

// EncodeStripe computes parity in place: shards has k+m entries of equal length
// (1..BlockSize bytes); the first k are read, the last m overwritten. It keeps no
// reference to shards.
func (c *Codec) EncodeStripe(shards [][]byte) error {
	if len(shards) != c.g.TotalShards() {
		return fmt.Errorf("%w: %d shards for %v", ErrShardCount, len(shards), c.g)
	}
	n := len(shards[0])
	if n < 1 || n > c.g.BlockSize {
		return fmt.Errorf("%w: block of %d bytes for %v", ErrShardCount, n, c.g)
	}
	if err := c.enc.Encode(shards); err != nil {
		return fmt.Errorf("erasure: encode: %w", err)
	}
	return nil
}

// stripe is the pooled working memory of one stripe: one slab per shard, laid out as
// 32 bytes of padding, the HashSize-byte digest, then BlockSize bytes of block. The
// block starts 64 bytes into a 64-byte-aligned slab, so full blocks are aligned for
// the SIMD code, and digest || block is contiguous, so a frame is one read or write.
type stripe struct {
	slab    [][]byte   // k+m slabs of slabSize bytes, capacity-limited
	shards  [][]byte   // views handed to reedsolomon, re-sliced per stripe
	want    []bool     // shards whose block a decode step needs, k+m
	rebuild []bool     // ReconstructSome flags, k+m
	id      identity   // scratch for frame digests on the encode path
	ids     []identity // per-shard scratch for concurrent frame checks on the decode path
	errs    []error    // per-shard result of the last fetch on the decode path
	need    []int      // shard indexes to fetch next on the decode path, capacity k+m
}

const slabHead = 64 // padding + digest before each block in a slab

func newStripe(g Geometry) *stripe {
	n := g.TotalShards()
	// slabHead+BlockSize is a multiple of 64, so AllocAligned gives each slab exactly
	// that capacity, starting on a 64-byte boundary.
	return &stripe{
		slab:    reedsolomon.AllocAligned(n, slabHead+g.BlockSize),
		shards:  make([][]byte, n),
		want:    make([]bool, n),
		rebuild: make([]bool, n),
		ids:     make([]identity, n),
		errs:    make([]error, n),
		need:    make([]int, 0, n),
	}
}

// block returns shard i's block of n bytes (capacity BlockSize).
func (s *stripe) block(i, n int) []byte { return s.slab[i][slabHead : slabHead+n] }

// frame returns shard i's frame, digest || block, for a block of n bytes.
func (s *stripe) frame(i, n int) []byte { return s.slab[i][slabHead-HashSize : slabHead+n] }

func (c *Codec) getStripe() *stripe  { return c.pool.Get().(*stripe) }
func (c *Codec) putStripe(s *stripe) { c.pool.Put(s) }
