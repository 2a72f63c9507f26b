package queue

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	testingclock "k8s.io/utils/clock/testing"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// testInterests is a small interest map in the shape the framework gives.
var testInterests = map[string][]Event{
	"NodeResourcesFit":  {{Resource: Node, Action: Add | UpdateNodeAllocatable}, {Resource: Pod, Action: Delete | UpdatePodScaleDown}},
	"TaintToleration":   {{Resource: Node, Action: Add | UpdateNodeTaint}},
	"NodeAffinity":      {{Resource: Node, Action: Add | UpdateNodeLabel}},
	"InterPodAffinity":  {{Resource: Pod, Action: All}, {Resource: Node, Action: Add | UpdateNodeLabel}},
	"PodTopologySpread": {{Resource: Pod, Action: All}, {Resource: Node, Action: Add | Delete | UpdateNodeLabel}},
}

func newTestQueue(t testing.TB, cfg Config) (*Queue, *testingclock.FakeClock) {
	t.Helper()
	clk := testingclock.NewFakeClock(t0)
	cfg.Clock = clk
	q := New(cfg)
	t.Cleanup(q.Close)
	return q, clk
}

type podOpt func(*corev1.Pod)

func newPod(name string, opts ...podOpt) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: types.UID("uid-" + name), ResourceVersion: "1"},
		Spec:       corev1.PodSpec{SchedulerName: "default-scheduler", Containers: []corev1.Container{{Name: "c", Image: "i"}}},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func withPriority(prio int32) podOpt { return func(p *corev1.Pod) { p.Spec.Priority = &prio } }

func withLabels(kv ...string) podOpt {
	return func(p *corev1.Pod) {
		p.Labels = map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			p.Labels[kv[i]] = kv[i+1]
		}
	}
}

func withNamespace(ns string) podOpt { return func(p *corev1.Pod) { p.Namespace = ns } }

func withGates(names ...string) podOpt {
	return func(p *corev1.Pod) {
		for _, n := range names {
			p.Spec.SchedulingGates = append(p.Spec.SchedulingGates, corev1.PodSchedulingGate{Name: n})
		}
	}
}

func withNominated(node string) podOpt {
	return func(p *corev1.Pod) { p.Status.NominatedNodeName = node }
}

// withAffinity gives the pod a required pod-affinity term selecting key=value.
func withAffinity(key, value string) podOpt {
	return func(p *corev1.Pod) {
		p.Spec.Affinity = &corev1.Affinity{PodAffinity: &corev1.PodAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
				LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{key: value}},
				TopologyKey:   "kubernetes.io/hostname",
			}},
		}}
	}
}

func withAntiAffinity(key, value string) podOpt {
	return func(p *corev1.Pod) {
		p.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
				LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{key: value}},
				TopologyKey:   "kubernetes.io/hostname",
			}},
		}}
	}
}

func withSpread(key, value string) podOpt {
	return func(p *corev1.Pod) {
		p.Spec.TopologySpreadConstraints = append(p.Spec.TopologySpreadConstraints, corev1.TopologySpreadConstraint{
			MaxSkew: 1, TopologyKey: "zone", WhenUnsatisfiable: corev1.DoNotSchedule,
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{key: value}},
		})
	}
}

func bound(p *corev1.Pod, node string) *corev1.Pod {
	c := p.DeepCopy()
	c.Spec.NodeName = node
	return c
}

// popNow pops a pod that must be active already.
func popNow(t testing.TB, q *Queue) *QueuedPod {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	qp, err := q.Pop(ctx)
	if err != nil {
		t.Fatalf("Pop() error %v; want a pod", err)
	}
	return qp
}

// fail pops name (which must be first), and requeues it as rejected by plugins.
func fail(t testing.TB, q *Queue, name string, plugins ...string) *QueuedPod {
	t.Helper()
	qp := popNow(t, q)
	if qp.Pod.Name != name {
		t.Fatalf("Pop() = %s; want %s", qp.Pod.Name, name)
	}
	cycle := q.SchedulingCycle()
	if len(plugins) > 0 {
		qp.UnschedulablePlugins = sets.New(plugins...)
	}
	if err := q.Requeue(qp, cycle); err != nil {
		t.Fatalf("Requeue(%s) error %v", name, err)
	}
	return qp
}

// whereIs names the place of the pod with this name.
func whereIs(q *Queue, name string) string {
	q.mu.Lock()
	defer q.mu.Unlock()
	qp := q.pods[types.UID("uid-"+name)]
	if qp == nil {
		return "none"
	}
	return qp.where.String()
}

func (p place) String() string {
	return [...]string{"none", "active", "backoff", "unschedulable", "gated", "inflight"}[p]
}

// checkInvariants verifies the bookkeeping: every pod in exactly one place,
// each structure consistent with q.pods, heaps ordered.
func checkInvariants(q *Queue) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	counts := map[place]int{}
	for uid, qp := range q.pods {
		if qp.Pod.UID != uid {
			return fmt.Errorf("pods[%s] holds pod %s", uid, qp.Pod.UID)
		}
		counts[qp.where]++
		switch qp.where {
		case placeActive:
			if qp.index < 0 || qp.index >= q.active.Len() || q.active.items[qp.index] != qp {
				return fmt.Errorf("pod %s says active at %d but is not there", uid, qp.index)
			}
		case placeBackoff:
			if qp.index < 0 || qp.index >= q.backoff.Len() || q.backoff.items[qp.index] != qp {
				return fmt.Errorf("pod %s says backoff at %d but is not there", uid, qp.index)
			}
		case placeUnschedulable:
			if q.unschedulable[uid] != qp {
				return fmt.Errorf("pod %s says unschedulable but is not there", uid)
			}
		case placeGated:
			if q.gated[uid] != qp {
				return fmt.Errorf("pod %s says gated but is not there", uid)
			}
		case placeInFlight:
		default:
			return fmt.Errorf("pod %s is held but nowhere (%v)", uid, qp.where)
		}
	}
	if counts[placeActive] != q.active.Len() || counts[placeBackoff] != q.backoff.Len() ||
		counts[placeUnschedulable] != len(q.unschedulable) || counts[placeGated] != len(q.gated) {
		return fmt.Errorf("places %v; structures active %d backoff %d unschedulable %d gated %d",
			counts, q.active.Len(), q.backoff.Len(), len(q.unschedulable), len(q.gated))
	}
	indexed := 0
	for p, m := range q.byPlugin {
		for uid, qp := range m {
			if q.unschedulable[uid] != qp || !qp.UnschedulablePlugins.Has(p) {
				return fmt.Errorf("pod %s indexed under %s but not unschedulable by it", uid, p)
			}
			indexed++
		}
	}
	want := 0
	for uid, qp := range q.unschedulable {
		if qp.UnschedulablePlugins.Len() == 0 {
			return fmt.Errorf("pod %s unschedulable without plugins", uid)
		}
		want += qp.UnschedulablePlugins.Len()
	}
	if indexed != want {
		return fmt.Errorf("plugin index holds %d entries; want %d", indexed, want)
	}
	for uid, qp := range q.crossTopology {
		if q.unschedulable[uid] != qp {
			return fmt.Errorf("pod %s in crossTopology but not unschedulable", uid)
		}
	}
	for _, h := range []*podHeap{&q.active, &q.backoff} {
		for i := 1; i < h.Len(); i++ {
			if h.less(h.items[i], h.items[(i-1)/2]) {
				return fmt.Errorf("heap out of order at %d", i)
			}
		}
	}
	return nil
}
