package stats

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// The resource metrics, with upstream's names, help (component-base marks
// the stability level in it) and labels.
var (
	nodeCPUUsageDesc = prometheus.NewDesc("node_cpu_usage_seconds_total",
		"[STABLE] Cumulative cpu time consumed by the node in core-seconds", nil, nil)
	nodeMemoryUsageDesc = prometheus.NewDesc("node_memory_working_set_bytes",
		"[STABLE] Current working set of the node in bytes", nil, nil)
	containerStartTimeDesc = prometheus.NewDesc("container_start_time_seconds",
		"[STABLE] Start time of the container since unix epoch in seconds", []string{"container", "pod", "namespace"}, nil)
	containerCPUUsageDesc = prometheus.NewDesc("container_cpu_usage_seconds_total",
		"[STABLE] Cumulative cpu time consumed by the container in core-seconds", []string{"container", "pod", "namespace"}, nil)
	containerMemoryUsageDesc = prometheus.NewDesc("container_memory_working_set_bytes",
		"[STABLE] Current working set of the container in bytes", []string{"container", "pod", "namespace"}, nil)
	podCPUUsageDesc = prometheus.NewDesc("pod_cpu_usage_seconds_total",
		"[STABLE] Cumulative cpu time consumed by the pod in core-seconds", []string{"pod", "namespace"}, nil)
	podMemoryUsageDesc = prometheus.NewDesc("pod_memory_working_set_bytes",
		"[STABLE] Current working set of the pod in bytes", []string{"pod", "namespace"}, nil)
	scrapeErrorDesc = prometheus.NewDesc("scrape_error",
		"[ALPHA] (Deprecated since 1.29.0) 1 if there was an error while getting container metrics, 0 otherwise", nil, nil)
	resourceScrapeErrorDesc = prometheus.NewDesc("resource_scrape_error",
		"[STABLE] 1 if there was an error while getting container metrics, 0 otherwise", nil, nil)
)

// resourceCollector is upstream's resource metrics collector over one
// Provider: it reads the summary when it is collected.
type resourceCollector struct {
	ctx context.Context
	p   *Provider
	// logf reports a failed read; nil discards it.
	logf func(format string, args ...any)
}

func (c *resourceCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{nodeCPUUsageDesc, nodeMemoryUsageDesc, containerStartTimeDesc,
		containerCPUUsageDesc, containerMemoryUsageDesc, podCPUUsageDesc, podMemoryUsageDesc,
		scrapeErrorDesc, resourceScrapeErrorDesc} {
		ch <- d
	}
}

func (c *resourceCollector) Collect(ch chan<- prometheus.Metric) {
	var failed float64
	defer func() {
		ch <- prometheus.MustNewConstMetric(scrapeErrorDesc, prometheus.GaugeValue, failed)
		ch <- prometheus.MustNewConstMetric(resourceScrapeErrorDesc, prometheus.GaugeValue, failed)
	}()
	s, err := c.p.Summary(c.ctx)
	if err != nil {
		failed = 1
		if c.logf != nil {
			c.logf("resource metrics: %v", err)
		}
		return
	}
	if cpu := s.Node.CPU; cpu != nil && cpu.UsageCoreNanoSeconds != nil {
		ch <- withTime(cpu.Time.Time, prometheus.MustNewConstMetric(nodeCPUUsageDesc, prometheus.CounterValue, seconds(*cpu.UsageCoreNanoSeconds)))
	}
	if mem := s.Node.Memory; mem != nil && mem.WorkingSetBytes != nil {
		ch <- withTime(mem.Time.Time, prometheus.MustNewConstMetric(nodeMemoryUsageDesc, prometheus.GaugeValue, float64(*mem.WorkingSetBytes)))
	}
	for _, pod := range s.Pods {
		ns, name := pod.PodRef.Namespace, pod.PodRef.Name
		for _, cs := range pod.Containers {
			if cs.StartTime.Unix() > 0 {
				ch <- prometheus.MustNewConstMetric(containerStartTimeDesc, prometheus.GaugeValue,
					float64(cs.StartTime.UnixNano())/float64(time.Second), cs.Name, name, ns)
			}
			if cs.CPU != nil && cs.CPU.UsageCoreNanoSeconds != nil {
				ch <- withTime(cs.CPU.Time.Time, prometheus.MustNewConstMetric(containerCPUUsageDesc, prometheus.CounterValue,
					seconds(*cs.CPU.UsageCoreNanoSeconds), cs.Name, name, ns))
			}
			if cs.Memory != nil && cs.Memory.WorkingSetBytes != nil {
				ch <- withTime(cs.Memory.Time.Time, prometheus.MustNewConstMetric(containerMemoryUsageDesc, prometheus.GaugeValue,
					float64(*cs.Memory.WorkingSetBytes), cs.Name, name, ns))
			}
		}
		if pod.CPU != nil && pod.CPU.UsageCoreNanoSeconds != nil {
			ch <- withTime(pod.CPU.Time.Time, prometheus.MustNewConstMetric(podCPUUsageDesc, prometheus.CounterValue,
				seconds(*pod.CPU.UsageCoreNanoSeconds), name, ns))
		}
		if pod.Memory != nil && pod.Memory.WorkingSetBytes != nil {
			ch <- withTime(pod.Memory.Time.Time, prometheus.MustNewConstMetric(podMemoryUsageDesc, prometheus.GaugeValue,
				float64(*pod.Memory.WorkingSetBytes), name, ns))
		}
	}
}

