package queue

import (
	"slices"
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// nominator remembers which pending pods are nominated to which node: those
// whose status.nominatedNodeName is set and those this process nominated
// (preemption) before the status write came back through the informer.
//
// Readers never lock: NominatedPods is called for every node a scheduling
// cycle looks at (thousands per pod), so writers publish an immutable
// node → pods map with copy-on-write. Nominations are few and change
// rarely (preemption), so copying the small map on each change is cheap.
type nominator struct {
	mu   sync.Mutex // serializes writers; taken after Queue.mu
	node map[types.UID]string
	view atomic.Pointer[map[string][]*corev1.Pod] // never modified once stored
}

func newNominator() *nominator {
	n := &nominator{node: map[types.UID]string{}}
	n.view.Store(&map[string][]*corev1.Pod{})
	return n
}

// empty reports whether no pod is nominated anywhere.
func (n *nominator) empty() bool { return len(*n.view.Load()) == 0 }

// pods returns the pods nominated to node, a new slice each time (nil when
// none). The pods are shared: callers must not modify them.
func (n *nominator) pods(node string) []*corev1.Pod {
	return slices.Clone((*n.view.Load())[node])
}

// nominate puts pod on node, replacing any earlier nomination and pod version.
// An empty node removes the nomination.
func (n *nominator) nominate(pod *corev1.Pod, node string) {
	n.set(pod.UID, pod, node)
}

// set nominates pod (whose UID is uid) to node, or removes the nomination
// of uid when node is "".
func (n *nominator) set(uid types.UID, pod *corev1.Pod, node string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	old, had := n.node[uid]
	if !had && node == "" {
		return
	}
	view := *n.view.Load()
	next := make(map[string][]*corev1.Pod, len(view)+1)
	for k, v := range view {
		next[k] = v
	}
	if had {
		delete(n.node, uid)
		// A new slice: the published one may still be read.
		rest := slices.DeleteFunc(slices.Clone(next[old]), func(p *corev1.Pod) bool { return p.UID == uid })
		if len(rest) == 0 {
			delete(next, old)
		} else {
			next[old] = rest
		}
	}
	if node != "" {
		n.node[uid] = node
		cur := next[node]
		added := make([]*corev1.Pod, len(cur), len(cur)+1)
		copy(added, cur)
		next[node] = append(added, pod)
	}
	n.view.Store(&next)
}

// nominatedNode returns the node pod is nominated to, "" if none.
func (n *nominator) nominatedNode(uid types.UID) string {
	if n.empty() {
		return ""
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.node[uid]
}

// update follows a pod update, as upstream's UpdateNominatedPod: the
// nomination follows newPod's status.nominatedNodeName, except that when
// neither version carries one, a nomination made in this process is kept
// (the status write may simply not have arrived yet); the stored pod is
// replaced by newPod either way.
func (n *nominator) update(oldPod, newPod *corev1.Pod) {
	if n.empty() && newPod.Status.NominatedNodeName == "" {
		return
	}
	node := newPod.Status.NominatedNodeName
	if node == "" && (oldPod == nil || oldPod.Status.NominatedNodeName == "") {
		node = n.nominatedNode(newPod.UID)
	}
	n.nominate(newPod, node)
}

// fromStatus nominates pod to its status.nominatedNodeName when set, and
// otherwise leaves any nomination (to the same pod) in place with pod as its
// newest version.
func (n *nominator) fromStatus(pod *corev1.Pod) {
	node := pod.Status.NominatedNodeName
	if node == "" {
		if node = n.nominatedNode(pod.UID); node == "" {
			return
		}
	}
	n.nominate(pod, node)
}

func (n *nominator) delete(uid types.UID) {
	if n.empty() {
		return
	}
	n.set(uid, nil, "")
}
