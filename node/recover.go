package node

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/cockroachdb/pebble/v2"
)

// recover checks the store format and undoes whatever a crash left half done.
func (s *Store) recover() error {
	fk := []byte{kindMeta, 'f', 'o', 'r', 'm', 'a', 't'}
	v, c, err := s.db.Get(fk)
	switch {
	case errors.Is(err, pebble.ErrNotFound):
		if err := s.set(fk, append([]byte(storeMagic), storeVersion), pebble.Sync); err != nil {
			return fmt.Errorf("node: write format: %w", err)
		}
	case err != nil:
		return fmt.Errorf("node: read format: %w", err)
	default:
		ok := len(v) == len(storeMagic)+1 && string(v[:len(storeMagic)]) == storeMagic && v[len(storeMagic)] == storeVersion
		_ = c.Close()
		if !ok {
			return fmt.Errorf("node: unsupported store format %q: %w", v, ErrIndexCorrupt)
		}
	}

	// Pending marks: a put that did not commit. Its temp file and (if it has no
	// record) its final file go.
	lo, hi := kindBounds(kindPending)
	var pending []ShardID
	if err := s.scan(lo, hi, func(k, _ []byte) error {
		if id, ok := decodeIDKey(k[1:]); ok {
			pending = append(pending, id)
		}
		return nil
	}); err != nil {
		return err
	}
	b := s.db.NewBatch()
	for _, id := range pending {
		s.removeFile(tempName(id))
		if _, found, err := s.record(id); err == nil && !found {
			s.removeFile(id.relPath())
		}
		_ = b.Delete(key(kindPending, id), nil)
	}
	if err := s.commit(b, pebble.Sync); err != nil {
		return fmt.Errorf("node: clear pending marks: %w", err)
	}

	// Garbage: unlinks the last run did not finish.
	lo, hi = kindBounds(kindGarbage)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return fmt.Errorf("node: scan garbage: %w", err)
	}
	if it.Last() && len(it.Key()) == 9 {
		s.garbageSeq.Store(bigEndian64(it.Key()[1:]))
	}
	if err := it.Close(); err != nil {
		return fmt.Errorf("node: scan garbage: %w", err)
	}
	if _, err := s.collectGarbage(); err != nil {
		return err
	}
	_, err = s.removeStrays(context.Background())
	return err
}

// removeStrays walks the shard tree and removes temp files and files without a
// file record: leftovers of a crash between rename and commit whose pending mark
// was not yet durable, or of an undo whose unlink failed. Each file is judged with
// its id locked, so a put in progress is never mistaken for a stray; Sweep runs it
// beside live traffic. It returns how many files it removed.
func (s *Store) removeStrays(ctx context.Context) (int, error) {
	tops, err := s.files.List(".")
	if err != nil {
		return 0, fmt.Errorf("node: list shard root: %w", err)
	}
	removed := 0
	for _, a := range tops {
		if !isHexByteName(a) {
			continue
		}
		mids, err := s.files.List(a)
		if err != nil {
			return removed, fmt.Errorf("node: list %s: %w", a, err)
		}
		for _, b := range mids {
			if !isHexByteName(b) {
				continue
			}
			if err := ctx.Err(); err != nil {
				return removed, context.Cause(ctx)
			}
			dir := a + "/" + b
			names, err := s.files.List(dir)
			if err != nil {
				return removed, fmt.Errorf("node: list %s: %w", dir, err)
			}
			for _, n := range names {
				temp := strings.HasSuffix(n, tempSuffix)
				id, ok := parseFileName(strings.TrimSuffix(n, tempSuffix))
				if !ok || id.relDir() != dir {
					continue // not ours: leave it for the operator
				}
				if s.removeStray(id, dir+"/"+n, temp) {
					removed++
				}
			}
		}
	}
	return removed, nil
}

// removeStray removes one file if it is a stray and reports whether it did.
func (s *Store) removeStray(id ShardID, rel string, temp bool) bool {
	defer s.locks.lock(id)()
	if !temp {
		rec, found, err := s.record(id)
		if err != nil {
			s.cfg.Logger.Warn("node: stray check", "file", rel, "err", err)
			return false
		}
		if found && !rec.inline {
			return false
		}
	}
	if err := s.files.Remove(rel); err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			s.writeErrors.Add(1)
			s.cfg.Logger.Warn("node: remove stray file", "file", rel, "err", err)
		}
		return false
	}
	return true
}

func isHexByteName(n string) bool {
	if len(n) != 2 {
		return false
	}
	for i := 0; i < 2; i++ {
		c := n[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

const tempSuffix = ".tmp"

// tempName is the temp file a put of id writes before its rename. Puts of one id
// are serialised, so one name per id suffices.
func tempName(id ShardID) string { return id.relPath() + tempSuffix }

// removeFile unlinks a file, ignoring a missing one; other errors are logged and
// counted, and Sweep or the next Open retries them as strays.
func (s *Store) removeFile(rel string) {
	if err := s.files.Remove(rel); err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.writeErrors.Add(1)
		s.cfg.Logger.Warn("node: remove shard file", "file", rel, "err", err)
	}
}

// unlinkGarbage removes the queued file of id and its queue entry; call it with id
// locked. On failure the entry stays and Open or Sweep retries it.
func (s *Store) unlinkGarbage(gkey []byte, id ShardID) {
	rel := id.relPath()
	if err := s.files.Remove(rel); err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.writeErrors.Add(1)
		s.cfg.Logger.Warn("node: unlink deleted shard", "file", rel, "err", err)
		return
	}
	if err := s.del(gkey, pebble.NoSync); err != nil {
		s.cfg.Logger.Warn("node: clear garbage entry", "file", rel, "err", err)
	}
}

// collectGarbage finishes every queued unlink and reports how many it did. A
// queued name that a later put of the same id reused is live again: its entry is
// dropped and the file kept.
func (s *Store) collectGarbage() (int, error) {
	type entry struct {
		key []byte
		id  ShardID
		ok  bool
	}
	var es []entry
	lo, hi := kindBounds(kindGarbage)
	if err := s.scan(lo, hi, func(k, v []byte) error {
		id, ok := decodeIDKey(v)
		if !ok {
			s.corruptions.Add(1)
			s.cfg.Logger.Warn("node: bad garbage entry dropped", "key", fmt.Sprintf("%x", k))
		}
		es = append(es, entry{append([]byte(nil), k...), id, ok})
		return nil
	}); err != nil {
		return 0, err
	}
	n := 0
	for _, e := range es {
		if !e.ok {
			_ = s.del(e.key, pebble.NoSync)
			continue
		}
		unlock := s.locks.lock(e.id)
		rec, found, err := s.record(e.id)
		switch {
		case err != nil:
			// Leave it for the next run.
		case found && !rec.inline:
			if err := s.del(e.key, pebble.NoSync); err != nil {
				s.cfg.Logger.Warn("node: clear garbage entry", "shard", e.id.String(), "err", err)
			}
		default:
			s.unlinkGarbage(e.key, e.id)
			n++
		}
		unlock()
	}
	return n, nil
}
