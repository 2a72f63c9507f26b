package deployment

import (
	"fmt"
	"math"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// This file is the rollout math: how many pods each ReplicaSet of a Deployment
// should have next. Every function here is pure over the objects it is given,
// which it does not modify.

// isRollingUpdate reports whether d rolls out with the RollingUpdate strategy.
func isRollingUpdate(d *appsv1.Deployment) bool {
	return d.Spec.Strategy.Type == appsv1.RollingUpdateDeploymentStrategyType
}

// resolveFenceposts turns maxSurge and maxUnavailable into pod counts for
// desired replicas: surge rounds up, unavailable down, and when both come to
// zero unavailable is 1, so that a rollout can always progress.
func resolveFenceposts(maxSurge, maxUnavailable *intstr.IntOrString, desired int32) (surge, unavailable int32, err error) {
	s, err := intstr.GetScaledValueFromIntOrPercent(intstr.ValueOrDefault(maxSurge, intstr.FromInt32(0)), int(desired), true)
	if err != nil {
		return 0, 0, err
	}
	u, err := intstr.GetScaledValueFromIntOrPercent(intstr.ValueOrDefault(maxUnavailable, intstr.FromInt32(0)), int(desired), false)
	if err != nil {
		return 0, 0, err
	}
	if s == 0 && u == 0 {
		u = 1
	}
	return int32(s), int32(u), nil
}

// rollingParams returns d's maxSurge and maxUnavailable fields.
func rollingParams(d *appsv1.Deployment) (surge, unavailable *intstr.IntOrString) {
	if ru := d.Spec.Strategy.RollingUpdate; ru != nil {
		return ru.MaxSurge, ru.MaxUnavailable
	}
	return nil, nil
}

// maxSurge is how many pods above spec.replicas a rolling update may run.
func maxSurge(d *appsv1.Deployment) int32 {
	if !isRollingUpdate(d) {
		return 0
	}
	s, u := rollingParams(d)
	surge, _, _ := resolveFenceposts(s, u, replicasOf(d.Spec.Replicas)) // validation rejects bad values
	return surge
}

// maxUnavailable is how many of spec.replicas a rolling update may leave
// unavailable.
func maxUnavailable(d *appsv1.Deployment) int32 {
	want := replicasOf(d.Spec.Replicas)
	if !isRollingUpdate(d) || want == 0 {
		return 0
	}
	s, u := rollingParams(d)
	_, unavailable, _ := resolveFenceposts(s, u, want)
	return min(unavailable, want)
}

// podCounts counts, by ReplicaSet UID, the pods the informer holds that are
// neither being deleted nor finished: those a ReplicaSet's status counts.
type podCounts map[types.UID]int32

// activePods counts the active pods of podMap.
func activePods(podMap map[types.UID][]*corev1.Pod) podCounts {
	out := make(podCounts, len(podMap))
	for uid, pods := range podMap {
		for _, p := range pods {
			if p.DeletionTimestamp == nil && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
				out[uid]++
			}
		}
	}
	return out
}

// upperBound is the most pods rs may be running now. Upstream counts
// spec.replicas alone; but a ReplicaSet just scaled down still runs its extra
// pods until its controller deletes them, so scaling another up at once would
// run more than maxSurge pods for a moment. The largest of spec.replicas,
// status.replicas and the pods seen is never below the pods running.
func (c podCounts) upperBound(rs *appsv1.ReplicaSet) int32 {
	return max(specReplicas(rs), rs.Status.Replicas, c[rs.UID])
}

// available is the available pods rs will keep: its status's count, but no
// more than spec.replicas, since a ReplicaSet scaled down deletes its
// unavailable pods first and then available ones. Upstream counts the status
// alone, which for a moment after a scale-down is more than will be left.
func available(rs *appsv1.ReplicaSet) int32 {
	if rs == nil {
		return 0
	}
	return min(rs.Status.AvailableReplicas, specReplicas(rs))
}

