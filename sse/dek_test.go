package sse

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
)

// seeded returns deterministic randomness for seals.
func seeded(seed uint64) io.Reader {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	return rand.NewChaCha8(s)
}

func cosBinding() Binding {
	return Binding{Bucket: "photos-1250000000", Key: "2026/cat.jpg", VersionID: "v1", Mode: ModeCOS, KeyVersion: 3}
}

func kmsBinding() Binding {
	return Binding{Bucket: "b", Key: "k", VersionID: "v", Mode: ModeKMS, CMKID: "cmk-1", Context: map[string]string{"a": "1", "b": "2"}}
}

func canonical(t *testing.T, b Binding) []byte {
	t.Helper()
	enc, err := b.AppendCanonical(nil)
	if err != nil {
		t.Fatalf("%+v: %v", b, err)
	}
	return enc
}

func TestBindingEncodingIsUnambiguous(t *testing.T) {
	base := Binding{Bucket: "ab", Key: "c", VersionID: "v", Mode: ModeC}
	kms := kmsBinding()
	variants := []Binding{
		base,
		{Bucket: "a", Key: "bc", VersionID: "v", Mode: ModeC},
		{Bucket: "ab", Key: "cv", VersionID: "", Mode: ModeC},
		{Bucket: "ab", Key: "c", VersionID: "v", Mode: ModeNone, KeyVersion: 1},
		{Bucket: "ab", Key: "c", VersionID: "v", Mode: ModeCOS, KeyVersion: 1},
		{Bucket: "ab", Key: "c", VersionID: "v", Mode: ModeCOS, KeyVersion: 2},
		{Bucket: "ab", Key: "c", VersionID: "v", Mode: ModeCOS, KeyVersion: 1 << 8},
		kms,
		{Bucket: "b", Key: "k", VersionID: "v", Mode: ModeKMS, CMKID: "cmk-1"},
		{Bucket: "b", Key: "k", VersionID: "v", Mode: ModeKMS, CMKID: "cmk-1", Context: map[string]string{"a": "12"}},
		{Bucket: "b", Key: "k", VersionID: "v", Mode: ModeKMS, CMKID: "cmk-1", Context: map[string]string{"a1": "2"}},
		{Bucket: "b", Key: "k", VersionID: "v", Mode: ModeKMS, CMKID: "cmk-1", Context: map[string]string{"a": "1", "b": "3"}},
		{Bucket: "b", Key: "k", VersionID: "v", Mode: ModeKMS, CMKID: "cmk-1a", Context: map[string]string{"": "1", "b": "2"}},
		{Bucket: "b", Key: "k", VersionID: "v", Mode: ModeKMS, CMKID: "cmk-2", Context: map[string]string{"a": "1", "b": "2"}},
	}
	seen := map[string]int{}
	for i, b := range variants {
		if b.VersionID == "" {
			continue // invalid: checked in TestBindingValidate
		}
		enc := string(canonical(t, b))
		if j, dup := seen[enc]; dup {
			t.Errorf("bindings %d and %d encode alike: %+v, %+v", j, i, variants[j], b)
		}
		seen[enc] = i
	}
	// Maps iterate in random order; the encoding must not.
	want := canonical(t, kms)
	for range 50 {
		b := kms
		b.Context = map[string]string{"b": "2", "a": "1"}
		if got := canonical(t, b); !bytes.Equal(got, want) {
			t.Fatal("context encoding depends on map order")
		}
	}
}

