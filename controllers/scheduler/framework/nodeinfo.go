package framework

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	resourcehelper "k8s.io/component-helpers/resource"
)

// Scoring defaults for containers that request no cpu or memory, as upstream's
// schedutil.DefaultMilliCPURequest and DefaultMemoryRequest: without them a node
// full of best-effort pods would look empty to the scores.
const (
	DefaultMilliCPURequest int64 = 100               // 0.1 core
	DefaultMemoryRequest   int64 = 200 * 1024 * 1024 // 200 MiB
)

// Resource is an amount of node resources in the units the filters compare:
// millicores, bytes, bytes, pods, and the integer value of every other
// (extended, hugepages, attachable-volumes) resource.
type Resource struct {
	MilliCPU         int64
	Memory           int64
	EphemeralStorage int64
	AllowedPodNumber int64
	Scalar           map[corev1.ResourceName]int64
}

// NewResource converts a ResourceList.
func NewResource(rl corev1.ResourceList) Resource {
	var r Resource
	r.Add(rl)
	return r
}

// Add adds every quantity of rl to r.
func (r *Resource) Add(rl corev1.ResourceList) {
	for name, q := range rl {
		switch name {
		case corev1.ResourceCPU:
			r.MilliCPU += q.MilliValue()
		case corev1.ResourceMemory:
			r.Memory += q.Value()
		case corev1.ResourcePods:
			r.AllowedPodNumber += q.Value()
		case corev1.ResourceEphemeralStorage:
			r.EphemeralStorage += q.Value()
		default:
			if isScalarResourceName(name) {
				r.addScalar(name, q.Value())
			}
		}
	}
}

func (r *Resource) addScalar(name corev1.ResourceName, v int64) {
	if r.Scalar == nil {
		r.Scalar = make(map[corev1.ResourceName]int64, 1)
	}
	r.Scalar[name] += v
}

func (r *Resource) addResource(o *Resource, sign int64) {
	r.MilliCPU += sign * o.MilliCPU
	r.Memory += sign * o.Memory
	r.EphemeralStorage += sign * o.EphemeralStorage
	r.AllowedPodNumber += sign * o.AllowedPodNumber
	for name, v := range o.Scalar {
		r.addScalar(name, sign*v)
	}
}

// Clone returns a copy that shares nothing with r.
func (r Resource) Clone() Resource {
	c := r
	if r.Scalar != nil {
		c.Scalar = make(map[corev1.ResourceName]int64, len(r.Scalar))
		for k, v := range r.Scalar {
			c.Scalar[k] = v
		}
	}
	return c
}

// isScalarResourceName is upstream's v1helper.IsScalarResourceName: extended
// resources (domain-prefixed, not kubernetes.io/), hugepages-*, attachable-volumes-*
// and requests.* quota names.
func isScalarResourceName(name corev1.ResourceName) bool {
	return isExtendedResourceName(name) || hasPrefix(string(name), corev1.ResourceHugePagesPrefix) ||
		hasPrefix(string(name), corev1.ResourceAttachableVolumesPrefix)
}

func isExtendedResourceName(name corev1.ResourceName) bool {
	s := string(name)
	if isNativeResource(s) || hasPrefix(s, corev1.DefaultResourceRequestsPrefix) {
		return false
	}
	// Upstream also requires the requests.-prefixed name to be a valid
	// qualified name; the apiserver already validated the pod.
	return true
}

// isNativeResource: no domain prefix, or the kubernetes.io/ domain.
func isNativeResource(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			dom := s[:i]
			return dom == "kubernetes.io" || hasSuffix(dom, ".kubernetes.io")
		}
	}
	return true
}

func hasPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }
func hasSuffix(s, p string) bool { return len(s) >= len(p) && s[len(s)-len(p):] == p }

// PodInfo is a pod with what the filters and scores need precomputed once:
// its requests and its parsed (anti-)affinity terms. A PodInfo is immutable
// once built; NodeInfos share them.
type PodInfo struct {
	Pod *corev1.Pod
	// Requests is what the pod asks for, as resource.PodRequests counts it:
	// the larger of the sum of containers and the largest init container
	// (sidecars included), plus pod overhead.
	Requests Resource
	// NonZeroRequests is Requests with DefaultMilliCPURequest and
	// DefaultMemoryRequest for containers that leave cpu or memory unset; only
	// MilliCPU and Memory are filled. The scores use it.
	NonZeroRequests Resource

	RequiredAffinityTerms      []AffinityTerm
	RequiredAntiAffinityTerms  []AffinityTerm
	PreferredAffinityTerms     []WeightedAffinityTerm
	PreferredAntiAffinityTerms []WeightedAffinityTerm
	// ParseErr is the first error met parsing the pod's affinity terms; a
	// pod with one is unschedulable (upstream's PreFilter error).
	ParseErr error

	// ports are the host ports the pod's containers ask for.
	ports []hostPort
}

