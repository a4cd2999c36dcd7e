package sse

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

// pkgAt is the stream offset of package i.
func pkgAt(i int) int { return HeaderBytes + i*PackageCipherBytes }

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func flip(b []byte, bit int) []byte {
	out := bytes.Clone(b)
	out[bit/8] ^= 1 << (bit % 8)
	return out
}

// tamperCase is a damaged stream. safe is how many plaintext bytes of the original may
// be handed out before the error: only packages before the first damaged one.
type tamperCase struct {
	name string
	ct   []byte
	key  Key
	safe int
	want []error // acceptable sentinels; nil means any error
	// rangeBlind marks damage after the final package, which a range read never sees.
	rangeBlind bool
}

// checkFailsClosed decrypts c in every mode and requires an error, and output that is a
// prefix of plain no longer than c.safe.
func checkFailsClosed(t *testing.T, c tamperCase, plain []byte) {
	t.Helper()
	for _, m := range modes {
		if m == modeRange && (len(plain) == 0 || c.rangeBlind) {
			continue // an empty range reads no package; a range stops at its end
		}
		out, err := decryptAs(m, c.ct, c.key, int64(len(plain)))
		if err == nil {
			t.Errorf("%s/%v: no error", c.name, m)
			continue
		}
		if len(out) > c.safe || !bytes.Equal(out, plain[:len(out)]) {
			t.Errorf("%s/%v: handed out %d bytes (safe %d) before %v", c.name, m, len(out), c.safe, err)
		}
		if c.want != nil && !isAny(err, c.want) {
			t.Errorf("%s/%v: error %v, want one of %v", c.name, m, err, c.want)
		}
	}
}

func isAny(err error, targets []error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}

func TestTamperFailsClosed(t *testing.T) {
	key, other := testKey(1), testKey(100)
	prefix := NoncePrefix{0xa1, 0xb2, 0xc3, 0xd4}
	authOrTrunc := []error{ErrAuth, ErrTruncated}
	for _, size := range []int{3*P - 7, 2 * P} {
		plain := pattern(size, 11)
		ct := encrypt(t, key, prefix, plain)
		n := int(packages(int64(size)))
		end := pkgAt(n - 1) // start of the final package
		// The same plaintext as another object: other key; same key, other prefix.
		foreign := encrypt(t, other, prefix, plain)
		reprefixed := encrypt(t, key, NoncePrefix{9, 9, 9, 9}, plain)
		pkg := func(b []byte, i int) []byte { return b[pkgAt(i):min(pkgAt(i+1), len(b))] }

		cases := []tamperCase{
			{name: "wrong key", ct: ct, key: other, want: []error{ErrAuth}},
			{name: "swap packages 0 and 1", ct: cat(ct[:HeaderBytes], pkg(ct, 1), pkg(ct, 0), ct[pkgAt(2):]), want: []error{ErrAuth}},
			{name: "duplicate package 0", ct: cat(ct[:pkgAt(1)], pkg(ct, 0), ct[pkgAt(1):]), safe: P, want: authOrTrunc},
			{name: "package 1 from another key", ct: cat(ct[:pkgAt(1)], pkg(foreign, 1), ct[pkgAt(2):]), safe: P, want: []error{ErrAuth}},
			{name: "package 1 from another prefix", ct: cat(ct[:pkgAt(1)], pkg(reprefixed, 1), ct[pkgAt(2):]), safe: P, want: []error{ErrAuth}},
			{name: "final package from another prefix", ct: cat(ct[:end], pkg(reprefixed, n-1)), safe: (n - 1) * P, want: []error{ErrAuth}},
			{name: "header from another prefix", ct: cat(reprefixed[:HeaderBytes], ct[HeaderBytes:]), want: []error{ErrAuth}},
			{name: "dropped final package", ct: ct[:end], safe: (n - 1) * P, want: authOrTrunc},
			{name: "final package duplicated", ct: cat(ct, pkg(ct, n-1)), safe: (n - 1) * P, want: []error{ErrAuth, ErrTrailing}, rangeBlind: true},
			{name: "trailing byte", ct: cat(ct, []byte{0}), safe: (n - 1) * P, want: []error{ErrAuth, ErrTrailing}, rangeBlind: true},
			{name: "truncated mid package 0", ct: ct[:HeaderBytes+P/2], want: authOrTrunc},
			{name: "truncated in tag of final package", ct: ct[:len(ct)-1], safe: (n - 1) * P, want: authOrTrunc},
			{name: "truncated to header", ct: ct[:HeaderBytes], want: []error{ErrTruncated}},
			{name: "truncated in header", ct: ct[:HeaderBytes-1], want: []error{ErrTruncated}},
			{name: "empty", ct: nil, want: []error{ErrTruncated}},
			{name: "truncated to a tag", ct: ct[:HeaderBytes+TagBytes-1], want: []error{ErrTruncated, ErrAuth}},
		}
		for i := 1; i < n; i++ {
			cases = append(cases, tamperCase{name: fmt.Sprintf("truncated after package %d", i-1), ct: ct[:pkgAt(i)], safe: i * P, want: authOrTrunc})
		}
		// Bit flips: every bit of the header, and the edges, middle and tag of every package.
		for bit := range HeaderBytes * 8 {
			cases = append(cases, tamperCase{name: fmt.Sprintf("header bit %d", bit), ct: flip(ct, bit), want: []error{ErrAuth, ErrHeader, ErrVersion}})
		}
		for i := range n {
			lo, hi := pkgAt(i), min(pkgAt(i+1), len(ct))
			for _, at := range []int{lo, lo + 1, (lo + hi) / 2, hi - TagBytes - 1, hi - TagBytes, hi - 1} {
				bit := at*8 + at%8
				cases = append(cases, tamperCase{name: fmt.Sprintf("package %d byte %d", i, at-lo), ct: flip(ct, bit), safe: i * P, want: []error{ErrAuth}})
			}
		}
		for _, c := range cases {
			if c.key == (Key{}) {
				c.key = key
			}
			c.name = fmt.Sprintf("%d/%s", size, c.name)
			checkFailsClosed(t, c, plain)
		}
	}
}