func TestBindingValidate(t *testing.T) {
	long := strings.Repeat("x", BindingFieldBytesMax+1)
	bigCtx := map[string]string{}
	for i := range ContextPairsMax + 1 {
		bigCtx[fmt.Sprint(i)] = ""
	}
	tests := []struct {
		name     string
		b        Binding
		problems int // 0 means valid
	}{
		{"cos", cosBinding(), 0},
		{"none", Binding{Bucket: "b", Key: "k", VersionID: "v", Mode: ModeNone, KeyVersion: 1}, 0},
		{"kms", kmsBinding(), 0},
		{"kms without context", Binding{Bucket: "b", Key: "k", VersionID: "v", Mode: ModeKMS, CMKID: "c"}, 0},
		{"sse-c", Binding{Bucket: "b", Key: "k", VersionID: "v", Mode: ModeC}, 0},
		{"empty", Binding{}, 4},
		{"cos without version", Binding{Bucket: "b", Key: "k", VersionID: "v", Mode: ModeCOS}, 1},
		{"cos with cmk", Binding{Bucket: "b", Key: "k", VersionID: "v", Mode: ModeCOS, KeyVersion: 1, CMKID: "c"}, 1},
		{"kms without cmk", Binding{Bucket: "b", Key: "k", VersionID: "v", Mode: ModeKMS}, 1},
		{"kms with version", Binding{Bucket: "b", Key: "k", VersionID: "v", Mode: ModeKMS, CMKID: "c", KeyVersion: 2}, 1},
		{"sse-c with context", Binding{Bucket: "b", Key: "k", VersionID: "v", Mode: ModeC, Context: map[string]string{"a": "b"}}, 1},
		{"unknown mode", Binding{Bucket: "b", Key: "k", VersionID: "v", Mode: "SSE-COS", KeyVersion: 1}, 1},
		{"long key and bucket", Binding{Bucket: long, Key: long, VersionID: "v", Mode: ModeC}, 2},
		{"long cmk", Binding{Bucket: "b", Key: "k", VersionID: "v", Mode: ModeKMS, CMKID: long}, 1},
		{"long context value", Binding{Bucket: "b", Key: "k", VersionID: "v", Mode: ModeKMS, CMKID: "c", Context: map[string]string{"a": long}}, 1},
		{"too many pairs", Binding{Bucket: "b", Key: "k", VersionID: "v", Mode: ModeKMS, CMKID: "c", Context: bigCtx}, 1},
	}
	for _, tt := range tests {
		err := tt.b.Validate()
		if tt.problems == 0 {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		if !errors.Is(err, ErrBinding) {
			t.Errorf("%s: got %v, want ErrBinding", tt.name, err)
			continue
		}
		if n := len(err.(interface{ Unwrap() []error }).Unwrap()); n != tt.problems {
			t.Errorf("%s: %d problems reported, want %d: %v", tt.name, n, tt.problems, err)
		}
		if _, err := SealDEK(seeded(1), testKey(1), testKey(2), tt.b); !errors.Is(err, ErrBinding) {
			t.Errorf("%s: SealDEK accepted an invalid binding: %v", tt.name, err)
		}
	}
}

func TestSealDEKRoundTrip(t *testing.T) {
	kek, dek := testKey(10), testKey(20)
	for _, b := range []Binding{cosBinding(), kmsBinding(), {Bucket: "b", Key: "k", VersionID: "v", Mode: ModeC}} {
		sealed, err := SealDEK(seeded(1), kek, dek, b)
		if err != nil {
			t.Fatal(err)
		}
		if len(sealed) != SealedDEKBytes {
			t.Fatalf("sealed DEK is %d bytes, want %d", len(sealed), SealedDEKBytes)
		}
		if bytes.Contains(sealed, dek[:8]) {
			t.Fatal("sealed form contains the DEK")
		}
		got, err := UnsealDEK(kek, sealed, b)
		if err != nil || got != dek {
			t.Fatalf("unseal: %v (equal %v)", err, got == dek)
		}
		// Fresh randomness per seal: two seals differ.
		again, _ := SealDEK(seeded(2), kek, dek, b)
		if bytes.Equal(sealed, again) {
			t.Fatal("two seals with different randomness are identical")
		}
	}
}

func TestSealedDEKCannotMove(t *testing.T) {
	kek, dek := testKey(10), testKey(20)
	b := cosBinding()
	sealed, err := SealDEK(seeded(1), kek, dek, b)
	if err != nil {
		t.Fatal(err)
	}
	moved := map[string]func(*Binding){
		"other bucket":      func(b *Binding) { b.Bucket = "other" },
		"other key":         func(b *Binding) { b.Key = "2026/dog.jpg" },
		"other version":     func(b *Binding) { b.VersionID = "v2" },
		"mode none":         func(b *Binding) { b.Mode = ModeNone },
		"other key version": func(b *Binding) { b.KeyVersion = 4 },
		"mode kms":          func(b *Binding) { b.Mode, b.KeyVersion, b.CMKID = ModeKMS, 0, "3" },
		"mode sse-c":        func(b *Binding) { b.Mode, b.KeyVersion = ModeC, 0 },
	}
	for name, change := range moved {
		other := b
		change(&other)
		if _, err := UnsealDEK(kek, sealed, other); !errors.Is(err, ErrAuth) {
			t.Errorf("%s: got %v, want ErrAuth", name, err)
		}
	}
	ks, _ := SealDEK(seeded(1), kek, dek, kmsBinding())
	for name, ctx := range map[string]map[string]string{
		"context value":   {"a": "1", "b": "3"},
		"context dropped": {"a": "1"},
		"context empty":   nil,
		"context added":   {"a": "1", "b": "2", "c": "3"},
	} {
		other := kmsBinding()
		other.Context = ctx
		if _, err := UnsealDEK(kek, ks, other); !errors.Is(err, ErrAuth) {
			t.Errorf("%s: got %v, want ErrAuth", name, err)
		}
	}
	if _, err := UnsealDEK(testKey(11), sealed, b); !errors.Is(err, ErrAuth) {
		t.Errorf("wrong KEK: got %v, want ErrAuth", err)
	}
	for bit := range len(sealed) * 8 {
		_, err := UnsealDEK(kek, flip(sealed, bit), b)
		if !errors.Is(err, ErrAuth) && !errors.Is(err, ErrSealed) && !errors.Is(err, ErrVersion) {
			t.Fatalf("bit %d: got %v, want a failure", bit, err)
		}
	}
	for n := range len(sealed) {
		if _, err := UnsealDEK(kek, sealed[:n], b); !errors.Is(err, ErrSealed) {
			t.Fatalf("truncated to %d: got %v, want ErrSealed", n, err)
		}
	}
	if _, err := UnsealDEK(kek, append(bytes.Clone(sealed), 0), b); !errors.Is(err, ErrSealed) {
		t.Fatalf("trailing byte: got %v, want ErrSealed", err)
	}
	v2 := bytes.Clone(sealed)
	v2[4] = 2
	if _, err := UnsealDEK(kek, v2, b); !errors.Is(err, ErrVersion) {
		t.Fatalf("version 2: got %v, want ErrVersion", err)
	}
}

// refHKDF is RFC 5869 HKDF-SHA256 for one block, written out with crypto/hmac.
func refHKDF(secret, salt, info []byte) Key {
	if salt == nil {
		salt = make([]byte, sha256.Size)
	}
	ext := hmac.New(sha256.New, salt)
	ext.Write(secret)
	exp := hmac.New(sha256.New, ext.Sum(nil))
	exp.Write(info)
	exp.Write([]byte{1})
	return Key(exp.Sum(nil))
}

func TestPartKey(t *testing.T) {
	upload := testKey(42)
	salt, again := bytes.Repeat([]byte{1}, SaltBytesMin), bytes.Repeat([]byte{2}, SaltBytes)
	seen := map[Key]int{}
	for _, part := range []int{1, 2, 3, 255, 256, 257, 9999, PartNumberMax} {
		k, err := PartKey(upload, part, salt)
		if err != nil {
			t.Fatal(err)
		}
		want := refHKDF(upload[:], salt, binary.BigEndian.AppendUint32([]byte("coffer part"), uint32(part)))
		if k != want {
			t.Fatalf("part %d: key differs from RFC 5869 reference", part)
		}
		if p, dup := seen[k]; dup {
			t.Fatalf("parts %d and %d share a key", p, part)
		}
		seen[k] = part
		if other, _ := PartKey(testKey(43), part, salt); other == k {
			t.Fatalf("part %d: two uploads share a part key", part)
		}
		if reupload, _ := PartKey(upload, part, again); reupload == k {
			t.Fatalf("part %d: two uploads of the part share a key", part)
		}
	}
	for _, bad := range []int{-1, 0, PartNumberMax + 1} {
		if _, err := PartKey(upload, bad, salt); !errors.Is(err, ErrPartNumber) {
			t.Errorf("part %d: got %v, want ErrPartNumber", bad, err)
		}
	}
	if _, err := PartKey(upload, 1, salt[:SaltBytesMin-1]); !errors.Is(err, ErrSalt) {
		t.Errorf("short salt: got %v, want ErrSalt", err)
	}
	// A part's stream does not open under another part's key.
	k1, _ := PartKey(upload, 1, salt)
	k2, _ := PartKey(upload, 2, salt)
	ct := encrypt(t, k1, NoncePrefix{1}, pattern(1000, 1))
	if _, err := decryptAs(modeSized, ct, k2, 1000); !errors.Is(err, ErrAuth) {
		t.Fatalf("part 1 opened under part 2's key: %v", err)
	}
}

func FuzzUnsealDEK(f *testing.F) {
	kek, dek := testKey(10), testKey(20)
	b := cosBinding()
	sealed, err := SealDEK(seeded(1), kek, dek, b)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sealed)
	f.Add(sealed[:40])
	f.Add([]byte{})
	f.Add([]byte("CFDK\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := UnsealDEK(kek, data, b)
		if err == nil && (!bytes.Equal(data, sealed) || got != dek) {
			t.Fatalf("forged sealed DEK accepted")
		}
	})
}
