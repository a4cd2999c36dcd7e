package member

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	testKey  = bytes.Repeat([]byte{7}, 32)
	otherKey = bytes.Repeat([]byte{8}, 32)
)

// testConfig is a loopback pool with timers short enough for tests.
func testConfig(name string, seeds ...string) Config {
	return Config{
		Name:                name,
		BindAddr:            "127.0.0.1",
		Seeds:               seeds,
		SecretKey:           testKey,
		Label:               "coffer-test",
		Meta:                NodeMeta{Roles: []string{RoleStorage}, RPCAddr: "127.0.0.1:1" + name[len(name)-1:], Zone: "zone-" + name},
		Profile:             ProfileLocal,
		ProbeInterval:       200 * time.Millisecond,
		ProbeTimeout:        100 * time.Millisecond,
		PushPullInterval:    500 * time.Millisecond,
		RetransmitMult:      4,
		RejoinInterval:      200 * time.Millisecond,
		DebounceInterval:    50 * time.Millisecond,
		LeaveGrace:          300 * time.Millisecond,
		DeadNodeReclaimTime: 100 * time.Millisecond,
		Logger:              testLogger,
	}
}

func startPool(t *testing.T, cfg Config) *Pool {
	t.Helper()
	p, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Start(%s): %v", cfg.Name, err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// startPools starts n pools named prefix-a, prefix-b, ...; all but the first seed from
// the first.
func startPools(t *testing.T, prefix string, n int) []*Pool {
	t.Helper()
	pools := []*Pool{startPool(t, testConfig(prefix+"-a"))}
	for i := 1; i < n; i++ {
		pools = append(pools, startPool(t, testConfig(fmt.Sprintf("%s-%c", prefix, 'a'+i), pools[0].LocalAddr())))
	}
	return pools
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func names(members []Member) string {
	var s []string
	for _, m := range members {
		s = append(s, m.Name)
	}
	return strings.Join(s, ",")
}

func memberOf(p *Pool, name string) (Member, bool) {
	for _, m := range p.Members() {
		if m.Name == name {
			return m, true
		}
	}
	return Member{}, false
}

func TestPoolDiscoveryAndMeta(t *testing.T) {
	t.Parallel()
	pools := startPools(t, "disc", 4)
	want := "disc-a,disc-b,disc-c,disc-d"
	for _, p := range pools {
		eventually(t, 5*time.Second, p.cfg.Name+" sees all four", func() bool { return names(p.Members()) == want })
	}
	for _, p := range pools {
		for _, q := range pools {
			m, _ := memberOf(p, q.cfg.Name)
			if m.Meta.Zone != q.cfg.Meta.Zone || m.Meta.RPCAddr != q.cfg.Meta.RPCAddr || !m.Meta.HasRole(RoleStorage) || m.State != StateAlive {
				t.Errorf("%s sees %s as %+v, want meta %+v", p.cfg.Name, q.cfg.Name, m, q.cfg.Meta)
			}
			if m.Addr != q.LocalAddr() {
				t.Errorf("%s sees %s at %s, want %s", p.cfg.Name, q.cfg.Name, m.Addr, q.LocalAddr())
			}
		}
	}
	sn := pools[0].StorageNodes()
	if len(sn) != 4 || sn[1].ID != "disc-b" || sn[1].Zone != "zone-disc-b" || sn[1].RPCAddr != "127.0.0.1:1b" {
		t.Errorf("StorageNodes = %+v", sn)
	}

	// A metadata update propagates; a gateway-only node is not a storage node.
	if err := pools[1].UpdateMeta(NodeMeta{Roles: []string{RoleGateway}, APIAddr: "127.0.0.1:8443", Zone: "moved"}, time.Second); err != nil {
		t.Fatal(err)
	}
	for _, p := range pools {
		eventually(t, 5*time.Second, p.cfg.Name+" sees the update", func() bool {
			m, _ := memberOf(p, "disc-b")
			return m.Meta.Zone == "moved" && m.Meta.HasRole(RoleGateway)
		})
	}
	for _, n := range pools[2].StorageNodes() {
		if n.ID == "disc-b" {
			t.Errorf("gateway-only disc-b listed as storage node")
		}
	}
	if got := pools[1].Meta(); got.Zone != "moved" {
		t.Errorf("Meta() = %+v after UpdateMeta", got)
	}
}

// TestPoolIsolation: a pool with another key, another label or no encryption cannot
// join, and never shows up on either side.
func TestPoolIsolation(t *testing.T) {
	t.Parallel()
	a := startPool(t, testConfig("iso-a"))
	wrongKey := testConfig("iso-b", a.LocalAddr())
	wrongKey.SecretKey = otherKey
	wrongLabel := testConfig("iso-c", a.LocalAddr())
	wrongLabel.Label = "other-cluster"
	plain := testConfig("iso-d", a.LocalAddr())
	plain.SecretKey, plain.Plaintext = nil, true
	var outsiders []*Pool
	for _, cfg := range []Config{wrongKey, wrongLabel, plain} {
		outsiders = append(outsiders, startPool(t, cfg))
	}
	// Several re-join rounds pass; nobody may get in.
	deadline := time.Now().Add(1500 * time.Millisecond)
	for time.Now().Before(deadline) {
		if got := names(a.Members()); got != "iso-a" {
			t.Fatalf("iso-a sees %s", got)
		}
		for _, o := range outsiders {
			if got := names(o.Members()); got != o.cfg.Name {
				t.Fatalf("%s sees %s", o.cfg.Name, got)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestPoolKeyRotation: in the middle of a rotation, pools that send with different
// primary keys talk because each holds the other's key as a secondary.
func TestPoolKeyRotation(t *testing.T) {
	t.Parallel()
	acfg := testConfig("rot-a")
	acfg.SecondaryKeys = [][]byte{otherKey}
	a := startPool(t, acfg)
	bcfg := testConfig("rot-b", a.LocalAddr())
	bcfg.SecretKey, bcfg.SecondaryKeys = otherKey, [][]byte{testKey}
	b := startPool(t, bcfg)
	for _, p := range []*Pool{a, b} {
		eventually(t, 5*time.Second, p.cfg.Name+" sees both", func() bool { return names(p.Members()) == "rot-a,rot-b" })
	}
}

// TestPoolLeave: a planned departure is first visible as StateLeaving (and drops out
// of StorageNodes), then the member disappears.
func TestPoolLeave(t *testing.T) {
	t.Parallel()
	pools := startPools(t, "leave", 3)
	a, c := pools[0], pools[2]
	eventually(t, 5*time.Second, "pool formed", func() bool { return len(a.Members()) == 3 })

	var sawLeaving, storageWhileLeaving bool
	var mu sync.Mutex
	done := make(chan struct{})
	watcher := make(chan struct{})
	go func() {
		defer close(watcher)
		for {
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
			if m, ok := memberOf(a, "leave-c"); ok && m.State == StateLeaving {
				mu.Lock()
				sawLeaving = true
				for _, n := range a.StorageNodes() {
					if n.ID == "leave-c" {
						storageWhileLeaving = true
					}
				}
				mu.Unlock()
			}
		}
	}()
	if err := c.Leave(3 * time.Second); err != nil {
		t.Fatalf("Leave: %v", err)
	}
	eventually(t, 5*time.Second, "leave-c gone from leave-a", func() bool { _, ok := memberOf(a, "leave-c"); return !ok })
	close(done)
	<-watcher
	mu.Lock()
	defer mu.Unlock()
	if !sawLeaving {
		t.Error("leave-a never saw leave-c as leaving")
	}
	if storageWhileLeaving {
		t.Error("a leaving node was offered as a storage node")
	}
	if err := c.Leave(time.Second); !errors.Is(err, ErrClosed) {
		t.Errorf("second Leave: %v, want ErrClosed", err)
	}
}

// TestPoolFailureAndReturn: a hard stop is detected, and the node comes back under its
// name from a new address.
func TestPoolFailureAndReturn(t *testing.T) {
	t.Parallel()
	pools := startPools(t, "fail", 3)
	a, b, c := pools[0], pools[1], pools[2]
	eventually(t, 5*time.Second, "pool formed", func() bool { return len(a.Members()) == 3 && len(b.Members()) == 3 })
	oldAddr := c.LocalAddr()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for _, p := range []*Pool{a, b} {
		eventually(t, 10*time.Second, p.cfg.Name+" notices fail-c died", func() bool { _, ok := memberOf(p, "fail-c"); return !ok })
	}
	t.Logf("hard stop detected after %v", time.Since(start).Round(time.Millisecond))

	// Same name, new port.
	c2 := startPool(t, testConfig("fail-c", a.LocalAddr()))
	if c2.LocalAddr() == oldAddr {
		t.Skip("the OS gave back the same port; nothing to test")
	}
	for _, p := range []*Pool{a, b} {
		eventually(t, 5*time.Second, p.cfg.Name+" sees fail-c at its new address", func() bool {
			m, ok := memberOf(p, "fail-c")
			return ok && m.Addr == c2.LocalAddr()
		})
	}
}

// reservePort finds a port free for both TCP and UDP on loopback.
func reservePort(t *testing.T) int {
	t.Helper()
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		l.Close()
		if err == nil {
			u.Close()
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

// TestPoolRejoin: a pool whose seed was unreachable at start (a partition) joins it
// through the periodic re-join once it is reachable.
func TestPoolRejoin(t *testing.T) {
	t.Parallel()
	port := reservePort(t)
	x := startPool(t, testConfig("rejoin-x", net.JoinHostPort("127.0.0.1", strconv.Itoa(port))))
	time.Sleep(300 * time.Millisecond) // at least one failed re-join round
	if got := names(x.Members()); got != "rejoin-x" {
		t.Fatalf("rejoin-x sees %s before its seed exists", got)
	}
	ycfg := testConfig("rejoin-y")
	ycfg.BindPort = port
	y := startPool(t, ycfg)
	for _, p := range []*Pool{x, y} {
		eventually(t, 5*time.Second, p.cfg.Name+" sees both", func() bool { return names(p.Members()) == "rejoin-x,rejoin-y" })
	}
}

// TestPoolDebounce: a burst of joins reaches a subscriber as few snapshots, the last
// one complete.
func TestPoolDebounce(t *testing.T) {
	t.Parallel()
	cfg := testConfig("deb-a")
	cfg.DebounceInterval = 400 * time.Millisecond
	a := startPool(t, cfg)
	snaps, cancel := a.Subscribe()
	defer cancel()
	if first := <-snaps; names(first) != "deb-a" {
		t.Fatalf("initial snapshot %s", names(first))
	}
	a.mu.Lock()
	before := a.events
	a.mu.Unlock()
	for _, n := range []string{"deb-b", "deb-c", "deb-d", "deb-e"} {
		startPool(t, testConfig(n, a.LocalAddr()))
	}
	notifications := 0
	var last []Member
	timeout := time.After(5 * time.Second)
	for names(last) != "deb-a,deb-b,deb-c,deb-d,deb-e" {
		select {
		case last = <-snaps:
			notifications++
		case <-timeout:
			t.Fatalf("after %d notifications the last snapshot is %s", notifications, names(last))
		}
	}
	a.mu.Lock()
	events := a.events - before
	a.mu.Unlock()
	t.Logf("%d membership events, %d notifications", events, notifications)
	if events < 4 || notifications > 2 {
		t.Errorf("%d events gave %d notifications; want ≥ 4 events coalesced into ≤ 2", events, notifications)
	}
	// The snapshot is the subscriber's own copy.
	last[0].Meta.Roles[0] = "mutated"
	if m, _ := memberOf(a, "deb-a"); m.Meta.Roles[0] != RoleStorage {
		t.Error("mutating a snapshot changed the pool's view")
	}
	cancel()
	cancel()
	if _, ok := <-snaps; ok {
		t.Error("channel open after cancel")
	}
}

// TestPoolMetaLimits: oversized metadata is an error at Start and in UpdateMeta, and a
// rejected update leaves the advertised metadata alone.
func TestPoolMetaLimits(t *testing.T) {
	t.Parallel()
	big := testConfig("big-a")
	big.Meta.Zone = strings.Repeat("z", MetaMaxBytes)
	if _, err := Start(context.Background(), big); !errors.Is(err, ErrMetaTooLarge) {
		t.Fatalf("Start with big meta: %v, want ErrMetaTooLarge", err)
	}
	p := startPool(t, testConfig("big-b"))
	if err := p.UpdateMeta(big.Meta, time.Second); !errors.Is(err, ErrMetaTooLarge) {
		t.Fatalf("UpdateMeta with big meta: %v, want ErrMetaTooLarge", err)
	}
	if got := p.Meta(); got.Zone != "zone-big-b" {
		t.Fatalf("meta changed by a rejected update: %+v", got)
	}
	if m, _ := memberOf(p, "big-b"); m.Meta.Zone != "zone-big-b" {
		t.Fatalf("self seen as %+v", m)
	}
}

func TestPoolClosed(t *testing.T) {
	t.Parallel()
	p := startPool(t, testConfig("closed-a"))
	snaps, _ := p.Subscribe()
	<-snaps
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, ok := <-snaps; ok {
		t.Error("subscription open after Close")
	}
	if err := p.UpdateMeta(NodeMeta{}, time.Second); !errors.Is(err, ErrClosed) {
		t.Errorf("UpdateMeta after Close: %v", err)
	}
	if err := p.Leave(time.Second); !errors.Is(err, ErrClosed) {
		t.Errorf("Leave after Close: %v", err)
	}
	if ch, _ := p.Subscribe(); ch != nil {
		if _, ok := <-ch; ok {
			t.Error("Subscribe after Close gave an open channel")
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Start(ctx, testConfig("closed-b")); !errors.Is(err, context.Canceled) {
		t.Errorf("Start with a cancelled context: %v", err)
	}
}

// testLogger discards; point it at os.Stderr with slog.NewTextHandler when debugging.
// (t.Log cannot be used: memberlist keeps logging while a pool shuts down.)
var testLogger = slog.New(slog.DiscardHandler)

// TestPoolConcurrentUse exercises every method at once under the race detector,
// including Close racing with the others.
func TestPoolConcurrentUse(t *testing.T) {
	t.Parallel()
	pools := startPools(t, "conc", 2)
	a := pools[0]
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				switch g {
				case 0:
					err := a.UpdateMeta(NodeMeta{Roles: []string{RoleStorage}, Zone: fmt.Sprint("z", i%3)}, 100*time.Millisecond)
					if err != nil && !errors.Is(err, ErrClosed) && !errors.Is(err, ErrNotBroadcast) {
						t.Errorf("UpdateMeta: %v", err)
						return
					}
				case 1:
					_ = a.StorageNodes()
					_ = a.Meta()
					_ = a.LocalAddr()
				case 2:
					ch, cancel := a.Subscribe()
					<-ch
					cancel()
				case 3:
					_ = pools[1].Members()
				}
				time.Sleep(time.Millisecond)
			}
		}()
	}
	time.Sleep(500 * time.Millisecond)
	if err := a.Close(); err != nil {
		t.Error(err)
	}
	time.Sleep(50 * time.Millisecond)
	close(stop)
	wg.Wait()
}
