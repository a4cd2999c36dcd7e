package placement

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

// referencePlace is the slow twin of Place: the algorithm of the package doc written
// the obvious way (hash/fnv, maps, explicit round-robin rounds over zones).
func referencePlace(version [16]byte, shards int, nodes []Node) []string {
	weighted := false
	for _, n := range nodes {
		if max(n.Weight, 1) != max(nodes[0].Weight, 1) {
			weighted = true
		}
	}
	score := func(n Node) uint64 {
		f := fnv.New64a()
		f.Write(version[:])
		f.Write([]byte(n.ID))
		h := f.Sum64()
		h ^= h >> 33
		h *= 0xff51afd7ed558ccd
		h ^= h >> 33
		h *= 0xc4ceb9fe1a85ec53
		h ^= h >> 33
		if !weighted {
			return h
		}
		u := (float64(h>>11) + 0.5) / (1 << 53)
		return math.Float64bits(float64(max(n.Weight, 1)) / -math.Log(u))
	}
	type scored struct {
		id    string
		score uint64
	}
	zones := map[string][]scored{}
	for _, n := range nodes {
		zones[n.Zone] = append(zones[n.Zone], scored{n.ID, score(n)})
	}
	var names []string
	for z, list := range zones {
		sort.Slice(list, func(i, j int) bool {
			if list[i].score != list[j].score {
				return list[i].score > list[j].score
			}
			return list[i].id < list[j].id
		})
		names = append(names, z)
	}
	sort.Slice(names, func(i, j int) bool {
		a, b := zones[names[i]][0].score, zones[names[j]][0].score
		if a != b {
			return a > b
		}
		return names[i] < names[j]
	})
	var out []string
	for round := 0; len(out) < shards; round++ {
		for _, z := range names {
			if round < len(zones[z]) && len(out) < shards {
				out = append(out, zones[z][round].id)
			}
		}
	}
	return out
}

func randomVersion(r *rand.Rand) [16]byte {
	var v [16]byte
	binary.LittleEndian.PutUint64(v[:8], r.Uint64())
	binary.LittleEndian.PutUint64(v[8:], r.Uint64())
	return v
}

// makeNodes returns n nodes spread over zones zones ("" when zones is 0).
func makeNodes(n, zones int) []Node {
	nodes := make([]Node, n)
	for i := range nodes {
		nodes[i].ID = fmt.Sprintf("storage-%02d", i)
		if zones > 0 {
			nodes[i].Zone = fmt.Sprintf("zone-%c", 'a'+i%zones)
		}
	}
	return nodes
}

func TestPlaceMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for iter := range 1500 {
		n := 1 + r.IntN(40)
		nodes := makeNodes(n, r.IntN(6))
		if iter%3 == 0 {
			for i := range nodes {
				nodes[i].Weight = uint32(r.IntN(4))
			}
		}
		if iter%5 == 0 { // uneven zones
			for i := range nodes {
				nodes[i].Zone = fmt.Sprintf("z%d", r.IntN(1+r.IntN(5)))
			}
		}
		shards := 1 + r.IntN(n)
		v := randomVersion(r)
		got, err := Place(nil, v, shards, nodes)
		if err != nil {
			t.Fatalf("iter %d: %v", iter, err)
		}
		if want := referencePlace(v, shards, nodes); !slices.Equal(got, want) {
			t.Fatalf("iter %d: Place = %v, reference = %v (nodes %v)", iter, got, want, nodes)
		}
	}
}

func TestPlaceDeterministicUnderShuffle(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for iter := range 500 {
		nodes := makeNodes(4+r.IntN(30), r.IntN(5))
		if iter%2 == 0 {
			for i := range nodes {
				nodes[i].Weight = uint32(1 + r.IntN(3))
			}
		}
		v := randomVersion(r)
		want, err := Place(nil, v, 4, nodes)
		if err != nil {
			t.Fatal(err)
		}
		for range 4 {
			r.Shuffle(len(nodes), func(i, j int) { nodes[i], nodes[j] = nodes[j], nodes[i] })
			got, err := Place(nil, v, 4, nodes)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("iter %d: shuffled input gave %v, want %v", iter, got, want)
			}
		}
	}
}

