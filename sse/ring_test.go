package sse

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2026, 11, 23, 13, 0, 0, 123456789, time.UTC)

func TestRingLifecycle(t *testing.T) {
	root := testKey(200)
	rnd := seeded(9)
	r1, err := NewRing(rnd, root, testKey(1), t0)
	if err != nil {
		t.Fatal(err)
	}
	if a := r1.Active(); a.Version != 1 || a.State != StateActive || !a.Created.Equal(t0) {
		t.Fatalf("new ring active = %+v", a)
	}
	r2, err := r1.Rotate(rnd, root, testKey(2), t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	r3, err := r2.Rotate(rnd, root, testKey(3), t0.Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want := []MasterKey{
		{1, StateDecryptOnly, t0},
		{2, StateDecryptOnly, t0.Add(time.Hour)},
		{3, StateActive, t0.Add(2 * time.Hour)},
	}
	if diff := cmp.Diff(want, r3.Versions()); diff != "" {
		t.Fatalf("versions after two rotations (-want +got):\n%s", diff)
	}
	// Rings are values: the old ones did not change.
	if r1.Active().Version != 1 || len(r1.Versions()) != 1 || r2.Active().Version != 2 {
		t.Fatal("Rotate changed the ring it was called on")
	}
	for v := uint32(1); v <= 3; v++ {
		if m, err := r3.Unseal(root, v); err != nil || m != testKey(byte(v)) {
			t.Fatalf("unseal %d: %v", v, err)
		}
	}
	if _, err := r3.Unseal(root, 4); !errors.Is(err, ErrKeyVersion) {
		t.Fatalf("unseal 4: %v, want ErrKeyVersion", err)
	}
	if _, err := r3.Unseal(testKey(201), 2); !errors.Is(err, ErrAuth) {
		t.Fatalf("wrong root: %v, want ErrAuth", err)
	}
	if _, err := NewRing(rnd, root, testKey(1), time.Unix(1<<41, 0)); !errors.Is(err, ErrRing) {
		t.Fatalf("new ring in the year 70000: %v, want ErrRing", err)
	}
	if _, err := r3.Rotate(rnd, root, testKey(4), time.Unix(-1<<41, 0)); !errors.Is(err, ErrRing) {
		t.Fatalf("rotate 70000 years ago: %v, want ErrRing", err)
	}
	if _, err := r3.Rotate(rnd, testKey(201), testKey(4), t0); !errors.Is(err, ErrAuth) {
		t.Fatalf("rotate under the wrong root: %v, want ErrAuth", err)
	}

	// Retire: only decrypt-only versions, once.
	if _, err := r3.Retire(3); !errors.Is(err, ErrKeyState) {
		t.Fatalf("retire active: %v, want ErrKeyState", err)
	}
	if _, err := r3.Retire(9); !errors.Is(err, ErrKeyVersion) {
		t.Fatalf("retire unknown: %v, want ErrKeyVersion", err)
	}
	r4, err := r3.Retire(1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r4.Retire(1); !errors.Is(err, ErrKeyState) {
		t.Fatalf("retire twice: %v, want ErrKeyState", err)
	}
	if _, err := r4.Unseal(root, 1); !errors.Is(err, ErrKeyRetired) {
		t.Fatalf("unseal retired: %v, want ErrKeyRetired", err)
	}
	if _, err := r3.Unseal(root, 1); err != nil {
		t.Fatalf("Retire changed the ring it was called on: %v", err)
	}

	// Root-key rotation: the new root opens every live version, the old one none.
	newRoot := testKey(250)
	r5, err := r4.Reseal(rnd, root, newRoot)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(r4.Versions(), r5.Versions()); diff != "" {
		t.Fatalf("Reseal changed versions:\n%s", diff)
	}
	for v := uint32(2); v <= 3; v++ {
		if m, err := r5.Unseal(newRoot, v); err != nil || m != testKey(byte(v)) {
			t.Fatalf("unseal %d under the new root: %v", v, err)
		}
		if _, err := r5.Unseal(root, v); !errors.Is(err, ErrAuth) {
			t.Fatalf("unseal %d under the old root: %v", v, err)
		}
	}
	if _, err := r4.Reseal(rnd, testKey(7), newRoot); !errors.Is(err, ErrAuth) {
		t.Fatalf("reseal from the wrong root: %v", err)
	}

	// Encoding round trip.
	enc, err := r5.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseRing(enc)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(r5.Versions(), back.Versions()); diff != "" {
		t.Fatalf("round trip (-want +got):\n%s", diff)
	}
	if m, err := back.Unseal(newRoot, 3); err != nil || m != testKey(3) {
		t.Fatalf("unseal after round trip: %v", err)
	}
	if bytes.Contains(enc, func() []byte { k := testKey(3); return k[:] }()) {
		t.Fatal("encoded ring contains material in the clear")
	}
}

func TestRingBindsVersion(t *testing.T) {
	root := testKey(200)
	rnd := seeded(3)
	r, _ := NewRing(rnd, root, testKey(1), t0)
	r, _ = r.Rotate(rnd, root, testKey(2), t0)
	enc, _ := r.MarshalBinary()
	// Swap the sealed material of versions 1 and 2 in the encoding.
	entry := ringEntryBytes + ringSealedBytes
	a := enc[9+ringEntryBytes : 9+entry]
	b := enc[9+entry+ringEntryBytes : 9+2*entry]
	swapped := bytes.Clone(enc)
	copy(swapped[9+ringEntryBytes:], b)
	copy(swapped[9+entry+ringEntryBytes:], a)
	sr, err := ParseRing(swapped)
	if err != nil {
		t.Fatal(err)
	}
	for v := uint32(1); v <= 2; v++ {
		if _, err := sr.Unseal(root, v); !errors.Is(err, ErrAuth) {
			t.Fatalf("version %d opened material sealed for the other version: %v", v, err)
		}
	}
}

func TestParseRingRejects(t *testing.T) {
	root := testKey(200)
	rnd := seeded(4)
	r, _ := NewRing(rnd, root, testKey(1), t0)
	r, _ = r.Rotate(rnd, root, testKey(2), t0)
	r, _ = r.Rotate(rnd, root, testKey(3), t0)
	r, _ = r.Retire(1)
	good, _ := r.MarshalBinary()
	if _, err := ParseRing(good); err != nil {
		t.Fatal(err)
	}
	entry := func(i int) int { // offset of entry i; entry 0 is retired (no material)
		if i == 0 {
			return 9
		}
		return 9 + ringEntryBytes + (i-1)*(ringEntryBytes+ringSealedBytes)
	}
	set := func(at int, b ...byte) []byte {
		out := bytes.Clone(good)
		copy(out[at:], b)
		return out
	}
	tests := []struct {
		name string
		enc  []byte
		want error
	}{
		{"magic", set(0, 'X'), ErrRing},
		{"format", set(4, 2), ErrVersion},
		{"count zero", set(5, 0, 0, 0, 0), ErrRing},
		{"count huge", set(5, 0xff, 0xff, 0xff, 0xff), ErrRing},
		{"count short", set(5, 0, 0, 0, 2), ErrRing},
		{"count long", set(5, 0, 0, 0, 4), ErrRing},
		{"version zero", set(entry(0), 0, 0, 0, 0), ErrRing},
		{"versions out of order", set(entry(1), 0, 0, 0, 9), ErrRing},
		{"versions repeat", set(entry(2), 0, 0, 0, 2), ErrRing},
		{"two active", set(entry(1)+4, byte(StateActive)), ErrRing},
		{"last not active", set(entry(2)+4, byte(StateDecryptOnly)), ErrRing},
		{"state zero", set(entry(1)+4, 0), ErrRing},
		{"state unknown", set(entry(1)+4, 9), ErrRing},
		{"retired with length", set(entry(0)+17, ringSealedBytes), ErrRing},
		{"live without material", set(entry(1)+4, byte(StateRetired)), ErrRing},
		{"bad nanoseconds", set(entry(1)+13, 0xff, 0xff, 0xff, 0xff), ErrRing},
		{"time far future", set(entry(1)+5, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), ErrRing},
		{"time far past", set(entry(1)+5, 0x80), ErrRing},
		{"trailing", append(bytes.Clone(good), 0), ErrRing},
	}
	for n := range len(good) {
		tests = append(tests, struct {
			name string
			enc  []byte
			want error
		}{"truncated", good[:n], ErrRing})
	}
	for _, tt := range tests {
		if _, err := ParseRing(tt.enc); !errors.Is(err, tt.want) {
			t.Errorf("%s (%d bytes): got %v, want %v", tt.name, len(tt.enc), err, tt.want)
		}
	}
}

func FuzzParseRing(f *testing.F) {
	root := testKey(200)
	rnd := seeded(5)
	r, _ := NewRing(rnd, root, testKey(1), t0)
	enc1, _ := r.MarshalBinary()
	r, _ = r.Rotate(rnd, root, testKey(2), t0)
	r, _ = r.Retire(1)
	enc2, _ := r.MarshalBinary()
	f.Add(enc1)
	f.Add(enc2)
	f.Add([]byte("CFMR\x01\x00\x00\x00\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseRing(data)
		if err != nil {
			return
		}
		// Whatever parses is canonical: it encodes back to the same bytes, and keeps the
		// ring invariants.
		enc, err := r.MarshalBinary()
		if err != nil || !bytes.Equal(enc, data) {
			t.Fatalf("re-encoding differs: %v", err)
		}
		vs := r.Versions()
		if vs[len(vs)-1].State != StateActive || r.Active() != vs[len(vs)-1] {
			t.Fatal("parsed ring breaks the active invariant")
		}
		for _, v := range vs {
			_, err := r.Unseal(root, v.Version)
			if v.State == StateRetired && !errors.Is(err, ErrKeyRetired) {
				t.Fatalf("retired version %d: %v", v.Version, err)
			}
		}
	})
}
