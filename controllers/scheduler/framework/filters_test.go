package framework

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
)

func TestFilters(t *testing.T) {
	zoneA := withLabels(corev1.LabelTopologyZone, "a")
	tests := []struct {
		name       string
		pod        *corev1.Pod
		node       *corev1.Node
		onNode     []*corev1.Pod
		wantCode   Code
		wantPlugin string
		wantReason string
	}{
		{name: "fits", pod: pod("p", 500, 100), node: node("n", 1000, 1024, 10)},
		{name: "insufficient cpu", pod: pod("p", 600, 100), node: node("n", 1000, 1024, 10), onNode: []*corev1.Pod{pod("a", 500, 0)},
			wantCode: Unschedulable, wantPlugin: NodeResourcesFit, wantReason: "Insufficient cpu"},
		{name: "cpu beyond allocatable is unresolvable", pod: pod("p", 2000, 100), node: node("n", 1000, 1024, 10),
			wantCode: UnschedulableAndUnresolvable, wantPlugin: NodeResourcesFit, wantReason: "Insufficient cpu"},
		{name: "cpu and memory", pod: pod("p", 600, 600), node: node("n", 1000, 1024, 10), onNode: []*corev1.Pod{pod("a", 500, 500)},
			wantCode: Unschedulable, wantPlugin: NodeResourcesFit, wantReason: "Insufficient cpu, Insufficient memory"},
		{name: "too many pods", pod: pod("p", 0, 0), node: node("n", 1000, 1024, 1), onNode: []*corev1.Pod{pod("a", 0, 0)},
			wantCode: Unschedulable, wantPlugin: NodeResourcesFit, wantReason: "Too many pods"},
		{name: "ephemeral storage", pod: pod("p", 0, 0, func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceEphemeralStorage: resource.MustParse("2Gi")}
		}), node: node("n", 1000, 1024, 10, withAllocatable(corev1.ResourceEphemeralStorage, "1Gi")),
			wantCode: UnschedulableAndUnresolvable, wantPlugin: NodeResourcesFit, wantReason: "Insufficient ephemeral-storage"},
		{name: "extended resource", pod: pod("p", 100, 0, func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources.Requests["example.com/gpu"] = resource.MustParse("2")
		}), node: node("n", 1000, 1024, 10, withAllocatable("example.com/gpu", "1")),
			wantCode: UnschedulableAndUnresolvable, wantPlugin: NodeResourcesFit, wantReason: "Insufficient example.com/gpu"},
		{name: "extended resource absent on node", pod: pod("p", 100, 0, func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources.Requests["example.com/gpu"] = resource.MustParse("1")
		}), node: node("n", 1000, 1024, 10),
			wantCode: UnschedulableAndUnresolvable, wantPlugin: NodeResourcesFit, wantReason: "Insufficient example.com/gpu"},
		{name: "node name", pod: pod("p", 0, 0, func(p *corev1.Pod) { p.Spec.NodeName = "other" }), node: node("n", 1000, 1024, 10),
			wantCode: UnschedulableAndUnresolvable, wantPlugin: NodeName, wantReason: ErrReasonNodeName},
		{name: "unschedulable node", pod: pod("p", 0, 0), node: node("n", 1000, 1024, 10, unschedulable),
			wantCode: UnschedulableAndUnresolvable, wantPlugin: NodeUnschedulable, wantReason: "node(s) were unschedulable"},
		{name: "unschedulable node tolerated", pod: pod("p", 0, 0, tolerate(corev1.TaintNodeUnschedulable, "", corev1.TaintEffectNoSchedule)),
			node: node("n", 1000, 1024, 10, unschedulable)},
		{name: "node selector", pod: pod("p", 0, 0, func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"disk": "ssd"} }),
			node: node("n", 1000, 1024, 10), wantCode: UnschedulableAndUnresolvable, wantPlugin: NodeAffinity, wantReason: ErrReasonNodeAffinity},
		{name: "node selector matches", pod: pod("p", 0, 0, func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"disk": "ssd"} }),
			node: node("n", 1000, 1024, 10, withLabels("disk", "ssd"))},
		{name: "required node affinity", pod: pod("p", 0, 0, affinity(&corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{
				{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "disk", Operator: corev1.NodeSelectorOpIn, Values: []string{"nvme"}}}},
				{MatchFields: []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{"other"}}}},
			}}}})), node: node("n", 1000, 1024, 10, withLabels("disk", "ssd")),
			wantCode: UnschedulableAndUnresolvable, wantPlugin: NodeAffinity, wantReason: ErrReasonNodeAffinity},
		{name: "node affinity by field", pod: pod("p", 0, 0, affinity(&corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{
				{MatchFields: []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{"n"}}}},
			}}}})), node: node("n", 1000, 1024, 10)},
		{name: "untolerated taint", pod: pod("p", 0, 0), node: node("n", 1000, 1024, 10, withTaint("dedicated", "gpu", corev1.TaintEffectNoSchedule)),
			wantCode: UnschedulableAndUnresolvable, wantPlugin: TaintToleration, wantReason: "node(s) had untolerated taint {dedicated: gpu}"},
		{name: "tolerated taint", pod: pod("p", 0, 0, tolerate("dedicated", "gpu", corev1.TaintEffectNoSchedule)),
			node: node("n", 1000, 1024, 10, withTaint("dedicated", "gpu", corev1.TaintEffectNoSchedule))},
		{name: "PreferNoSchedule does not filter", pod: pod("p", 0, 0), node: node("n", 1000, 1024, 10, withTaint("soft", "", corev1.TaintEffectPreferNoSchedule))},
		{name: "host port taken", pod: pod("p", 0, 0, withHostPort(80)), node: node("n", 1000, 1024, 10), onNode: []*corev1.Pod{pod("a", 0, 0, withHostPort(80))},
			wantCode: Unschedulable, wantPlugin: NodePorts, wantReason: ErrReasonNodePorts},
		{name: "other host port", pod: pod("p", 0, 0, withHostPort(81)), node: node("n", 1000, 1024, 10), onNode: []*corev1.Pod{pod("a", 0, 0, withHostPort(80))}},
		{name: "pod affinity unmet", pod: pod("p", 0, 0, podLabels("app", "web"), affinity(&corev1.Affinity{PodAffinity: &corev1.PodAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{term(corev1.LabelHostname, "app", "db")}}})),
			node: node("n", 1000, 1024, 10), onNode: []*corev1.Pod{pod("a", 0, 0, podLabels("app", "cache"))},
			wantCode: UnschedulableAndUnresolvable, wantPlugin: InterPodAffinity, wantReason: ErrReasonAffinityRulesNotMatch},
		{name: "pod affinity met", pod: pod("p", 0, 0, affinity(&corev1.Affinity{PodAffinity: &corev1.PodAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{term(corev1.LabelHostname, "app", "db")}}})),
			node: node("n", 1000, 1024, 10), onNode: []*corev1.Pod{pod("a", 0, 0, podLabels("app", "db"))}},
		{name: "first pod of a self-affine group", pod: pod("p", 0, 0, podLabels("app", "db"), affinity(&corev1.Affinity{PodAffinity: &corev1.PodAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{term(corev1.LabelHostname, "app", "db")}}})),
			node: node("n", 1000, 1024, 10)},
		{name: "pod affinity topology key missing", pod: pod("p", 0, 0, podLabels("app", "db"), affinity(&corev1.Affinity{PodAffinity: &corev1.PodAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{term(corev1.LabelTopologyZone, "app", "db")}}})),
			node: node("n", 1000, 1024, 10), wantCode: UnschedulableAndUnresolvable, wantPlugin: InterPodAffinity, wantReason: ErrReasonAffinityRulesNotMatch},
		{name: "pod anti-affinity", pod: pod("p", 0, 0, affinity(&corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{term(corev1.LabelHostname, "app", "web")}}})),
			node: node("n", 1000, 1024, 10), onNode: []*corev1.Pod{pod("a", 0, 0, podLabels("app", "web"))},
			wantCode: Unschedulable, wantPlugin: InterPodAffinity, wantReason: ErrReasonAntiAffinityNotMatch},
		{name: "anti-affinity in another namespace does not count", pod: pod("p", 0, 0, affinity(&corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{term(corev1.LabelHostname, "app", "web")}}})),
			node: node("n", 1000, 1024, 10), onNode: []*corev1.Pod{pod("a", 0, 0, podLabels("app", "web"), func(p *corev1.Pod) { p.Namespace = "other" })}},
		{name: "existing pod's anti-affinity", pod: pod("p", 0, 0, podLabels("app", "web")),
			node: node("n", 1000, 1024, 10), onNode: []*corev1.Pod{pod("a", 0, 0, affinity(&corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
				RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{term(corev1.LabelHostname, "app", "web")}}}))},
			wantCode: Unschedulable, wantPlugin: InterPodAffinity, wantReason: ErrReasonExistingAntiAffinity},
		{name: "spread missing label", pod: pod("p", 0, 0, podLabels("app", "web"), spread(corev1.LabelTopologyZone, 1, nil, "app", "web")),
			node: node("n", 1000, 1024, 10), wantCode: UnschedulableAndUnresolvable, wantPlugin: PodTopologySpread, wantReason: ErrReasonSpreadMissingLabel},
		{name: "spread fits", pod: pod("p", 0, 0, podLabels("app", "web"), spread(corev1.LabelTopologyZone, 1, nil, "app", "web")),
			node: node("n", 1000, 1024, 10, zoneA)},
		{name: "spread with minDomains 2: the missing domain counts 0", pod: pod("p", 0, 0, podLabels("app", "web"), spread(corev1.LabelTopologyZone, 1, ptr(int32(2)), "app", "web")),
			node: node("n", 1000, 1024, 10, zoneA), onNode: []*corev1.Pod{pod("a", 0, 0, podLabels("app", "web"))},
			wantCode: Unschedulable, wantPlugin: PodTopologySpread, wantReason: ErrReasonSpreadConstraints},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newTestFramework(t, Config{})
			snap := snapshot([]*corev1.Node{tt.node}, map[string][]*corev1.Pod{tt.node.Name: tt.onNode})
			st := filterOne(t, f, tt.pod, snap, tt.node.Name)
			if st.Code() != tt.wantCode || st.Plugin() != tt.wantPlugin || st.Message() != tt.wantReason {
				t.Errorf("filter(%s) = %v %q %q; want %v %q %q", tt.pod.Name, st.Code(), st.Plugin(), st.Message(), tt.wantCode, tt.wantPlugin, tt.wantReason)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func spread(key string, maxSkew int32, minDomains *int32, kv ...string) func(*corev1.Pod) {
	return spreadAction(key, maxSkew, minDomains, corev1.DoNotSchedule, kv...)
}

func spreadAction(key string, maxSkew int32, minDomains *int32, action corev1.UnsatisfiableConstraintAction, kv ...string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		p.Spec.TopologySpreadConstraints = append(p.Spec.TopologySpreadConstraints, corev1.TopologySpreadConstraint{
			MaxSkew: maxSkew, TopologyKey: key, WhenUnsatisfiable: action, MinDomains: minDomains,
			LabelSelector: &metav1.LabelSelector{MatchLabels: m},
		})
	}
}

