package sse

import (
	"bytes"
	"io"
	"testing"
)

// FuzzDecrypt feeds arbitrary bytes to the stream parser in every mode. It must fail
// cleanly, and whatever it accepts must be exactly a stream the Encrypter produces.
func FuzzDecrypt(f *testing.F) {
	key := testKey(1)
	for _, n := range []int{0, 1, 100, P + 3} {
		ct := encrypt(f, key, NoncePrefix{1, 2, 3, 4}, pattern(n, 1))
		f.Add(ct, int64(n), uint32(0), uint32(n))
		f.Add(ct[:len(ct)-1], int64(n), uint32(1), uint32(2))
	}
	f.Add([]byte("CFSE\x01\x01\x00\x00abcd"), int64(0), uint32(0), uint32(0))
	f.Add([]byte("CFSE\x02\x01\x00\x00abcd"), int64(-1), uint32(0), uint32(0))
	f.Fuzz(func(t *testing.T, data []byte, size int64, off, n uint32) {
		accepted := func(plain []byte) {
			if len(data) < HeaderBytes {
				t.Fatal("accepted a stream without a header")
			}
			if want := encrypt(t, key, NoncePrefix(data[8:12]), plain); !bytes.Equal(want, data) {
				t.Fatal("accepted a stream the Encrypter would not produce")
			}
		}
		if plain, err := io.ReadAll(NewDecrypter(bytes.NewReader(data), key, -1)); err == nil {
			accepted(plain)
		}
		if plain, err := io.ReadAll(NewDecrypter(bytes.NewReader(data), key, size)); err == nil {
			if size >= 0 && int64(len(plain)) != size {
				t.Fatalf("sized decrypter returned %d bytes for size %d", len(plain), size)
			}
			accepted(plain)
		}
		var out bytes.Buffer
		if w, err := DecryptRange(&out, bytes.NewReader(data), key, size, int64(off), int64(n)); err == nil && (w != int64(n) || out.Len() != int(n)) {
			t.Fatalf("range of %d bytes wrote %d", n, w)
		}
	})
}
