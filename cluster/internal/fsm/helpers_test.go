package fsm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/hashicorp/raft"

	"github.com/coffer-io/coffer/cluster/meta"
)

// tester drives an FSM with consecutive raft indexes and fresh request ids.
type tester struct {
	t   testing.TB
	f   *FSM
	fs  vfs.FS
	idx uint64
	req uint64
}

func newTester(t testing.TB) *tester {
	return newTesterCfg(t, Config{})
}

func newTesterCfg(t testing.TB, cfg Config) *tester {
	t.Helper()
	if cfg.FS == nil {
		cfg.FS = vfs.NewMem()
	}
	if cfg.Dir == "" {
		cfg.Dir = "/fsm"
	}
	cfg.CacheBytes = 8 << 20
	cfg.MemTableBytes = 4 << 20
	f, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	x := &tester{t: t, f: f, fs: cfg.FS}
	t.Cleanup(func() { x.f.Close() })
	return x
}

func (x *tester) nextReq() meta.ID {
	x.req++
	var id meta.ID
	id[0] = 0xEE
	binary.BigEndian.PutUint64(id[8:], x.req)
	return id
}

func (x *tester) entry(id meta.ID, c meta.Command) *raft.Log {
	x.t.Helper()
	b, err := meta.EncodeCommand(id, c)
	if err != nil {
		x.t.Fatal(err)
	}
	x.idx++
	return &raft.Log{Index: x.idx, Term: 1, Type: raft.LogCommand, Data: b}
}

func (x *tester) applyID(id meta.ID, c meta.Command) *meta.Result {
	x.t.Helper()
	r, ok := x.f.Apply(x.entry(id, c)).(*meta.Result)
	if !ok || r == nil {
		x.t.Fatalf("Apply returned %T", r)
	}
	return r
}

func (x *tester) apply(c meta.Command) *meta.Result {
	x.t.Helper()
	return x.applyID(x.nextReq(), c)
}

func (x *tester) ok(c meta.Command) *meta.Result {
	x.t.Helper()
	r := x.apply(c)
	if err := r.Err(); err != nil {
		x.t.Fatalf("%T: %v", c, err)
	}
	return r
}

func (x *tester) fail(c meta.Command, want error) *meta.Result {
	x.t.Helper()
	r := x.apply(c)
	if !errors.Is(r.Err(), want) {
		x.t.Fatalf("%T: got %v, want %v", c, r.Err(), want)
	}
	return r
}

func id(b ...byte) meta.ID {
	var i meta.ID
	copy(i[:], b)
	return i
}

func layout(nodes ...string) meta.Layout {
	if len(nodes) == 0 {
		nodes = []string{"n1", "n2", "n3", "n4", "n5", "n6"}
	}
	return meta.Layout{K: len(nodes) - 2, M: 2, BlockBytes: 1 << 18, Nodes: nodes}
}

func version(bucket, key string, vid meta.ID, size int64, mkv uint32) meta.Version {
	return meta.Version{
		Bucket: bucket, Key: key, VersionID: vid, Size: size, ETag: "etag-" + vid.String()[:4],
		Created: 1000, Owner: "owner", Layout: layout(),
		Stream: meta.Stream{Format: 1, NoncePrefix: []byte{1, 2, 3, 4}},
		SSE:    meta.SSE{Mode: meta.ModeSSECOS, SealedDEK: append([]byte("dek-"), vid[:2]...), MasterKeyVersion: mkv},
	}
}

func bucket(name string) *meta.CreateBucket {
	return &meta.CreateBucket{Bucket: meta.Bucket{Name: name, Owner: "owner", Created: 1}}
}

// dump returns every key and value of the live database, in order.
func dump(t testing.TB, f *FSM) [][2]string {
	t.Helper()
	var out [][2]string
	err := f.read(func(db *pebble.DB) error {
		return scan(db, []byte{pSingle}, []byte{pEnd}, func(k, v []byte) (bool, error) {
			out = append(out, [2]string{string(k), string(v)})
			return true, nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// snapshotBytes persists a snapshot of f into memory.
func snapshotBytes(t testing.TB, f *FSM) []byte {
	t.Helper()
	s, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Release()
	sink := &memSink{}
	if err := s.Persist(sink); err != nil {
		t.Fatal(err)
	}
	if !sink.closed {
		t.Fatal("sink not closed")
	}
	return sink.Bytes()
}

type memSink struct {
	bytes.Buffer
	closed, cancelled bool
}

func (s *memSink) ID() string                  { return "mem" }
func (s *memSink) Close() error                { s.closed = true; return nil }
func (s *memSink) Cancel() error               { s.cancelled = true; return nil }
func (s *memSink) Write(p []byte) (int, error) { return s.Buffer.Write(p) }
