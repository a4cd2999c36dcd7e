package kms

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/coffer-io/coffer/sse"
)

func testRoot(b byte) sse.Key {
	var k sse.Key
	for i := range k {
		k[i] = b + byte(i)
	}
	return k
}

func TestMaterialRoundTrip(t *testing.T) {
	im, _, err := NewImport(rand.Reader, WrappingBits2048, 42)
	if err != nil {
		t.Fatal(err)
	}
	one, err := NewMaterial(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	three := one.Clone()
	for range 2 {
		if err := three.Rotate(rand.Reader); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		m    Material
	}{
		{"empty", Material{}},
		{"one version", one},
		{"three versions", three},
		{"pending import", Material{Import: im}},
		{"versions and import", Material{Versions: three.Versions, Import: im}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseMaterial(tc.m.Encode())
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Encode(), tc.m.Encode()) || got.Current() != tc.m.Current() {
				t.Fatalf("round trip differs")
			}
			sealed, err := SealMaterial(rand.Reader, testRoot(1), "cmk-a", &tc.m)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(sealed, tc.m.Encode()[5:]) && len(tc.m.Versions) > 0 {
				t.Fatal("sealed material contains the plaintext")
			}
			opened, err := OpenMaterial(testRoot(1), "cmk-a", sealed)
			if err != nil || !bytes.Equal(opened.Encode(), tc.m.Encode()) {
				t.Fatalf("open: %v", err)
			}
			if _, err := OpenMaterial(testRoot(2), "cmk-a", sealed); !errors.Is(err, ErrAuth) {
				t.Fatalf("open under another root: %v", err)
			}
			if _, err := OpenMaterial(testRoot(1), "cmk-b", sealed); !errors.Is(err, ErrAuth) {
				t.Fatalf("open for another cmk: %v", err)
			}
		})
	}
}

func TestParseMaterialErrors(t *testing.T) {
	good := (&Material{Versions: []sse.Key{testRoot(3)}}).Encode()
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"nil", nil},
		{"magic", append([]byte("XXXX"), good[4:]...)},
		{"version", append(append([]byte{}, good[:4]...), append([]byte{2}, good[5:]...)...)},
		{"truncated key", good[:20]},
		{"no flag", good[:len(good)-1]},
		{"trailing", append(bytes.Clone(good), 0)},
		{"bad flag", append(bytes.Clone(good[:len(good)-1]), 7)},
		{"short import", append(bytes.Clone(good[:len(good)-1]), 1, 0, 0)},
		{"too many versions", []byte{'C', 'F', 'K', 'M', 1, 0xff, 0xff, 0xff, 0xff, 0}},
	} {
		if _, err := ParseMaterial(tc.b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", tc.name, err)
		}
	}
}

