package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/coffer-io/coffer/cluster/internal/fsm"
	"github.com/coffer-io/coffer/cluster/meta"
)

// readHandler serves one named read on the leader (or locally for a stale read):
// it decodes JSON arguments, reads the state machine and encodes the JSON result.
// Errors of the state machine come back wrapped in appError.
type readHandler func(sm machine, args []byte) ([]byte, error)

// readOp is one typed read of the state machine. Its name is part of the internal RPC
// path: never change what a name means.
type readOp[A, R any] struct {
	name string
	run  func(sm machine, a A) (R, error)
}

// handler returns the RPC side of op.
func (op readOp[A, R]) handler() readHandler {
	return func(sm machine, args []byte) ([]byte, error) {
		var a A
		if err := json.Unmarshal(args, &a); err != nil {
			return nil, fmt.Errorf("%w: %s arguments: %v", ErrBadRequest, op.name, err)
		}
		r, err := op.run(sm, a)
		if err != nil {
			return nil, appError{err}
		}
		return json.Marshal(r)
	}
}

// ReadOptions tune one read.
type ReadOptions struct {
	// Stale serves the read from the local state machine without confirming
	// leadership: faster and available without a quorum, but possibly behind the
	// leader. For listings where the caller accepts that.
	Stale bool
}

// read runs a named read: locally after a leadership check when this node leads,
// else on the leader over the RPC (args marshalled, result unmarshalled into out).
// local runs against the state machine and stores its result itself.
func (n *Node) read(ctx context.Context, name string, opts ReadOptions, local func(machine) error, args, out any) error {
	if opts.Stale {
		if !n.enter() {
			return ErrClosed
		}
		defer n.leave()
		return local(n.sm)
	}
	var body []byte
	err := n.leaderDo(ctx,
		func(ctx context.Context) error {
			if err := n.readBarrier(ctx); err != nil {
				return err
			}
			if err := local(n.sm); err != nil {
				return appError{err}
			}
			return nil
		},
		func(ctx context.Context, addr string) error {
			if body == nil {
				b, err := json.Marshal(args)
				if err != nil {
					return fmt.Errorf("cluster: encode %s arguments: %w", name, err)
				}
				body = b
			}
			rb, err := rpcCall(ctx, n.hc, addr, "read/"+name, body, false, n.sm.errorFrom)
			if err != nil {
				return err
			}
			if err := json.Unmarshal(rb, out); err != nil {
				return fmt.Errorf("cluster: decode %s result: %w", name, err)
			}
			return nil
		})
	var app appError
	if errors.As(err, &app) {
		return app.err
	}
	return err
}

// shardsArgs and shardsOwnerResult are the argument and result of readShardsOwner.
type (
	shardsArgs struct {
		ID meta.ID `json:"id"`
	}
	shardsOwnerResult struct {
		Ref  meta.ShardsRef `json:"ref"`
		Live bool           `json:"live"`
	}
)

// readShardsOwner answers whether a shard set is referenced, for storage nodes'
// orphan sweepers.
var readShardsOwner = fsmRead("shards-owner", func(f *fsm.FSM, a shardsArgs) (shardsOwnerResult, error) {
	ref, live, err := f.ShardsOwner(a.ID)
	return shardsOwnerResult{Ref: ref, Live: live}, err
})
