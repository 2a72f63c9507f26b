package queue

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
)

// ActionType is a bit set of the kinds of change a cluster event carries.
// One Event may carry several bits (a node update that changed both labels
// and taints is UpdateNodeLabel|UpdateNodeTaint).
type ActionType uint

// The action bits, as upstream's framework.ActionType.
const (
	Add ActionType = 1 << iota
	Delete
	// UpdateNodeAllocatable: status.allocatable changed.
	UpdateNodeAllocatable
	// UpdateNodeLabel: labels changed.
	UpdateNodeLabel
	// UpdateNodeTaint: taints changed, or spec.unschedulable went from true to false.
	UpdateNodeTaint
	// UpdateNodeCondition: the status of some condition type changed.
	UpdateNodeCondition
	// UpdatePodLabel: a pod's labels changed.
	UpdatePodLabel
	// UpdatePodScaleDown: a pod's requests went down (or a request was removed).
	UpdatePodScaleDown

	// None is no change at all.
	None ActionType = 0
	// Update is every kind of update.
	Update = UpdateNodeAllocatable | UpdateNodeLabel | UpdateNodeTaint | UpdateNodeCondition | UpdatePodLabel | UpdatePodScaleDown
	// All is every action.
	All = Add | Delete | Update
)

var actionNames = []string{"Add", "Delete", "UpdateNodeAllocatable", "UpdateNodeLabel", "UpdateNodeTaint", "UpdateNodeCondition", "UpdatePodLabel", "UpdatePodScaleDown"}

// String names the action: "Add", "Update", "All", or the bits joined by "|".
func (a ActionType) String() string {
	switch a {
	case None:
		return "None"
	case All:
		return "All"
	case Update:
		return "Update"
	}
	var names []string
	for i, n := range actionNames {
		if a&(1<<i) != 0 {
			names = append(names, n)
		}
	}
	return strings.Join(names, "|")
}

// Resource names of events, as upstream's framework.GVK values.
const (
	Pod  = "Pod"
	Node = "Node"
	// WildCard as an interest's Resource matches events on every resource;
	// an event {WildCard, All} helps every pod (upstream's UnschedulableTimeout).
	WildCard = "*"
)

// Event is a change in the cluster that may make unschedulable pods schedulable
// (upstream's framework.ClusterEvent). Label names the event in metrics; when
// empty, Resource followed by Action is used ("NodeAdd").
type Event struct {
	Resource string
	Action   ActionType
	Label    string
}

// Matches reports whether e, taken as an interest, covers ev: the resources
// are equal (or either is WildCard) and the actions share a bit.
func (e Event) Matches(ev Event) bool {
	if e.Resource != ev.Resource && e.Resource != WildCard && ev.Resource != WildCard {
		return false
	}
	return e.Action&ev.Action != 0
}

func (e Event) isWildCard() bool { return e.Resource == WildCard && e.Action == All }

func (e Event) label() string {
	if e.Label != "" {
		return e.Label
	}
	return e.Resource + e.Action.String()
}

// Labels of the queue's own events in scheduler_queue_incoming_pods_total.
const (
	labelPodAdd                 = "PodAdd"
	labelPodUpdate              = "PodUpdate"
	labelScheduleAttemptFailure = "ScheduleAttemptFailure"
	labelBackoffComplete        = "BackoffComplete"
	labelUnschedulableTimeout   = "UnschedulableTimeout"
	labelAssignedPodAdd         = "AssignedPodAdd"
	labelAssignedPodUpdate      = "AssignedPodUpdate"
)

var unschedulableTimeout = Event{Resource: WildCard, Action: All, Label: labelUnschedulableTimeout}

// NodeUpdateAction says which scheduling-relevant properties changed between
// two versions of a node, as upstream's NodeSchedulingPropertiesChange: None
// when nothing that may help a pending pod changed. A node that became
// schedulable (spec.unschedulable true → false) counts as UpdateNodeTaint.
func NodeUpdateAction(oldNode, newNode *corev1.Node) ActionType {
	var a ActionType
	if oldNode.Spec.Unschedulable && !newNode.Spec.Unschedulable {
		a |= UpdateNodeTaint
	}
	if !equality.Semantic.DeepEqual(oldNode.Status.Allocatable, newNode.Status.Allocatable) {
		a |= UpdateNodeAllocatable
	}
	if !equality.Semantic.DeepEqual(oldNode.Labels, newNode.Labels) {
		a |= UpdateNodeLabel
	}
	if !equality.Semantic.DeepEqual(oldNode.Spec.Taints, newNode.Spec.Taints) {
		a |= UpdateNodeTaint
	}
	if conditionsChanged(oldNode.Status.Conditions, newNode.Status.Conditions) {
		a |= UpdateNodeCondition
	}
	return a
}

// conditionsChanged compares type → status only: heartbeat and transition
// times change all the time and never matter to scheduling.
func conditionsChanged(a, b []corev1.NodeCondition) bool {
	status := func(cs []corev1.NodeCondition) map[corev1.NodeConditionType]corev1.ConditionStatus {
		m := make(map[corev1.NodeConditionType]corev1.ConditionStatus, len(cs))
		for _, c := range cs {
			m[c.Type] = c.Status
		}
		return m
	}
	sa, sb := status(a), status(b)
	if len(sa) != len(sb) {
		return true
	}
	for k, v := range sa {
		if w, ok := sb[k]; !ok || w != v {
			return true
		}
	}
	return false
}
