package sse

import (
	"fmt"
	"io"
)

// Decrypter is an io.Reader that yields the plaintext of an encrypted stream read from
// its source. It authenticates each package before handing out any of its bytes, and
// after the first failure it returns that error forever. Because verified packages are
// handed out before later ones are read, a caller that has already forwarded some
// output must discard all of it when an error arrives (the gateway aborts the response).
//
// It works in one of three modes, chosen by the constructor:
//   - NewDecrypter with a negative size: the size is unknown, the end of the source
//     marks the end of the stream, and a stream whose last package is not sealed as
//     final fails (ErrAuth, or ErrTruncated when the source ends inside a package or
//     right after the header);
//   - NewDecrypter with the plaintext size from metadata: exactly CiphertextSize(size)
//     bytes are read, a short source fails with ErrTruncated and a longer one with
//     ErrTrailing;
//   - NewRangeDecrypter: only the packages of a Range are read and the output is
//     trimmed to the requested bytes.
//
// A Decrypter is not safe for concurrent use, allocates nothing per package, and can be
// reused with Reset and ResetRange.
type Decrypter struct {
	src    io.Reader
	p      packer
	buf    []byte // PackageCipherBytes+1: a package plus one byte of look-ahead
	out    []byte // verified plaintext not yet handed out
	index  int64  // index of the next package to open
	end    int64  // sized: one past the last package to open
	last   int64  // sized: index of the stream's final package
	trim   int64  // plaintext bytes still to drop from the front
	remain int64  // sized: plaintext bytes still to hand out
	size   int64  // sized: plaintext size of the stream
	carry  byte   // unsized: the look-ahead byte
	carried,
	sized,
	strictEnd, // sized whole stream: the source must end after the final package
	needHeader,
	done bool
	err error // sticky
}

// NewDecrypter returns a Decrypter of the stream in src (positioned at the header) under
// key. plainSize is the plaintext size recorded for the object, or -1 when unknown.
func NewDecrypter(src io.Reader, key Key, plainSize int64) *Decrypter {
	d := new(Decrypter)
	d.Reset(src, key, plainSize)
	return d
}

// NewRangeDecrypter returns a Decrypter of the plaintext range r (from MapRange). src
// yields the ciphertext from r.Offset on (at least r.Length bytes); header is the
// stream's first HeaderBytes bytes (not retained). It fails like the header check of a
// stream (ErrTruncated, ErrHeader, ErrVersion) or with ErrRange when r is not what
// MapRange returns.
func NewRangeDecrypter(src io.Reader, key Key, header []byte, r Range) (*Decrypter, error) {
	d := new(Decrypter)
	if err := d.ResetRange(src, key, header, r); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *Decrypter) reset(src io.Reader, key *Key) {
	buf := d.buf
	if buf == nil {
		buf = make([]byte, PackageCipherBytes+1)
	}
	*d = Decrypter{src: src, buf: buf}
	d.p.aead = newGCM(key)
}

// Reset starts decrypting a new stream, as NewDecrypter does, keeping the buffer.
func (d *Decrypter) Reset(src io.Reader, key Key, plainSize int64) {
	d.reset(src, &key)
	d.needHeader = true
	if plainSize < 0 {
		return
	}
	if plainSize > StreamBytesMax {
		d.err = fmt.Errorf("%w: size %d", ErrTooLarge, plainSize)
		return
	}
	d.sized, d.strictEnd = true, true
	d.size, d.remain = plainSize, plainSize
	d.end = packages(plainSize)
	d.last = d.end - 1
}

// ResetRange starts decrypting a range, as NewRangeDecrypter does, keeping the buffer.
func (d *Decrypter) ResetRange(src io.Reader, key Key, header []byte, r Range) error {
	d.reset(src, &key)
	prefix, err := parseHeader(header)
	if err != nil {
		d.err = err
		return err
	}
	d.p.setPrefix(prefix)
	want, err := MapRange(r.PlainSize, r.First*PackagePlainBytes+r.Trim, r.PlainLength)
	if err != nil || want != r {
		d.err = fmt.Errorf("%w: inconsistent Range %+v", ErrRange, r)
		return d.err
	}
	d.sized = true
	d.size, d.remain, d.trim = r.PlainSize, r.PlainLength, r.Trim
	d.index, d.end = r.First, r.First+r.Count
	d.last = packages(r.PlainSize) - 1
	return nil
}

// Read reads verified plaintext into b. It returns io.EOF once the last package of the
// stream (or of the range) has verified and been handed out.
func (d *Decrypter) Read(b []byte) (int, error) {
	n := 0
	for n < len(b) {
		if len(d.out) == 0 {
			if d.err != nil {
				break
			}
			d.err = d.next()
			continue
		}
		c := copy(b[n:], d.out)
		d.out = d.out[c:]
		n += c
	}
	if n > 0 {
		return n, nil
	}
	return 0, d.err
}

