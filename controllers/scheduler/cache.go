package scheduler

import (
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tendhq/tend/controllers/scheduler/framework"
)

// cache is the scheduler's view of the cluster: every node and the pods bound
// or assumed to each, as upstream's backend/cache.
//
// A pod is assumed when the scheduler has chosen its node and not yet seen
// the binding: the room it takes is counted at once, so the next cycle does
// not give it away while the binding request is in flight. The informer's
// add of the bound pod confirms it (AddPod), wherever it was bound; a failed
// binding forgets it (ForgetPod). Assumed pods never expire (upstream's
// durationToExpireAssumedPod is 0 since kubernetes#106361): either the bound
// pod or its deletion always comes through the informer.
//
// Every change to a NodeInfo gives it the next generation of the cache and
// moves it to the head of a list ordered by generation, so UpdateSnapshot
// copies only the NodeInfos changed since the snapshot it updates: the cost
// of a cycle does not grow with the number of nodes.
//
// It is safe for concurrent use.
type cache struct {
	mu sync.Mutex
	// generation is the last generation given to a NodeInfo.
	generation int64
	// nodes holds every NodeInfo by node name: nodes with their Node, and
	// "ghosts", nodes not (or no longer) known whose pods are.
	nodes map[string]*nodeItem
	// head is the most recently changed NodeInfo; the list runs to older ones.
	head *nodeItem
	tree *nodeTree
	// orderChanged says the tree changed since the last snapshot.
	orderChanged bool
	pods         map[types.UID]*podState
	assumed      int
}

// nodeItem is a NodeInfo in the list by generation.
type nodeItem struct {
	name       string
	info       *framework.NodeInfo
	prev, next *nodeItem
}

type podState struct {
	pod             *corev1.Pod
	assumed         bool
	bindingFinished bool
}

func newCache() *cache {
	return &cache{nodes: map[string]*nodeItem{}, tree: newNodeTree(), pods: map[types.UID]*podState{}}
}

// touchLocked gives the NodeInfo of name the next generation and moves it to
// the head of the list, creating it if needed.
func (c *cache) touchLocked(name string) *nodeItem {
	it, ok := c.nodes[name]
	if !ok {
		it = &nodeItem{name: name, info: framework.NewNodeInfo()}
		c.nodes[name] = it
	} else if it == c.head {
		c.generation++
		it.info.Generation = c.generation
		return it
	} else {
		c.unlinkLocked(it)
	}
	it.next = c.head
	if c.head != nil {
		c.head.prev = it
	}
	c.head = it
	c.generation++
	it.info.Generation = c.generation
	return it
}

func (c *cache) unlinkLocked(it *nodeItem) {
	if it.prev != nil {
		it.prev.next = it.next
	}
	if it.next != nil {
		it.next.prev = it.prev
	}
	if c.head == it {
		c.head = it.next
	}
	it.prev, it.next = nil, nil
}

// dropIfEmptyLocked removes a NodeInfo with neither node nor pods.
func (c *cache) dropIfEmptyLocked(it *nodeItem) {
	if it.info.Node() == nil && len(it.info.Pods()) == 0 {
		c.unlinkLocked(it)
		delete(c.nodes, it.name)
	}
}

func (c *cache) addPodLocked(pod *corev1.Pod, assumed bool) {
	it := c.touchLocked(pod.Spec.NodeName)
	it.info.AddPodInfo(framework.NewPodInfo(pod))
	c.pods[pod.UID] = &podState{pod: pod, assumed: assumed}
	if assumed {
		c.assumed++
	}
}

// removePodLocked removes the pod ps holds from its node.
func (c *cache) removePodLocked(ps *podState) error {
	pod := ps.pod
	delete(c.pods, pod.UID)
	if ps.assumed {
		c.assumed--
	}
	it, ok := c.nodes[pod.Spec.NodeName]
	if !ok {
		return fmt.Errorf("scheduler cache: node %q of pod %s/%s not found", pod.Spec.NodeName, pod.Namespace, pod.Name)
	}
	err := it.info.RemovePod(pod)
	c.touchLocked(it.name)
	c.dropIfEmptyLocked(it)
	return err
}

