// Package membertest starts gossip pools on loopback for tests of packages that use
// cluster/member, with timers short enough that joins, updates and failures show up
// within a second or two.
//
// Pools started with Start are closed by t.Cleanup. Everything here is safe to call
// from parallel tests: every pool binds its own free port.
package membertest

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/coffer-io/coffer/cluster/member"
)

// Key is the gossip key of every Config made here. Test use only.
var Key = bytes.Repeat([]byte{0x5a}, 32)

// Label is the cluster label of every Config made here.
const Label = "membertest"

// Config returns a loopback pool config named name that joins seeds, advertising meta.
// Callers may change any field before Start.
func Config(name string, meta member.NodeMeta, seeds ...string) member.Config {
	return member.Config{
		Name:                name,
		BindAddr:            "127.0.0.1",
		Seeds:               seeds,
		SecretKey:           Key,
		Label:               Label,
		Meta:                meta,
		Profile:             member.ProfileLocal,
		ProbeInterval:       200 * time.Millisecond,
		ProbeTimeout:        100 * time.Millisecond,
		PushPullInterval:    500 * time.Millisecond,
		RetransmitMult:      4,
		RejoinInterval:      200 * time.Millisecond,
		DebounceInterval:    50 * time.Millisecond,
		DebounceMax:         500 * time.Millisecond,
		LeaveGrace:          300 * time.Millisecond,
		DeadNodeReclaimTime: 100 * time.Millisecond,
	}
}

// Start starts a pool from cfg and closes it when the test ends.
func Start(t testing.TB, cfg member.Config) *member.Pool {
	t.Helper()
	p, err := member.Start(context.Background(), cfg)
	if err != nil {
		t.Fatalf("membertest: start %s: %v", cfg.Name, err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// WaitMembers waits until p lists exactly n members or fails the test after within.
func WaitMembers(t testing.TB, p *member.Pool, n int, within time.Duration) []member.Member {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		m := p.Members()
		if len(m) == n {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("membertest: %d members after %v, want %d", len(m), within, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
