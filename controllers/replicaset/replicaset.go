// Package replicaset is the ReplicaSet controller and the ReplicationController
// controller: one logic over two kinds, as upstream's pkg/controller/replicaset.
//
// For each set the controller keeps spec.replicas active pods: it creates pods
// from the template (generateName "<set>-", the template's labels, annotations
// and finalizers, and a controller ownerReference), deletes the pods upstream's
// ranking puts first (unscheduled, pending, not ready, lower
// pod-deletion-cost, on a node crowded with its siblings, ready for less time,
// more restarts, newer), adopts orphans its selector matches and releases
// pods that stop matching. It writes the set's status (replicas,
// fullyLabeledReplicas, readyReplicas, availableReplicas, terminatingReplicas
// for ReplicaSets, observedGeneration and the ReplicaFailure condition) through
// the status subresource, and only when it changed.
//
// Guarantees:
//
//   - Reconcile reads only the informers' caches; every write goes through the
//     API.
//   - A lagging pod watch never makes it create or delete twice: after a
//     reconcile created or deleted pods, the set's next reconciles create and
//     delete nothing until the pod informer has shown every one of those
//     changes (or five minutes passed), as upstream's expectations.
//   - At most 500 pods are created or deleted per reconcile (upstream's
//     burstReplicas). Creations go in slow-start batches of 1, 2, 4, ...: a
//     batch with a failure ends the reconcile, so a template the apiserver
//     rejects costs one request, one Warning event and a ReplicaFailure
//     condition, not 500 of each.
//   - A pod being deleted (deletionTimestamp set), succeeded or failed is not
//     an active replica; a set being deleted creates and deletes nothing.
//   - The work per reconcile is proportional to the set's pods and the orphans
//     of its namespace: pods are found through an index by controller UID
//     (ByControllerIndex), not a scan.
package replicaset

import (
	"context"
	"errors"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"

	"github.com/tendhq/tend/controllers"
	"github.com/tendhq/tend/informers"
)

const (
	// BurstReplicas bounds the pods created or deleted by one reconcile of a
	// set: upstream's burstReplicas.
	BurstReplicas = 500
	// slowStartInitialBatch is the first batch of creations: upstream's
	// SlowStartInitialBatchSize.
	slowStartInitialBatch = 1
	// maxInFlight bounds the creations or deletions one reconcile has
	// outstanding at once. client-go keeps 25 idle connections per host and
	// tend speaks HTTP/1.1, so each request in flight holds a connection:
	// beyond about 25 (shared with everything else the process sends),
	// connections are closed and opened again, and TLS handshakes eat the CPU
	// the apiserver needs. On two cores, 10,000 pods took 11 s with 12 in
	// flight, 17 s with 64.
	maxInFlight = 12
	// syncWait is how long a reconcile waits for the informers' first lists.
	syncWait = 100 * time.Millisecond
)

// New returns the ReplicaSet controller. It adds ByControllerIndex to the
// factory's pod and ReplicaSet informers if they do not have it yet; call it
// before the factory starts. rec may be nil (no events).
func New(f *informers.Factory, client kubernetes.Interface, rec *controllers.Recorder, opts controllers.Options) *controllers.Controller {
	c, _ := newReconciler(replicaSets(client), informers.For[*appsv1.ReplicaSet](f),
		informers.For[*corev1.Pod](f), client, rec, opts)
	return c
}

// NewReplicationController returns the ReplicationController controller: the
// same logic over core/v1 ReplicationControllers, with the same index.
func NewReplicationController(f *informers.Factory, client kubernetes.Interface, rec *controllers.Recorder, opts controllers.Options) *controllers.Controller {
	c, _ := newReconciler(replicationControllers(client), informers.For[*corev1.ReplicationController](f),
		informers.For[*corev1.Pod](f), client, rec, opts)
	return c
}