func TestPlaceDistinctAndFromCandidates(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 1000 {
		n := 1 + r.IntN(64)
		nodes := makeNodes(n, r.IntN(8))
		shards := 1 + r.IntN(n)
		got, err := Place(make([]string, 0, shards), randomVersion(r), shards, nodes)
		if err != nil {
			t.Fatal(err)
		}
		checkLayout(t, got, shards, nodes)
	}
}

func checkLayout(t *testing.T, layout []string, shards int, nodes []Node) {
	t.Helper()
	if len(layout) != shards {
		t.Fatalf("layout has %d entries, want %d", len(layout), shards)
	}
	seen := map[string]bool{}
	for _, id := range layout {
		if seen[id] {
			t.Fatalf("node %q appears twice in %v", id, layout)
		}
		seen[id] = true
		if !slices.ContainsFunc(nodes, func(n Node) bool { return n.ID == id }) {
			t.Fatalf("node %q is not a candidate", id)
		}
	}
}

const balanceVersions = 10000

// TestPlaceBalance asserts that over 10,000 versions every node's share of shard slots
// is within 3% of the mean (the binomial standard deviation is at most 1% here, so the
// bound is about 5 sigma), and its share of every single shard index within 20%.
func TestPlaceBalance(t *testing.T) {
	for _, tc := range []struct{ nodes, zones, shards int }{
		{6, 0, 4}, {8, 0, 6}, {12, 0, 6}, {12, 0, 9}, {12, 3, 6}, {8, 4, 6},
	} {
		t.Run(fmt.Sprintf("nodes=%d/zones=%d/shards=%d", tc.nodes, tc.zones, tc.shards), func(t *testing.T) {
			nodes := makeNodes(tc.nodes, tc.zones)
			r := rand.New(rand.NewPCG(7, uint64(tc.nodes)))
			slots := map[string]int{}
			perIndex := make([]map[string]int, tc.shards)
			for i := range perIndex {
				perIndex[i] = map[string]int{}
			}
			var dst []string
			for range balanceVersions {
				var err error
				dst, err = Place(dst[:0], randomVersion(r), tc.shards, nodes)
				if err != nil {
					t.Fatal(err)
				}
				for i, id := range dst {
					slots[id]++
					perIndex[i][id]++
				}
			}
			mean := float64(balanceVersions*tc.shards) / float64(tc.nodes)
			for _, n := range nodes {
				if dev := math.Abs(float64(slots[n.ID])-mean) / mean; dev > 0.03 {
					t.Errorf("node %s holds %d slots, mean %.0f (%.1f%% off, bound 3%%)", n.ID, slots[n.ID], mean, 100*dev)
				}
				for i := range perIndex {
					m := float64(balanceVersions) / float64(tc.nodes)
					if dev := math.Abs(float64(perIndex[i][n.ID])-m) / m; dev > 0.20 {
						t.Errorf("node %s holds index %d %d times, mean %.0f (%.1f%% off, bound 20%%)", n.ID, i, perIndex[i][n.ID], m, 100*dev)
					}
				}
			}
		})
	}
}

// TestPlaceWeights checks that for a single shard a node's share is proportional to its
// weight within 5%.
func TestPlaceWeights(t *testing.T) {
	nodes := makeNodes(5, 0)
	weights := []uint32{1, 1, 2, 3, 0} // 0 counts as 1
	total := 0.0
	for i := range nodes {
		nodes[i].Weight = weights[i]
		total += float64(max(weights[i], 1))
	}
	r := rand.New(rand.NewPCG(9, 9))
	const versions = 40000
	count := map[string]int{}
	for range versions {
		got, err := Place(nil, randomVersion(r), 1, nodes)
		if err != nil {
			t.Fatal(err)
		}
		count[got[0]]++
	}
	for i, n := range nodes {
		want := versions * float64(max(weights[i], 1)) / total
		if dev := math.Abs(float64(count[n.ID])-want) / want; dev > 0.05 {
			t.Errorf("node %s (weight %d) got %d, want %.0f (%.1f%% off)", n.ID, weights[i], count[n.ID], want, 100*dev)
		}
	}
}

func zoneCounts(layout []string, nodes []Node) map[string]int {
	zoneOf := map[string]string{}
	for _, n := range nodes {
		zoneOf[n.ID] = n.Zone
	}
	c := map[string]int{}
	for _, id := range layout {
		c[zoneOf[id]]++
	}
	return c
}

