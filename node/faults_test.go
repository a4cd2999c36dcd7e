package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
	"github.com/coffer-io/coffer/erasure"
	"github.com/prometheus/client_golang/prometheus"
)

// testGeometry matches nodetest.Geometry (64 KiB blocks); internal tests cannot
// import nodetest.
var testGeometry = erasure.Geometry{DataShards: 4, ParityShards: 2, BlockSize: 64 << 10}

func testID(seed uint64, part uint32, index uint16) ShardID {
	id := ShardID{Part: part, Index: index}
	r := rand.New(rand.NewPCG(seed, 1))
	for i := range id.Version {
		id.Version[i] = byte(r.Uint32())
	}
	return id
}

func makeShard(t testing.TB, id ShardID, dataLen int64) []byte {
	t.Helper()
	h := erasure.Header{Geometry: testGeometry, ShardIndex: int(id.Index), VersionID: id.Version}
	out, err := h.AppendBinary(nil)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(uint64(dataLen), 2))
	block := make([]byte, testGeometry.BlockSize)
	for i := int64(0); dataLen > 0; i++ {
		n := min(dataLen, int64(len(block)))
		for j := range block[:n] {
			block[j] = byte(r.Uint32())
		}
		out = h.AppendFrame(out, i, block[:n])
		dataLen -= n
	}
	return out
}

