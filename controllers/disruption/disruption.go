// Package disruption is the PodDisruptionBudget controller, as upstream's
// pkg/controller/disruption: it computes each budget's status, which the
// pods/eviction subresource consults before it lets a pod go.
//
// For a budget it finds the pods its selector selects in its namespace
// (an empty selector selects them all, a null one none, as policy/v1
// says) and works out:
//
//   - expectedPods and desiredHealthy: an integer minAvailable is of the
//     selected pods; a percentage minAvailable, or maxUnavailable, is of the
//     sum of the spec.replicas of the pods' controllers (ReplicationController,
//     Deployment through its ReplicaSet, ReplicaSet, StatefulSet), rounded
//     up. Pods without a controller are left out of that sum (with an
//     UnmanagedPods warning); a pod whose controller cannot be found makes the
//     budget fail to sync.
//   - currentHealthy: the selected pods that are Ready, not being deleted and
//     not in status.disruptedPods;
//   - disruptedPods: the eviction subresource's entries, dropped once the pod
//     is gone or being deleted, or DeletionTimeout (2 minutes) after the
//     eviction; the budget is looked at again when the earliest entry expires;
//   - disruptionsAllowed: currentHealthy - desiredHealthy, at least 0, and 0
//     while no pod is expected;
//   - the DisruptionAllowed condition: True (SufficientPods) when a disruption
//     is allowed, else False (InsufficientPods); and observedGeneration.
//
// When the computation fails, the budget gets disruptionsAllowed 0 and the
// condition False with reason SyncFailed and the error as message (upstream's
// failSafe), so that no eviction passes a budget that could not be checked.
//
// It also resets, to False, a DisruptionTarget condition that a pod not being
// deleted has carried for two minutes (an eviction or preemption that did not
// happen), unless the kubelet set it or the pod has finished, as upstream's
// stale pod disruption worker.
//
// Guarantees: reconciles read only the informers' caches and write through
// the API; a budget's status is written (UpdateStatus, conditional on the
// resourceVersion read) only when it changes; a write that conflicts is
// dropped quietly, since the newer budget's event brings it back.
//
// Where it differs from upstream:
//
//   - A pod matching several budgets wakes them all (upstream picks the first)
//     and still gets the MultiplePodDisruptionBudgets warning.
//   - Controllers of pods are watched: a budget whose numbers depend on a
//     controller's scale is recomputed when one in its namespace appears,
//     goes, changes its replicas or its own controller. Upstream waits for a
//     pod event or a resync.
//   - Controllers of other kinds are not looked up through their scale
//     subresource (tend serves /scale only for the four kinds above): their
//     pods make a percentage budget fail with "found no controllers".
package disruption

import (
	"context"
	"fmt"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"

	"github.com/tendhq/tend/controllers"
	"github.com/tendhq/tend/informers"
)

// Names of the controller's two work queues, in logs and metrics: budgets by
// namespace/name, and pods whose DisruptionTarget condition may be stale.
const (
	Name         = "disruption"
	StalePodName = "stale_pod_disruption"
)

// stalePodDisruptionTimeout is how long a pod not being deleted may carry a
// DisruptionTarget condition before it is reset: upstream's.
const stalePodDisruptionTimeout = 2 * time.Minute

// Controller is the PodDisruptionBudget controller.
type Controller struct {
	budgets *controllers.Controller
	stale   *controllers.Controller
	r       *reconciler
}

// reconciler computes budgets and resets stale pod conditions.
type reconciler struct {
	client kubernetes.Interface
	rec    *controllers.Recorder
	clock  clock.PassiveClock

	pdbs *informers.Informer[*policyv1.PodDisruptionBudget]
	pods *informers.Informer[*corev1.Pod]
	rcs  *informers.Informer[*corev1.ReplicationController]
	rss  *informers.Informer[*appsv1.ReplicaSet]
	deps *informers.Informer[*appsv1.Deployment]
	sss  *informers.Informer[*appsv1.StatefulSet]

	staleTimeout time.Duration
	enqueue      func(controllers.Request)
	enqueueStale func(controllers.Request, time.Duration)
}

// New returns the PodDisruptionBudget controller. It reads budgets, pods,
// ReplicationControllers, ReplicaSets, Deployments and StatefulSets from f's
// informers: call it before f starts. rec, when not nil, receives its events.
// opts apply to both of its work queues.
func New(f *informers.Factory, client kubernetes.Interface, rec *controllers.Recorder, opts controllers.Options) *Controller {
	return newController(f, client, rec, opts, clock.RealClock{})
}

