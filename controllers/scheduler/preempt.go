package scheduler

import (
	"context"
	"errors"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tendhq/tend/controllers/scheduler/framework"
)

// maxVictimsInFlight bounds the victims preempted at once.
const maxVictimsInFlight = 16

// preempt runs upstream's DefaultPreemption PostFilter for a pod no node
// fits: when the pod may preempt, the framework picks a node and victims,
// and preempt evicts them. It fills fitErr.PostFilterMsg when preemption did
// not help, and returns what becomes of the pod's nomination: the chosen
// node, cleared when no node would do, unchanged when the pod may not
// preempt (a preemptor waiting for its victims to terminate keeps its
// node).
func (s *Scheduler) preempt(ctx context.Context, pod *corev1.Pod, fitErr *framework.FitError) nomination {
	s.metrics.preemptAttempts.Inc()
	if ok, msg := eligibleToPreempt(pod, s.snap, fitErr); !ok {
		fitErr.PostFilterMsg = "preemption: " + msg
		return nil
	}
	node, victims, err := s.fw.Preempt(ctx, pod, s.snap, s.pdbs.List(), fitErr, s.queue.NominatedPods)
	if err != nil {
		s.logf("scheduler: preemption for pod %s/%s: %v", pod.Namespace, pod.Name, err)
		if fitErr.PostFilterMsg == "" {
			fitErr.PostFilterMsg = "preemption: " + err.Error()
		}
		return nil
	}
	if node == "" {
		return nominate("")
	}
	if err := s.evict(ctx, pod, node, victims); err != nil {
		s.logf("scheduler: preemption for pod %s/%s: %v", pod.Namespace, pod.Name, err)
		fitErr.PostFilterMsg = "preemption: " + err.Error()
		return nil
	}
	return nominate(node)
}

// eligibleToPreempt is upstream's PodEligibleToPreemptOthers: a pod may not
// preempt when its preemptionPolicy is Never, nor while a lower-priority pod
// it preempted is still terminating on its nominated node (unless that node
// can no longer fit it at all).
func eligibleToPreempt(pod *corev1.Pod, snap *framework.Snapshot, fitErr *framework.FitError) (bool, string) {
	if pod.Spec.PreemptionPolicy != nil && *pod.Spec.PreemptionPolicy == corev1.PreemptNever {
		return false, "not eligible due to preemptionPolicy=Never."
	}
	nnn := pod.Status.NominatedNodeName
	if nnn == "" {
		return true, ""
	}
	if fitErr.NodeToStatus[nnn].Code() == framework.UnschedulableAndUnresolvable {
		return true, ""
	}
	if ni := snap.Map[nnn]; ni != nil {
		prio := podPriority(pod)
		for _, pi := range ni.Pods() {
			if podPriority(pi.Pod) < prio && terminatingByPreemption(pi.Pod) {
				return false, "not eligible due to a terminating pod on the nominated node."
			}
		}
	}
	return true, ""
}

// terminatingByPreemption reports whether p is being deleted because the
// scheduler preempted it.
func terminatingByPreemption(p *corev1.Pod) bool {
	if p.DeletionTimestamp == nil {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.DisruptionTarget {
			return c.Status == corev1.ConditionTrue && c.Reason == corev1.PodReasonPreemptionByScheduler
		}
	}
	return false
}

func podPriority(p *corev1.Pod) int32 {
	if p.Spec.Priority != nil {
		return *p.Spec.Priority
	}
	return 0
}

// evict is upstream's prepareCandidate: each victim gets the condition
// DisruptionTarget=True (reason PreemptionByScheduler) and is deleted, with
// a Preempted event; then the lower-priority pods nominated to the node lose
// their nomination, since the room they counted on goes to the preemptor.
func (s *Scheduler) evict(ctx context.Context, preemptor *corev1.Pod, node string, victims []*corev1.Pod) error {
	msg := fmt.Sprintf("%s: preempting to accommodate a higher priority pod", preemptor.Spec.SchedulerName)
	errs := make([]error, len(victims))
	sem := make(chan struct{}, maxVictimsInFlight)
	var wg sync.WaitGroup
	for i, v := range victims {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			errs[i] = s.evictOne(ctx, preemptor, node, v, msg)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	s.metrics.preemptVictims.Observe(float64(len(victims)))

	prio := podPriority(preemptor)
	for _, p := range s.queue.NominatedPods(node) {
		if p.UID == preemptor.UID || podPriority(p) >= prio {
			continue
		}
		s.queue.ClearNomination(p)
		if err := s.updatePodStatus(ctx, p, nil, nominate("")); err != nil && !apierrors.IsNotFound(err) {
			s.logf("scheduler: clearing the nominated node of pod %s/%s: %v", p.Namespace, p.Name, err)
		}
	}
	return nil
}

func (s *Scheduler) evictOne(ctx context.Context, preemptor *corev1.Pod, node string, victim *corev1.Pod, msg string) error {
	cond := corev1.PodCondition{
		Type:    corev1.DisruptionTarget,
		Status:  corev1.ConditionTrue,
		Reason:  corev1.PodReasonPreemptionByScheduler,
		Message: msg,
	}
	if err := s.updatePodStatus(ctx, victim, &cond, nil); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	}
	// The UID precondition keeps a pod created again under the same name.
	err := s.client.CoreV1().Pods(victim.Namespace).Delete(ctx, victim.Name, metav1.DeleteOptions{
		Preconditions: &metav1.Preconditions{UID: &victim.UID},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("preempting pod %s/%s: %w", victim.Namespace, victim.Name, err)
	}
	s.event(victim, corev1.EventTypeNormal, "Preempted", "Preempted by pod %v on node %v", preemptor.UID, node)
	return nil
}
