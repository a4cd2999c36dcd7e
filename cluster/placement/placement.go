package placement

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
)

// Limits. They bound the work of one call; none of them is persisted.
const (
	// ShardsMax is the largest shard count (k+m) a layout may have: the Reed–Solomon
	// limit of the erasure package.
	ShardsMax = 256
	// NodesMax is the largest number of candidate nodes one call accepts.
	NodesMax = 4096
	// IDBytesMax is the longest node id accepted, in bytes.
	IDBytesMax = 256
)

// Sentinel errors. Callers branch on them with errors.Is; the returned errors wrap them
// with the numbers involved.
var (
	// ErrShards is returned when the shard count is below 1 or above ShardsMax.
	ErrShards = errors.New("placement: shard count out of range")
	// ErrTooFewNodes is returned when there are fewer usable candidates than shards to
	// place. Placement never puts two shards of a version on one node.
	ErrTooFewNodes = errors.New("placement: fewer candidate nodes than shards")
	// ErrTooManyNodes is returned when the candidate list exceeds NodesMax.
	ErrTooManyNodes = errors.New("placement: too many candidate nodes")
	// ErrInvalidNode is returned for a candidate with an empty or over-long id.
	ErrInvalidNode = errors.New("placement: invalid node")
	// ErrDuplicateNode is returned when two candidates share an id.
	ErrDuplicateNode = errors.New("placement: duplicate node id")
)

// Node is one candidate storage node. Only active nodes should be passed in.
type Node struct {
	// ID is the node's stable id (its memberlist name). Required; at most IDBytesMax.
	ID string
	// Zone is the failure domain (rack, room, availability zone). Nodes with the same
	// Zone are assumed to fail together. Empty means "no zone"; all such nodes share it.
	Zone string
	// Weight is the node's relative capacity: a node of weight 2 receives about twice
	// the shards of a node of weight 1. Zero means 1.
	Weight uint32
}

// FNV-1a 64 parameters (FIPS-free, RFC draft-eastlake-fnv).
const (
	fnvOffset64 = 14695981039346656037
	fnvPrime64  = 1099511628211
)

// seedFor returns the FNV-1a state after absorbing the version id, so that the per-node
// work is only the node id.
func seedFor(version [16]byte) uint64 {
	h := uint64(fnvOffset64)
	for _, b := range version {
		h ^= uint64(b)
		h *= fnvPrime64
	}
	return h
}

