package deployment

import (
	"fmt"
	"math"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The reasons of a Deployment's conditions, upstream's: kubectl and users
// match on them.
const (
	// Progressing.
	reasonReplicaSetUpdated = "ReplicaSetUpdated"
	reasonFailedRSCreate    = "ReplicaSetCreateError"
	reasonNewReplicaSet     = "NewReplicaSetCreated"
	reasonFoundNewRS        = "FoundNewReplicaSet"
	reasonNewRSAvailable    = "NewReplicaSetAvailable"
	reasonTimedOut          = "ProgressDeadlineExceeded"
	reasonPaused            = "DeploymentPaused"
	reasonResumed           = "DeploymentResumed"
	// Available.
	reasonMinimumReplicasAvailable   = "MinimumReplicasAvailable"
	reasonMinimumReplicasUnavailable = "MinimumReplicasUnavailable"
)

// This file computes a Deployment's next status from a snapshot of it and its
// ReplicaSets; the functions are pure but for setting conditions on the status
// they are handed.

func newCondition(t appsv1.DeploymentConditionType, status corev1.ConditionStatus, reason, message string, now time.Time) appsv1.DeploymentCondition {
	at := metav1.NewTime(now)
	return appsv1.DeploymentCondition{Type: t, Status: status, LastUpdateTime: at, LastTransitionTime: at, Reason: reason, Message: message}
}

// getCondition returns a copy of status's condition of type t, nil if none.
func getCondition(status appsv1.DeploymentStatus, t appsv1.DeploymentConditionType) *appsv1.DeploymentCondition {
	for i := range status.Conditions {
		if status.Conditions[i].Type == t {
			c := status.Conditions[i]
			return &c
		}
	}
	return nil
}

// setCondition puts c in status, unless a condition of its type with the same
// status and reason is there already; a condition whose status does not change
// keeps its lastTransitionTime. The condition set goes last.
func setCondition(status *appsv1.DeploymentStatus, c appsv1.DeploymentCondition) {
	cur := getCondition(*status, c.Type)
	if cur != nil && cur.Status == c.Status && cur.Reason == c.Reason {
		return
	}
	if cur != nil && cur.Status == c.Status {
		c.LastTransitionTime = cur.LastTransitionTime
	}
	removeCondition(status, c.Type)
	status.Conditions = append(status.Conditions, c)
}

// removeCondition removes status's condition of type t.
func removeCondition(status *appsv1.DeploymentStatus, t appsv1.DeploymentConditionType) {
	var kept []appsv1.DeploymentCondition
	for _, c := range status.Conditions {
		if c.Type != t {
			kept = append(kept, c)
		}
	}
	status.Conditions = kept
}

// hasProgressDeadline reports whether d reports ProgressDeadlineExceeded
// (MaxInt32 means never).
func hasProgressDeadline(d *appsv1.Deployment) bool {
	return d.Spec.ProgressDeadlineSeconds != nil && *d.Spec.ProgressDeadlineSeconds != math.MaxInt32
}

// calculateStatus is d's status as its ReplicaSets' statuses add up, with the
// Available condition; the other conditions are d's.
func calculateStatus(allRSs []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet, d *appsv1.Deployment, now time.Time) appsv1.DeploymentStatus {
	var specTotal, replicas, ready, avail int32
	var terminating *int32
	for _, rs := range allRSs {
		if rs == nil {
			continue
		}
		specTotal += specReplicas(rs)
		replicas += rs.Status.Replicas
		ready += rs.Status.ReadyReplicas
		avail += rs.Status.AvailableReplicas
		if rs.Status.TerminatingReplicas != nil {
			terminating = ptr(ptrValue(terminating) + *rs.Status.TerminatingReplicas)
		}
	}
	var updated int32
	if newRS != nil {
		updated = newRS.Status.Replicas
	}
	status := appsv1.DeploymentStatus{
		ObservedGeneration:  d.Generation,
		Replicas:            replicas,
		UpdatedReplicas:     updated,
		ReadyReplicas:       ready,
		AvailableReplicas:   avail,
		UnavailableReplicas: max(specTotal-avail, 0),
		TerminatingReplicas: terminating,
		CollisionCount:      d.Status.CollisionCount,
	}
	status.Conditions = append(status.Conditions, d.Status.Conditions...)
	if avail >= replicasOf(d.Spec.Replicas)-maxUnavailable(d) {
		setCondition(&status, newCondition(appsv1.DeploymentAvailable, corev1.ConditionTrue, reasonMinimumReplicasAvailable, "Deployment has minimum availability.", now))
	} else {
		setCondition(&status, newCondition(appsv1.DeploymentAvailable, corev1.ConditionFalse, reasonMinimumReplicasUnavailable, "Deployment does not have minimum availability.", now))
	}
	return status
}

// rolloutStatus is d's status during a rollout: calculateStatus, with the
// Progressing condition telling whether the rollout completed, progressed
// since status was last written, or made no progress for
// progressDeadlineSeconds; and the ReplicaSets' ReplicaFailure condition,
// the new one's first.
func rolloutStatus(allRSs []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet, d *appsv1.Deployment, now time.Time) appsv1.DeploymentStatus {
	status := calculateStatus(allRSs, newRS, d, now)
	if !hasProgressDeadline(d) {
		removeCondition(&status, appsv1.DeploymentProgressing)
	}
	cur := getCondition(d.Status, appsv1.DeploymentProgressing)
	// Once complete, a resync (after a scale, say) estimates no progress.
	complete := status.Replicas == status.UpdatedReplicas && cur != nil && cur.Reason == reasonNewRSAvailable
	subject := fmt.Sprintf("Deployment %q", d.Name)
	if newRS != nil {
		subject = fmt.Sprintf("ReplicaSet %q", newRS.Name)
	}
	if hasProgressDeadline(d) && !complete {
		switch {
		case deploymentComplete(d, &status):
			setCondition(&status, newCondition(appsv1.DeploymentProgressing, corev1.ConditionTrue, reasonNewRSAvailable,
				subject+" has successfully progressed.", now))
		case deploymentProgressing(d, &status):
			// Unlike setCondition, progress with the same reason still moves
			// lastUpdateTime: it is what the deadline counts from.
			c := newCondition(appsv1.DeploymentProgressing, corev1.ConditionTrue, reasonReplicaSetUpdated, subject+" is progressing.", now)
			if cur != nil {
				if cur.Status == corev1.ConditionTrue {
					c.LastTransitionTime = cur.LastTransitionTime
				}
				removeCondition(&status, appsv1.DeploymentProgressing)
			}
			setCondition(&status, c)
		case deploymentTimedOut(d, &status, now):
			setCondition(&status, newCondition(appsv1.DeploymentProgressing, corev1.ConditionFalse, reasonTimedOut,
				subject+" has timed out progressing.", now))
		}
	}
	if failures := replicaFailures(allRSs, newRS); len(failures) > 0 {
		setCondition(&status, failures[0])
	} else {
		removeCondition(&status, appsv1.DeploymentReplicaFailure)
	}
	return status
}

// replicaFailures returns the ReplicaFailure conditions of newRS, or, when it
// has none, of all the ReplicaSets, as Deployment conditions.
func replicaFailures(allRSs []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) []appsv1.DeploymentCondition {
	convert := func(rss ...*appsv1.ReplicaSet) []appsv1.DeploymentCondition {
		var out []appsv1.DeploymentCondition
		for _, rs := range rss {
			if rs == nil {
				continue
			}
			for _, c := range rs.Status.Conditions {
				if c.Type == appsv1.ReplicaSetReplicaFailure {
					out = append(out, appsv1.DeploymentCondition{
						Type: appsv1.DeploymentConditionType(c.Type), Status: c.Status,
						LastTransitionTime: c.LastTransitionTime, LastUpdateTime: c.LastTransitionTime,
						Reason: c.Reason, Message: c.Message,
					})
				}
			}
		}
		return out
	}
	if out := convert(newRS); len(out) > 0 {
		return out
	}
	return convert(allRSs...)
}

// deploymentComplete reports whether every desired replica is updated and
// available, no old one runs, and status describes d's latest spec.
func deploymentComplete(d *appsv1.Deployment, status *appsv1.DeploymentStatus) bool {
	want := replicasOf(d.Spec.Replicas)
	return status.UpdatedReplicas == want && status.Replicas == want && status.AvailableReplicas == want &&
		status.ObservedGeneration >= d.Generation
}

// deploymentProgressing reports whether status shows progress over d's
// current status: more updated, ready or available pods, or fewer old ones.
func deploymentProgressing(d *appsv1.Deployment, status *appsv1.DeploymentStatus) bool {
	old := d.Status
	return status.UpdatedReplicas > old.UpdatedReplicas ||
		status.Replicas-status.UpdatedReplicas < old.Replicas-old.UpdatedReplicas ||
		status.ReadyReplicas > old.ReadyReplicas ||
		status.AvailableReplicas > old.AvailableReplicas
}

// deploymentTimedOut reports whether d's Progressing condition in status is
// older than progressDeadlineSeconds, or says so already. A completed rollout
// never times out.
func deploymentTimedOut(d *appsv1.Deployment, status *appsv1.DeploymentStatus, now time.Time) bool {
	if !hasProgressDeadline(d) {
		return false
	}
	c := getCondition(*status, appsv1.DeploymentProgressing)
	if c == nil {
		return false
	}
	switch c.Reason {
	case reasonNewRSAvailable:
		return false
	case reasonTimedOut:
		return true
	}
	deadline := time.Duration(*d.Spec.ProgressDeadlineSeconds) * time.Second
	return c.LastUpdateTime.Add(deadline).Before(now)
}

// progressCheckAfter returns when a rollout that made no progress should be
// looked at again to see whether it has timed out; false when it need not be.
func progressCheckAfter(d *appsv1.Deployment, status appsv1.DeploymentStatus, now time.Time) (time.Duration, bool) {
	cur := getCondition(d.Status, appsv1.DeploymentProgressing)
	if !hasProgressDeadline(d) || cur == nil {
		return 0, false
	}
	if deploymentComplete(d, &status) || cur.Reason == reasonTimedOut {
		return 0, false
	}
	after := cur.LastUpdateTime.Add(time.Duration(*d.Spec.ProgressDeadlineSeconds) * time.Second).Sub(now)
	if after < time.Second {
		// Nearly due: look again soon, until it is.
		return max(after, 0) + 100*time.Millisecond, true
	}
	// A second more, as upstream, since lastUpdateTime is stored in seconds.
	return after + time.Second, true
}

// pausedCondition sets the Progressing condition to DeploymentPaused when d is
// paused and to DeploymentResumed when it no longer is, so that the time spent
// paused does not count against progressDeadlineSeconds. It reports whether it
// changed d's status. A rollout that timed out stays timed out.
func pausedCondition(d *appsv1.Deployment, now time.Time) bool {
	if !hasProgressDeadline(d) {
		return false
	}
	cur := getCondition(d.Status, appsv1.DeploymentProgressing)
	if cur != nil && cur.Reason == reasonTimedOut {
		return false
	}
	pausedSet := cur != nil && cur.Reason == reasonPaused
	switch {
	case d.Spec.Paused && !pausedSet:
		setCondition(&d.Status, newCondition(appsv1.DeploymentProgressing, corev1.ConditionUnknown, reasonPaused, "Deployment is paused", now))
		return true
	case !d.Spec.Paused && pausedSet:
		setCondition(&d.Status, newCondition(appsv1.DeploymentProgressing, corev1.ConditionUnknown, reasonResumed, "Deployment is resumed", now))
		return true
	}
	return false
}

func ptr[T any](v T) *T { return &v }

func ptrValue[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