func openTest(t testing.TB, fs vfs.FS, mod func(*Config)) *Store {
	t.Helper()
	cfg := Config{FS: fs, FreeBytesMin: -1, CacheBytes: 4 << 20, MemTableBytes: 2 << 20}
	if mod != nil {
		mod(&cfg)
	}
	s, err := Open(cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func putBytes(s *Store, id ShardID, b []byte) error {
	return s.Put(context.Background(), id, int64(len(b)), bytes.NewReader(b))
}

func getBytes(s *Store, id ShardID) ([]byte, error) {
	r, err := s.Get(id, 0, -1)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// checkClean asserts what Open must guarantee: no pending marks, no temp files,
// no shard file without a file record.
func checkClean(t *testing.T, s *Store, fs vfs.FS) {
	t.Helper()
	lo, hi := kindBounds(kindPending)
	if err := s.scan(lo, hi, func(k, _ []byte) error {
		t.Errorf("pending mark left: %x", k)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	walkFiles(fs, "/shards", func(path, name string) {
		if strings.HasSuffix(name, tempSuffix) {
			t.Errorf("temp file left: %s", path)
			return
		}
		id, ok := parseFileName(name)
		if !ok {
			t.Errorf("unknown file: %s", path)
			return
		}
		if rec, found, err := s.record(id); err != nil || !found || rec.inline {
			t.Errorf("file %s without a file record (found %v, err %v)", path, found, err)
		}
	})
}

func walkFiles(fs vfs.FS, dir string, fn func(path, name string)) {
	names, _ := fs.List(dir)
	for _, n := range names {
		p := fs.PathJoin(dir, n)
		if st, err := fs.Stat(p); err == nil && st.IsDir() {
			walkFiles(fs, p, fn)
			continue
		}
		fn(p, n)
	}
}

// TestCrashDuringPut crashes the filesystem at every operation a put performs
// (pending mark, create temp, write, fsync, rename, directory fsync, index commit,
// and Pebble's own WAL writes in between), reopens the crashed copy and checks that
// the shard is either absent or whole and that no temp file, stray file or pending
// mark survives. A crash after the acknowledgement must keep the shard.
func TestCrashDuringPut(t *testing.T) {
	for _, tc := range []struct {
		name     string
		data     int64
		unsynced int // percent of unsynced data the crash keeps
	}{
		{"inline", 1000, 0},
		{"file", 3*int64(testGeometry.BlockSize) + 10, 0},
		{"file-half-unsynced", 3*int64(testGeometry.BlockSize) + 10, 50},
		{"replace-file", 3*int64(testGeometry.BlockSize) + 10, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := testID(1, 0, 3)
			b := makeShard(t, id, tc.data)
			var old []byte
			if tc.name == "replace-file" {
				old = makeShard(t, id, 2*int64(testGeometry.BlockSize)+5)
			}
			rng := rand.New(rand.NewPCG(7, 7))
			var kinds []string
			for step := 0; ; step++ {
				mem := vfs.NewCrashableMem()
				var counting atomic.Bool
				var n atomic.Int64
				var mu sync.Mutex
				var clone *vfs.MemFS
				var kind string
				fs := errorfs.Wrap(mem, errorfs.InjectorFunc(func(op errorfs.Op) error {
					if counting.Load() && n.Add(1)-1 == int64(step) {
						mu.Lock()
						clone = mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: tc.unsynced, RNG: rng})
						kind = fmt.Sprintf("%v %s", op.Kind, op.Path)
						mu.Unlock()
					}
					return nil
				}))
				s := openTest(t, fs, nil)
				if old != nil {
					if err := putBytes(s, id, old); err != nil {
						t.Fatal(err)
					}
				}
				counting.Store(true)
				var err error
				if old != nil {
					err = s.Replace(context.Background(), id, int64(len(b)), bytes.NewReader(b))
				} else {
					err = putBytes(s, id, b)
				}
				counting.Store(false)
				if err != nil {
					t.Fatalf("step %d: Put: %v", step, err)
				}
				mu.Lock()
				c := clone
				mu.Unlock()
				acked := c == nil
				if acked {
					// Past the last operation: crash after the acknowledgement.
					c = mem.CrashClone(vfs.CrashCloneCfg{})
				} else {
					kinds = append(kinds, kind)
				}
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				s2 := openTest(t, c, nil)
				got, err := getBytes(s2, id)
				switch {
				case errors.Is(err, ErrNotFound):
					if acked {
						t.Errorf("step %d: acknowledged shard lost", step)
					}
				case err != nil:
					t.Errorf("step %d (%s): Get after crash: %v", step, kind, err)
				case !bytes.Equal(got, b) && !(old != nil && bytes.Equal(got, old) && !acked):
					t.Errorf("step %d (%s): shard after crash is neither absent nor whole (%d bytes)", step, kind, len(got))
				}
				checkClean(t, s2, c)
				// The store keeps working after recovery.
				if err := s2.Replace(context.Background(), id, int64(len(b)), bytes.NewReader(b)); err != nil {
					t.Errorf("step %d: Replace after recovery: %v", step, err)
				}
				s2.Close()
				if acked {
					break
				}
			}
			if len(kinds) < 2 {
				t.Fatalf("only %d crash points: %q", len(kinds), kinds)
			}
			if testing.Verbose() {
				t.Logf("%d crash points", len(kinds))
			}
		})
	}
}

// injectOn fails the operations of kind on paths containing sub with err while on.
type injectOn struct {
	on   atomic.Bool
	kind errorfs.OpKind
	sub  string
	err  error
}

func (i *injectOn) MaybeError(op errorfs.Op) error {
	if i.on.Load() && op.Kind == i.kind && strings.Contains(op.Path, i.sub) {
		return i.err
	}
	return nil
}

func (i *injectOn) String() string { return "injectOn" }

// injectKinds fails operations of any of kinds on paths containing sub while on.
type injectKinds struct {
	on    atomic.Bool
	kinds []errorfs.OpKind
	sub   string
	err   error
}

func (i *injectKinds) MaybeError(op errorfs.Op) error {
	if i.on.Load() && strings.Contains(op.Path, i.sub) {
		for _, k := range i.kinds {
			if op.Kind == k {
				return i.err
			}
		}
	}
	return nil
}

func (i *injectKinds) String() string { return "injectKinds" }

// TestPutFaults fails each step of the write protocol with an I/O error, checks
// the put fails cleanly, then reopens the store and checks again: no shard or the
// whole shard, no temp files, no pending marks.
func TestPutFaults(t *testing.T) {
	eio := errors.New("injected EIO")
	syncs := []errorfs.OpKind{errorfs.OpFileSync, errorfs.OpFileSyncData, errorfs.OpFileSyncTo}
	cases := []struct {
		name  string
		kinds []errorfs.OpKind
		sub   string
		want  error
	}{
		{"create temp", []errorfs.OpKind{errorfs.OpCreate}, ".tmp", eio},
		{"write", []errorfs.OpKind{errorfs.OpFileWrite}, ".tmp", eio},
		{"fsync", []errorfs.OpKind{errorfs.OpFileSync}, ".tmp", eio},
		{"rename", []errorfs.OpKind{errorfs.OpRename}, ".tmp", eio},
		{"open dir for fsync", []errorfs.OpKind{errorfs.OpOpenDir}, "/shards/", eio},
		{"fsync dir", []errorfs.OpKind{errorfs.OpFileSync}, "/shards/", eio},
		{"index commit", syncs, ".log", ErrIndexFailed},
	}
	for _, c := range cases {
		for _, data := range []int64{1000, 3 * int64(testGeometry.BlockSize)} {
			if data == 1000 && c.want != ErrIndexFailed {
				continue // inline puts touch no shard files
			}
			t.Run(fmt.Sprintf("%s/%d", c.name, data), func(t *testing.T) {
				mem := vfs.NewMem()
				inj := &injectKinds{kinds: c.kinds, sub: c.sub, err: eio}
				s := openTest(t, errorfs.Wrap(mem, inj), func(cfg *Config) { cfg.WriteErrorsMax = 100 })
				id := testID(2, 0, 1)
				b := makeShard(t, id, data)
				// Create the fan-out directory first so directory faults hit the
				// put's own directory fsync, not the first-time creation.
				other := testID(2, 9, 1)
				if err := putBytes(s, other, makeShard(t, other, 3*int64(testGeometry.BlockSize))); err != nil {
					t.Fatal(err)
				}
				inj.on.Store(true)
				err := putBytes(s, id, b)
				inj.on.Store(false)
				if !errors.Is(err, c.want) {
					t.Fatalf("Put: %v, want %v", err, c.want)
				}
				h := s.Health()
				if c.want == ErrIndexFailed {
					if !h.ReadOnly {
						t.Errorf("Health = %+v, want read-only after an index failure", h)
					}
					if err := putBytes(s, id, b); !errors.Is(err, ErrReadOnly) {
						t.Errorf("Put after an index failure: %v, want ErrReadOnly", err)
					}
				} else {
					if _, err := s.Stat(id); !errors.Is(err, ErrNotFound) {
						t.Errorf("failed put is visible: %v", err)
					}
					checkClean(t, s, mem)
					if h.WriteErrors == 0 || h.ReadOnly {
						t.Errorf("Health = %+v, want a write error and still writable", h)
					}
				}
				s.Close()

				// Reopen on the same disk: the shard is absent or whole.
				s = openTest(t, mem, nil)
				defer s.Close()
				got, err := getBytes(s, id)
				if err != nil && !errors.Is(err, ErrNotFound) {
					t.Errorf("Get after reopen: %v", err)
				}
				if err == nil && !bytes.Equal(got, b) {
					t.Errorf("shard after reopen is not whole (%d of %d bytes)", len(got), len(b))
				}
				checkClean(t, s, mem)
				if err := s.Replace(context.Background(), id, int64(len(b)), bytes.NewReader(b)); err != nil {
					t.Errorf("Replace after reopen: %v", err)
				}
				if got, err := getBytes(s, other); err != nil || len(got) == 0 {
					t.Errorf("other shard after reopen: %v", err)
				}
			})
		}
	}
}

func TestReadOnly(t *testing.T) {
	t.Run("no space", func(t *testing.T) {
		mem := vfs.NewMem()
		inj := &injectOn{kind: errorfs.OpFileWrite, sub: ".tmp", err: syscall.ENOSPC}
		s := openTest(t, errorfs.Wrap(mem, inj), nil)
		defer s.Close()
		id := testID(3, 0, 0)
		b := makeShard(t, id, 3*int64(testGeometry.BlockSize))
		inj.on.Store(true)
		if err := putBytes(s, id, b); !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("Put: %v", err)
		}
		inj.on.Store(false)
		if err := putBytes(s, id, b); !errors.Is(err, ErrReadOnly) {
			t.Errorf("Put after ENOSPC: %v, want ErrReadOnly", err)
		}
		if h := s.Health(); !h.ReadOnly || !strings.Contains(h.Reason, "no space") {
			t.Errorf("Health = %+v", h)
		}
	})
	t.Run("repeated errors", func(t *testing.T) {
		inj := &injectOn{kind: errorfs.OpFileSync, sub: ".tmp", err: errors.New("EIO")}
		s := openTest(t, errorfs.Wrap(vfs.NewMem(), inj), func(c *Config) { c.WriteErrorsMax = 3 })
		defer s.Close()
		inj.on.Store(true)
		for i := range 3 {
			id := testID(4, uint32(i), 0)
			if err := putBytes(s, id, makeShard(t, id, 3*int64(testGeometry.BlockSize))); err == nil || errors.Is(err, ErrReadOnly) {
				t.Fatalf("put %d: %v", i, err)
			}
		}
		id := testID(4, 9, 0)
		if err := putBytes(s, id, makeShard(t, id, 10)); !errors.Is(err, ErrReadOnly) {
			t.Errorf("after 3 errors: %v, want ErrReadOnly", err)
		}
		// Reads still work in read-only mode.
		if _, err := s.Stat(id); !errors.Is(err, ErrNotFound) {
			t.Errorf("Stat: %v", err)
		}
	})
	t.Run("free space", func(t *testing.T) {
		var avail atomic.Uint64
		avail.Store(100 << 20)
		now := time.Unix(1000, 0)
		var clock atomic.Int64
		clock.Store(now.UnixNano())
		s := openTest(t, vfs.NewMem(), func(c *Config) {
			c.FreeBytesMin = 50 << 20
			c.DiskUsage = func(string) (DiskUsage, error) {
				return DiskUsage{AvailBytes: avail.Load(), TotalBytes: 1 << 30, UsedBytes: 1<<30 - avail.Load()}, nil
			}
			c.Now = func() time.Time { return time.Unix(0, clock.Load()) }
		})
		defer s.Close()
		id := testID(5, 0, 0)
		b := makeShard(t, id, 100)
		if err := putBytes(s, id, b); err != nil {
			t.Fatal(err)
		}
		avail.Store(10 << 20)
		clock.Add(int64(2 * time.Second)) // past DiskUsageInterval
		if err := putBytes(s, testID(5, 1, 0), makeShard(t, testID(5, 1, 0), 100)); !errors.Is(err, ErrReadOnly) {
			t.Errorf("Put with little space: %v, want ErrReadOnly", err)
		}
		if h := s.Health(); !h.ReadOnly || h.AvailBytes != 10<<20 {
			t.Errorf("Health = %+v", h)
		}
		avail.Store(60 << 20)
		clock.Add(int64(2 * time.Second))
		if err := putBytes(s, testID(5, 1, 0), makeShard(t, testID(5, 1, 0), 100)); err != nil {
			t.Errorf("Put after space returned: %v", err)
		}
	})
}

// faultyReads wraps a vfs.FS so that files opened for reading under /shards/
// return short reads or errors.
type faultyReads struct {
	vfs.FS
	mode atomic.Int32 // 0 off, 1 short read, 2 EIO
}

func (f *faultyReads) Open(name string, opts ...vfs.OpenOption) (vfs.File, error) {
	file, err := f.FS.Open(name, opts...)
	if err != nil || !strings.Contains(name, "/shards/") {
		return file, err
	}
	return &faultyFile{File: file, fs: f}, nil
}

type faultyFile struct {
	vfs.File
	fs *faultyReads
}

func (f *faultyFile) ReadAt(p []byte, off int64) (int, error) {
	switch f.fs.mode.Load() {
	case 1:
		n, _ := f.File.ReadAt(p[:len(p)/2], off)
		return n, io.EOF
	case 2:
		return 0, errors.New("injected read EIO")
	}
	return f.File.ReadAt(p, off)
}

func TestReadFaults(t *testing.T) {
	fr := &faultyReads{FS: vfs.NewMem()}
	s := openTest(t, fr, nil)
	defer s.Close()
	id := testID(6, 0, 2)
	b := makeShard(t, id, 5*int64(testGeometry.BlockSize))
	if err := putBytes(s, id, b); err != nil {
		t.Fatal(err)
	}
	fr.mode.Store(1)
	if _, err := getBytes(s, id); !erasure.IsCorrupt(err) || !strings.Contains(err.Error(), id.String()) {
		t.Errorf("short read: %v, want corruption naming the shard", err)
	}
	fr.mode.Store(2)
	_, err := getBytes(s, id)
	if err == nil || erasure.IsCorrupt(err) {
		t.Errorf("read EIO: %v, want a plain read error", err)
	}
	fr.mode.Store(0)
	h := s.Health()
	if h.Corruptions != 1 || h.ReadErrors != 1 {
		t.Errorf("Health = %+v, want 1 corruption and 1 read error", h)
	}
	if got, err := getBytes(s, id); err != nil || !bytes.Equal(got, b) {
		t.Errorf("Get after the faults: %v", err)
	}
}

func TestCorruptStoredFrame(t *testing.T) {
	mem := vfs.NewMem()
	s := openTest(t, mem, nil)
	defer s.Close()
	for _, data := range []int64{2000, 5 * int64(testGeometry.BlockSize)} {
		id := testID(uint64(data), 0, 1)
		b := makeShard(t, id, data)
		if err := putBytes(s, id, b); err != nil {
			t.Fatal(err)
		}
		before := s.Health().Corruptions
		// Flip one bit of the stored bytes of frame 0.
		if data > 10000 {
			f, err := mem.OpenReadWrite("/shards/"+id.relPath(), vfs.WriteCategoryUnspecified)
			if err != nil {
				t.Fatal(err)
			}
			c := []byte{b[erasure.HeaderSize+erasure.HashSize+5] ^ 1}
			if _, err := f.WriteAt(c, erasure.HeaderSize+erasure.HashSize+5); err != nil {
				t.Fatal(err)
			}
			f.Close()
		} else {
			bad := bytes.Clone(b)
			bad[len(bad)-1] ^= 1
			if err := s.db.Set(key(kindData, id), bad, nil); err != nil {
				t.Fatal(err)
			}
		}
		_, err := s.Get(id, 0, -1)
		if !erasure.IsCorrupt(err) || !strings.Contains(err.Error(), id.String()) {
			t.Errorf("%d: Get: %v, want corruption naming %v", data, err, id)
		}
		if got := s.Health().Corruptions; got != before+1 {
			t.Errorf("%d: corruption counter %d, want %d", data, got, before+1)
		}
		// The header alone still reads.
		r, err := s.Get(id, 0, erasure.HeaderSize)
		if err != nil {
			t.Fatalf("%d: header read: %v", data, err)
		}
		r.Close()
	}
}

func TestStraysRemovedOnOpen(t *testing.T) {
	mem := vfs.NewMem()
	s := openTest(t, mem, nil)
	keep := testID(7, 0, 0)
	kb := makeShard(t, keep, 3*int64(testGeometry.BlockSize))
	if err := putBytes(s, keep, kb); err != nil {
		t.Fatal(err)
	}
	s.Close()
	// A temp file, a file without a record, and a pending mark's leftovers.
	stray := testID(8, 0, 0)
	for _, name := range []string{stray.relPath(), stray.relPath() + tempSuffix, keep.relPath() + tempSuffix} {
		_ = mem.MkdirAll("/shards/"+stray.relDir(), 0o700)
		f, err := mem.Create("/shards/"+name, vfs.WriteCategoryUnspecified)
		if err != nil {
			t.Fatal(err)
		}
		f.Write([]byte("junk"))
		f.Close()
	}
	s = openTest(t, mem, nil)
	defer s.Close()
	checkClean(t, s, mem)
	if got, err := getBytes(s, keep); err != nil || !bytes.Equal(got, kb) {
		t.Errorf("kept shard: %v", err)
	}
	// Strays that appear while the store runs go with the next Sweep.
	f, err := mem.Create("/shards/"+stray.relPath()+tempSuffix, vfs.WriteCategoryUnspecified)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	st, err := s.Sweep(context.Background(), &fakeCommitted{})
	if err != nil || st.Strays != 1 {
		t.Errorf("Sweep = %+v, %v; want 1 stray", st, err)
	}
	checkClean(t, s, mem)
	if got, err := getBytes(s, keep); err != nil || !bytes.Equal(got, kb) {
		t.Errorf("kept shard after Sweep: %v", err)
	}
}

type fakeCommitted struct {
	mu    sync.Mutex
	known map[[16]byte]bool
	fail  map[[16]byte]bool
	asked int
}

func (f *fakeCommitted) Known(_ context.Context, v [16]byte) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked++
	if f.fail[v] {
		return false, errors.New("metadata unreachable")
	}
	return f.known[v], nil
}

