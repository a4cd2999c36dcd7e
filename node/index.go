package node

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/cockroachdb/pebble/v2"
)

// scan calls fn for every key in [lo, hi). fn must not retain k or v.
func (s *Store) scan(lo, hi []byte, fn func(k, v []byte) error) error {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return fmt.Errorf("node: iterate index: %w", err)
	}
	for it.First(); it.Valid(); it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			_ = it.Close()
			return fmt.Errorf("node: iterate index: %w", err)
		}
		if err := fn(it.Key(), v); err != nil {
			_ = it.Close()
			return err
		}
	}
	if err := it.Close(); err != nil {
		return fmt.Errorf("node: iterate index: %w", err)
	}
	return nil
}

// record returns id's index record.
func (s *Store) record(id ShardID) (record, bool, error) {
	v, c, err := s.db.Get(key(kindRecord, id))
	if errors.Is(err, pebble.ErrNotFound) {
		return record{}, false, nil
	}
	if err != nil {
		s.readErrors.Add(1)
		return record{}, false, fmt.Errorf("node: shard %s: read index: %w", id, err)
	}
	rec, err := decodeRecord(v)
	_ = c.Close()
	if err != nil {
		s.corruptions.Add(1)
		return record{}, false, fmt.Errorf("node: shard %s: %w", id, err)
	}
	return rec, true, nil
}

func bigEndian64(b []byte) uint64 {
	var x uint64
	for _, c := range b[:8] {
		x = x<<8 | uint64(c)
	}
	return x
}

// pebbleLogger sends Pebble's messages to slog.
type pebbleLogger struct{ l *slog.Logger }

func (p pebbleLogger) Infof(format string, args ...any) {
	p.l.Debug("pebble: " + fmt.Sprintf(format, args...))
}

func (p pebbleLogger) Errorf(format string, args ...any) {
	p.l.Error("pebble: " + fmt.Sprintf(format, args...))
}

// Fatalf is called by Pebble for states it cannot continue from (a failed WAL
// write or sync); its contract is that Fatalf does not return. It panics with
// indexFatal, which Store.commit turns into ErrIndexFailed.
func (p pebbleLogger) Fatalf(format string, args ...any) {
	msg := "pebble: " + fmt.Sprintf(format, args...)
	p.l.Error(msg)
	panic(indexFatal{msg})
}

// indexFatal is the panic value of pebbleLogger.Fatalf.
type indexFatal struct{ msg string }

// commit applies b to the index. After Pebble reports a fatal error (its commit
// pipeline is then unusable) the store turns read-only, this and every later
// write return ErrIndexFailed without touching Pebble, and the outcome of the
// failed commit is unknown until the store is reopened.
func (s *Store) commit(b *pebble.Batch, opts *pebble.WriteOptions) (err error) {
	if s.indexFailed.Load() {
		return ErrIndexFailed
	}
	defer func() {
		if r := recover(); r != nil {
			f, ok := r.(indexFatal)
			if !ok {
				panic(r)
			}
			s.indexFailed.Store(true)
			s.setReadOnly("index failed: " + f.msg)
			err = fmt.Errorf("%s: %w", f.msg, ErrIndexFailed)
		}
	}()
	return b.Commit(opts)
}

func (s *Store) set(k, v []byte, opts *pebble.WriteOptions) error {
	b := s.db.NewBatch()
	defer b.Close()
	_ = b.Set(k, v, nil)
	return s.commit(b, opts)
}

func (s *Store) del(k []byte, opts *pebble.WriteOptions) error {
	b := s.db.NewBatch()
	defer b.Close()
	_ = b.Delete(k, nil)
	return s.commit(b, opts)
}

// closeIndex closes Pebble; after a fatal index error Close may panic too.
func (s *Store) closeIndex() (err error) {
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(indexFatal); !ok {
				panic(r)
			}
			err = ErrIndexFailed
		}
	}()
	return s.db.Close()
}
