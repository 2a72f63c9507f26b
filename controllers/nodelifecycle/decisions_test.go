package nodelifecycle

import (
	"fmt"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var t0 = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

func ready(s corev1.ConditionStatus) *corev1.NodeCondition {
	return &corev1.NodeCondition{Type: corev1.NodeReady, Status: s}
}

func TestComputeZoneState(t *testing.T) {
	T, F, U := corev1.ConditionTrue, corev1.ConditionFalse, corev1.ConditionUnknown
	for _, tc := range []struct {
		name      string
		ready     []*corev1.NodeCondition
		unhealthy int
		want      ZoneState
	}{
		{"all ready", []*corev1.NodeCondition{ready(T), ready(T), ready(T)}, 0, StateNormal},
		{"one of two down", []*corev1.NodeCondition{ready(T), ready(U)}, 1, StateNormal},
		{"all down", []*corev1.NodeCondition{ready(F), ready(U)}, 2, StateFullDisruption},
		{"only one, down", []*corev1.NodeCondition{ready(U)}, 1, StateFullDisruption},
		{"no condition counts as down", []*corev1.NodeCondition{nil, nil}, 2, StateFullDisruption},
		// More than two not ready, and at least 55%.
		{"three of five down", []*corev1.NodeCondition{ready(T), ready(T), ready(F), ready(U), nil}, 3, StatePartialDisruption},
		{"three of six down", []*corev1.NodeCondition{ready(T), ready(T), ready(T), ready(F), ready(U), ready(F)}, 3, StateNormal},
		{"two of three down: not more than two", []*corev1.NodeCondition{ready(T), ready(F), ready(F)}, 2, StateNormal},
		{"none", nil, 0, StateNormal},
	} {
		unhealthy, got := computeZoneState(tc.ready, 0.55)
		if unhealthy != tc.unhealthy || got != tc.want {
			t.Errorf("%s: computeZoneState = %d, %s; want %d, %s", tc.name, unhealthy, got, tc.unhealthy, tc.want)
		}
	}
}

func TestZoneRate(t *testing.T) {
	cfg := DefaultConfig()
	for _, tc := range []struct {
		state ZoneState
		size  int
		want  float64
	}{
		{StateNormal, 3, 0.1},
		{StateInitial, 3, 0.1},
		{StateFullDisruption, 3, 0.1},
		{StatePartialDisruption, 50, 0},
		{StatePartialDisruption, 51, 0.01},
	} {
		if got := zoneRate(cfg, tc.state, tc.size); got != tc.want {
			t.Errorf("zoneRate(%s, %d nodes) = %v; want %v", tc.state, tc.size, got, tc.want)
		}
	}
}

func TestZoneQueue(t *testing.T) {
	z := newZone(0.1)
	if !z.addLocked("a", t0) || !z.addLocked("b", t0) || z.addLocked("a", t0) {
		t.Fatal("addLocked: want a and b added once each")
	}
	// The burst is one: a goes now, b ten seconds later.
	if n, ok := z.nextLocked(t0); !ok || n != "a" {
		t.Fatalf("nextLocked(t0) = %q, %v; want a", n, ok)
	}
	if n, ok := z.nextLocked(t0.Add(9 * time.Second)); ok {
		t.Fatalf("nextLocked(t0+9s) = %q; want none (0.1/s)", n)
	}
	if n, ok := z.nextLocked(t0.Add(10 * time.Second)); !ok || n != "b" {
		t.Fatalf("nextLocked(t0+10s) = %q, %v; want b", n, ok)
	}
	// Taken nodes stay members until removed, as upstream's UniqueQueue.
	if z.addLocked("a", t0) {
		t.Error("addLocked(a) after it was taken = true; want false until removeLocked")
	}
	if !z.removeLocked("a") || !z.addLocked("a", t0.Add(10*time.Second)) {
		t.Error("removeLocked then addLocked(a): want both true")
	}
	// A failed node waits for its retry time.
	z.setRateLocked(100, t0.Add(10*time.Second))
	n, _ := z.nextLocked(t0.Add(20 * time.Second))
	z.retryLocked(n, t0.Add(21*time.Second))
	if n2, ok := z.nextLocked(t0.Add(20 * time.Second)); ok {
		t.Errorf("nextLocked before the retry time = %q; want none", n2)
	}
	if n2, ok := z.nextLocked(t0.Add(21 * time.Second)); !ok || n2 != n {
		t.Errorf("nextLocked at the retry time = %q, %v; want %q", n2, ok, n)
	}
	// Rate 0 stops the queue.
	z.addLocked("c", t0)
	z.setRateLocked(0, t0.Add(30*time.Second))
	if n, ok := z.nextLocked(t0.Add(time.Hour)); ok {
		t.Errorf("nextLocked at rate 0 = %q; want none", n)
	}
	// Back from 0: the new limiter starts empty, as upstream's SwapLimiter.
	z.setRateLocked(1, t0.Add(time.Hour))
	if n, ok := z.nextLocked(t0.Add(time.Hour)); ok {
		t.Errorf("nextLocked right after leaving rate 0 = %q; want none", n)
	}
	if n, ok := z.nextLocked(t0.Add(time.Hour + time.Second)); !ok || n != "c" {
		t.Errorf("nextLocked a second later = %q, %v; want c", n, ok)
	}
}

func node(name string, mutate ...func(*corev1.Node)) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(t0)}}
	for _, m := range mutate {
		m(n)
	}
	return n
}

