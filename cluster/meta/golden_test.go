package meta

import (
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// TestCommandGolden pins the Raft log format: every command type's encoding must stay
// byte-identical (entries already in logs are decoded by newer binaries), and the
// golden bytes must still decode to the same command. Run with -update only for a
// deliberate, versioned format change.
func TestCommandGolden(t *testing.T) {
	path := filepath.Join("testdata", "commands.golden")
	var sb strings.Builder
	for _, c := range allCommands() {
		b, err := EncodeCommand(ID{0xAA, byte(c.Type())}, c)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&sb, "%T %s\n", c, hex.EncodeToString(b))
	}
	if *update {
		if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	golden, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(golden), sb.String()); diff != "" {
		t.Errorf("command encoding changed (-golden +now):\n%s", diff)
	}
	want := allCommands()
	for i, line := range strings.Split(strings.TrimSpace(string(golden)), "\n") {
		_, hx, _ := strings.Cut(line, " ")
		b, err := hex.DecodeString(hx)
		if err != nil {
			t.Fatal(err)
		}
		_, got, err := DecodeCommand(b)
		if err != nil {
			t.Fatalf("golden line %d: %v", i+1, err)
		}
		if diff := cmp.Diff(want[i], got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("golden line %d decodes differently:\n%s", i+1, diff)
		}
	}
}
