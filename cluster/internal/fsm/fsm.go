package fsm

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/hashicorp/raft"

	"github.com/coffer-io/coffer/cluster/meta"
)

// Errors returned by Open, Restore and the read methods (besides the meta sentinels
// such as meta.ErrBucketNotFound).
var (
	// ErrFailed is carried (as meta.CodeInternal) by every apply result after a local
	// fault — a read or write error of the FSM's own database or a damaged stored
	// value — because applying around it could diverge from the other voters. Err
	// reports the cause; reads keep working. See ApplyBatch.
	ErrFailed = errors.New("fsm: state machine failed")
	// ErrNotOurs means the directory holds a database of another format.
	ErrNotOurs = errors.New("fsm: database format not recognized")
	// ErrSnapshot marks a snapshot stream that is damaged or of an unknown version.
	ErrSnapshot = errors.New("fsm: bad snapshot stream")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("fsm: closed")
)

var _ raft.BatchingFSM = (*FSM)(nil)

// evictBatchMax bounds how many expired request ids one raft batch garbage-collects.
const evictBatchMax = 4096

// handle is one open database generation. refs counts the FSM's own reference (while
// the generation is live) plus one per open snapshot; the last unref closes it.
type handle struct {
	db      *pebble.DB
	dir     string
	fs      vfs.FS
	logger  pebble.Logger
	refs    atomic.Int64
	retired atomic.Bool // set before the live reference is dropped by Restore
}

func (h *handle) unref() {
	if h.refs.Add(-1) != 0 {
		return
	}
	if err := h.db.Close(); err != nil {
		h.logger.Errorf("fsm: close %s: %v", h.dir, err)
	}
	if h.retired.Load() {
		if err := h.fs.RemoveAll(h.dir); err != nil {
			h.logger.Errorf("fsm: remove retired %s: %v", h.dir, err)
		}
	}
}

// FSM is the metadata state machine. See the package doc for the concurrency contract.
type FSM struct {
	cfg   Config
	cache *pebble.Cache

	// applied is the last applied raft index (read by AppliedIndex from any goroutine,
	// written by the apply goroutine).
	applied atomic.Uint64

	// evictFloor is the reqAge index below which everything was already evicted;
	// owned by the apply goroutine. It only bounds the eviction scan (so the scan does
	// not wade through old tombstones); results never depend on it.
	evictFloor uint64
	// ctr holds the counters; owned by the apply goroutine.
	ctr counters

	// failure is the sticky cause after a local fault during Apply, or nil.
	failure atomic.Pointer[error]

	// mu guards the fields below. Reads hold it shared for their whole duration;
	// Restore and Close hold it exclusively to swap or drop the handle.
	mu  sync.RWMutex
	h   *handle // nil after Close
	gen uint64
}

// Open opens or creates the state machine in cfg.Dir.
func Open(cfg Config) (*FSM, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	f := &FSM{cfg: cfg, cache: pebble.NewCache(cfg.CacheBytes)}
	if err := f.open(); err != nil {
		f.cache.Unref()
		return nil, err
	}
	return f, nil
}

func (f *FSM) open() error {
	fs := f.cfg.FS
	if err := fs.MkdirAll(f.cfg.Dir, 0o755); err != nil {
		return fmt.Errorf("fsm: create dir: %w", err)
	}
	gen, named, err := f.readCurrent()
	if err != nil {
		return err
	}
	// Remove generations CURRENT does not name: leftovers of an interrupted restore.
	names, err := fs.List(f.cfg.Dir)
	if err != nil {
		return fmt.Errorf("fsm: list dir: %w", err)
	}
	live := genName(gen)
	for _, n := range names {
		if strings.HasPrefix(n, "db-") && n != live {
			if err := fs.RemoveAll(fs.PathJoin(f.cfg.Dir, n)); err != nil {
				return fmt.Errorf("fsm: remove stale generation: %w", err)
			}
		}
	}
	// Once CURRENT names a generation, its database must exist: never silently
	// start empty over a lost directory.
	h, err := f.openGen(gen, named)
	if err != nil {
		return err
	}
	if err := checkFormat(h.db); err != nil {
		h.unref()
		return err
	}
	if !named {
		if err := f.writeCurrent(gen); err != nil {
			h.unref()
			return err
		}
	}
	applied, err := readApplied(h.db)
	if err == nil {
		f.ctr, err = readCounters(h.db)
	}
	if err != nil {
		h.unref()
		return err
	}
	f.h, f.gen = h, gen
	f.applied.Store(applied)
	return nil
}