func withCondition(t corev1.NodeConditionType, s corev1.ConditionStatus) func(*corev1.Node) {
	return func(n *corev1.Node) {
		n.Status.Conditions = append(n.Status.Conditions, corev1.NodeCondition{Type: t, Status: s})
	}
}

func withTaints(taints ...corev1.Taint) func(*corev1.Node) {
	return func(n *corev1.Node) { n.Spec.Taints = append(n.Spec.Taints, taints...) }
}

func taintStrings(taints []corev1.Taint) string {
	var out []string
	for _, t := range taints {
		out = append(out, t.ToString())
	}
	return "[" + strings.Join(out, " ") + "]"
}

func TestNoScheduleDiff(t *testing.T) {
	ns := func(key string) corev1.Taint { return corev1.Taint{Key: key, Effect: corev1.TaintEffectNoSchedule} }
	userTaint := corev1.Taint{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule}
	for _, tc := range []struct {
		name        string
		node        *corev1.Node
		add, remove string
	}{
		{"ready", node("n", withCondition(corev1.NodeReady, corev1.ConditionTrue)), "[]", "[]"},
		{"not ready", node("n", withCondition(corev1.NodeReady, corev1.ConditionFalse)),
			"[node.kubernetes.io/not-ready:NoSchedule]", "[]"},
		{"unknown", node("n", withCondition(corev1.NodeReady, corev1.ConditionUnknown)),
			"[node.kubernetes.io/unreachable:NoSchedule]", "[]"},
		{"pressures", node("n", withCondition(corev1.NodeReady, corev1.ConditionTrue),
			withCondition(corev1.NodeMemoryPressure, corev1.ConditionTrue), withCondition(corev1.NodeDiskPressure, corev1.ConditionTrue),
			withCondition(corev1.NodePIDPressure, corev1.ConditionTrue), withCondition(corev1.NodeNetworkUnavailable, corev1.ConditionTrue)),
			"[node.kubernetes.io/memory-pressure:NoSchedule node.kubernetes.io/disk-pressure:NoSchedule node.kubernetes.io/pid-pressure:NoSchedule node.kubernetes.io/network-unavailable:NoSchedule]", "[]"},
		{"pressure unknown is no taint", node("n", withCondition(corev1.NodeMemoryPressure, corev1.ConditionUnknown)), "[]", "[]"},
		{"cordoned", node("n", func(n *corev1.Node) { n.Spec.Unschedulable = true }),
			"[node.kubernetes.io/unschedulable:NoSchedule]", "[]"},
		{"uncordoned", node("n", withTaints(ns(corev1.TaintNodeUnschedulable))),
			"[]", "[node.kubernetes.io/unschedulable:NoSchedule]"},
		{"recovered", node("n", withCondition(corev1.NodeReady, corev1.ConditionTrue), withTaints(ns(corev1.TaintNodeUnreachable), userTaint)),
			"[]", "[node.kubernetes.io/unreachable:NoSchedule]"},
		{"swapped", node("n", withCondition(corev1.NodeReady, corev1.ConditionFalse), withTaints(ns(corev1.TaintNodeUnreachable))),
			"[node.kubernetes.io/not-ready:NoSchedule]", "[node.kubernetes.io/unreachable:NoSchedule]"},
		{"NoExecute ones are not this pass's", node("n", withCondition(corev1.NodeReady, corev1.ConditionTrue), withTaints(unreachableNoExecute)),
			"[]", "[]"},
		{"a value does not matter", node("n", withCondition(corev1.NodeReady, corev1.ConditionFalse),
			withTaints(corev1.Taint{Key: corev1.TaintNodeNotReady, Value: "x", Effect: corev1.TaintEffectNoSchedule})), "[]", "[]"},
	} {
		add, remove := noScheduleDiff(tc.node)
		if got := taintStrings(add); got != tc.add {
			t.Errorf("%s: taints to add = %s; want %s", tc.name, got, tc.add)
		}
		if got := taintStrings(remove); got != tc.remove {
			t.Errorf("%s: taints to remove = %s; want %s", tc.name, got, tc.remove)
		}
	}
}

