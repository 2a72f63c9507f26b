package kubelet

import (
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
)

// nodeStatusInput is what a node's status is computed from.
type nodeStatusInput struct {
	now                   time.Time
	capacity, allocatable corev1.ResourceList
	addresses             []corev1.NodeAddress
	nodeInfo              corev1.NodeSystemInfo
	// kubeletPort is status.daemonEndpoints.kubeletEndpoint.Port (0: none).
	kubeletPort int32
	// runtimeErrors and networkErrors say why the node is not ready.
	runtimeErrors, networkErrors []string
}

// nodeEvent is an event the status change calls for, upstream's
// recordNodeStatusEvent: reason NodeReady, message "Node <name> status is
// now: NodeReady".
type nodeEvent struct {
	eventType, reason string
}

// setNodeStatus brings node.Status to what the kubelet reports, as upstream's
// status setters do: addresses, capacity and allocatable, nodeInfo, and the
// MemoryPressure, DiskPressure, PIDPressure and (last) Ready conditions, each
// with a fresh heartbeat and a transition time that moves only when its
// status does. Conditions of other types are kept. It returns the events the
// changes call for.
func setNodeStatus(node *corev1.Node, in nodeStatusInput) []nodeEvent {
	now := seconds(in.now)
	s := &node.Status
	s.Addresses = append([]corev1.NodeAddress(nil), in.addresses...)
	s.Capacity = in.capacity.DeepCopy()
	s.Allocatable = in.allocatable.DeepCopy()
	s.NodeInfo = in.nodeInfo
	s.DaemonEndpoints.KubeletEndpoint.Port = in.kubeletPort

	var events []nodeEvent
	pressure := func(t corev1.NodeConditionType, reason, message, event string) {
		c := findNodeCondition(s.Conditions, t)
		if c == nil {
			s.Conditions = append(s.Conditions, corev1.NodeCondition{Type: t, Status: corev1.ConditionUnknown})
			c = &s.Conditions[len(s.Conditions)-1]
		}
		c.LastHeartbeatTime = now
		if c.Status != corev1.ConditionFalse {
			c.Status, c.Reason, c.Message, c.LastTransitionTime = corev1.ConditionFalse, reason, message, now
			events = append(events, nodeEvent{corev1.EventTypeNormal, event})
		}
	}
	pressure(corev1.NodeMemoryPressure, "KubeletHasSufficientMemory", "kubelet has sufficient memory available", "NodeHasSufficientMemory")
	pressure(corev1.NodeDiskPressure, "KubeletHasNoDiskPressure", "kubelet has no disk pressure", "NodeHasNoDiskPressure")
	pressure(corev1.NodePIDPressure, "KubeletHasSufficientPID", "kubelet has sufficient PID available", "NodeHasSufficientPID")

	ready := corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
		Message: "kubelet is posting ready status", LastHeartbeatTime: now}
	errs := append(append([]string{}, in.runtimeErrors...), in.networkErrors...)
	var missing []string
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourcePods, corev1.ResourceEphemeralStorage} {
		if _, ok := s.Capacity[r]; !ok {
			missing = append(missing, string(r))
		}
	}
	if len(missing) > 0 {
		errs = append(errs, "Missing node capacity for resources: "+strings.Join(missing, ", "))
	}
	if len(errs) > 0 {
		ready.Status, ready.Reason, ready.Message = corev1.ConditionFalse, "KubeletNotReady", strings.Join(errs, ",")
	}
	// Ready is the last condition, as upstream keeps it (kubernetes#16961).
	var kept []corev1.NodeCondition
	var old *corev1.NodeCondition
	for i := range s.Conditions {
		if s.Conditions[i].Type == corev1.NodeReady {
			old = &s.Conditions[i]
			continue
		}
		kept = append(kept, s.Conditions[i])
	}
	switch {
	case old == nil:
		ready.LastTransitionTime = now
	case old.Status == ready.Status:
		ready.LastTransitionTime = old.LastTransitionTime
	default:
		ready.LastTransitionTime = now
		event := "NodeNotReady"
		if ready.Status == corev1.ConditionTrue {
			event = "NodeReady"
		}
		events = append(events, nodeEvent{corev1.EventTypeNormal, event})
	}
	s.Conditions = append(kept, ready)
	return events
}

func findNodeCondition(cs []corev1.NodeCondition, t corev1.NodeConditionType) *corev1.NodeCondition {
	for i := range cs {
		if cs[i].Type == t {
			return &cs[i]
		}
	}
	return nil
}

// nodeStatusChanged is upstream's nodeStatusHasChanged: whether anything but
// the conditions' heartbeat times differs.
func nodeStatusChanged(a, b *corev1.NodeStatus) bool {
	if len(a.Conditions) != len(b.Conditions) {
		return true
	}
	strip := func(cs []corev1.NodeCondition) []corev1.NodeCondition {
		out := make([]corev1.NodeCondition, len(cs))
		for i, c := range cs {
			c.LastHeartbeatTime = out[i].LastHeartbeatTime
			out[i] = c
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Type < out[j].Type })
		return out
	}
	x, y := *a, *b
	x.Conditions, y.Conditions = strip(a.Conditions), strip(b.Conditions)
	return !apiequality.Semantic.DeepEqual(x, y)
}

// allocatableOf is capacity less reserved, never below zero.
func allocatableOf(capacity, reserved corev1.ResourceList) corev1.ResourceList {
	out := capacity.DeepCopy()
	for name, r := range reserved {
		q, ok := out[name]
		if !ok {
			continue
		}
		q.Sub(r)
		if q.Sign() < 0 {
			q = *resource.NewQuantity(0, q.Format)
		}
		out[name] = q
	}
	return out
}
