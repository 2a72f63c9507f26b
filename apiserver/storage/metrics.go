package storage

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	etcd      *prometheus.HistogramVec
	objects   *prometheus.GaugeVec
	history   *prometheus.GaugeVec
	events    *prometheus.CounterVec
	watchers  *prometheus.GaugeVec
	conflicts *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		etcd: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "etcd_request_duration_seconds",
			Help:    "Etcd request latency in seconds for each operation and resource.",
			Buckets: []float64{0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1, 2, 4, 15},
		}, []string{"operation", "type"}),
		objects: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "apiserver_storage_objects",
			Help: "Number of stored objects at the time of last check split by kind.",
		}, []string{"resource"}),
		history: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "watch_cache_capacity",
			Help: "Number of events the watch cache holds for watches to resume from, by resource.",
		}, []string{"resource"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "apiserver_watch_cache_events_received_total",
			Help: "Counter of events received in watch cache broken by resource type.",
		}, []string{"resource"}),
		watchers: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "apiserver_registered_watchers",
			Help: "Number of currently registered watchers for a given resource.",
		}, []string{"resource"}),
		conflicts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "apiserver_storage_update_conflicts_total",
			Help: "Updates retried because the cached object was stale, by resource.",
		}, []string{"resource"}),
	}
	if reg != nil {
		reg.MustRegister(m.etcd, m.objects, m.history, m.events, m.watchers, m.conflicts)
	}
	return m
}

func (m *metrics) observeEtcd(op, resource string, start time.Time, err error) {
	m.etcd.WithLabelValues(op, resource).Observe(time.Since(start).Seconds())
}
