package node

import (
	"context"
	"errors"
	"io"

	"github.com/coffer-io/coffer/erasure"
)

// ScrubStats counts what one Scrub did.
type ScrubStats struct {
	Shards  int   // shards read
	Bytes   int64 // stored bytes verified
	Corrupt int   // shards with a corrupt header, frame or length
	Failed  int   // shards that could not be read (I/O errors)
}

// Scrub reads and verifies every stored shard, calling report (which may be nil)
// for each one that is corrupt (erasure.IsCorrupt) or unreadable, so healing can
// rebuild it. Shards deleted while it runs are skipped. It stops when ctx ends;
// pace it by cancelling and resuming or by running it rarely. Buffer reads use the
// same pool as Get; corruption bumps the same counter.
func (s *Store) Scrub(ctx context.Context, report func(ShardID, error)) (ScrubStats, error) {
	var st ScrubStats
	if err := s.enter(); err != nil {
		return st, err
	}
	var ids []ShardID
	lo, hi := kindBounds(kindRecord)
	err := s.scan(lo, hi, func(k, _ []byte) error {
		if id, ok := decodeIDKey(k[1:]); ok {
			ids = append(ids, id)
		}
		return nil
	})
	s.leave()
	if err != nil {
		return st, err
	}
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return st, context.Cause(ctx)
		}
		n, err := s.scrubOne(id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if errors.Is(err, ErrClosed) {
			return st, err
		}
		st.Shards++
		st.Bytes += n
		if err == nil {
			continue
		}
		if erasure.IsCorrupt(err) || errors.Is(err, ErrIndexCorrupt) {
			st.Corrupt++
		} else {
			st.Failed++
		}
		if report != nil {
			report(id, err)
		}
	}
	return st, nil
}

// scrubOne verifies one shard and returns how many bytes it read.
func (s *Store) scrubOne(id ShardID) (int64, error) {
	r, err := s.Get(id, 0, -1)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	return io.Copy(io.Discard, r)
}