// newRSNewReplicas is the size d's new ReplicaSet should have next: during a
// rolling update as many more pods as maxSurge allows over what all the
// ReplicaSets run, up to spec.replicas; for Recreate, spec.replicas.
func newRSNewReplicas(d *appsv1.Deployment, allRSs []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet, pods podCounts) (int32, error) {
	want := replicasOf(d.Spec.Replicas)
	switch d.Spec.Strategy.Type {
	case appsv1.RollingUpdateDeploymentStrategyType:
		s, u := rollingParams(d)
		surge, _, err := resolveFenceposts(s, u, want)
		if err != nil {
			return 0, err
		}
		var current int32
		for _, rs := range allRSs {
			current += pods.upperBound(rs)
		}
		maxTotal := want + surge
		if current >= maxTotal {
			return specReplicas(newRS), nil
		}
		up := min(maxTotal-current, want-specReplicas(newRS))
		return specReplicas(newRS) + up, nil
	case appsv1.RecreateDeploymentStrategyType:
		return want, nil
	default:
		return 0, fmt.Errorf("deployment type %v isn't supported", d.Spec.Strategy.Type)
	}
}

// scaleStep sets one ReplicaSet's replicas.
type scaleStep struct {
	rs *appsv1.ReplicaSet
	to int32
}

// planOldScaleDown is how far a rolling update may scale its old ReplicaSets
// down now without fewer than spec.replicas - maxUnavailable pods available:
// first their unavailable pods (which costs no availability), oldest
// ReplicaSet first, then available ones as the new ReplicaSet's pods become
// available. Upstream scales a ReplicaSet twice when it does both; one step per
// ReplicaSet here.
func planOldScaleDown(d *appsv1.Deployment, oldRSs []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) []scaleStep {
	old := filterActive(oldRSs)
	sort.Sort(byCreationTimestamp(old))
	var oldPods int32
	for _, rs := range old {
		oldPods += specReplicas(rs)
	}
	if oldPods == 0 {
		return nil
	}
	minAvailable := replicasOf(d.Spec.Replicas) - maxUnavailable(d)
	newUnavailable := specReplicas(newRS) - available(newRS)
	maxScaledDown := oldPods + specReplicas(newRS) - minAvailable - newUnavailable
	if maxScaledDown <= 0 {
		return nil
	}
	sizes := make([]int32, len(old))
	for i, rs := range old {
		sizes[i] = specReplicas(rs)
	}

	// Unavailable pods first: otherwise they would block the rollout until it
	// times out (kubernetes#16737).
	var cleaned int32
	for i, rs := range old {
		if cleaned >= maxScaledDown {
			break
		}
		unhealthy := sizes[i] - available(rs)
		if unhealthy == 0 {
			continue
		}
		n := min(maxScaledDown-cleaned, unhealthy)
		sizes[i] -= n
		cleaned += n
	}

	// Then available pods, as far as availability allows.
	avail := available(newRS)
	for _, rs := range old {
		avail += available(rs)
	}
	if excess := avail - minAvailable; excess > 0 {
		var scaled int32
		for i := range old {
			if scaled >= excess {
				break
			}
			n := min(sizes[i], excess-scaled)
			sizes[i] -= n
			scaled += n
		}
	}

	var steps []scaleStep
	for i, rs := range old {
		if sizes[i] != specReplicas(rs) {
			steps = append(steps, scaleStep{rs: rs, to: sizes[i]})
		}
	}
	return steps
}

// planScale is what a scaling event (spec.replicas changed) or a paused
// Deployment does: a single active ReplicaSet (or the newest, when none is)
// takes spec.replicas; a saturated new ReplicaSet leaves the old ones nothing;
// otherwise, in a rolling update, the difference between spec.replicas +
// maxSurge and what the active ReplicaSets hold is shared among them in
// proportion to their sizes, so that scaling neither hastens nor reverses a
// rollout. Each step may keep a ReplicaSet's size and only refresh its
// desired- and max-replicas annotations.
func planScale(d *appsv1.Deployment, newRS *appsv1.ReplicaSet, oldRSs []*appsv1.ReplicaSet) []scaleStep {
	want := replicasOf(d.Spec.Replicas)
	if rs := findActiveOrLatest(newRS, oldRSs); rs != nil {
		if specReplicas(rs) == want {
			return nil
		}
		return []scaleStep{{rs: rs, to: want}}
	}
	if isSaturated(d, newRS) {
		var steps []scaleStep
		for _, rs := range filterActive(oldRSs) {
			steps = append(steps, scaleStep{rs: rs, to: 0})
		}
		return steps
	}
	if !isRollingUpdate(d) {
		return nil
	}
	all := filterActive(withNew(oldRSs, newRS))
	var held int32
	for _, rs := range all {
		held += specReplicas(rs)
	}
	var allowed int32
	if want > 0 {
		allowed = want + maxSurge(d)
	}
	toAdd := allowed - held
	// Largest first; of equal sizes, newer first when growing, older first
	// when shrinking.
	switch {
	case toAdd > 0:
		sort.Sort(bySizeNewer(all))
	case toAdd < 0:
		sort.Sort(bySizeOlder(all))
	}
	sizes := make([]int32, len(all))
	var added int32
	for i, rs := range all {
		sizes[i] = specReplicas(rs)
		if toAdd != 0 {
			p := proportion(rs, d, toAdd, added)
			sizes[i] += p
			added += p
		}
	}
	if toAdd != 0 && len(all) > 0 {
		// Rounding leftovers go to the largest.
		sizes[0] = max(sizes[0]+toAdd-added, 0)
	}
	steps := make([]scaleStep, len(all))
	for i, rs := range all {
		steps[i] = scaleStep{rs: rs, to: sizes[i]}
	}
	return steps
}

