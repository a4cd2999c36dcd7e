package main

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/coffer-io/coffer/cluster"
	"github.com/coffer-io/coffer/cluster/meta"
	"github.com/coffer-io/coffer/node"
)

// Orphan sweeping: every storage node periodically removes shards no metadata
// references (written by PUTs that never committed, or left behind by a collector
// that could not reach the node).
const (
	// sweepInterval is how often each storage node sweeps.
	sweepInterval = 10 * time.Minute
	// sweepGrace is how old an unreferenced shard set must be before it is removed:
	// a PUT writes its shards before it commits, so this must exceed the longest
	// PUT or part upload.
	sweepGrace = time.Hour
	// sweepFailuresMax is how many metadata questions in a row may fail before the
	// rest of a sweep run skips its questions (metadata unreachable: the run
	// finishes quickly and nothing is removed).
	sweepFailuresMax = 8
)

// errMetaDown skips the remaining questions of a sweep run after sweepFailuresMax
// failures in a row.
var errMetaDown = errors.New("coffer: sweep: metadata unreachable, question skipped")

// shardsOwners implements node.Committed over the metadata cluster: a storage
// node's version id is the id its shard set was written under (meta.Version's id, or
// a part's ShardsID), and ShardsOwner is a linearizable read of whether anything
// references it. Shards of replaced or deleted versions and of aborted uploads are
// not referenced; removing them before the garbage collector does is harmless (it
// treats a missing shard as deleted).
type shardsOwners struct {
	c        *cluster.Client
	failures atomic.Int32 // failed questions in a row in this run
}

// Known reports whether metadata references the shard set version.
func (o *shardsOwners) Known(ctx context.Context, version [16]byte) (bool, error) {
	if o.failures.Load() >= sweepFailuresMax {
		return false, errMetaDown
	}
	_, live, err := o.c.ShardsOwner(ctx, meta.ID(version))
	if err != nil {
		o.failures.Add(1)
		return false, err
	}
	o.failures.Store(0)
	return live, nil
}

// startSweeper runs sp's orphan sweeper every interval. The stack stops and joins it
// before the store and the metadata client it uses (it must be pushed after both).
// Each run reports counts only.
func startSweeper(st *stack, sp *storagePart, c *cluster.Client, interval time.Duration, log *slog.Logger) {
	owners := &shardsOwners{c: c}
	sw := sp.store.StartSweeper(owners, interval, func(s node.SweepStats, err error) {
		owners.failures.Store(0)
		attrs := []any{
			"versions", s.Versions, "orphans", s.Orphans, "shards", s.Shards,
			"garbage", s.Garbage, "strays", s.Strays, "errors", s.Errors,
		}
		switch {
		case err != nil && !errors.Is(err, context.Canceled):
			log.Warn("sweep failed", append(attrs, "error", err.Error())...)
		case s.Errors > 0:
			log.Warn("sweep skipped versions", attrs...)
		case s.Orphans > 0 || s.Garbage > 0 || s.Strays > 0:
			log.Info("sweep removed orphans", attrs...)
		default:
			log.Debug("sweep found nothing", attrs...)
		}
	})
	st.push("sweeper "+sp.id, func(context.Context) error {
		sw.Stop()
		return nil
	})
}
