package framework

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Extension points, as upstream labels them.
const (
	extPreFilter  = "PreFilter"
	extFilter     = "Filter"
	extScore      = "Score"
	extPostFilter = "PostFilter"
)

// profile is the one scheduling profile tend runs.
const profile = "default-scheduler"

// metrics are the framework's own: the time each extension point takes
// (upstream's scheduler_framework_extension_point_duration_seconds). The
// scheduler core counts attempts, algorithm latency and preemptions.
type metrics struct {
	extension *prometheus.HistogramVec
}

// newMetrics registers the metrics on reg (nil: unregistered). A collector
// already registered under the name, by an earlier Framework on the same
// registry, is shared.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Subsystem: "scheduler",
		Name:      "framework_extension_point_duration_seconds",
		Help:      "Latency for running all plugins of a specific extension point.",
		Buckets:   prometheus.ExponentialBuckets(0.0001, 2, 12),
	}, []string{"extension_point", "status", "profile"})
	if reg != nil {
		if err := reg.Register(h); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				return nil, fmt.Errorf("framework: registering metrics: %w", err)
			}
			existing, ok := are.ExistingCollector.(*prometheus.HistogramVec)
			if !ok {
				return nil, fmt.Errorf("framework: registering metrics: %w", err)
			}
			h = existing
		}
	}
	return &metrics{extension: h}, nil
}

// observe records how long an extension point took since start and how it
// ended.
func (m *metrics) observe(point string, start time.Time, code Code) {
	m.extension.WithLabelValues(point, code.String(), profile).Observe(time.Since(start).Seconds())
}