func genName(gen uint64) string { return "db-" + strconv.FormatUint(gen, 10) }

// readCurrent returns the live generation; named is false when there is no CURRENT
// file yet (a new state machine, generation 0).
func (f *FSM) readCurrent() (gen uint64, named bool, err error) {
	fs := f.cfg.FS
	file, err := fs.Open(fs.PathJoin(f.cfg.Dir, "CURRENT"))
	if err != nil {
		if errors.Is(err, iofs.ErrNotExist) {
			return 0, false, nil
		}
		return 0, false, fmt.Errorf("fsm: open CURRENT: %w", err)
	}
	defer file.Close()
	b, err := io.ReadAll(io.LimitReader(file, 64))
	if err != nil {
		return 0, false, fmt.Errorf("fsm: read CURRENT: %w", err)
	}
	s := strings.TrimSpace(string(b))
	gen, err = strconv.ParseUint(strings.TrimPrefix(s, "db-"), 10, 64)
	if err != nil || !strings.HasPrefix(s, "db-") {
		return 0, false, fmt.Errorf("%w: CURRENT holds %q", ErrNotOurs, s)
	}
	return gen, true, nil
}

// writeCurrent atomically points CURRENT at generation gen.
func (f *FSM) writeCurrent(gen uint64) error {
	fs := f.cfg.FS
	tmp := fs.PathJoin(f.cfg.Dir, "CURRENT.tmp")
	file, err := fs.Create(tmp, vfs.WriteCategoryUnspecified)
	if err != nil {
		return fmt.Errorf("fsm: create CURRENT.tmp: %w", err)
	}
	if _, err := file.Write([]byte(genName(gen) + "\n")); err != nil {
		file.Close()
		return fmt.Errorf("fsm: write CURRENT.tmp: %w", err)
	}
	if err := file.Sync(); err != nil {
		file.Close()
		return fmt.Errorf("fsm: sync CURRENT.tmp: %w", err)
	}
	if err := file.Close(); err != nil {
		return fmt.Errorf("fsm: close CURRENT.tmp: %w", err)
	}
	if err := fs.Rename(tmp, fs.PathJoin(f.cfg.Dir, "CURRENT")); err != nil {
		return fmt.Errorf("fsm: rename CURRENT: %w", err)
	}
	d, err := fs.OpenDir(f.cfg.Dir)
	if err != nil {
		return fmt.Errorf("fsm: open dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsm: sync dir: %w", err)
	}
	return nil
}

