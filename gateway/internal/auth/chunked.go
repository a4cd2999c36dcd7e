package auth

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"sync"
)

// aws-chunked framing (AWS S3 API reference, "Transferring Payload in Multiple
// Chunks" and "Including Trailing Headers"):
//
//	signed:    hex(size);chunk-signature=<64 hex>\r\n <size bytes> \r\n ... 0;chunk-signature=<sig>\r\n
//	unsigned:  hex(size)\r\n <size bytes> \r\n ... 0\r\n
//
// followed by the trailer section: zero or more "name:value\r\n" lines (in the
// signed-trailer mode ending with "x-amz-trailer-signature:<64 hex>\r\n") and a
// final empty "\r\n" line.
//
// Chunk i's signature is HMAC-SHA256(signingKey, "AWS4-HMAC-SHA256-PAYLOAD\n" +
// amzDate + "\n" + scope + "\n" + sig(i-1) + "\n" + hex(SHA256("")) + "\n" +
// hex(SHA256(chunk data))), where sig(-1) is the request's seed signature. The
// trailer signature is HMAC-SHA256(signingKey, "AWS4-HMAC-SHA256-TRAILER\n" +
// amzDate + "\n" + scope + "\n" + sig(final chunk) + "\n" + hex(SHA256(trailers))),
// where trailers is each "name:value\n".

const chunkSizeHexMax = 16 // hex digits of a chunk size

// pooledChunkBytes is the chunk buffer size kept in chunkPool: the 64 KiB chunk
// the AWS SDKs send. Larger chunks get a buffer of their own.
const pooledChunkBytes = 64 << 10

// chunkPool recycles signed-chunk buffers. A reader takes one for its first
// chunk and returns it when it reaches a terminal state (EOF or error).
var chunkPool = sync.Pool{New: func() any { b := make([]byte, pooledChunkBytes); return &b }}

// chunkMAC computes chained chunk signatures. It reuses its hashes and buffers.
type chunkMAC struct {
	mac     hash.Hash // HMAC-SHA256 keyed with the signing key
	sha     hash.Hash // SHA-256 of chunk data / trailers
	prefix  []byte    // "\n" + amzDate + "\n" + scope + "\n"
	prevSig [2 * sha256.Size]byte
	sts     []byte
}

func newChunkMAC(key []byte, amzDate, scope string, seed []byte) *chunkMAC {
	m := &chunkMAC{mac: hmac.New(sha256.New, key), sha: sha256.New()}
	m.prefix = append(append(append(append([]byte{'\n'}, amzDate...), '\n'), scope...), '\n')
	hex.Encode(m.prevSig[:], seed)
	return m
}

// next computes the signature of a chunk (or, with trailer, the trailer section)
// whose content hash is h, compares it with got in constant time and, if it
// matches, advances the chain.
func (m *chunkMAC) next(h []byte, got []byte, trailer bool) bool {
	m.sts = m.sts[:0]
	if trailer {
		m.sts = append(m.sts, "AWS4-HMAC-SHA256-TRAILER"...)
	} else {
		m.sts = append(m.sts, "AWS4-HMAC-SHA256-PAYLOAD"...)
	}
	m.sts = append(m.sts, m.prefix...)
	m.sts = append(m.sts, m.prevSig[:]...)
	m.sts = append(m.sts, '\n')
	if !trailer {
		m.sts = append(m.sts, emptySHA256+"\n"...)
	}
	m.sts = hex.AppendEncode(m.sts, h)
	m.mac.Reset()
	m.mac.Write(m.sts)
	var sum [sha256.Size]byte
	if !hmac.Equal(m.mac.Sum(sum[:0]), got) {
		return false
	}
	hex.Encode(m.prevSig[:], sum[:])
	return true
}

// hashOf returns SHA-256(b) using the reusable hasher.
func (m *chunkMAC) hashOf(b []byte, dst []byte) []byte {
	m.sha.Reset()
	m.sha.Write(b)
	return m.sha.Sum(dst[:0])
}