func TestSweep(t *testing.T) {
	var clock atomic.Int64
	clock.Store(time.Unix(10000, 0).UnixNano())
	s := openTest(t, vfs.NewMem(), func(c *Config) {
		c.SweepGrace = time.Hour
		c.Now = func() time.Time { return time.Unix(0, clock.Load()) }
	})
	defer s.Close()
	committed, orphan, flaky := testID(10, 0, 0), testID(11, 0, 0), testID(12, 0, 0)
	for _, v := range []ShardID{committed, orphan, flaky} {
		for idx := uint16(0); idx < 3; idx++ {
			id := ShardID{Version: v.Version, Index: idx}
			data := int64(100)
			if idx == 2 {
				data = 3 * int64(testGeometry.BlockSize)
			}
			if err := putBytes(s, id, makeShard(t, id, data)); err != nil {
				t.Fatal(err)
			}
		}
	}
	fc := &fakeCommitted{known: map[[16]byte]bool{committed.Version: true}, fail: map[[16]byte]bool{flaky.Version: true}}
	clock.Add(int64(30 * time.Minute))
	st, err := s.Sweep(context.Background(), fc)
	if err != nil || st.Orphans != 0 || fc.asked != 0 {
		t.Errorf("within grace: %+v, %v, asked %d", st, err, fc.asked)
	}
	clock.Add(int64(time.Hour))
	st, err = s.Sweep(context.Background(), fc)
	if err != nil || st.Orphans != 1 || st.Shards != 3 || st.Errors != 1 || st.Versions != 3 {
		t.Errorf("past grace: %+v, %v", st, err)
	}
	for v, want := range map[ShardID]int{committed: 3, orphan: 0, flaky: 3} {
		if ids, _ := s.ListVersion(v.Version); len(ids) != want {
			t.Errorf("%x: %d shards left, want %d", v.Version, len(ids), want)
		}
	}
	// The background loop runs Sweep and stops on request.
	ran := make(chan SweepStats, 1)
	sw := s.StartSweeper(fc, time.Millisecond, func(st SweepStats, err error) {
		select {
		case ran <- st:
		default:
		}
	})
	<-ran
	sw.Stop()
}