func TestPlaceZoneSpread(t *testing.T) {
	for _, tc := range []struct {
		name   string
		nodes  []Node
		shards int
		want   map[string]int // exact shards per zone, whatever the version
	}{
		{"3x2 nodes 4+2", makeNodes(6, 3), 6, map[string]int{"zone-a": 2, "zone-b": 2, "zone-c": 2}},
		{"3x4 nodes 4+2", makeNodes(12, 3), 6, map[string]int{"zone-a": 2, "zone-b": 2, "zone-c": 2}},
		{"2x4 nodes 2+2", makeNodes(8, 2), 4, map[string]int{"zone-a": 2, "zone-b": 2}},
		{"6x2 nodes 4+2", makeNodes(12, 6), 6, map[string]int{"zone-a": 1, "zone-b": 1, "zone-c": 1, "zone-d": 1, "zone-e": 1, "zone-f": 1}},
		{"small zone fills up", []Node{{ID: "a1", Zone: "a"}, {ID: "b1", Zone: "b"}, {ID: "b2", Zone: "b"}, {ID: "b3", Zone: "b"}, {ID: "b4", Zone: "b"}}, 4, map[string]int{"a": 1, "b": 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(11, 12))
			for range 2000 {
				got, err := Place(nil, randomVersion(r), tc.shards, tc.nodes)
				if err != nil {
					t.Fatal(err)
				}
				if c := zoneCounts(got, tc.nodes); !mapsEqual(c, tc.want) {
					t.Fatalf("zone counts %v, want %v", c, tc.want)
				}
			}
		})
	}
	// Uneven division: 4 zones, 6 shards: never more than ceil(6/4) = 2 per zone.
	nodes := makeNodes(12, 4)
	r := rand.New(rand.NewPCG(13, 14))
	for range 2000 {
		got, err := Place(nil, randomVersion(r), 6, nodes)
		if err != nil {
			t.Fatal(err)
		}
		for z, c := range zoneCounts(got, nodes) {
			if c > 2 {
				t.Fatalf("zone %s holds %d shards of %v, cap 2", z, c, got)
			}
		}
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func without(nodes []Node, id string) []Node {
	return slices.DeleteFunc(slices.Clone(nodes), func(n Node) bool { return n.ID == id })
}

// setMoves counts the nodes of after that were not in before (shards that must move).
func setMoves(before, after []string) int {
	moved := 0
	for _, id := range after {
		if !slices.Contains(before, id) {
			moved++
		}
	}
	return moved
}

const movementVersions = 2000

// TestMovementNoZones: removing a node changes no version it did not hold and replaces
// exactly it in those it did; adding a node moves exactly one shard of about
// shards/(n+1) of the versions; Repair keeps every surviving index.
func TestMovementNoZones(t *testing.T) {
	const n, shards = 12, 6
	nodes := makeNodes(n, 0)
	r := rand.New(rand.NewPCG(15, 16))
	added := append(slices.Clone(nodes), Node{ID: "storage-new"})
	addMoves := 0
	for range movementVersions {
		v := randomVersion(r)
		before, err := Place(nil, v, shards, nodes)
		if err != nil {
			t.Fatal(err)
		}
		for _, gone := range []string{nodes[0].ID, nodes[5].ID, nodes[11].ID} {
			after, err := Place(nil, v, shards, without(nodes, gone))
			if err != nil {
				t.Fatal(err)
			}
			want := 0
			if slices.Contains(before, gone) {
				want = 1
			}
			if m := setMoves(before, after); m != want {
				t.Fatalf("removing %s moved %d shards (before %v, after %v), want %d", gone, m, before, after, want)
			}
			repaired, err := Repair(nil, v, before, without(nodes, gone))
			if err != nil {
				t.Fatal(err)
			}
			for i := range before {
				if (before[i] == gone) == (repaired[i] == before[i]) {
					t.Fatalf("Repair after removing %s: %v -> %v", gone, before, repaired)
				}
			}
			checkLayout(t, repaired, shards, without(nodes, gone))
		}
		after, err := Place(nil, v, shards, added)
		if err != nil {
			t.Fatal(err)
		}
		m := setMoves(before, after)
		if m > 1 || (m == 1) != slices.Contains(after, "storage-new") {
			t.Fatalf("adding a node moved %d shards: %v -> %v", m, before, after)
		}
		addMoves += m
		if repaired, err := Repair(nil, v, before, added); err != nil || !slices.Equal(repaired, before) {
			t.Fatalf("Repair with an added node changed %v to %v (%v)", before, repaired, err)
		}
	}
	got := float64(addMoves) / movementVersions
	want := float64(shards) / float64(n+1)
	if math.Abs(got-want)/want > 0.15 {
		t.Errorf("adding a node moved %.3f shards per version, want about %.3f", got, want)
	}
}

// TestMovementZones bounds movement with zones: the set of holders changes by at most
// twice the no-zone expectation, and Repair still moves exactly the lost shards.
func TestMovementZones(t *testing.T) {
	for _, tc := range []struct{ n, zones, shards int }{{12, 3, 6}, {12, 4, 6}, {9, 3, 4}} {
		t.Run(fmt.Sprintf("nodes=%d/zones=%d/shards=%d", tc.n, tc.zones, tc.shards), func(t *testing.T) {
			nodes := makeNodes(tc.n, tc.zones)
			r := rand.New(rand.NewPCG(17, 18))
			removeMoves, addMoves := 0, 0
			added := append(slices.Clone(nodes), Node{ID: "storage-new", Zone: "zone-a"})
			gone := nodes[1].ID
			for range movementVersions {
				v := randomVersion(r)
				before, err := Place(nil, v, tc.shards, nodes)
				if err != nil {
					t.Fatal(err)
				}
				after, err := Place(nil, v, tc.shards, without(nodes, gone))
				if err != nil {
					t.Fatal(err)
				}
				removeMoves += setMoves(before, after)
				if after, err = Place(nil, v, tc.shards, added); err != nil {
					t.Fatal(err)
				}
				addMoves += setMoves(before, after)
				repaired, err := Repair(nil, v, before, without(nodes, gone))
				if err != nil {
					t.Fatal(err)
				}
				for i := range before {
					if (before[i] == gone) == (repaired[i] == before[i]) {
						t.Fatalf("Repair after removing %s: %v -> %v", gone, before, repaired)
					}
				}
				if c := zoneCounts(repaired, nodes); c[nodes[1].Zone] > (tc.shards+tc.zones-1)/tc.zones {
					t.Fatalf("Repair broke the zone spread: %v", c)
				}
			}
			// No-zone expectations: a removal moves shards/n per version, an addition
			// shards/(n+1).
			removeWant := float64(tc.shards) / float64(tc.n)
			addWant := float64(tc.shards) / float64(tc.n+1)
			remove := float64(removeMoves) / movementVersions
			add := float64(addMoves) / movementVersions
			t.Logf("moves per version: remove %.3f (no-zone %.3f), add %.3f (no-zone %.3f)", remove, removeWant, add, addWant)
			if remove > 2*removeWant || add > 2*addWant {
				t.Errorf("movement above twice the no-zone bound: remove %.3f (want ≤ %.3f), add %.3f (want ≤ %.3f)", remove, 2*removeWant, add, 2*addWant)
			}
		})
	}
}

func TestRepair(t *testing.T) {
	nodes := makeNodes(8, 0)
	v := [16]byte{1, 2, 3}
	base, err := Place(nil, v, 6, nodes)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := Repair(nil, v, base, nodes); err != nil || !slices.Equal(got, base) {
		t.Fatalf("Repair of a healthy layout: %v, %v; want %v", got, err, base)
	}
	// Empty entries and repeats are refilled; the rest stays.
	broken := slices.Clone(base)
	broken[1] = ""
	broken[4] = broken[0]
	got, err := Repair(nil, v, broken, nodes)
	if err != nil {
		t.Fatal(err)
	}
	checkLayout(t, got, 6, nodes)
	for _, i := range []int{0, 2, 3, 5} {
		if got[i] != base[i] {
			t.Errorf("index %d moved from %s to %s", i, base[i], got[i])
		}
	}
	// Too few nodes for the missing shards.
	if _, err := Repair(nil, v, base, nodes[:5]); !errors.Is(err, ErrTooFewNodes) {
		t.Errorf("Repair with 5 nodes for 6 shards: %v, want ErrTooFewNodes", err)
	}
	// dst is appended to.
	got, err = Repair([]string{"x"}, v, base, nodes)
	if err != nil || got[0] != "x" || !slices.Equal(got[1:], base) {
		t.Errorf("Repair with a prefix: %v, %v", got, err)
	}
}

func TestPlaceErrors(t *testing.T) {
	many := make([]Node, NodesMax+1)
	for i := range many {
		many[i].ID = fmt.Sprint(i)
	}
	long := string(make([]byte, IDBytesMax+1))
	for _, tc := range []struct {
		name   string
		shards int
		nodes  []Node
		want   error
	}{
		{"zero shards", 0, makeNodes(3, 0), ErrShards},
		{"too many shards", ShardsMax + 1, makeNodes(3, 0), ErrShards},
		{"too few nodes", 4, makeNodes(3, 0), ErrTooFewNodes},
		{"no nodes", 1, nil, ErrTooFewNodes},
		{"too many nodes", 1, many, ErrTooManyNodes},
		{"empty id", 1, []Node{{ID: "a"}, {ID: ""}}, ErrInvalidNode},
		{"long id", 1, []Node{{ID: long}}, ErrInvalidNode},
		{"duplicate", 1, []Node{{ID: "a"}, {ID: "b"}, {ID: "a"}}, ErrDuplicateNode},
		{"duplicate across zones", 1, []Node{{ID: "a", Zone: "x"}, {ID: "b"}, {ID: "a", Zone: "y", Weight: 3}}, ErrDuplicateNode},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := []string{"keep"}
			got, err := Place(dst, [16]byte{}, tc.shards, tc.nodes)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if !slices.Equal(got, dst) {
				t.Fatalf("dst changed on error: %v", got)
			}
		})
	}
	if _, err := Repair(nil, [16]byte{}, nil, makeNodes(3, 0)); !errors.Is(err, ErrShards) {
		t.Errorf("Repair of an empty layout: %v, want ErrShards", err)
	}
}

func TestPlaceAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	for _, n := range []int{6, 60} {
		nodes := makeNodes(n, 3)
		dst := make([]string, 0, 6)
		allocs := testing.AllocsPerRun(100, func() {
			if _, err := Place(dst[:0], [16]byte{byte(n)}, 6, nodes); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("Place over %d nodes: %.1f allocs, want 0", n, allocs)
		}
	}
}

// FuzzPlace checks the invariants for arbitrary node ids and zones: no panic, distinct
// candidates only, agreement with the reference, and Repair is the identity on a fresh
// layout.
func FuzzPlace(f *testing.F) {
	f.Add([]byte("a\x00b\x00c\x00d"), []byte("x\x00y"), uint8(3), uint8(1))
	f.Add([]byte("storage-00\x00storage-01\x00storage-02\x00storage-03\x00storage-04\x00storage-05"), []byte("a\x00b\x00c"), uint8(6), uint8(0))
	f.Add([]byte("n\x00n"), []byte(""), uint8(1), uint8(2))
	f.Fuzz(func(t *testing.T, ids, zones []byte, shards, weightSeed uint8) {
		idList := splitNUL(ids)
		zoneList := splitNUL(zones)
		nodes := make([]Node, len(idList))
		for i, id := range idList {
			nodes[i] = Node{ID: id, Zone: zoneList[i%len(zoneList)], Weight: uint32(weightSeed>>(i%8)) & 3}
		}
		v := [16]byte{shards, weightSeed}
		got, err := Place(nil, v, int(shards), nodes)
		if err != nil {
			return
		}
		checkLayout(t, got, int(shards), nodes)
		if want := referencePlace(v, int(shards), nodes); !slices.Equal(got, want) {
			t.Fatalf("Place = %q, reference = %q", got, want)
		}
		again, err := Repair(nil, v, got, nodes)
		if err != nil || !slices.Equal(again, got) {
			t.Fatalf("Repair(Place) = %q, %v; want %q", again, err, got)
		}
	})
}

func splitNUL(b []byte) []string {
	var out []string
	start := 0
	for i := 0; i <= len(b); i++ {
		if i == len(b) || b[i] == 0 {
			out = append(out, string(b[start:i]))
			start = i + 1
		}
	}
	return out
}