func TestApplyTaints(t *testing.T) {
	added := metav1.NewTime(t0)
	old := corev1.Taint{Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoExecute, TimeAdded: &added}
	user := corev1.Taint{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule}
	for _, tc := range []struct {
		name               string
		taints, add, rem   []corev1.Taint
		want               string
		changed, keepsTime bool
	}{
		{"add", []corev1.Taint{user}, []corev1.Taint{notReadyNoExecute}, nil,
			"[dedicated=gpu:NoSchedule node.kubernetes.io/not-ready:NoExecute]", true, false},
		{"swap", []corev1.Taint{user, old}, []corev1.Taint{notReadyNoExecute}, []corev1.Taint{unreachableNoExecute},
			"[dedicated=gpu:NoSchedule node.kubernetes.io/not-ready:NoExecute]", true, false},
		{"already there keeps its timeAdded", []corev1.Taint{old}, []corev1.Taint{unreachableNoExecute}, []corev1.Taint{notReadyNoExecute},
			"[node.kubernetes.io/unreachable:NoExecute]", false, true},
		{"remove the last", []corev1.Taint{old}, nil, []corev1.Taint{unreachableNoExecute}, "[]", true, false},
		{"nothing to remove", []corev1.Taint{user}, nil, []corev1.Taint{unreachableNoExecute}, "[dedicated=gpu:NoSchedule]", false, false},
		{"another value is replaced", []corev1.Taint{{Key: "dedicated", Value: "cpu", Effect: corev1.TaintEffectNoSchedule}}, []corev1.Taint{user}, nil,
			"[dedicated=gpu:NoSchedule]", true, false},
	} {
		got, changed := applyTaints(tc.taints, tc.add, tc.rem)
		if taintStrings(got) != tc.want || changed != tc.changed {
			t.Errorf("%s: applyTaints = %s, %v; want %s, %v", tc.name, taintStrings(got), changed, tc.want, tc.changed)
		}
		if tc.keepsTime && (len(got) != 1 || got[0].TimeAdded != &added) {
			t.Errorf("%s: applyTaints replaced the taint already there; want its timeAdded kept", tc.name)
		}
	}
}

