package cluster

import (
	"sync/atomic"

	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"
)

// counters are the node's request statistics, exported by Collector.
type counters struct {
	local       atomic.Uint64 // requests served on this node as leader
	forwarded   atomic.Uint64 // requests sent to the leader's RPC
	retries     atomic.Uint64 // attempts repeated after a retryable failure
	unavailable atomic.Uint64 // requests that failed with ErrUnavailable
}

// Collector returns a Prometheus collector of the node's raft state and request
// counters, labelled with the node id. The caller registers it.
func (n *Node) Collector() prometheus.Collector { return nodeCollector{n} }

type nodeCollector struct{ n *Node }

func (c nodeCollector) descs() []*prometheus.Desc {
	l := prometheus.Labels{"node": c.n.id}
	return []*prometheus.Desc{
		prometheus.NewDesc("coffer_meta_leader", "1 when this voter is the ready leader.", nil, l),
		prometheus.NewDesc("coffer_meta_term", "Current raft term.", nil, l),
		prometheus.NewDesc("coffer_meta_commit_index", "Raft commit index.", nil, l),
		prometheus.NewDesc("coffer_meta_applied_index", "Last index applied to the state machine.", nil, l),
		prometheus.NewDesc("coffer_meta_requests_total", "Requests by where they were served.", []string{"path"}, l),
		prometheus.NewDesc("coffer_meta_retries_total", "Request attempts repeated after a retryable failure.", nil, l),
		prometheus.NewDesc("coffer_meta_unavailable_total", "Requests that failed with no leader reachable.", nil, l),
	}
}

func (c nodeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs() {
		ch <- d
	}
}

func (c nodeCollector) Collect(ch chan<- prometheus.Metric) {
	d := c.descs()
	n := c.n
	leader := 0.0
	if n.raft.State() == raft.Leader && n.IsLeader() {
		leader = 1
	}
	gauge := func(desc *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, labels...)
	}
	counter := func(desc *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, float64(v), labels...)
	}
	gauge(d[0], leader)
	gauge(d[1], float64(n.raft.CurrentTerm()))
	gauge(d[2], float64(n.raft.CommitIndex()))
	gauge(d[3], float64(n.sm.AppliedIndex()))
	counter(d[4], n.stats.local.Load(), "local")
	counter(d[4], n.stats.forwarded.Load(), "forwarded")
	counter(d[5], n.stats.retries.Load())
	counter(d[6], n.stats.unavailable.Load())
}
