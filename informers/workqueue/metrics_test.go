package workqueue_test

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/tendhq/tend/informers/workqueue"
)

func newRegistry() *prometheus.Registry { return prometheus.NewRegistry() }

// sample is one gathered series: a gauge's or counter's value, or a
// histogram's count and sum.
type sample struct {
	value float64
	count uint64
	sum   float64
}

// gather returns metric{name=queue}, and whether there is one.
func gather(t *testing.T, reg prometheus.Gatherer, metric, queue string) (sample, bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather() = %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != metric {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() != "name" || l.GetValue() != queue {
					continue
				}
				switch {
				case m.Gauge != nil:
					return sample{value: m.GetGauge().GetValue()}, true
				case m.Counter != nil:
					return sample{value: m.GetCounter().GetValue()}, true
				case m.Histogram != nil:
					h := m.GetHistogram()
					return sample{count: h.GetSampleCount(), sum: h.GetSampleSum()}, true
				}
			}
		}
	}
	return sample{}, false
}

func TestMetrics(t *testing.T) {
	clk := clocktesting.NewFakeClock(epoch)
	reg := newRegistry()
	// Two queues, of different key types, share the registry.
	a := newQueue(t, workqueue.Options{Name: "a", Registerer: reg, Clock: clk})
	b := workqueue.New[int](workqueue.Options{Name: "b", Registerer: reg, Clock: clk})
	t.Cleanup(b.ShutDown)

	a.Add("x")
	a.Add("x")
	a.Add("y")
	b.Add(1)
	clk.Step(2 * time.Second)
	x := get(t, a) // queued for 2s
	clk.Step(3 * time.Second)
	y := get(t, a) // queued for 5s
	clk.Step(time.Second)
	a.Add(x) // queued again while x is processed
	a.AddRateLimited("z")
	a.AddRateLimited("z")

	for _, tc := range []struct {
		metric, queue string
		want          sample
	}{
		{"workqueue_adds_total", "a", sample{value: 3}},
		{"workqueue_adds_total", "b", sample{value: 1}},
		{"workqueue_depth", "a", sample{value: 1}},
		{"workqueue_depth", "b", sample{value: 1}},
		{"workqueue_retries_total", "a", sample{value: 2}},
		{"workqueue_retries_total", "b", sample{value: 0}},
		// x has been processed for 4s, y for 1s.
		{"workqueue_unfinished_work_seconds", "a", sample{value: 5}},
		{"workqueue_longest_running_processor_seconds", "a", sample{value: 4}},
		{"workqueue_unfinished_work_seconds", "b", sample{value: 0}},
		{"workqueue_longest_running_processor_seconds", "b", sample{value: 0}},
		{"workqueue_queue_duration_seconds", "a", sample{count: 2, sum: 7}},
		{"workqueue_queue_duration_seconds", "b", sample{count: 0, sum: 0}},
		{"workqueue_work_duration_seconds", "a", sample{count: 0, sum: 0}},
	} {
		if got, ok := gather(t, reg, tc.metric, tc.queue); !ok || got != tc.want {
			t.Errorf("%s{name=%q} = %+v, %v; want %+v", tc.metric, tc.queue, got, ok, tc.want)
		}
	}

	a.Done(x) // after 4s; x is queued again
	a.Done(y) // after 1s
	x = get(t, a)
	clk.Step(time.Second)
	a.Done(x) // after 1s, queued for 0s
	b.ShutDown()
	for _, tc := range []struct {
		metric, queue string
		want          sample
		ok            bool
	}{
		{"workqueue_work_duration_seconds", "a", sample{count: 3, sum: 6}, true},
		{"workqueue_queue_duration_seconds", "a", sample{count: 3, sum: 7}, true},
		{"workqueue_unfinished_work_seconds", "a", sample{value: 0}, true},
		{"workqueue_depth", "a", sample{value: 1}, true}, // z, after its back-off
		// A shut-down queue with nothing in progress reports no unfinished
		// work; its counters stay.
		{"workqueue_unfinished_work_seconds", "b", sample{}, false},
		{"workqueue_longest_running_processor_seconds", "b", sample{}, false},
		{"workqueue_adds_total", "b", sample{value: 1}, true},
	} {
		if got, ok := gather(t, reg, tc.metric, tc.queue); ok != tc.ok || got != tc.want {
			t.Errorf("%s{name=%q} = %+v, %v; want %+v, %v", tc.metric, tc.queue, got, ok, tc.want, tc.ok)
		}
	}
}

func TestMetricsOfQueuesWithOneName(t *testing.T) {
	clk := clocktesting.NewFakeClock(epoch)
	reg := newRegistry()
	q1 := newQueue(t, workqueue.Options{Name: "same", Registerer: reg, Clock: clk})
	q2 := newQueue(t, workqueue.Options{Name: "same", Registerer: reg, Clock: clk})
	q1.Add("a")
	q2.Add("a")
	q2.Add("b")
	get(t, q1)
	clk.Step(time.Second)
	get(t, q2)
	clk.Step(2 * time.Second)
	for _, tc := range []struct {
		metric string
		want   float64
	}{
		{"workqueue_adds_total", 3},
		{"workqueue_depth", 1},
		{"workqueue_unfinished_work_seconds", 5},
		{"workqueue_longest_running_processor_seconds", 3},
	} {
		if got, ok := gather(t, reg, tc.metric, "same"); !ok || got.value != tc.want {
			t.Errorf("%s{name=same} = %v, %v; want %v", tc.metric, got.value, ok, tc.want)
		}
	}
}

func TestNewPanicsOnConflictingMetrics(t *testing.T) {
	reg := newRegistry()
	reg.MustRegister(prometheus.NewGauge(prometheus.GaugeOpts{Name: "workqueue_depth", Help: "Something else."}))
	defer func() {
		v := recover()
		err, _ := v.(error)
		if err == nil || !strings.Contains(err.Error(), "registering workqueue metrics") {
			t.Errorf("New() panicked with %v; want a registration error", v)
		}
	}()
	workqueue.New[string](workqueue.Options{Name: "a", Registerer: reg})
}

func TestMetricsThroughAWrappingRegisterer(t *testing.T) {
	reg := newRegistry()
	wrapped := prometheus.WrapRegistererWith(prometheus.Labels{"component": "controller-manager"}, reg)
	q1 := newQueue(t, workqueue.Options{Name: "a", Registerer: wrapped})
	q2 := newQueue(t, workqueue.Options{Name: "b", Registerer: wrapped})
	q1.Add("x")
	q2.Add("x")
	for _, name := range []string{"a", "b"} {
		if got, ok := gather(t, reg, "workqueue_adds_total", name); !ok || got.value != 1 {
			t.Errorf("workqueue_adds_total{name=%q} = %v, %v; want 1", name, got.value, ok)
		}
	}
}
