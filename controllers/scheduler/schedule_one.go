package scheduler

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tendhq/tend/controllers/scheduler/framework"
	"github.com/tendhq/tend/controllers/scheduler/queue"
)

// errNoNodesAvailable is upstream's ErrNoNodesAvailable.
var errNoNodesAvailable = framework.ErrNoNodesAvailable

// noteLengthLimit is upstream's validation.NoteLengthLimit, the longest
// event message.
const noteLengthLimit = 1024

// nomination says what a failed attempt does to the pod's nominated node:
// leave it (nil), clear it (""), or set it.
type nomination = *string

func nominate(node string) nomination { return &node }

// scheduleOne schedules the next pod: upstream's ScheduleOne. The
// scheduling part runs here, one pod at a time; binding runs in its own
// goroutine. It reports false when the queue is closed.
func (s *Scheduler) scheduleOne(ctx context.Context) bool {
	qp, err := s.queue.Pop(ctx)
	if err != nil {
		return false
	}
	cycle := s.queue.SchedulingCycle()
	pod := qp.Pod
	if pod.DeletionTimestamp != nil {
		s.event(pod, corev1.EventTypeWarning, "FailedScheduling", "skip schedule deleting pod: %v/%v", pod.Namespace, pod.Name)
		s.queue.Done(pod.UID)
		return true
	}
	if s.cache.IsAssumed(pod) {
		// An update queued it again while its binding is in flight.
		s.queue.Done(pod.UID)
		return true
	}
	start := s.clock.Now()
	result, err := s.schedulePod(ctx, pod)
	if err != nil && ctx.Err() != nil {
		// Stopping: the next leader schedules it.
		s.queue.Done(pod.UID)
		return false
	}
	if err != nil {
		nom, msg := nominate(""), err.Error()
		var fitErr *framework.FitError
		if errors.As(err, &fitErr) {
			nom = s.preempt(ctx, pod, fitErr)
			msg = fitErr.Error()
		}
		s.failed(ctx, qp, cycle, err, msg, nom, start)
		return true
	}
	s.metrics.algorithmLatency.Observe(s.clock.Since(start).Seconds())

	// Assume: count the pod on its node now, so the next cycle sees the room
	// taken, and bind in the background. The copy shares everything with the
	// informer's pod but the spec's node name; nothing modifies either.
	assumed := *pod
	assumed.Spec.NodeName = result.Node
	if err := s.cache.AssumePod(&assumed); err != nil {
		s.failed(ctx, qp, cycle, err, err.Error(), nominate(""), start)
		return true
	}
	s.queue.ClearNomination(pod)
	s.bindings.Add(1)
	go func() {
		defer s.bindings.Done()
		s.bind(ctx, qp, &assumed, cycle, start)
	}()
	return true
}

// schedulePod picks the pod's node from an up-to-date snapshot.
func (s *Scheduler) schedulePod(ctx context.Context, pod *corev1.Pod) (framework.ScheduleResult, error) {
	if err := s.cache.UpdateSnapshot(s.snap); err != nil {
		s.logf("scheduler: %v", err)
		return framework.ScheduleResult{}, err
	}
	if len(s.snap.List) == 0 {
		return framework.ScheduleResult{}, errNoNodesAvailable
	}
	return s.fw.Schedule(ctx, pod, s.snap, s.queue.NominatedPods)
}

// bind binds the assumed pod through pods/binding, at most maxBindsInFlight
// at once, and records the outcome.
func (s *Scheduler) bind(ctx context.Context, qp *queue.QueuedPod, assumed *corev1.Pod, cycle int64, start time.Time) {
	err := s.bindRequest(ctx, assumed)
	if ferr := s.cache.FinishBinding(assumed); ferr != nil {
		s.logf("scheduler: %v", ferr)
	}
	if err != nil {
		s.bindFailed(ctx, qp, assumed, cycle, err, start)
		return
	}
	s.queue.Done(assumed.UID)
	s.metrics.attempts.WithLabelValues(resultScheduled, s.cfg.SchedulerName).Inc()
	s.metrics.attemptDuration.WithLabelValues(resultScheduled, s.cfg.SchedulerName).Observe(s.clock.Since(start).Seconds())
	s.metrics.podAttempts.Observe(float64(qp.Attempts))
	if !qp.InitialAttempt.IsZero() {
		s.metrics.sliDuration.WithLabelValues(attemptsLabel(qp.Attempts)).Observe(s.clock.Since(qp.InitialAttempt).Seconds())
	}
	s.event(assumed, corev1.EventTypeNormal, "Scheduled", "Successfully assigned %v/%v to %v", assumed.Namespace, assumed.Name, assumed.Spec.NodeName)
}

