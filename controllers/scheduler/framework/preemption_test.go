package framework

import (
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func started(minutesAgo int) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		t := metav1.NewTime(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC).Add(-time.Duration(minutesAgo) * time.Minute))
		p.Status.StartTime = &t
	}
}

func names(pods []*corev1.Pod) string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Name)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

func pdb(name string, allowed int32, kv ...string) *policyv1.PodDisruptionBudget {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec:       policyv1.PodDisruptionBudgetSpec{Selector: &metav1.LabelSelector{MatchLabels: m}},
		Status:     policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: allowed},
	}
}

func TestPreempt(t *testing.T) {
	n := func(name string) *corev1.Node { return node(name, 1000, 1024, 110) }
	tests := []struct {
		name        string
		nodes       []*corev1.Node
		pods        map[string][]*corev1.Pod
		pdbs        []*policyv1.PodDisruptionBudget
		pod         *corev1.Pod
		wantNode    string
		wantVictims string
		wantMsg     string // the FitError text after Preempt when no node
	}{
		{name: "fewest and lowest victims, reprieving what it can",
			nodes: []*corev1.Node{n("n1")},
			pods: map[string][]*corev1.Pod{"n1": {
				pod("low1", 300, 0, priority(1), started(10)),
				pod("low2", 300, 0, priority(2), started(10)),
				pod("low3", 300, 0, priority(3), started(10)),
			}},
			pod: pod("p", 500, 0, priority(10)), wantNode: "n1", wantVictims: "low1,low2"},
		{name: "same-priority pods are never victims",
			nodes:   []*corev1.Node{n("n1")},
			pods:    map[string][]*corev1.Pod{"n1": {pod("peer", 800, 0, priority(10))}},
			pod:     pod("p", 500, 0, priority(10)),
			wantMsg: "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."},
		{name: "evicting everything is not enough",
			nodes:   []*corev1.Node{n("n1")},
			pods:    map[string][]*corev1.Pod{"n1": {pod("peer", 600, 0, priority(10)), pod("low", 300, 0, priority(1))}},
			pod:     pod("p", 500, 0, priority(10)),
			wantMsg: "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 Insufficient cpu."},
		{name: "bigger than the node",
			nodes:   []*corev1.Node{n("n1")},
			pods:    map[string][]*corev1.Pod{"n1": {pod("low", 300, 0, priority(1))}},
			pod:     pod("p", 1500, 0, priority(10)),
			wantMsg: "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."},
		{name: "preemptionPolicy Never",
			nodes: []*corev1.Node{n("n1")},
			pods:  map[string][]*corev1.Pod{"n1": {pod("low", 800, 0, priority(1))}},
			pod: pod("p", 500, 0, priority(10), func(p *corev1.Pod) {
				never := corev1.PreemptNever
				p.Spec.PreemptionPolicy = &never
			}),
			wantMsg: "0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never."},
		{name: "victims of an earlier preemption still terminating",
			nodes: []*corev1.Node{n("n1"), n("n2")},
			pods: map[string][]*corev1.Pod{
				"n1": {pod("going", 800, 0, priority(1), func(p *corev1.Pod) {
					p.DeletionTimestamp = &metav1.Time{Time: time.Now()}
					p.Status.Conditions = []corev1.PodCondition{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: corev1.PodReasonPreemptionByScheduler}}
				})},
				"n2": {pod("low", 800, 0, priority(1))},
			},
			pod:     pod("p", 500, 0, priority(10), func(p *corev1.Pod) { p.Status.NominatedNodeName = "n1" }),
			wantMsg: "0/2 nodes are available: 2 Insufficient cpu. preemption: not eligible due to a terminating pod on the nominated node."},
		{name: "the node with the lower-priority victim",
			nodes: []*corev1.Node{n("n1"), n("n2")},
			pods:  map[string][]*corev1.Pod{"n1": {pod("mid", 800, 0, priority(5))}, "n2": {pod("low", 800, 0, priority(1))}},
			pod:   pod("p", 500, 0, priority(10)), wantNode: "n2", wantVictims: "low"},
		{name: "fewer victims when the top priorities tie",
			nodes: []*corev1.Node{n("n1"), n("n2")},
			pods: map[string][]*corev1.Pod{
				"n1": {pod("a", 400, 0, priority(1)), pod("b", 400, 0, priority(1))},
				"n2": {pod("c", 800, 0, priority(1))},
			},
			pod: pod("p", 700, 0, priority(10)), wantNode: "n2", wantVictims: "c"},
		{name: "the node whose victims started last",
			nodes: []*corev1.Node{n("n1"), n("n2")},
			pods:  map[string][]*corev1.Pod{"n1": {pod("old", 800, 0, priority(1), started(60))}, "n2": {pod("new", 800, 0, priority(1), started(5))}},
			pod:   pod("p", 500, 0, priority(10)), wantNode: "n2", wantVictims: "new"},
		{name: "a PDB steers to the node that does not violate it",
			nodes: []*corev1.Node{n("n1"), n("n2")},
			pods: map[string][]*corev1.Pod{
				"n1": {pod("guarded", 800, 0, priority(1), podLabels("app", "db"))},
				"n2": {pod("free", 800, 0, priority(5))},
			},
			pdbs: []*policyv1.PodDisruptionBudget{pdb("db", 0, "app", "db")},
			pod:  pod("p", 500, 0, priority(10)), wantNode: "n2", wantVictims: "free"},
		{name: "PDB-violating victims are reprieved first",
			nodes: []*corev1.Node{n("n1")},
			pods: map[string][]*corev1.Pod{"n1": {
				pod("guarded", 400, 0, priority(1), podLabels("app", "db")),
				pod("plain", 400, 0, priority(1)),
			}},
			pdbs: []*policyv1.PodDisruptionBudget{pdb("db", 0, "app", "db")},
			pod:  pod("p", 500, 0, priority(10)), wantNode: "n1", wantVictims: "plain"},
		{name: "anti-affinity to a lower-priority pod is resolved by evicting it",
			nodes: []*corev1.Node{n("n1")},
			pods:  map[string][]*corev1.Pod{"n1": {pod("web", 100, 0, priority(1), podLabels("app", "web"))}},
			pod: pod("p", 100, 0, priority(10), affinity(&corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
				RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{term(corev1.LabelHostname, "app", "web")}}})),
			wantNode: "n1", wantVictims: "web"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newTestFramework(t, Config{})
			snap := snapshot(tt.nodes, tt.pods)
			fe := scheduleErr(t, f, tt.pod, snap)
			node, victims, err := f.Preempt(t.Context(), tt.pod, snap, tt.pdbs, fe, nil)
			if err != nil {
				t.Fatalf("Preempt = %v", err)
			}
			if node != tt.wantNode || names(victims) != tt.wantVictims {
				t.Errorf("Preempt = %q %q; want %q %q (%s)", node, names(victims), tt.wantNode, tt.wantVictims, fe.Error())
			}
			if tt.wantMsg != "" && fe.Error() != tt.wantMsg {
				t.Errorf("FitError = %q; want %q", fe.Error(), tt.wantMsg)
			}
		})
	}
}

