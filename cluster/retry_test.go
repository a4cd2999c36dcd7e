package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

func TestRetryable(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{raft.ErrNotLeader, true},
		{fmt.Errorf("wrapped: %w", raft.ErrLeadershipLost), true},
		{raft.ErrLeadershipTransferInProgress, true},
		{raft.ErrEnqueueTimeout, true},
		{errNoLeader, true},
		{fmt.Errorf("%w: x", errUnreachable), true},
		{&rpcError{Kind: "not-leader", Retry: true}, true},
		{&rpcError{Kind: "bad-request"}, false},
		{ErrBadRequest, false},
		{raft.ErrRaftShutdown, false},
		{context.DeadlineExceeded, false},
		{errors.New("other"), false},
	}
	for _, tt := range tests {
		if got := retryable(tt.err); got != tt.want {
			t.Errorf("retryable(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

func TestTryOnce(t *testing.T) {
	block := func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
	boom := errors.New("boom")
	tests := []struct {
		name      string
		parent    time.Duration
		fn        func(context.Context) error
		wantErr   error
		wantRetry bool
	}{
		{"ok", time.Second, func(context.Context) error { return nil }, nil, false},
		{"plain error passes through", time.Second, func(context.Context) error { return boom }, boom, false},
		{"attempt timeout is retryable", time.Second, block, errUnreachable, true},
		{"request deadline is not an attempt timeout", 5 * time.Millisecond, block, context.DeadlineExceeded, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), tt.parent)
			defer cancel()
			timeout := 20 * time.Millisecond
			err := tryOnce(ctx, timeout, tt.fn)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if retryable(err) != tt.wantRetry {
				t.Errorf("retryable(%v) = %v, want %v", err, !tt.wantRetry, tt.wantRetry)
			}
		})
	}
}

func TestUnavailableKeepsCauses(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), time.Millisecond)
	defer cancel()
	<-ctx.Done()
	err := unavailable(ctx, raft.ErrLeadershipLost)
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("unavailable = %v: want ErrUnavailable and the context's cause", err)
	}
}

func TestSleepBackoffBounds(t *testing.T) {
	stop := make(chan struct{})
	rnd := bytes.NewReader(bytes.Repeat([]byte{255}, 64))
	for attempt, max := range []time.Duration{2 * time.Millisecond, 4 * time.Millisecond, 8 * time.Millisecond, 8 * time.Millisecond} {
		start := time.Now()
		if !sleepBackoff(t.Context(), stop, 2*time.Millisecond, 8*time.Millisecond, attempt, rnd) {
			t.Fatal("backoff interrupted")
		}
		if d := time.Since(start); d < max/2 {
			t.Errorf("attempt %d slept %v, want at least %v", attempt, d, max/2)
		}
	}
	close(stop)
	if sleepBackoff(t.Context(), stop, time.Hour, time.Hour, 0, rnd) {
		t.Error("backoff ignored the stop signal")
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if sleepBackoff(ctx, make(chan struct{}), time.Hour, time.Hour, 0, rnd) {
		t.Error("backoff ignored a cancelled context")
	}
}