// NewPodInfo precomputes p's requests and affinity terms. p must not be
// modified afterwards.
func NewPodInfo(p *corev1.Pod) *PodInfo {
	pi := &PodInfo{Pod: p}
	reqs := resourcehelper.PodRequests(p, resourcehelper.PodResourcesOptions{})
	pi.Requests.Add(reqs)
	cpu, mem := nonZeroRequests(p, reqs)
	pi.NonZeroRequests = Resource{MilliCPU: cpu, Memory: mem}
	pi.parseAffinity()
	pi.ports = podHostPorts(p)
	return pi
}

// nonZeroRequests is upstream's calculateResource non-zero part, without a
// second PodRequests call (and its allocations) when every container sets both.
func nonZeroRequests(p *corev1.Pod, reqs corev1.ResourceList) (int64, int64) {
	missing := false
	check := func(cs []corev1.Container) {
		for i := range cs {
			r := cs[i].Resources.Requests
			if _, ok := r[corev1.ResourceCPU]; !ok {
				missing = true
			}
			if _, ok := r[corev1.ResourceMemory]; !ok {
				missing = true
			}
		}
	}
	check(p.Spec.Containers)
	check(p.Spec.InitContainers)
	if missing {
		reqs = resourcehelper.PodRequests(p, resourcehelper.PodResourcesOptions{
			NonMissingContainerRequests: corev1.ResourceList{
				corev1.ResourceCPU:    *resource.NewMilliQuantity(DefaultMilliCPURequest, resource.DecimalSI),
				corev1.ResourceMemory: *resource.NewQuantity(DefaultMemoryRequest, resource.DecimalSI),
			},
		})
	}
	cpu, mem := reqs[corev1.ResourceCPU], reqs[corev1.ResourceMemory]
	return cpu.MilliValue(), mem.Value()
}

// NodeInfo is a node and the pods bound or assumed to it, with their sums.
// A NodeInfo in a Snapshot is read-only: the cache builds a new one (Clone) to
// change it.
type NodeInfo struct {
	// Generation is set by the cache each time it changes this NodeInfo, so a
	// snapshot can copy only what changed. The framework never changes it.
	Generation int64

	node *corev1.Node
	pods []*PodInfo
	// podsWithAffinity holds pods with any (anti-)affinity term;
	// podsWithRequiredAntiAffinity those with required anti-affinity terms.
	podsWithAffinity             []*PodInfo
	podsWithRequiredAntiAffinity []*PodInfo

	allocatable      Resource
	requested        Resource
	nonZeroRequested Resource
	usedPorts        hostPortSet
}

// NewNodeInfo returns an empty NodeInfo: no node, no pods.
func NewNodeInfo() *NodeInfo { return &NodeInfo{} }

// Node is the node, or nil while only pods are known (a pod's binding was
// seen before its node).
func (n *NodeInfo) Node() *corev1.Node { return n.node }

// SetNode sets the node and its allocatable resources.
func (n *NodeInfo) SetNode(node *corev1.Node) {
	n.node = node
	n.allocatable = NewResource(node.Status.Allocatable)
}

// RemoveNode forgets the node, keeping the pods.
func (n *NodeInfo) RemoveNode() {
	n.node = nil
	n.allocatable = Resource{}
}

// Name is the node's name, "" without a node.
func (n *NodeInfo) Name() string {
	if n.node == nil {
		return ""
	}
	return n.node.Name
}

// AddPodInfo adds a pod and its requests and host ports.
func (n *NodeInfo) AddPodInfo(p *PodInfo) {
	n.pods = append(n.pods, p)
	if p.hasAffinity() {
		n.podsWithAffinity = append(n.podsWithAffinity, p)
	}
	if len(p.RequiredAntiAffinityTerms) > 0 {
		n.podsWithRequiredAntiAffinity = append(n.podsWithRequiredAntiAffinity, p)
	}
	n.updateLocked(p, 1)
}

// AddPod is AddPodInfo(NewPodInfo(p)).
func (n *NodeInfo) AddPod(p *corev1.Pod) { n.AddPodInfo(NewPodInfo(p)) }

// RemovePod removes the pod with p's UID and subtracts what it held. It
// fails when no such pod is on n.
func (n *NodeInfo) RemovePod(p *corev1.Pod) error {
	n.podsWithAffinity = removeByUID(n.podsWithAffinity, p)
	n.podsWithRequiredAntiAffinity = removeByUID(n.podsWithRequiredAntiAffinity, p)
	for i, pi := range n.pods {
		if pi.Pod.UID != p.UID {
			continue
		}
		last := len(n.pods) - 1
		n.pods[i] = n.pods[last]
		n.pods[last] = nil
		n.pods = n.pods[:last]
		n.updateLocked(pi, -1)
		return nil
	}
	return fmt.Errorf("pod %s/%s (uid %s) is not on node %q", p.Namespace, p.Name, p.UID, n.Name())
}

