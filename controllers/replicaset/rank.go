package replicaset

import (
	"math"
	"slices"
	"sort"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// podsToDelete returns the n pods of active to delete first. related are the
// active pods of the sets sharing this set's controller (active's superset,
// or nil): a pod on a node crowded with them goes first. active is not
// modified.
func podsToDelete(active, related []*corev1.Pod, n int, now time.Time) []*corev1.Pod {
	pods := slices.Clone(active)
	if n >= len(pods) {
		return pods
	}
	onNode := make(map[string]int)
	for _, p := range related {
		if isPodActive(p) {
			onNode[p.Spec.NodeName]++
		}
	}
	ranks := make([]int, len(pods))
	for i, p := range pods {
		ranks[i] = onNode[p.Spec.NodeName]
	}
	sort.Sort(deletionOrder{pods: pods, ranks: ranks, now: metav1.NewTime(now)})
	return pods[:n]
}

// deletionOrder sorts pods the way upstream's ActivePodsWithRanks does (with
// the PodDeletionCost and LogarithmicScaleDown features on, as they are by
// default), the pods to delete first:
//
//  1. unscheduled before scheduled;
//  2. Pending before Unknown before Running;
//  3. not ready before ready;
//  4. lower controller.kubernetes.io/pod-deletion-cost first;
//  5. more related pods on the same node first;
//  6. both ready: ready for less time first, compared on a log2 scale of
//     the time since, ties broken by UID;
//  7. more container restarts first (regular containers, then sidecars);
//  8. created more recently first, on the same log2 scale, ties by UID.
type deletionOrder struct {
	pods  []*corev1.Pod
	ranks []int
	now   metav1.Time
}

func (s deletionOrder) Len() int { return len(s.pods) }

func (s deletionOrder) Swap(i, j int) {
	s.pods[i], s.pods[j] = s.pods[j], s.pods[i]
	s.ranks[i], s.ranks[j] = s.ranks[j], s.ranks[i]
}

var phaseOrder = map[corev1.PodPhase]int{corev1.PodPending: 0, corev1.PodUnknown: 1, corev1.PodRunning: 2}

func (s deletionOrder) Less(i, j int) bool {
	a, b := s.pods[i], s.pods[j]
	if a.Spec.NodeName != b.Spec.NodeName && (a.Spec.NodeName == "" || b.Spec.NodeName == "") {
		return a.Spec.NodeName == ""
	}
	if pa, pb := phaseOrder[a.Status.Phase], phaseOrder[b.Status.Phase]; pa != pb {
		return pa < pb
	}
	readyA, readyB := isPodReady(a), isPodReady(b)
	if readyA != readyB {
		return !readyA
	}
	if ca, cb := deletionCost(a), deletionCost(b); ca != cb {
		return ca < cb
	}
	if s.ranks[i] != s.ranks[j] {
		return s.ranks[i] > s.ranks[j]
	}
	if readyA && readyB {
		ta, tb := readySince(a), readySince(b)
		if !ta.Equal(&tb) {
			return newerFirst(ta, tb, s.now, a, b)
		}
	}
	ra, sa := maxRestarts(a)
	rb, sb := maxRestarts(b)
	if ra != rb {
		return ra > rb
	}
	if sa != sb {
		return sa > sb
	}
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return newerFirst(a.CreationTimestamp, b.CreationTimestamp, s.now, a, b)
	}
	return false
}

// newerFirst orders two different instants, the later (or zero) first. With
// now set, instants whose age has the same base-2 logarithm rank the same,
// and the UID decides: scaling down then removes pods of every age, not the
// newest alone.
func newerFirst(ta, tb, now metav1.Time, a, b *corev1.Pod) bool {
	if now.IsZero() || ta.IsZero() || tb.IsZero() {
		return afterOrZero(ta, tb)
	}
	if d := logRank(ta, now) - logRank(tb, now); d != 0 {
		return d < 0
	}
	return a.UID < b.UID
}

// afterOrZero reports whether t1 is after t2, a zero time being after any.
func afterOrZero(t1, t2 metav1.Time) bool {
	if t1.IsZero() || t2.IsZero() {
		return t1.IsZero()
	}
	return t1.After(t2.Time)
}

// logRank is the base-2 logarithm of the nanoseconds from t to now, -1 for
// t not before now.
func logRank(t, now metav1.Time) int64 {
	d := now.Sub(t.Time)
	if d <= 0 {
		return -1
	}
	return int64(math.Log2(float64(d)))
}

// deletionCost is the pod's controller.kubernetes.io/pod-deletion-cost, 0 if
// unset or not a canonical int32 ("+1" and "01" are not).
func deletionCost(p *corev1.Pod) int32 {
	v, ok := p.Annotations[corev1.PodDeletionCost]
	if !ok || v == "" {
		return 0
	}
	if c := v[0]; !(c == '-' || (c >= '1' && c <= '9') || v == "0") {
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return 0
	}
	return int32(n)
}

// maxRestarts returns the most restarts of the pod's regular containers and
// of its sidecars (init containers that always restart).
func maxRestarts(p *corev1.Pod) (regular, sidecar int32) {
	for _, c := range p.Status.ContainerStatuses {
		regular = max(regular, c.RestartCount)
	}
	if len(p.Status.InitContainerStatuses) == 0 {
		return regular, 0
	}
	sidecars := map[string]bool{}
	for _, c := range p.Spec.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			sidecars[c.Name] = true
		}
	}
	for _, c := range p.Status.InitContainerStatuses {
		if sidecars[c.Name] {
			sidecar = max(sidecar, c.RestartCount)
		}
	}
	return regular, sidecar
}