// chunkedReader decodes an aws-chunked body. In signed modes it buffers each
// chunk and releases its bytes only after the chunk signature verifies; in the
// unsigned-trailer mode it streams chunk bytes and checks the trailing checksum
// at the end. It returns io.EOF only after the whole body, its trailer, its
// checksum and its decoded length all check out.
type chunkedReader struct {
	cfg    *Config
	br     *bufio.Reader
	signed bool
	mac    *chunkMAC // signed modes

	trailer       bool // a trailer section with the checksum named by alg follows
	trailerSigned bool
	alg           *checksumAlg // checksum to verify (header or trailer); nil if none
	sum           hash.Hash
	want          []byte // header checksum value; trailer value is read at the end

	decodedWant int64
	decoded     int64

	buf      []byte  // signed: verified bytes of the current chunk
	pooled   *[]byte // buf's backing array, from chunkPool
	off      int
	left     int64 // unsigned: bytes of the current chunk not yet read
	needCRLF bool  // unsigned: the current chunk's closing CRLF is pending
	done     bool
	err      error
}

func (c *chunkedReader) init(body io.Reader) {
	size := c.cfg.ChunkLineBytesMax
	c.br = bufio.NewReaderSize(body, size)
}

// fail records the terminal error and releases the buffers.
func (c *chunkedReader) fail(err error) error {
	c.err = err
	c.release()
	return err
}

func (c *chunkedReader) release() {
	if c.pooled != nil {
		chunkPool.Put(c.pooled)
		c.pooled = nil
	}
	c.buf, c.off = nil, 0
}

func (c *chunkedReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	for {
		if c.off < len(c.buf) {
			n := copy(p, c.buf[c.off:])
			c.off += n
			return n, nil
		}
		if c.left > 0 {
			n, err := c.readUnsigned(p)
			if err != nil {
				c.fail(err)
			}
			return n, err
		}
		if c.done {
			return 0, io.EOF
		}
		if err := c.nextChunk(); err != nil {
			return 0, c.fail(err)
		}
	}
}

func (c *chunkedReader) readUnsigned(p []byte) (int, error) {
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.br.Read(p)
	c.left -= int64(n)
	c.decoded += int64(n)
	if c.sum != nil {
		c.sum.Write(p[:n])
	}
	if err == io.EOF {
		err = errIncomplete()
	}
	if err != nil && n > 0 {
		// Report bytes now, the error on the next call.
		c.fail(err)
		return n, nil
	}
	return n, err
}

// readLine reads one CRLF-terminated line (without the CRLF), bounded by the
// buffer size (ChunkLineBytesMax).
func (c *chunkedReader) readLine() ([]byte, error) {
	line, err := c.br.ReadSlice('\n')
	switch {
	case errors.Is(err, bufio.ErrBufferFull):
		return nil, errMalformedBody("aws-chunked line too long.")
	case err == io.EOF:
		return nil, errIncomplete()
	case err != nil:
		return nil, err
	}
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return nil, errMalformedBody("aws-chunked line not terminated by CRLF.")
	}
	return line[:len(line)-2], nil
}

func (c *chunkedReader) readCRLF() error {
	var b [2]byte
	if _, err := io.ReadFull(c.br, b[:]); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return errIncomplete()
		}
		return err
	}
	if b != [2]byte{'\r', '\n'} {
		return errMalformedBody("aws-chunked chunk data not followed by CRLF.")
	}
	return nil
}

func (c *chunkedReader) nextChunk() error {
	if c.needCRLF {
		if err := c.readCRLF(); err != nil {
			return err
		}
		c.needCRLF = false
	}
	line, err := c.readLine()
	if err != nil {
		return err
	}
	sizeHex, ext, hasExt := bytes.Cut(line, []byte{';'})
	if len(sizeHex) == 0 || len(sizeHex) > chunkSizeHexMax {
		return errMalformedBody("aws-chunked chunk size is malformed.")
	}
	var size uint64
	for _, ch := range sizeHex {
		d, ok := hexVal(ch)
		if !ok {
			return errMalformedBody("aws-chunked chunk size is malformed.")
		}
		size = size<<4 | uint64(d)
	}
	if size > uint64(c.cfg.ChunkBytesMax) {
		return errMalformedBody("aws-chunked chunk exceeds the maximum chunk size.")
	}
	if c.decoded+int64(size) > c.decodedWant {
		return errIncomplete()
	}
	var sig [sha256.Size]byte
	if c.signed {
		v, ok := bytes.CutPrefix(ext, []byte("chunk-signature="))
		if !hasExt || !ok || len(v) != 2*sha256.Size {
			return errMalformedBody("aws-chunked chunk-signature is missing or malformed.")
		}
		if _, err := hex.Decode(sig[:], v); err != nil {
			return errMalformedBody("aws-chunked chunk-signature is malformed.")
		}
	}
	if size == 0 {
		if c.signed {
			var h [sha256.Size]byte
			if !c.mac.next(c.mac.hashOf(nil, h[:]), sig[:], false) {
				return errSignature()
			}
		}
		return c.finish()
	}
	if !c.signed {
		c.left = int64(size)
		c.needCRLF = true
		return nil
	}
	if cap(c.buf) < int(size) {
		if c.pooled == nil && size <= pooledChunkBytes {
			c.pooled = chunkPool.Get().(*[]byte)
			c.buf = *c.pooled
		} else {
			c.buf = make([]byte, size)
		}
	}
	c.buf = c.buf[:size]
	c.off = len(c.buf) // nothing releasable until verified
	if _, err := io.ReadFull(c.br, c.buf); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return errIncomplete()
		}
		return err
	}
	if err := c.readCRLF(); err != nil {
		return err
	}
	var h [sha256.Size]byte
	if !c.mac.next(c.mac.hashOf(c.buf, h[:]), sig[:], false) {
		return errSignature()
	}
	if c.sum != nil {
		c.sum.Write(c.buf)
	}
	c.decoded += int64(size)
	c.off = 0
	return nil
}

