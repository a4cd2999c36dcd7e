package fsm

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/google/go-cmp/cmp"

	"github.com/coffer-io/coffer/cluster/meta"
)

// populate fills x with some of everything.
func populate(x *tester) {
	x.ok(bucket("b"))
	x.ok(bucket("c"))
	for i := byte(1); i <= 20; i++ {
		x.ok(&meta.CommitObject{Version: version("b", "dir/"+string(rune('a'+i)), id(i), int64(i), uint32(i%3))})
	}
	x.ok(&meta.DeleteObject{Bucket: "b", Key: "dir/c"})
	x.ok(&meta.InitiateUpload{Upload: meta.Upload{UploadID: id(0x90), Bucket: "c", Key: "big", SSE: meta.SSE{Mode: meta.ModeNone, SealedDEK: []byte{1}, MasterKeyVersion: 1}}})
	x.ok(&meta.PutPart{Bucket: "c", Key: "big", UploadID: id(0x90), Part: part(1, id(0x91), 10)})
	x.ok(&meta.PutUser{User: meta.User{AccessKeyID: "AK", ID: "u", SealedSecret: []byte("s")}})
	x.ok(&meta.SetKeyRing{Sealed: []byte("ring"), Active: 2})
	x.ok(&meta.PutCMK{CMK: meta.CMK{ID: "k", Origin: meta.OriginCoffer, State: meta.CMKEnabled}})
	x.ok(&meta.SetLayout{Layout: meta.ClusterLayout{Nodes: []meta.StorageNode{{ID: "n1", State: meta.NodeActive}}}})
	if err := x.f.Check(); err != nil {
		x.t.Fatal(err)
	}
}

func TestSnapshotRestoreRoundTrip(t *testing.T) {
	src := newTester(t)
	populate(src)
	snap, err := src.f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	want := dump(t, src.f)
	// Applies after Snapshot do not leak into the persisted stream.
	src.ok(bucket("later"))
	sink := &memSink{}
	if err := snap.Persist(sink); err != nil {
		t.Fatal(err)
	}
	snap.Release()
	snap.Release() // idempotent

	dst := newTester(t)
	dst.ok(bucket("doomed")) // Restore discards existing state
	if err := dst.f.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, dump(t, dst.f)); diff != "" {
		t.Fatalf("restored state differs (-source +restored):\n%s", diff)
	}
	if err := dst.f.Check(); err != nil {
		t.Fatal(err)
	}
	if dst.f.AppliedIndex() != src.idx-1 {
		t.Errorf("applied index %d, want %d", dst.f.AppliedIndex(), src.idx-1)
	}
	if _, err := dst.f.GetBucket("doomed"); !errors.Is(err, meta.ErrBucketNotFound) {
		t.Errorf("old state survived restore: %v", err)
	}
	// The restored machine keeps applying, skipping indexes the snapshot covers.
	dst.idx = dst.f.AppliedIndex()
	dst.ok(&meta.CommitObject{Version: version("b", "new", id(0x70), 1, 1)})
	// A second snapshot of the restored state is byte-identical modulo the new commit:
	// restore it into a third machine reopened from disk.
	fs := vfs.NewMem()
	third := newTesterCfg(t, Config{FS: fs})
	if err := third.f.Restore(io.NopCloser(bytes.NewReader(snapshotBytes(t, dst.f)))); err != nil {
		t.Fatal(err)
	}
	third.f.Close()
	f, err := Open(Config{Dir: "/fsm", FS: fs})
	if err != nil {
		t.Fatal(err)
	}
	third.f = f
	if diff := cmp.Diff(dump(t, dst.f), dump(t, f)); diff != "" {
		t.Fatalf("reopened restore differs:\n%s", diff)
	}
	names, _ := fs.List("/fsm")
	gens := 0
	for _, n := range names {
		if len(n) > 3 && n[:3] == "db-" {
			gens++
		}
	}
	if gens != 1 {
		t.Errorf("%d database generations left on disk: %v", gens, names)
	}
}

