package queue

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Queue names in metrics, as upstream's.
const (
	queueActive        = "active"
	queueBackoff       = "backoff"
	queueUnschedulable = "unschedulable"
	queueGated         = "gated"
)

var pendingDesc = prometheus.NewDesc("scheduler_pending_pods",
	"Number of pending pods, by the queue type. 'active' means number of pods in activeQ; 'backoff' means number of pods in backoffQ; 'unschedulable' means number of pods in unschedulablePods that the scheduler attempted to schedule and failed; 'gated' is the number of unschedulable pods that the scheduler never attempted to schedule because they are gated.",
	[]string{"queue"}, nil)

// metrics holds the queue's instruments; the zero value (no registerer)
// records nothing.
type metrics struct {
	incoming *prometheus.CounterVec
	// counters caches incoming's children: WithLabelValues hashes and
	// locks, too much for every move. Guarded by Queue.mu.
	counters map[[2]string]prometheus.Counter
}

// pendingCollector reports scheduler_pending_pods from the queue's own
// lengths at scrape time, so moves cost nothing and the numbers are exact.
type pendingCollector struct{ q *Queue }

func (c pendingCollector) Describe(ch chan<- *prometheus.Desc) { ch <- pendingDesc }

func (c pendingCollector) Collect(ch chan<- prometheus.Metric) {
	c.q.mu.Lock()
	active, backoff, unsched, gated := c.q.active.Len(), c.q.backoff.Len(), len(c.q.unschedulable), len(c.q.gated)
	c.q.mu.Unlock()
	for _, v := range []struct {
		queue string
		n     int
	}{{queueActive, active}, {queueBackoff, backoff}, {queueUnschedulable, unsched}, {queueGated, gated}} {
		ch <- prometheus.MustNewConstMetric(pendingDesc, prometheus.GaugeValue, float64(v.n), v.queue)
	}
}

func newMetrics(q *Queue, reg prometheus.Registerer) metrics {
	if reg == nil {
		return metrics{}
	}
	incoming := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "scheduler_queue_incoming_pods_total",
		Help: "Number of pods added to scheduling queues by event and queue type.",
	}, []string{"queue", "event"})
	if err := reg.Register(incoming); err != nil {
		var are prometheus.AlreadyRegisteredError
		if !errors.As(err, &are) {
			panic(err) // a programming error: the descriptors are constant
		}
		if existing, ok := are.ExistingCollector.(*prometheus.CounterVec); ok {
			incoming = existing
		}
	}
	// A second queue on the same registry keeps the first one's gauge.
	_ = reg.Register(pendingCollector{q})
	return metrics{incoming: incoming, counters: map[[2]string]prometheus.Counter{}}
}

// incLocked counts a pod entering queue because of event. Called with Queue.mu held.
func (m *metrics) incLocked(queue, event string) {
	if m.incoming == nil {
		return
	}
	k := [2]string{queue, event}
	c, ok := m.counters[k]
	if !ok {
		c = m.incoming.WithLabelValues(queue, event)
		m.counters[k] = c
	}
	c.Inc()
}
