package fsm

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"slices"

	"github.com/cockroachdb/pebble/v2"
	"github.com/hashicorp/raft"
)

// Snapshot stream constants (see the package doc). They never change meaning.
const (
	snapMagic   = "COFSNAP1"
	snapVersion = 1
	tagRecord   = 'K'
	tagEnd      = 'E'

	// SnapshotKeyBytesMax bounds one key in a snapshot stream.
	SnapshotKeyBytesMax = 64 << 10
	// SnapshotValueBytesMax bounds one value in a snapshot stream.
	SnapshotValueBytesMax = 64 << 20
	// restoreBatchBytes is the batch size Restore commits at.
	restoreBatchBytes = 4 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// snapshot is a point-in-time view for raft.FSMSnapshot.
type snapshot struct {
	h    *handle
	snap *pebble.Snapshot
}

// Snapshot implements raft.FSM. It only takes a Pebble snapshot; Persist streams it.
func (f *FSM) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.h == nil {
		return nil, ErrClosed
	}
	f.h.refs.Add(1)
	return &snapshot{h: f.h, snap: f.h.db.NewSnapshot()}, nil
}

// Persist implements raft.FSMSnapshot: it writes the stream and closes the sink, or
// cancels it on error.
func (s *snapshot) Persist(sink raft.SnapshotSink) error {
	if err := s.writeStream(sink); err != nil {
		return errors.Join(err, sink.Cancel())
	}
	return sink.Close()
}

// writeStream writes the snapshot stream to w.
func (s *snapshot) writeStream(w io.Writer) error {
	it, err := s.snap.NewIter(&pebble.IterOptions{LowerBound: []byte{pSingle}, UpperBound: []byte{pEnd}})
	if err != nil {
		return fmt.Errorf("fsm: snapshot iterator: %w", err)
	}
	sw := newStreamWriter(w)
	for ok := it.First(); ok; ok = it.Next() {
		v, err := it.ValueAndErr()
		if err == nil {
			err = sw.record(it.Key(), v)
		}
		if err != nil {
			it.Close()
			return err
		}
	}
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		return fmt.Errorf("fsm: snapshot iteration: %w", err)
	}
	return sw.finish()
}

// Release implements raft.FSMSnapshot.
func (s *snapshot) Release() {
	if s.snap == nil {
		return
	}
	if err := s.snap.Close(); err != nil {
		s.h.logger.Errorf("fsm: close snapshot: %v", err)
	}
	s.snap = nil
	s.h.unref()
}

// streamWriter writes the snapshot stream format.
type streamWriter struct {
	w     *bufio.Writer
	crc   hash.Hash32
	count uint64
	err   error
	tmp   [binary.MaxVarintLen64]byte
}

func newStreamWriter(w io.Writer) *streamWriter {
	sw := &streamWriter{crc: crc32.New(castagnoli)}
	sw.w = bufio.NewWriterSize(io.MultiWriter(w, sw.crc), 256<<10)
	var hdr [12]byte
	copy(hdr[:], snapMagic)
	binary.BigEndian.PutUint32(hdr[8:], snapVersion)
	_, sw.err = sw.w.Write(hdr[:])
	return sw
}

func (sw *streamWriter) write(b []byte) {
	if sw.err == nil {
		_, sw.err = sw.w.Write(b)
	}
}

func (sw *streamWriter) record(k, v []byte) error {
	if len(k) > SnapshotKeyBytesMax || len(v) > SnapshotValueBytesMax {
		return fmt.Errorf("fsm: snapshot record of %d+%d bytes exceeds limits", len(k), len(v))
	}
	sw.write([]byte{tagRecord})
	sw.write(sw.tmp[:binary.PutUvarint(sw.tmp[:], uint64(len(k)))])
	sw.write(k)
	sw.write(sw.tmp[:binary.PutUvarint(sw.tmp[:], uint64(len(v)))])
	sw.write(v)
	sw.count++
	if sw.err != nil {
		return fmt.Errorf("fsm: write snapshot: %w", sw.err)
	}
	return nil
}

