package kubelet

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are a kubelet's Prometheus metrics, with upstream's names and
// labels: kubelet_node_name{node}, kubelet_running_pods,
// kubelet_running_containers{container_state},
// kubelet_pod_start_duration_seconds,
// kubelet_pod_worker_duration_seconds{operation_type},
// kubelet_pod_status_sync_duration_seconds, kubelet_started_pods_total,
// kubelet_started_pods_errors_total,
// kubelet_started_containers_total{container_type},
// kubelet_started_containers_errors_total{code,container_type},
// kubelet_restarted_pods_total{static}, kubelet_runtime_operations_total,
// kubelet_runtime_operations_errors_total and
// kubelet_runtime_operations_duration_seconds{operation_type},
// kubelet_pleg_relist_duration_seconds and
// kubelet_node_startup_registration_duration_seconds.
//
// One set serves every kubelet of a process: counters and histograms add up,
// gauges (running pods and containers) are the sum over the process's nodes,
// and kubelet_node_name has one series per node. kubelet_restarted_pods_total
// counts what upstream's does, pods recreated with the UID of one the kubelet
// runs, which happens to static pods only: it stays 0.
type Metrics struct {
	nodeName          *prometheus.GaugeVec
	runningPods       prometheus.Gauge
	runningContainers *prometheus.GaugeVec
	podStartDuration  prometheus.Histogram
	podWorkerDuration *prometheus.HistogramVec
	startedPods       prometheus.Counter
	startedPodsErrors prometheus.Counter
	startedContainers *prometheus.CounterVec
	startedContErrors *prometheus.CounterVec
	restartedPods     *prometheus.CounterVec
	runtimeOps        *prometheus.CounterVec
	runtimeOpErrors   *prometheus.CounterVec
	runtimeOpDuration *prometheus.HistogramVec
	relistDuration    prometheus.Histogram
	statusSync        prometheus.Histogram
	registration      prometheus.Histogram
}

// NewMetrics makes the kubelet metrics and registers them with reg. Call it
// once per process and share the result (Config.Metrics) among the kubelets.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := newMetrics()
	if reg == nil {
		return m, nil
	}
	var errs []error
	for _, c := range m.collectors() {
		if err := reg.Register(c); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return m, nil
}

func newMetrics() *Metrics {
	const ns = "kubelet"
	return &Metrics{
		nodeName: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "node_name",
			Help: "The node's name. The count is always 1."}, []string{"node"}),
		runningPods: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "running_pods",
			Help: "Number of pods that have a running pod sandbox"}),
		runningContainers: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "running_containers",
			Help: "Number of containers currently running"}, []string{"container_state"}),
		podStartDuration: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Name: "pod_start_duration_seconds",
			Help:    "Duration in seconds from kubelet seeing a pod for the first time to the pod starting to run",
			Buckets: []float64{0.5, 1, 2, 3, 4, 5, 6, 8, 10, 20, 30, 45, 60, 120, 180, 240, 300, 360, 480, 600, 900, 1200, 1800, 2700, 3600}}),
		podWorkerDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: "pod_worker_duration_seconds",
			Help:    "Duration in seconds to sync a single pod. Broken down by operation type: create, update, or sync",
			Buckets: prometheus.DefBuckets}, []string{"operation_type"}),
		startedPods: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "started_pods_total",
			Help: "Cumulative number of pods started"}),
		startedPodsErrors: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "started_pods_errors_total",
			Help: "Cumulative number of errors when starting pods"}),
		startedContainers: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "started_containers_total",
			Help: "Cumulative number of containers started"}, []string{"container_type"}),
		startedContErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "started_containers_errors_total",
			Help: "Cumulative number of errors when starting containers"}, []string{"code", "container_type"}),
		restartedPods: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "restarted_pods_total",
			Help: "Number of pods that have been restarted because they were deleted and recreated with the same UID while the kubelet was watching them (common for static pods, extremely uncommon for API pods)"},
			[]string{"static"}),
		runtimeOps: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "runtime_operations_total",
			Help: "Cumulative number of runtime operations by operation type."}, []string{"operation_type"}),
		runtimeOpErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "runtime_operations_errors_total",
			Help: "Cumulative number of runtime operation errors by operation type."}, []string{"operation_type"}),
		runtimeOpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: "runtime_operations_duration_seconds",
			Help:    "Duration in seconds of runtime operations. Broken down by operation type.",
			Buckets: prometheus.ExponentialBuckets(.005, 2.5, 14)}, []string{"operation_type"}),
		relistDuration: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Name: "pleg_relist_duration_seconds",
			Help: "Duration in seconds for relisting pods in PLEG.", Buckets: prometheus.DefBuckets}),
		statusSync: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Name: "pod_status_sync_duration_seconds",
			Help:    "Duration in seconds to sync a pod status update. Measures time from detection of a change to pod status until the API is successfully updated for that pod, even if multiple intevening changes to pod status occur.",
			Buckets: []float64{0.010, 0.050, 0.100, 0.500, 1, 5, 10, 20, 30, 45, 60}}),
		registration: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Name: "node_startup_registration_duration_seconds",
			Help: "Duration in seconds of node startup during registration.", Buckets: prometheus.DefBuckets}),
	}
}

func (m *Metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.nodeName, m.runningPods, m.runningContainers, m.podStartDuration,
		m.podWorkerDuration, m.startedPods, m.startedPodsErrors, m.startedContainers, m.startedContErrors,
		m.restartedPods, m.runtimeOps, m.runtimeOpErrors, m.runtimeOpDuration, m.relistDuration,
		m.statusSync, m.registration}
}

// Container types of kubelet_started_containers_total.
const (
	containerTypeRegular = "container"
	containerTypeInit    = "init_container"
)

// observeRuntime records one runtime call.
func (m *Metrics) observeRuntime(op string, start time.Time, end time.Time, err error) {
	m.runtimeOps.WithLabelValues(op).Inc()
	m.runtimeOpDuration.WithLabelValues(op).Observe(end.Sub(start).Seconds())
	if err != nil {
		m.runtimeOpErrors.WithLabelValues(op).Inc()
	}
}

// nodeGauges are one node's share of the process-wide gauges, so that a node
// can add the change of its own counts and take them back when it stops.
type nodeGauges struct {
	pods       int
	containers map[string]int // by state
}

// update moves the process gauges by the change from g to pods/containers and
// remembers the new counts.
func (m *Metrics) update(g *nodeGauges, pods int, containers map[string]int) {
	m.runningPods.Add(float64(pods - g.pods))
	g.pods = pods
	if g.containers == nil {
		g.containers = map[string]int{}
	}
	for _, state := range []string{string(ContainerCreated), string(ContainerRunning), string(ContainerExited), string(ContainerUnknown)} {
		if d := containers[state] - g.containers[state]; d != 0 {
			m.runningContainers.WithLabelValues(state).Add(float64(d))
			g.containers[state] = containers[state]
		}
	}
}
