package podgc

import (
	"maps"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8stypes "k8s.io/apimachinery/pkg/types"
)

var t0 = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

// testPod is a pod named name on node (empty: unbound) in phase.
func testPod(name, node string, phase corev1.PodPhase) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: k8stypes.UID("uid-" + name), CreationTimestamp: metav1.NewTime(t0)},
		Spec:       corev1.PodSpec{NodeName: node},
		Status:     corev1.PodStatus{Phase: phase},
	}
}

func created(p *corev1.Pod, after time.Duration) *corev1.Pod {
	p.CreationTimestamp = metav1.NewTime(t0.Add(after))
	return p
}

func terminating(p *corev1.Pod) *corev1.Pod {
	p.DeletionTimestamp = &metav1.Time{Time: t0}
	return p
}

func evicted(p *corev1.Pod) *corev1.Pod {
	p.Status.Phase, p.Status.Reason = corev1.PodFailed, evictedReason
	return p
}

func names(pods []*corev1.Pod) []string {
	out := []string{}
	for _, p := range pods {
		out = append(out, p.Name)
	}
	return out
}

func TestTerminatedBeyond(t *testing.T) {
	pods := []*corev1.Pod{
		created(testPod("new", "n", corev1.PodSucceeded), 3*time.Second),
		created(testPod("old", "n", corev1.PodFailed), time.Second),
		created(testPod("b-same", "n", corev1.PodSucceeded), 2*time.Second),
		created(testPod("a-same", "n", corev1.PodSucceeded), 2*time.Second),
		created(evicted(testPod("evicted", "n", "")), 9*time.Second),
		created(testPod("running", "n", corev1.PodRunning), 0),
		created(testPod("pending", "", corev1.PodPending), 0),
		created(testPod("no-phase", "", ""), 0),
	}
	tests := []struct {
		threshold int
		want      []string
	}{
		{0, []string{}},
		{-1, []string{}},
		{5, []string{}},
		{10, []string{}},
		{4, []string{"evicted"}},
		{2, []string{"evicted", "old", "a-same"}},
		{1, []string{"evicted", "old", "a-same", "b-same"}},
	}
	for _, tc := range tests {
		before := names(pods)
		if got := names(terminatedBeyond(pods, tc.threshold)); !slices.Equal(got, tc.want) {
			t.Errorf("terminatedBeyond(threshold %d) = %v; want %v", tc.threshold, got, tc.want)
		}
		if after := names(pods); !slices.Equal(before, after) {
			t.Errorf("terminatedBeyond(threshold %d) reordered its input: %v", tc.threshold, after)
		}
	}
}

func node(name string, ready corev1.ConditionStatus, taints ...corev1.Taint) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.NodeSpec{Taints: taints}}
	if ready != "" {
		n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: ready}}
	}
	return n
}

func nodes(ns ...*corev1.Node) nodeGetter {
	return func(name string) (*corev1.Node, bool) {
		for _, n := range ns {
			if n.Name == name {
				return n, true
			}
		}
		return nil, false
	}
}

func TestTerminatingOutOfService(t *testing.T) {
	oos := corev1.Taint{Key: corev1.TaintNodeOutOfService, Value: "nodeshutdown", Effect: corev1.TaintEffectNoExecute}
	oosSchedule := corev1.Taint{Key: corev1.TaintNodeOutOfService, Effect: corev1.TaintEffectNoSchedule}
	other := corev1.Taint{Key: "example.com/other", Effect: corev1.TaintEffectNoExecute}
	get := nodes(
		node("down", corev1.ConditionFalse, oos),
		node("unknown", corev1.ConditionUnknown, other, oos),
		node("no-conditions", "", oos),
		node("noschedule", corev1.ConditionFalse, oosSchedule),
		node("ready", corev1.ConditionTrue, oos),
		node("not-ready-untainted", corev1.ConditionFalse, other),
	)
	pods := []*corev1.Pod{
		terminating(testPod("down-terminating", "down", corev1.PodRunning)),
		testPod("down-running", "down", corev1.PodRunning),
		terminating(testPod("unknown-terminating", "unknown", corev1.PodRunning)),
		terminating(testPod("no-conditions-terminating", "no-conditions", corev1.PodPending)),
		terminating(testPod("noschedule-terminating", "noschedule", corev1.PodRunning)),
		terminating(testPod("ready-terminating", "ready", corev1.PodRunning)),
		terminating(testPod("untainted-terminating", "not-ready-untainted", corev1.PodRunning)),
		terminating(testPod("missing-node-terminating", "missing", corev1.PodRunning)),
		terminating(testPod("unbound-terminating", "", corev1.PodPending)),
	}
	want := []string{"down-terminating", "unknown-terminating", "no-conditions-terminating", "noschedule-terminating"}
	if got := names(terminatingOutOfService(pods, get)); !slices.Equal(got, want) {
		t.Errorf("terminatingOutOfService() = %v; want %v", got, want)
	}
}

func TestOrphans(t *testing.T) {
	get := nodes(node("here", corev1.ConditionTrue))
	pods := []*corev1.Pod{
		testPod("on-here", "here", corev1.PodRunning),
		testPod("on-gone", "gone", corev1.PodRunning),
		testPod("on-gone-too", "gone", corev1.PodSucceeded),
		testPod("on-lost", "lost", corev1.PodPending),
		testPod("unbound", "", corev1.PodPending),
	}
	missing := missingNodes(pods, get)
	if got, want := slices.Sorted(maps.Keys(missing)), []string{"gone", "lost"}; !slices.Equal(got, want) {
		t.Errorf("missingNodes() = %v; want %v", got, want)
	}
	if got, want := names(podsOn(pods, map[string]bool{"gone": true})), []string{"on-gone", "on-gone-too"}; !slices.Equal(got, want) {
		t.Errorf("podsOn(gone) = %v; want %v", got, want)
	}
	if got := names(podsOn(pods, map[string]bool{})); len(got) != 0 {
		t.Errorf("podsOn(none) = %v; want none", got)
	}
}

