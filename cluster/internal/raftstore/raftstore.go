// Package raftstore is the durable raft.LogStore and raft.StableStore of a Coffer meta
// voter, kept in its own Pebble database (by convention <data dir>/raft), separate from
// the state machine's database so that FSM snapshots and restores never touch the log.
//
// # Key layout
//
//	"l/" ‖ index (8 bytes, big endian)  → one encoded raft.Log
//	"s/" ‖ key                          → stable-store value (raw bytes)
//
// Big-endian indexes make Pebble's byte order the log order, so FirstIndex and
// LastIndex are one bounded iterator step each.
//
// # Log entry encoding
//
//	offset size  field
//	0      1     format version (logVersion = 1; never changes meaning)
//	1      1     raft.LogType
//	2      8     term (big endian)
//	10     8     index (big endian)
//	18     8     AppendedAt as unix nanoseconds (0 = zero time)
//	26     4     len(Data) = d (big endian)
//	30     d     Data
//	30+d   4     len(Extensions) = e (big endian)
//	34+d   e     Extensions
//
// A stored value that does not parse is reported as ErrCorrupt, never a panic.
//
// # Concurrency and durability
//
// A Store is safe for concurrent use, as raft requires. Every write (StoreLog,
// StoreLogs, DeleteRange, Set, SetUint64) is committed with pebble.Sync before it
// returns. A missing log index returns raft.ErrLogNotFound; a missing stable key
// returns (nil, nil) or (0, nil), the form raft expects (it compares error strings
// otherwise).
package raftstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/hashicorp/raft"
)

// Sentinel errors.
var (
	// ErrCorrupt is returned when a stored log entry cannot be decoded.
	ErrCorrupt = errors.New("raftstore: corrupt log entry")
	// ErrClosed is returned by every method after Close.
	ErrClosed = errors.New("raftstore: closed")
)

const (
	logVersion = 1
	// logHeaderBytes is the fixed part of an encoded entry before Data.
	logHeaderBytes = 30
	// CacheBytesDefault is the default Pebble block cache size.
	CacheBytesDefault = 8 << 20
)

var (
	logPrefix    = []byte("l/")
	stablePrefix = []byte("s/")
)

// Config configures a Store.
type Config struct {
	// Dir is the Pebble directory. Required.
	Dir string
	// FS is the filesystem; default vfs.Default (vfs.NewMem() in tests).
	FS vfs.FS
	// CacheBytes is the Pebble block cache size; default CacheBytesDefault.
	CacheBytes int64
	// Logger receives Pebble's error messages; default slog.Default(). Pebble's
	// informational messages are dropped.
	Logger *slog.Logger
}

// EnsureDefaults fills zero fields with their defaults.
func (c *Config) EnsureDefaults() {
	if c.FS == nil {
		c.FS = vfs.Default
	}
	if c.CacheBytes <= 0 {
		c.CacheBytes = CacheBytesDefault
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate reports every problem with the configuration.
func (c *Config) Validate() error {
	var errs []error
	if c.Dir == "" {
		errs = append(errs, errors.New("raftstore: Dir is required"))
	}
	if c.CacheBytes < 0 {
		errs = append(errs, errors.New("raftstore: CacheBytes must not be negative"))
	}
	return errors.Join(errs...)
}

// Store is a Pebble-backed raft.LogStore and raft.StableStore.
type Store struct {
	db     *pebble.DB
	closed atomic.Bool
}

var (
	_ raft.LogStore    = (*Store)(nil)
	_ raft.StableStore = (*Store)(nil)
)

// Open opens or creates the store in cfg.Dir.
func Open(cfg Config) (*Store, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cache := pebble.NewCache(cfg.CacheBytes)
	defer cache.Unref()
	db, err := pebble.Open(cfg.Dir, &pebble.Options{
		FS:     cfg.FS,
		Cache:  cache,
		Logger: pebbleLogger{cfg.Logger},
	})
	if err != nil {
		return nil, fmt.Errorf("raftstore: open: %w", err)
	}
	return &Store{db: db}, nil
}

// Close closes the database. Later calls fail with ErrClosed.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return ErrClosed
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("raftstore: close: %w", err)
	}
	return nil
}