// openGen opens generation gen; with mustExist it fails instead of creating it.
func (f *FSM) openGen(gen uint64, mustExist bool) (*handle, error) {
	dir := f.cfg.FS.PathJoin(f.cfg.Dir, genName(gen))
	opts := &pebble.Options{
		FS:                 f.cfg.FS,
		Logger:             f.cfg.Logger,
		Cache:              f.cache,
		MemTableSize:       f.cfg.MemTableBytes,
		FormatMajorVersion: pebble.FormatNewest,
		ErrorIfNotExists:   mustExist,
	}
	// Every command looks up its request id, which is almost always absent: bloom
	// filters answer that without reading data blocks.
	for i := range opts.Levels {
		opts.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	db, err := pebble.Open(dir, opts)
	if err != nil {
		return nil, fmt.Errorf("fsm: open pebble: %w", err)
	}
	h := &handle{db: db, dir: dir, fs: f.cfg.FS, logger: f.cfg.Logger}
	h.refs.Store(1)
	return h, nil
}

// checkFormat stamps a new database and rejects a foreign one.
func checkFormat(db *pebble.DB) error {
	v, closer, err := db.Get(kFormat)
	if errors.Is(err, pebble.ErrNotFound) {
		it, err := db.NewIter(nil)
		if err != nil {
			return fmt.Errorf("fsm: %w", err)
		}
		empty := !it.First()
		if err := errors.Join(it.Error(), it.Close()); err != nil {
			return fmt.Errorf("fsm: %w", err)
		}
		if !empty {
			return fmt.Errorf("%w: keys without a format stamp", ErrNotOurs)
		}
		if err := db.Set(kFormat, formatValue, pebble.Sync); err != nil {
			return fmt.Errorf("fsm: stamp format: %w", err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("fsm: read format: %w", err)
	}
	defer closer.Close()
	if !bytes.Equal(v, formatValue) {
		return fmt.Errorf("%w: format %q", ErrNotOurs, v)
	}
	return nil
}

func readApplied(db *pebble.DB) (uint64, error) {
	v, closer, err := db.Get(kApplied)
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("fsm: read applied index: %w", err)
	}
	defer closer.Close()
	if len(v) != 8 {
		return 0, fmt.Errorf("%w: applied index of %d bytes", ErrCorrupt, len(v))
	}
	return u64(v), nil
}

// Close closes the database. Snapshots still open keep their generation open until
// released. Close must be the last call on f.
func (f *FSM) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.h == nil {
		return ErrClosed
	}
	f.h.unref()
	f.h = nil
	f.cache.Unref()
	return nil
}

// AppliedIndex returns the last raft index applied and persisted.
func (f *FSM) AppliedIndex() uint64 { return f.applied.Load() }

// Err returns the sticky failure cause after a local fault during Apply, or nil.
func (f *FSM) Err() error {
	if p := f.failure.Load(); p != nil {
		return *p
	}
	return nil
}

// Apply implements raft.FSM. It returns a *meta.Result for command entries and nil
// for other entry types.
func (f *FSM) Apply(l *raft.Log) any {
	return f.ApplyBatch([]*raft.Log{l})[0]
}

// ApplyBatch implements raft.BatchingFSM: all entries are applied in one Pebble batch
// committed with Sync, together with the new applied index.
//
// A command that fails on its own terms yields a failure Result and is stored like a
// success. A local fault — a read or write error of our own database, a stored value
// that does not decode — is different: applying around it could make this voter
// diverge from the others, so the whole batch is discarded (none of it is persisted,
// the applied index stays) and the FSM turns failed: Err reports the cause and every
// later entry gets a CodeInternal result without being applied. The node should stop;
// after a restart raft replays the discarded entries. (A WAL write failure is fatal
// inside Pebble itself, through Logger.Fatalf.)
func (f *FSM) ApplyBatch(logs []*raft.Log) []any {
	out := make([]any, len(logs))
	f.mu.RLock()
	h := f.h
	f.mu.RUnlock()
	if h == nil {
		return f.refuse(logs, 0, out, ErrClosed)
	}
	if err := f.Err(); err != nil {
		return f.refuse(logs, 0, out, err)
	}
	b := h.db.NewIndexedBatch()
	defer b.Close()
	var t *txn // reused by every command of the batch
	applied := f.applied.Load()
	last := applied
	for i, l := range logs {
		if l.Index <= applied {
			if l.Type == raft.LogCommand {
				out[i] = f.stale(b, l)
			}
			continue
		}
		last = l.Index
		if l.Type != raft.LogCommand {
			continue
		}
		r, fault := f.applyOne(b, l, &t)
		if fault != nil {
			return f.fail(logs, applied, out, fmt.Errorf("%w: raft index %d: %w", ErrFailed, l.Index, fault))
		}
		out[i] = r
	}
	if last == applied {
		return out
	}
	err := b.Set(kApplied, be64(last), nil)
	if err == nil {
		err = f.ctr.write(b)
	}
	if err == nil {
		err = f.evict(b, last)
	}
	if err == nil {
		err = b.Commit(pebble.Sync)
	}
	if err != nil {
		return f.fail(logs, applied, out, fmt.Errorf("%w: commit raft batch ending at %d: %w", ErrFailed, last, err))
	}
	f.applied.Store(last)
	return out
}

// fail makes the FSM failed with cause and refuses the batch.
func (f *FSM) fail(logs []*raft.Log, applied uint64, out []any, cause error) []any {
	f.failure.Store(&cause)
	return f.refuse(logs, applied, out, cause)
}

// refuse answers every command entry above applied with a CodeInternal result.
func (f *FSM) refuse(logs []*raft.Log, applied uint64, out []any, cause error) []any {
	for i, l := range logs {
		if l.Type == raft.LogCommand && l.Index > applied {
			out[i] = &meta.Result{Code: meta.CodeInternal, Msg: fmt.Sprintf("%v: %v", ErrFailed, cause), Index: l.Index}
		} else {
			out[i] = nil
		}
	}
	return out
}

// stale answers an entry at or below the applied index: with the stored result of its
// request id if there is one, else CodeStale. State is not touched.
func (f *FSM) stale(b *pebble.Batch, l *raft.Log) *meta.Result {
	id, err := meta.PeekRequestID(l.Data)
	if err == nil {
		if r, _, ok, err := lookupRequest(b, id); ok && err == nil {
			return r
		}
	}
	return &meta.Result{Code: meta.CodeStale, Msg: meta.ErrStale.Error(), Index: l.Index}
}

// applyOne applies one command entry. fault is a local fault (see ApplyBatch), after
// which the batch must be discarded; otherwise the Result is the command's outcome.
func (f *FSM) applyOne(b *pebble.Batch, l *raft.Log, tp **txn) (_ *meta.Result, fault error) {
	id, cmd, err := meta.DecodeCommand(l.Data)
	if err != nil {
		r := meta.Failure(err)
		r.Index = l.Index
		return r, nil
	}
	if id.IsZero() {
		return &meta.Result{Code: meta.CodeInvalidArgument, Msg: "meta: zero request id", Index: l.Index}, nil
	}
	r, at, found, err := lookupRequest(b, id)
	if err != nil {
		return nil, err
	}
	if found && at+f.cfg.RequestWindow >= l.Index {
		return r, nil
	}
	var res *meta.Result
	if err := cmd.Validate(); err != nil {
		res = meta.Failure(err)
	} else {
		if *tp == nil {
			*tp = newTxn(b, l.Index, &f.ctr)
		} else {
			(*tp).reset(l.Index)
		}
		t := *tp
		res, err = execute(t, cmd)
		if err == nil {
			err = t.commit()
		}
		if err != nil {
			if meta.CodeOf(err) == meta.CodeInternal {
				return nil, err
			}
			res = meta.Failure(err)
		}
	}
	res.Index = l.Index
	if err := storeRequest(b, id, l.Index, res); err != nil {
		return nil, err
	}
	return res, nil
}

// lookupRequest returns the stored result of request id and the index it was applied
// at; err reports a read fault or a damaged entry.
func lookupRequest(b *pebble.Batch, id meta.ID) (r *meta.Result, at uint64, found bool, err error) {
	v, closer, err := b.Get(requestKey(id))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, 0, false, nil
	}
	if err != nil {
		return nil, 0, false, fmt.Errorf("read request id: %w", err)
	}
	defer closer.Close()
	if len(v) < 8 {
		return nil, 0, false, fmt.Errorf("%w: request entry of %d bytes", ErrCorrupt, len(v))
	}
	if r, err = meta.DecodeResult(v[8:]); err != nil {
		return nil, 0, false, fmt.Errorf("%w: request entry: %v", ErrCorrupt, err)
	}
	return r, u64(v[:8]), true, nil
}

