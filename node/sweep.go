package node

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Committed tells the sweeper whether metadata knows an object version (committed,
// or still being written within its grace). The cluster implements it.
type Committed interface {
	// Known reports whether version is referenced by metadata. An error skips the
	// version for this run.
	Known(ctx context.Context, version [16]byte) (bool, error)
}

// SweepStats counts what one Sweep did.
type SweepStats struct {
	Versions int // versions looked at
	Orphans  int // versions removed as unknown to metadata
	Shards   int // shards removed
	Garbage  int // queued unlinks finished
	Strays   int // temp files and files without a record removed
	Errors   int // versions skipped because of errors
}

// Sweep removes orphans: shards of versions that committed does not know and whose
// newest shard is older than Config.SweepGrace by the store's clock. It also
// finishes queued unlinks and removes stray files (temp files and files without a
// record) left by failed cleanups. It stops early when ctx ends.
func (s *Store) Sweep(ctx context.Context, committed Committed) (SweepStats, error) {
	var st SweepStats
	if err := s.enter(); err != nil {
		return st, err
	}
	defer s.leave()
	g, err := s.collectGarbage()
	st.Garbage = g
	if err != nil {
		return st, err
	}
	if st.Strays, err = s.removeStrays(ctx); err != nil {
		return st, err
	}
	cutoff := s.cfg.Now().Add(-s.cfg.SweepGrace)
	// Collect versions and their newest shard time first, so no iterator is held
	// across calls to committed.
	type version struct {
		id     [16]byte
		newest time.Time
	}
	var vs []version
	lo, hi := kindBounds(kindRecord)
	err = s.scan(lo, hi, func(k, v []byte) error {
		id, ok := decodeIDKey(k[1:])
		if !ok {
			return nil
		}
		rec, err := decodeRecord(v)
		if err != nil {
			s.corruptions.Add(1)
			s.cfg.Logger.Warn("node: sweep: bad index record", "shard", id.String(), "err", err)
			return nil
		}
		if n := len(vs); n > 0 && vs[n-1].id == id.Version {
			if rec.created.After(vs[n-1].newest) {
				vs[n-1].newest = rec.created
			}
			return nil
		}
		vs = append(vs, version{id.Version, rec.created})
		return nil
	})
	if err != nil {
		return st, err
	}
	for _, v := range vs {
		if err := ctx.Err(); err != nil {
			return st, context.Cause(ctx)
		}
		st.Versions++
		if v.newest.After(cutoff) {
			continue
		}
		known, err := committed.Known(ctx, v.id)
		if err != nil {
			st.Errors++
			s.cfg.Logger.Warn("node: sweep: ask metadata", "version", fmt.Sprintf("%x", v.id[:]), "err", err)
			continue
		}
		if known {
			continue
		}
		n, err := s.deleteVersion(v.id)
		if err != nil {
			st.Errors++
			s.cfg.Logger.Warn("node: sweep: delete orphan", "version", fmt.Sprintf("%x", v.id[:]), "err", err)
			continue
		}
		st.Orphans++
		st.Shards += n
	}
	return st, nil
}

// Sweeper runs Sweep periodically in one goroutine it owns. Stop ends and joins it.
type Sweeper struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// DefaultSweepInterval is the sweeper period used for a non-positive interval.
const DefaultSweepInterval = 10 * time.Minute

// StartSweeper runs Sweep every interval (DefaultSweepInterval if ≤ 0) until Stop.
// Each run's result goes to report (which may be nil); report runs on the sweeper
// goroutine.
func (s *Store) StartSweeper(committed Committed, interval time.Duration, report func(SweepStats, error)) *Sweeper {
	if interval <= 0 {
		interval = DefaultSweepInterval
	}
	ctx, cancel := context.WithCancel(context.Background())
	sw := &Sweeper{cancel: cancel}
	sw.wg.Add(1)
	go func() {
		defer sw.wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			st, err := s.Sweep(ctx, committed)
			if report != nil {
				report(st, err)
			}
		}
	}()
	return sw
}

// Stop stops the sweeper and waits for a running Sweep to return. Call it before
// closing the store.
func (sw *Sweeper) Stop() {
	sw.cancel()
	sw.wg.Wait()
}
