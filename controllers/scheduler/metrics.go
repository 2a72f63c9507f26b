package scheduler

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tendhq/tend/controllers"
)

// Results of a scheduling attempt, as upstream's metrics label them.
const (
	resultScheduled     = "scheduled"
	resultUnschedulable = "unschedulable"
	resultError         = "error"
)

// metrics are upstream's scheduler_* metrics that the core owns; the queue
// registers scheduler_pending_pods and scheduler_queue_incoming_pods_total,
// the framework its own.
type metrics struct {
	attempts         *prometheus.CounterVec
	attemptDuration  *prometheus.HistogramVec
	sliDuration      *prometheus.HistogramVec
	podAttempts      prometheus.Histogram
	preemptAttempts  prometheus.Counter
	preemptVictims   prometheus.Histogram
	bindingDuration  prometheus.Histogram
	algorithmLatency prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer, c *cache) *metrics {
	m := &metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scheduler_schedule_attempts_total",
			Help: "Number of attempts to schedule pods, by the result. 'unschedulable' means a pod could not be scheduled, while 'error' means an internal scheduler problem.",
		}, []string{"result", "profile"}),
		attemptDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "scheduler_scheduling_attempt_duration_seconds",
			Help:    "Scheduling attempt latency in seconds (scheduling algorithm + binding)",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 15),
		}, []string{"result", "profile"}),
		sliDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "scheduler_pod_scheduling_sli_duration_seconds",
			Help:    "E2e latency for a pod being scheduled, from the time the pod enters the scheduling queue and might involve multiple scheduling attempts.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 20),
		}, []string{"attempts"}),
		podAttempts: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "scheduler_pod_scheduling_attempts",
			Help:    "Number of attempts to successfully schedule a pod.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 5),
		}),
		preemptAttempts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "scheduler_preemption_attempts_total",
			Help: "Total preemption attempts in the cluster till now",
		}),
		preemptVictims: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "scheduler_preemption_victims",
			Help:    "Number of selected preemption victims",
			Buckets: prometheus.ExponentialBuckets(1, 2, 7),
		}),
		bindingDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "scheduler_binding_duration_seconds",
			Help:    "Binding latency in seconds",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 15),
		}),
		algorithmLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "scheduler_scheduling_algorithm_duration_seconds",
			Help:    "Scheduling algorithm latency in seconds",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 15),
		}),
	}
	if reg == nil {
		return m
	}
	m.attempts = controllers.Register(reg, m.attempts)
	m.attemptDuration = controllers.Register(reg, m.attemptDuration)
	m.sliDuration = controllers.Register(reg, m.sliDuration)
	m.podAttempts = controllers.Register(reg, m.podAttempts)
	m.preemptAttempts = controllers.Register(reg, m.preemptAttempts)
	m.preemptVictims = controllers.Register(reg, m.preemptVictims)
	m.bindingDuration = controllers.Register(reg, m.bindingDuration)
	m.algorithmLatency = controllers.Register(reg, m.algorithmLatency)
	// scheduler_cache_size reads the cache at scrape time. A second scheduler
	// on the same registerer (a restart in one process) keeps the first one's.
	for _, typ := range []string{"nodes", "pods", "assumed_pods"} {
		controllers.Register(reg, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "scheduler_cache_size",
			Help:        "Number of nodes, pods, and assumed (bound) pods in the scheduler cache.",
			ConstLabels: prometheus.Labels{"type": typ},
		}, func() float64 {
			nodes, pods, assumed := c.counts()
			switch typ {
			case "nodes":
				return float64(nodes)
			case "pods":
				return float64(pods)
			}
			return float64(assumed)
		}))
	}
	return m
}

// attemptsLabel is upstream's getAttemptsLabel: attempts, capped at "15+".
func attemptsLabel(n int) string {
	if n >= 15 {
		return "15+"
	}
	return strconv.Itoa(n)
}