// reconciler keeps the pods of the sets of one kind.
type reconciler[T informers.Object] struct {
	kind   kind[T]
	client kubernetes.Interface
	sets   *informers.Informer[T]
	pods   *informers.Informer[*corev1.Pod]
	exp    *controllers.Expectations
	rec    *controllers.Recorder
	logf   func(format string, args ...any)
	now    func() time.Time

	enqueue func(controllers.Request)
	// podsIndexed and setsIndexed say whether the informers have
	// ByControllerIndex (they lack it only when it was added too late).
	podsIndexed, setsIndexed bool
}

// newReconciler returns the controller of one kind over the given informers,
// and its reconciler, which tests may call directly.
func newReconciler[T informers.Object](k kind[T], sets *informers.Informer[T], pods *informers.Informer[*corev1.Pod],
	client kubernetes.Interface, rec *controllers.Recorder, opts controllers.Options) (*controllers.Controller, *reconciler[T]) {
	r := &reconciler[T]{
		kind:   k,
		client: client,
		sets:   sets,
		pods:   pods,
		exp:    controllers.NewExpectations(),
		rec:    rec,
		logf:   opts.Logf,
		now:    time.Now,
	}
	r.podsIndexed = ensureIndex(pods)
	r.setsIndexed = ensureIndex(sets)
	if !r.podsIndexed {
		r.log("%s: the pod informer has no %s index (added after it started): listing pods by namespace", k.name, ByControllerIndex)
	}
	c := controllers.New(k.name, r, opts)
	r.enqueue = c.Enqueue
	sets.AddHandler(informers.Handler[T]{
		OnAdd:    func(obj T, _ bool) { r.enqueueSet(obj) },
		OnUpdate: r.setUpdated,
		OnDelete: r.setDeleted,
	})
	pods.AddHandler(informers.Handler[*corev1.Pod]{
		OnAdd:    func(p *corev1.Pod, _ bool) { r.podAdded(p) },
		OnUpdate: r.podUpdated,
		OnDelete: r.podDeleted,
	})
	return c, r
}

// Reconcile brings one set's pods to its replicas and writes its status.
func (r *reconciler[T]) Reconcile(ctx context.Context, req controllers.Request) (controllers.Result, error) {
	if !r.pods.HasSynced() || !r.sets.HasSynced() {
		// Counting pods from a partial list would create pods that exist.
		return controllers.Result{RequeueAfter: syncWait}, nil
	}
	key := req.String()
	obj, ok := r.sets.Get(req.Namespace, req.Name)
	if !ok {
		r.exp.Forget(key)
		return controllers.Result{}, nil
	}
	s, err := r.kind.read(obj)
	if err != nil {
		return controllers.Result{}, controllers.Terminal(err)
	}
	// Expectations first, pods second: the informer stores a pod before its
	// handlers hear of it, so every creation or deletion counted as observed
	// here is in the pods read below.
	satisfied := r.exp.Satisfied(key)
	active, terminating := splitPods(r.podsOf(s.meta))
	owned, err := r.claim(ctx, s, active)
	if err != nil {
		return controllers.Result{}, err
	}
	var manageErr error
	if satisfied && s.meta.GetDeletionTimestamp() == nil {
		manageErr = r.manage(ctx, s, key, owned)
	}
	now := r.now()
	next := nextStatus(s, owned, ownedMatching(s, terminating), manageErr, r.kind.countsTerminating, now)
	if !statusEqual(s.status, next) {
		patch, err := statusPatch(s.meta.GetUID(), next, r.kind.countsTerminating)
		if err == nil {
			err = r.kind.patchStatus(ctx, req.Namespace, req.Name, patch)
		}
		if err != nil && !apierrors.IsNotFound(err) {
			return controllers.Result{}, errors.Join(manageErr,
				fmt.Errorf("updating the status of %s %s: %w", r.kind.gvk.Kind, key, err))
		}
	}
	if manageErr != nil {
		return controllers.Result{}, manageErr
	}
	requeue := untilAvailable(s.minReadySeconds, owned, now)
	if expiry := controllers.ExpectationsTimeout + time.Second; !r.exp.Satisfied(key) && (requeue == 0 || requeue > expiry) {
		// A pod created and deleted while the informer relisted is never seen:
		// look again once the expectation has expired, since tend's informers
		// do not resync and nothing else may come to wake this set.
		requeue = expiry
	}
	return controllers.Result{RequeueAfter: requeue}, nil
}

