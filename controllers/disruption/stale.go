package disruption

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tendhq/tend/controllers"
)

// staleDisruption reports whether pod carries a DisruptionTarget condition
// that will be stale, and how long until it is: the condition is True, the
// pod is not being deleted and has not finished, and the kubelet did not set
// it (a kubelet's termination may take arbitrarily long to start). As
// upstream's nonTerminatingPodHasStaleDisruptionCondition.
func staleDisruption(pod *corev1.Pod, now time.Time, timeout time.Duration) (bool, time.Duration) {
	if pod.DeletionTimestamp != nil || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return false, 0
	}
	c := podCondition(&pod.Status, corev1.DisruptionTarget)
	if c == nil || c.Status != corev1.ConditionTrue || c.Reason == corev1.PodReasonTerminationByKubelet {
		return false, 0
	}
	return true, max(0, timeout-now.Sub(c.LastTransitionTime.Time))
}

// reconcileStalePod sets a pod's stale DisruptionTarget condition to False,
// or looks again when it will be stale.
func (r *reconciler) reconcileStalePod(ctx context.Context, req controllers.Request) (controllers.Result, error) {
	pod, ok := r.pods.Get(req.Namespace, req.Name)
	if !ok {
		return controllers.Result{}, nil
	}
	now := r.clock.Now()
	stale, after := staleDisruption(pod, now, r.staleTimeout)
	if !stale {
		return controllers.Result{}, nil
	}
	if after > 0 {
		return controllers.Result{RequeueAfter: after}, nil
	}
	out := pod.DeepCopy()
	c := podCondition(&out.Status, corev1.DisruptionTarget)
	*c = corev1.PodCondition{Type: corev1.DisruptionTarget, Status: corev1.ConditionFalse, LastTransitionTime: metav1.NewTime(now)}
	_, err := r.client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, out, metav1.UpdateOptions{})
	switch {
	case err == nil, apierrors.IsNotFound(err):
		return controllers.Result{}, nil
	case apierrors.IsConflict(err):
		// The pod changed: its event brings it back if still stale.
		return controllers.Result{}, nil
	}
	return controllers.Result{}, fmt.Errorf("resetting the stale DisruptionTarget condition of pod %s/%s: %w", pod.Namespace, pod.Name, err)
}

func podCondition(st *corev1.PodStatus, t corev1.PodConditionType) *corev1.PodCondition {
	for i := range st.Conditions {
		if st.Conditions[i].Type == t {
			return &st.Conditions[i]
		}
	}
	return nil
}