// finish reads the trailer section after the final chunk and runs every
// end-of-body check.
func (c *chunkedReader) finish() error {
	var trailerName, trailerValue string
	var trailerSig []byte
	var canon []byte
	total := 0
	for {
		line, err := c.readLine()
		if err != nil {
			return err
		}
		total += len(line) + 2
		if total > c.cfg.TrailerBytesMax {
			return errMalformedBody("aws-chunked trailer section too large.")
		}
		if len(line) == 0 {
			break
		}
		if trailerSig != nil {
			return errMalformedBody("aws-chunked trailer after x-amz-trailer-signature.")
		}
		name, value, ok := bytes.Cut(line, []byte{':'})
		if !ok {
			return errMalformedBody("aws-chunked trailer line is malformed.")
		}
		name = bytes.ToLower(bytes.TrimSpace(name))
		value = bytes.TrimSpace(value)
		if string(name) == "x-amz-trailer-signature" {
			if !c.trailerSigned || len(value) != 2*sha256.Size {
				return errMalformedBody("unexpected or malformed x-amz-trailer-signature.")
			}
			trailerSig = make([]byte, sha256.Size)
			if _, err := hex.Decode(trailerSig, value); err != nil {
				return errMalformedBody("x-amz-trailer-signature is malformed.")
			}
			continue
		}
		if !c.trailer || trailerName != "" || string(name) != c.alg.header {
			return errMalformedBody("aws-chunked trailer not declared in x-amz-trailer.")
		}
		trailerName, trailerValue = string(name), string(value)
		canon = append(append(append(append(canon, name...), ':'), value...), '\n')
	}
	if c.trailer && trailerName == "" {
		return errMalformedBody("aws-chunked body lacks the trailer declared in x-amz-trailer.")
	}
	if c.trailerSigned {
		if trailerSig == nil {
			return errMalformedBody("aws-chunked body lacks x-amz-trailer-signature.")
		}
		var h [sha256.Size]byte
		if !c.mac.next(c.mac.hashOf(canon, h[:]), trailerSig, true) {
			return errSignature()
		}
	}
	// Anything after the final CRLF is not part of a valid body.
	if _, err := c.br.ReadByte(); err != io.EOF {
		if err != nil {
			return err
		}
		return errMalformedBody("data after the end of the aws-chunked body.")
	}
	if c.decoded != c.decodedWant {
		return errIncomplete()
	}
	if c.alg != nil {
		want := c.want
		if c.trailer {
			var ok bool
			if want, ok = c.alg.decode(trailerValue); !ok {
				return errBadChecksumValue(c.alg.header)
			}
		}
		var tmp [sha256.Size]byte
		if !bytes.Equal(c.sum.Sum(tmp[:0]), want) {
			return errBadDigest(c.alg)
		}
	}
	c.done = true
	c.release()
	return nil
}

func hexVal(ch byte) (byte, bool) {
	switch {
	case '0' <= ch && ch <= '9':
		return ch - '0', true
	case 'a' <= ch && ch <= 'f':
		return ch - 'a' + 10, true
	case 'A' <= ch && ch <= 'F':
		return ch - 'A' + 10, true
	}
	return 0, false
}