// claim adopts the orphans s selects and releases the pods it stopped
// selecting; it returns the active pods s controls.
func (r *reconciler[T]) claim(ctx context.Context, s *set, active []*corev1.Pod) ([]*corev1.Pod, error) {
	owner := controllers.Owner{
		Object:   s.meta,
		Kind:     r.kind.gvk,
		Selector: s.selector,
		Recheck: func(ctx context.Context) (metav1.Object, error) {
			return r.kind.get(ctx, s.meta.GetNamespace(), s.meta.GetName())
		},
	}
	patch := controllers.StrategicPatch[*corev1.Pod, corev1client.PodInterface](r.client.CoreV1().Pods)
	return controllers.Claim(ctx, owner, active, patch)
}

// podsOf returns the pods of owner's namespace that owner controls or that
// no one controls.
func (r *reconciler[T]) podsOf(owner metav1.Object) []*corev1.Pod {
	ns, uid := owner.GetNamespace(), owner.GetUID()
	if !r.podsIndexed {
		var out []*corev1.Pod
		for _, p := range r.pods.ListNamespace(ns) {
			if ref := metav1.GetControllerOf(p); ref == nil || ref.UID == uid {
				out = append(out, p)
			}
		}
		return out
	}
	owned, _ := r.pods.ByIndex(ByControllerIndex, string(uid))
	orphans, _ := r.pods.ByIndex(ByControllerIndex, OrphanIndexValue(ns))
	out := make([]*corev1.Pod, 0, len(owned)+len(orphans))
	for _, p := range owned {
		// A UID is unique, but an ownerReference is whatever its writer put.
		if p.Namespace == ns {
			out = append(out, p)
		}
	}
	return append(out, orphans...)
}

// relatedPods returns the active pods of the sets that share s's controller
// (the ReplicaSets of one Deployment): the delete ranking prefers pods on
// nodes crowded with them. A set without a controller has none.
func (r *reconciler[T]) relatedPods(s *set) []*corev1.Pod {
	ref := metav1.GetControllerOf(s.meta)
	if ref == nil || !r.setsIndexed || !r.podsIndexed {
		return nil
	}
	siblings, _ := r.sets.ByIndex(ByControllerIndex, string(ref.UID))
	var out []*corev1.Pod
	for _, sib := range siblings {
		if sib.GetNamespace() != s.meta.GetNamespace() {
			continue
		}
		pods, _ := r.pods.ByIndex(ByControllerIndex, string(sib.GetUID()))
		for _, p := range pods {
			if p.Namespace == sib.GetNamespace() && isPodActive(p) {
				out = append(out, p)
			}
		}
	}
	return out
}

func (r *reconciler[T]) log(format string, args ...any) {
	if r.logf != nil {
		r.logf(format, args...)
	}
}

// splitPods separates the active pods from those being deleted; succeeded
// and failed pods are neither.
func splitPods(pods []*corev1.Pod) (active, terminating []*corev1.Pod) {
	active = make([]*corev1.Pod, 0, len(pods))
	for _, p := range pods {
		switch {
		case isPodTerminal(p):
		case p.DeletionTimestamp != nil:
			terminating = append(terminating, p)
		default:
			active = append(active, p)
		}
	}
	return active, terminating
}

// ownedMatching returns the pods s controls that its selector matches: the
// terminating pods it counts, as upstream's FilterClaimedPods.
func ownedMatching(s *set, pods []*corev1.Pod) []*corev1.Pod {
	var out []*corev1.Pod
	for _, p := range pods {
		if ref := metav1.GetControllerOf(p); ref != nil && ref.UID == s.meta.GetUID() && s.selector.Matches(labels.Set(p.Labels)) {
			out = append(out, p)
		}
	}
	return out
}

// statusEqual reports whether writing next over cur would change nothing.
func statusEqual(cur, next appsv1.ReplicaSetStatus) bool {
	return equality.Semantic.DeepEqual(cur, next)
}
