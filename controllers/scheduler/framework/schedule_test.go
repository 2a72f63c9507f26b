package framework

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestNumFeasibleNodesToFind(t *testing.T) {
	tests := []struct {
		percentage int32
		nodes      int32
		want       int32
	}{
		{0, 10, 10},
		{0, 99, 99},
		{0, 100, 100},
		{0, 1000, 420},  // 50 - 1000/125 = 42%
		{0, 5000, 500},  // 10%
		{0, 6000, 300},  // 50 - 48 = 2% → at least 5%
		{0, 1500, 570},  // 38%
		{10, 500, 100},  // 50 → at least 100
		{10, 5000, 500}, // 10%
		{100, 5000, 5000} /* all */, {50, 99, 99},
	}
	for _, tt := range tests {
		if got := NumFeasibleNodesToFind(tt.percentage, tt.nodes); got != tt.want {
			t.Errorf("NumFeasibleNodesToFind(%d, %d) = %d; want %d", tt.percentage, tt.nodes, got, tt.want)
		}
	}
}

// TestScores checks each score plugin alone decides between two nodes
// that otherwise score the same.
func TestScores(t *testing.T) {
	big := func(name string, opts ...func(*corev1.Node)) *corev1.Node {
		return node(name, 4000, 4096, 110, opts...)
	}
	tests := []struct {
		name  string
		nodes []*corev1.Node
		pods  map[string][]*corev1.Pod
		pod   *corev1.Pod
		want  string
	}{
		{name: "least allocated", nodes: []*corev1.Node{big("busy"), big("idle")},
			pods: map[string][]*corev1.Pod{"busy": {pod("a", 2000, 2048)}}, pod: pod("p", 100, 100), want: "idle"},
		{name: "least allocated counts best-effort pods as 100m/200Mi", nodes: []*corev1.Node{big("busy"), big("idle")},
			pods: map[string][]*corev1.Pod{"busy": {pod("a", 0, 0), pod("b", 0, 0), pod("c", 0, 0)}}, pod: pod("p", 0, 0), want: "idle"},
		{name: "balanced allocation", nodes: []*corev1.Node{big("cpu-heavy"), big("balanced")},
			pods: map[string][]*corev1.Pod{"cpu-heavy": {pod("a", 2000, 1)}, "balanced": {pod("b", 1000, 1023)}},
			pod:  pod("p", 1000, 1024), want: "balanced"},
		{name: "PreferNoSchedule taint", nodes: []*corev1.Node{big("soft", withTaint("x", "", corev1.TaintEffectPreferNoSchedule)), big("clean")},
			pod: pod("p", 100, 100), want: "clean"},
		{name: "PreferNoSchedule taint tolerated", nodes: []*corev1.Node{big("soft", withTaint("x", "", corev1.TaintEffectPreferNoSchedule)), big("busy")},
			pods: map[string][]*corev1.Pod{"busy": {pod("a", 100, 100)}},
			pod:  pod("p", 100, 100, tolerate("x", "", corev1.TaintEffectPreferNoSchedule)), want: "soft"},
		{name: "preferred node affinity", nodes: []*corev1.Node{big("plain"), big("ssd", withLabels("disk", "ssd"))},
			pod: pod("p", 100, 100, affinity(&corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
				PreferredDuringSchedulingIgnoredDuringExecution: []corev1.PreferredSchedulingTerm{{Weight: 10, Preference: corev1.NodeSelectorTerm{
					MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "disk", Operator: corev1.NodeSelectorOpIn, Values: []string{"ssd"}}}}}}}})),
			want: "ssd"},
		{name: "preferred pod affinity", nodes: []*corev1.Node{big("n1"), big("n2")},
			pods: map[string][]*corev1.Pod{"n1": {pod("cache", 100, 100, podLabels("app", "cache"))}, "n2": {pod("other", 100, 100)}},
			pod: pod("p", 100, 100, affinity(&corev1.Affinity{PodAffinity: &corev1.PodAffinity{
				PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{Weight: 50, PodAffinityTerm: term(corev1.LabelHostname, "app", "cache")}}}})),
			want: "n1"},
		{name: "preferred pod anti-affinity", nodes: []*corev1.Node{big("n1"), big("n2")},
			pods: map[string][]*corev1.Pod{"n1": {pod("web", 100, 100, podLabels("app", "web"))}, "n2": {pod("other", 100, 100)}},
			pod: pod("p", 100, 100, affinity(&corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
				PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{Weight: 50, PodAffinityTerm: term(corev1.LabelHostname, "app", "web")}}}})),
			want: "n2"},
		{name: "existing pod's preferred affinity to the pod", nodes: []*corev1.Node{big("n1"), big("n2")},
			pods: map[string][]*corev1.Pod{"n1": {pod("other", 100, 100)}, "n2": {pod("fan", 100, 100, affinity(&corev1.Affinity{PodAffinity: &corev1.PodAffinity{
				PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{Weight: 50, PodAffinityTerm: term(corev1.LabelHostname, "app", "star")}}}}))}},
			pod: pod("p", 100, 100, podLabels("app", "star")), want: "n2"},
		{name: "default spreading of a ReplicaSet's pods", nodes: []*corev1.Node{big("n1"), big("n2")},
			pods: map[string][]*corev1.Pod{
				// n2 is busier, but n1 already holds two replicas.
				"n1": {pod("r1", 100, 100, podLabels("app", "web"), ownedByRS("web")), pod("r2", 100, 100, podLabels("app", "web"), ownedByRS("web"))},
				"n2": {pod("x", 400, 400)},
			},
			pod: pod("p", 100, 100, podLabels("app", "web"), ownedByRS("web")), want: "n2"},
		{name: "ScheduleAnyway zone spreading", nodes: []*corev1.Node{big("a1", withLabels(corev1.LabelTopologyZone, "a")), big("a2", withLabels(corev1.LabelTopologyZone, "a")), big("b1", withLabels(corev1.LabelTopologyZone, "b"))},
			pods: map[string][]*corev1.Pod{"a1": {pod("w1", 100, 100, podLabels("app", "web"))}, "b1": {pod("w2", 100, 100, podLabels("app", "web")), pod("w3", 100, 100, podLabels("app", "web"))}},
			pod:  pod("p", 100, 100, podLabels("app", "web"), spreadAction(corev1.LabelTopologyZone, 1, nil, corev1.ScheduleAnyway, "app", "web")), want: "a2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Several seeds: the winner must not depend on tie-breaking.
			for seed := range 5 {
				f := newTestFramework(t, Config{Rand: rand.New(rand.NewPCG(uint64(seed), 7))})
				res := scheduleOK(t, f, tt.pod, snapshot(tt.nodes, tt.pods), nil)
				if res.Node != tt.want {
					t.Fatalf("Schedule(%s) seed %d = %s; want %s", tt.pod.Name, seed, res.Node, tt.want)
				}
			}
		})
	}
}

