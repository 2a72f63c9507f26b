package workqueue

import (
	"errors"
	"fmt"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// collector is one Registerer's workqueue metrics, with upstream's names and a
// name label. The first queue on a Registerer registers it; later ones find it
// again through prometheus.AlreadyRegisteredError, so the package keeps no
// table of registerers.
//
// The two unfinished-work gauges are computed when scraped, from the queues
// the collector tracks, rather than refreshed by a ticker as client-go does:
// they are exact, and an idle queue costs nothing.
type collector struct {
	depth         *prometheus.GaugeVec
	adds          *prometheus.CounterVec
	queueDuration *prometheus.HistogramVec
	workDuration  *prometheus.HistogramVec
	retries       *prometheus.CounterVec
	unfinished    *prometheus.Desc
	longest       *prometheus.Desc

	mu     sync.Mutex
	queues map[inFlighter]struct{}
}

// inFlighter is a Queue of any key type, as the collector sees it.
type inFlighter interface {
	inFlight() (name string, total, longest float64)
}

var _ inFlighter = (*Queue[string])(nil)

// queueMetrics is one queue's share of a collector.
type queueMetrics struct {
	depth         prometheus.Gauge
	adds          prometheus.Counter
	queueDuration prometheus.Observer
	workDuration  prometheus.Observer
	retries       prometheus.Counter
}

func newCollector() *collector {
	const subsystem = "workqueue"
	label := []string{"name"}
	// 10ns to 1000s: a key can wait MaxDelay in back-off.
	buckets := prometheus.ExponentialBuckets(10e-9, 10, 12)
	return &collector{
		depth: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Subsystem: subsystem, Name: "depth",
			Help: "Current depth of workqueue",
		}, label),
		adds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Subsystem: subsystem, Name: "adds_total",
			Help: "Total number of adds handled by workqueue",
		}, label),
		queueDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Subsystem: subsystem, Name: "queue_duration_seconds",
			Help:    "How long in seconds an item stays in workqueue before being requested.",
			Buckets: buckets,
		}, label),
		workDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Subsystem: subsystem, Name: "work_duration_seconds",
			Help:    "How long in seconds processing an item from workqueue takes.",
			Buckets: buckets,
		}, label),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Subsystem: subsystem, Name: "retries_total",
			Help: "Total number of retries handled by workqueue",
		}, label),
		unfinished: prometheus.NewDesc(
			prometheus.BuildFQName("", subsystem, "unfinished_work_seconds"),
			"How many seconds of work has been done that is in progress and hasn't been observed by work_duration. "+
				"Large values indicate stuck threads. One can deduce the number of stuck threads by observing "+
				"the rate at which this increases.",
			label, nil),
		longest: prometheus.NewDesc(
			prometheus.BuildFQName("", subsystem, "longest_running_processor_seconds"),
			"How many seconds has the longest running processor for workqueue been running.",
			label, nil),
		queues: map[inFlighter]struct{}{},
	}
}

// collectorFor returns reg's collector, registering it if it is the first; a
// nil reg gets a collector of its own that nothing scrapes.
func collectorFor(reg prometheus.Registerer) (*collector, error) {
	c := newCollector()
	if reg == nil {
		return c, nil
	}
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	if are, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); ok {
		if existing, ok := are.ExistingCollector.(*collector); ok {
			return existing, nil
		}
	}
	return nil, fmt.Errorf("registering workqueue metrics: %w", err)
}

func (c *collector) forQueue(name string) queueMetrics {
	return queueMetrics{
		depth:         c.depth.WithLabelValues(name),
		adds:          c.adds.WithLabelValues(name),
		queueDuration: c.queueDuration.WithLabelValues(name),
		workDuration:  c.workDuration.WithLabelValues(name),
		retries:       c.retries.WithLabelValues(name),
	}
}

func (c *collector) track(q inFlighter) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.queues[q] = struct{}{}
}

func (c *collector) untrack(q inFlighter) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.queues, q)
}

// Describe implements prometheus.Collector.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	c.depth.Describe(ch)
	c.adds.Describe(ch)
	c.queueDuration.Describe(ch)
	c.workDuration.Describe(ch)
	c.retries.Describe(ch)
	ch <- c.unfinished
	ch <- c.longest
}

// Collect implements prometheus.Collector. Queues with the same name are
// reported together: their unfinished work adds up, the longest is the
// longest of all.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	c.depth.Collect(ch)
	c.adds.Collect(ch)
	c.queueDuration.Collect(ch)
	c.workDuration.Collect(ch)
	c.retries.Collect(ch)

	// Copy the queues first, so that no queue's lock is taken under c.mu.
	c.mu.Lock()
	queues := make([]inFlighter, 0, len(c.queues))
	for q := range c.queues {
		queues = append(queues, q)
	}
	c.mu.Unlock()

	type work struct{ total, longest float64 }
	byName := map[string]work{}
	for _, q := range queues {
		name, total, longest := q.inFlight()
		w := byName[name]
		byName[name] = work{w.total + total, max(w.longest, longest)}
	}
	for name, w := range byName {
		ch <- prometheus.MustNewConstMetric(c.unfinished, prometheus.GaugeValue, w.total, name)
		ch <- prometheus.MustNewConstMetric(c.longest, prometheus.GaugeValue, w.longest, name)
	}
}
