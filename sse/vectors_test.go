package sse

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"io"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var updateVectors = flag.Bool("update", false, "rewrite testdata/vectors.json from the current code")

const vectorsFile = "testdata/vectors.json"

// Vectors is testdata/vectors.json: known answers for every persisted format, built from
// fixed inputs that FORMAT.md describes.
type Vectors struct {
	Note    string         `json:"note"`
	Streams []streamVector `json:"streams"`
	Seals   []sealVector   `json:"sealed_deks"`
	Parts   []partVector   `json:"part_keys"`
	SSEC    []ssecVector   `json:"sse_c"`
	Ring    ringVector     `json:"ring"`
}

type streamVector struct {
	Name      string `json:"name"`
	Key       string `json:"key"`
	Prefix    string `json:"prefix"`
	PlainSize int    `json:"plain_size"`
	Size      int64  `json:"cipher_size"`
	SHA256    string `json:"cipher_sha256"`
	Head      string `json:"cipher_head"` // first 64 bytes (or all)
	Tail      string `json:"cipher_tail"` // last 32 bytes (or all)
}

type sealVector struct {
	Name      string `json:"name"`
	KEK       string `json:"kek"`
	DEK       string `json:"dek"`
	Rand      string `json:"rand"` // salt ‖ nonce, as drawn
	Binding   Binding
	Canonical string `json:"canonical"`
	Sealed    string `json:"sealed"`
}

type partVector struct {
	Upload string `json:"upload_dek"`
	Salt   string `json:"salt"`
	Part   int    `json:"part"`
	Key    string `json:"part_key"`
}

type ssecVector struct {
	KeyB64 string `json:"key_b64"`
	MD5B64 string `json:"key_md5_b64"`
	Salt   string `json:"salt"`
	KEK    string `json:"kek"`
	MAC    string `json:"mac"`
}

type ringVector struct {
	Root     string `json:"root"`
	Rand     string `json:"rand"` // nonces, as drawn
	Encoding string `json:"encoding"`
}

// vectorPlain is the plaintext of stream vectors: byte i is i mod 251.
func vectorPlain(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}

func seq(start byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = start + byte(i)
	}
	return b
}

func hexKey(k Key) string { return hex.EncodeToString(k[:]) }

