package gateway

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/coffer-io/coffer/cluster/meta"
	"github.com/coffer-io/coffer/node"
)

// garbageAcker is the part of the metadata cluster the collector acknowledges to.
// cluster.Client (through ClusterMeta) implements it.
type garbageAcker interface {
	AckGarbage(ctx context.Context, seqs []uint64) (int, error)
}

// Run runs the gateway's background work until ctx is cancelled: the garbage
// collector that deletes the shards of replaced and deleted versions and of aborted
// uploads from the storage nodes, so space comes back; and the master-key upkeep
// (scheduled rotation, the re-wrap job, rotate.go), in a goroutine Run joins before
// it returns. Several gateways may run it at once; deletes are idempotent and key
// updates compare-and-set.
func (s *Server) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.runKeys(ctx)
	}()
	t := time.NewTicker(s.cfg.GCInterval)
	defer t.Stop()
	for {
		if _, err := s.CollectGarbage(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Warn("garbage collection", "error", err.Error())
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// CollectGarbage makes one pass over the garbage queue and returns how many items it
// removed. An item whose shards could not all be deleted (a node down) stays queued
// for the next pass; a shard already gone counts as deleted.
func (s *Server) CollectGarbage(ctx context.Context) (int, error) {
	acker, ok := s.meta.(garbageAcker)
	if !ok {
		return 0, errors.New("gateway: metadata client cannot acknowledge garbage")
	}
	// Walk the whole queue page by page, so items that cannot be deleted yet (a node
	// down) do not hide the ones behind them.
	removed := 0
	for after := uint64(0); ; {
		items, err := s.meta.GarbageList(ctx, after, GCBatchMax)
		if err != nil {
			return removed, err
		}
		if len(items) == 0 {
			return removed, nil
		}
		var done []uint64
		for _, it := range items {
			if s.deleteGarbage(ctx, it) {
				done = append(done, it.Seq)
			}
		}
		if len(done) > 0 {
			n, err := acker.AckGarbage(ctx, done)
			removed += n
			if err != nil {
				return removed, err
			}
		}
		after = items[len(items)-1].Seq
		if len(items) < GCBatchMax {
			return removed, nil
		}
	}
}

func (s *Server) deleteGarbage(ctx context.Context, it meta.GarbageItem) bool {
	ok := true
	for _, p := range it.Pieces {
		for _, loc := range p.Shards {
			id := node.ShardID{Version: p.ShardsID, Part: uint32(p.Part), Index: uint16(loc.Index)}
			err := s.shards.Delete(ctx, loc.Node, id)
			if err != nil && !errors.Is(err, node.ErrNotFound) {
				ok = false
			}
		}
	}
	return ok
}
