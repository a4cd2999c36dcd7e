package cluster

import "github.com/hashicorp/raft"

// noPipelineTransport is raft's network transport with pipelined replication turned
// off. raft v1.8.0's netPipeline can deadlock: with the default MaxRPCsInFlight its
// channels are unbuffered, and when a follower rejects an AppendEntries (or stops
// answering because it is shutting down) the replication goroutine can park in
// netPipeline.AppendEntries while the response decoder parks on a channel nobody
// reads. Raft.Shutdown then waits for that goroutine forever, and a follower can stop
// receiving entries while heartbeats keep it from calling an election. We hit the
// shutdown hang in TestLeaderCloseTransfersLeadership under load; grafana/pyroscope
// #5518 describes the replication stall in production and disables pipelining the
// same way. Without the pipeline, raft sends AppendEntries one at a time per
// follower (each with the transport's timeout), still batching up to
// MaxAppendEntries entries per RPC.
type noPipelineTransport struct {
	*raft.NetworkTransport
}

// AppendEntriesPipeline reports that pipelining is unsupported, so raft falls back to
// synchronous replication.
func (noPipelineTransport) AppendEntriesPipeline(raft.ServerID, raft.ServerAddress) (raft.AppendPipeline, error) {
	return nil, raft.ErrPipelineReplicationNotSupported
}