func TestUnscheduledTerminating(t *testing.T) {
	pods := []*corev1.Pod{
		terminating(testPod("unbound-terminating", "", corev1.PodPending)),
		testPod("unbound", "", corev1.PodPending),
		terminating(testPod("bound-terminating", "n", corev1.PodRunning)),
	}
	if got, want := names(unscheduledTerminating(pods)), []string{"unbound-terminating"}; !slices.Equal(got, want) {
		t.Errorf("unscheduledTerminating() = %v; want %v", got, want)
	}
}

func TestQuarantine(t *testing.T) {
	const d = 40 * time.Second
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	set := func(names ...string) map[string]bool {
		m := map[string]bool{}
		for _, n := range names {
			m[n] = true
		}
		return m
	}
	var q quarantine
	steps := []struct {
		at      int
		missing map[string]bool
		wantDue []string
	}{
		{0, set("a", "b", "c"), nil},
		{20, set("a", "b", "c", "d"), nil},
		{39, set("a", "c", "d"), nil},                // b came back: out of quarantine
		{40, set("a", "c", "d"), []string{"a", "c"}}, // missing for 40 s
		{41, set("a", "b", "d"), nil},                // a quarantined again; b starts over
		{60, set("a", "b", "d"), []string{"d"}},
		{81, set("a", "b"), []string{"a", "b"}},
		{82, set(), nil},
	}
	for _, s := range steps {
		q.observe(s.missing, at(s.at))
		if got := q.due(at(s.at), d); !slices.Equal(got, s.wantDue) {
			t.Errorf("at %ds with %v missing: due() = %v; want %v", s.at, slices.Sorted(maps.Keys(s.missing)), got, s.wantDue)
		}
	}
	if len(q.since) != 0 {
		t.Errorf("quarantine holds %v after nothing is missing; want nothing", q.since)
	}
}

func TestFailed(t *testing.T) {
	earlier := metav1.NewTime(t0.Add(-time.Hour))
	cond := &corev1.PodCondition{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: "DeletionByPodGC", Message: "PodGC: node no longer exists"}
	ready := corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: earlier}
	withConds := func(cs ...corev1.PodCondition) *corev1.Pod {
		p := testPod("p", "n", corev1.PodRunning)
		p.Status.Conditions = cs
		return p
	}
	added := *cond
	added.LastTransitionTime = metav1.NewTime(t0)
	kept := added
	kept.LastTransitionTime = earlier
	tests := []struct {
		name string
		pod  *corev1.Pod
		cond *corev1.PodCondition
		want []corev1.PodCondition
	}{
		{"phase only", withConds(ready), nil, []corev1.PodCondition{ready}},
		{"condition added", withConds(ready), cond, []corev1.PodCondition{ready, added}},
		{"condition replaced, status changed", withConds(ready, corev1.PodCondition{Type: corev1.DisruptionTarget, Status: corev1.ConditionFalse, LastTransitionTime: earlier}),
			cond, []corev1.PodCondition{ready, added}},
		{"condition replaced, status kept", withConds(corev1.PodCondition{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: "Other", LastTransitionTime: earlier}),
			cond, []corev1.PodCondition{kept}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := tc.pod.DeepCopy()
			got := failed(tc.pod, tc.cond, t0)
			if got.Status.Phase != corev1.PodFailed {
				t.Errorf("failed().Status.Phase = %s; want Failed", got.Status.Phase)
			}
			if !slices.EqualFunc(got.Status.Conditions, tc.want, func(a, b corev1.PodCondition) bool {
				return a.Type == b.Type && a.Status == b.Status && a.Reason == b.Reason && a.Message == b.Message && a.LastTransitionTime.Equal(&b.LastTransitionTime)
			}) {
				t.Errorf("failed().Status.Conditions = %+v; want %+v", got.Status.Conditions, tc.want)
			}
			if tc.pod.Status.Phase != before.Status.Phase || len(tc.pod.Status.Conditions) != len(before.Status.Conditions) {
				t.Errorf("failed() changed the pod it was given")
			}
		})
	}
}

func TestConfig(t *testing.T) {
	d := DefaultConfig()
	if d.GCPeriod != 20*time.Second || d.TerminatedPodThreshold != 12500 || d.Quarantine != 40*time.Second || d.Clock == nil {
		t.Errorf("DefaultConfig() = %+v; want 20s, 12500, 40s and a clock", d)
	}
	if err := d.Validate(); err != nil {
		t.Errorf("DefaultConfig().Validate() = %v; want nil", err)
	}
	bad := []Config{{}, {GCPeriod: time.Second, Quarantine: -time.Second}}
	for _, c := range bad {
		if err := c.Validate(); err == nil {
			t.Errorf("%+v.Validate() = nil; want an error", c)
		}
	}
	if err := (Config{GCPeriod: time.Second}).Validate(); err != nil {
		t.Errorf("a zero threshold and quarantine are valid; Validate() = %v", err)
	}
}