// TestTamperEveryBitSmall flips every bit and cuts at every byte of one-package streams.
func TestTamperEveryBitSmall(t *testing.T) {
	key := testKey(3)
	for _, size := range []int{0, 40} {
		plain := pattern(size, 5)
		ct := encrypt(t, key, NoncePrefix{7}, plain)
		for bit := range len(ct) * 8 {
			checkFailsClosed(t, tamperCase{name: fmt.Sprintf("size %d bit %d", size, bit), ct: flip(ct, bit), key: key}, plain)
		}
		for cut := range len(ct) {
			checkFailsClosed(t, tamperCase{name: fmt.Sprintf("size %d cut %d", size, cut), ct: ct[:cut], key: key, want: []error{ErrTruncated, ErrAuth}}, plain)
		}
	}
}

// TestSizeMismatchFails: a valid empty stream offered for an object whose
// metadata says it has data, and a one-package stream offered as empty.
func TestSizeMismatchFails(t *testing.T) {
	key := testKey(4)
	empty := encrypt(t, key, NoncePrefix{}, nil)
	if _, err := decryptAs(modeSized, empty, key, 100); !errors.Is(err, ErrTruncated) {
		t.Errorf("empty stream for 100 bytes: %v, want ErrTruncated", err)
	}
	if _, err := decryptAs(modeRange, empty, key, 100); !errors.Is(err, ErrTruncated) {
		t.Errorf("empty stream for a 100-byte range: %v, want ErrTruncated", err)
	}
	short := encrypt(t, key, NoncePrefix{}, pattern(100, 1))
	if out, err := decryptAs(modeSized, short, key, 0); err == nil || len(out) != 0 {
		t.Errorf("100-byte stream read as empty: %d bytes, %v", len(out), err)
	}
	if _, err := decryptAs(modeSized, empty, key, StreamBytesMax+1); !errors.Is(err, ErrTooLarge) {
		t.Errorf("size above StreamBytesMax: %v, want ErrTooLarge", err)
	}
	// A stream whose final package is full, read with a size one package longer.
	full := encrypt(t, key, NoncePrefix{}, pattern(P, 1))
	if out, err := decryptAs(modeSized, full, key, P+1); !errors.Is(err, ErrAuth) || len(out) != 0 {
		t.Errorf("final package read as non-final: %d bytes, %v", len(out), err)
	}
}
