package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/coffer-io/coffer/cluster/meta"
	"github.com/coffer-io/coffer/cluster/placement"
	"github.com/coffer-io/coffer/node"
)

// Shards is the storage-node side of the gateway. The default, built from the
// cluster layout, talks the shard RPC with node.Client; tests may substitute their own.
type Shards interface {
	Put(ctx context.Context, nodeID string, id node.ShardID, size int64, r io.Reader) error
	Get(ctx context.Context, nodeID string, id node.ShardID, off, n int64) (io.ReadCloser, error)
	Delete(ctx context.Context, nodeID string, id node.ShardID) error
}

// layoutTTL is how long a fetched cluster layout is used before it is read again.
const layoutTTL = 10 * time.Second

// downTTL is how long a storage node that just failed as unavailable (or stalled a
// shard stream) is passed over: placement avoids it while enough others are up, and
// reads treat its shards as missing instead of waiting on it again.
const downTTL = 10 * time.Second

// nodeSet knows the storage nodes of the cluster layout and keeps one pooled
// node.Client per node. It implements Shards.
type nodeSet struct {
	meta Meta
	now  func() time.Time
	cfg  node.ClientConfig

	mu      sync.Mutex // guards the fields below
	layout  meta.ClusterLayout
	fetched time.Time
	clients map[string]*node.Client
	down    map[string]time.Time // node id → when it failed
}

// markDown records that node id just failed as unavailable.
func (n *nodeSet) markDown(id string) {
	n.mu.Lock()
	n.down[id] = n.now()
	n.mu.Unlock()
}

// isDown reports whether node id failed within downTTL.
func (n *nodeSet) isDown(id string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	t, ok := n.down[id]
	if ok && n.now().Sub(t) >= downTTL {
		delete(n.down, id)
		return false
	}
	return ok
}

// noteErr marks a node down when err says it could not be reached.
func (n *nodeSet) noteErr(id string, err error) {
	if errors.Is(err, node.ErrUnavailable) {
		n.markDown(id)
	}
}

func newNodeSet(m Meta, now func() time.Time, cfg node.ClientConfig) *nodeSet {
	return &nodeSet{meta: m, now: now, cfg: cfg, clients: map[string]*node.Client{}, down: map[string]time.Time{}}
}

// current returns the layout, reading it again when stale or when force is set.
func (n *nodeSet) current(ctx context.Context, force bool) (meta.ClusterLayout, error) {
	n.mu.Lock()
	l, fresh := n.layout, !n.fetched.IsZero() && n.now().Sub(n.fetched) < layoutTTL
	n.mu.Unlock()
	if fresh && !force {
		return l, nil
	}
	l, err := n.meta.Layout(ctx)
	if err != nil {
		return meta.ClusterLayout{}, fmt.Errorf("gateway: read layout: %w", err)
	}
	n.mu.Lock()
	n.layout, n.fetched = l, n.now()
	n.mu.Unlock()
	return l, nil
}

// active returns the storage nodes new shards may be placed on.
func (n *nodeSet) active(ctx context.Context, force bool) ([]meta.StorageNode, error) {
	l, err := n.current(ctx, force)
	if err != nil {
		return nil, err
	}
	var out []meta.StorageNode
	for _, sn := range l.Nodes {
		if sn.State == meta.NodeActive && len(sn.Addrs) > 0 {
			out = append(out, sn)
		}
	}
	return out, nil
}

// place chooses the node of each of shards shard indexes for version vid.
func (n *nodeSet) place(ctx context.Context, vid meta.ID, shards int) ([]string, error) {
	nodes, err := n.active(ctx, false)
	if err != nil {
		return nil, err
	}
	cands := make([]placement.Node, 0, len(nodes))
	for _, sn := range nodes {
		if !n.isDown(sn.ID) {
			cands = append(cands, placement.Node{ID: sn.ID, Zone: sn.Zone})
		}
	}
	if len(cands) < shards {
		// Too few healthy nodes to avoid the failed ones: place over all of them; the
		// shards on failed nodes are recorded missing if they fail again.
		cands = cands[:0]
		for _, sn := range nodes {
			cands = append(cands, placement.Node{ID: sn.ID, Zone: sn.Zone})
		}
	}
	ids, err := placement.Place(make([]string, 0, shards), vid, shards, cands)
	if err != nil {
		return nil, fmt.Errorf("gateway: placement: %w", err)
	}
	return ids, nil
}

// client returns the pooled client of storage node id at its address in the current
// layout; a node that moved to a new address gets a new client.
func (n *nodeSet) client(ctx context.Context, id string) (*node.Client, error) {
	for _, force := range []bool{false, true} {
		l, err := n.current(ctx, force)
		if err != nil {
			return nil, err
		}
		for _, sn := range l.Nodes {
			if sn.ID != id || len(sn.Addrs) == 0 {
				continue
			}
			n.mu.Lock()
			defer n.mu.Unlock()
			if c, ok := n.clients[id]; ok {
				if c.Addr() == sn.Addrs[0] {
					return c, nil
				}
				c.Close()
			}
			c := node.NewClient(sn.Addrs[0], n.cfg)
			n.clients[id] = c
			return c, nil
		}
	}
	return nil, fmt.Errorf("gateway: storage node %q is not in the layout: %w", id, node.ErrUnavailable)
}

func (n *nodeSet) Put(ctx context.Context, nodeID string, id node.ShardID, size int64, r io.Reader) error {
	c, err := n.client(ctx, nodeID)
	if err != nil {
		return err
	}
	err = c.Put(ctx, id, size, r)
	n.noteErr(nodeID, err)
	return err
}

func (n *nodeSet) Get(ctx context.Context, nodeID string, id node.ShardID, off, size int64) (io.ReadCloser, error) {
	c, err := n.client(ctx, nodeID)
	if err != nil {
		return nil, err
	}
	rc, err := c.Get(ctx, id, off, size)
	n.noteErr(nodeID, err)
	return rc, err
}

func (n *nodeSet) Delete(ctx context.Context, nodeID string, id node.ShardID) error {
	c, err := n.client(ctx, nodeID)
	if err != nil {
		return err
	}
	return c.Delete(ctx, id)
}

// Close releases the pooled connections.
func (n *nodeSet) Close() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for id, c := range n.clients {
		c.Close()
		delete(n.clients, id)
	}
}
