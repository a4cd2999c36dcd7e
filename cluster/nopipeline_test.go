package cluster

import (
	"errors"
	"testing"

	"github.com/hashicorp/raft"
)

// The transport handed to raft must refuse pipelining (see noPipelineTransport).
func TestTransportRefusesPipeline(t *testing.T) {
	var tr raft.Transport = noPipelineTransport{}
	if _, err := tr.AppendEntriesPipeline("x", "y"); !errors.Is(err, raft.ErrPipelineReplicationNotSupported) {
		t.Fatalf("AppendEntriesPipeline: %v", err)
	}
	if _, ok := tr.(raft.WithClose); !ok {
		t.Fatal("the wrapped transport lost its Close method")
	}
}