// AssumePod counts pod (whose spec.nodeName is the chosen node) on its node
// before the binding is seen. It fails if the pod is in the cache already.
func (c *cache) AssumePod(pod *corev1.Pod) error {
	if pod.Spec.NodeName == "" {
		return fmt.Errorf("scheduler cache: cannot assume pod %s/%s without a node", pod.Namespace, pod.Name)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.pods[pod.UID]; ok {
		return fmt.Errorf("scheduler cache: pod %s/%s is in the cache already, so it cannot be assumed", pod.Namespace, pod.Name)
	}
	c.addPodLocked(pod, true)
	return nil
}

// FinishBinding records that the binding request of an assumed pod ended.
// The pod stays assumed until the informer shows it bound (AddPod) or it is
// forgotten.
func (c *cache) FinishBinding(pod *corev1.Pod) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ps, ok := c.pods[pod.UID]; ok && ps.assumed {
		ps.bindingFinished = true
	}
	return nil
}

// ForgetPod undoes AssumePod: the binding failed. A pod no longer in the
// cache is fine (its deletion was seen); a pod the informer has confirmed
// meanwhile is not forgotten, and that is an error.
func (c *cache) ForgetPod(pod *corev1.Pod) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	ps, ok := c.pods[pod.UID]
	if !ok {
		return nil
	}
	if !ps.assumed {
		return fmt.Errorf("scheduler cache: pod %s/%s is not assumed (its binding was seen), so it cannot be forgotten", pod.Namespace, pod.Name)
	}
	if ps.pod.Spec.NodeName != pod.Spec.NodeName {
		return fmt.Errorf("scheduler cache: pod %s/%s was assumed on %q but is forgotten on %q", pod.Namespace, pod.Name, ps.pod.Spec.NodeName, pod.Spec.NodeName)
	}
	return c.removePodLocked(ps)
}

// AddPod records a pod the informer shows bound. It confirms an assumed pod,
// also one bound to another node than assumed (another scheduler won): the
// pod is then counted where it really is.
func (c *cache) AddPod(pod *corev1.Pod) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	ps, ok := c.pods[pod.UID]
	switch {
	case ok && ps.assumed:
		err := c.removePodLocked(ps)
		c.addPodLocked(pod, false)
		return err
	case ok:
		return fmt.Errorf("scheduler cache: pod %s/%s was added already", pod.Namespace, pod.Name)
	}
	c.addPodLocked(pod, false)
	return nil
}

// UpdatePod replaces a bound pod's state. Assumed pods are not updated: the
// informer's add comes first. A pod the cache did not hold is added (and
// that is reported as an error).
func (c *cache) UpdatePod(oldPod, newPod *corev1.Pod) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	ps, ok := c.pods[oldPod.UID]
	if !ok {
		// Count it from now on all the same.
		c.addPodLocked(newPod, false)
		return fmt.Errorf("scheduler cache: pod %s/%s was not in the cache when updated", oldPod.Namespace, oldPod.Name)
	}
	if ps.assumed {
		return fmt.Errorf("scheduler cache: assumed pod %s/%s should not be updated", oldPod.Namespace, oldPod.Name)
	}
	var err error
	if ps.pod.Spec.NodeName != newPod.Spec.NodeName {
		// The API does not allow this; count the pod where it says it is.
		err = fmt.Errorf("scheduler cache: pod %s/%s moved from node %q to %q", newPod.Namespace, newPod.Name, ps.pod.Spec.NodeName, newPod.Spec.NodeName)
	}
	if rerr := c.removePodLocked(ps); err == nil {
		err = rerr
	}
	c.addPodLocked(newPod, false)
	return err
}

// RemovePod forgets a bound (or assumed) pod that was deleted.
func (c *cache) RemovePod(pod *corev1.Pod) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	ps, ok := c.pods[pod.UID]
	if !ok {
		return fmt.Errorf("scheduler cache: pod %s/%s is not in the cache, so it cannot be removed", pod.Namespace, pod.Name)
	}
	return c.removePodLocked(ps)
}

// IsAssumed reports whether pod is assumed and not yet confirmed.
func (c *cache) IsAssumed(pod *corev1.Pod) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	ps, ok := c.pods[pod.UID]
	return ok && ps.assumed
}

// GetPod returns the cache's state of the pod with uid (assumed pods with
// their chosen node).
func (c *cache) GetPod(uid types.UID) (*corev1.Pod, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ps, ok := c.pods[uid]
	if !ok {
		return nil, false
	}
	return ps.pod, true
}

// AddNode records a node.
func (c *cache) AddNode(node *corev1.Node) {
	c.mu.Lock()
	defer c.mu.Unlock()
	it := c.touchLocked(node.Name)
	it.info.SetNode(node)
	if c.tree.add(node) {
		c.orderChanged = true
	}
}

