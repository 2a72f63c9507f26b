package apiserver

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type serverMetrics struct {
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	longRunning *prometheus.GaugeVec
	inFlight    *prometheus.GaugeVec
}

func newServerMetrics(reg prometheus.Registerer) *serverMetrics {
	m := &serverMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "apiserver_request_total",
			Help: "Counter of apiserver requests broken out for each verb, group, version, resource, subresource, scope and HTTP response code.",
		}, []string{"verb", "group", "version", "resource", "subresource", "scope", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "apiserver_request_duration_seconds",
			Help: "Response latency distribution in seconds for each verb, group, version, resource, subresource and scope.",
			Buckets: []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1,
				1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60},
		}, []string{"verb", "group", "version", "resource", "subresource", "scope"}),
		longRunning: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "apiserver_longrunning_requests",
			Help: "Gauge of all active long-running apiserver requests (watches) broken out by verb, group, version, resource and scope.",
		}, []string{"verb", "group", "version", "resource", "subresource", "scope"}),
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "apiserver_current_inflight_requests",
			Help: "Maximal number of currently used inflight request limit of this apiserver per request kind.",
		}, []string{"request_kind"}),
	}
	reg.MustRegister(m.requests, m.duration, m.longRunning, m.inFlight)
	return m
}

// metricVerb is upstream's verb label.
func metricVerb(r *http.Request, ri *RequestInfo) string {
	if !ri.IsResourceRequest {
		return r.Method
	}
	switch ri.Verb {
	case "create":
		return "POST"
	case "update":
		return "PUT"
	case "patch":
		if strings.HasPrefix(r.Header.Get("Content-Type"), "application/apply-patch") {
			return "APPLY"
		}
		return "PATCH"
	}
	return strings.ToUpper(ri.Verb)
}

func scope(ri *RequestInfo) string {
	switch {
	case !ri.IsResourceRequest:
		return ""
	case ri.Name != "":
		return "resource"
	case ri.Namespace != "":
		return "namespace"
	}
	return "cluster"
}

// filter records every request: its count by code, its latency, and the
// watches and requests in flight.
func (m *serverMetrics) filter(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ri, _ := RequestInfoFrom(r.Context())
		verb := metricVerb(r, ri)
		resource := ri.Resource
		if !ri.IsResourceRequest {
			resource = ""
		}
		labels := []string{verb, ri.APIGroup, ri.APIVersion, resource, ri.Subresource, scope(ri)}
		kind := "readOnly"
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			kind = "mutating"
		}
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		start := time.Now()
		if ri.Verb == "watch" {
			g := m.longRunning.WithLabelValues(labels...)
			g.Inc()
			defer g.Dec()
		} else {
			g := m.inFlight.WithLabelValues(kind)
			g.Inc()
			defer g.Dec()
		}
		next.ServeHTTP(rec, r)
		m.requests.WithLabelValues(append(labels, strconv.Itoa(rec.code))...).Inc()
		if ri.Verb != "watch" {
			m.duration.WithLabelValues(labels...).Observe(time.Since(start).Seconds())
		}
	})
}

// statusRecorder remembers the status code written; Unwrap lets
// http.ResponseController reach the underlying writer's Flush.
type statusRecorder struct {
	http.ResponseWriter
	code        int
	wroteHeader bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wroteHeader {
		s.code = code
		s.wroteHeader = true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	s.wroteHeader = true
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
