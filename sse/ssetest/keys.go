package ssetest

import (
	"io"
	"time"

	"github.com/coffer-io/coffer/sse"
)

// Key returns a deterministic key for seed.
func Key(seed uint64) sse.Key {
	var k sse.Key
	if _, err := io.ReadFull(Rand(seed), k[:]); err != nil {
		panic(err) // ChaCha8 never fails
	}
	return k
}

// Ring returns a deterministic root key and a master-key ring of versions versions
// (1 or more; the last active, the others decrypt-only), created an hour apart from
// start.
func Ring(seed uint64, versions int, start time.Time) (root sse.Key, ring *sse.Ring) {
	rnd := Rand(seed)
	root = Key(seed ^ 0x5a5a)
	ring, err := sse.NewRing(rnd, root, Key(seed+1), start)
	for v := 2; err == nil && v <= versions; v++ {
		ring, err = ring.Rotate(rnd, root, Key(seed+uint64(v)), start.Add(time.Duration(v-1)*time.Hour))
	}
	if err != nil {
		panic(err) // only reachable with a start time sse refuses
	}
	return root, ring
}
