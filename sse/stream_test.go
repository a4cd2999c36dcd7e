package sse

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"
)

const P = PackagePlainBytes

// testKey returns a key whose bytes are seed, seed+1, ...
func testKey(seed byte) Key {
	var k Key
	for i := range k {
		k[i] = seed + byte(i)
	}
	return k
}

// pattern returns n deterministic plaintext bytes.
func pattern(n int, seed uint64) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// refEncrypt is the slow twin of Encrypter: FORMAT.md written out with crypto/cipher,
// the whole plaintext in memory, no look-ahead.
func refEncrypt(t testing.TB, key Key, prefix NoncePrefix, plain []byte) []byte {
	t.Helper()
	block, err := aes.NewCipher(key[:])
	if err != nil {
		t.Fatal(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	header := append([]byte("CFSE\x01\x01\x00\x00"), prefix[:]...)
	out := append([]byte(nil), header...)
	for i := 0; ; i++ {
		lo := i * P
		hi := min(lo+P, len(plain))
		final := hi == len(plain)
		nonce := binary.BigEndian.AppendUint64(append([]byte(nil), prefix[:]...), uint64(i))
		aad := append(append([]byte(nil), header...), 0)
		if final {
			aad[len(aad)-1] = 1
		}
		out = gcm.Seal(out, nonce, plain[lo:hi], aad)
		if final {
			return out
		}
	}
}

func encrypt(t testing.TB, key Key, prefix NoncePrefix, plain []byte) []byte {
	t.Helper()
	ct, err := io.ReadAll(NewEncrypter(bytes.NewReader(plain), key, prefix))
	if err != nil {
		t.Fatal(err)
	}
	return ct
}

// decryptMode names how a test drives the Decrypter.
type decryptMode int

const (
	modeStream decryptMode = iota // size unknown
	modeSized                     // size from metadata
	modeRange                     // full range through NewRangeDecrypter
)

func (m decryptMode) String() string { return [...]string{"stream", "sized", "range"}[m] }

var modes = []decryptMode{modeStream, modeSized, modeRange}

// decryptAs decrypts ct in mode m, expecting plainSize bytes of plaintext. It returns
// what the Decrypter handed out before the error.
func decryptAs(m decryptMode, ct []byte, key Key, plainSize int64) ([]byte, error) {
	var d *Decrypter
	switch m {
	case modeStream:
		d = NewDecrypter(bytes.NewReader(ct), key, -1)
	case modeSized:
		d = NewDecrypter(bytes.NewReader(ct), key, plainSize)
	case modeRange:
		r, err := MapRange(plainSize, 0, plainSize)
		if err != nil {
			return nil, err
		}
		if len(ct) < HeaderBytes {
			return nil, ErrTruncated
		}
		body := ct[min(int64(len(ct)), r.Offset):]
		d, err = NewRangeDecrypter(bytes.NewReader(body), key, ct[:HeaderBytes], r)
		if err != nil {
			return nil, err
		}
	}
	var out bytes.Buffer
	_, err := io.Copy(&out, iotest.HalfReader(d))
	return out.Bytes(), err
}

var streamSizes = []int{0, 1, 15, 16, 17, P - 1, P, P + 1, 2 * P, 2*P + 1, 3*P - 7, 200 << 10}

func TestRoundTripMatchesReference(t *testing.T) {
	key := testKey(1)
	prefix := NoncePrefix{0xa1, 0xb2, 0xc3, 0xd4}
	for _, size := range streamSizes {
		plain := pattern(size, uint64(size))
		want := refEncrypt(t, key, prefix, plain)
		if int64(len(want)) != CiphertextSize(int64(size)) {
			t.Fatalf("size %d: reference ciphertext %d bytes, CiphertextSize %d", size, len(want), CiphertextSize(int64(size)))
		}
		readers := map[string]func(io.Reader) io.Reader{
			"plain":   func(r io.Reader) io.Reader { return r },
			"onebyte": iotest.OneByteReader,
			"half":    iotest.HalfReader,
			"dataerr": iotest.DataErrReader,
		}
		for name, wrap := range readers {
			got, err := io.ReadAll(wrap(NewEncrypter(wrap(bytes.NewReader(plain)), key, prefix)))
			if err != nil {
				t.Fatalf("size %d %s: %v", size, name, err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("size %d %s: ciphertext differs from the reference", size, name)
			}
		}
		// WriteTo hands out the same bytes.
		var viaWriteTo bytes.Buffer
		if _, err := NewEncrypter(bytes.NewReader(plain), key, prefix).WriteTo(&viaWriteTo); err != nil || !bytes.Equal(viaWriteTo.Bytes(), want) {
			t.Fatalf("size %d WriteTo: err %v, equal %v", size, err, bytes.Equal(viaWriteTo.Bytes(), want))
		}
		for _, m := range modes {
			got, err := decryptAs(m, want, key, int64(size))
			if err != nil || !bytes.Equal(got, plain) {
				t.Fatalf("size %d decrypt %v: err %v, equal %v", size, m, err, bytes.Equal(got, plain))
			}
		}
		got, err := io.ReadAll(iotest.OneByteReader(NewDecrypter(iotest.OneByteReader(bytes.NewReader(want)), key, -1)))
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("size %d one-byte decrypt: err %v", size, err)
		}
	}
}

func TestResetReusesBuffer(t *testing.T) {
	e := NewEncrypter(bytes.NewReader(nil), testKey(0), NoncePrefix{})
	d := NewDecrypter(bytes.NewReader(nil), testKey(0), -1)
	ebuf, dbuf := &e.buf[0], &d.buf[0]
	for i, size := range streamSizes {
		key, prefix := testKey(byte(i)), NoncePrefix{byte(i)}
		plain := pattern(size, 7)
		e.Reset(bytes.NewReader(plain), key, prefix)
		ct, err := io.ReadAll(e)
		if err != nil || !bytes.Equal(ct, refEncrypt(t, key, prefix, plain)) {
			t.Fatalf("size %d: reset encrypter: %v", size, err)
		}
		d.Reset(bytes.NewReader(ct), key, int64(size))
		got, err := io.ReadAll(d)
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("size %d: reset decrypter: %v", size, err)
		}
	}
	if &e.buf[0] != ebuf || &d.buf[0] != dbuf {
		t.Fatal("Reset replaced the package buffer")
	}
}

// stuckReader returns (0, nil) forever.
type stuckReader struct{}

func (stuckReader) Read([]byte) (int, error) { return 0, nil }

// TestSourceErrors: a source error, including io.ErrUnexpectedEOF from a body cut short
// by the transport, is an error and never the end of the stream.
func TestSourceErrors(t *testing.T) {
	boom := errors.New("boom")
	ct := encrypt(t, testKey(1), NoncePrefix{}, pattern(3*P, 1))
	for _, cut := range []int{0, 10, P, P + 10} {
		for _, srcErr := range []error{boom, io.ErrUnexpectedEOF} {
			src := io.MultiReader(bytes.NewReader(pattern(cut, 1)), iotest.ErrReader(srcErr))
			if _, err := io.ReadAll(NewEncrypter(src, testKey(1), NoncePrefix{})); !errors.Is(err, srcErr) {
				t.Errorf("encrypt, %v after %d bytes: got %v", srcErr, cut, err)
			}
			for _, size := range []int64{-1, 3 * P} {
				src = io.MultiReader(bytes.NewReader(ct[:HeaderBytes+cut]), iotest.ErrReader(srcErr))
				out, err := io.ReadAll(NewDecrypter(src, testKey(1), size))
				if err == nil || len(out) > cut/PackageCipherBytes*P {
					t.Errorf("decrypt size %d, %v after %d bytes: %d bytes out, %v", size, srcErr, cut, len(out), err)
				}
			}
		}
	}
	if _, err := io.ReadAll(NewEncrypter(stuckReader{}, testKey(1), NoncePrefix{})); !errors.Is(err, io.ErrNoProgress) {
		t.Errorf("stuck source: got %v, want io.ErrNoProgress", err)
	}
	for _, size := range []int64{-1, 3 * P} {
		for _, cut := range []int{0, HeaderBytes, HeaderBytes + 5, pkgAt(3)} {
			src := io.MultiReader(bytes.NewReader(ct[:cut]), stuckReader{})
			if _, err := io.ReadAll(NewDecrypter(src, testKey(1), size)); !errors.Is(err, io.ErrNoProgress) {
				t.Errorf("stuck stream of size %d after %d bytes: got %v, want io.ErrNoProgress", size, cut, err)
			}
		}
	}
}

func TestCiphertextSize(t *testing.T) {
	tests := []struct {
		plain, cipher int64
	}{
		{-1, -1},
		{0, HeaderBytes + TagBytes},
		{1, HeaderBytes + 1 + TagBytes},
		{P - 1, HeaderBytes + P - 1 + TagBytes},
		{P, HeaderBytes + P + TagBytes},
		{P + 1, HeaderBytes + P + 1 + 2*TagBytes},
		{2 * P, HeaderBytes + 2*P + 2*TagBytes},
		{1 << 30, HeaderBytes + 1<<30 + (1<<30)/P*TagBytes},
		{StreamBytesMax, HeaderBytes + StreamBytesMax + StreamBytesMax/P*TagBytes},
		{StreamBytesMax + 1, -1},
	}
	for _, tt := range tests {
		if got := CiphertextSize(tt.plain); got != tt.cipher {
			t.Errorf("CiphertextSize(%d) = %d, want %d", tt.plain, got, tt.cipher)
		}
		if tt.cipher < 0 {
			continue
		}
		if got, err := PlaintextSize(tt.cipher); err != nil || got != tt.plain {
			t.Errorf("PlaintextSize(%d) = %d, %v; want %d", tt.cipher, got, err, tt.plain)
		}
	}
	// Sizes no plaintext produces: inside the header, a lone header, a package that is
	// only part of a tag, a full package followed by a tag-less byte.
	for _, c := range []int64{-5, 0, HeaderBytes, HeaderBytes + TagBytes - 1, HeaderBytes + PackageCipherBytes + 1, HeaderBytes + PackageCipherBytes + TagBytes} {
		if _, err := PlaintextSize(c); !errors.Is(err, ErrTruncated) {
			t.Errorf("PlaintextSize(%d) = %v, want ErrTruncated", c, err)
		}
	}
}

// naiveRange walks every package of the stream and keeps the ones that overlap the range.
func naiveRange(size, off, n int64) Range {
	r := Range{PlainSize: size, PlainLength: n, First: -1}
	pos := int64(HeaderBytes)
	for i := int64(0); ; i++ {
		lo, hi := i*P, min((i+1)*P, size)
		if n > 0 && lo < off+n && off < hi {
			if r.First < 0 {
				r.First, r.Offset, r.Trim = i, pos, off-lo
			}
			r.Count++
			r.Length += hi - lo + TagBytes
		}
		pos += hi - lo + TagBytes
		if hi >= size {
			break
		}
	}
	if n == 0 {
		r.First = off / P
		r.Offset = HeaderBytes + r.First*PackageCipherBytes
	}
	return r
}

func TestMapRangeMatchesNaive(t *testing.T) {
	sizes := []int64{0, 1, P - 1, P, P + 1, 3*P - 1, 3 * P, 3*P + 1, 5*P + 12345}
	for _, size := range sizes {
		points := []int64{0, 1, P - 1, P, P + 1, 2*P - 1, 2 * P, size / 2, size - 1, size}
		for _, off := range points {
			for _, end := range points {
				if off < 0 || end < off || end > size {
					continue
				}
				got, err := MapRange(size, off, end-off)
				if err != nil {
					t.Fatalf("MapRange(%d, %d, %d): %v", size, off, end-off, err)
				}
				if want := naiveRange(size, off, end-off); got != want {
					t.Fatalf("MapRange(%d, %d, %d) = %+v, want %+v", size, off, end-off, got, want)
				}
			}
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		size := r.Int64N(40 * P)
		off := r.Int64N(size + 1)
		n := r.Int64N(size - off + 1)
		got, err := MapRange(size, off, n)
		if want := naiveRange(size, off, n); err != nil || got != want {
			t.Fatalf("MapRange(%d, %d, %d) = %+v, %v; want %+v", size, off, n, got, err, want)
		}
	}
}

func TestMapRangeRejects(t *testing.T) {
	tests := []struct{ size, off, n int64 }{
		{-1, 0, 0}, {10, -1, 1}, {10, 0, -1}, {10, 11, 0}, {10, 5, 6}, {10, 1 << 62, 1 << 62},
		{10, 5, 1<<63 - 1}, {StreamBytesMax + 1, 0, 1},
	}
	for _, tt := range tests {
		if _, err := MapRange(tt.size, tt.off, tt.n); !errors.Is(err, ErrRange) {
			t.Errorf("MapRange(%d, %d, %d) = %v, want ErrRange", tt.size, tt.off, tt.n, err)
		}
	}
}

// boundedReaderAt fails any read outside the header and the allowed window, so a test
// proves DecryptRange touches only the packages MapRange names.
type boundedReaderAt struct {
	data      []byte
	lo, hi    int64
	outside   bool
	bytesRead int64
}

func (b *boundedReaderAt) ReadAt(p []byte, off int64) (int, error) {
	end := off + int64(len(p))
	if !(off == 0 && end <= HeaderBytes) && (off < b.lo || end > b.hi) {
		b.outside = true
		return 0, fmt.Errorf("read [%d, %d) outside [%d, %d)", off, end, b.lo, b.hi)
	}
	b.bytesRead += int64(len(p))
	return bytes.NewReader(b.data).ReadAt(p, off)
}

func TestDecryptRange(t *testing.T) {
	key := testKey(9)
	rnd := rand.New(rand.NewPCG(3, 4))
	for _, size := range []int{0, 1, P, P + 1, 200 << 10, 7*P + 3} {
		plain := pattern(size, uint64(size)+1)
		ct := encrypt(t, key, NoncePrefix{1, 2, 3, 4}, plain)
		for range 40 {
			off := rnd.Int64N(int64(size) + 1)
			n := rnd.Int64N(int64(size) - off + 1)
			r, _ := MapRange(int64(size), off, n)
			src := &boundedReaderAt{data: ct, lo: r.Offset, hi: r.Offset + r.Length}
			var out bytes.Buffer
			written, err := DecryptRange(&out, src, key, int64(size), off, n)
			if err != nil || written != n || !bytes.Equal(out.Bytes(), plain[off:off+n]) {
				t.Fatalf("size %d range [%d,+%d): written %d err %v equal %v", size, off, n, written, err, bytes.Equal(out.Bytes(), plain[off:off+n]))
			}
			if src.outside {
				t.Fatalf("size %d range [%d,+%d): read outside the covering packages", size, off, n)
			}
		}
	}
}

func TestRangeDecrypterRejectsForgedRange(t *testing.T) {
	ct := encrypt(t, testKey(1), NoncePrefix{}, pattern(3*P, 1))
	good, _ := MapRange(3*P, P+5, P)
	for name, mutate := range map[string]func(*Range){
		"count":  func(r *Range) { r.Count++ },
		"offset": func(r *Range) { r.Offset -= TagBytes },
		"trim":   func(r *Range) { r.Trim = P },
		"size":   func(r *Range) { r.PlainSize = P },
		"first":  func(r *Range) { r.First = -1 },
	} {
		r := good
		mutate(&r)
		if _, err := NewRangeDecrypter(bytes.NewReader(ct), testKey(1), ct[:HeaderBytes], r); !errors.Is(err, ErrRange) {
			t.Errorf("%s: got %v, want ErrRange", name, err)
		}
	}
}

func TestAppendPartRanges(t *testing.T) {
	// naive assigns every byte of the range to its part.
	naive := func(sizes []int64, off, n int64) []PartRange {
		var out []PartRange
		for pos := off; pos < off+n; pos++ {
			start := int64(0)
			for i, s := range sizes {
				if pos < start+s {
					if len(out) > 0 && out[len(out)-1].Part == i {
						out[len(out)-1].N++
					} else {
						out = append(out, PartRange{Part: i, Off: pos - start, N: 1})
					}
					break
				}
				start += s
			}
		}
		return out
	}
	layouts := [][]int64{{}, {0}, {10}, {5, 0, 7}, {3, 3, 3}, {1, 0, 0, 2, 9}}
	for _, sizes := range layouts {
		var total int64
		for _, s := range sizes {
			total += s
		}
		for off := int64(0); off <= total; off++ {
			for n := int64(0); off+n <= total; n++ {
				got, err := AppendPartRanges(nil, sizes, off, n)
				if err != nil {
					t.Fatalf("%v [%d,+%d): %v", sizes, off, n, err)
				}
				if want := naive(sizes, off, n); fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("%v [%d,+%d) = %v, want %v", sizes, off, n, got, want)
				}
			}
		}
		if _, err := AppendPartRanges(nil, sizes, total, 1); !errors.Is(err, ErrRange) {
			t.Errorf("%v past the end: %v", sizes, err)
		}
	}
	for _, bad := range []struct {
		sizes  []int64
		off, n int64
	}{{[]int64{-1}, 0, 0}, {[]int64{StreamBytesMax + 1}, 0, 0}, {[]int64{5}, -1, 1}, {[]int64{5}, 0, -1}, {[]int64{5}, 3, 3}} {
		if _, err := AppendPartRanges(nil, bad.sizes, bad.off, bad.n); !errors.Is(err, ErrRange) {
			t.Errorf("%+v: got %v, want ErrRange", bad, err)
		}
	}
	if _, err := AppendPartRanges(nil, []int64{StreamBytesMax, StreamBytesMax}, 0, 1); err != nil {
		t.Errorf("two maximal parts: %v", err)
	}
}