func newController(f *informers.Factory, client kubernetes.Interface, rec *controllers.Recorder, opts controllers.Options, clk clock.PassiveClock) *Controller {
	r := &reconciler{
		client:       client,
		rec:          rec,
		clock:        clk,
		pdbs:         informers.For[*policyv1.PodDisruptionBudget](f),
		pods:         informers.For[*corev1.Pod](f),
		rcs:          informers.For[*corev1.ReplicationController](f),
		rss:          informers.For[*appsv1.ReplicaSet](f),
		deps:         informers.For[*appsv1.Deployment](f),
		sss:          informers.For[*appsv1.StatefulSet](f),
		staleTimeout: stalePodDisruptionTimeout,
	}
	c := &Controller{r: r}
	c.budgets = controllers.New(Name, r, opts)
	c.stale = controllers.New(StalePodName, controllers.ReconcilerFunc(r.reconcileStalePod), opts)
	r.enqueue, r.enqueueStale = c.budgets.Enqueue, c.stale.EnqueueAfter

	controllers.Watch(c.budgets, r.pdbs)
	controllers.WatchMap(c.budgets, r.pods, r.budgetsOf)
	r.pods.AddHandler(informers.Handler[*corev1.Pod]{
		OnAdd:    func(p *corev1.Pod, _ bool) { r.podChanged(p) },
		OnUpdate: func(_, p *corev1.Pod) { r.podChanged(p) },
	})
	watchScale(r, r.rcs, func(o *corev1.ReplicationController) *int32 { return o.Spec.Replicas })
	watchScale(r, r.rss, func(o *appsv1.ReplicaSet) *int32 { return o.Spec.Replicas })
	watchScale(r, r.deps, func(o *appsv1.Deployment) *int32 { return o.Spec.Replicas })
	watchScale(r, r.sss, func(o *appsv1.StatefulSet) *int32 { return o.Spec.Replicas })
	return c
}

// Run waits for the informers to sync, then keeps budgets' statuses until
// ctx ends. It returns once its workers have stopped.
func (c *Controller) Run(ctx context.Context) error {
	r := c.r
	if !informers.WaitForSync(ctx, r.pdbs, r.pods, r.rcs, r.rss, r.deps, r.sss) {
		return ctx.Err()
	}
	var wg sync.WaitGroup
	wg.Go(func() { _ = c.stale.Run(ctx) })
	err := c.budgets.Run(ctx)
	wg.Wait()
	return err
}

// Reconcile computes one budget's status and writes it if it changed.
func (r *reconciler) Reconcile(ctx context.Context, req controllers.Request) (controllers.Result, error) {
	pdb, ok := r.pdbs.Get(req.Namespace, req.Name)
	if !ok {
		return controllers.Result{}, nil
	}
	now := r.clock.Now()
	pods, err := r.podsOf(pdb)
	var next policyv1.PodDisruptionBudgetStatus
	var recheck time.Time
	if err == nil {
		next, recheck, err = r.compute(pdb, pods, now)
	}
	if err != nil {
		// Fail safe: a budget that cannot be computed allows nothing.
		next, recheck = failedStatus(pdb, err, now), time.Time{}
	}
	if werr := r.writeStatus(ctx, pdb, next); werr != nil {
		return controllers.Result{}, werr
	}
	if recheck.IsZero() {
		return controllers.Result{}, nil
	}
	return controllers.Result{RequeueAfter: max(recheck.Sub(now), time.Millisecond)}, nil
}

// compute is one budget's next status, and when to look again for an
// eviction that has not deleted its pod.
func (r *reconciler) compute(pdb *policyv1.PodDisruptionBudget, pods []*corev1.Pod, now time.Time) (policyv1.PodDisruptionBudgetStatus, time.Time, error) {
	if len(pods) == 0 {
		r.event(pdb, corev1.EventTypeNormal, "NoPods", "No matching pods found")
	}
	w := workloads{rcs: r.rcs.Get, rss: r.rss.Get, deps: r.deps.Get, sss: r.sss.Get}
	b, err := computeBudget(pdb.Spec, pods, w.find)
	if err != nil {
		r.event(pdb, corev1.EventTypeWarning, "CalculateExpectedPodCountFailed", fmt.Sprintf("Failed to calculate the number of expected pods: %v", err))
		return policyv1.PodDisruptionBudgetStatus{}, time.Time{}, err
	}
	if len(b.unmanaged) > 0 {
		r.event(pdb, corev1.EventTypeWarning, "UnmanagedPods", fmt.Sprintf("Pods selected by this PodDisruptionBudget (selector: %v) were found "+
			"to be unmanaged. As a result, the status of the PDB cannot be calculated correctly, which may result in undefined behavior. "+
			"To account for these pods please set \".spec.minAvailable\" "+
			"field of the PDB to an integer value.", pdb.Spec.Selector))
	}
	d := pruneDisrupted(pdb.Status.DisruptedPods, pods, now)
	for _, p := range d.expired {
		r.event(p, corev1.EventTypeWarning, "NotDeleted", fmt.Sprintf("Pod was expected by PDB %s/%s to be deleted but it wasn't", pdb.Namespace, pdb.Name))
	}
	healthy := countHealthy(pods, d.live, now)
	return nextStatus(pdb, b, healthy, d.live, now), d.recheck, nil
}