// storeRequest remembers the result of request id. The version record a
// CompleteUpload returns is left out (it can hold a part table of megabytes); a
// repeat gets the result without it and reads the object instead.
func storeRequest(b *pebble.Batch, id meta.ID, index uint64, r *meta.Result) error {
	if r.Version != nil {
		stripped := *r
		stripped.Version = nil
		r = &stripped
	}
	enc, err := meta.EncodeResult(r)
	if err != nil {
		return err
	}
	v := make([]byte, 0, 8+len(enc))
	v = append(be64(index), enc...)
	if err := b.Set(requestKey(id), v, nil); err != nil {
		return err
	}
	return b.Set(reqAgeKey(index, id), nil, nil)
}

// evict drops request ids applied more than RequestWindow indexes before last, at
// most evictBatchMax per call. Whether a repeat is answered from the table is decided
// by the window check in applyOne, so how much is evicted per batch never changes a
// result.
func (f *FSM) evict(b *pebble.Batch, last uint64) error {
	if last <= f.cfg.RequestWindow {
		return nil
	}
	horizon := last - f.cfg.RequestWindow
	if horizon <= f.evictFloor {
		return nil
	}
	lower := append([]byte{pReqAge}, be64(f.evictFloor)...)
	upper := append([]byte{pReqAge}, be64(horizon)...)
	it, err := b.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return err
	}
	var dels [][]byte
	for ok := it.First(); ok && len(dels) < evictBatchMax; ok = it.Next() {
		dels = append(dels, append([]byte(nil), it.Key()...))
	}
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		return err
	}
	if len(dels) < evictBatchMax {
		f.evictFloor = horizon
	}
	for _, k := range dels {
		if len(k) != 1+8+16 {
			continue
		}
		var id meta.ID
		copy(id[:], k[9:])
		_, at, ok, err := lookupRequest(b, id)
		if err != nil {
			return err
		}
		if ok && at == u64(k[1:9]) {
			if err := b.Delete(requestKey(id), nil); err != nil {
				return err
			}
		}
		if err := b.Delete(k, nil); err != nil {
			return err
		}
	}
	return nil
}
