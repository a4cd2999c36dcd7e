package member

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

var (
	// ErrClosed is returned by operations on a Pool after Close or Leave.
	ErrClosed = errors.New("member: pool closed")
	// ErrNotBroadcast is returned by UpdateMeta and Leave when the update was not sent
	// to any peer before the timeout. The new metadata is in effect nonetheless and
	// spreads with later gossip and push/pull exchanges.
	ErrNotBroadcast = errors.New("member: metadata update not broadcast before timeout")
)

// State is a member's state as this node sees it.
type State int

const (
	// StateAlive: the member is in the pool and has not announced a departure. It may
	// be under suspicion inside memberlist; memberlist reports suspect nodes as members
	// until they are declared dead and offers no race-free way to read suspicion.
	StateAlive State = iota
	// StateLeaving: the member advertised Leaving and is about to leave the pool.
	StateLeaving
)

func (s State) String() string {
	switch s {
	case StateAlive:
		return "alive"
	case StateLeaving:
		return "leaving"
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// Member is one node of the pool, as last gossiped.
type Member struct {
	// Name is the node's stable id.
	Name string
	// Addr is the node's gossip address, host:port.
	Addr string
	// Meta is the node's advertised metadata. If the peer's metadata could not be
	// decoded it is the zero NodeMeta (no roles), so the node is never used.
	Meta  NodeMeta
	State State
}

// StorageNode is the liveness view placement needs of one storage node.
type StorageNode struct {
	ID      string // the node's stable name
	Zone    string
	RPCAddr string
}

// Pool is this process's membership in the gossip pool.
type Pool struct {
	cfg Config
	log *slog.Logger
	ml  *memberlist.Memberlist

	localAddr string // advertised gossip address, fixed at Start

	changed chan struct{} // capacity 1; a pending "something changed" signal
	stop    chan struct{} // closed by Close: stops the goroutines below
	wg      sync.WaitGroup

	// lifeMu serializes UpdateMeta, Leave and Close, which call into memberlist.
	// Lock order: lifeMu before mu. mu is never held while calling memberlist.
	lifeMu sync.Mutex
	closed bool // guarded by lifeMu

	// mu guards the fields below. The memberlist callbacks take it (while memberlist
	// holds its own node lock), so it must never be held while calling memberlist.
	mu       sync.Mutex
	meta     NodeMeta
	metaWire []byte
	members  map[string]Member
	subs     map[*subscriber]struct{}
	events   int // raw membership events seen, for tests and metrics
}

type subscriber struct {
	ch chan []Member // capacity 1; holds at most the newest snapshot
}

// Start validates cfg (after EnsureDefaults on a copy), creates the gossip listener,
// joins the seeds and starts the pool's goroutines. Failing to reach any seed is not an
// error: the pool keeps re-joining them every RejoinInterval. ctx bounds only the
// start-up; the pool lives until Close or Leave.
func Start(ctx context.Context, cfg Config) (*Pool, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	wire, err := cfg.Meta.Encode()
	if err != nil {
		return nil, err // Validate checked it; kept for safety
	}
	p := &Pool{
		cfg:      cfg,
		log:      cfg.Logger.With("component", "member", "node", cfg.Name),
		changed:  make(chan struct{}, 1),
		stop:     make(chan struct{}),
		meta:     cfg.Meta.clone(),
		metaWire: wire,
		members:  make(map[string]Member),
		subs:     make(map[*subscriber]struct{}),
	}
	mc := cfg.memberlistConfig()
	mc.Delegate = (*delegate)(p)
	mc.Events = (*events)(p)
	mc.Conflict = (*conflicts)(p)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ml, err := memberlist.Create(mc)
	if err != nil {
		return nil, fmt.Errorf("member: start gossip: %w", err)
	}
	p.ml = ml
	// Read once, before anything can update the local node: memberlist hands out a
	// pointer to its own record, which UpdateNode rewrites.
	local := ml.LocalNode()
	p.localAddr = net.JoinHostPort(local.Addr.String(), strconv.Itoa(int(local.Port)))
	if seeds := p.missingSeeds(); len(seeds) > 0 {
		if n, err := ml.Join(seeds); err != nil {
			p.log.Warn("no seed reachable; will retry", "seeds", len(seeds), "err", err)
		} else {
			p.log.Info("joined pool", "seeds_reached", n)
		}
	}
	if err := ctx.Err(); err != nil {
		_ = ml.Shutdown()
		return nil, err
	}
	p.wg.Add(2)
	go p.debounceLoop()
	go p.rejoinLoop()
	return p, nil
}

// LocalAddr returns this node's advertised gossip address, host:port. With BindPort 0
// it reveals the port chosen.
func (p *Pool) LocalAddr() string { return p.localAddr }

// Members returns the live members, this node included, sorted by name. The result is
// the caller's own copy.
func (p *Pool) Members() []Member {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.membersLocked()
}

func (p *Pool) membersLocked() []Member {
	out := make([]Member, 0, len(p.members))
	for _, m := range p.members {
		m.Meta = m.Meta.clone()
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b Member) int { return cmpString(a.Name, b.Name) })
	return out
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// StorageNodes returns the members that advertise RoleStorage and are not leaving,
// sorted by id: the candidates for placement. It is a hint; the cluster layout in Raft
// is authoritative.
func (p *Pool) StorageNodes() []StorageNode {
	return StorageNodesOf(p.Members())
}

// StorageNodesOf filters a snapshot (from Members or Subscribe) as StorageNodes does.
func StorageNodesOf(members []Member) []StorageNode {
	var out []StorageNode
	for _, m := range members {
		if m.State == StateAlive && m.Meta.HasRole(RoleStorage) {
			out = append(out, StorageNode{ID: m.Name, Zone: m.Meta.Zone, RPCAddr: m.Meta.RPCAddr})
		}
	}
	return out
}

// Meta returns the metadata this node currently advertises.
func (p *Pool) Meta() NodeMeta {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.meta.clone()
}

// Subscribe returns a channel that receives a snapshot of Members (the receiver's own
// copy) now and then after every burst of membership changes, once DebounceInterval
// has passed without a change (or DebounceMax after the first change). A slow receiver
// never blocks the pool: an unread snapshot is replaced by the newer one. The channel
// is closed by cancel, Close or Leave; cancel may be called more than once.
func (p *Pool) Subscribe() (snapshots <-chan []Member, cancel func()) {
	s := &subscriber{ch: make(chan []Member, 1)}
	p.mu.Lock()
	if p.subs == nil { // closed
		p.mu.Unlock()
		close(s.ch)
		return s.ch, func() {}
	}
	p.subs[s] = struct{}{}
	s.ch <- p.membersLocked()
	p.mu.Unlock()
	return s.ch, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if _, ok := p.subs[s]; ok {
			delete(p.subs, s)
			close(s.ch)
		}
	}
}

// UpdateMeta advertises meta instead of the current metadata and waits up to timeout
// for the update to be broadcast. It returns ErrMetaTooLarge or ErrBadMeta (wrapped)
// without changing anything if meta does not encode, ErrNotBroadcast if the timeout
// expired first (the update stands), and ErrClosed after Close.
func (p *Pool) UpdateMeta(meta NodeMeta, timeout time.Duration) error {
	p.lifeMu.Lock()
	defer p.lifeMu.Unlock()
	if p.closed {
		return ErrClosed
	}
	return p.updateMetaLocked(meta, timeout)
}

func (p *Pool) updateMetaLocked(meta NodeMeta, timeout time.Duration) error {
	wire, err := meta.Encode()
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.meta, p.metaWire = meta.clone(), wire
	p.mu.Unlock()
	if err := p.ml.UpdateNode(timeout); err != nil {
		// memberlist's only error here is its broadcast timeout.
		return fmt.Errorf("%w: %v", ErrNotBroadcast, err)
	}
	return nil
}

// Leave departs from the pool on purpose: it advertises Leaving=true, waits LeaveGrace
// so peers see the flag, broadcasts memberlist's leave message and closes the pool.
// timeout bounds the whole operation; the pool is closed even when it expires.
func (p *Pool) Leave(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	p.lifeMu.Lock()
	if p.closed {
		p.lifeMu.Unlock()
		return ErrClosed
	}
	meta := p.Meta()
	meta.Leaving = true
	var errs []error
	if err := p.updateMetaLocked(meta, time.Until(deadline)); err != nil {
		errs = append(errs, err)
	}
	grace := min(p.cfg.LeaveGrace, time.Until(deadline)/2)
	if grace > 0 {
		t := time.NewTimer(grace)
		<-t.C
	}
	if err := p.ml.Leave(max(time.Until(deadline), time.Millisecond)); err != nil {
		errs = append(errs, fmt.Errorf("member: leave: %w", err))
	}
	p.lifeMu.Unlock()
	if err := p.Close(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Close shuts the pool down without announcing it: peers find out by failure
// detection, as after a crash. It stops and joins every goroutine, and closes the
// subscription channels. It is safe to call more than once.
func (p *Pool) Close() error {
	p.lifeMu.Lock()
	defer p.lifeMu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	close(p.stop)
	p.wg.Wait()
	err := p.ml.Shutdown()
	p.mu.Lock()
	for s := range p.subs {
		close(s.ch)
	}
	p.subs = nil
	p.mu.Unlock()
	if err != nil {
		return fmt.Errorf("member: shutdown: %w", err)
	}
	return nil
}

// notify records a membership change for the debouncer without ever blocking.
func (p *Pool) notify() {
	select {
	case p.changed <- struct{}{}:
	default:
	}
}

// debounceLoop publishes a snapshot to subscribers after each burst of changes.
func (p *Pool) debounceLoop() {
	defer p.wg.Done()
	quiet := time.NewTimer(time.Hour)
	quiet.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-p.changed:
		}
		first := time.Now()
		quiet.Reset(p.cfg.DebounceInterval)
	wait:
		for {
			select {
			case <-p.stop:
				quiet.Stop()
				return
			case <-p.changed:
				if time.Since(first) >= p.cfg.DebounceMax {
					quiet.Stop()
					break wait
				}
				quiet.Reset(min(p.cfg.DebounceInterval, p.cfg.DebounceMax-time.Since(first)))
			case <-quiet.C:
				break wait
			}
		}
		p.publish()
	}
}

func (p *Pool) publish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for s := range p.subs {
		snap := p.membersLocked()
		// Only this goroutine and Subscribe (under mu, too) send, so after the drain
		// the send cannot block.
		select {
		case s.ch <- snap:
		default:
			select {
			case <-s.ch:
			default:
			}
			s.ch <- snap
		}
	}
}