func TestTiesBrokenAtRandom(t *testing.T) {
	var nodes []*corev1.Node
	for i := range 4 {
		nodes = append(nodes, node(fmt.Sprintf("n%d", i), 4000, 4096, 110))
	}
	snap := snapshot(nodes, nil)
	f := newTestFramework(t, Config{})
	seen := map[string]int{}
	for range 200 {
		seen[scheduleOK(t, f, pod("p", 100, 100), snap, nil).Node]++
	}
	for _, n := range nodes {
		if seen[n.Name] < 20 {
			t.Errorf("node %s chosen %d times of 200 among 4 equal nodes; want about 50 (%v)", n.Name, seen[n.Name], seen)
		}
	}
}

func TestRotatingStartAndEarlyStop(t *testing.T) {
	var nodes []*corev1.Node
	for i := range 400 {
		nodes = append(nodes, node(fmt.Sprintf("n%03d", i), 4000, 4096, 110))
	}
	snap := snapshot(nodes, nil)
	f := newTestFramework(t, Config{PercentageOfNodesToScore: 30})
	res := scheduleOK(t, f, pod("p", 100, 100), snap, nil)
	// 30% of 400: the pass stops after 120 feasible nodes.
	if res.Feasible != 120 || res.Evaluated != 120 {
		t.Errorf("Schedule = %+v; want 120 evaluated, 120 feasible", res)
	}
	if got := f.nextStart.Load(); got != 120 {
		t.Errorf("next start = %d; want 120", got)
	}
	for range 3 {
		scheduleOK(t, f, pod("p", 100, 100), snap, nil)
	}
	if got := f.nextStart.Load(); got != 480%400 {
		t.Errorf("next start after 4 pods = %d; want %d", got, 480%400)
	}
}