// removeByUID removes p (by UID) keeping the order of the others, which
// is what makes scoring over several pods deterministic.
func removeByUID(list []*PodInfo, p *corev1.Pod) []*PodInfo {
	for i, pi := range list {
		if pi.Pod.UID == p.UID {
			copy(list[i:], list[i+1:])
			list[len(list)-1] = nil
			return list[:len(list)-1]
		}
	}
	return list
}

// updateLocked adds (sign 1) or subtracts (-1) a pod's requests and ports.
func (n *NodeInfo) updateLocked(p *PodInfo, sign int64) {
	n.requested.addResource(&p.Requests, sign)
	n.nonZeroRequested.MilliCPU += sign * p.NonZeroRequests.MilliCPU
	n.nonZeroRequested.Memory += sign * p.NonZeroRequests.Memory
	for _, hp := range p.ports {
		if sign > 0 {
			n.usedPorts.add(hp)
		} else {
			n.usedPorts.remove(hp)
		}
	}
}

// Pods are the pods on the node. Do not modify the slice.
func (n *NodeInfo) Pods() []*PodInfo { return n.pods }

// PodsWithAffinity are the pods with any pod (anti-)affinity term.
func (n *NodeInfo) PodsWithAffinity() []*PodInfo { return n.podsWithAffinity }

// PodsWithRequiredAntiAffinity are the pods with a required anti-affinity term.
func (n *NodeInfo) PodsWithRequiredAntiAffinity() []*PodInfo {
	return n.podsWithRequiredAntiAffinity
}

// HasAffinityPods reports whether a pod on the node has any pod (anti-)affinity term.
func (n *NodeInfo) HasAffinityPods() bool { return len(n.podsWithAffinity) > 0 }

// HasRequiredAntiAffinityPods reports whether a pod on the node has a required
// anti-affinity term.
func (n *NodeInfo) HasRequiredAntiAffinityPods() bool {
	return len(n.podsWithRequiredAntiAffinity) > 0
}

// Requested is the sum of the pods' requests.
func (n *NodeInfo) Requested() Resource { return n.requested }

// NonZeroRequested is the sum of the pods' NonZeroRequests.
func (n *NodeInfo) NonZeroRequested() Resource { return n.nonZeroRequested }

// Allocatable is the node's status.allocatable.
func (n *NodeInfo) Allocatable() Resource { return n.allocatable }

// Clone returns a copy whose pod lists, sums and ports can change without
// touching n. The node and the PodInfos themselves are shared: they are
// immutable.
func (n *NodeInfo) Clone() *NodeInfo {
	c := &NodeInfo{
		Generation:       n.Generation,
		node:             n.node,
		allocatable:      n.allocatable.Clone(),
		requested:        n.requested.Clone(),
		nonZeroRequested: n.nonZeroRequested,
		usedPorts:        n.usedPorts.clone(),
	}
	if len(n.pods) > 0 {
		c.pods = append([]*PodInfo(nil), n.pods...)
	}
	if len(n.podsWithAffinity) > 0 {
		c.podsWithAffinity = append([]*PodInfo(nil), n.podsWithAffinity...)
	}
	if len(n.podsWithRequiredAntiAffinity) > 0 {
		c.podsWithRequiredAntiAffinity = append([]*PodInfo(nil), n.podsWithRequiredAntiAffinity...)
	}
	return c
}

// String is for logs and test failures.
func (n *NodeInfo) String() string {
	return fmt.Sprintf("&NodeInfo{node: %q, pods: %d, requested: %+v, allocatable: %+v}",
		n.Name(), len(n.pods), n.requested, n.allocatable)
}

// Snapshot is what one scheduling cycle sees; the cache fills the exported
// fields and the framework only reads them.
type Snapshot struct {
	// Map holds node name → info for nodes whose Node() != nil.
	Map map[string]*NodeInfo
	// List is the same NodeInfos in an order the cache keeps stable
	// across cycles (the rotating start index relies on it).
	List []*NodeInfo
	// WithAffinity are the NodeInfos with HasAffinityPods;
	// WithRequiredAntiAffinity those with HasRequiredAntiAffinityPods.
	WithAffinity, WithRequiredAntiAffinity []*NodeInfo
	// Generation is the largest NodeInfo.Generation the snapshot holds.
	Generation int64
}

// NewSnapshot builds a Snapshot of infos (those with a node), in that order.
// For tests and callers without a cache.
func NewSnapshot(infos ...*NodeInfo) *Snapshot {
	s := &Snapshot{Map: make(map[string]*NodeInfo, len(infos))}
	for _, ni := range infos {
		if ni.Node() == nil {
			continue
		}
		s.Map[ni.Node().Name] = ni
		s.List = append(s.List, ni)
		if ni.HasAffinityPods() {
			s.WithAffinity = append(s.WithAffinity, ni)
		}
		if ni.HasRequiredAntiAffinityPods() {
			s.WithRequiredAntiAffinity = append(s.WithRequiredAntiAffinity, ni)
		}
		if ni.Generation > s.Generation {
			s.Generation = ni.Generation
		}
	}
	return s
}
