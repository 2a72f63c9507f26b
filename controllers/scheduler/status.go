package scheduler

import (
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/client-go/util/retry"
)

// updatePodStatus sets cond on pod and, when nom says so, its
// status.nominatedNodeName, as upstream's updatePod: nothing is written when
// neither changes, so a pod failing again for the same reason costs no write.
func (s *Scheduler) updatePodStatus(ctx context.Context, pod *corev1.Pod, cond *corev1.PodCondition, nom nomination) error {
	newStatus := pod.Status.DeepCopy()
	nnnChanged := nom != nil && pod.Status.NominatedNodeName != *nom
	condChanged := cond != nil && updatePodCondition(newStatus, cond, metav1.NewTime(s.clock.Now()))
	if !nnnChanged && !condChanged {
		return nil
	}
	if nnnChanged {
		newStatus.NominatedNodeName = *nom
	}
	return s.patchPodStatus(ctx, pod, &pod.Status, newStatus)
}

// updatePodCondition is upstream's podutil.UpdatePodCondition: it sets cond
// in status and reports whether anything changed. The transition time is now
// unless the condition's status stays the same.
func updatePodCondition(status *corev1.PodStatus, cond *corev1.PodCondition, now metav1.Time) bool {
	c := *cond
	c.LastTransitionTime = now
	for i := range status.Conditions {
		old := &status.Conditions[i]
		if old.Type != c.Type {
			continue
		}
		if c.Status == old.Status {
			c.LastTransitionTime = old.LastTransitionTime
		}
		equal := c.Status == old.Status && c.Reason == old.Reason && c.Message == old.Message &&
			c.LastProbeTime.Equal(&old.LastProbeTime) && c.LastTransitionTime.Equal(&old.LastTransitionTime) &&
			c.ObservedGeneration == old.ObservedGeneration
		*old = c
		return !equal
	}
	status.Conditions = append(status.Conditions, c)
	return true
}

// patchPodStatus is upstream's util.PatchPodStatus: a strategic merge patch
// of the difference between the two statuses, through pods/status, retried
// on errors that may pass.
func (s *Scheduler) patchPodStatus(ctx context.Context, pod *corev1.Pod, oldStatus, newStatus *corev1.PodStatus) error {
	oldData, err := json.Marshal(corev1.Pod{Status: *oldStatus})
	if err != nil {
		return fmt.Errorf("patching the status of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	newData, err := json.Marshal(corev1.Pod{Status: *newStatus})
	if err != nil {
		return fmt.Errorf("patching the status of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	patch, err := strategicpatch.CreateTwoWayMergePatch(oldData, newData, &corev1.Pod{})
	if err != nil {
		return fmt.Errorf("patching the status of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	if string(patch) == "{}" {
		return nil
	}
	err = retry.OnError(retry.DefaultBackoff, retriable, func() error {
		_, err := s.client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
		return err
	})
	if err != nil {
		return fmt.Errorf("patching the status of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return nil
}

// retriable is upstream's util.Retriable.
func retriable(err error) bool {
	return apierrors.IsInternalError(err) || apierrors.IsServiceUnavailable(err) ||
		apierrors.IsServerTimeout(err) || apierrors.IsTooManyRequests(err)
}