func TestNominatedPodsTakeRoom(t *testing.T) {
	nodes := []*corev1.Node{node("n1", 1000, 1024, 10), node("n2", 1000, 1024, 10)}
	snap := snapshot(nodes, map[string][]*corev1.Pod{"n2": {pod("a", 600, 0)}})
	high := pod("high", 600, 0, priority(100))
	low := pod("low", 600, 0, priority(10))
	nominated := func(noms ...*corev1.Pod) func(string) []*corev1.Pod {
		return func(n string) []*corev1.Pod {
			if n == "n1" {
				return noms
			}
			return nil
		}
	}
	f := newTestFramework(t, Config{})
	// A higher-priority pod nominated to n1 holds its room.
	_, err := f.Schedule(context.Background(), pod("p", 600, 0, priority(50)), snap, nominated(high))
	var fe *FitError
	if !errors.As(err, &fe) {
		t.Fatalf("Schedule with n1 taken by a nominated pod = %v; want a FitError", err)
	}
	// A lower-priority nominated pod does not.
	if res := scheduleOK(t, f, pod("p", 600, 0, priority(50)), snap, nominated(low)); res.Node != "n1" {
		t.Errorf("Schedule with a lower-priority nominee on n1 = %s; want n1", res.Node)
	}
	// Nor does the pod itself.
	if res := scheduleOK(t, f, high, snap, nominated(high)); res.Node != "n1" {
		t.Errorf("Schedule of the nominee itself = %s; want n1", res.Node)
	}
}

func TestNominatedNodeTriedFirst(t *testing.T) {
	var nodes []*corev1.Node
	for i := range 10 {
		nodes = append(nodes, node(fmt.Sprintf("n%d", i), 4000, 4096, 110))
	}
	snap := snapshot(nodes, map[string][]*corev1.Pod{"n7": {pod("a", 3000, 3000)}})
	p := pod("p", 100, 100)
	p.Status.NominatedNodeName = "n7"
	f := newTestFramework(t, Config{})
	if res := scheduleOK(t, f, p, snap, nil); res.Node != "n7" || res.Evaluated != 1 {
		t.Errorf("Schedule with nominated node n7 = %+v; want n7 after evaluating 1", res)
	}
}

func TestNoNodes(t *testing.T) {
	f := newTestFramework(t, Config{})
	if _, err := f.Schedule(context.Background(), pod("p", 0, 0), NewSnapshot(), nil); !errors.Is(err, ErrNoNodesAvailable) {
		t.Errorf("Schedule on no nodes = %v; want ErrNoNodesAvailable", err)
	}
}

func TestParseErrorRejectsEverywhere(t *testing.T) {
	bad := term(corev1.LabelHostname)
	bad.LabelSelector.MatchExpressions = append(bad.LabelSelector.MatchExpressions, metav1LabelSelectorRequirement("app", "Bogus"))
	p := pod("p", 0, 0, affinity(&corev1.Affinity{PodAffinity: &corev1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{bad}}}))
	snap := snapshot([]*corev1.Node{node("n1", 1000, 1024, 10), node("n2", 1000, 1024, 10)}, nil)
	fe := scheduleErr(t, newTestFramework(t, Config{}), p, snap)
	if fe.PreFilterMsg == "" || len(fe.NodeToStatus) != 2 || !fe.UnschedulablePlugins.Has(InterPodAffinity) {
		t.Errorf("FitError = %q %v; want a PreFilter rejection of both nodes by InterPodAffinity", fe.Error(), fe.UnschedulablePlugins)
	}
}

