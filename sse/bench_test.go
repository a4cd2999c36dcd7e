package sse

import (
	"bytes"
	"io"
	"testing"
	"time"
)

var benchSizes = []struct {
	name string
	n    int
}{{"64KiB", 64 << 10}, {"1MiB", 1 << 20}, {"16MiB", 16 << 20}}

// BenchmarkEncrypt measures a pooled Encrypter (Reset per object) streaming into
// io.Discard through WriteTo, as io.Copy drives it.
func BenchmarkEncrypt(b *testing.B) {
	for _, s := range benchSizes {
		b.Run(s.name, func(b *testing.B) {
			plain := pattern(s.n, 1)
			src := bytes.NewReader(plain)
			e := NewEncrypter(src, testKey(1), NoncePrefix{})
			b.SetBytes(int64(s.n))
			b.ReportAllocs()
			for b.Loop() {
				src.Reset(plain)
				e.Reset(src, testKey(1), NoncePrefix{})
				if _, err := io.Copy(io.Discard, e); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecrypt measures a pooled Decrypter with the size known from metadata.
func BenchmarkDecrypt(b *testing.B) {
	for _, s := range benchSizes {
		b.Run(s.name, func(b *testing.B) {
			ct := encrypt(b, testKey(1), NoncePrefix{}, pattern(s.n, 1))
			src := bytes.NewReader(ct)
			d := NewDecrypter(src, testKey(1), int64(s.n))
			b.SetBytes(int64(s.n))
			b.ReportAllocs()
			for b.Loop() {
				src.Reset(ct)
				d.Reset(src, testKey(1), int64(s.n))
				if _, err := io.Copy(io.Discard, d); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecryptRange reads from the middle of a 64 MiB object through DecryptRange
// (which allocates its Decrypter; pooled callers use ResetRange).
func BenchmarkDecryptRange(b *testing.B) {
	const size = 64 << 20
	ct := encrypt(b, testKey(1), NoncePrefix{}, pattern(size, 1))
	src := bytes.NewReader(ct)
	for _, rg := range []struct {
		name   string
		off, n int64
	}{
		{"1KiB-of-64MiB", size/2 + 100, 1 << 10},            // one package
		{"1KiB-of-64MiB-straddling", size/2 - 512, 1 << 10}, // two packages
		{"1MiB-of-64MiB", size / 2, 1 << 20},
	} {
		b.Run(rg.name, func(b *testing.B) {
			b.SetBytes(rg.n)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := DecryptRange(io.Discard, src, testKey(1), size, rg.off, rg.n); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkGCM is the raw primitive on 64 KiB in place, for the ratio against
// BenchmarkEncrypt and BenchmarkDecrypt.
func BenchmarkGCM(b *testing.B) {
	key := testKey(1)
	aead := newGCM(&key)
	nonce, aad := make([]byte, nonceBytes), make([]byte, aadBytes)
	buf := make([]byte, PackageCipherBytes)
	copy(buf, pattern(P, 1))
	b.Run("Seal/64KiB", func(b *testing.B) {
		b.SetBytes(P)
		b.ReportAllocs()
		for b.Loop() {
			aead.Seal(buf[:0], nonce, buf[:P], aad)
		}
	})
	sealed := aead.Seal(nil, nonce, buf[:P], aad)
	b.Run("Open/64KiB", func(b *testing.B) {
		b.SetBytes(P)
		b.ReportAllocs()
		for b.Loop() {
			copy(buf, sealed)
			if _, err := aead.Open(buf[:0], nonce, buf, aad); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkOverhead interleaves the stream and the raw primitive on the same bytes and
// reports their time ratio (stream/GCM, 1.0 = no overhead), which stays meaningful on a
// busy machine where absolute MB/s do not.
func BenchmarkOverhead(b *testing.B) {
	for _, s := range benchSizes[:2] {
		b.Run(s.name, func(b *testing.B) {
			plain := pattern(s.n, 1)
			ct := encrypt(b, testKey(1), NoncePrefix{}, plain)
			ps, cs := bytes.NewReader(plain), bytes.NewReader(ct)
			e := NewEncrypter(ps, testKey(1), NoncePrefix{})
			d := NewDecrypter(cs, testKey(1), int64(s.n))
			key := testKey(1)
			var pk packer
			pk.init(&key, NoncePrefix{})
			buf := make([]byte, PackageCipherBytes)
			var tEnc, tDec, tSeal, tOpen time.Duration
			b.SetBytes(int64(s.n))
			b.ReportAllocs()
			for b.Loop() {
				t := time.Now()
				ps.Reset(plain)
				e.Reset(ps, key, NoncePrefix{})
				_, _ = io.Copy(io.Discard, e)
				tEnc += time.Since(t)

				t = time.Now()
				for off := 0; off < s.n; off += P {
					pk.aead.Seal(buf[:0], pk.nonce[:], plain[off:off+P], pk.aad[:])
				}
				tSeal += time.Since(t)

				t = time.Now()
				cs.Reset(ct)
				d.Reset(cs, key, int64(s.n))
				_, _ = io.Copy(io.Discard, d)
				tDec += time.Since(t)

				t = time.Now()
				for i, off := int64(0), HeaderBytes; off < len(ct); i, off = i+1, off+PackageCipherBytes {
					c := ct[off:min(off+PackageCipherBytes, len(ct))]
					pk.set(i, off+len(c) == len(ct))
					if _, err := pk.aead.Open(buf[:0], pk.nonce[:], c, pk.aad[:]); err != nil {
						b.Fatal(err)
					}
				}
				tOpen += time.Since(t)
			}
			b.ReportMetric(float64(tEnc)/float64(tSeal), "enc/seal")
			b.ReportMetric(float64(tDec)/float64(tOpen), "dec/open")
		})
	}
}

func BenchmarkSealDEK(b *testing.B) {
	bind := cosBinding()
	rnd := seeded(1)
	sealed, _ := SealDEK(rnd, testKey(1), testKey(2), bind)
	b.Run("Seal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := SealDEK(rnd, testKey(1), testKey(2), bind); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Unseal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := UnsealDEK(testKey(1), sealed, bind); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestSteadyStateAllocs pins the "no allocation per package" promise: a pooled
// Encrypter or Decrypter allocates the same for a 64 KiB and a 4 MiB stream.
func TestSteadyStateAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts")
	}
	measure := func(n int) (enc, dec float64) {
		plain := pattern(n, 1)
		ct := encrypt(t, testKey(1), NoncePrefix{}, plain)
		ps, cs := bytes.NewReader(plain), bytes.NewReader(ct)
		e := NewEncrypter(ps, testKey(1), NoncePrefix{})
		d := NewDecrypter(cs, testKey(1), int64(n))
		enc = testing.AllocsPerRun(5, func() {
			ps.Reset(plain)
			e.Reset(ps, testKey(1), NoncePrefix{})
			_, _ = io.Copy(io.Discard, e)
		})
		dec = testing.AllocsPerRun(5, func() {
			cs.Reset(ct)
			d.Reset(cs, testKey(1), int64(n))
			_, _ = io.Copy(io.Discard, d)
		})
		return enc, dec
	}
	e1, d1 := measure(P)
	e64, d64 := measure(64 * P)
	if e64 != e1 || d64 != d1 {
		t.Fatalf("allocations grow with packages: encrypt %v→%v, decrypt %v→%v", e1, e64, d1, d64)
	}
	t.Logf("allocations per stream: encrypt %v, decrypt %v", e1, d1)
}
