package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/coffer-io/coffer/erasure"
)

// Store is a node's durable shard store. See the package doc for its layout,
// durability protocol and concurrency contract.
type Store struct {
	cfg       Config
	db        *pebble.DB
	files     shardFS
	root      *os.Root // the shard root on a real disk; nil with Config.FS
	diskUsage func() (DiskUsage, error)

	putSlots chan struct{} // one token per running put
	locks    idLocks
	frames   bufPool
	dirs     sync.Map // fan-out directories known to exist: string → struct{}

	// closeMu is held shared by every operation and exclusively by Close, so Close
	// waits for operations in progress; closed is guarded by it.
	closeMu sync.RWMutex
	closed  bool

	garbageSeq  atomic.Uint64
	indexFailed atomic.Bool // Pebble reported a fatal error; no more writes

	readErrors   atomic.Uint64
	writeErrors  atomic.Uint64
	corruptions  atomic.Uint64
	writeErrRun  atomic.Int64           // consecutive write errors
	stickyReason atomic.Pointer[string] // set once the store turned read-only for good

	// mu guards the cached free-space measurement below.
	mu struct {
		sync.Mutex
		usage   DiskUsage
		usageAt time.Time
		err     error
	}
}

// Open opens (creating if needed) the store in cfg.Dir and recovers from any crash:
// temp files, pending marks and files without an index record are removed and
// queued unlinks are finished.
func Open(cfg Config) (*Store, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Store{cfg: cfg, putSlots: make(chan struct{}, cfg.PutsMax)}
	s.locks.m = make(map[ShardID]*idLock)

	pfs := cfg.FS
	if pfs == nil {
		pfs = vfs.Default
	}
	indexDir := pfs.PathJoin(cfg.Dir, "index")
	shardDir := pfs.PathJoin(cfg.Dir, "shards")
	if err := pfs.MkdirAll(shardDir, 0o700); err != nil {
		return nil, fmt.Errorf("node: create %s: %w", shardDir, err)
	}
	if cfg.FS == nil {
		root, err := os.OpenRoot(shardDir)
		if err != nil {
			return nil, fmt.Errorf("node: open shard root: %w", err)
		}
		s.root = root
		s.files = rootFS{root}
	} else {
		s.files = memFS{fs: cfg.FS, dir: shardDir}
	}
	s.diskUsage = func() (DiskUsage, error) {
		if cfg.DiskUsage != nil {
			return cfg.DiskUsage(cfg.Dir)
		}
		u, err := pfs.GetDiskUsage(cfg.Dir)
		return DiskUsage{AvailBytes: u.AvailBytes, TotalBytes: u.TotalBytes, UsedBytes: u.UsedBytes}, err
	}

	opts := &pebble.Options{
		FS:                          pfs,
		CacheSize:                   cfg.CacheBytes,
		MemTableSize:                uint64(cfg.MemTableBytes),
		MemTableStopWritesThreshold: 4,
		L0CompactionThreshold:       2,
		L0StopWritesThreshold:       1000,
		FormatMajorVersion:          pebble.FormatNewest,
		Logger:                      pebbleLogger{cfg.Logger},
	}
	db, err := pebble.Open(indexDir, opts)
	if err != nil {
		s.closeRoot()
		return nil, fmt.Errorf("node: open index: %w", err)
	}
	s.db = db
	if err := s.recover(); err != nil {
		_ = db.Close()
		s.closeRoot()
		return nil, err
	}
	return s, nil
}

func (s *Store) closeRoot() {
	if s.root != nil {
		_ = s.root.Close()
	}
}

// Close waits for operations in progress, then closes the index and the shard root.
// Stop the sweeper and close readers from Get first. Later calls return ErrClosed.
func (s *Store) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.closed = true
	err := s.closeIndex()
	s.closeRoot()
	if err != nil {
		return fmt.Errorf("node: close index: %w", err)
	}
	return nil
}

// enter starts an operation: Close waits until the matching leave. It fails once
// the store is closed. Operations never nest enter.
func (s *Store) enter() error {
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return ErrClosed
	}
	return nil
}

func (s *Store) leave() { s.closeMu.RUnlock() }

// ShardInfo describes a stored shard.
type ShardInfo struct {
	ID      ShardID
	Size    int64     // stored bytes: header and frames
	Header  []byte    // the erasure header as stored; owned by the caller
	Inline  bool      // kept in the index rather than in a file
	Created time.Time // when the put committed
}

