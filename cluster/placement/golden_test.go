package placement

import (
	"bufio"
	"encoding/hex"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/golden.txt from the current code")

const goldenPath = "testdata/golden.txt"

// TestPlaceGolden pins layouts for fixed inputs, so that a change to the hash, the
// weighting or the zone rule (which would place new versions differently from gateways
// running the previous release) is a deliberate one: rerun with -args -update and say why in
// the commit. Each line is "version shards id:zone:weight,... -> layout".
func TestPlaceGolden(t *testing.T) {
	if *update {
		writeGolden(t)
	}
	f, err := os.Open(goldenPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	lines := 0
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		lines++
		in, want, ok := strings.Cut(line, " -> ")
		if !ok {
			t.Fatalf("bad line %q", line)
		}
		fields := strings.Fields(in)
		if len(fields) != 3 {
			t.Fatalf("bad line %q", line)
		}
		var v [16]byte
		if b, err := hex.DecodeString(fields[0]); err != nil || len(b) != 16 {
			t.Fatalf("bad version in %q", line)
		} else {
			copy(v[:], b)
		}
		shards, err := strconv.Atoi(fields[1])
		if err != nil {
			t.Fatalf("bad shards in %q", line)
		}
		var nodes []Node
		for _, spec := range strings.Split(fields[2], ",") {
			parts := strings.Split(spec, ":")
			w, err := strconv.Atoi(parts[2])
			if len(parts) != 3 || err != nil {
				t.Fatalf("bad node %q", spec)
			}
			nodes = append(nodes, Node{ID: parts[0], Zone: parts[1], Weight: uint32(w)})
		}
		got, err := Place(nil, v, shards, nodes)
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if strings.Join(got, ",") != want {
			t.Errorf("%s\n  got  %s\n  want %s", in, strings.Join(got, ","), want)
		}
	}
	if err := sc.Err(); err != nil || lines == 0 {
		t.Fatalf("read %s: %d cases, %v", goldenPath, lines, err)
	}
}

func writeGolden(t *testing.T) {
	r := rand.New(rand.NewPCG(2026, 11))
	var b strings.Builder
	b.WriteString("# Golden layouts for TestPlaceGolden; regenerate with go test ./cluster/placement -run TestPlaceGolden -args -update.\n")
	b.WriteString("# version shards id:zone:weight,... -> layout\n")
	for i := range 40 {
		n := 3 + r.IntN(14)
		zones := r.IntN(4)
		var specs []string
		var nodes []Node
		for j := range n {
			node := Node{ID: fmt.Sprintf("node-%02d", j)}
			if zones > 0 {
				node.Zone = fmt.Sprintf("z%d", j%zones)
			}
			if i%4 == 3 {
				node.Weight = uint32(1 + r.IntN(4))
			}
			nodes = append(nodes, node)
			specs = append(specs, fmt.Sprintf("%s:%s:%d", node.ID, node.Zone, node.Weight))
		}
		shards := 1 + r.IntN(n)
		v := randomVersion(r)
		got, err := Place(nil, v, shards, nodes)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %d %s -> %s\n", hex.EncodeToString(v[:]), shards, strings.Join(specs, ","), strings.Join(got, ","))
	}
	if err := os.MkdirAll("testdata", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(goldenPath, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}