func TestEvictionTime(t *testing.T) {
	secs := func(s int64) *int64 { return &s }
	at := func(d time.Duration) *metav1.Time { v := metav1.NewTime(t0.Add(d)); return &v }
	unreachable := corev1.Taint{Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoExecute, TimeAdded: at(0)}
	notReady := corev1.Taint{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoExecute, TimeAdded: at(10 * time.Second)}
	noTime := corev1.Taint{Key: "maintenance", Effect: corev1.TaintEffectNoExecute}
	noSchedule := corev1.Taint{Key: "other", Effect: corev1.TaintEffectNoSchedule}
	tol := func(key string, s *int64) corev1.Toleration {
		return corev1.Toleration{Key: key, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: s}
	}
	firstSeen := t0.Add(time.Minute)
	added := func(t corev1.Taint) time.Time {
		if t.TimeAdded != nil {
			return t.TimeAdded.Time
		}
		return firstSeen
	}
	for _, tc := range []struct {
		name   string
		taints []corev1.Taint
		tols   []corev1.Toleration
		want   string // "never", "now" or the offset from t0
	}{
		{"not tolerated", []corev1.Taint{unreachable}, nil, "now"},
		{"one of two not tolerated", []corev1.Taint{unreachable, notReady}, []corev1.Toleration{tol(corev1.TaintNodeUnreachable, nil)}, "now"},
		{"for ever", []corev1.Taint{unreachable}, []corev1.Toleration{tol(corev1.TaintNodeUnreachable, nil)}, "never"},
		{"for a while", []corev1.Taint{unreachable}, []corev1.Toleration{tol(corev1.TaintNodeUnreachable, secs(30))}, "30s"},
		{"counted from each taint's timeAdded", []corev1.Taint{unreachable, notReady},
			[]corev1.Toleration{tol(corev1.TaintNodeUnreachable, secs(300)), tol(corev1.TaintNodeNotReady, secs(20))}, "30s"},
		{"the earliest wins", []corev1.Taint{unreachable, notReady},
			[]corev1.Toleration{tol(corev1.TaintNodeUnreachable, secs(5)), tol(corev1.TaintNodeNotReady, nil)}, "5s"},
		{"zero seconds", []corev1.Taint{unreachable}, []corev1.Toleration{tol(corev1.TaintNodeUnreachable, secs(0))}, "0s"},
		{"negative seconds", []corev1.Taint{unreachable}, []corev1.Toleration{tol(corev1.TaintNodeUnreachable, secs(-5))}, "0s"},
		{"first matching toleration counts", []corev1.Taint{unreachable},
			[]corev1.Toleration{tol("", nil), tol(corev1.TaintNodeUnreachable, secs(30))}, "never"},
		{"without timeAdded: from first seen", []corev1.Taint{noTime}, []corev1.Toleration{tol("maintenance", secs(10))}, "1m10s"},
		{"NoSchedule taints do not count", []corev1.Taint{noSchedule, unreachable}, []corev1.Toleration{tol(corev1.TaintNodeUnreachable, nil)}, "never"},
		{"a NoSchedule toleration does not tolerate NoExecute", []corev1.Taint{unreachable},
			[]corev1.Toleration{{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}}, "now"},
	} {
		when, evict := evictionTime(tc.taints, tc.tols, added)
		var got string
		switch {
		case !evict:
			got = "never"
		case when.IsZero():
			got = "now"
		default:
			got = when.Sub(t0).String()
		}
		if got != tc.want {
			t.Errorf("%s: evictionTime = %s; want %s", tc.name, got, tc.want)
		}
	}
}

