package framework

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
)

// Plugin names, as upstream's (they appear in FitError.UnschedulablePlugins
// and EventInterests).
const (
	NodeResourcesFit                = "NodeResourcesFit"
	NodeName                        = "NodeName"
	NodeUnschedulable               = "NodeUnschedulable"
	NodeAffinity                    = "NodeAffinity"
	TaintToleration                 = "TaintToleration"
	NodePorts                       = "NodePorts"
	InterPodAffinity                = "InterPodAffinity"
	PodTopologySpread               = "PodTopologySpread"
	NodeResourcesBalancedAllocation = "NodeResourcesBalancedAllocation"
	DefaultPreemption               = "DefaultPreemption"
)

// Code is the outcome of a plugin on a node, as upstream's framework.Code.
type Code int

const (
	// Success: the node passed.
	Success Code = iota
	// Error: something went wrong that is not the pod's or the node's fault.
	Error
	// Unschedulable: the node does not fit now, but evicting pods from it
	// (preemption) might make it fit.
	Unschedulable
	// UnschedulableAndUnresolvable: the node does not fit and preemption
	// cannot change that (a label, a taint, a node name, a size).
	UnschedulableAndUnresolvable
)

var codeNames = []string{"Success", "Error", "Unschedulable", "UnschedulableAndUnresolvable"}

func (c Code) String() string {
	if int(c) < len(codeNames) {
		return codeNames[c]
	}
	return fmt.Sprintf("Code(%d)", int(c))
}

// Status is why a node did not fit: a code, the upstream-worded reasons and
// the plugin that said so. A nil *Status is Success. Statuses are shared
// between nodes and cycles: never modify one.
type Status struct {
	code    Code
	reasons []string
	plugin  string
	err     error
}

// NewStatus returns a status of plugin with code and reasons.
func NewStatus(plugin string, code Code, reasons ...string) *Status {
	return &Status{code: code, reasons: reasons, plugin: plugin}
}

func asStatus(plugin string, err error) *Status {
	return &Status{code: Error, reasons: []string{err.Error()}, plugin: plugin, err: err}
}

// Code is the status code; Success for nil.
func (s *Status) Code() Code {
	if s == nil {
		return Success
	}
	return s.code
}

// IsSuccess reports whether s is nil or Success.
func (s *Status) IsSuccess() bool { return s.Code() == Success }

// IsRejected reports Unschedulable or UnschedulableAndUnresolvable.
func (s *Status) IsRejected() bool {
	c := s.Code()
	return c == Unschedulable || c == UnschedulableAndUnresolvable
}

// Reasons are the reasons, as upstream words them.
func (s *Status) Reasons() []string {
	if s == nil {
		return nil
	}
	return s.reasons
}

// Plugin is the plugin that returned s.
func (s *Status) Plugin() string {
	if s == nil {
		return ""
	}
	return s.plugin
}

// Message is the reasons joined by ", ".
func (s *Status) Message() string {
	if s == nil {
		return ""
	}
	return strings.Join(s.reasons, ", ")
}

// AsError is the status as an error (nil on success).
func (s *Status) AsError() error {
	if s.IsSuccess() {
		return nil
	}
	if s.err != nil {
		return s.err
	}
	return fmt.Errorf("%s: %s", s.plugin, s.Message())
}

func (s *Status) String() string {
	if s == nil {
		return "Success"
	}
	return fmt.Sprintf("%s %s: %s", s.plugin, s.code, s.Message())
}

// FitError is Schedule's error when no node fits the pod. Its message is
// upstream's FailedScheduling text:
//
//	0/3 nodes are available: 2 Insufficient cpu, 1 node(s) had untolerated taint {k: v}. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.
//
// The " preemption: …" part is PostFilterMsg, which Preempt fills in.
type FitError struct {
	Pod         *corev1.Pod
	NumAllNodes int
	// NodeToStatus holds the status of every node that did not fit.
	NodeToStatus map[string]*Status
	// UnschedulablePlugins are the plugins that rejected a node (or the pod
	// in PreFilter): the queue moves the pod back when an event interests one.
	UnschedulablePlugins sets.Set[string]
	// PreFilterMsg is set when a PreFilter rejected the pod for every node;
	// the per-node reasons are then not repeated.
	PreFilterMsg string
	// PostFilterMsg is the preemption outcome ("preemption: …"), set by
	// Preempt when it found no victims.
	PostFilterMsg string
}

// NoNodeAvailableMsg is how every FitError message starts.
const NoNodeAvailableMsg = "0/%v nodes are available"

// Error is upstream's text: reasons counted over nodes, "N reason" sorted as
// strings and joined by ", "; then ". " and the preemption part.
func (e *FitError) Error() string {
	msg := fmt.Sprintf(NoNodeAvailableMsg+":", e.NumAllNodes)
	if e.PreFilterMsg != "" {
		msg += fmt.Sprintf(" %v.", e.PreFilterMsg)
	} else if h := reasonHistogram(e.NodeToStatus); h != "" {
		msg += fmt.Sprintf(" %v.", h)
	}
	if e.PostFilterMsg != "" {
		// The preemption part is itself a FitError text: one period, not two.
		msg += fmt.Sprintf(" %v.", strings.TrimSuffix(e.PostFilterMsg, "."))
	}
	return msg
}

// reasonHistogram counts each reason over the statuses: "2 Insufficient cpu,
// 1 node(s) were unschedulable", sorted as strings like upstream (so "10 x"
// sorts before "2 y").
func reasonHistogram(statuses map[string]*Status) string {
	counts := make(map[string]int)
	for _, s := range statuses {
		for _, r := range s.Reasons() {
			counts[r]++
		}
	}
	parts := make([]string, 0, len(counts))
	for r, n := range counts {
		parts = append(parts, fmt.Sprintf("%v %v", n, r))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}
