package queue

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestMetrics(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	q, clk := newTestQueue(t, Config{Interests: testInterests, Registerer: reg})
	for _, n := range []string{"a", "b", "c", "d"} {
		q.Add(newPod(n))
	}
	q.Add(newPod("g", withGates("x")))
	fail(t, q, "a")
	fail(t, q, "b", "NodeResourcesFit")
	fail(t, q, "c", "TaintToleration")
	clk.Step(time.Second)
	q.MoveAll(Event{Resource: Node, Action: Add}, nil, nil) // b and c: back-off over, to active

	got := gather(t, reg)
	for key, want := range map[string]float64{
		"scheduler_pending_pods/active":                                            3, // b, c, d
		"scheduler_pending_pods/backoff":                                           1, // a
		"scheduler_pending_pods/unschedulable":                                     0,
		"scheduler_pending_pods/gated":                                             1,
		"scheduler_queue_incoming_pods_total/active/PodAdd":                        4,
		"scheduler_queue_incoming_pods_total/gated/PodAdd":                         1,
		"scheduler_queue_incoming_pods_total/backoff/ScheduleAttemptFailure":       1,
		"scheduler_queue_incoming_pods_total/unschedulable/ScheduleAttemptFailure": 2,
		"scheduler_queue_incoming_pods_total/active/NodeAdd":                       2,
	} {
		if got[key] != want {
			t.Errorf("%s = %v; want %v", key, got[key], want)
		}
	}

	// A second queue on the same registry does not panic and shares the counter.
	q2 := New(Config{Registerer: reg})
	q2.Add(newPod("z"))
	if got := gather(t, reg)["scheduler_queue_incoming_pods_total/active/PodAdd"]; got != 5 {
		t.Errorf("incoming active/PodAdd after a second queue's Add = %v; want 5", got)
	}
}

// gather returns every sample as name/label values → value.
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather() error %v", err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range m.GetLabel() {
				if l.GetName() == "queue" {
					key += "/" + l.GetValue()
				}
			}
			for _, l := range m.GetLabel() {
				if l.GetName() == "event" {
					key += "/" + l.GetValue()
				}
			}
			switch {
			case m.GetGauge() != nil:
				out[key] = m.GetGauge().GetValue()
			case m.GetCounter() != nil:
				out[key] = m.GetCounter().GetValue()
			}
		}
	}
	return out
}