// rejoinLoop re-joins seeds that are not members every RejoinInterval.
func (p *Pool) rejoinLoop() {
	defer p.wg.Done()
	t := time.NewTicker(p.cfg.RejoinInterval)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
		seeds := p.missingSeeds()
		if len(seeds) == 0 {
			continue
		}
		if n, err := p.ml.Join(seeds); err != nil {
			p.log.Debug("re-join failed", "seeds", len(seeds), "err", err)
		} else {
			p.log.Info("re-joined seeds", "reached", n)
		}
	}
}

// missingSeeds returns the seeds whose address is not a current member's (nor ours).
// A seed given by host name never matches and is always re-joined, which is harmless:
// joining a member is one push/pull exchange.
func (p *Pool) missingSeeds() []string {
	self := p.LocalAddr()
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, s := range p.cfg.Seeds {
		if s == self {
			continue
		}
		found := false
		for _, m := range p.members {
			if m.Addr == s {
				found = true
				break
			}
		}
		if !found {
			out = append(out, s)
		}
	}
	return out
}

// delegate implements memberlist.Delegate. Only NodeMeta carries data.
type delegate Pool

func (d *delegate) NodeMeta(limit int) []byte {
	p := (*Pool)(d)
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.metaWire) > limit { // cannot happen: Encode enforces MetaMaxBytes
		p.log.Error("metadata exceeds the gossip limit; advertising none", "bytes", len(p.metaWire), "limit", limit)
		return nil
	}
	return slices.Clone(p.metaWire)
}

