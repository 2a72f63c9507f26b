package replicaset

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// isPodTerminal reports whether the pod's containers are done for good.
func isPodTerminal(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
}

// isPodActive reports whether the pod counts as a replica: not terminal and
// not being deleted, as upstream's IsPodActive.
func isPodActive(p *corev1.Pod) bool {
	return !isPodTerminal(p) && p.DeletionTimestamp == nil
}

// readyCondition returns the pod's Ready condition, or nil.
func readyCondition(p *corev1.Pod) *corev1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == corev1.PodReady {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

// isPodReady reports whether the pod's Ready condition is True.
func isPodReady(p *corev1.Pod) bool {
	c := readyCondition(p)
	return c != nil && c.Status == corev1.ConditionTrue
}

// readySince is when the pod became ready, or zero if it is not ready.
func readySince(p *corev1.Pod) metav1.Time {
	if c := readyCondition(p); c != nil && c.Status == corev1.ConditionTrue {
		return c.LastTransitionTime
	}
	return metav1.Time{}
}

// isPodAvailable reports whether the pod has been ready for more than
// minReadySeconds at now, as upstream's IsPodAvailable.
func isPodAvailable(p *corev1.Pod, minReadySeconds int32, now time.Time) bool {
	if !isPodReady(p) {
		return false
	}
	if minReadySeconds == 0 {
		return true
	}
	since := readySince(p)
	return !since.IsZero() && since.Add(time.Duration(minReadySeconds)*time.Second).Before(now)
}

// availabilitySlack is added to the time a ready pod becomes available before
// the set is looked at again: availability is strictly after the instant.
const availabilitySlack = 50 * time.Millisecond

// untilAvailable is how long until the next of the pods that are ready but
// not yet available becomes available, or 0 if none will. The set's status
// must be written again then, though no pod changes.
func untilAvailable(minReadySeconds int32, pods []*corev1.Pod, now time.Time) time.Duration {
	if minReadySeconds <= 0 {
		return 0
	}
	var next time.Duration
	for _, p := range pods {
		since := readySince(p)
		if since.IsZero() || isPodAvailable(p, minReadySeconds, now) {
			continue
		}
		d := max(since.Add(time.Duration(minReadySeconds)*time.Second).Sub(now), 0) + availabilitySlack
		if next == 0 || d < next {
			next = d
		}
	}
	return next
}