func TestResourceScores(t *testing.T) {
	ni := func(cpu, mem int64, pods ...*corev1.Pod) *NodeInfo {
		return infos([]*corev1.Node{node("n", 4000, 4096, 110)}, map[string][]*corev1.Pod{"n": pods})[0]
	}
	tests := []struct {
		name         string
		pod          *corev1.Pod
		node         *NodeInfo
		wantLeast    int64
		wantBalanced int64
	}{
		{name: "empty node", pod: pod("p", 1000, 1024), node: ni(4000, 4096), wantLeast: 75, wantBalanced: 100},
		{name: "half full, balanced", pod: pod("p", 1000, 1024), node: ni(4000, 4096, pod("a", 1000, 1024)), wantLeast: 50, wantBalanced: 100},
		// cpu 3/4, memory 1/4: std 0.25.
		{name: "unbalanced", pod: pod("p", 1000, 0), node: ni(4000, 4096, pod("a", 2000, 1024)), wantLeast: (25 + 70) / 2, wantBalanced: 75},
		// Best-effort: least allocated counts 100m and 200Mi.
		{name: "best effort", pod: pod("p", 0, 0), node: ni(4000, 4096), wantLeast: (97 + 95) / 2, wantBalanced: 100},
		{name: "over capacity scores 0", pod: pod("p", 5000, 0), node: ni(4000, 4096), wantLeast: (0 + 95) / 2, wantBalanced: 50},
	}
	for _, tt := range tests {
		pi := NewPodInfo(tt.pod)
		if got := leastAllocatedScore(pi, tt.node); got != tt.wantLeast {
			t.Errorf("%s: leastAllocatedScore = %d; want %d", tt.name, got, tt.wantLeast)
		}
		if got := balancedAllocationScore(pi, tt.node); got != tt.wantBalanced {
			t.Errorf("%s: balancedAllocationScore = %d; want %d", tt.name, got, tt.wantBalanced)
		}
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		in      []int64
		reverse bool
		want    []int64
	}{
		{[]int64{0, 5, 10}, false, []int64{0, 50, 100}},
		{[]int64{0, 5, 10}, true, []int64{100, 50, 0}},
		{[]int64{0, 0}, false, []int64{0, 0}},
		{[]int64{0, 0}, true, []int64{100, 100}},
	}
	for _, tt := range tests {
		got := append([]int64(nil), tt.in...)
		defaultNormalize(got, tt.reverse)
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("defaultNormalize(%v, %v) = %v; want %v", tt.in, tt.reverse, got, tt.want)
		}
	}
	s := &spreadScoreState{ignored: []bool{false, false, true, false}}
	got := []int64{2, 4, 9, 6}
	s.normalize(got)
	// 100*(max+min-s)/max with max 6, min 2; ignored 0.
	if want := []int64{100, 66, 0, 33}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("spread normalize = %v; want %v", got, want)
	}
	ipa := &ipaScoreState{}
	got = []int64{-10, 0, 30}
	ipa.normalize(got)
	if want := []int64{0, 25, 100}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("inter-pod affinity normalize = %v; want %v", got, want)
	}
}

func TestDefaultSpreadSelector(t *testing.T) {
	ss := func(p *corev1.Pod) {
		tr := true
		p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "db", UID: "ss", Controller: &tr}}
	}
	tests := []struct {
		name string
		pod  *corev1.Pod
		want string
	}{
		{"no controller", pod("p", 0, 0, podLabels("app", "web")), ""},
		{"ReplicaSet", pod("p", 0, 0, podLabels("app", "web", "pod-template-hash", "abc"), ownedByRS("web")), "app=web,pod-template-hash=abc"},
		{"StatefulSet drops per-pod labels", pod("p", 0, 0, podLabels("app", "db", "statefulset.kubernetes.io/pod-name", "db-0",
			"controller-revision-hash", "db-123", "apps.kubernetes.io/pod-index", "0"), ss), "app=db"},
		{"a Job is not spread", pod("p", 0, 0, podLabels("app", "batch"), func(p *corev1.Pod) {
			tr := true
			p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: "j", UID: "j", Controller: &tr}}
		}), ""},
	}
	for _, tt := range tests {
		if got := DefaultSpreadSelector(tt.pod).String(); got != tt.want {
			t.Errorf("DefaultSpreadSelector(%s) = %q; want %q", tt.name, got, tt.want)
		}
	}
}

