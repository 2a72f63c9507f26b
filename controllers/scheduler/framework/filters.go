package framework

import (
	"fmt"
	"sync"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
)

// Filter failure reasons, worded as upstream's.
const (
	ErrReasonUnschedulable          = "node(s) were unschedulable"
	ErrReasonNodeName               = "node(s) didn't match the requested node name"
	ErrReasonNodeAffinity           = "node(s) didn't match Pod's node affinity/selector"
	ErrReasonNodePorts              = "node(s) didn't have free ports for the requested pod ports"
	ErrReasonTooManyPods            = "Too many pods"
	ErrReasonInsufficientCPU        = "Insufficient cpu"
	ErrReasonInsufficientMemory     = "Insufficient memory"
	ErrReasonInsufficientEphemeral  = "Insufficient ephemeral-storage"
	ErrReasonAffinityRulesNotMatch  = "node(s) didn't match pod affinity rules"
	ErrReasonAntiAffinityNotMatch   = "node(s) didn't match pod anti-affinity rules"
	ErrReasonExistingAntiAffinity   = "node(s) didn't satisfy existing pods anti-affinity rules"
	ErrReasonSpreadConstraints      = "node(s) didn't match pod topology spread constraints"
	ErrReasonSpreadMissingLabel     = ErrReasonSpreadConstraints + " (missing required label)"
	untoleratedTaintReasonFormat    = "node(s) had untolerated taint {%s: %s}"
	insufficientScalarReasonPattern = "Insufficient %v"
)

// discard is the logger the toleration helpers want; they log nothing we need.
var discard = logr.Discard()

// tolerates is upstream's v1helper.TolerationsTolerateTaint.
func tolerates(tolerations []corev1.Toleration, taint *corev1.Taint) bool {
	for i := range tolerations {
		if tolerations[i].ToleratesTaint(discard, taint, false) {
			return true
		}
	}
	return false
}

// untoleratedTaint is the first NoSchedule/NoExecute taint of node that the
// tolerations do not tolerate (upstream's FindMatchingUntoleratedTaint with
// DoNotScheduleTaintsFilterFunc), without allocating.
func untoleratedTaint(taints []corev1.Taint, tolerations []corev1.Toleration) (*corev1.Taint, bool) {
	for i := range taints {
		t := &taints[i]
		if t.Effect != corev1.TaintEffectNoSchedule && t.Effect != corev1.TaintEffectNoExecute {
			continue
		}
		if !tolerates(tolerations, t) {
			return t, true
		}
	}
	return nil, false
}

// fixedStatuses are the statuses with constant reasons, built once per
// Framework and shared by every node that fails the same way.
type fixedStatuses struct {
	unschedulable, nodeName, nodeAffinity, nodePorts *Status
	affinity, antiAffinity, existingAnti             *Status
	spread, spreadMissingLabel                       *Status
	// fit[unresolvable][mask] for the pods/cpu/memory/ephemeral-storage
	// reasons (bits 0..3 in that order).
	fit [2][16]*Status
}

func newFixedStatuses() *fixedStatuses {
	s := &fixedStatuses{
		unschedulable:      NewStatus(NodeUnschedulable, UnschedulableAndUnresolvable, ErrReasonUnschedulable),
		nodeName:           NewStatus(NodeName, UnschedulableAndUnresolvable, ErrReasonNodeName),
		nodeAffinity:       NewStatus(NodeAffinity, UnschedulableAndUnresolvable, ErrReasonNodeAffinity),
		nodePorts:          NewStatus(NodePorts, Unschedulable, ErrReasonNodePorts),
		affinity:           NewStatus(InterPodAffinity, UnschedulableAndUnresolvable, ErrReasonAffinityRulesNotMatch),
		antiAffinity:       NewStatus(InterPodAffinity, Unschedulable, ErrReasonAntiAffinityNotMatch),
		existingAnti:       NewStatus(InterPodAffinity, Unschedulable, ErrReasonExistingAntiAffinity),
		spread:             NewStatus(PodTopologySpread, Unschedulable, ErrReasonSpreadConstraints),
		spreadMissingLabel: NewStatus(PodTopologySpread, UnschedulableAndUnresolvable, ErrReasonSpreadMissingLabel),
	}
	names := []string{ErrReasonTooManyPods, ErrReasonInsufficientCPU, ErrReasonInsufficientMemory, ErrReasonInsufficientEphemeral}
	for mask := 1; mask < 16; mask++ {
		var reasons []string
		for b, r := range names {
			if mask&(1<<b) != 0 {
				reasons = append(reasons, r)
			}
		}
		s.fit[0][mask] = NewStatus(NodeResourcesFit, Unschedulable, reasons...)
		s.fit[1][mask] = NewStatus(NodeResourcesFit, UnschedulableAndUnresolvable, reasons...)
	}
	return s
}

