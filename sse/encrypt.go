package sse

import (
	"fmt"
	"io"
)

// Encrypter is an io.Reader that yields the encrypted stream (header, then packages) of
// the plaintext it reads from its source. It reads the source exactly once, in order,
// holds at most one package, and allocates nothing per package. It also implements
// io.WriterTo, which io.Copy uses to hand out whole packages without copying.
//
// An Encrypter is not safe for concurrent use. Reset makes it reusable, so a pool of
// Encrypters serves many requests with one 64 KiB buffer each.
type Encrypter struct {
	src   io.Reader
	p     packer
	buf   []byte // PackageCipherBytes: plaintext in, sealed package out
	out   []byte // ciphertext not yet handed out: header, or a sealed package in buf
	index int64  // index of the next package to seal
	plain int64  // plaintext bytes consumed so far
	carry byte   // one byte read ahead of the package in buf
	carried,
	started,
	done bool
	err error // sticky: io.EOF after the final package, or the first failure
}

// NewEncrypter returns an Encrypter of the plaintext in src under key, with the nonce
// prefix of this stream. key must be used for this one stream only (a fresh DEK per
// object version, a PartKey per part); the prefix should come from NewNoncePrefix.
func NewEncrypter(src io.Reader, key Key, prefix NoncePrefix) *Encrypter {
	e := new(Encrypter)
	e.Reset(src, key, prefix)
	return e
}

// Reset starts a new stream over src, keeping the package buffer.
func (e *Encrypter) Reset(src io.Reader, key Key, prefix NoncePrefix) {
	buf := e.buf
	if buf == nil {
		buf = make([]byte, PackageCipherBytes)
	}
	*e = Encrypter{src: src, buf: buf}
	e.p.init(&key, prefix)
}

// Read reads ciphertext into b. After the final package it returns io.EOF; an error
// reading the source is returned as is, and stays.
func (e *Encrypter) Read(b []byte) (int, error) {
	n := 0
	for n < len(b) {
		if len(e.out) == 0 {
			if e.err != nil {
				break
			}
			e.err = e.next()
			continue
		}
		c := copy(b[n:], e.out)
		e.out = e.out[c:]
		n += c
	}
	if n > 0 {
		return n, nil
	}
	return 0, e.err
}

// WriteTo writes the rest of the ciphertext to w, a package per Write.
func (e *Encrypter) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		if len(e.out) > 0 {
			n, err := w.Write(e.out)
			total += int64(n)
			e.out = e.out[n:]
			if err != nil {
				return total, err
			}
			continue
		}
		if e.err != nil {
			if e.err == io.EOF {
				return total, nil
			}
			return total, e.err
		}
		e.err = e.next()
	}
}

// next makes e.out the next piece of ciphertext, or returns io.EOF after the final
// package.
func (e *Encrypter) next() error {
	if !e.started {
		e.started = true
		e.out = e.p.aad[:HeaderBytes]
		return nil
	}
	if e.done {
		if e.index != packages(e.plain) {
			panic(fmt.Sprintf("sse: sealed %d packages for %d bytes", e.index, e.plain))
		}
		return io.EOF
	}
	// Read one byte past the package: only a short read proves this package is final.
	buf := e.buf[:PackagePlainBytes+1]
	n := 0
	if e.carried {
		buf[0] = e.carry
		n = 1
	}
	m, final, err := fill(e.src, buf[n:])
	if err != nil {
		return fmt.Errorf("sse: read plaintext: %w", err)
	}
	n += m
	if final {
		e.carried = false
	} else {
		e.carry, e.carried = buf[PackagePlainBytes], true
		n = PackagePlainBytes
	}
	if e.plain += int64(n); e.plain > StreamBytesMax {
		return fmt.Errorf("%w: more than %d bytes", ErrTooLarge, int64(StreamBytesMax))
	}
	e.p.set(e.index, final)
	e.out = e.p.aead.Seal(e.buf[:0], e.p.nonce[:], e.buf[:n], e.p.aad[:])
	e.index++
	e.done = final
	return nil
}

// fill reads into b until it is full or src reports io.EOF (eof). Unlike io.ReadFull it
// passes io.ErrUnexpectedEOF from src through as an error: a body cut short by the
// transport must never look like the end of the plaintext.
// A source that keeps returning (0, nil) fails with io.ErrNoProgress after
// emptyReadsMax reads in a row, as bufio does.
func fill(src io.Reader, b []byte) (n int, eof bool, err error) {
	empty := 0
	for n < len(b) {
		m, err := src.Read(b[n:])
		n += m
		switch {
		case err == io.EOF:
			// Data and EOF together that exactly fill b are not the end yet: b holds
			// the look-ahead byte, and the next fill sees EOF again.
			return n, n < len(b), nil
		case err != nil:
			return n, false, err
		case m > 0:
			empty = 0
		default:
			if empty++; empty >= emptyReadsMax {
				return n, false, io.ErrNoProgress
			}
		}
	}
	return n, false, nil
}

// emptyReadsMax is how many (0, nil) reads in a row fill tolerates.
const emptyReadsMax = 100