// proportion is rs's share of toAdd replicas (negative to remove), of which
// added are already given out: its fraction of the Deployment's new maximum,
// bounded by what is left to give.
func proportion(rs *appsv1.ReplicaSet, d *appsv1.Deployment, toAdd, added int32) int32 {
	if rs == nil || specReplicas(rs) == 0 || toAdd == 0 || toAdd == added {
		return 0
	}
	fraction := replicaSetFraction(rs, d)
	allowed := toAdd - added
	if toAdd > 0 {
		return min(fraction, allowed)
	}
	return max(fraction, allowed)
}

// replicaSetFraction is how many replicas rs gains (or loses) if it keeps its
// share of the Deployment's maximum size, the max-replicas annotation telling
// the maximum its size was set for.
func replicaSetFraction(rs *appsv1.ReplicaSet, d *appsv1.Deployment) int32 {
	want := replicasOf(d.Spec.Replicas)
	if want == 0 {
		return -specReplicas(rs)
	}
	newMax := want + maxSurge(d)
	oldMax, ok := intAnnotation(rs, MaxReplicasAnnotation)
	if !ok || oldMax == 0 {
		// Tampered with: the Deployment's current size is the best guess, and
		// the bounds in proportion keep the result within limits.
		oldMax = d.Status.Replicas
		if oldMax == 0 {
			return 0
		}
	}
	scaled := float64(specReplicas(rs)*newMax) / float64(oldMax)
	return int32(math.Round(scaled)) - specReplicas(rs)
}

// hasRevisionHistoryLimit reports whether d keeps a bounded number of old
// ReplicaSets (MaxInt32 means all).
func hasRevisionHistoryLimit(d *appsv1.Deployment) bool {
	return d.Spec.RevisionHistoryLimit != nil && *d.Spec.RevisionHistoryLimit != math.MaxInt32
}

// planCleanup returns the old ReplicaSets to delete so that at most
// revisionHistoryLimit remain: the lowest revisions first, and only those with
// no pods whose controller has seen them scaled to zero.
func planCleanup(d *appsv1.Deployment, oldRSs []*appsv1.ReplicaSet) []*appsv1.ReplicaSet {
	if !hasRevisionHistoryLimit(d) {
		return nil
	}
	var alive []*appsv1.ReplicaSet
	for _, rs := range oldRSs {
		if rs != nil && rs.DeletionTimestamp == nil {
			alive = append(alive, rs)
		}
	}
	diff := len(alive) - int(*d.Spec.RevisionHistoryLimit)
	if diff <= 0 {
		return nil
	}
	sort.Sort(byRevision(alive))
	var out []*appsv1.ReplicaSet
	for _, rs := range alive[:diff] {
		if rs.Status.Replicas != 0 || specReplicas(rs) != 0 || rs.Generation > rs.Status.ObservedGeneration {
			continue
		}
		out = append(out, rs)
	}
	return out
}

// oldPodsRunning reports whether any pod not of newRS may still be running: a
// Recreate rollout starts new pods only when none is.
func oldPodsRunning(newRS *appsv1.ReplicaSet, oldRSs []*appsv1.ReplicaSet, podMap map[types.UID][]*corev1.Pod) bool {
	for _, rs := range oldRSs {
		if rs.Status.Replicas > 0 {
			return true
		}
	}
	for uid, pods := range podMap {
		if newRS != nil && newRS.UID == uid {
			continue
		}
		for _, p := range pods {
			if p.Status.Phase != corev1.PodFailed && p.Status.Phase != corev1.PodSucceeded {
				return true
			}
		}
	}
	return false
}