func TestRestoreRejectsDamage(t *testing.T) {
	src := newTester(t)
	populate(src)
	good := snapshotBytes(t, src.f)
	flip := func(i int) []byte {
		b := append([]byte(nil), good...)
		b[i] ^= 0x40
		return b
	}
	cases := map[string][]byte{
		"empty":           nil,
		"header only":     good[:12],
		"bad magic":       flip(0),
		"bad version":     flip(11),
		"flipped record":  flip(len(good) / 2),
		"flipped crc":     flip(len(good) - 1),
		"flipped count":   flip(len(good) - 6),
		"truncated":       good[:len(good)-3],
		"no trailer":      good[:len(good)-13],
		"trailing byte":   append(append([]byte(nil), good...), 0),
		"unknown tag":     append(append([]byte(nil), good[:12]...), 'Z'),
		"huge key length": append(append([]byte(nil), good[:12]...), 'K', 0xff, 0xff, 0xff, 0xff, 0x0f),
	}
	dst := newTester(t)
	dst.ok(bucket("keep"))
	before := dump(t, dst.f)
	applied := dst.f.AppliedIndex()
	for name, b := range cases {
		err := dst.f.Restore(io.NopCloser(bytes.NewReader(b)))
		if !errors.Is(err, ErrSnapshot) {
			t.Errorf("%s: Restore = %v, want ErrSnapshot", name, err)
		}
		if diff := cmp.Diff(before, dump(t, dst.f)); diff != "" {
			t.Fatalf("%s: failed restore changed state:\n%s", name, diff)
		}
		if dst.f.AppliedIndex() != applied {
			t.Fatalf("%s: applied index moved", name)
		}
	}
	names, _ := dst.fs.List("/fsm")
	gens := 0
	for _, n := range names {
		if len(n) > 3 && n[:3] == "db-" {
			gens++
		}
	}
	if gens != 1 {
		t.Errorf("failed restores left %d generations: %v", gens, names)
	}
	// A well-formed stream without our format stamp is refused too.
	var buf bytes.Buffer
	sw := newStreamWriter(&buf)
	if err := sw.record([]byte{pBucket, 'x'}, []byte("1{}")); err != nil {
		t.Fatal(err)
	}
	if err := sw.finish(); err != nil {
		t.Fatal(err)
	}
	if err := dst.f.Restore(io.NopCloser(&buf)); !errors.Is(err, ErrSnapshot) {
		t.Errorf("stream without format: %v", err)
	}
	// And the machine still works.
	dst.ok(bucket("after"))
}

func TestSnapshotOutlivesRestore(t *testing.T) {
	x := newTester(t)
	populate(x)
	want := dump(t, x.f)
	snap, err := x.f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	other := newTester(t)
	other.ok(bucket("z"))
	if err := x.f.Restore(io.NopCloser(bytes.NewReader(snapshotBytes(t, other.f)))); err != nil {
		t.Fatal(err)
	}
	// The old generation stays readable for the open snapshot.
	sink := &memSink{}
	if err := snap.Persist(sink); err != nil {
		t.Fatal(err)
	}
	snap.Release()
	third := newTester(t)
	if err := third.f.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, dump(t, third.f)); diff != "" {
		t.Fatalf("snapshot taken before restore differs:\n%s", diff)
	}
}

func FuzzSnapshotStream(f *testing.F) {
	x := newTester(f)
	populate(x)
	good := snapshotBytes(f, x.f)
	f.Add(good)
	f.Add(good[:40])
	f.Add([]byte("COFSNAP1\x00\x00\x00\x01E\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		sr, err := newStreamReader(bytes.NewReader(b))
		if err != nil {
			if !errors.Is(err, ErrSnapshot) {
				t.Fatalf("header error %v is not ErrSnapshot", err)
			}
			return
		}
		for range 1 << 16 {
			err := sr.next()
			if err == io.EOF {
				return
			}
			if err != nil {
				if !errors.Is(err, ErrSnapshot) {
					t.Fatalf("error %v is not ErrSnapshot", err)
				}
				return
			}
		}
	})
}