// hashID continues FNV-1a from seed over id and finishes with fmix64 (MurmurHash3),
// which spreads FNV's weak high bits over the whole word.
func hashID(seed uint64, id string) uint64 {
	h := seed
	for i := 0; i < len(id); i++ {
		h ^= uint64(id[i])
		h *= fnvPrime64
	}
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// weightedScore maps a hash and a weight to an order-preserving integer of the
// weighted-rendezvous key w / -ln(u), u in (0,1). Positive float64 values order the same
// as their bit patterns.
func weightedScore(h uint64, w uint32) uint64 {
	u := (float64(h>>11) + 0.5) / (1 << 53)
	return math.Float64bits(float64(w) / -math.Log(u))
}

func weightOf(n *Node) uint32 {
	if n.Weight == 0 {
		return 1
	}
	return n.Weight
}

// entry is one candidate during a call.
type entry struct {
	score uint64 // rendezvous score, larger is better
	hash  uint64 // unweighted hash of the id, for the id table
	node  int32  // index into the caller's nodes
	used  bool
}

// group is the run of entries of one zone after sorting.
type group struct {
	start, next, end int32 // entries[start:end]; next is the first possibly unused one
	count            int32 // shards of this version in the zone so far
	rank             int32 // 0 for the zone with the best node
}

// scratch is the per-call working memory, pooled so that calls do not allocate.
type scratch struct {
	entries []entry
	groups  []group
	order   []int32 // group indices by rank
	table   []int32 // open-addressing id table: entry index + 1, 0 is empty
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// Place appends to dst the node id for each shard index 0..shards-1 of the version and
// returns the extended slice. All ids are distinct. It returns ErrShards, ErrTooManyNodes,
// ErrInvalidNode, ErrDuplicateNode or ErrTooFewNodes (wrapped) and leaves dst unchanged
// on error. nodes is only read and not retained.
func Place(dst []string, version [16]byte, shards int, nodes []Node) ([]string, error) {
	if shards < 1 || shards > ShardsMax {
		return dst, fmt.Errorf("%w: %d (want 1..%d)", ErrShards, shards, ShardsMax)
	}
	s := scratchPool.Get().(*scratch)
	defer scratchPool.Put(s)
	if err := s.prepare(version, nodes); err != nil {
		return dst, err
	}
	if len(nodes) < shards {
		return dst, fmt.Errorf("%w: %d nodes for %d shards", ErrTooFewNodes, len(nodes), shards)
	}
	grown := slices.Grow(dst, shards)
	out := grown[len(dst) : len(dst)+shards]
	for i := range out {
		out[i] = nodes[s.pick()].ID
	}
	if invariants {
		assertDistinct(out)
	}
	return grown[:len(dst)+shards], nil
}

// Repair appends to dst a layout with as many shards as layout has: every index whose
// node is still a candidate keeps it, and every other index (a departed node, an empty
// string, or a repeat of a node that already holds an earlier index) gets a fresh node
// chosen by the same ranking as Place, respecting the zone spread as far as the kept
// shards allow. Repair(dst, v, Place(nil, v, n, nodes), nodes) returns the Place layout
// unchanged. dst must not share memory with layout. Errors as for Place.
func Repair(dst []string, version [16]byte, layout []string, nodes []Node) ([]string, error) {
	shards := len(layout)
	if shards < 1 || shards > ShardsMax {
		return dst, fmt.Errorf("%w: %d (want 1..%d)", ErrShards, shards, ShardsMax)
	}
	s := scratchPool.Get().(*scratch)
	defer scratchPool.Put(s)
	if err := s.prepare(version, nodes); err != nil {
		return dst, err
	}
	seed := seedFor(version)
	grown := slices.Grow(dst, shards)
	out := grown[len(dst) : len(dst)+shards]
	missing := 0
	for i, id := range layout {
		e := s.lookup(nodes, hashID(seed, id), id)
		if e < 0 || s.entries[e].used {
			out[i] = ""
			missing++
			continue
		}
		s.entries[e].used = true
		out[i] = id
		s.groups[s.groupOf(e)].count++
	}
	if unused := len(nodes) - (shards - missing); unused < missing {
		clear(out)
		return dst, fmt.Errorf("%w: %d unused nodes for %d missing shards", ErrTooFewNodes, unused, missing)
	}
	for i := range out {
		if out[i] == "" {
			out[i] = nodes[s.pick()].ID
		}
	}
	if invariants {
		assertDistinct(out)
	}
	return grown[:len(dst)+shards], nil
}

// prepare scores, checks and groups the candidates.
func (s *scratch) prepare(version [16]byte, nodes []Node) error {
	if len(nodes) > NodesMax {
		return fmt.Errorf("%w: %d (max %d)", ErrTooManyNodes, len(nodes), NodesMax)
	}
	weighted := false
	for i := range nodes {
		n := &nodes[i]
		if len(n.ID) == 0 || len(n.ID) > IDBytesMax {
			return fmt.Errorf("%w: node %d has an id of %d bytes (want 1..%d)", ErrInvalidNode, i, len(n.ID), IDBytesMax)
		}
		if weightOf(n) != weightOf(&nodes[0]) {
			weighted = true
		}
	}
	seed := seedFor(version)
	s.entries = slices.Grow(s.entries[:0], len(nodes))[:len(nodes)]
	for i := range nodes {
		h := hashID(seed, nodes[i].ID)
		score := h
		if weighted {
			score = weightedScore(h, weightOf(&nodes[i]))
		}
		s.entries[i] = entry{score: score, hash: h, node: int32(i)}
	}
	// Zone, then best score first; the id breaks ties so the order never depends on the
	// input order.
	slices.SortFunc(s.entries, func(a, b entry) int {
		na, nb := &nodes[a.node], &nodes[b.node]
		if c := cmp.Compare(na.Zone, nb.Zone); c != 0 {
			return c
		}
		if c := cmp.Compare(b.score, a.score); c != 0 {
			return c
		}
		return cmp.Compare(na.ID, nb.ID)
	})
	if err := s.buildTable(nodes); err != nil {
		return err
	}
	s.groups = s.groups[:0]
	for i := range s.entries {
		if i == 0 || nodes[s.entries[i].node].Zone != nodes[s.entries[i-1].node].Zone {
			if len(s.groups) > 0 {
				s.groups[len(s.groups)-1].end = int32(i)
			}
			s.groups = append(s.groups, group{start: int32(i), next: int32(i)})
		}
	}
	if len(s.groups) > 0 {
		s.groups[len(s.groups)-1].end = int32(len(s.entries))
	}
	s.order = slices.Grow(s.order[:0], len(s.groups))[:len(s.groups)]
	for i := range s.order {
		s.order[i] = int32(i)
	}
	// Zones by their best node's score; groups are in zone-name order, so a stable
	// sort breaks (astronomically unlikely) ties by zone name.
	slices.SortStableFunc(s.order, func(a, b int32) int {
		return cmp.Compare(s.entries[s.groups[b].start].score, s.entries[s.groups[a].start].score)
	})
	for r, g := range s.order {
		s.groups[g].rank = int32(r)
	}
	return nil
}

// buildTable indexes the entries by id and reports duplicate ids.
func (s *scratch) buildTable(nodes []Node) error {
	size := 16
	for size < 2*len(s.entries) {
		size *= 2
	}
	s.table = slices.Grow(s.table[:0], size)[:size]
	clear(s.table)
	mask := uint64(size - 1)
	for i := range s.entries {
		e := &s.entries[i]
		for p := e.hash & mask; ; p = (p + 1) & mask {
			slot := s.table[p]
			if slot == 0 {
				s.table[p] = int32(i + 1)
				break
			}
			o := &s.entries[slot-1]
			if o.hash == e.hash && nodes[o.node].ID == nodes[e.node].ID {
				return fmt.Errorf("%w: %q", ErrDuplicateNode, nodes[e.node].ID)
			}
		}
	}
	return nil
}

// lookup returns the entry index of the candidate with this id, or -1.
func (s *scratch) lookup(nodes []Node, h uint64, id string) int {
	mask := uint64(len(s.table) - 1)
	for p := h & mask; ; p = (p + 1) & mask {
		slot := s.table[p]
		if slot == 0 {
			return -1
		}
		e := &s.entries[slot-1]
		if e.hash == h && nodes[e.node].ID == id {
			return int(slot - 1)
		}
	}
}

// groupOf returns the group holding entry e.
func (s *scratch) groupOf(e int) int {
	i, _ := slices.BinarySearchFunc(s.groups, int32(e), func(g group, e int32) int {
		switch {
		case e < g.start:
			return 1
		case e >= g.end:
			return -1
		}
		return 0
	})
	return i
}

// pick takes the best unused node of the zone with the fewest shards so far (ties to
// the better-ranked zone) and returns its index in nodes. The caller guarantees that an
// unused node exists.
func (s *scratch) pick() int32 {
	best := -1
	for gi := range s.groups {
		g := &s.groups[gi]
		for g.next < g.end && s.entries[g.next].used {
			g.next++
		}
		if g.next == g.end {
			continue
		}
		if best < 0 || g.count < s.groups[best].count ||
			(g.count == s.groups[best].count && g.rank < s.groups[best].rank) {
			best = gi
		}
	}
	if best < 0 {
		panic("placement: pick with no unused node") // caller checked the counts
	}
	g := &s.groups[best]
	e := &s.entries[g.next]
	e.used = true
	g.next++
	g.count++
	return e.node
}

// assertDistinct panics if a layout names a node twice: a bug, never an input error.
func assertDistinct(layout []string) {
	for i := range layout {
		for j := i + 1; j < len(layout); j++ {
			if layout[i] == layout[j] {
				panic("placement: layout names node " + layout[i] + " twice")
			}
		}
	}
}