func TestEncryptDecrypt(t *testing.T) {
	m, err := NewMaterial(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ctx := map[string]string{"a": "1", "b": "2"}
	blob, err := Encrypt(rand.Reader, &m, "k1", ctx, []byte("data key"))
	if err != nil {
		t.Fatal(err)
	}
	if v, err := BlobVersion(blob); err != nil || v != 1 {
		t.Fatalf("blob version %d, %v", v, err)
	}
	if err := m.Rotate(rand.Reader); err != nil {
		t.Fatal(err)
	}
	got, err := Decrypt(&m, "k1", map[string]string{"b": "2", "a": "1"}, blob)
	if err != nil || string(got) != "data key" {
		t.Fatalf("decrypt after rotation: %q, %v", got, err)
	}
	newer, err := Encrypt(rand.Reader, &m, "k1", nil, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := BlobVersion(newer); v != 2 {
		t.Fatalf("blob after rotation is of version %d", v)
	}
	flipped := bytes.Clone(blob)
	flipped[len(flipped)-1] ^= 1
	other, _ := NewMaterial(rand.Reader)
	for _, tc := range []struct {
		name string
		m    *Material
		id   string
		ctx  map[string]string
		blob []byte
		want error
	}{
		{"other context", &m, "k1", map[string]string{"a": "1"}, blob, ErrAuth},
		{"no context", &m, "k1", nil, blob, ErrAuth},
		{"other value", &m, "k1", map[string]string{"a": "1", "b": "3"}, blob, ErrAuth},
		{"other cmk", &m, "k2", ctx, blob, ErrAuth},
		{"other material", &other, "k1", ctx, blob, ErrAuth},
		{"flipped tag", &m, "k1", ctx, flipped, ErrAuth},
		{"short", &m, "k1", ctx, blob[:10], ErrMalformed},
		{"unknown version", &Material{}, "k1", ctx, blob, ErrNoVersion},
	} {
		if _, err := Decrypt(tc.m, tc.id, tc.ctx, tc.blob); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, err := Encrypt(rand.Reader, &Material{}, "k1", nil, []byte("x")); !errors.Is(err, ErrNoVersion) {
		t.Fatalf("encrypt without material: %v", err)
	}
	if _, err := Encrypt(rand.Reader, &m, "k1", nil, make([]byte, PlaintextBytesMax+1)); !errors.Is(err, ErrLimit) {
		t.Fatalf("encrypt over the limit: %v", err)
	}
}

func TestImport(t *testing.T) {
	for _, bits := range []int{WrappingBits2048, WrappingBits3072} {
		t.Run(fmt.Sprint(bits), func(t *testing.T) {
			im, pubDER, err := NewImport(rand.Reader, bits, 1000)
			if err != nil {
				t.Fatal(err)
			}
			pk, err := x509.ParsePKIXPublicKey(pubDER)
			if err != nil {
				t.Fatal(err)
			}
			pub := pk.(*rsa.PublicKey)
			if pub.N.BitLen() != bits {
				t.Fatalf("wrapping key of %d bits", pub.N.BitLen())
			}
			key := testRoot(9)
			wrapped, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, key[:], nil)
			if err != nil {
				t.Fatal(err)
			}
			m := Material{Import: im}
			// A sealed round trip keeps the pending import usable.
			sealed, err := SealMaterial(rand.Reader, testRoot(1), "x", &m)
			if err != nil {
				t.Fatal(err)
			}
			if m, err = OpenMaterial(testRoot(1), "x", sealed); err != nil {
				t.Fatal(err)
			}
			bad := im.Token
			bad[3] ^= 1
			short, _ := rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, key[:16], nil)
			for _, tc := range []struct {
				name    string
				token   []byte
				wrapped []byte
				now     int64
			}{
				{"wrong token", bad[:], wrapped, 1},
				{"short token", im.Token[:8], wrapped, 1},
				{"expired", im.Token[:], wrapped, 1001},
				{"short material", im.Token[:], short, 1},
				{"garbage", im.Token[:], []byte("garbage"), 1},
			} {
				c := m.Clone()
				if err := c.ImportMaterial(tc.token, tc.wrapped, tc.now); !errors.Is(err, ErrImport) {
					t.Errorf("%s: %v, want ErrImport", tc.name, err)
				}
			}
			if err := m.ImportMaterial(im.Token[:], wrapped, 1000); err != nil {
				t.Fatal(err)
			}
			if m.Current() != 1 || m.Versions[0] != key || m.Import != nil {
				t.Fatal("imported material not in place")
			}
			if err := m.ImportMaterial(im.Token[:], wrapped, 1000); !errors.Is(err, ErrImport) {
				t.Fatalf("token reused: %v", err)
			}
		})
	}
	if _, _, err := NewImport(rand.Reader, 1024, 1); !errors.Is(err, ErrImport) {
		t.Fatalf("1024-bit wrapping key: %v", err)
	}
}

func TestCacheTTL(t *testing.T) {
	now := time.Unix(100, 0)
	c := NewCache(50*time.Millisecond, func() time.Time { return now })
	c.Put("a", 1)
	if v, ok := c.Get("a"); !ok || v != 1 {
		t.Fatal("fresh entry missing")
	}
	now = now.Add(49 * time.Millisecond)
	if _, ok := c.Get("a"); !ok {
		t.Fatal("entry gone before its TTL")
	}
	now = now.Add(time.Millisecond)
	if _, ok := c.Get("a"); ok {
		t.Fatal("entry served at its TTL")
	}
	c.Put("b", 2)
	c.Forget("b")
	if _, ok := c.Get("b"); ok {
		t.Fatal("forgotten entry served")
	}
	off := NewCache(0, func() time.Time { return now })
	off.Put("a", 1)
	if _, ok := off.Get("a"); ok {
		t.Fatal("a zero-TTL cache kept an entry")
	}
	for i := range CacheEntriesMax + 1 {
		c.Put(fmt.Sprint(i), i)
	}
	if len(c.entries) > CacheEntriesMax {
		t.Fatalf("%d entries", len(c.entries))
	}
}

func FuzzParseMaterial(f *testing.F) {
	f.Add((&Material{}).Encode())
	f.Add((&Material{Versions: []sse.Key{testRoot(1), testRoot(2)}}).Encode())
	f.Add((&Material{Import: &Import{Expires: 5, PrivateKey: []byte("der")}}).Encode())
	f.Add([]byte("CFKM"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseMaterial(b)
		if err != nil {
			return
		}
		if !bytes.Equal(m.Encode(), b) {
			t.Fatal("accepted an encoding that does not round-trip")
		}
	})
}

func FuzzOpen(f *testing.F) {
	m := Material{Versions: []sse.Key{testRoot(5)}}
	// Deterministic randomness: fuzz workers rebuild these and must agree.
	sealed, _ := SealMaterial(bytes.NewReader(make([]byte, 64)), testRoot(1), "id", &m)
	blob, _ := Encrypt(bytes.NewReader(make([]byte, 64)), &m, "id", map[string]string{"a": "b"}, []byte("pt"))
	f.Add(sealed)
	f.Add(blob)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := OpenMaterial(testRoot(1), "id", b); err == nil && !bytes.Equal(b, sealed) {
			t.Fatal("forged sealed material opened")
		}
		if _, err := Decrypt(&m, "id", map[string]string{"a": "b"}, b); err == nil && !bytes.Equal(b, blob) {
			t.Fatal("forged blob opened")
		}
	})
}

func BenchmarkGenerateDataKey32B(b *testing.B) {
	m, _ := NewMaterial(rand.Reader)
	ctx := map[string]string{"bucket": "b", "team": "blue"}
	pt := make([]byte, 32)
	b.ReportAllocs()
	for b.Loop() {
		blob, err := Encrypt(rand.Reader, &m, "0b7e1c2a-6d4f-4a57-9c1e-5a3f2b8d9e10", ctx, pt)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Decrypt(&m, "0b7e1c2a-6d4f-4a57-9c1e-5a3f2b8d9e10", ctx, blob); err != nil {
			b.Fatal(err)
		}
	}
}