func TestEventInterests(t *testing.T) {
	in := EventInterests()
	for _, p := range []string{NodeResourcesFit, NodeName, NodeUnschedulable, NodeAffinity, TaintToleration, NodePorts, InterPodAffinity, PodTopologySpread} {
		evs := in[p]
		nodeAdd := false
		for _, ev := range evs {
			if ev.Resource == "Node" && ev.Action&1 != 0 {
				nodeAdd = true
			}
		}
		if !nodeAdd {
			t.Errorf("EventInterests()[%s] = %v; want a node Add among them (a new node may fit any pod)", p, evs)
		}
	}
}

func TestNamespaceSelectorTerms(t *testing.T) {
	nsLabels := map[string]map[string]string{"team-a": {"team": "a"}, "default": {"team": "b"}}
	f := newTestFramework(t, Config{NamespaceLabels: func(ns string) map[string]string { return nsLabels[ns] }})
	anti := term(corev1.LabelHostname, "app", "web")
	anti.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}}
	p := pod("p", 0, 0, affinity(&corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{anti}}}))
	inA := func(p *corev1.Pod) { p.Namespace = "team-a" }
	snap := snapshot([]*corev1.Node{node("n1", 1000, 1024, 10), node("n2", 1000, 1024, 10)}, map[string][]*corev1.Pod{
		"n1": {pod("w1", 0, 0, podLabels("app", "web"), inA)},
		"n2": {pod("w2", 0, 0, podLabels("app", "web"))}, // in default: team b
	})
	if st := filterOne(t, f, p, snap, "n1"); st.Code() != Unschedulable {
		t.Errorf("filter(n1 with a web pod in team-a) = %v; want Unschedulable", st)
	}
	if st := filterOne(t, f, p, snap, "n2"); !st.IsSuccess() {
		t.Errorf("filter(n2 with a web pod in team b) = %v; want success", st)
	}
}

func TestNominatedPodsCountForSpreadAndAffinity(t *testing.T) {
	nodes := []*corev1.Node{node("n1", 4000, 4096, 110), node("n2", 4000, 4096, 110)}
	snap := snapshot(nodes, nil)
	web := func(name string, prio int32, opts ...func(*corev1.Pod)) *corev1.Pod {
		return pod(name, 100, 100, append([]func(*corev1.Pod){podLabels("app", "web"), priority(prio)}, opts...)...)
	}
	onN1 := func(noms ...*corev1.Pod) func(string) []*corev1.Pod {
		return func(n string) []*corev1.Pod {
			if n == "n1" {
				return noms
			}
			return nil
		}
	}
	f := newTestFramework(t, Config{})
	tests := []struct {
		name string
		pod  *corev1.Pod
	}{
		{"spread", web("p", 5, spread(corev1.LabelHostname, 1, nil, "app", "web"), spread(corev1.LabelHostname, 1, nil, "app", "web"))},
		{"anti-affinity", web("p", 5, affinity(&corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{term(corev1.LabelHostname, "app", "web")}}}))},
	}
	for _, tt := range tests {
		for range 10 {
			// With a nominee on n1, n1 holds one web pod more than n2.
			if res := scheduleOK(t, f, tt.pod, snap, onN1(web("nominee", 10), web("nominee2", 10))); res.Node != "n2" {
				t.Fatalf("%s: Schedule with web pods nominated to n1 = %s; want n2", tt.name, res.Node)
			}
		}
	}
}