// taintStatuses interns the per-taint statuses of one cycle.
type taintStatuses struct {
	mu sync.Mutex
	m  map[[2]string]*Status
}

func (ts *taintStatuses) get(t *corev1.Taint) *Status {
	k := [2]string{t.Key, t.Value}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if s, ok := ts.m[k]; ok {
		return s
	}
	if ts.m == nil {
		ts.m = make(map[[2]string]*Status, 1)
	}
	s := NewStatus(TaintToleration, UnschedulableAndUnresolvable, fmt.Sprintf(untoleratedTaintReasonFormat, t.Key, t.Value))
	ts.m[k] = s
	return s
}

// filterNode runs the filters in upstream's default order and returns the
// first failure (nil when the node fits). spread and ipa are the cycle's
// prefilter states or, with nominated pods or victims accounted for, copies.
func (f *Framework) filterNode(cs *cycleState, spread *spreadFilterState, ipa *ipaFilterState, ni *NodeInfo) *Status {
	node := ni.node
	pod := cs.pod
	st := f.statuses

	// NodeUnschedulable
	if node.Spec.Unschedulable && !cs.toleratesUnschedulable {
		return st.unschedulable
	}
	// NodeName
	if pod.Spec.NodeName != "" && pod.Spec.NodeName != node.Name {
		return st.nodeName
	}
	// TaintToleration
	if len(node.Spec.Taints) > 0 {
		if t, bad := untoleratedTaint(node.Spec.Taints, pod.Spec.Tolerations); bad {
			return cs.taints.get(t)
		}
	}
	// NodeAffinity
	if !cs.nodeAffinity.empty() && !cs.nodeAffinity.matches(node) {
		return st.nodeAffinity
	}
	// NodePorts
	for _, hp := range cs.pi.ports {
		if ni.usedPorts.conflicts(hp) {
			return st.nodePorts
		}
	}
	// NodeResourcesFit
	if s := f.fitFilter(cs, ni); s != nil {
		return s
	}
	// PodTopologySpread
	if spread != nil {
		if s := spread.filter(st, cs, node); s != nil {
			return s
		}
	}
	// InterPodAffinity
	if ipa != nil {
		if s := ipa.filter(st, node); s != nil {
			return s
		}
	}
	return nil
}

// fitFilter is NodeResourcesFit's Filter: every reason is kept; the status is
// UnschedulableAndUnresolvable when the pod asks for more than the node's
// whole allocatable of some resource (no eviction can help).
func (f *Framework) fitFilter(cs *cycleState, ni *NodeInfo) *Status {
	req := &cs.pi.Requests
	alloc, used := &ni.allocatable, &ni.requested
	mask, unresolvable := 0, 0
	if int64(len(ni.pods))+1 > alloc.AllowedPodNumber {
		mask |= 1
	}
	if cs.requestsNothing {
		if mask == 0 {
			return nil
		}
		return f.statuses.fit[0][mask]
	}
	if req.MilliCPU > 0 && req.MilliCPU > alloc.MilliCPU-used.MilliCPU {
		mask |= 2
		if req.MilliCPU > alloc.MilliCPU {
			unresolvable = 1
		}
	}
	if req.Memory > 0 && req.Memory > alloc.Memory-used.Memory {
		mask |= 4
		if req.Memory > alloc.Memory {
			unresolvable = 1
		}
	}
	if req.EphemeralStorage > 0 && req.EphemeralStorage > alloc.EphemeralStorage-used.EphemeralStorage {
		mask |= 8
		if req.EphemeralStorage > alloc.EphemeralStorage {
			unresolvable = 1
		}
	}
	var scalar []string
	for _, name := range cs.scalarNames {
		q := req.Scalar[name]
		if q == 0 {
			continue
		}
		if q > alloc.Scalar[name]-used.Scalar[name] {
			scalar = append(scalar, fmt.Sprintf(insufficientScalarReasonPattern, name))
			if q > alloc.Scalar[name] {
				unresolvable = 1
			}
		}
	}
	if mask == 0 && len(scalar) == 0 {
		return nil
	}
	if len(scalar) == 0 {
		return f.statuses.fit[unresolvable][mask]
	}
	reasons := append([]string(nil), f.statuses.fit[0][mask].Reasons()...)
	if mask == 0 {
		reasons = nil
	}
	reasons = append(reasons, scalar...)
	code := Unschedulable
	if unresolvable == 1 {
		code = UnschedulableAndUnresolvable
	}
	return NewStatus(NodeResourcesFit, code, reasons...)
}
