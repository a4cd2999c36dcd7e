package node

import "github.com/prometheus/client_golang/prometheus"

var (
	descReadErrors  = prometheus.NewDesc("coffer_node_read_errors_total", "Shard reads that failed with an I/O error.", nil, nil)
	descWriteErrors = prometheus.NewDesc("coffer_node_write_errors_total", "Shard writes, syncs, renames or unlinks that failed.", nil, nil)
	descCorruptions = prometheus.NewDesc("coffer_node_corruptions_total", "Stored frames, headers or index records that failed verification.", nil, nil)
	descAvail       = prometheus.NewDesc("coffer_node_available_bytes", "Free space of the data directory's filesystem.", nil, nil)
	descTotal       = prometheus.NewDesc("coffer_node_capacity_bytes", "Size of the data directory's filesystem.", nil, nil)
	descReadOnly    = prometheus.NewDesc("coffer_node_read_only", "1 while the store refuses puts.", nil, nil)
)

// Collector returns a Prometheus collector of the store's Health. Register it once.
func (s *Store) Collector() prometheus.Collector { return collector{s} }

type collector struct{ s *Store }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descReadErrors, descWriteErrors, descCorruptions, descAvail, descTotal, descReadOnly} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	h := c.s.Health()
	ro := 0.0
	if h.ReadOnly {
		ro = 1
	}
	ch <- prometheus.MustNewConstMetric(descReadErrors, prometheus.CounterValue, float64(h.ReadErrors))
	ch <- prometheus.MustNewConstMetric(descWriteErrors, prometheus.CounterValue, float64(h.WriteErrors))
	ch <- prometheus.MustNewConstMetric(descCorruptions, prometheus.CounterValue, float64(h.Corruptions))
	ch <- prometheus.MustNewConstMetric(descAvail, prometheus.GaugeValue, float64(h.AvailBytes))
	ch <- prometheus.MustNewConstMetric(descTotal, prometheus.GaugeValue, float64(h.TotalBytes))
	ch <- prometheus.MustNewConstMetric(descReadOnly, prometheus.GaugeValue, ro)
}