func logKey(dst []byte, index uint64) []byte {
	dst = append(dst[:0], logPrefix...)
	return binary.BigEndian.AppendUint64(dst, index)
}

func stableKey(k []byte) []byte {
	return append(append(make([]byte, 0, len(stablePrefix)+len(k)), stablePrefix...), k...)
}

// FirstIndex returns the first stored index, or 0 when the log is empty.
func (s *Store) FirstIndex() (uint64, error) {
	return s.edgeIndex(true)
}

// LastIndex returns the last stored index, or 0 when the log is empty.
func (s *Store) LastIndex() (uint64, error) {
	return s.edgeIndex(false)
}

func (s *Store) edgeIndex(first bool) (uint64, error) {
	if s.closed.Load() {
		return 0, ErrClosed
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: logPrefix, UpperBound: []byte("l0")})
	if err != nil {
		return 0, fmt.Errorf("raftstore: iterator: %w", err)
	}
	var ok bool
	if first {
		ok = it.First()
	} else {
		ok = it.Last()
	}
	var idx uint64
	if ok {
		k := it.Key()
		if len(k) != len(logPrefix)+8 {
			it.Close()
			return 0, fmt.Errorf("%w: key length %d", ErrCorrupt, len(k))
		}
		idx = binary.BigEndian.Uint64(k[len(logPrefix):])
	}
	if err := it.Close(); err != nil {
		return 0, fmt.Errorf("raftstore: iterator: %w", err)
	}
	return idx, nil
}

// GetLog fills out with the entry at index, or returns raft.ErrLogNotFound.
func (s *Store) GetLog(index uint64, out *raft.Log) error {
	if s.closed.Load() {
		return ErrClosed
	}
	var kb [10]byte
	v, closer, err := s.db.Get(logKey(kb[:0], index))
	if errors.Is(err, pebble.ErrNotFound) {
		return raft.ErrLogNotFound
	}
	if err != nil {
		return fmt.Errorf("raftstore: get log %d: %w", index, err)
	}
	defer closer.Close()
	if err := decodeLog(v, out); err != nil {
		return fmt.Errorf("raftstore: log %d: %w", index, err)
	}
	return nil
}

// StoreLog stores one entry.
func (s *Store) StoreLog(l *raft.Log) error {
	return s.StoreLogs([]*raft.Log{l})
}

// StoreLogs stores entries in one synced batch: all or none are written.
func (s *Store) StoreLogs(logs []*raft.Log) error {
	if s.closed.Load() {
		return ErrClosed
	}
	b := s.db.NewBatch()
	defer b.Close()
	var key [10]byte
	var val []byte
	for _, l := range logs {
		val = appendLog(val[:0], l)
		if err := b.Set(logKey(key[:0], l.Index), val, nil); err != nil {
			return fmt.Errorf("raftstore: store log %d: %w", l.Index, err)
		}
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("raftstore: commit logs: %w", err)
	}
	return nil
}

// DeleteRange deletes the entries from min to max, both inclusive.
func (s *Store) DeleteRange(min, max uint64) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if min > max {
		return nil
	}
	start := logKey(nil, min)
	var end []byte
	if max == ^uint64(0) {
		end = []byte("l0") // the first key after every "l/" key
	} else {
		end = logKey(nil, max+1)
	}
	if err := s.db.DeleteRange(start, end, pebble.Sync); err != nil {
		return fmt.Errorf("raftstore: delete logs %d..%d: %w", min, max, err)
	}
	return nil
}