func (sw *streamWriter) finish() error {
	var t [9]byte
	t[0] = tagEnd
	binary.BigEndian.PutUint64(t[1:], sw.count)
	sw.write(t[:])
	if sw.err == nil {
		sw.err = sw.w.Flush() // the CRC covers everything written so far
	}
	if sw.err != nil {
		return fmt.Errorf("fsm: write snapshot: %w", sw.err)
	}
	var c [4]byte
	binary.BigEndian.PutUint32(c[:], sw.crc.Sum32())
	sw.write(c[:])
	if sw.err == nil {
		sw.err = sw.w.Flush()
	}
	if sw.err != nil {
		return fmt.Errorf("fsm: write snapshot: %w", sw.err)
	}
	return nil
}

// streamReader reads the snapshot stream format; every damage is an ErrSnapshot.
type streamReader struct {
	r     *bufio.Reader
	crc   hash.Hash32
	count uint64
	key   []byte
	val   []byte
}

// newStreamReader checks the header.
func newStreamReader(r io.Reader) (*streamReader, error) {
	sr := &streamReader{r: bufio.NewReaderSize(r, 256<<10), crc: crc32.New(castagnoli)}
	var hdr [12]byte
	if err := sr.full(hdr[:]); err != nil {
		return nil, err
	}
	if string(hdr[:8]) != snapMagic {
		return nil, fmt.Errorf("%w: bad magic", ErrSnapshot)
	}
	if v := binary.BigEndian.Uint32(hdr[8:]); v != snapVersion {
		return nil, fmt.Errorf("%w: version %d", ErrSnapshot, v)
	}
	return sr, nil
}

func (sr *streamReader) full(b []byte) error {
	if _, err := io.ReadFull(sr.r, b); err != nil {
		return fmt.Errorf("%w: truncated: %v", ErrSnapshot, err)
	}
	sr.crc.Write(b)
	return nil
}

func (sr *streamReader) uvarint(limit uint64) (uint64, error) {
	var buf [binary.MaxVarintLen64]byte
	for i := range buf {
		c, err := sr.r.ReadByte()
		if err != nil {
			return 0, fmt.Errorf("%w: truncated varint: %v", ErrSnapshot, err)
		}
		buf[i] = c
		if c < 0x80 {
			sr.crc.Write(buf[:i+1])
			v, n := binary.Uvarint(buf[:i+1])
			if n <= 0 || v > limit {
				return 0, fmt.Errorf("%w: length %d out of range", ErrSnapshot, v)
			}
			return v, nil
		}
	}
	return 0, fmt.Errorf("%w: varint too long", ErrSnapshot)
}

// next reads one record into sr.key and sr.val (valid until the next call). It returns
// io.EOF after a valid trailer followed by end of stream.
func (sr *streamReader) next() error {
	var tag [1]byte
	if err := sr.full(tag[:]); err != nil {
		return err
	}
	switch tag[0] {
	case tagRecord:
		kl, err := sr.uvarint(SnapshotKeyBytesMax)
		if err != nil {
			return err
		}
		if sr.key, err = sr.readN(sr.key, int(kl)); err != nil {
			return err
		}
		vl, err := sr.uvarint(SnapshotValueBytesMax)
		if err != nil {
			return err
		}
		if sr.val, err = sr.readN(sr.val, int(vl)); err != nil {
			return err
		}
		sr.count++
		return nil
	case tagEnd:
		var cnt [8]byte
		if err := sr.full(cnt[:]); err != nil {
			return err
		}
		want := sr.crc.Sum32()
		var c [4]byte
		if _, err := io.ReadFull(sr.r, c[:]); err != nil {
			return fmt.Errorf("%w: truncated trailer: %v", ErrSnapshot, err)
		}
		if got := binary.BigEndian.Uint64(cnt[:]); got != sr.count {
			return fmt.Errorf("%w: trailer counts %d records, stream had %d", ErrSnapshot, got, sr.count)
		}
		if got := binary.BigEndian.Uint32(c[:]); got != want {
			return fmt.Errorf("%w: checksum %08x, want %08x", ErrSnapshot, got, want)
		}
		if _, err := sr.r.ReadByte(); err != io.EOF {
			return fmt.Errorf("%w: data after trailer", ErrSnapshot)
		}
		return io.EOF
	}
	return fmt.Errorf("%w: unknown tag %#x", ErrSnapshot, tag[0])
}