func withTime(t time.Time, m prometheus.Metric) prometheus.Metric {
	if t.IsZero() {
		return m
	}
	return prometheus.NewMetricWithTimestamp(t, m)
}

func seconds(ns uint64) float64 { return float64(ns) / float64(time.Second) }

// The cAdvisor-style container metrics of the process's /metrics, with
// cAdvisor's names, help and labels.
var (
	cadvisorCPUDesc = prometheus.NewDesc("container_cpu_usage_seconds_total",
		"Cumulative cpu time consumed in seconds.", []string{"container", "cpu", "id", "image", "name", "namespace", "pod"}, nil)
	cadvisorMemoryDesc = prometheus.NewDesc("container_memory_working_set_bytes",
		"Current working set in bytes.", []string{"container", "id", "image", "name", "namespace", "pod"}, nil)
)

// ContainerMetrics is a Prometheus collector of the running containers of
// every node of a process, as cAdvisor's container_cpu_usage_seconds_total
// and container_memory_working_set_bytes (the series upstream's kubelet
// serves at /metrics/cadvisor; tend's kubelet process serves them on its
// /metrics). Register one per process and Add each node's Provider to it;
// it reads the runtimes only when scraped. id and name are the runtime's
// container ID; cAdvisor's series of pod and system cgroups are not served.
type ContainerMetrics struct {
	// Timeout bounds one scrape's reading of every node; default 10s.
	Timeout time.Duration

	mu        sync.Mutex
	providers map[*Provider]struct{}
}

// NewContainerMetrics makes a ContainerMetrics and, unless reg is nil,
// registers it with reg.
func NewContainerMetrics(reg prometheus.Registerer) (*ContainerMetrics, error) {
	m := &ContainerMetrics{providers: map[*Provider]struct{}{}}
	if reg != nil {
		if err := reg.Register(m); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Add makes the collector report p's containers until remove is called.
func (m *ContainerMetrics) Add(p *Provider) (remove func()) {
	m.mu.Lock()
	m.providers[p] = struct{}{}
	m.mu.Unlock()
	return func() {
		m.mu.Lock()
		delete(m.providers, p)
		m.mu.Unlock()
	}
}

// Describe implements prometheus.Collector.
func (m *ContainerMetrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- cadvisorCPUDesc
	ch <- cadvisorMemoryDesc
}

// Collect implements prometheus.Collector: it reads the nodes a few at a
// time. A node whose runtime cannot be listed is left out of the scrape.
func (m *ContainerMetrics) Collect(ch chan<- prometheus.Metric) {
	m.mu.Lock()
	ps := make([]*Provider, 0, len(m.providers))
	for p := range m.providers {
		ps = append(ps, p)
	}
	m.mu.Unlock()
	timeout := m.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	work := make(chan *Provider)
	var wg sync.WaitGroup
	for range min(len(ps), 4) {
		wg.Go(func() {
			for p := range work {
				cs, err := p.containers(ctx)
				if err != nil {
					continue
				}
				for _, c := range cs {
					s := c.stats
					ts := s.Timestamp
					ch <- withTime(ts, prometheus.MustNewConstMetric(cadvisorCPUDesc, prometheus.CounterValue,
						seconds(s.CPUUsageCoreNanoSeconds), c.status.Name, "total", c.status.ID, c.status.Image, c.status.ID, c.namespace, c.pod))
					ch <- withTime(ts, prometheus.MustNewConstMetric(cadvisorMemoryDesc, prometheus.GaugeValue,
						float64(s.MemoryWorkingSetBytes), c.status.Name, c.status.ID, c.status.Image, c.status.ID, c.namespace, c.pod))
				}
			}
		})
	}
	for _, p := range ps {
		work <- p
	}
	close(work)
	wg.Wait()
}

// ResourceMetricsHandler serves p's resource metrics, upstream's
// /metrics/resource, reading the node's stats at each request. logf, when
// not nil, reports a failed read (the response then has scrape_error 1).
func ResourceMetricsHandler(p *Provider, logf func(format string, args ...any)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A registry per request lets the collector read with the request's
		// context; it costs a few allocations.
		reg := prometheus.NewRegistry()
		if err := reg.Register(&resourceCollector{ctx: r.Context(), p: p, logf: logf}); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(w, r)
	})
}
