package erasure

import (
	"errors"
	"fmt"
	"io"
	"sync"
)

// Stripe is one encoded stripe as EncodeStripes hands it to its callback. It and the
// frames it returns are valid only until the callback returns.
type Stripe struct {
	Index    int64 // stripe number, which is the frame number in every shard
	BlockLen int   // bytes in each shard block of this stripe (BlockSize but in a short last stripe)
	s        *stripe
}

// Frame returns shard i's frame of this stripe, digest || block (HashSize+BlockLen
// bytes). It aliases the encoder's pooled buffer: write or copy it before the callback
// returns, and do not modify it.
func (s *Stripe) Frame(i int) []byte { return s.s.frame(i, s.BlockLen) }

// EncodeStripes reads r to EOF once, cuts it into stripes of k*BlockSize bytes (the
// last may be short), computes parity and the frame digests of each stripe for the
// object version versionID, and calls fn once per stripe in order. Shard i's stored
// stream is its Header followed by Frame(i) of every stripe; writing the headers is the
// caller's job. Memory use is one pooled stripe buffer, whatever the object size.
//
// It returns the object size (the bytes read). A read error, an object over
// ObjectSizeMax (ErrTooLarge) or an error from fn stops the encoding and is returned;
// an error from fn is returned as is.
func (c *Codec) EncodeStripes(r io.Reader, versionID [16]byte, fn func(*Stripe) error) (int64, error) {
	st := c.getStripe()
	defer c.putStripe(st)
	var size int64
	out := Stripe{s: st}
	for idx := int64(0); ; idx++ {
		blockLen, last, err := c.next(r, st, &size)
		if err != nil || blockLen == 0 {
			return size, err
		}
		for i := range st.shards {
			st.id.digest(st.slab[i][slabHead-HashSize:slabHead], &versionID, i, idx, st.shards[i])
		}
		out.Index, out.BlockLen = idx, blockLen
		if err := fn(&out); err != nil {
			return size, err
		}
		if last {
			return size, nil
		}
	}
}

// next reads the next stripe of r into st and computes its parity; st.shards then
// holds the k+m blocks. It returns the block length (0 at the end of r), whether this
// was the last stripe (a short one), and read errors or ErrTooLarge. *size counts the
// bytes read.
func (c *Codec) next(r io.Reader, st *stripe, size *int64) (blockLen int, last bool, err error) {
	k, full := c.g.DataShards, int(c.g.StripeSize())
	n, err := st.fill(r, k, c.g.BlockSize)
	if err != nil {
		return 0, false, fmt.Errorf("erasure: read object: %w", err)
	}
	if n == 0 {
		return 0, true, nil
	}
	if *size += int64(n); *size > ObjectSizeMax {
		return 0, false, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, ObjectSizeMax)
	}
	blockLen = c.g.BlockSize
	if n < full {
		blockLen = (n + k - 1) / k
		st.spread(k, c.g.BlockSize, n, blockLen)
	}
	for i := range st.shards {
		st.shards[i] = st.block(i, blockLen)
	}
	if err := c.enc.Encode(st.shards); err != nil {
		panic(fmt.Sprintf("erasure: encode of a valid %v stripe failed: %v", c.g, err))
	}
	if invariants {
		if ok, err := c.enc.Verify(st.shards); !ok || err != nil {
			panic(fmt.Sprintf("erasure: parity of a %v stripe does not verify: %v", c.g, err))
		}
	}
	return blockLen, n < full, nil
}

