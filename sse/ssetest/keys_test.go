package ssetest

import (
	"testing"
	"time"

	"github.com/coffer-io/coffer/sse"
)

func TestRing(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	root, r := Ring(9, 3, start)
	vs := r.Versions()
	if len(vs) != 3 || r.Active().Version != 3 || vs[0].State != sse.StateDecryptOnly {
		t.Fatalf("ring versions %+v", vs)
	}
	seen := map[sse.Key]bool{root: true}
	for _, v := range vs {
		m, err := r.Unseal(root, v.Version)
		if err != nil {
			t.Fatal(err)
		}
		if seen[m] {
			t.Fatalf("version %d repeats a key", v.Version)
		}
		seen[m] = true
	}
	root2, r2 := Ring(9, 3, start)
	m1, _ := r.Unseal(root, 2)
	m2, _ := r2.Unseal(root2, 2)
	if root2 != root || m1 != m2 {
		t.Fatal("same seed, different ring")
	}
	if Key(1) == Key(2) || Key(1) != Key(1) {
		t.Fatal("Key is not a deterministic function of its seed")
	}
}
