package raftstore

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/raft"
)

func openMem(t *testing.T, fs vfs.FS) *Store {
	t.Helper()
	s, err := Open(Config{Dir: "raft", FS: fs})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func entry(i uint64) *raft.Log {
	return &raft.Log{
		Index:      i,
		Term:       i/10 + 1,
		Type:       raft.LogCommand,
		Data:       []byte{byte(i), byte(i >> 8), 'x'},
		Extensions: nil,
		AppendedAt: time.Unix(1700000000, int64(i)),
	}
}

func storeRange(t *testing.T, s *Store, lo, hi uint64) {
	t.Helper()
	var logs []*raft.Log
	for i := lo; i <= hi; i++ {
		logs = append(logs, entry(i))
	}
	if err := s.StoreLogs(logs); err != nil {
		t.Fatal(err)
	}
}

func bounds(t *testing.T, s *Store) (uint64, uint64) {
	t.Helper()
	f, err := s.FirstIndex()
	if err != nil {
		t.Fatal(err)
	}
	l, err := s.LastIndex()
	if err != nil {
		t.Fatal(err)
	}
	return f, l
}

// TestLogStoreContract walks the raft.LogStore contract as a table of scenarios: each
// starts from an empty store, performs its steps and checks the index bounds and which
// indexes are present afterwards.
func TestLogStoreContract(t *testing.T) {
	type step func(t *testing.T, s *Store)
	store := func(lo, hi uint64) step { return func(t *testing.T, s *Store) { storeRange(t, s, lo, hi) } }
	del := func(lo, hi uint64) step {
		return func(t *testing.T, s *Store) {
			if err := s.DeleteRange(lo, hi); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		name        string
		steps       []step
		first, last uint64
		present     []uint64
		absent      []uint64
	}{
		{name: "empty", first: 0, last: 0, absent: []uint64{0, 1, 100}},
		{name: "one", steps: []step{store(1, 1)}, first: 1, last: 1, present: []uint64{1}, absent: []uint64{0, 2}},
		{name: "batch", steps: []step{store(5, 20)}, first: 5, last: 20, present: []uint64{5, 12, 20}, absent: []uint64{4, 21}},
		{name: "delete prefix inclusive", steps: []step{store(1, 10), del(1, 4)}, first: 5, last: 10, present: []uint64{5, 10}, absent: []uint64{1, 4}},
		{name: "delete suffix inclusive", steps: []step{store(1, 10), del(7, 10)}, first: 1, last: 6, present: []uint64{1, 6}, absent: []uint64{7, 10}},
		{name: "delete single", steps: []step{store(1, 3), del(2, 2)}, first: 1, last: 3, present: []uint64{1, 3}, absent: []uint64{2}},
		{name: "delete all", steps: []step{store(1, 10), del(1, 10)}, first: 0, last: 0, absent: []uint64{1, 5, 10}},
		{name: "delete beyond ends", steps: []step{store(3, 8), del(0, 100)}, first: 0, last: 0, absent: []uint64{3, 8}},
		{name: "delete to max uint64", steps: []step{store(3, 8), del(5, ^uint64(0))}, first: 3, last: 4, present: []uint64{3, 4}, absent: []uint64{5}},
		{name: "delete empty range", steps: []step{store(1, 3), del(3, 2)}, first: 1, last: 3, present: []uint64{1, 2, 3}},
		{name: "overwrite keeps one", steps: []step{store(1, 5), store(3, 7)}, first: 1, last: 7, present: []uint64{1, 3, 7}},
		{name: "truncate then append", steps: []step{store(1, 10), del(6, 10), store(6, 8)}, first: 1, last: 8, present: []uint64{6, 8}, absent: []uint64{9, 10}},
		{name: "large index", steps: []step{store(1<<40, 1<<40+2)}, first: 1 << 40, last: 1<<40 + 2, present: []uint64{1 << 40}, absent: []uint64{1<<40 - 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openMem(t, vfs.NewMem())
			defer s.Close()
			for _, st := range tt.steps {
				st(t, s)
			}
			f, l := bounds(t, s)
			if f != tt.first || l != tt.last {
				t.Errorf("bounds = %d..%d, want %d..%d", f, l, tt.first, tt.last)
			}
			for _, i := range tt.present {
				var got raft.Log
				if err := s.GetLog(i, &got); err != nil {
					t.Errorf("GetLog(%d): %v", i, err)
					continue
				}
				if diff := cmp.Diff(entry(i), &got); diff != "" {
					t.Errorf("GetLog(%d) mismatch (-want +got):\n%s", i, diff)
				}
			}
			for _, i := range tt.absent {
				var got raft.Log
				if err := s.GetLog(i, &got); !errors.Is(err, raft.ErrLogNotFound) {
					t.Errorf("GetLog(%d) = %v, want raft.ErrLogNotFound", i, err)
				}
			}
		})
	}
}

func TestLogFieldsRoundTrip(t *testing.T) {
	s := openMem(t, vfs.NewMem())
	defer s.Close()
	in := []*raft.Log{
		{Index: 1, Term: 1, Type: raft.LogConfiguration, Data: []byte("cfg"), Extensions: []byte("ext")},
		{Index: 2, Term: 9, Type: raft.LogNoop},
		{Index: 3, Term: 9, Type: raft.LogCommand, Data: bytes.Repeat([]byte{0xAB}, 1<<16), AppendedAt: time.Unix(5, 6)},
	}
	if err := s.StoreLogs(in); err != nil {
		t.Fatal(err)
	}
	for _, want := range in {
		var got raft.Log
		if err := s.GetLog(want.Index, &got); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, &got); diff != "" {
			t.Errorf("index %d (-want +got):\n%s", want.Index, diff)
		}
	}
}

func TestStableStoreContract(t *testing.T) {
	s := openMem(t, vfs.NewMem())
	defer s.Close()
	if v, err := s.Get([]byte("missing")); v != nil || err != nil {
		t.Errorf("Get(missing) = %q, %v; want nil, nil", v, err)
	}
	if v, err := s.GetUint64([]byte("missing")); v != 0 || err != nil {
		t.Errorf("GetUint64(missing) = %d, %v; want 0, nil", v, err)
	}
	if err := s.Set([]byte("k"), []byte("v1")); err != nil {
		t.Fatal(err)
	}
	if err := s.Set([]byte("k"), []byte("v2")); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Get([]byte("k")); err != nil || string(v) != "v2" {
		t.Errorf("Get(k) = %q, %v; want v2", v, err)
	}
	if err := s.SetUint64([]byte("CurrentTerm"), 42); err != nil {
		t.Fatal(err)
	}
	if v, err := s.GetUint64([]byte("CurrentTerm")); err != nil || v != 42 {
		t.Errorf("GetUint64 = %d, %v; want 42", v, err)
	}
	// A stable key never collides with a log index.
	storeRange(t, s, 1, 3)
	if err := s.DeleteRange(0, ^uint64(0)); err != nil {
		t.Fatal(err)
	}
	if v, err := s.GetUint64([]byte("CurrentTerm")); err != nil || v != 42 {
		t.Errorf("after DeleteRange GetUint64 = %d, %v; want 42", v, err)
	}
	if err := s.Set([]byte("short"), []byte{1}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetUint64([]byte("short")); !errors.Is(err, ErrCorrupt) {
		t.Errorf("GetUint64(short) = %v, want ErrCorrupt", err)
	}
}

func TestReopenPersists(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	storeRange(t, s, 1, 50)
	if err := s.DeleteRange(1, 9); err != nil {
		t.Fatal(err)
	}
	if err := s.SetUint64([]byte("LastVoteTerm"), 7); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close = %v, want ErrClosed", err)
	}
	if _, err := s.LastIndex(); !errors.Is(err, ErrClosed) {
		t.Errorf("LastIndex after Close = %v, want ErrClosed", err)
	}
	s, err = Open(Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if f, l := bounds(t, s); f != 10 || l != 50 {
		t.Errorf("after reopen bounds = %d..%d, want 10..50", f, l)
	}
	var got raft.Log
	if err := s.GetLog(5, &got); !errors.Is(err, raft.ErrLogNotFound) {
		t.Errorf("deleted index after reopen: %v", err)
	}
	if err := s.GetLog(30, &got); err != nil || got.Index != 30 {
		t.Errorf("GetLog(30) = %+v, %v", got, err)
	}
	if v, err := s.GetUint64([]byte("LastVoteTerm")); v != 7 || err != nil {
		t.Errorf("stable after reopen = %d, %v", v, err)
	}
}

func TestConfigValidate(t *testing.T) {
	c := Config{CacheBytes: -1}
	err := c.Validate()
	if err == nil {
		t.Fatal("Validate accepted an empty Dir and a negative cache")
	}
	if n := len(err.(interface{ Unwrap() []error }).Unwrap()); n != 2 {
		t.Errorf("Validate reported %d problems, want 2: %v", n, err)
	}
}

func TestDecodeRejectsGarbage(t *testing.T) {
	good := appendLog(nil, entry(3))
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"short", good[:10]},
		{"bad version", append([]byte{9}, good[1:]...)},
		{"truncated data", good[:len(good)-5]},
		{"trailing", append(append([]byte(nil), good...), 0)},
	}
	for _, tt := range tests {
		var l raft.Log
		if err := decodeLog(tt.b, &l); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: err = %v, want ErrCorrupt", tt.name, err)
		}
	}
}

func FuzzDecodeLog(f *testing.F) {
	f.Add(appendLog(nil, entry(1)))
	f.Add(appendLog(nil, &raft.Log{Index: 2, Extensions: []byte("e")}))
	f.Add([]byte{1, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		var l raft.Log
		if err := decodeLog(b, &l); err != nil {
			return
		}
		// Whatever decodes must re-encode to the same bytes (modulo AppendedAt zero form).
		again := appendLog(nil, &l)
		var l2 raft.Log
		if err := decodeLog(again, &l2); err != nil {
			t.Fatalf("re-encoded entry does not decode: %v", err)
		}
		if diff := cmp.Diff(l, l2); diff != "" {
			t.Fatalf("round trip mismatch:\n%s", diff)
		}
	})
}

func BenchmarkStoreLogs64x256B(b *testing.B) {
	s, err := Open(Config{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	logs := make([]*raft.Log, 64)
	data := make([]byte, 256)
	b.ReportAllocs()
	b.SetBytes(64 * 256)
	var idx uint64
	for b.Loop() {
		for i := range logs {
			idx++
			logs[i] = &raft.Log{Index: idx, Term: 1, Data: data}
		}
		if err := s.StoreLogs(logs); err != nil {
			b.Fatal(err)
		}
	}
}