// Set stores a stable key.
func (s *Store) Set(key, val []byte) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if err := s.db.Set(stableKey(key), val, pebble.Sync); err != nil {
		return fmt.Errorf("raftstore: set: %w", err)
	}
	return nil
}

// Get returns a copy of a stable key's value, or (nil, nil) when it is missing.
func (s *Store) Get(key []byte) ([]byte, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	v, closer, err := s.db.Get(stableKey(key))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("raftstore: get: %w", err)
	}
	defer closer.Close()
	return append([]byte(nil), v...), nil
}

// SetUint64 stores a stable key holding a number (8 bytes big endian).
func (s *Store) SetUint64(key []byte, val uint64) error {
	return s.Set(key, binary.BigEndian.AppendUint64(nil, val))
}

// GetUint64 returns a number stored with SetUint64, or (0, nil) when it is missing.
func (s *Store) GetUint64(key []byte) (uint64, error) {
	v, err := s.Get(key)
	if err != nil || v == nil {
		return 0, err
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("%w: stable value of %d bytes, want 8", ErrCorrupt, len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

// appendLog appends the encoding of l to dst.
func appendLog(dst []byte, l *raft.Log) []byte {
	dst = append(dst, logVersion, byte(l.Type))
	dst = binary.BigEndian.AppendUint64(dst, l.Term)
	dst = binary.BigEndian.AppendUint64(dst, l.Index)
	var at int64
	if !l.AppendedAt.IsZero() {
		at = l.AppendedAt.UnixNano()
	}
	dst = binary.BigEndian.AppendUint64(dst, uint64(at))
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(l.Data)))
	dst = append(dst, l.Data...)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(l.Extensions)))
	return append(dst, l.Extensions...)
}

// decodeLog parses b into out. Data and Extensions are copied, so out never aliases b.
func decodeLog(b []byte, out *raft.Log) error {
	if len(b) < logHeaderBytes {
		return fmt.Errorf("%w: %d bytes", ErrCorrupt, len(b))
	}
	if b[0] != logVersion {
		return fmt.Errorf("%w: version %d", ErrCorrupt, b[0])
	}
	out.Type = raft.LogType(b[1])
	out.Term = binary.BigEndian.Uint64(b[2:])
	out.Index = binary.BigEndian.Uint64(b[10:])
	if at := int64(binary.BigEndian.Uint64(b[18:])); at != 0 {
		out.AppendedAt = time.Unix(0, at)
	} else {
		out.AppendedAt = time.Time{}
	}
	rest := b[26:]
	data, rest, ok := cut32(rest)
	if !ok {
		return fmt.Errorf("%w: data length", ErrCorrupt)
	}
	ext, rest, ok := cut32(rest)
	if !ok || len(rest) != 0 {
		return fmt.Errorf("%w: extensions length", ErrCorrupt)
	}
	out.Data = cloneOrNil(data)
	out.Extensions = cloneOrNil(ext)
	return nil
}

func cut32(b []byte) (field, rest []byte, ok bool) {
	if len(b) < 4 {
		return nil, nil, false
	}
	n := binary.BigEndian.Uint32(b)
	b = b[4:]
	if uint64(n) > uint64(len(b)) {
		return nil, nil, false
	}
	return b[:n], b[n:], true
}

func cloneOrNil(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}

// pebbleLogger forwards Pebble's errors to slog and drops its chatter.
type pebbleLogger struct{ l *slog.Logger }

func (p pebbleLogger) Infof(string, ...any) {}
func (p pebbleLogger) Errorf(format string, args ...any) {
	p.l.Error("raftstore: pebble: " + fmt.Sprintf(format, args...))
}
func (p pebbleLogger) Fatalf(format string, args ...any) {
	// Pebble calls Fatalf only on internal invariant violations; it expects no return.
	msg := fmt.Sprintf(format, args...)
	p.l.Error("raftstore: pebble fatal: " + msg)
	panic("raftstore: pebble fatal: " + msg)
}
