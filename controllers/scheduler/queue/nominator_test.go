package queue

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
)

func TestNominator(t *testing.T) {
	type nominations map[string][]string // node → pod names (with the "v" label, if any, after a colon)
	for _, tc := range []struct {
		name string
		ops  func(t *testing.T, q *Queue)
		want nominations
	}{
		{"none", func(t *testing.T, q *Queue) { q.Add(newPod("a")) }, nominations{}},
		{"from status on Add", func(t *testing.T, q *Queue) {
			q.Add(newPod("a", withNominated("n1")))
			q.Add(newPod("b", withNominated("n1")))
			q.Add(newPod("c", withNominated("n2")))
		}, nominations{"n1": {"a", "b"}, "n2": {"c"}}},
		{"Nominate moves it", func(t *testing.T, q *Queue) {
			q.Add(newPod("a", withNominated("n1")))
			q.Nominate(newPod("a", withNominated("n1")), "n2")
		}, nominations{"n2": {"a"}}},
		{"kept across updates without status until it arrives", func(t *testing.T, q *Queue) {
			q.Add(newPod("a"))
			q.Nominate(newPod("a"), "n1")
			q.Update(newPod("a"), newPod("a", withLabels("v", "2")))
		}, nominations{"n1": {"a:2"}}},
		{"status arrives", func(t *testing.T, q *Queue) {
			q.Add(newPod("a"))
			q.Nominate(newPod("a"), "n1")
			q.Update(newPod("a"), newPod("a", withNominated("n1")))
		}, nominations{"n1": {"a"}}},
		{"status cleared", func(t *testing.T, q *Queue) {
			q.Add(newPod("a", withNominated("n1")))
			q.Update(newPod("a", withNominated("n1")), newPod("a"))
		}, nominations{}},
		{"status changed", func(t *testing.T, q *Queue) {
			q.Add(newPod("a", withNominated("n1")))
			q.Update(newPod("a", withNominated("n1")), newPod("a", withNominated("n2")))
		}, nominations{"n2": {"a"}}},
		{"Delete clears", func(t *testing.T, q *Queue) {
			q.Add(newPod("a", withNominated("n1")))
			q.Add(newPod("b", withNominated("n1")))
			q.Delete(newPod("a"))
		}, nominations{"n1": {"b"}}},
		{"ClearNomination clears", func(t *testing.T, q *Queue) {
			q.Add(newPod("a", withNominated("n1")))
			q.ClearNomination(newPod("a"))
		}, nominations{}},
		{"bound pod's update clears", func(t *testing.T, q *Queue) {
			q.Add(newPod("a", withNominated("n1")))
			q.Update(newPod("a", withNominated("n1")), bound(newPod("a", withNominated("n1")), "n1"))
		}, nominations{}},
		{"Requeue keeps a nomination made before it", func(t *testing.T, q *Queue) {
			q.Add(newPod("a"))
			qp := popNow(t, q)
			q.Nominate(qp.Pod, "n1")
			qp.UnschedulablePlugins = sets.New("NodeResourcesFit")
			if err := q.Requeue(qp, q.SchedulingCycle()); err != nil {
				t.Fatal(err)
			}
		}, nominations{"n1": {"a"}}},
		{"Requeue nominates from status", func(t *testing.T, q *Queue) {
			q.Add(newPod("a"))
			qp := popNow(t, q)
			q.Update(newPod("a"), newPod("a", withNominated("n3"), withLabels("v", "3")))
			if err := q.Requeue(qp, q.SchedulingCycle()); err != nil {
				t.Fatal(err)
			}
		}, nominations{"n3": {"a:3"}}},
		{"Nominate of an in-flight pod", func(t *testing.T, q *Queue) {
			q.Add(newPod("a"))
			popNow(t, q)
			q.Nominate(newPod("a"), "n1")
		}, nominations{"n1": {"a"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, _ := newTestQueue(t, Config{})
			tc.ops(t, q)
			for _, node := range []string{"n1", "n2", "n3"} {
				var got []string
				for _, p := range q.NominatedPods(node) {
					name := p.Name
					if v := p.Labels["v"]; v != "" {
						name += ":" + v
					}
					got = append(got, name)
				}
				if !slices.Equal(got, tc.want[node]) {
					t.Errorf("NominatedPods(%s) = %v; want %v", node, got, tc.want[node])
				}
			}
		})
	}
}

func TestNominatedPodsIsACopy(t *testing.T) {
	q, _ := newTestQueue(t, Config{})
	q.Add(newPod("a", withNominated("n1")))
	got := q.NominatedPods("n1")
	got[0] = &corev1.Pod{}
	if again := q.NominatedPods("n1"); again[0].Name != "a" {
		t.Errorf("NominatedPods(n1)[0] = %q after the caller changed its slice; want a", again[0].Name)
	}
}