// Stat returns id's size and header, or ErrNotFound.
func (s *Store) Stat(id ShardID) (ShardInfo, error) {
	if err := s.enter(); err != nil {
		return ShardInfo{}, err
	}
	defer s.leave()
	rec, found, err := s.record(id)
	if err != nil {
		return ShardInfo{}, err
	}
	if !found {
		return ShardInfo{}, fmt.Errorf("node: shard %s: %w", id, ErrNotFound)
	}
	return ShardInfo{ID: id, Size: rec.size, Header: rec.header, Inline: rec.inline, Created: rec.created}, nil
}

// Put stores the shard id of size bytes read from r, verifying the header and every
// frame before it acknowledges. Only when it returns nil is the shard durable. A put
// of an existing id with identical bytes succeeds without writing; with different
// bytes it fails with ErrExists. Other errors: ErrTooLarge, ErrInvalid, ErrReadOnly,
// a corruption error (erasure.IsCorrupt) for a frame that fails its digest, and
// ctx's error.
func (s *Store) Put(ctx context.Context, id ShardID, size int64, r io.Reader) error {
	return s.put(ctx, id, size, r, false)
}

// Replace is Put that overwrites an existing shard of id whatever its content
// (healing a corrupt or stale shard).
func (s *Store) Replace(ctx context.Context, id ShardID, size int64, r io.Reader) error {
	return s.put(ctx, id, size, r, true)
}

func (s *Store) put(ctx context.Context, id ShardID, size int64, r io.Reader, replace bool) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	if size > s.cfg.ShardMaxBytes {
		return fmt.Errorf("node: shard %s: %d bytes above %d: %w", id, size, s.cfg.ShardMaxBytes, ErrTooLarge)
	}
	if size < erasure.HeaderSize {
		return fmt.Errorf("node: shard %s: %d bytes: %w", id, size, ErrInvalid)
	}
	if err := s.readOnly(); err != nil {
		return fmt.Errorf("node: shard %s: %w", id, err)
	}
	select {
	case s.putSlots <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("node: shard %s: wait for a put slot: %w", id, context.Cause(ctx))
	}
	defer func() { <-s.putSlots }()
	unlock := s.locks.lock(id)
	defer unlock()

	var hdr [erasure.HeaderSize]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return fmt.Errorf("node: shard %s: read header: %w", id, bodyErr(err))
	}
	l, err := newLayout(hdr[:], size)
	if err == nil {
		err = l.matches(id)
	}
	if err != nil {
		if !errors.Is(err, ErrInvalid) {
			err = fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		return fmt.Errorf("node: shard %s: %w", id, err)
	}
	old, found, err := s.record(id)
	if err != nil {
		return err
	}
	if found && !replace {
		return s.compare(ctx, id, old, l, hdr[:], r)
	}
	rec := record{inline: size < s.cfg.InlineMaxBytes, size: size, header: hdr[:]}
	if rec.inline {
		err = s.putInline(ctx, id, l, rec, r, old, found)
	} else {
		err = s.putFile(ctx, id, l, rec, r, found)
	}
	if err != nil {
		return fmt.Errorf("node: shard %s: %w", id, err)
	}
	s.writeErrRun.Store(0)
	return nil
}

// bodyErr turns a short body into ErrInvalid; other reader errors pass through.
func bodyErr(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return fmt.Errorf("body shorter than declared: %w", ErrInvalid)
	}
	return err
}

// readFrames reads and verifies every frame of l from r, calling emit with each
// verified frame (the slice is reused after emit returns).
func (s *Store) readFrames(ctx context.Context, l layout, r io.Reader, buf []byte, emit func(i int64, frame []byte) error) error {
	for i := int64(0); i < l.frames; i++ {
		if err := ctx.Err(); err != nil {
			return context.Cause(ctx)
		}
		f := buf[:l.frameLen(i)]
		if _, err := io.ReadFull(r, f); err != nil {
			return fmt.Errorf("read frame %d: %w", i, bodyErr(err))
		}
		if err := l.verify(i, f); err != nil {
			return fmt.Errorf("frame %d: %w", i, err)
		}
		if err := emit(i, f); err != nil {
			return err
		}
	}
	return nil
}

// putInline stores a small shard as one Pebble value, in the batch of its record.
func (s *Store) putInline(ctx context.Context, id ShardID, l layout, rec record, r io.Reader, old record, found bool) error {
	bp := s.frames.get(int(l.size))
	defer s.frames.put(bp)
	buf := (*bp)[:l.size]
	copy(buf, rec.header)
	if _, err := io.ReadFull(r, buf[erasure.HeaderSize:]); err != nil {
		return fmt.Errorf("read body: %w", bodyErr(err))
	}
	if err := ctx.Err(); err != nil {
		return context.Cause(ctx)
	}
	for i := int64(0); i < l.frames; i++ {
		off := l.frameOff(i)
		if err := l.verify(i, buf[off:off+l.frameLen(i)]); err != nil {
			return fmt.Errorf("frame %d: %w", i, err)
		}
	}
	return s.commitInline(id, rec, buf, old, found)
}

