package erasure

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
)

// FaultsMax bounds the faults a Report lists; more are only counted.
const FaultsMax = 64

// Source is a stored object to decode.
type Source struct {
	VersionID [16]byte // the object version the shards must belong to
	Size      int64    // object size in bytes, as returned by Encode
	// Shards has k+m entries; nil marks a missing shard. Shards[i] reads shard i's
	// stored stream (header and frames) at stream offsets. Decode calls ReadAt from
	// several goroutines at once, at most one call per shard at a time.
	Shards []io.ReaderAt
}

// Report lists the shard faults a Decode met, so the caller can queue healing.
// Missing (nil) sources are not faults.
type Report struct {
	Faults  []*ShardError // read errors and corrupt blocks, in the order found, at most FaultsMax
	Dropped int           // faults found beyond FaultsMax
}

// BadShards returns the sorted indexes of the shards with faults in r.
func (r *Report) BadShards() []int {
	var out []int
	for _, f := range r.Faults {
		if !slices.Contains(out, f.Shard) {
			out = append(out, f.Shard)
		}
	}
	slices.Sort(out)
	return out
}

// shard state within one stripe of a decode
const (
	unread uint8 = iota
	good
	bad
)

// Decode writes the object bytes [off, off+n) of src to w. It reads only the stripes
// that cover the range and, while every needed data block reads and verifies, only the
// data shards that cover it, one frame per shard and stripe (concurrently when a stripe
// needs several shards), and reads the next stripe ahead into a second buffer while
// it writes the current one. Every block read is verified against src.VersionID, its shard
// index and its position (Header.VerifyFrame). A missing shard, a read error or a
// corrupt block is replaced by reconstruction from other shards; a shard with a read
// error is not asked again during this call. The faults are listed in the Report even
// when Decode succeeds.
//
// When a stripe has fewer than k usable shards Decode fails with ErrTooFewShards joined
// with that stripe's faults (so IsCorrupt tells whether corruption was involved), after
// writing the bytes of the earlier stripes. Other errors: ErrShardCount, ErrInvalidRange
// (off, n or Size out of bounds), and w's errors.
func (c *Codec) Decode(w io.Writer, src Source, off, n int64) (Report, error) {
	var rep Report
	g := c.g
	if len(src.Shards) != g.TotalShards() {
		return rep, fmt.Errorf("%w: %d sources for %v", ErrShardCount, len(src.Shards), g)
	}
	if src.Size < 0 || src.Size > ObjectSizeMax || off < 0 || n < 0 || off > src.Size || n > src.Size-off {
		return rep, fmt.Errorf("%w: [%d, +%d) of a %d-byte object", ErrInvalidRange, off, n, src.Size)
	}
	if n == 0 {
		return rep, nil
	}
	d := newDecoder(c, src, &rep)
	defer d.close()
	for s := off / g.StripeSize(); s*g.StripeSize() < off+n; s++ {
		if err := d.stripe(w, s, off, off+n); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// decoder is the state of one Decode or Rebuild call.
type decoder struct {
	c     *Codec
	src   Source
	rep   *Report
	st    *stripe // buffer of the stripe being loaded
	spare *stripe // the other buffer when Decode reads ahead, else nil
	state []uint8 // per shard, for the stripe being loaded
	dead  []bool  // per shard: not to be read again in this call; allocated on first need
	ahead int64   // stripe whose first read round is in flight in st, or -1

	// Concurrent reads: up to ReadersMax reader goroutines, started on first need and
	// stopped and joined by close. One round of reads is in flight at a time: issue
	// sets cur and round and queues shard indexes on reqs; each reader stores its
	// result in cur.st.errs[i] and signals done; collect waits for the whole round.
	// The channel operations order every access to cur and errs.
	cur     frameReq
	round   []int
	reqs    chan int
	done    chan struct{}
	running int
	readers sync.WaitGroup
}

// ReadersMax bounds the goroutines one Decode or Rebuild call reads shards with.
const ReadersMax = 16

type frameReq struct {
	st       *stripe
	s        int64
	blockLen int
}

func newDecoder(c *Codec, src Source, rep *Report) *decoder {
	n := c.g.TotalShards()
	return &decoder{c: c, src: src, rep: rep, st: c.getStripe(), state: make([]uint8, n), ahead: -1, round: make([]int, 0, n)}
}

// close stops and joins the reader goroutines, then returns the buffers to the pool.
func (d *decoder) close() {
	if d.reqs != nil {
		close(d.reqs)
	}
	d.readers.Wait()
	d.c.putStripe(d.st)
	if d.spare != nil {
		d.c.putStripe(d.spare)
	}
}

// stripe decodes stripe s and writes its part of [lo, hi) to w. Before writing, it
// starts reading the next stripe of the range into the other buffer, so the reads
// overlap the write.
func (d *decoder) stripe(w io.Writer, s, lo, hi int64) error {
	first, last, jlo, jhi, blockLen := d.span(s, lo, hi)
	if err := d.load(s, blockLen); err != nil {
		return err
	}
	st := d.st
	if next := s + 1; next*d.c.g.StripeSize() < hi {
		d.readAhead(next, lo, hi)
	}
	base := s * d.c.g.StripeSize()
	for j := jlo; j <= jhi; j++ {
		start := base + int64(j*blockLen)
		a, b := max(first, start)-start, min(last, start+int64(blockLen))-start
		if _, err := w.Write(st.shards[j][a:b]); err != nil {
			return fmt.Errorf("erasure: write output: %w", err)
		}
	}
	return nil
}

// span returns the object bytes [first, last) of [lo, hi) in stripe s, the data
// shards jlo..jhi holding them, and the stripe's block length; it sets st.want to
// those shards.
func (d *decoder) span(s, lo, hi int64) (first, last int64, jlo, jhi, n int) {
	g := d.c.g
	n = blockLen(g, d.src.Size, s)
	base := s * g.StripeSize()
	first, last = max(lo, base), min(hi, base+int64(g.DataShards*n))
	jlo, jhi = int((first-base)/int64(n)), int((last-1-base)/int64(n))
	for i := range d.st.want {
		d.st.want[i] = i >= jlo && i <= jhi
	}
	return first, last, jlo, jhi, n
}

// readAhead switches to the other buffer and issues the first read round of stripe s
// (its wanted data shards) without waiting for it; load(s) collects it.
func (d *decoder) readAhead(s, lo, hi int64) {
	if d.spare == nil {
		d.spare = d.c.getStripe()
	}
	d.st, d.spare = d.spare, d.st
	_, _, _, _, blockLen := d.span(s, lo, hi)
	d.begin()
	if need := d.wanted(); len(need) > 0 {
		d.issue(need, s, blockLen)
		d.ahead = s
	}
}

// begin resets the shard states for a new stripe.
func (d *decoder) begin() {
	for i := range d.state {
		d.state[i] = unread
		if d.src.Shards[i] == nil || (d.dead != nil && d.dead[i]) {
			d.state[i] = bad
		}
	}
}

// wanted returns the wanted shards not read yet.
func (d *decoder) wanted() []int {
	need := d.st.need[:0]
	for i, w := range d.st.want {
		if w && d.state[i] == unread {
			need = append(need, i)
		}
	}
	return need
}

// load makes st.shards[i] hold block s (blockLen bytes) of every shard i with
// st.want[i], read and verified or reconstructed in place in its slab. Wanted shards
// are read first (unless readAhead already issued them); if any of them is unusable,
// more shards (data first) are read until k verify, and the wanted ones are rebuilt
// from those.
func (d *decoder) load(s int64, blockLen int) error {
	g, st := d.c.g, d.st
	k, total := g.DataShards, g.TotalShards()
	var faults []error
	if d.ahead == s {
		d.ahead = -1
		faults = d.collect(faults)
	} else {
		d.begin()
		faults = d.fetch(d.wanted(), s, blockLen, faults)
	}
	missing := false
	for i := range total {
		missing = missing || (st.want[i] && d.state[i] != good)
	}
	if !missing {
		for i := range total {
			if st.want[i] {
				st.shards[i] = st.block(i, blockLen)
			}
		}
		return nil
	}
	for {
		have := 0
		need := st.need[:0]
		for i := range total {
			if d.state[i] == good {
				have++
			}
		}
		if have >= k {
			break
		}
		for i := 0; i < total && len(need) < k-have; i++ {
			if d.state[i] == unread {
				need = append(need, i)
			}
		}
		if len(need) == 0 {
			err := fmt.Errorf("%w: stripe %d: %d of %d shards usable", ErrTooFewShards, s, have, k)
			return errors.Join(append([]error{err}, faults...)...)
		}
		faults = d.fetch(need, s, blockLen, faults)
	}
	for i := range total {
		if d.state[i] == good {
			st.shards[i] = st.block(i, blockLen)
		} else {
			st.shards[i] = st.block(i, 0) // empty with capacity: rebuilt in place
		}
		st.rebuild[i] = st.want[i] && d.state[i] != good
	}
	if err := d.c.enc.ReconstructSome(st.shards, st.rebuild); err != nil {
		panic(fmt.Sprintf("erasure: reconstruct of a %v stripe with k verified shards failed: %v", g, err))
	}
	for i := range total {
		if st.rebuild[i] && &st.shards[i][0] != &st.block(i, 1)[0] {
			panic("erasure: reconstruction did not reuse the stripe buffer")
		}
	}
	return nil
}

// fetch reads and verifies frame s of the listed shards into st, concurrently when
// there are several, sets their state and records faults (appending them to faults).
func (d *decoder) fetch(idx []int, s int64, blockLen int, faults []error) []error {
	switch len(idx) {
	case 0:
		return faults
	case 1:
		d.cur = frameReq{st: d.st, s: s, blockLen: blockLen}
		d.round = append(d.round[:0], idx[0])
		d.st.errs[idx[0]] = d.read(d.cur, idx[0])
		return d.settle(faults)
	default:
		d.issue(idx, s, blockLen)
		return d.collect(faults)
	}
}

// issue queues one read round without waiting for it.
func (d *decoder) issue(idx []int, s int64, blockLen int) {
	if d.reqs == nil {
		d.reqs = make(chan int, len(d.state))
		d.done = make(chan struct{}, len(d.state))
	}
	d.cur = frameReq{st: d.st, s: s, blockLen: blockLen}
	d.round = append(d.round[:0], idx...)
	for n, i := range d.round {
		if d.running < min(n+1, ReadersMax) {
			d.running++
			d.readers.Go(func() {
				for i := range d.reqs {
					d.cur.st.errs[i] = d.read(d.cur, i)
					d.done <- struct{}{}
				}
			})
		}
		d.reqs <- i
	}
}

// collect waits for the round in flight and settles it.
func (d *decoder) collect(faults []error) []error {
	for range d.round {
		<-d.done
	}
	return d.settle(faults)
}

// settle turns the results of the finished round into shard states and faults.
func (d *decoder) settle(faults []error) []error {
	st, s := d.cur.st, d.cur.s
	for _, i := range d.round {
		err := st.errs[i]
		st.errs[i] = nil
		if err == nil {
			d.state[i] = good
			continue
		}
		d.state[i] = bad
		se, ok := err.(*ShardError)
		if !ok || se.Shard != i {
			se = &ShardError{Shard: i, Block: s, Err: err}
		}
		if !IsCorrupt(err) {
			if d.dead == nil {
				d.dead = make([]bool, len(d.state))
			}
			d.dead[i] = true
		}
		faults = append(faults, se)
		if len(d.rep.Faults) < FaultsMax {
			d.rep.Faults = append(d.rep.Faults, se)
		} else {
			d.rep.Dropped++
		}
	}
	return faults
}

// read reads frame r.s of shard i into r.st and verifies it.
func (d *decoder) read(r frameReq, i int) error {
	frame := r.st.frame(i, r.blockLen)
	n, err := d.src.Shards[i].ReadAt(frame, FrameOffset(d.c.g, r.s))
	if n < len(frame) {
		if err == nil || errors.Is(err, io.EOF) {
			return corruptf(i, r.s, "shard truncated: frame has %d of %d bytes", n, len(frame))
		}
		return err
	}
	h := Header{Geometry: d.c.g, ShardIndex: i, VersionID: d.src.VersionID}
	_, err = h.verifyFrame(&r.st.ids[i], r.s, frame)
	return err
}
