package fsm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/cockroachdb/pebble/v2"

	"github.com/coffer-io/coffer/cluster/meta"
)

// txn stages the writes of one command over the raft batch. Point reads see the
// staged writes; commit folds them into the batch, so a failed command leaves no
// trace. Iterators over the batch do not see staged writes, so executors iterate
// before they write.
type txn struct {
	b      *pebble.Batch
	index  uint64
	writes map[string]staged
	order  []string

	// ctr is the FSM's counters; local is this command's copy, copied back on commit.
	ctr   *counters
	local counters
}

// counters are the singleton values nearly every command changes. The apply
// goroutine keeps them in memory and writes them once per raft batch.
type counters struct {
	stats meta.Stats
	gcSeq uint64 // last garbage sequence number handed out
	dirty bool   // changed since last written to a batch
	// retired mirrors KeyRing.Retired (persisted with the ring, not by write). It is
	// replaced, never modified in place, so copies of counters may share it.
	retired []uint32
}

// checkSealable fails with meta.ErrKeyRetired if sse seals under a retired version.
func (t *txn) checkSealable(sse *meta.SSE) error {
	if sse.Mode.UsesMasterKey() && slices.Contains(t.local.retired, sse.MasterKeyVersion) {
		return fmt.Errorf("%w: version %d", meta.ErrKeyRetired, sse.MasterKeyVersion)
	}
	return nil
}

type staged struct {
	val []byte
	del bool
}

func newTxn(b *pebble.Batch, index uint64, ctr *counters) *txn {
	return &txn{b: b, index: index, writes: make(map[string]staged, 8), ctr: ctr, local: *ctr}
}

// reset readies t for the next command of the same batch, reusing its map and slice.
func (t *txn) reset(index uint64) {
	clear(t.writes)
	clear(t.order)
	t.order = t.order[:0]
	t.index, t.local = index, *t.ctr
}

// get returns a copy of the value at k, or found=false.
func (t *txn) get(k []byte) ([]byte, bool, error) {
	if w, ok := t.writes[string(k)]; ok {
		if w.del {
			return nil, false, nil
		}
		return w.val, true, nil
	}
	v, closer, err := t.b.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("%w: read: %v", meta.ErrInternal, err)
	}
	out := append([]byte(nil), v...)
	return out, true, closer.Close()
}

func (t *txn) put(k, v []byte) {
	s := string(k)
	if _, ok := t.writes[s]; !ok {
		t.order = append(t.order, s)
	}
	t.writes[s] = staged{val: v}
}

func (t *txn) del(k []byte) {
	s := string(k)
	if _, ok := t.writes[s]; !ok {
		t.order = append(t.order, s)
	}
	t.writes[s] = staged{del: true}
}

func (t *txn) getRecord(k []byte, v any) (bool, error) {
	b, ok, err := t.get(k)
	if !ok || err != nil {
		return false, err
	}
	if err := decodeRecord(b, v); err != nil {
		return false, fmt.Errorf("%w: %v", meta.ErrInternal, err)
	}
	return true, nil
}

func (t *txn) putRecord(k []byte, v any) error {
	b, err := encodeRecord(v)
	if err != nil {
		return fmt.Errorf("%w: %v", meta.ErrInternal, err)
	}
	t.put(k, b)
	return nil
}

func (t *txn) getVersion(bucket, key string) (*meta.Version, error) {
	b, ok, err := t.get(objectKey(bucket, key))
	if !ok || err != nil {
		return nil, err
	}
	v, err := decodeVersion(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", meta.ErrInternal, err)
	}
	return v, nil
}

func (t *txn) putVersion(v *meta.Version) error {
	b, err := encodeVersion(v)
	if err != nil {
		return fmt.Errorf("%w: %v", meta.ErrInternal, err)
	}
	t.put(objectKey(v.Bucket, v.Key), b)
	return nil
}

func (t *txn) getStats() (*meta.Stats, error) {
	t.local.dirty = true
	return &t.local.stats, nil
}

// census adds delta to the count of master-key version v.
func (t *txn) census(v uint32, delta int64) error {
	k := censusKey(v)
	b, ok, err := t.get(k)
	if err != nil {
		return err
	}
	var n uint64
	if ok {
		if len(b) != 8 {
			return fmt.Errorf("%w: census value of %d bytes", meta.ErrInternal, len(b))
		}
		n = binary.BigEndian.Uint64(b)
	}
	if delta < 0 && n < uint64(-delta) {
		return fmt.Errorf("%w: census of version %d would go negative", meta.ErrInternal, v)
	}
	n = uint64(int64(n) + delta)
	if n == 0 {
		t.del(k)
	} else {
		t.put(k, be64(n))
	}
	return nil
}

// enqueueGarbage appends item to the garbage queue with the next sequence number.
func (t *txn) enqueueGarbage(item meta.GarbageItem) error {
	t.local.gcSeq++
	seq := t.local.gcSeq
	item.Seq, item.Index = seq, t.index
	st, err := t.getStats()
	if err != nil {
		return err
	}
	st.Garbage++
	return t.putRecord(garbageKey(seq), &item)
}

// commit folds the staged writes into the batch.
func (t *txn) commit() error {
	for _, k := range t.order {
		w := t.writes[k]
		var err error
		if w.del {
			err = t.b.Delete([]byte(k), nil)
		} else {
			err = t.b.Set([]byte(k), w.val, nil)
		}
		if err != nil {
			return err
		}
	}
	*t.ctr = t.local
	return nil
}

// write stages the counters into b if they changed.
func (c *counters) write(b *pebble.Batch) error {
	if !c.dirty {
		return nil
	}
	st, err := encodeRecord(&c.stats)
	if err != nil {
		return err
	}
	if err := b.Set(kStats, st, nil); err != nil {
		return err
	}
	if err := b.Set(kGCSeq, be64(c.gcSeq), nil); err != nil {
		return err
	}
	c.dirty = false
	return nil
}

// readCounters loads the counters of a database.
func readCounters(db *pebble.DB) (counters, error) {
	var c counters
	if _, err := getRecord(db, kStats, &c.stats); err != nil {
		return c, err
	}
	b, found, err := getRaw(db, kGCSeq)
	if err != nil {
		return c, err
	}
	if found && len(b) != 8 {
		return c, fmt.Errorf("%w: garbage sequence of %d bytes", ErrCorrupt, len(b))
	}
	c.gcSeq = u64(b)
	var ring meta.KeyRing
	if _, err := getRecord(db, kRing, &ring); err != nil {
		return c, err
	}
	c.retired = ring.Retired
	return c, nil
}

// iterate calls fn for every key in [lower, upper) of the batch (not the staged
// writes); key and value are valid only during the call.
func (t *txn) iterate(lower, upper []byte, fn func(k, v []byte) error) error {
	it, err := t.b.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return fmt.Errorf("%w: %v", meta.ErrInternal, err)
	}
	for ok := it.First(); ok; ok = it.Next() {
		v, err := it.ValueAndErr()
		if err == nil {
			err = fn(it.Key(), v)
		}
		if err != nil {
			it.Close()
			return err
		}
	}
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		return fmt.Errorf("%w: %v", meta.ErrInternal, err)
	}
	return nil
}