func (d *delegate) NotifyMsg([]byte)                           {}
func (d *delegate) GetBroadcasts(overhead, limit int) [][]byte { return nil }
func (d *delegate) LocalState(join bool) []byte                { return nil }
func (d *delegate) MergeRemoteState(buf []byte, join bool)     {}

// events implements memberlist.EventDelegate. memberlist calls it serially while it
// holds its node lock, so it copies what it needs and never blocks.
type events Pool

func (e *events) NotifyJoin(n *memberlist.Node)   { (*Pool)(e).upsert(n) }
func (e *events) NotifyUpdate(n *memberlist.Node) { (*Pool)(e).upsert(n) }

func (e *events) NotifyLeave(n *memberlist.Node) {
	p := (*Pool)(e)
	p.mu.Lock()
	delete(p.members, n.Name)
	p.events++
	p.mu.Unlock()
	how := "failed"
	if n.State == memberlist.StateLeft {
		how = "left"
	}
	p.log.Info("member gone", "peer", n.Name, "how", how)
	p.notify()
}

func (p *Pool) upsert(n *memberlist.Node) {
	meta, err := DecodeMeta(n.Meta)
	if err != nil {
		// The peer passed the key and label checks, so this is a version mismatch or a
		// bug; it stays visible but without roles, so nothing is placed on it.
		p.log.Warn("peer metadata rejected", "peer", n.Name, "err", err)
		meta = NodeMeta{}
	}
	state := StateAlive
	if meta.Leaving {
		state = StateLeaving
	}
	m := Member{
		Name:  n.Name,
		Addr:  net.JoinHostPort(n.Addr.String(), strconv.Itoa(int(n.Port))),
		Meta:  meta,
		State: state,
	}
	p.mu.Lock()
	p.members[n.Name] = m
	p.events++
	p.mu.Unlock()
	p.notify()
}

// conflicts implements memberlist.ConflictDelegate: it logs a name claimed by two
// addresses, which means two nodes were configured with the same Name.
type conflicts Pool

func (c *conflicts) NotifyConflict(existing, other *memberlist.Node) {
	(*Pool)(c).log.Error("node name claimed by two addresses", "peer", existing.Name,
		"existing", existing.Address(), "other", other.Address())
}