func TestSpreadFilterAcrossZones(t *testing.T) {
	nodes := []*corev1.Node{
		node("a1", 4000, 4096, 110, withLabels(corev1.LabelTopologyZone, "a")),
		node("a2", 4000, 4096, 110, withLabels(corev1.LabelTopologyZone, "a")),
		node("b1", 4000, 4096, 110, withLabels(corev1.LabelTopologyZone, "b")),
		node("c1", 4000, 4096, 110, withLabels(corev1.LabelTopologyZone, "c"), withLabels("gpu", "yes")),
	}
	web := func(name string) *corev1.Pod { return pod(name, 0, 0, podLabels("app", "web")) }
	snap := snapshot(nodes, map[string][]*corev1.Pod{
		"a1": {web("w1")}, "a2": {web("w2")}, "b1": {web("w3")},
		// A pod being deleted and one in another namespace do not count.
		"c1": {web("w4"), pod("w5", 0, 0, podLabels("app", "web"), func(p *corev1.Pod) { p.DeletionTimestamp = &metav1.Time{} })},
	})
	tests := []struct {
		pod  *corev1.Pod
		want map[string]Code
	}{
		// zone counts a:2 b:1 c:1, min 1; maxSkew 1 allows b and c only.
		{pod: pod("p", 0, 0, podLabels("app", "web"), spread(corev1.LabelTopologyZone, 1, nil, "app", "web")),
			want: map[string]Code{"a1": Unschedulable, "a2": Unschedulable, "b1": Success, "c1": Success}},
		// The pod does not match its own selector: a's skew is 2-1 = 1.
		{pod: pod("p", 0, 0, spread(corev1.LabelTopologyZone, 1, nil, "app", "web")),
			want: map[string]Code{"a1": Success, "a2": Success, "b1": Success, "c1": Success}},
		// nodeAffinityPolicy Honor (default): only zone c is eligible, min is c's 1,
		// and the filter still rejects a (2+1-1 > 1).
		{pod: pod("p", 0, 0, podLabels("app", "web"), spread(corev1.LabelTopologyZone, 1, nil, "app", "web"),
			func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"gpu": "yes"} }),
			want: map[string]Code{"a1": UnschedulableAndUnresolvable, "b1": UnschedulableAndUnresolvable, "c1": Success}},
	}
	for _, tt := range tests {
		f := newTestFramework(t, Config{})
		for name, want := range tt.want {
			if got := filterOne(t, f, tt.pod, snap, name); got.Code() != want {
				t.Errorf("filter(%s with %v, %s) = %v; want %v", tt.pod.Name, tt.pod.Labels, name, got, want)
			}
		}
	}
}