// FuzzStoredValues feeds arbitrary bytes to every decoder of values read back from
// disk: a damaged database yields errors, never panics.
func FuzzStoredValues(f *testing.F) {
	v := version("b", "k", id(1), 5, 1)
	enc, err := encodeVersion(&v)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(enc)
	f.Add(encodeShardsRef(kindUpload, 3, "b", "k", id(2)))
	f.Add(mkKey(1, kindObject, "b", "k", id(3)))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		if s, err := decodeSummary(b); err == nil && (s.size < 0 || len(s.etag) > len(b)) {
			t.Fatalf("summary %+v from %d bytes", s, len(b))
		}
		_, _ = decodeVersion(b)
		_, _ = decodeShardsRef(b)
		_, _, _, _, _ = parseMKKey(b)
		var st meta.Stats
		_ = decodeRecord(b, &st)
	})
}

func TestRestoreOnDisk(t *testing.T) {
	src := newTester(t)
	populate(src)
	want := dump(t, src.f)
	dir := t.TempDir()
	dst := newTesterCfg(t, Config{FS: vfs.Default, Dir: dir})
	dst.ok(bucket("old"))
	for range 2 { // restore twice: generations advance and the old ones are removed
		if err := dst.f.Restore(io.NopCloser(bytes.NewReader(snapshotBytes(t, src.f)))); err != nil {
			t.Fatal(err)
		}
	}
	dst.f.Close()
	f, err := Open(Config{FS: vfs.Default, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	dst.f = f
	if diff := cmp.Diff(want, dump(t, f)); diff != "" {
		t.Fatalf("restored on disk differs:\n%s", diff)
	}
	names, _ := vfs.Default.List(dir)
	if !slices.Equal(sortedCopy(names), []string{"CURRENT", "db-2"}) {
		t.Errorf("directory holds %v", names)
	}
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

func TestCheckFindsDamage(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(db *pebble.DB) error
	}{
		{"census", func(db *pebble.DB) error { return db.Set(censusKey(1), be64(99), nil) }},
		{"stats", func(db *pebble.DB) error {
			b, _ := encodeRecord(&meta.Stats{Objects: 1})
			return db.Set(kStats, b, nil)
		}},
		{"mk index", func(db *pebble.DB) error { return db.Delete(mkKey(1, kindObject, "b", "dir/b", id(1)), nil) }},
		{"shards index", func(db *pebble.DB) error { return db.Set(shardsKey(id(0xDD)), []byte("o"), nil) }},
		{"orphan part", func(db *pebble.DB) error {
			b, _ := encodeRecord(&meta.Part{Number: 1})
			return db.Set(partKey("b", "k", id(0xDE), 1), b, nil)
		}},
		{"bad object", func(db *pebble.DB) error { return db.Set(objectKey("b", "zz"), []byte{2, 0}, nil) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := newTester(t)
			populate(x)
			if err := tc.damage(x.f.h.db); err != nil {
				t.Fatal(err)
			}
			if err := x.f.Check(); !errors.Is(err, ErrInconsistent) {
				t.Errorf("Check = %v, want ErrInconsistent", err)
			}
		})
	}
}

// TestReadsDuringRestoreAndApply runs readers concurrently with applies, snapshots and
// restores: under -race this checks the locking, and every read sees a whole state.
func TestReadsDuringRestoreAndApply(t *testing.T) {
	src := newTester(t)
	populate(src)
	stream := snapshotBytes(t, src.f)
	x := newTester(t)
	populate(x)
	stop := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		defer close(errc)
		for {
			select {
			case <-stop:
				return
			default:
			}
			res, err := x.f.ListObjects("b", meta.ListObjectsOptions{Prefix: "dir/"})
			if err == nil && len(res.Objects) < 19 {
				err = fmt.Errorf("listing saw %d objects", len(res.Objects))
			}
			if err == nil {
				err = x.f.Check()
			}
			if err != nil {
				errc <- err
				return
			}
		}
	}()
	for i := range 5 {
		if err := x.f.Restore(io.NopCloser(bytes.NewReader(stream))); err != nil {
			t.Fatal(err)
		}
		x.idx = x.f.AppliedIndex()
		x.ok(&meta.CommitObject{Version: version("b", fmt.Sprintf("dir/new%d", i), id(0x60, byte(i)), 1, 1)})
		s, err := x.f.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		s.Release()
	}
	close(stop)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}