func TestObserveHealth(t *testing.T) {
	cfg := DefaultConfig()
	now := t0.Add(time.Hour)
	hb := func(d time.Duration) metav1.Time { return metav1.NewTime(t0.Add(d)) }
	readyAt := func(heartbeat, transition time.Duration) func(*corev1.Node) {
		return func(n *corev1.Node) {
			n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue,
				LastHeartbeatTime: hb(heartbeat), LastTransitionTime: hb(transition)}}
		}
	}
	seen := func(probe, transition time.Duration, heartbeat, lastTransition time.Duration) *nodeHealth {
		return &nodeHealth{probe: t0.Add(probe), readyTransition: t0.Add(transition),
			ready: &corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionTrue, LastHeartbeatTime: hb(heartbeat), LastTransitionTime: hb(lastTransition)}}
	}
	lease := func(renew time.Duration) *coordinationv1.Lease {
		r := metav1.NewMicroTime(t0.Add(renew))
		return &coordinationv1.Lease{Spec: coordinationv1.LeaseSpec{RenewTime: &r}}
	}
	withLease := func(h *nodeHealth, renew time.Duration) *nodeHealth {
		r := metav1.NewMicroTime(t0.Add(renew))
		h.sawLease, h.leaseRenew = true, &r
		return h
	}
	for _, tc := range []struct {
		name            string
		prev            *nodeHealth
		node            *corev1.Node
		lease           *coordinationv1.Lease
		probe           time.Time
		transition      time.Time
		grace           time.Duration
		observedUnknown bool
	}{
		{"first seen, posted: a full grace period from now", nil, node("n", readyAt(0, 0)), nil, now, now, cfg.NodeMonitorGracePeriod, false},
		{"first seen, never posted: from creation", nil, node("n"), nil, t0, t0, cfg.NodeStartupGracePeriod, true},
		{"never posted, lease renewed", nil, node("n"), lease(5 * time.Second), now, t0, cfg.NodeStartupGracePeriod, true},
		{"same heartbeat", seen(10*time.Second, 0, 0, 0), node("n", readyAt(0, 0)), nil,
			t0.Add(10 * time.Second), t0, cfg.NodeMonitorGracePeriod, false},
		{"new heartbeat", seen(10*time.Second, 0, 0, 0), node("n", readyAt(time.Minute, 0)), nil,
			now, t0, cfg.NodeMonitorGracePeriod, false},
		{"new heartbeat and transition", seen(10*time.Second, 0, 0, 0), node("n", readyAt(time.Minute, time.Minute)), nil,
			now, now, cfg.NodeMonitorGracePeriod, false},
		{"lease renewed", withLease(seen(10*time.Second, 0, 0, 0), 0), node("n", readyAt(0, 0)), lease(time.Second),
			now, t0, cfg.NodeMonitorGracePeriod, false},
		{"lease not renewed", withLease(seen(10*time.Second, 0, 0, 0), time.Second), node("n", readyAt(0, 0)), lease(time.Second),
			t0.Add(10 * time.Second), t0, cfg.NodeMonitorGracePeriod, false},
		{"lease first seen", seen(10*time.Second, 0, 0, 0), node("n", readyAt(0, 0)), lease(-time.Hour),
			now, t0, cfg.NodeMonitorGracePeriod, false},
		{"Ready removed: probe kept, startup grace", seen(10*time.Second, 0, 0, 0), node("n"), nil,
			t0.Add(10 * time.Second), t0, cfg.NodeStartupGracePeriod, true},
		{"Ready posted at last", &nodeHealth{probe: t0, readyTransition: t0}, node("n", readyAt(0, 0)), nil,
			now, now, cfg.NodeMonitorGracePeriod, false},
	} {
		h, observed, grace := observeHealth(tc.prev, tc.node, tc.lease, now, cfg)
		if !h.probe.Equal(tc.probe) || !h.readyTransition.Equal(tc.transition) || grace != tc.grace {
			t.Errorf("%s: observeHealth = probe %v, transition %v, grace %v; want %v, %v, %v", tc.name,
				h.probe.Sub(t0), h.readyTransition.Sub(t0), grace, tc.probe.Sub(t0), tc.transition.Sub(t0), tc.grace)
		}
		if got := observed.Status == corev1.ConditionUnknown; got != tc.observedUnknown {
			t.Errorf("%s: observed Ready = %s; want Unknown %v", tc.name, observed.Status, tc.observedUnknown)
		}
	}
}

func TestMarkUnknown(t *testing.T) {
	n := node("n", withCondition(corev1.NodeReady, corev1.ConditionTrue), withCondition(corev1.NodeDiskPressure, corev1.ConditionUnknown),
		withCondition(corev1.NodeNetworkUnavailable, corev1.ConditionFalse))
	n.Status.Conditions[0].Reason = "KubeletReady"
	now := metav1.NewTime(t0.Add(time.Hour))
	if !markUnknown(n, now) {
		t.Fatal("markUnknown = false; want a change")
	}
	var got []string
	for _, c := range n.Status.Conditions {
		got = append(got, fmt.Sprintf("%s=%s/%s/%q/transition now %v", c.Type, c.Status, c.Reason, c.Message, c.LastTransitionTime.Equal(&now)))
	}
	want := []string{
		`Ready=Unknown/NodeStatusUnknown/"Kubelet stopped posting node status."/transition now true`,
		`DiskPressure=Unknown//""/transition now false`, // already Unknown: untouched
		`NetworkUnavailable=False//""/transition now false`,
		`MemoryPressure=Unknown/NodeStatusNeverUpdated/"Kubelet never posted node status."/transition now true`,
		`PIDPressure=Unknown/NodeStatusNeverUpdated/"Kubelet never posted node status."/transition now true`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("conditions after markUnknown =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, c := range n.Status.Conditions[3:] {
		if !c.LastHeartbeatTime.Equal(&n.CreationTimestamp) {
			t.Errorf("%s lastHeartbeatTime = %v; want the node's creation", c.Type, c.LastHeartbeatTime)
		}
	}
	if markUnknown(n, now) {
		t.Error("markUnknown again = true; want no change")
	}
}