func buildVectors(t *testing.T) Vectors {
	t.Helper()
	v := Vectors{Note: "Known answers for sse/FORMAT.md; regenerate only with a new format version (go test -run Vectors -update)."}
	key := Key(seq(0, 32))
	prefix := NoncePrefix{0xa1, 0xb2, 0xc3, 0xd4}
	for _, c := range []struct {
		name string
		n    int
	}{{"empty", 0}, {"one byte", 1}, {"exactly 64 KiB", P}, {"64 KiB + 1", P + 1}, {"200 KiB", 200 << 10}} {
		ct := encrypt(t, key, prefix, vectorPlain(c.n))
		sum := sha256.Sum256(ct)
		v.Streams = append(v.Streams, streamVector{
			Name: c.name, Key: hexKey(key), Prefix: hex.EncodeToString(prefix[:]), PlainSize: c.n,
			Size: int64(len(ct)), SHA256: hex.EncodeToString(sum[:]),
			Head: hex.EncodeToString(ct[:min(64, len(ct))]), Tail: hex.EncodeToString(ct[max(0, len(ct)-32):]),
		})
	}
	for _, b := range []Binding{
		{Bucket: "photos-1250000000", Key: "2026/cat.jpg", VersionID: "v1", Mode: ModeCOS, KeyVersion: 3},
		{Bucket: "b", Key: "k", VersionID: "v", Mode: ModeKMS, CMKID: "cmk-1", Context: map[string]string{"b": "2", "a": "1"}},
		{Bucket: "b", Key: "k", VersionID: "v", Mode: ModeC},
	} {
		kek, dek, rnd := Key(seq(0x40, 32)), Key(seq(0x80, 32)), seq(0xc0, sealSaltBytes+nonceBytes)
		sealed, err := SealDEK(bytes.NewReader(rnd), kek, dek, b)
		if err != nil {
			t.Fatal(err)
		}
		v.Seals = append(v.Seals, sealVector{
			Name: string(b.Mode), KEK: hexKey(kek), DEK: hexKey(dek), Rand: hex.EncodeToString(rnd),
			Binding: b, Canonical: hex.EncodeToString(canonical(t, b)), Sealed: hex.EncodeToString(sealed),
		})
	}
	for _, part := range []int{1, 2, PartNumberMax} {
		upload, salt := Key(seq(0x10, 32)), seq(0x30, SaltBytes)
		k, err := PartKey(upload, part, salt)
		if err != nil {
			t.Fatal(err)
		}
		v.Parts = append(v.Parts, partVector{Upload: hexKey(upload), Salt: hex.EncodeToString(salt), Part: part, Key: hexKey(k)})
	}
	ck, err := ParseCustomerKey("AES256", exampleKeyB64, exampleMD5B64)
	if err != nil {
		t.Fatal(err)
	}
	salt := seq(0x20, SaltBytes)
	kek, _ := CustomerKEK(ck, salt)
	mac, _ := CustomerKeyMAC(ck, salt)
	v.SSEC = append(v.SSEC, ssecVector{KeyB64: exampleKeyB64, MD5B64: exampleMD5B64, Salt: hex.EncodeToString(salt), KEK: hexKey(kek), MAC: hex.EncodeToString(mac)})

	root := Key(seq(0xe0, 32))
	rnd := seq(0x01, 2*nonceBytes)
	rr := bytes.NewReader(rnd)
	r, err := NewRing(rr, root, Key(seq(0x50, 32)), t0)
	if err != nil {
		t.Fatal(err)
	}
	if r, err = r.Rotate(rr, root, Key(seq(0x70, 32)), t0.Add(90*24*3600e9)); err != nil {
		t.Fatal(err)
	}
	enc, _ := r.MarshalBinary()
	v.Ring = ringVector{Root: hexKey(root), Rand: hex.EncodeToString(rnd), Encoding: hex.EncodeToString(enc)}
	return v
}

func TestVectors(t *testing.T) {
	got := buildVectors(t)
	if *updateVectors {
		out, err := json.MarshalIndent(got, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(vectorsFile, append(out, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(vectorsFile)
	if err != nil {
		t.Fatal(err)
	}
	var want Vectors
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("the formats changed (-vectors +code):\n%s", diff)
	}
	// The stored answers also decrypt and unseal, read straight from the file.
	for _, s := range want.Streams {
		if s.Size > 200 {
			continue
		}
		ct, _ := hex.DecodeString(s.Head)
		k, _ := hex.DecodeString(s.Key)
		out, err := io.ReadAll(NewDecrypter(bytes.NewReader(ct), Key(k), int64(s.PlainSize)))
		if err != nil || !bytes.Equal(out, vectorPlain(s.PlainSize)) {
			t.Errorf("stream %s: %v", s.Name, err)
		}
	}
	for _, s := range want.Seals {
		kek, _ := hex.DecodeString(s.KEK)
		sealed, _ := hex.DecodeString(s.Sealed)
		dek, err := UnsealDEK(Key(kek), sealed, s.Binding)
		if err != nil || hexKey(dek) != s.DEK {
			t.Errorf("seal %s: %v", s.Name, err)
		}
	}
	enc, _ := hex.DecodeString(want.Ring.Encoding)
	root, _ := hex.DecodeString(want.Ring.Root)
	r, err := ParseRing(enc)
	if err != nil {
		t.Fatal(err)
	}
	if m, err := r.Unseal(Key(root), 1); err != nil || m != Key(seq(0x50, 32)) {
		t.Errorf("ring version 1: %v", err)
	}
}
