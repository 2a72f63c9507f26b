package nodelifecycle

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	schedulinghelper "k8s.io/component-helpers/scheduling/corev1"

	"github.com/tendhq/tend/controllers"
	"github.com/tendhq/tend/informers"
)

// Taint eviction's event reason and pod condition, upstream's.
const (
	// ReasonTaintManagerEviction is recorded on a pod when its deletion is
	// made ("Marking for deletion Pod <ns>/<name>") and when one that was
	// due is cancelled ("Cancelling deletion of Pod <ns>/<name>").
	ReasonTaintManagerEviction = "TaintManagerEviction"
	// reasonDeletionByTaintManager is the DisruptionTarget condition's reason.
	reasonDeletionByTaintManager  = "DeletionByTaintManager"
	messageDeletionByTaintManager = "Taint manager: deleting due to NoExecute taint"
)

// evictionTime says when a pod with tolerations must leave a node with the
// NoExecute taints taints (upstream's processPodOnNode, with
// GetMatchingTolerations and getMinTolerationTime): at once (the zero time)
// if a taint is not tolerated; otherwise when the first tolerationSeconds
// runs out, counted from added(taint) of the taint its toleration tolerates
// (as upstream, the first toleration that tolerates a taint is the one that
// counts; tolerationSeconds <= 0 means at once). evict is false when every
// taint is tolerated for ever.
func evictionTime(taints []corev1.Taint, tolerations []corev1.Toleration, added func(corev1.Taint) time.Time) (at time.Time, evict bool) {
	noExecute := func(t *corev1.Taint) bool { return t.Effect == corev1.TaintEffectNoExecute }
	if _, untolerated := schedulinghelper.FindMatchingUntoleratedTaint(logr.Discard(), taints, tolerations, noExecute, false); untolerated {
		return time.Time{}, true
	}
	for i := range taints {
		if !noExecute(&taints[i]) {
			continue
		}
		for j := range tolerations {
			tol := &tolerations[j]
			if !tol.ToleratesTaint(logr.Discard(), &taints[i], false) {
				continue
			}
			if tol.TolerationSeconds != nil {
				due := added(taints[i]).Add(time.Duration(max(0, *tol.TolerationSeconds)) * time.Second)
				if !evict || due.Before(at) {
					at, evict = due, true
				}
			}
			break
		}
	}
	return at, evict
}

// noExecuteTaints returns the NoExecute taints of taints.
func noExecuteTaints(taints []corev1.Taint) []corev1.Taint {
	var out []corev1.Taint
	for _, t := range taints {
		if t.Effect == corev1.TaintEffectNoExecute {
			out = append(out, t)
		}
	}
	return out
}

// taintID names a taint of a node, for the taints seen without timeAdded.
type taintID struct {
	node, key, value string
}

// evictor is the taint eviction manager: a controller whose requests name
// pods. A pod due to go later is reconciled again when it is due.
type evictor struct {
	c    *Controller
	ctrl *controllers.Controller

	// The controller's lock guards what follows.
	// due are the pods whose deletion is scheduled, with when; a cancelled
	// one gets the cancel event.
	due map[types.NamespacedName]scheduled
	// firstSeen is when a NoExecute taint without timeAdded was first seen.
	firstSeen map[taintID]time.Time
}

type scheduled struct {
	at  time.Time
	pod *corev1.Pod // for the cancel event
}

func newEvictor(c *Controller, opts controllers.Options) *evictor {
	e := &evictor{c: c, due: make(map[types.NamespacedName]scheduled), firstSeen: make(map[taintID]time.Time)}
	e.ctrl = controllers.New("taint-eviction", e, opts)
	c.nodes.AddHandler(informers.Handler[*corev1.Node]{
		OnAdd: func(n *corev1.Node, _ bool) {
			if len(noExecuteTaints(n.Spec.Taints)) > 0 {
				e.enqueuePodsOn(n.Name)
			}
		},
		OnUpdate: func(old, n *corev1.Node) {
			if taints := noExecuteTaints(n.Spec.Taints); !equality.Semantic.DeepEqual(noExecuteTaints(old.Spec.Taints), taints) {
				e.forgetGone(n.Name, taints)
				e.enqueuePodsOn(n.Name)
			}
		},
		OnDelete: func(n *corev1.Node) {
			e.forgetGone(n.Name, nil)
			e.enqueuePodsOn(n.Name)
		},
	})
	c.pods.AddHandler(informers.Handler[*corev1.Pod]{
		OnAdd: func(p *corev1.Pod, _ bool) {
			if p.Spec.NodeName != "" {
				e.enqueue(p)
			}
		},
		OnUpdate: func(old, p *corev1.Pod) {
			if old.Spec.NodeName != p.Spec.NodeName || !equality.Semantic.DeepEqual(old.Spec.Tolerations, p.Spec.Tolerations) ||
				(old.DeletionTimestamp == nil) != (p.DeletionTimestamp == nil) {
				e.enqueue(p)
			}
		},
		OnDelete: e.enqueue,
	})
	return e
}

func (e *evictor) enqueue(p *corev1.Pod) {
	e.ctrl.Enqueue(controllers.Request{Namespace: p.Namespace, Name: p.Name})
}

func (e *evictor) enqueuePodsOn(node string) {
	for _, p := range e.c.podsOn(node) {
		e.enqueue(p)
	}
}