// writeStatus writes next as pdb's status unless it is what pdb has. A
// conflict or a budget gone is not an error: an event for the newer state
// comes.
func (r *reconciler) writeStatus(ctx context.Context, pdb *policyv1.PodDisruptionBudget, next policyv1.PodDisruptionBudgetStatus) error {
	if equality.Semantic.DeepEqual(pdb.Status, next) {
		return nil
	}
	out := pdb.DeepCopy()
	out.Status = next
	_, err := r.client.PolicyV1().PodDisruptionBudgets(pdb.Namespace).UpdateStatus(ctx, out, metav1.UpdateOptions{})
	if err == nil || apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
		return nil
	}
	return fmt.Errorf("updating the status of PodDisruptionBudget %s/%s: %w", pdb.Namespace, pdb.Name, err)
}

// podsOf returns the pods pdb selects. They are the informer's: shared.
func (r *reconciler) podsOf(pdb *policyv1.PodDisruptionBudget) ([]*corev1.Pod, error) {
	sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
	if err != nil {
		r.event(pdb, corev1.EventTypeWarning, "NoPods", fmt.Sprintf("Failed to get pods: %v", err))
		return nil, fmt.Errorf("the selector of PodDisruptionBudget %s/%s: %w", pdb.Namespace, pdb.Name, err)
	}
	var out []*corev1.Pod
	for _, p := range r.pods.ListNamespace(pdb.Namespace) {
		if sel.Matches(labels.Set(p.Labels)) {
			out = append(out, p)
		}
	}
	return out, nil
}

// selecting returns the budgets of pod's namespace whose selector selects
// it.
func (r *reconciler) selecting(pod *corev1.Pod) []*policyv1.PodDisruptionBudget {
	var out []*policyv1.PodDisruptionBudget
	for _, pdb := range r.pdbs.ListNamespace(pod.Namespace) {
		sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		if err != nil || !sel.Matches(labels.Set(pod.Labels)) {
			continue
		}
		out = append(out, pdb)
	}
	return out
}

// budgetsOf maps a pod to the budgets selecting it.
func (r *reconciler) budgetsOf(pod *corev1.Pod) []controllers.Request {
	pdbs := r.selecting(pod)
	out := make([]controllers.Request, 0, len(pdbs))
	for _, pdb := range pdbs {
		out = append(out, controllers.Request{Namespace: pdb.Namespace, Name: pdb.Name})
	}
	return out
}

// podChanged warns about a pod several budgets select (the eviction
// subresource refuses to evict it) and schedules the reset of a stale
// DisruptionTarget condition.
func (r *reconciler) podChanged(pod *corev1.Pod) {
	if pdbs := r.selecting(pod); len(pdbs) > 1 {
		r.event(pod, corev1.EventTypeWarning, "MultiplePodDisruptionBudgets",
			fmt.Sprintf("Pod %q/%q matches multiple PodDisruptionBudgets.  Chose %q arbitrarily.", pod.Namespace, pod.Name, pdbs[0].Name))
	}
	if stale, after := staleDisruption(pod, r.clock.Now(), r.staleTimeout); stale {
		r.enqueueStale(controllers.Request{Namespace: pod.Namespace, Name: pod.Name}, after)
	}
}

// watchScale wakes the budgets whose numbers depend on scales when a
// controller of pods appears, goes, or changes its replicas or its own
// controller.
func watchScale[T informers.Object](r *reconciler, inf *informers.Informer[T], replicasOf func(T) *int32) {
	wake := func(obj T) {
		for _, pdb := range r.pdbs.ListNamespace(obj.GetNamespace()) {
			if usesScale(pdb.Spec) {
				r.enqueue(controllers.Request{Namespace: pdb.Namespace, Name: pdb.Name})
			}
		}
	}
	inf.AddHandler(informers.Handler[T]{
		OnAdd: func(obj T, initial bool) {
			if !initial {
				wake(obj)
			}
		},
		OnUpdate: func(old, cur T) {
			if replicas(replicasOf(old)) != replicas(replicasOf(cur)) || controllerUID(old) != controllerUID(cur) || old.GetUID() != cur.GetUID() {
				wake(cur)
			}
		},
		OnDelete: wake,
	})
}

// usesScale reports whether a budget's numbers are of its pods' controllers'
// scales.
func usesScale(spec policyv1.PodDisruptionBudgetSpec) bool {
	return spec.MaxUnavailable != nil || (spec.MinAvailable != nil && spec.MinAvailable.Type != intstr.Int)
}

func controllerUID(obj metav1.Object) string {
	if ref := metav1.GetControllerOf(obj); ref != nil {
		return string(ref.UID)
	}
	return ""
}

func (r *reconciler) event(obj runtime.Object, eventType, reason, message string) {
	if r.rec != nil {
		r.rec.Event(obj, eventType, reason, message)
	}
}