// Encode writes the k+m shard streams (header, then frames) of the object read from r
// to w[i], and returns the object size. It is pipelined: while one goroutine per
// shard hashes and writes its block of stripe s, the caller's goroutine reads and
// encodes stripe s+1 (two pooled stripe buffers). So each writer sees one Write at a
// time, in order, but different writers are written concurrently (so the same writer
// must not appear twice unless it is safe for concurrent use), and reading r overlaps
// the writes. The output is byte-identical to EncodeStripes'.
//
// Encode stops at the first write error and returns it as a *ShardError naming the
// shard and block, after the writes in flight have finished; callers that must
// tolerate failing shards (a PUT needs only k+1) wrap their writers. No goroutine
// outlives the call.
func (c *Codec) Encode(r io.Reader, versionID [16]byte, w []io.Writer) (int64, error) {
	if len(w) != c.g.TotalShards() {
		return 0, fmt.Errorf("%w: %d writers for %v", ErrShardCount, len(w), c.g)
	}
	for i, wi := range w {
		hdr, err := Header{Geometry: c.g, ShardIndex: i, VersionID: versionID}.AppendBinary(make([]byte, 0, HeaderSize))
		if err != nil {
			return 0, err
		}
		if _, err := wi.Write(hdr); err != nil {
			return 0, &ShardError{Shard: i, Block: HeaderBlock, Err: err}
		}
	}
	p := newShardWriters(&versionID, w)
	defer p.stop()
	bufs := [2]*stripe{c.getStripe(), c.getStripe()}
	defer func() { // after stop: no writer holds a buffer any more
		c.putStripe(bufs[0])
		c.putStripe(bufs[1])
	}()
	var size int64
	inflight := false
	for idx := int64(0); ; idx++ {
		st := bufs[idx%2]
		blockLen, last, err := c.next(r, st, &size)
		if inflight {
			// Stripe idx-1 must be written before its buffer is reused for idx+1.
			if werr := p.wait(); werr != nil {
				return size, werr
			}
			inflight = false
		}
		if err != nil || blockLen == 0 {
			return size, err
		}
		p.send(st, idx, blockLen)
		inflight = true
		if last {
			return size, p.wait()
		}
	}
}

// shardWriters is the set of goroutines, one per shard, that hash and write an
// Encode's frames. send hands every shard the same stripe; wait collects one result
// per shard. stop closes the job channels and joins the goroutines.
type shardWriters struct {
	jobs []chan shardJob
	done chan *ShardError
	wg   sync.WaitGroup
}

type shardJob struct {
	st       *stripe
	idx      int64
	blockLen int
}

func newShardWriters(versionID *[16]byte, w []io.Writer) *shardWriters {
	p := &shardWriters{jobs: make([]chan shardJob, len(w)), done: make(chan *ShardError, len(w))}
	for i, wi := range w {
		jobs := make(chan shardJob, 1)
		p.jobs[i] = jobs
		p.wg.Go(func() {
			for j := range jobs {
				j.st.ids[i].digest(j.st.slab[i][slabHead-HashSize:slabHead], versionID, i, j.idx, j.st.shards[i])
				var serr *ShardError
				if _, err := wi.Write(j.st.frame(i, j.blockLen)); err != nil {
					serr = &ShardError{Shard: i, Block: j.idx, Err: err}
				}
				p.done <- serr
			}
		})
	}
	return p
}

func (p *shardWriters) send(st *stripe, idx int64, blockLen int) {
	for _, jobs := range p.jobs {
		jobs <- shardJob{st: st, idx: idx, blockLen: blockLen}
	}
}

// wait returns the error of the lowest-numbered shard that failed, or nil.
func (p *shardWriters) wait() error {
	var first *ShardError
	for range p.jobs {
		if err := <-p.done; err != nil && (first == nil || err.Shard < first.Shard) {
			first = err
		}
	}
	if first == nil {
		return nil
	}
	return first
}

func (p *shardWriters) stop() {
	for _, jobs := range p.jobs {
		close(jobs)
	}
	p.wg.Wait()
}

// fill reads up to k*B bytes of r into the k data blocks, B bytes each in order. It
// returns the bytes read; reaching EOF is not an error.
func (s *stripe) fill(r io.Reader, k, B int) (int, error) {
	n := 0
	for j := range k {
		m, err := io.ReadFull(r, s.block(j, B))
		n += m
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// spread rearranges a short stripe of n < k*B bytes, read into the data blocks B bytes
// at a time, into k blocks of blockLen = ceil(n/k) bytes, and zero-pads the tail.
// Object byte p moves from block p/B to block p/blockLen. Targets are filled from the
// last to the first; a target t reads only blocks ≤ t, every block below t is still
// untouched, and the part that comes from block t itself moves towards the end of the
// block (blockLen ≤ B), so copy's memmove is safe and runs first.
func (s *stripe) spread(k, B, n, blockLen int) {
	for t := k - 1; t >= 0; t-- {
		dst := s.block(t, blockLen)
		lo, hi := t*blockLen, min((t+1)*blockLen, n)
		if lo >= hi {
			clear(dst)
			continue
		}
		for p := hi; p > lo; {
			src := (p - 1) / B
			seg := max(lo, src*B)
			copy(dst[seg-lo:p-lo], s.block(src, B)[seg-src*B:p-src*B])
			p = seg
		}
		clear(dst[hi-lo:])
	}
}
