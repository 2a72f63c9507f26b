package nodelifecycle

import (
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Condition reasons and messages the monitor writes, upstream's.
const (
	reasonStatusUnknown       = "NodeStatusUnknown"
	messageStatusUnknown      = "Kubelet stopped posting node status."
	reasonStatusNeverUpdated  = "NodeStatusNeverUpdated"
	messageStatusNeverUpdated = "Kubelet never posted node status."
)

// unknownConditions are the conditions a silent node's are set Unknown:
// NetworkUnavailable is left alone, as upstream, since the network, not the
// kubelet, reports it.
var unknownConditions = []corev1.NodeConditionType{
	corev1.NodeReady, corev1.NodeMemoryPressure, corev1.NodeDiskPressure, corev1.NodePIDPressure,
}

// nodeHealth is what the monitor last saw of a node, with the local times at
// which it saw it.
type nodeHealth struct {
	// probe is when the last heartbeat or lease renewal was seen.
	probe time.Time
	// readyTransition is when the Ready condition was last seen to change.
	readyTransition time.Time
	// ready is the Ready condition last seen; nil if the node had none.
	ready *corev1.NodeCondition
	// sawLease says a Lease was seen; leaseRenew is its renewTime then.
	sawLease   bool
	leaseRenew *metav1.MicroTime
}

// readyCondition returns the status's Ready condition, or nil.
func readyCondition(st *corev1.NodeStatus) *corev1.NodeCondition {
	return condition(st, corev1.NodeReady)
}

func condition(st *corev1.NodeStatus, t corev1.NodeConditionType) *corev1.NodeCondition {
	for i := range st.Conditions {
		if st.Conditions[i].Type == t {
			return &st.Conditions[i]
		}
	}
	return nil
}

// observeHealth is upstream's bookkeeping of a node's heartbeats
// (tryUpdateNodeHealth, without the write). From prev, what was seen before
// (nil for a node not seen yet), the node and its lease (nil if none) as they
// are now, it returns what is seen now, the node's Ready condition as posted
// (a made-up Unknown one, dated at the node's creation, if it has none) and
// the grace period the node is entitled to. The node is overdue when now is
// after next.probe plus grace.
//
// The probe time moves to now when the Ready condition's lastHeartbeatTime
// changes or the lease's renewTime advances; a node seen for the first time
// with a Ready condition gets now too (a restarted controller gives every
// node a full grace period). A node that never posted Ready counts from its
// creation, with the startup grace period.
func observeHealth(prev *nodeHealth, node *corev1.Node, lease *coordinationv1.Lease, now time.Time, cfg Config) (next nodeHealth, observed corev1.NodeCondition, grace time.Duration) {
	current := readyCondition(&node.Status)
	var h *nodeHealth
	if prev != nil {
		cp := *prev
		h = &cp
	}
	if current == nil {
		created := node.CreationTimestamp
		observed = corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionUnknown,
			LastHeartbeatTime: created, LastTransitionTime: created}
		grace = cfg.NodeStartupGracePeriod
		if h != nil {
			h.ready = nil
		} else {
			h = &nodeHealth{probe: created.Time, readyTransition: created.Time}
		}
	} else {
		observed = *current
		grace = cfg.NodeMonitorGracePeriod
	}

	// A node whose Ready condition went away keeps its probe time, with the
	// startup grace period: saved is nil then, as upstream's.
	var saved *corev1.NodeCondition
	sawLease, savedRenew := false, (*metav1.MicroTime)(nil)
	if h != nil {
		saved, sawLease, savedRenew = h.ready, h.sawLease, h.leaseRenew
	}
	fresh := func(transition time.Time) *nodeHealth {
		var ready *corev1.NodeCondition
		if current != nil {
			ready = current.DeepCopy()
		}
		return &nodeHealth{probe: now, readyTransition: transition, ready: ready, sawLease: sawLease, leaseRenew: savedRenew}
	}
	switch {
	case h == nil:
		// First seen, with a Ready condition.
		h = fresh(now)
	case saved == nil && current != nil:
		// First Ready condition posted, or a restart with the node posted.
		h = fresh(now)
	case saved != nil && current != nil && !saved.LastHeartbeatTime.Equal(&current.LastHeartbeatTime):
		transition := h.readyTransition
		if !saved.LastTransitionTime.Equal(&current.LastTransitionTime) {
			transition = now
		}
		h = fresh(transition)
	}

	// A renewed lease is a heartbeat too; a node that renews its lease but
	// never posts status is therefore left alone, as upstream.
	if lease != nil && (!sawLease || renewed(savedRenew, lease.Spec.RenewTime)) {
		h.sawLease = true
		h.leaseRenew = lease.Spec.RenewTime.DeepCopy()
		h.probe = now
	}
	return *h, observed, grace
}

// renewed reports whether a lease's renewTime moved on from saved to cur.
func renewed(saved, cur *metav1.MicroTime) bool {
	if cur == nil {
		return false
	}
	return saved == nil || saved.Before(cur)
}

// markUnknown sets the conditions of a node that stopped reporting to
// Unknown, as upstream: a condition never posted is added, dated at the
// node's creation; one that is not Unknown already becomes Unknown, with a
// transition at now. It reports whether it changed anything.
func markUnknown(node *corev1.Node, now metav1.Time) bool {
	changed := false
	for _, t := range unknownConditions {
		c := condition(&node.Status, t)
		switch {
		case c == nil:
			node.Status.Conditions = append(node.Status.Conditions, corev1.NodeCondition{
				Type:               t,
				Status:             corev1.ConditionUnknown,
				Reason:             reasonStatusNeverUpdated,
				Message:            messageStatusNeverUpdated,
				LastHeartbeatTime:  node.CreationTimestamp,
				LastTransitionTime: now,
			})
			changed = true
		case c.Status != corev1.ConditionUnknown:
			c.Status = corev1.ConditionUnknown
			c.Reason = reasonStatusUnknown
			c.Message = messageStatusUnknown
			c.LastTransitionTime = now
			changed = true
		}
	}
	return changed
}
