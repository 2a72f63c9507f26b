package podgc

import (
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// The decisions of one collection, as pure functions over the informers'
// pods and nodes. None of them modifies what it is given.

// evictedReason is the status.reason of a pod the kubelet evicted.
const evictedReason = "Evicted"

func isTerminated(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
}

// terminatedBeyond returns the terminated pods to delete so that at most
// threshold remain: evicted pods first, then the oldest, names breaking ties,
// as upstream's byEvictionAndCreationTimestamp. A threshold of 0 or less
// deletes nothing.
func terminatedBeyond(pods []*corev1.Pod, threshold int) []*corev1.Pod {
	if threshold <= 0 {
		return nil
	}
	var terminated []*corev1.Pod
	for _, p := range pods {
		if isTerminated(p) {
			terminated = append(terminated, p)
		}
	}
	n := len(terminated) - threshold
	if n <= 0 {
		return nil
	}
	slices.SortFunc(terminated, func(a, b *corev1.Pod) int {
		ae, be := isEvicted(a), isEvicted(b)
		switch {
		case ae && !be:
			return -1
		case be && !ae:
			return 1
		}
		if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return terminated[:n]
}

func isEvicted(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodFailed && p.Status.Reason == evictedReason
}

// nodeGetter returns a node by name, from a cache.
type nodeGetter func(name string) (*corev1.Node, bool)

// terminatingOutOfService returns the pods being deleted on nodes that are
// not Ready and carry the node.kubernetes.io/out-of-service taint (of any
// effect, as upstream's TaintKeyExists): an administrator has declared the
// node shut down, so no kubelet will finish those deletions.
func terminatingOutOfService(pods []*corev1.Pod, node nodeGetter) []*corev1.Pod {
	var out []*corev1.Pod
	for _, p := range pods {
		if p.DeletionTimestamp == nil || p.Spec.NodeName == "" {
			continue
		}
		n, ok := node(p.Spec.NodeName)
		if !ok || nodeReady(n) || !hasTaintKey(n, corev1.TaintNodeOutOfService) {
			continue
		}
		out = append(out, p)
	}
	return out
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func hasTaintKey(n *corev1.Node, key string) bool {
	for _, t := range n.Spec.Taints {
		if t.Key == key {
			return true
		}
	}
	return false
}

// missingNodes returns the names of the nodes pods are bound to that the
// cache does not hold.
func missingNodes(pods []*corev1.Pod, node nodeGetter) map[string]bool {
	out := map[string]bool{}
	for _, p := range pods {
		name := p.Spec.NodeName
		if name == "" || out[name] {
			continue
		}
		if _, ok := node(name); !ok {
			out[name] = true
		}
	}
	return out
}

// podsOn returns the pods bound to one of nodes.
func podsOn(pods []*corev1.Pod, nodes map[string]bool) []*corev1.Pod {
	var out []*corev1.Pod
	for _, p := range pods {
		if p.Spec.NodeName != "" && nodes[p.Spec.NodeName] {
			out = append(out, p)
		}
	}
	return out
}

// unscheduledTerminating returns the pods being deleted that were never bound
// to a node: no kubelet will finish their deletion.
func unscheduledTerminating(pods []*corev1.Pod) []*corev1.Pod {
	var out []*corev1.Pod
	for _, p := range pods {
		if p.DeletionTimestamp != nil && p.Spec.NodeName == "" {
			out = append(out, p)
		}
	}
	return out
}

// quarantine holds the nodes pods are bound to that the cache lacks, with
// when each was first seen missing: a node is looked up in the API only
// after it has been missing for the quarantine time, so that a node the
// informer has not shown yet does not cost its pods. It is used by one
// goroutine.
type quarantine struct {
	since map[string]time.Time
}

// observe records the nodes missing now; a node no longer missing (it
// appeared, or no pod names it any more) leaves quarantine, and starts again
// if it goes missing again.
func (q *quarantine) observe(missing map[string]bool, now time.Time) {
	if q.since == nil {
		q.since = map[string]time.Time{}
	}
	for name := range q.since {
		if !missing[name] {
			delete(q.since, name)
		}
	}
	for name := range missing {
		if _, ok := q.since[name]; !ok {
			q.since[name] = now
		}
	}
}

// due removes and returns, sorted, the nodes missing for at least d.
func (q *quarantine) due(now time.Time, d time.Duration) []string {
	var out []string
	for name, since := range q.since {
		if !now.Before(since.Add(d)) {
			out = append(out, name)
			delete(q.since, name)
		}
	}
	slices.Sort(out)
	return out
}