// TestMatchCountsFollowGenerations: counts remembered for a node version
// are not used once the node changed.
func TestMatchCountsFollowGenerations(t *testing.T) {
	zone := func(z string) func(*corev1.Node) { return withLabels(corev1.LabelTopologyZone, z) }
	nodes := []*corev1.Node{node("a1", 4000, 4096, 110, zone("a")), node("b1", 4000, 4096, 110, zone("b"))}
	web := func(name string) *corev1.Pod { return pod(name, 100, 100, podLabels("app", "web")) }
	nis := infos(nodes, map[string][]*corev1.Pod{"a1": {web("w1")}})
	for i, ni := range nis {
		ni.Generation = int64(i + 1)
	}
	f := newTestFramework(t, Config{})
	p := web("p")
	spread(corev1.LabelTopologyZone, 1, nil, "app", "web")(p)
	if res := scheduleOK(t, f, p, NewSnapshot(nis...), nil); res.Node != "b1" {
		t.Fatalf("Schedule with a web pod in zone a = %s; want b1", res.Node)
	}
	// Two web pods land in zone b; the cache must see b1's new version.
	b1 := nis[1].Clone()
	b1.AddPod(web("w2"))
	b1.AddPod(web("w3"))
	b1.Generation = 3
	if res := scheduleOK(t, f, p, NewSnapshot(nis[0], b1), nil); res.Node != "a1" {
		t.Errorf("Schedule after b1 got two web pods = %s; want a1", res.Node)
	}
}

// TestHostnameSpreadCountsFollowGenerations: a ReplicaSet's pods spread by
// hostname (the system default) from remembered counts that follow each
// node's version.
func TestHostnameSpreadCountsFollowGenerations(t *testing.T) {
	nodes := []*corev1.Node{node("n1", 4000, 4096, 110), node("n2", 4000, 4096, 110)}
	web := func(name string) *corev1.Pod { return pod(name, 0, 0, podLabels("app", "web"), ownedByRS("web")) }
	nis := infos(nodes, map[string][]*corev1.Pod{"n1": {web("w1"), web("w2")}})
	for i, ni := range nis {
		ni.Generation = int64(i + 1)
	}
	f := newTestFramework(t, Config{})
	for range 5 {
		if res := scheduleOK(t, f, web("p"), NewSnapshot(nis...), nil); res.Node != "n2" {
			t.Fatalf("Schedule with two web pods on n1 = %s; want n2", res.Node)
		}
	}
	// Three web pods land on n2; the counts must follow its new version.
	n2 := nis[1].Clone()
	for _, name := range []string{"w3", "w4", "w5"} {
		n2.AddPod(web(name))
	}
	n2.Generation = 3
	for range 5 {
		if res := scheduleOK(t, f, web("p"), NewSnapshot(nis[0], n2), nil); res.Node != "n1" {
			t.Fatalf("Schedule after n2 got three web pods = %s; want n1", res.Node)
		}
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	f := newTestFramework(t, Config{Registerer: reg})
	// A second framework on the same registry shares the collector.
	newTestFramework(t, Config{Registerer: reg})
	snap := snapshot([]*corev1.Node{node("n1", 1000, 1024, 10), node("n2", 1000, 1024, 10)}, nil)
	scheduleOK(t, f, pod("p", 100, 100), snap, nil)
	scheduleErr(t, f, pod("big", 5000, 100), snap)
	want := map[string]uint64{"PreFilter/Success": 2, "Filter/Success": 1, "Filter/Unschedulable": 1, "Score/Success": 1}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather = %v", err)
	}
	got := map[string]uint64{}
	for _, mf := range mfs {
		if mf.GetName() != "scheduler_framework_extension_point_duration_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			l := map[string]string{}
			for _, lp := range m.GetLabel() {
				l[lp.GetName()] = lp.GetValue()
			}
			got[l["extension_point"]+"/"+l["status"]] = m.GetHistogram().GetSampleCount()
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("extension point samples = %v; want %v", got, want)
	}
}