// UpdateNode records a node's new state.
func (c *cache) UpdateNode(_, newNode *corev1.Node) {
	c.AddNode(newNode)
}

// RemoveNode forgets a node. Its pods stay counted (on a ghost NodeInfo that
// no snapshot shows) until their deletions come: the pod watch is another
// stream and may lag.
func (c *cache) RemoveNode(node *corev1.Node) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	it, ok := c.nodes[node.Name]
	if !ok || it.info.Node() == nil {
		return fmt.Errorf("scheduler cache: node %q is not in the cache, so it cannot be removed", node.Name)
	}
	it.info.RemoveNode()
	c.touchLocked(node.Name)
	c.dropIfEmptyLocked(it)
	if c.tree.remove(node.Name) {
		c.orderChanged = true
	}
	return nil
}

// counts returns the numbers of nodes (with their Node), pods and assumed pods.
func (c *cache) counts() (nodes, pods, assumed int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tree.numNodes, len(c.pods), c.assumed
}

// newSnapshot returns an empty snapshot for UpdateSnapshot to fill.
func newSnapshot() *framework.Snapshot {
	return &framework.Snapshot{Map: map[string]*framework.NodeInfo{}}
}

// UpdateSnapshot brings snap up to date: it copies the NodeInfos that changed
// since snap.Generation, in place (the NodeInfo pointers in snap stay valid),
// drops removed nodes, and rebuilds the lists only when a node came, went or
// changed whether it has pods with (anti-)affinity. The cost is proportional
// to what changed, except for those rebuilds.
//
// It is meant for one snapshot, the scheduling loop's: the snapshot is only
// read between two updates.
func (c *cache) UpdateSnapshot(snap *framework.Snapshot) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if snap.Map == nil {
		snap.Map = map[string]*framework.NodeInfo{}
	}
	rebuildAll, rebuildAffinity := c.orderChanged, false
	c.orderChanged = false
	for it := c.head; it != nil && it.info.Generation > snap.Generation; it = it.next {
		existing, ok := snap.Map[it.name]
		if it.info.Node() == nil {
			if ok {
				delete(snap.Map, it.name)
				rebuildAll = true
			}
			continue
		}
		if !ok {
			existing = framework.NewNodeInfo()
			snap.Map[it.name] = existing
			rebuildAll = true
		}
		clone := it.info.Clone()
		if existing.HasAffinityPods() != clone.HasAffinityPods() ||
			existing.HasRequiredAntiAffinityPods() != clone.HasRequiredAntiAffinityPods() {
			rebuildAffinity = true
		}
		*existing = *clone
	}
	// Every NodeInfo changed up to c.generation has been copied (or dropped).
	snap.Generation = c.generation
	if len(snap.Map) > c.tree.numNodes {
		// Nodes removed for good (no pods left) are gone from the list.
		for name := range snap.Map {
			if _, ok := c.tree.zoneOf[name]; !ok {
				delete(snap.Map, name)
			}
		}
		rebuildAll = true
	}
	if rebuildAll || rebuildAffinity {
		c.rebuildListsLocked(snap, rebuildAll)
	}
	if len(snap.List) != c.tree.numNodes || len(snap.Map) != c.tree.numNodes {
		n, m := len(snap.List), len(snap.Map)
		c.rebuildListsLocked(snap, true)
		return fmt.Errorf("scheduler cache: inconsistent snapshot (list %d, map %d, nodes %d); rebuilt the lists", n, m, c.tree.numNodes)
	}
	return nil
}

func (c *cache) rebuildListsLocked(snap *framework.Snapshot, all bool) {
	if all {
		names := c.tree.list()
		snap.List = make([]*framework.NodeInfo, 0, len(names))
		for _, name := range names {
			ni, ok := snap.Map[name]
			if !ok {
				// A node the walk did not copy (the snapshot is new to it).
				ni = c.nodes[name].info.Clone()
				snap.Map[name] = ni
			}
			snap.List = append(snap.List, ni)
		}
	}
	snap.WithAffinity = snap.WithAffinity[:0:0]
	snap.WithRequiredAntiAffinity = snap.WithRequiredAntiAffinity[:0:0]
	for _, ni := range snap.List {
		if ni.HasAffinityPods() {
			snap.WithAffinity = append(snap.WithAffinity, ni)
		}
		if ni.HasRequiredAntiAffinityPods() {
			snap.WithRequiredAntiAffinity = append(snap.WithRequiredAntiAffinity, ni)
		}
	}
}