func TestConfigValidate(t *testing.T) {
	c := Config{InlineMaxBytes: InlineMaxBytesMax + 1, ShardMaxBytes: -1, PutsMax: -1, MemTableBytes: 10}
	err := c.Validate()
	for _, want := range []string{"Dir", "InlineMaxBytes", "ShardMaxBytes", "PutsMax", "MemTableBytes"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate does not report %s: %v", want, err)
		}
	}
	c = Config{Dir: "/x"}
	c.EnsureDefaults()
	if err := c.Validate(); err != nil {
		t.Errorf("defaults do not validate: %v", err)
	}
}

func TestClosed(t *testing.T) {
	s := openTest(t, vfs.NewMem(), nil)
	id := testID(20, 0, 0)
	if err := putBytes(s, id, makeShard(t, id, 10)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_, getErr := s.Get(id, 0, -1)
	_, statErr := s.Stat(id)
	_, dvErr := s.DeleteVersion(id.Version)
	_, lvErr := s.ListVersion(id.Version)
	_, swErr := s.Sweep(context.Background(), &fakeCommitted{})
	for name, err := range map[string]error{
		"Put": putBytes(s, id, makeShard(t, id, 10)), "Get": getErr, "Stat": statErr, "Delete": s.Delete(id),
		"DeleteVersion": dvErr, "ListVersion": lvErr, "Sweep": swErr, "Close": s.Close(),
	} {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
}

func TestCollector(t *testing.T) {
	fr := &faultyReads{FS: vfs.NewMem()}
	s := openTest(t, fr, func(c *Config) {
		c.FreeBytesMin = 1 << 20
		c.DiskUsage = func(string) (DiskUsage, error) { return DiskUsage{AvailBytes: 1 << 10, TotalBytes: 1 << 30}, nil }
	})
	defer s.Close()
	id := testID(30, 0, 0)
	s.cfg.FreeBytesMin = -1
	if err := putBytes(s, id, makeShard(t, id, 3*int64(testGeometry.BlockSize))); err != nil {
		t.Fatal(err)
	}
	s.cfg.FreeBytesMin = 1 << 20
	fr.mode.Store(1)
	getBytes(s, id)
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(s.Collector()); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		m := mf.GetMetric()[0]
		if c := m.GetCounter(); c != nil {
			got[mf.GetName()] = c.GetValue()
		} else {
			got[mf.GetName()] = m.GetGauge().GetValue()
		}
	}
	want := map[string]float64{
		"coffer_node_corruptions_total": 1, "coffer_node_read_errors_total": 0, "coffer_node_write_errors_total": 0,
		"coffer_node_read_only": 1, "coffer_node_available_bytes": 1024, "coffer_node_capacity_bytes": 1 << 30,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("metrics = %v, want %v", got, want)
	}
}

// TestGarbageReusedName: an unlink that failed after a delete stays queued; a later
// put of the same id reuses the file name, and collecting the queue must not
// remove the live file.
func TestGarbageReusedName(t *testing.T) {
	mem := vfs.NewMem()
	inj := &injectOn{kind: errorfs.OpRemove, sub: "/shards/", err: errors.New("EIO")}
	s := openTest(t, errorfs.Wrap(mem, inj), nil)
	defer s.Close()
	id := testID(40, 0, 0)
	b := makeShard(t, id, 3*int64(testGeometry.BlockSize))
	if err := putBytes(s, id, b); err != nil {
		t.Fatal(err)
	}
	inj.on.Store(true)
	if err := s.Delete(id); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	inj.on.Store(false)
	// The file is still there, queued.
	if _, err := mem.Stat("/shards/" + id.relPath()); err != nil {
		t.Fatalf("queued file: %v", err)
	}
	st, err := s.Sweep(context.Background(), &fakeCommitted{})
	if err != nil || st.Garbage != 1 {
		t.Fatalf("Sweep = %+v, %v; want 1 unlink", st, err)
	}
	if _, err := mem.Stat("/shards/" + id.relPath()); err == nil {
		t.Fatal("queued file survived the sweep")
	}

	// Again, but the id is stored anew before the queue is collected.
	if err := putBytes(s, id, b); err != nil {
		t.Fatal(err)
	}
	inj.on.Store(true)
	if err := s.Delete(id); err != nil {
		t.Fatal(err)
	}
	inj.on.Store(false)
	if err := putBytes(s, id, b); err != nil {
		t.Fatal(err)
	}
	if st, err := s.Sweep(context.Background(), &fakeCommitted{known: map[[16]byte]bool{id.Version: true}}); err != nil || st.Garbage != 0 {
		t.Fatalf("Sweep = %+v, %v; want the entry dropped without an unlink", st, err)
	}
	if got, err := getBytes(s, id); err != nil || !bytes.Equal(got, b) {
		t.Errorf("live shard lost to a stale garbage entry: %v", err)
	}
	lo, hi := kindBounds(kindGarbage)
	s.scan(lo, hi, func(k, _ []byte) error {
		t.Errorf("garbage entry left: %x", k)
		return nil
	})
}

// TestSweepBesideWrites runs Sweep in a loop while file shards are written and
// replaced: no put in progress may be taken for a stray.
func TestSweepBesideWrites(t *testing.T) {
	s := openTest(t, vfs.NewMem(), nil)
	defer s.Close()
	all := &fakeCommitted{known: map[[16]byte]bool{}}
	var ids []ShardID
	for w := range 4 {
		for i := range 5 {
			id := testID(uint64(50+w), uint32(i), uint16(w))
			ids = append(ids, id)
			all.known[id.Version] = true
		}
	}
	stop := make(chan struct{})
	var sweeps sync.WaitGroup
	sweeps.Add(1)
	go func() {
		defer sweeps.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := s.Sweep(context.Background(), all); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	var writers sync.WaitGroup
	for w := range 4 {
		writers.Add(1)
		go func() {
			defer writers.Done()
			for i := range 5 {
				id := ids[w*5+i]
				b := makeShard(t, id, 2*int64(testGeometry.BlockSize)+int64(i))
				for range 2 {
					if err := s.Replace(context.Background(), id, int64(len(b)), bytes.NewReader(b)); err != nil {
						t.Error(err)
					}
				}
			}
		}()
	}
	writers.Wait()
	close(stop)
	sweeps.Wait()
	for _, id := range ids {
		if _, err := getBytes(s, id); err != nil {
			t.Errorf("%v: %v", id, err)
		}
	}
}

func TestScrub(t *testing.T) {
	mem := vfs.NewMem()
	s := openTest(t, mem, nil)
	defer s.Close()
	var ids []ShardID
	for i := range 6 {
		id := testID(60, uint32(i), uint16(i))
		data := int64(500)
		if i%2 == 0 {
			data = 3 * int64(testGeometry.BlockSize)
		}
		if err := putBytes(s, id, makeShard(t, id, data)); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	// Damage two: a frame of a file shard, and the length of another.
	f, err := mem.OpenReadWrite("/shards/"+ids[2].relPath(), vfs.WriteCategoryUnspecified)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte{0xff, 0xee}, erasure.FrameOffset(testGeometry, 2)+50)
	f.Close()
	f, err = mem.Create("/shards/"+ids[4].relPath(), vfs.WriteCategoryUnspecified)
	if err != nil {
		t.Fatal(err)
	}
	f.Close() // truncated to nothing
	reported := map[ShardID]error{}
	st, err := s.Scrub(context.Background(), func(id ShardID, err error) { reported[id] = err })
	if err != nil || st.Shards != 6 || st.Corrupt != 2 || st.Failed != 0 {
		t.Errorf("Scrub = %+v, %v", st, err)
	}
	for _, id := range []ShardID{ids[2], ids[4]} {
		if err := reported[id]; !erasure.IsCorrupt(err) {
			t.Errorf("%v reported %v, want corruption", id, err)
		}
	}
	if len(reported) != 2 {
		t.Errorf("reported %d shards, want 2", len(reported))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Scrub(ctx, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Scrub: %v", err)
	}
}

// TestRecordGolden pins the persisted record encoding (package doc): a change to
// it breaks every existing store.
func TestRecordGolden(t *testing.T) {
	hdr := make([]byte, 64)
	for i := range hdr {
		hdr[i] = byte(i)
	}
	r := record{inline: false, size: 0x0102030405, created: time.Unix(0, 0x1122334455667788), header: hdr}
	want, err := os.ReadFile("testdata/record-v1.hex")
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprintf("%x\n", r.append(nil)); got != string(want) {
		t.Errorf("record encoding changed:\n got %s\nwant %s", got, want)
	}
	dec, err := decodeRecord(r.append(nil))
	if err != nil || dec.size != r.size || !dec.created.Equal(r.created) || dec.inline {
		t.Errorf("decode = %+v, %v", dec, err)
	}
}
