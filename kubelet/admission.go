package kubelet

import (
	"fmt"
	goruntime "runtime"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/component-helpers/resource"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
)

// admission is the kubelet's verdict on a pod bound to its node.
type admission struct {
	Admit bool
	// Reason (OutOfcpu, NodeAffinity, ...) and Message say why a pod is
	// rejected; the pod's status becomes Failed with them.
	Reason, Message string
}

// Upstream's predicate names and reasons.
const (
	predicateNodeAffinity    = "NodeAffinity"
	predicateNodePorts       = "NodePorts"
	predicateTaintToleration = "TaintToleration"
	errReasonNodeAffinity    = "node(s) didn't match Pod's node affinity/selector"
	errReasonNodePorts       = "node(s) didn't have free ports for the requested pod ports"
	errReasonTaints          = "node(s) had taints that the pod didn't tolerate"
)

// admitPod decides, as upstream's predicate admit handler does, whether pod
// may run on node beside others (the pods already admitted there and not
// finished), given the node's allocatable resources. Only the first failure
// is reported, with upstream's reason and message.
func admitPod(pod *corev1.Pod, node *corev1.Node, allocatable corev1.ResourceList, others []*corev1.Pod) admission {
	if os, ok := pod.Labels[corev1.LabelOSStable]; ok && os != nodeOS(node) {
		return admission{Reason: "PodOSSelectorNodeLabelDoesNotMatch",
			Message: "Failed to admit pod as the `kubernetes.io/os` label doesn't match node label"}
	}
	if pod.Spec.OS != nil && string(pod.Spec.OS.Name) != goruntime.GOOS {
		return admission{Reason: "PodOSNotSupported", Message: "Failed to admit pod as the OS field doesn't match node OS"}
	}
	if r, ok := insufficientResource(pod, allocatable, others); ok {
		reason := "OutOf" + string(r.name)
		return admission{Reason: reason, Message: fmt.Sprintf("Node didn't have enough resource: %s, requested: %d, used: %d, capacity: %d",
			r.name, r.requested, r.used, r.capacity)}
	}
	if ok, _ := nodeaffinity.GetRequiredNodeAffinity(pod).Match(node); !ok {
		return predicateFailure(predicateNodeAffinity, errReasonNodeAffinity)
	}
	if !portsFree(pod, others) {
		return predicateFailure(predicateNodePorts, errReasonNodePorts)
	}
	_, untolerated := corev1helpers.FindMatchingUntoleratedTaint(logr.Discard(), node.Spec.Taints, pod.Spec.Tolerations,
		func(t *corev1.Taint) bool { return t.Effect == corev1.TaintEffectNoExecute }, false)
	if untolerated {
		return predicateFailure(predicateTaintToleration, errReasonTaints)
	}
	return admission{Admit: true}
}

func predicateFailure(name, reason string) admission {
	return admission{Reason: name, Message: fmt.Sprintf("Predicate %s failed: %s", name, reason)}
}

func nodeOS(node *corev1.Node) string {
	if os, ok := node.Labels[corev1.LabelOSStable]; ok {
		return os
	}
	return goruntime.GOOS
}

type shortage struct {
	name                      corev1.ResourceName
	requested, used, capacity int64
}

// insufficientResource is upstream's fitsRequest: the first resource the pod
// needs more of than is left. Pods come first, then cpu (in millicores),
// memory, ephemeral storage and other resources the node has; extended
// resources the node does not have are not checked.
func insufficientResource(pod *corev1.Pod, allocatable corev1.ResourceList, others []*corev1.Pod) (shortage, bool) {
	if max := allocatable.Pods().Value(); int64(len(others))+1 > max {
		return shortage{corev1.ResourcePods, 1, int64(len(others)), max}, true
	}
	want := resource.PodRequests(pod, resource.PodResourcesOptions{})
	used := corev1.ResourceList{}
	for _, o := range others {
		for name, q := range resource.PodRequests(o, resource.PodResourcesOptions{}) {
			u := used[name]
			u.Add(q)
			used[name] = u
		}
	}
	value := func(name corev1.ResourceName, l corev1.ResourceList) int64 {
		q := l[name]
		if name == corev1.ResourceCPU {
			return q.MilliValue()
		}
		return q.Value()
	}
	names := []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage}
	for name := range want {
		switch name {
		case corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage, corev1.ResourcePods:
			continue
		}
		if _, has := allocatable[name]; has {
			names = append(names, name)
		}
	}
	for _, name := range names {
		w := value(name, want)
		if w <= 0 {
			continue
		}
		if a, u := value(name, allocatable), value(name, used); w > a-u {
			return shortage{name, w, u, a}, true
		}
	}
	return shortage{}, false
}

type hostPort struct {
	protocol corev1.Protocol
	ip       string
	port     int32
}

// portsFree reports whether the host ports pod asks for are free of others'.
func portsFree(pod *corev1.Pod, others []*corev1.Pod) bool {
	want := hostPorts(pod)
	if len(want) == 0 {
		return true
	}
	for _, o := range others {
		for _, have := range hostPorts(o) {
			for _, w := range want {
				if w.protocol == have.protocol && w.port == have.port &&
					(w.ip == have.ip || w.ip == "0.0.0.0" || have.ip == "0.0.0.0") {
					return false
				}
			}
		}
	}
	return true
}

func hostPorts(pod *corev1.Pod) []hostPort {
	var out []hostPort
	add := func(cs []corev1.Container) {
		for i := range cs {
			for _, p := range cs[i].Ports {
				if p.HostPort <= 0 {
					continue
				}
				hp := hostPort{protocol: p.Protocol, ip: p.HostIP, port: p.HostPort}
				if hp.protocol == "" {
					hp.protocol = corev1.ProtocolTCP
				}
				if hp.ip == "" {
					hp.ip = "0.0.0.0"
				}
				out = append(out, hp)
			}
		}
	}
	add(pod.Spec.InitContainers)
	add(pod.Spec.Containers)
	return out
}