// readChunkBytes bounds how far readN allocates ahead of the bytes actually read, so
// a forged length costs no more memory than the stream delivers.
const readChunkBytes = 1 << 20

// readN reads n bytes into dst (reused) and returns it.
func (sr *streamReader) readN(dst []byte, n int) ([]byte, error) {
	dst = dst[:0]
	for n > 0 {
		c := min(n, readChunkBytes)
		start := len(dst)
		dst = slices.Grow(dst, c)[:start+c]
		if err := sr.full(dst[start:]); err != nil {
			return nil, err
		}
		n -= c
	}
	return dst, nil
}

// Restore implements raft.FSM: it replaces all state with the snapshot stream rc.
// A damaged stream returns an ErrSnapshot error and leaves the current state as it
// was. See the package doc for how the swap stays atomic.
func (f *FSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	f.mu.RLock()
	closed, gen := f.h == nil, f.gen+1
	f.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	fs := f.cfg.FS
	dir := fs.PathJoin(f.cfg.Dir, genName(gen))
	if err := fs.RemoveAll(dir); err != nil {
		return fmt.Errorf("fsm: clear restore dir: %w", err)
	}
	h, err := f.openGen(gen, false)
	if err != nil {
		return err
	}
	h.retired.Store(true) // until it goes live, closing it removes it
	applied, err := fill(h.db, rc)
	var ctr counters
	if err == nil {
		ctr, err = readCounters(h.db)
	}
	if err != nil {
		h.unref()
		return err
	}
	if err := f.writeCurrent(gen); err != nil {
		h.unref()
		return err
	}
	h.retired.Store(false)
	f.mu.Lock()
	old := f.h
	f.h, f.gen = h, gen
	f.applied.Store(applied)
	f.failure.Store(nil)
	f.evictFloor = 0
	f.ctr = ctr
	f.mu.Unlock()
	old.retired.Store(true)
	old.unref()
	return nil
}

// fill loads a snapshot stream into an empty database and syncs it. It returns the
// applied index the stream carries.
func fill(db *pebble.DB, r io.Reader) (uint64, error) {
	sr, err := newStreamReader(r)
	if err != nil {
		return 0, err
	}
	b := db.NewBatch()
	defer func() { b.Close() }()
	var prev []byte
	var applied uint64
	format := false
	for {
		err := sr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, err
		}
		if prev != nil && bytes.Compare(sr.key, prev) <= 0 || len(sr.key) == 0 || sr.key[0] >= pEnd {
			return 0, fmt.Errorf("%w: keys out of order or out of range", ErrSnapshot)
		}
		prev = append(prev[:0], sr.key...)
		switch {
		case bytes.Equal(sr.key, kFormat):
			if !bytes.Equal(sr.val, formatValue) {
				return 0, fmt.Errorf("%w: format %q", ErrSnapshot, sr.val)
			}
			format = true
		case bytes.Equal(sr.key, kApplied):
			if len(sr.val) != 8 {
				return 0, fmt.Errorf("%w: applied index", ErrSnapshot)
			}
			applied = u64(sr.val)
		}
		if err := b.Set(sr.key, sr.val, nil); err != nil {
			return 0, fmt.Errorf("fsm: restore batch: %w", err)
		}
		if b.Len() >= restoreBatchBytes {
			if err := b.Commit(pebble.NoSync); err != nil {
				return 0, fmt.Errorf("fsm: restore commit: %w", err)
			}
			b.Close()
			b = db.NewBatch()
		}
	}
	if !format {
		return 0, fmt.Errorf("%w: no format stamp", ErrSnapshot)
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return 0, fmt.Errorf("fsm: restore commit: %w", err)
	}
	return applied, nil
}
