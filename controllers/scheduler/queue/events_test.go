package queue

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func TestActionTypeString(t *testing.T) {
	for _, tc := range []struct {
		a    ActionType
		want string
	}{
		{None, "None"},
		{Add, "Add"},
		{Update, "Update"},
		{All, "All"},
		{UpdateNodeLabel | UpdateNodeTaint, "UpdateNodeLabel|UpdateNodeTaint"},
		{Add | Delete, "Add|Delete"},
	} {
		if got := tc.a.String(); got != tc.want {
			t.Errorf("ActionType(%d).String() = %q; want %q", uint(tc.a), got, tc.want)
		}
	}
}

func TestEventMatches(t *testing.T) {
	for _, tc := range []struct {
		interest, ev Event
		want         bool
	}{
		{Event{Resource: Node, Action: Add}, Event{Resource: Node, Action: Add}, true},
		{Event{Resource: Node, Action: Add | UpdateNodeTaint}, Event{Resource: Node, Action: UpdateNodeTaint}, true},
		{Event{Resource: Node, Action: Update}, Event{Resource: Node, Action: UpdateNodeLabel | UpdateNodeCondition}, true},
		{Event{Resource: Node, Action: UpdateNodeTaint}, Event{Resource: Node, Action: UpdateNodeLabel}, false},
		{Event{Resource: Node, Action: All}, Event{Resource: Pod, Action: Add}, false},
		{Event{Resource: WildCard, Action: Add}, Event{Resource: Pod, Action: Add}, true},
		{Event{Resource: Pod, Action: Delete}, Event{Resource: WildCard, Action: All}, true},
	} {
		if got := tc.interest.Matches(tc.ev); got != tc.want {
			t.Errorf("%v.Matches(%v) = %v; want %v", tc.interest, tc.ev, got, tc.want)
		}
	}
}

func TestEventLabel(t *testing.T) {
	if got, want := (Event{Resource: Node, Action: Add}).label(), "NodeAdd"; got != want {
		t.Errorf("label() = %q; want %q", got, want)
	}
	if got, want := (Event{Resource: Node, Action: Add, Label: "NodeJoined"}).label(), "NodeJoined"; got != want {
		t.Errorf("label() = %q; want %q", got, want)
	}
}

func TestNodeUpdateAction(t *testing.T) {
	base := func() *corev1.Node {
		return &corev1.Node{
			Spec: corev1.NodeSpec{Taints: []corev1.Taint{{Key: "k", Effect: corev1.TaintEffectNoSchedule}}},
			Status: corev1.NodeStatus{
				Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")},
				Conditions:  []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
			},
		}
	}
	for _, tc := range []struct {
		name   string
		change func(n *corev1.Node)
		want   ActionType
	}{
		{"nothing", func(n *corev1.Node) {}, None},
		{"heartbeat only", func(n *corev1.Node) { n.Status.Conditions[0].Reason = "KubeletReady"; n.ResourceVersion = "9" }, None},
		{"allocatable", func(n *corev1.Node) { n.Status.Allocatable[corev1.ResourceCPU] = resource.MustParse("4") }, UpdateNodeAllocatable},
		{"same allocatable spelled differently", func(n *corev1.Node) { n.Status.Allocatable[corev1.ResourceCPU] = resource.MustParse("2000m") }, None},
		{"labels", func(n *corev1.Node) { n.Labels = map[string]string{"zone": "a"} }, UpdateNodeLabel},
		{"taints", func(n *corev1.Node) { n.Spec.Taints = nil }, UpdateNodeTaint},
		{"condition", func(n *corev1.Node) { n.Status.Conditions[0].Status = corev1.ConditionFalse }, UpdateNodeCondition},
		{"new condition type", func(n *corev1.Node) {
			n.Status.Conditions = append(n.Status.Conditions, corev1.NodeCondition{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse})
		}, UpdateNodeCondition},
		{"labels and taints", func(n *corev1.Node) { n.Labels = map[string]string{"a": "b"}; n.Spec.Taints = nil }, UpdateNodeLabel | UpdateNodeTaint},
	} {
		old, newer := base(), base()
		tc.change(newer)
		if got := NodeUpdateAction(old, newer); got != tc.want {
			t.Errorf("NodeUpdateAction(%s) = %v; want %v", tc.name, got, tc.want)
		}
	}
	// spec.unschedulable: only becoming schedulable helps.
	cordoned, open := base(), base()
	cordoned.Spec.Unschedulable = true
	if got := NodeUpdateAction(cordoned, open); got != UpdateNodeTaint {
		t.Errorf("NodeUpdateAction(uncordon) = %v; want UpdateNodeTaint", got)
	}
	if got := NodeUpdateAction(open, cordoned); got != None {
		t.Errorf("NodeUpdateAction(cordon) = %v; want None", got)
	}
}