func TestPickOneNodeForPreemption(t *testing.T) {
	p := func(name string, prio int32, minutesAgo int) *corev1.Pod {
		return pod(name, 0, 0, priority(prio), started(minutesAgo))
	}
	tests := []struct {
		name  string
		cands []candidate
		want  string
	}{
		{"fewest PDB violations", []candidate{
			{node: "a", victims: []*corev1.Pod{p("x", 1, 0)}, pdbViolations: 1},
			{node: "b", victims: []*corev1.Pod{p("y", 9, 0), p("z", 9, 0)}},
		}, "b"},
		{"lowest highest priority", []candidate{
			{node: "a", victims: []*corev1.Pod{p("x", 5, 0)}},
			{node: "b", victims: []*corev1.Pod{p("y", 3, 0), p("z", 3, 0)}},
		}, "b"},
		{"smallest sum of priorities, negatives included", []candidate{
			{node: "a", victims: []*corev1.Pod{p("x", -5, 0), p("w", -5, 0)}},
			{node: "b", victims: []*corev1.Pod{p("y", -5, 0)}},
		}, "b"},
		{"fewest victims", []candidate{
			{node: "a", victims: []*corev1.Pod{p("x", 2, 0), p("w", 0, 0), p("v", 0, 0)}},
			{node: "b", victims: []*corev1.Pod{p("y", 2, 0), p("z", 0, 0)}},
		}, "b"},
		{"latest start of the top victims", []candidate{
			{node: "a", victims: []*corev1.Pod{p("x", 2, 30)}},
			{node: "b", victims: []*corev1.Pod{p("y", 2, 10)}},
			{node: "c", victims: []*corev1.Pod{p("z", 2, 20)}},
		}, "b"},
		{"first of the remaining", []candidate{
			{node: "a", victims: []*corev1.Pod{p("x", 2, 10)}},
			{node: "b", victims: []*corev1.Pod{p("y", 2, 10)}},
		}, "a"},
	}
	for _, tt := range tests {
		if got := pickOneNodeForPreemption(tt.cands); got.node != tt.want {
			t.Errorf("pickOneNodeForPreemption(%s) = %s; want %s", tt.name, got.node, tt.want)
		}
	}
}