func (s *Scheduler) bindRequest(ctx context.Context, pod *corev1.Pod) error {
	select {
	case s.binds <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.binds }()
	start := s.clock.Now()
	binding := &corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID},
		Target:     corev1.ObjectReference{Kind: "Node", Name: pod.Spec.NodeName},
	}
	var err error
	if rc := s.client.CoreV1().RESTClient(); rc != nil && !reflect.ValueOf(rc).IsNil() {
		// Pods().Bind's query parameters of empty CreateOptions cost a
		// sixth of the request's client-side CPU, by reflection.
		err = rc.Post().Namespace(pod.Namespace).Resource("pods").Name(pod.Name).SubResource("binding").
			Body(binding).Do(ctx).Error()
	} else {
		err = s.client.CoreV1().Pods(pod.Namespace).Bind(ctx, binding, metav1.CreateOptions{})
	}
	s.metrics.bindingDuration.Observe(s.clock.Since(start).Seconds())
	if err != nil {
		return fmt.Errorf("binding pod %s/%s to node %s: %w", pod.Namespace, pod.Name, pod.Spec.NodeName, err)
	}
	return nil
}

// bindFailed undoes the assumption of a pod whose binding failed and
// retries it after back-off.
func (s *Scheduler) bindFailed(ctx context.Context, qp *queue.QueuedPod, assumed *corev1.Pod, cycle int64, err error, start time.Time) {
	if ferr := s.cache.ForgetPod(assumed); ferr != nil {
		s.logf("scheduler: %v", ferr)
	} else {
		// The room it held is free again.
		s.queue.MoveAll(eventAssignedPodDelete, assumed, nil)
	}
	if ctx.Err() != nil {
		// Stopping: the next leader schedules it.
		s.queue.Done(assumed.UID)
		return
	}
	if apierrors.IsConflict(err) {
		// Bound meanwhile by another scheduler (two leaders for a moment, or
		// a bind whose answer was lost): that is not a failure of the pod's.
		cur, gerr := s.client.CoreV1().Pods(assumed.Namespace).Get(ctx, assumed.Name, metav1.GetOptions{})
		if gerr == nil && cur.UID == assumed.UID && cur.Spec.NodeName != "" {
			s.logf("scheduler: pod %s/%s is bound to %s already: %v", assumed.Namespace, assumed.Name, cur.Spec.NodeName, err)
			s.queue.Done(assumed.UID)
			return
		}
	}
	s.failed(ctx, qp, cycle, err, err.Error(), nominate(""), start)
}

// failed handles a failed attempt, upstream's handleSchedulingFailure: the
// pod goes back to the queue (unless it is gone or bound), its nomination
// follows nom, and it gets a FailedScheduling event and the condition
// PodScheduled=False with msg, written only when it changed.
func (s *Scheduler) failed(ctx context.Context, qp *queue.QueuedPod, cycle int64, err error, msg string, nom nomination, start time.Time) {
	pod := qp.Pod
	reason, result := corev1.PodReasonSchedulerError, resultError
	var fitErr *framework.FitError
	switch {
	case errors.As(err, &fitErr):
		reason, result = corev1.PodReasonUnschedulable, resultUnschedulable
		qp.UnschedulablePlugins = fitErr.UnschedulablePlugins
	case errors.Is(err, errNoNodesAvailable):
		reason, result = corev1.PodReasonUnschedulable, resultUnschedulable
		qp.UnschedulablePlugins = nil
	default:
		qp.UnschedulablePlugins = nil
		s.logf("scheduler: scheduling pod %s/%s: %v; retrying", pod.Namespace, pod.Name, err)
	}
	s.metrics.attempts.WithLabelValues(result, s.cfg.SchedulerName).Inc()
	s.metrics.attemptDuration.WithLabelValues(result, s.cfg.SchedulerName).Observe(s.clock.Since(start).Seconds())

	cur, ok := s.pods.Get(pod.Namespace, pod.Name)
	if !ok || cur.UID != pod.UID || cur.Spec.NodeName != "" {
		// Deleted, replaced or bound meanwhile: nothing to retry or report.
		s.queue.Done(pod.UID)
		return
	}
	if rerr := s.queue.Requeue(qp, cycle); rerr != nil {
		s.logf("scheduler: requeueing pod %s/%s: %v", pod.Namespace, pod.Name, rerr)
	}
	s.queue.Done(pod.UID)
	if nom != nil {
		if *nom == "" {
			s.queue.ClearNomination(cur)
		} else {
			s.queue.Nominate(cur, *nom)
		}
	}
	s.event(cur, corev1.EventTypeWarning, "FailedScheduling", "%s", truncateMessage(msg))
	cond := corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: reason, Message: msg}
	if err := s.updatePodStatus(ctx, cur, &cond, nom); err != nil {
		s.logf("scheduler: %v", err)
	}
}

// truncateMessage is upstream's: messages longer than an event allows end
// in " ...".
func truncateMessage(msg string) string {
	if len(msg) <= noteLengthLimit {
		return msg
	}
	const suffix = " ..."
	return msg[:noteLengthLimit-len(suffix)] + suffix
}