// forgetGone drops the first-seen times of a node's taints that are gone.
func (e *evictor) forgetGone(node string, taints []corev1.Taint) {
	e.c.mu.Lock()
	defer e.c.mu.Unlock()
	for id := range e.firstSeen {
		if id.node != node {
			continue
		}
		kept := false
		for _, t := range taints {
			if t.Key == id.key && t.Value == id.value && t.TimeAdded == nil {
				kept = true
			}
		}
		if !kept {
			delete(e.firstSeen, id)
		}
	}
}

// added returns when a node's taint took effect: its timeAdded, or when the
// controller first saw it.
func (e *evictor) added(node string, now time.Time) func(corev1.Taint) time.Time {
	return func(t corev1.Taint) time.Time {
		if t.TimeAdded != nil {
			return t.TimeAdded.Time
		}
		e.c.mu.Lock()
		defer e.c.mu.Unlock()
		id := taintID{node: node, key: t.Key, value: t.Value}
		seen, ok := e.firstSeen[id]
		if !ok {
			seen = now
			e.firstSeen[id] = now
		}
		return seen
	}
}

// Reconcile deletes a pod whose node's NoExecute taints say it must go now,
// schedules a look at when it must, or cancels a deletion that was due.
func (e *evictor) Reconcile(ctx context.Context, req controllers.Request) (controllers.Result, error) {
	key := types.NamespacedName{Namespace: req.Namespace, Name: req.Name}
	now := e.c.clock.Now()
	pod, ok := e.c.pods.Get(req.Namespace, req.Name)
	if !ok || pod.Spec.NodeName == "" || pod.DeletionTimestamp != nil {
		e.cancel(key, ok && pod.DeletionTimestamp == nil)
		return controllers.Result{}, nil
	}
	node, ok := e.c.nodes.Get("", pod.Spec.NodeName)
	if !ok {
		// As upstream, a node's deletion cancels nothing: a deletion that was
		// due still happens (the pod has nowhere to run anyway).
		e.c.mu.Lock()
		s, wasDue := e.due[key]
		e.c.mu.Unlock()
		if !wasDue {
			return controllers.Result{}, nil
		}
		if now.Before(s.at) {
			return controllers.Result{RequeueAfter: s.at.Sub(now)}, nil
		}
		return controllers.Result{}, e.evict(ctx, pod, s.at, now)
	}
	taints := noExecuteTaints(node.Spec.Taints)
	if len(taints) == 0 {
		e.cancel(key, true)
		return controllers.Result{}, nil
	}
	at, evict := evictionTime(taints, pod.Spec.Tolerations, e.added(node.Name, now))
	switch {
	case !evict:
		e.cancel(key, true)
		return controllers.Result{}, nil
	case !now.Before(at):
		return controllers.Result{}, e.evict(ctx, pod, at, now)
	default:
		e.c.mu.Lock()
		e.due[key] = scheduled{at: at, pod: pod}
		e.c.mu.Unlock()
		return controllers.Result{RequeueAfter: at.Sub(now)}, nil
	}
}

// cancel forgets a scheduled deletion, with the cancel event if event and one
// was scheduled.
func (e *evictor) cancel(key types.NamespacedName, event bool) {
	e.c.mu.Lock()
	s, ok := e.due[key]
	delete(e.due, key)
	e.c.mu.Unlock()
	if ok && event {
		e.c.event(s.pod, corev1.EventTypeNormal, ReasonTaintManagerEviction, "Cancelling deletion of Pod %s", key)
	}
}

// evict marks the pod a disruption target and deletes it (upstream's
// addConditionAndDeletePod). due is when it had to go, for the latency
// metric.
func (e *evictor) evict(ctx context.Context, pod *corev1.Pod, due, now time.Time) error {
	key := types.NamespacedName{Namespace: pod.Namespace, Name: pod.Name}
	e.c.event(pod, corev1.EventTypeNormal, ReasonTaintManagerEviction, "Marking for deletion Pod %s", key)
	pods := e.c.client.CoreV1().Pods(pod.Namespace)
	if c := podCondition(&pod.Status, corev1.DisruptionTarget); c == nil || c.Status != corev1.ConditionTrue ||
		c.Reason != reasonDeletionByTaintManager || c.Message != messageDeletionByTaintManager {
		patch, err := json.Marshal(map[string]any{
			"metadata": map[string]any{"uid": pod.UID},
			"status": map[string]any{"conditions": []map[string]any{{
				"type":               corev1.DisruptionTarget,
				"status":             corev1.ConditionTrue,
				"reason":             reasonDeletionByTaintManager,
				"message":            messageDeletionByTaintManager,
				"lastTransitionTime": metav1.NewTime(now).Rfc3339Copy(),
			}}},
		})
		if err != nil {
			return err
		}
		if _, err := pods.Patch(ctx, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status"); err != nil {
			if apierrors.IsNotFound(err) {
				e.cancel(key, false)
				return nil
			}
			return fmt.Errorf("marking pod %s a disruption target: %w", key, err)
		}
	}
	uid := pod.UID
	err := pods.Delete(ctx, pod.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("deleting pod %s for its node's NoExecute taints: %w", key, err)
	}
	e.cancel(key, false)
	if err == nil {
		e.c.metrics.podDeletions.Inc()
		if !due.IsZero() {
			e.c.metrics.podDeletionLatency.Observe(max(0, now.Sub(due).Seconds()))
		}
	}
	return nil
}
