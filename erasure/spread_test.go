package erasure

import (
	"bytes"
	"testing"
)

// TestSpread checks the in-place rearrangement of a short stripe against its naive
// twin: object byte p goes to block p/blockLen, offset p%blockLen, zero-padded.
func TestSpread(t *testing.T) {
	for _, g := range []Geometry{
		{DataShards: 1, ParityShards: 1, BlockSize: 64},
		{DataShards: 3, ParityShards: 1, BlockSize: 64},
		{DataShards: 7, ParityShards: 2, BlockSize: 128},
		{DataShards: 16, ParityShards: 4, BlockSize: 64},
	} {
		st := newStripe(g)
		k, B := g.DataShards, g.BlockSize
		for n := 1; n < k*B; n++ {
			obj := make([]byte, n)
			for i := range obj {
				obj[i] = byte(i*7 + 1)
			}
			for j := range k { // stale bytes from an earlier stripe must not leak
				for i := range B {
					st.block(j, B)[i] = 0xee
				}
				copy(st.block(j, B), obj[min(j*B, n):min((j+1)*B, n)])
			}
			L := (n + k - 1) / k
			st.spread(k, B, n, L)
			for j := range k {
				want := make([]byte, L)
				copy(want, obj[min(j*L, n):min((j+1)*L, n)])
				if got := st.block(j, L); !bytes.Equal(got, want) {
					t.Fatalf("%v n=%d block %d = %x, want %x", g, n, j, got, want)
				}
			}
		}
	}
}
