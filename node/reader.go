package node

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/coffer-io/coffer/erasure"
)

// Get returns a reader of n bytes of shard id's stored stream starting at off (n < 0:
// to the end). Every frame the range touches is verified before any of its bytes is
// returned; a frame that fails its digest makes Read (or Get itself, for the first
// frame) return an error that wraps the erasure corruption marker and names the
// shard. The gateway asks for frame-aligned ranges (erasure.FrameOffset), but any
// range works. Errors: ErrNotFound, ErrRange. The reader must be closed.
func (s *Store) Get(id ShardID, off, n int64) (io.ReadCloser, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	unlock := s.locks.lock(id)
	rec, found, err := s.record(id)
	if err == nil && !found {
		err = fmt.Errorf("node: shard %s: %w", id, ErrNotFound)
	}
	if err != nil {
		unlock()
		return nil, err
	}
	if n < 0 && off >= 0 && off <= rec.size {
		n = rec.size - off
	}
	if off < 0 || n < 0 || off > rec.size || n > rec.size-off {
		unlock()
		return nil, fmt.Errorf("node: shard %s: range %d+%d of %d bytes: %w", id, off, n, rec.size, ErrRange)
	}
	r, err := s.openReader(id, rec, off, n)
	unlock()
	if err != nil {
		return nil, err
	}
	if n > 0 {
		if err := r.fill(); err != nil {
			r.Close()
			return nil, err
		}
	}
	return r, nil
}

// openReader opens the stored bytes of id. Call with id locked, so the record and
// the bytes belong together; the open handle survives later renames and unlinks.
func (s *Store) openReader(id ShardID, rec record, off, n int64) (*shardReader, error) {
	l, err := newLayout(rec.header, rec.size)
	if err != nil {
		s.corruptions.Add(1)
		return nil, fmt.Errorf("node: shard %s: indexed header: %w", id, err)
	}
	r := &shardReader{s: s, id: id, l: l, hdr: rec.header, pos: off, end: off + n}
	if rec.inline {
		v, c, err := s.db.Get(key(kindData, id))
		if err != nil {
			s.readErrors.Add(1)
			return nil, fmt.Errorf("node: shard %s: read inline data: %w", id, err)
		}
		if int64(len(v)) != rec.size {
			_ = c.Close()
			s.corruptions.Add(1)
			return nil, corrupt("node: shard %s: inline data of %d bytes, indexed %d", id, len(v), rec.size)
		}
		r.src, r.closer = bytes.NewReader(v), c
	} else {
		f, err := s.files.Open(id.relPath())
		if err != nil {
			s.readErrors.Add(1)
			return nil, fmt.Errorf("node: shard %s: open file: %w", id, err)
		}
		r.src, r.closer = f, f
	}
	r.bp = s.frames.get(int(erasure.HeaderSize + l.frameSize))
	return r, nil
}

// shardReader streams verified bytes of one stored shard. It is used by one
// goroutine.
type shardReader struct {
	s      *Store
	id     ShardID
	l      layout
	hdr    []byte // the indexed header
	src    io.ReaderAt
	closer io.Closer
	bp     *[]byte // pooled frame buffer
	pos    int64   // stored offset of the next byte to load
	end    int64   // stored offset one past the last byte to return
	out    []byte  // verified bytes not yet returned
	err    error   // sticky
}

// fill loads and verifies the next frame (or the header) into out.
func (r *shardReader) fill() error {
	if r.err != nil {
		return r.err
	}
	if r.pos >= r.end {
		return io.EOF
	}
	buf := *r.bp
	if r.pos < erasure.HeaderSize {
		// The header, and frame 0 with it when the range reaches into it, in one read.
		n := int64(erasure.HeaderSize)
		if r.end > n && r.l.frames > 0 {
			n += r.l.frameLen(0)
		}
		hf := buf[:n]
		if err := r.readAt(hf, 0); err != nil {
			return err
		}
		if !bytes.Equal(hf[:erasure.HeaderSize], r.hdr) {
			return r.fail(corrupt("node: shard %s: stored header differs from the index", r.id), true)
		}
		if n > erasure.HeaderSize {
			if err := r.l.verify(0, hf[erasure.HeaderSize:]); err != nil {
				return r.fail(fmt.Errorf("node: shard %s: frame 0: %w", r.id, err), true)
			}
		}
		hi := min(r.end, n)
		r.out, r.pos = hf[r.pos:hi], hi
		return nil
	}
	i := r.l.frameAt(r.pos)
	fo, fl := r.l.frameOff(i), r.l.frameLen(i)
	f := buf[:fl]
	if err := r.readAt(f, fo); err != nil {
		return err
	}
	if err := r.l.verify(i, f); err != nil {
		return r.fail(fmt.Errorf("node: shard %s: frame %d: %w", r.id, i, err), true)
	}
	hi := min(r.end-fo, fl)
	r.out, r.pos = f[r.pos-fo:hi], fo+hi
	return nil
}

func (r *shardReader) readAt(p []byte, off int64) error {
	n, err := r.src.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		return r.fail(corrupt("node: shard %s: stored bytes end at %d, indexed %d", r.id, off+int64(n), r.l.size), true)
	}
	return r.fail(fmt.Errorf("node: shard %s: read at %d: %w", r.id, off, err), false)
}

// fail records a sticky error and counts it.
func (r *shardReader) fail(err error, corruption bool) error {
	if corruption {
		r.s.corruptions.Add(1)
	} else {
		r.s.readErrors.Add(1)
	}
	r.err = err
	return err
}

// nextFrame returns the next whole verified frame; the reader must sit on a frame
// boundary. The slice is valid until the next call.
func (r *shardReader) nextFrame() ([]byte, error) {
	if err := r.fill(); err != nil {
		return nil, err
	}
	f := r.out
	r.out = nil
	return f, nil
}

func (r *shardReader) Read(p []byte) (int, error) {
	if len(r.out) == 0 {
		if err := r.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, r.out)
	r.out = r.out[n:]
	return n, nil
}

// WriteTo streams the rest of the range to w without an intermediate copy.
func (r *shardReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		if len(r.out) == 0 {
			if err := r.fill(); err != nil {
				if err == io.EOF {
					return total, nil
				}
				return total, err
			}
		}
		n, err := w.Write(r.out)
		total += int64(n)
		r.out = r.out[n:]
		if err != nil {
			return total, err
		}
	}
}

// Close releases the stored bytes and the buffer.
func (r *shardReader) Close() error {
	if r.bp == nil {
		return nil
	}
	r.s.frames.put(r.bp)
	r.bp, r.out = nil, nil
	if r.err == nil {
		r.err = ErrClosed
	}
	return r.closer.Close()
}