func TestFitErrorMessage(t *testing.T) {
	nodes := []*corev1.Node{
		node("n1", 1000, 1024, 10),
		node("n2", 1000, 1024, 10),
		node("n3", 4000, 4096, 10, withTaint("dedicated", "gpu", corev1.TaintEffectNoSchedule)),
	}
	// Same priority: nothing to preempt on n1 and n2.
	snap := snapshot(nodes, map[string][]*corev1.Pod{"n1": {pod("a", 500, 0)}, "n2": {pod("b", 500, 0)}})
	f := newTestFramework(t, Config{})
	fe := scheduleErr(t, f, pod("big", 600, 100), snap)
	want := "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 2 Insufficient cpu."
	if got := fe.Error(); got != want {
		t.Errorf("FitError = %q; want %q", got, want)
	}
	if got, want := strings.Join(sets.List(fe.UnschedulablePlugins), ","), "NodeResourcesFit,TaintToleration"; got != want {
		t.Errorf("UnschedulablePlugins = %s; want %s", got, want)
	}
	if len(fe.NodeToStatus) != 3 || fe.NumAllNodes != 3 {
		t.Errorf("FitError covers %d of %d nodes; want 3 of 3", len(fe.NodeToStatus), fe.NumAllNodes)
	}

	// Preemption cannot help: the taint is unresolvable, and the other
	// nodes hold no lower-priority pod.
	node, victims, err := f.Preempt(t.Context(), fe.Pod, snap, nil, fe, nil)
	if err != nil || node != "" || len(victims) != 0 {
		t.Fatalf("Preempt = %q, %v, %v; want no candidate", node, victims, err)
	}
	want = "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 2 Insufficient cpu. " +
		"preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod."
	if got := fe.Error(); got != want {
		t.Errorf("FitError after Preempt = %q; want %q", got, want)
	}
}

func TestFitErrorMessageSorting(t *testing.T) {
	st := func(r ...string) *Status { return NewStatus("P", Unschedulable, r...) }
	statuses := map[string]*Status{}
	for i := range 10 {
		statuses[string(rune('a'+i))] = st("Insufficient memory")
	}
	statuses["x"] = st("Insufficient cpu", "Insufficient memory")
	statuses["y"] = st("Too many pods")
	fe := &FitError{NumAllNodes: 12, NodeToStatus: statuses}
	// Sorted as strings, as upstream: "1 …" < "11 …".
	want := "0/12 nodes are available: 1 Insufficient cpu, 1 Too many pods, 11 Insufficient memory."
	if got := fe.Error(); got != want {
		t.Errorf("FitError = %q; want %q", got, want)
	}
	fe.PreFilterMsg = "parsing pod: bad"
	if got, want := fe.Error(), "0/12 nodes are available: parsing pod: bad."; got != want {
		t.Errorf("FitError with PreFilterMsg = %q; want %q", got, want)
	}
}