func (s *Store) commitInline(id ShardID, rec record, data []byte, old record, found bool) error {
	rec.created = s.cfg.Now()
	b := s.db.NewBatch()
	defer b.Close()
	_ = b.Set(key(kindRecord, id), rec.append(nil), nil)
	_ = b.Set(key(kindData, id), data, nil)
	var garbage []byte
	if found && !old.inline {
		garbage = garbageKey(s.garbageSeq.Add(1))
		_ = b.Set(garbage, id.appendKey(nil), nil)
	}
	if err := s.commit(b, pebble.Sync); err != nil {
		return s.writeFailed("commit index", err)
	}
	if garbage != nil {
		s.unlinkGarbage(garbage, id)
	}
	return nil
}

// putFile writes a large shard as a file: pending mark, temp file, fsync, rename,
// directory fsync, then the Sync commit of its record.
func (s *Store) putFile(ctx context.Context, id ShardID, l layout, rec record, r io.Reader, found bool) (err error) {
	pk := key(kindPending, id)
	if found {
		// Replacing: the old shard goes first, durably, so a crash can never pair
		// the old record with the new file. Healing restores what is missing.
		b := s.db.NewBatch()
		_ = b.Set(pk, nil, nil)
		_ = b.Delete(key(kindRecord, id), nil)
		_ = b.Delete(key(kindData, id), nil)
		err := s.commit(b, pebble.Sync)
		b.Close()
		if err != nil {
			return s.writeFailed("mark pending", err)
		}
	} else if err := s.set(pk, nil, pebble.NoSync); err != nil {
		return s.writeFailed("mark pending", err)
	}
	tmp, final, dir := tempName(id), id.relPath(), id.relDir()
	renamed := false
	defer func() {
		if err == nil {
			return
		}
		// Undo: no temp file, and no final file unless the old record still
		// describes it (a failed put never leaves a half shard behind a record).
		s.removeFile(tmp)
		if errors.Is(err, ErrIndexFailed) {
			// The record may or may not be durable: keep the whole file. Reopening
			// finds either the record with it or a stray it removes.
			return
		}
		if renamed || found {
			// No record describes the final name any more (or yet).
			s.removeFile(final)
		}
		if derr := s.del(pk, pebble.NoSync); derr != nil {
			s.cfg.Logger.Error("node: undo failed put", "shard", id.String(), "err", derr)
		}
	}()
	if err := s.ensureDir(dir); err != nil {
		return s.writeFailed("create directory", err)
	}
	f, err := s.files.Create(tmp)
	if err != nil {
		return s.writeFailed("create temp file", err)
	}
	closed := false
	defer func() {
		if !closed {
			_ = f.Close()
		}
	}()
	bp := s.frames.get(int(l.frameSize))
	defer s.frames.put(bp)
	// vfs.File.Write may modify its argument: write a copy of the header.
	if _, err := f.Write(append((*bp)[:0], rec.header...)); err != nil {
		return s.writeFailed("write", err)
	}
	if err := s.readFrames(ctx, l, r, *bp, func(_ int64, fr []byte) error {
		if _, err := f.Write(fr); err != nil {
			return s.writeFailed("write", err)
		}
		return nil
	}); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return s.writeFailed("fsync", err)
	}
	closed = true
	if err := f.Close(); err != nil {
		return s.writeFailed("close", err)
	}
	if err := s.files.Rename(tmp, final); err != nil {
		return s.writeFailed("rename", err)
	}
	renamed = true
	if err := s.files.SyncDir(dir); err != nil {
		return s.writeFailed("fsync directory", err)
	}
	rec.created = s.cfg.Now()
	b := s.db.NewBatch()
	defer b.Close()
	_ = b.Set(key(kindRecord, id), rec.append(nil), nil)
	_ = b.Delete(pk, nil)
	if err := s.commit(b, pebble.Sync); err != nil {
		return s.writeFailed("commit index", err)
	}
	return nil
}

