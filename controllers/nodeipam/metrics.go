package nodeipam

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tendhq/tend/controllers"
)

// metrics are upstream's cidrset metrics, labelled by cluster CIDR.
type metrics struct {
	allocations *prometheus.CounterVec
	releases    *prometheus.CounterVec
	usage       *prometheus.GaugeVec
	tries       *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer, sets []*cidrSet) *metrics {
	const sub = "node_ipam_controller"
	label := []string{"clusterCIDR"}
	m := &metrics{
		allocations: prometheus.NewCounterVec(prometheus.CounterOpts{Subsystem: sub, Name: "cidrset_cidrs_allocations_total",
			Help: "Counter measuring total number of CIDR allocations."}, label),
		releases: prometheus.NewCounterVec(prometheus.CounterOpts{Subsystem: sub, Name: "cidrset_cidrs_releases_total",
			Help: "Counter measuring total number of CIDR releases."}, label),
		usage: prometheus.NewGaugeVec(prometheus.GaugeOpts{Subsystem: sub, Name: "cidrset_usage_cidrs",
			Help: "Gauge measuring percentage of allocated CIDRs."}, label),
		tries: prometheus.NewHistogramVec(prometheus.HistogramOpts{Subsystem: sub, Name: "cidrset_allocation_tries_per_request",
			Help: "Number of blocks found in use before a free one, per allocation.", Buckets: prometheus.ExponentialBuckets(1, 5, 5)}, label),
	}
	// Upstream's name, misspelling included, so that dashboards find it.
	maxCIDRs := prometheus.NewGaugeVec(prometheus.GaugeOpts{Subsystem: sub, Name: "cirdset_max_cidrs",
		Help: "Maximum number of CIDRs that can be allocated."}, label)
	if reg != nil {
		m.allocations = controllers.Register(reg, m.allocations)
		m.releases = controllers.Register(reg, m.releases)
		m.usage = controllers.Register(reg, m.usage)
		m.tries = controllers.Register(reg, m.tries)
		maxCIDRs = controllers.Register(reg, maxCIDRs)
	}
	for _, s := range sets {
		l := s.cluster.String()
		maxCIDRs.WithLabelValues(l).Set(float64(s.max))
		m.usage.WithLabelValues(l).Set(s.usage())
		m.allocations.WithLabelValues(l)
		m.releases.WithLabelValues(l)
	}
	return m
}

func (m *metrics) allocated(s *cidrSet, tries int) {
	l := s.cluster.String()
	m.allocations.WithLabelValues(l).Inc()
	m.tries.WithLabelValues(l).Observe(float64(tries))
	m.usage.WithLabelValues(l).Set(s.usage())
}

func (m *metrics) occupied(s *cidrSet, n int) {
	l := s.cluster.String()
	m.allocations.WithLabelValues(l).Add(float64(n))
	m.usage.WithLabelValues(l).Set(s.usage())
}

func (m *metrics) released(s *cidrSet, n int) {
	l := s.cluster.String()
	m.releases.WithLabelValues(l).Add(float64(n))
	m.usage.WithLabelValues(l).Set(s.usage())
}