// WriteTo writes the rest of the verified plaintext to w, one package per Write. On an
// error, everything already written must be discarded by the caller.
func (d *Decrypter) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		if len(d.out) > 0 {
			n, err := w.Write(d.out)
			total += int64(n)
			d.out = d.out[n:]
			if err != nil {
				return total, err
			}
			continue
		}
		if d.err != nil {
			if d.err == io.EOF {
				return total, nil
			}
			return total, d.err
		}
		d.err = d.next()
	}
}

// next makes d.out the next package's verified plaintext, or returns io.EOF.
func (d *Decrypter) next() error {
	if d.needHeader {
		d.needHeader = false
		h := d.buf[:HeaderBytes]
		if err := readFull(d.src, h); err != nil {
			return readErr("header", err)
		}
		prefix, err := parseHeader(h)
		if err != nil {
			return err
		}
		d.p.setPrefix(prefix)
	}
	if d.sized {
		return d.nextSized()
	}
	return d.nextStream()
}

func (d *Decrypter) nextSized() error {
	if d.index >= d.end {
		return io.EOF
	}
	ct := d.buf[:packageCipherLen(d.size, d.index)]
	if err := readFull(d.src, ct); err != nil {
		return readErr(fmt.Sprintf("package %d", d.index), err)
	}
	final := d.index == d.last
	plain, err := d.open(ct, final)
	if err != nil {
		return err
	}
	if final && d.strictEnd {
		// Refuse data after the final package before handing out any of it.
		m, _, err := fill(d.src, d.buf[len(ct):len(ct)+1])
		if err != nil {
			return fmt.Errorf("sse: read after package %d: %w", d.last, err)
		}
		if m > 0 {
			return fmt.Errorf("sse: after package %d: %w", d.last, ErrTrailing)
		}
	}
	if d.trim > 0 {
		plain = plain[d.trim:]
		d.trim = 0
	}
	if int64(len(plain)) > d.remain {
		plain = plain[:d.remain]
	}
	d.remain -= int64(len(plain))
	d.out = plain
	return nil
}

func (d *Decrypter) nextStream() error {
	if d.done {
		return io.EOF
	}
	// Read one byte past a full package: only the end of the source marks the final one.
	buf := d.buf[:PackageCipherBytes+1]
	n := 0
	if d.carried {
		buf[0] = d.carry
		n = 1
	}
	m, final, err := fill(d.src, buf[n:])
	if err != nil {
		return fmt.Errorf("sse: read package %d: %w", d.index, err)
	}
	n += m
	if final {
		d.carried = false
	} else {
		d.carry, d.carried = buf[PackageCipherBytes], true
		n = PackageCipherBytes
	}
	if n < TagBytes {
		return fmt.Errorf("sse: package %d of %d bytes: %w", d.index, n, ErrTruncated)
	}
	plain, err := d.open(buf[:n], final)
	if err != nil {
		return err
	}
	d.done = final
	d.out = plain
	return nil
}

// open authenticates and decrypts package d.index in place.
func (d *Decrypter) open(ct []byte, final bool) ([]byte, error) {
	d.p.set(d.index, final)
	plain, err := d.p.aead.Open(ct[:0], d.p.nonce[:], ct, d.p.aad[:])
	if err != nil {
		return nil, fmt.Errorf("sse: package %d: %w", d.index, ErrAuth)
	}
	d.index++
	return plain, nil
}

// readFull is io.ReadFull on top of fill: it fails with io.EOF when src is empty,
// io.ErrUnexpectedEOF when it ends early, and io.ErrNoProgress when it is stuck.
func readFull(src io.Reader, b []byte) error {
	n, _, err := fill(src, b)
	switch {
	case err != nil:
		return err
	case n == len(b):
		return nil
	case n == 0:
		return io.EOF
	}
	return io.ErrUnexpectedEOF
}

// readErr classifies a readFull failure: a short source is a truncated stream.
func readErr(what string, err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("sse: %s: %w", what, ErrTruncated)
	}
	return fmt.Errorf("sse: read %s: %w", what, err)
}

// DecryptRange writes the plaintext range [off, off+n) of the encrypted stream in src
// (plainSize bytes of plaintext) to w. It reads the header and only the packages that
// cover the range, and writes each package's part only after it verified. It returns
// the plaintext bytes written; on an error they must be discarded. It allocates one
// Decrypter; a caller that pools Decrypters uses MapRange and ResetRange instead.
func DecryptRange(w io.Writer, src io.ReaderAt, key Key, plainSize, off, n int64) (int64, error) {
	r, err := MapRange(plainSize, off, n)
	if err != nil {
		return 0, err
	}
	var h [HeaderBytes]byte
	if m, err := src.ReadAt(h[:], 0); m < HeaderBytes {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return 0, readErr("header", err)
	}
	d, err := NewRangeDecrypter(io.NewSectionReader(src, r.Offset, r.Length), key, h[:], r)
	if err != nil {
		return 0, err
	}
	return d.WriteTo(w)
}