// compare consumes a put of an existing shard: nil when the bytes are identical,
// ErrExists otherwise.
func (s *Store) compare(ctx context.Context, id ShardID, old record, l layout, hdr []byte, r io.Reader) error {
	if old.size != l.size || !bytes.Equal(old.header, hdr) {
		return fmt.Errorf("node: shard %s: stored %d bytes: %w", id, old.size, ErrExists)
	}
	sr, err := s.openReader(id, old, erasure.HeaderSize, l.size-erasure.HeaderSize)
	if err != nil {
		return err
	}
	defer sr.Close()
	bp := s.frames.get(int(l.frameSize))
	defer s.frames.put(bp)
	err = s.readFrames(ctx, l, r, *bp, func(i int64, f []byte) error {
		stored, err := sr.nextFrame()
		if err != nil {
			return err
		}
		if !bytes.Equal(stored, f) {
			return fmt.Errorf("frame %d differs: %w", i, ErrExists)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("node: shard %s: %w", id, err)
	}
	return nil
}

// ensureDir creates a fan-out directory once per process lifetime.
func (s *Store) ensureDir(dir string) error {
	if _, ok := s.dirs.Load(dir); ok {
		return nil
	}
	if err := s.files.MkdirAll(dir); err != nil {
		return err
	}
	// Make the new directory entries durable before any file in them counts.
	if err := s.files.SyncDir(dir[:2]); err != nil {
		return err
	}
	if err := s.files.SyncDir("."); err != nil {
		return err
	}
	s.dirs.Store(dir, struct{}{})
	return nil
}

// writeFailed counts a write error, turns the store read-only when the disk is full
// or errors repeat, and returns the error with its step named.
func (s *Store) writeFailed(step string, err error) error {
	s.writeErrors.Add(1)
	run := s.writeErrRun.Add(1)
	switch {
	case errors.Is(err, syscall.ENOSPC):
		s.setReadOnly("no space left on device during " + step)
	case run >= int64(s.cfg.WriteErrorsMax):
		s.setReadOnly(fmt.Sprintf("%d consecutive write errors, last during %s", run, step))
	}
	return fmt.Errorf("%s: %w", step, err)
}

func (s *Store) setReadOnly(reason string) {
	if s.stickyReason.CompareAndSwap(nil, &reason) {
		s.cfg.Logger.Error("node: store is now read-only", "reason", reason)
	}
}

// Delete removes shard id, or returns ErrNotFound.
func (s *Store) Delete(id ShardID) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	n, err := s.deleteIDs([]ShardID{id})
	if err == nil && n == 0 {
		err = fmt.Errorf("node: shard %s: %w", id, ErrNotFound)
	}
	return err
}

// DeleteVersion removes every shard of version (all parts and indexes) and
// returns how many there were.
func (s *Store) DeleteVersion(version [16]byte) (int, error) {
	if err := s.enter(); err != nil {
		return 0, err
	}
	defer s.leave()
	return s.deleteVersion(version)
}

func (s *Store) deleteVersion(version [16]byte) (int, error) {
	ids, err := s.listVersion(version)
	if err != nil {
		return 0, err
	}
	return s.deleteIDs(ids)
}

// deleteIDs deletes the ids (sorted, so locks are taken in one order) in one
// durable batch, then unlinks their files through the garbage queue.
func (s *Store) deleteIDs(ids []ShardID) (int, error) {
	for _, id := range ids {
		defer s.locks.lock(id)()
	}
	b := s.db.NewBatch()
	defer b.Close()
	type unlink struct {
		key []byte
		id  ShardID
	}
	var unlinks []unlink
	n := 0
	for _, id := range ids {
		rec, found, err := s.record(id)
		if err != nil {
			return 0, err
		}
		if !found {
			continue
		}
		n++
		_ = b.Delete(key(kindRecord, id), nil)
		if rec.inline {
			_ = b.Delete(key(kindData, id), nil)
		} else {
			g := garbageKey(s.garbageSeq.Add(1))
			_ = b.Set(g, id.appendKey(nil), nil)
			unlinks = append(unlinks, unlink{g, id})
		}
	}
	if n == 0 {
		return 0, nil
	}
	if err := s.commit(b, pebble.Sync); err != nil {
		return 0, fmt.Errorf("node: delete: %w", s.writeFailed("commit index", err))
	}
	for _, u := range unlinks {
		s.unlinkGarbage(u.key, u.id)
	}
	return n, nil
}

// ListVersion returns the ids of every stored shard of version, sorted by part and
// index.
func (s *Store) ListVersion(version [16]byte) ([]ShardID, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	return s.listVersion(version)
}

func (s *Store) listVersion(version [16]byte) ([]ShardID, error) {
	lo, hi := versionBounds(kindRecord, version)
	var ids []ShardID
	err := s.scan(lo, hi, func(k, _ []byte) error {
		if id, ok := decodeIDKey(k[1:]); ok {
			ids = append(ids, id)
		}
		return nil
	})
	return ids, err
}
