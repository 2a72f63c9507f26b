// Package deployment is the Deployment controller. It rolls a Deployment's pod
// template out through ReplicaSets the way upstream's
// (kube-controller-manager's pkg/controller/deployment) does, so that kubectl
// rollout status, history, undo, pause, resume and restart, kubectl set image
// and kubectl scale behave as on Kubernetes:
//
//   - each template runs in a ReplicaSet named <deployment>-<pod-template-hash>
//     whose labels and selector add pod-template-hash (upstream's hash, see
//     ComputeHash); matching orphans are adopted, owned ReplicaSets that stop
//     matching are released;
//   - ReplicaSets carry the revision, revision-history, desired-replicas and
//     max-replicas annotations and a copy of the Deployment's annotations, and
//     the Deployment carries its newest revision; reverting the template (what
//     kubectl rollout undo does) reuses the old ReplicaSet under a new revision;
//   - RollingUpdate keeps within maxSurge and maxUnavailable, Recreate starts
//     new pods only once no old one runs; a paused Deployment does not roll
//     out but still scales; changing spec.replicas mid-rollout scales every
//     ReplicaSet in proportion; old ReplicaSets with no pods beyond
//     revisionHistoryLimit are deleted;
//   - status counts replicas as upstream's does, with the Available and
//     Progressing conditions (their reasons and messages upstream's, including
//     ProgressDeadlineExceeded), and ScalingReplicaSet events are recorded.
//
// A reconcile reads only the informers' caches and writes through the API.
// ReplicaSets are written with Update, conditional on the resourceVersion
// read, so that a decision made on a stale cache fails with a conflict rather
// than overshooting; a conflict ends the reconcile quietly, since the newer
// object's event brings it back. The decisions themselves (which ReplicaSet is
// new, how far to scale each, what to clean up, the next status) are pure
// functions in scaling.go, replicasets.go and status.go.
//
// Where it differs from upstream:
//
//   - The legacy rollback request (extensions/v1beta1 spec.rollbackTo and its
//     annotation) is not served; kubectl rollout undo writes the old template
//     back instead, which works as upstream.
//   - Surge counts, for each ReplicaSet, the most of spec.replicas,
//     status.replicas and the pods the informer still holds, and
//     availability at most spec.replicas available pods per ReplicaSet:
//     upstream counts spec and status alone, which for a moment after a
//     scale-down (before the pods are gone, or the status has caught up) can
//     let it run more than maxSurge pods or fewer than maxUnavailable allows.
//   - When a rolling update scales an old ReplicaSet down both for its
//     unavailable pods and for availability, it does so in one write (and one
//     event) rather than two.
//   - Old ReplicaSets are deleted on condition of the resourceVersion judged
//     empty, so one scaled up meanwhile is kept.
//   - The Deployment's revision annotation is written with its status, as
//     upstream's apiserver allows; an apiserver that keeps a status update's
//     metadata out gets it by a patch of the Deployment (which bumps its
//     generation once per revision).
package deployment

import (
	"context"
	"errors"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/tendhq/tend/controllers"
	"github.com/tendhq/tend/informers"
)

// controllerKind is what the ReplicaSets' ownerReferences name.
var controllerKind = appsv1.SchemeGroupVersion.WithKind("Deployment")

// podOwnerIndex indexes pods by the UID of their controller.
const podOwnerIndex = "deployment.kubernetes.io/controller-uid"

type reconciler struct {
	client      kubernetes.Interface
	rec         *controllers.Recorder
	deployments *informers.Informer[*appsv1.Deployment]
	replicaSets *informers.Informer[*appsv1.ReplicaSet]
	pods        *informers.Informer[*corev1.Pod]
	// podsIndexed says podOwnerIndex could be added (the pod informer had not
	// started); otherwise pods are found by scanning their namespace.
	podsIndexed bool
	now         func() time.Time
}

// New returns the Deployment controller. Requests name Deployments. It reads
// Deployments, ReplicaSets and pods from f's informers; rec, when not nil,
// receives its events.
func New(f *informers.Factory, client kubernetes.Interface, rec *controllers.Recorder, opts controllers.Options) *controllers.Controller {
	r := &reconciler{
		client:      client,
		rec:         rec,
		deployments: informers.For[*appsv1.Deployment](f),
		replicaSets: informers.For[*appsv1.ReplicaSet](f),
		pods:        informers.For[*corev1.Pod](f),
		now:         time.Now,
	}
	r.podsIndexed = r.pods.AddIndex(podOwnerIndex, func(p *corev1.Pod) []string {
		if ref := metav1.GetControllerOf(p); ref != nil {
			return []string{string(ref.UID)}
		}
		return nil
	}) == nil
	c := controllers.New("deployment", r, opts)
	controllers.Watch(c, r.deployments)
	controllers.WatchMap(c, r.replicaSets, r.deploymentsOf)
	// A Recreate rollout waits for the old pods to be gone, and the surge
	// bound counts pods the informer still holds: look again when one goes.
	r.pods.AddHandler(informers.Handler[*corev1.Pod]{OnDelete: func(p *corev1.Pod) {
		if req, ok := r.deploymentOfPod(p); ok {
			c.Enqueue(req)
		}
	}})
	return c
}

// deploymentsOf returns the Deployment controlling rs or, for an orphan, those
// whose selectors match it and that may adopt it.
func (r *reconciler) deploymentsOf(rs *appsv1.ReplicaSet) []controllers.Request {
	if ref := metav1.GetControllerOf(rs); ref != nil {
		if isKind(ref, controllerKind.GroupKind()) {
			return []controllers.Request{{Namespace: rs.Namespace, Name: ref.Name}}
		}
		return nil
	}
	var out []controllers.Request
	for _, d := range r.deployments.ListNamespace(rs.Namespace) {
		sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
		if err != nil || sel.Empty() || !sel.Matches(labels.Set(rs.Labels)) {
			continue
		}
		out = append(out, controllers.Request{Namespace: d.Namespace, Name: d.Name})
	}
	return out
}

// deploymentOfPod returns the Deployment controlling the ReplicaSet
// controlling p.
func (r *reconciler) deploymentOfPod(p *corev1.Pod) (controllers.Request, bool) {
	ref := metav1.GetControllerOf(p)
	if ref == nil || !isKind(ref, appsv1.SchemeGroupVersion.WithKind("ReplicaSet").GroupKind()) {
		return controllers.Request{}, false
	}
	rs, ok := r.replicaSets.Get(p.Namespace, ref.Name)
	if !ok || rs.UID != ref.UID {
		return controllers.Request{}, false
	}
	ref = metav1.GetControllerOf(rs)
	if ref == nil || !isKind(ref, controllerKind.GroupKind()) {
		return controllers.Request{}, false
	}
	return controllers.Request{Namespace: rs.Namespace, Name: ref.Name}, true
}

func isKind(ref *metav1.OwnerReference, gk schema.GroupKind) bool {
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	return err == nil && gv.Group == gk.Group && ref.Kind == gk.Kind
}

// state is what one reconcile knows of a Deployment: read from the informers
// when it starts, then updated with the results of its own writes, so that a
// second write does not conflict with the first.
type state struct {
	// d is a copy of the Deployment.
	d *appsv1.Deployment
	// rsList is the ReplicaSets it owns. They are the informer's, shared:
	// copy one before changing it.
	rsList []*appsv1.ReplicaSet
	// podMap is the pods of each ReplicaSet of rsList, by its UID.
	podMap map[types.UID][]*corev1.Pod
}

// replace puts rs, as a write returned it, in place of the ReplicaSet of the
// same UID.
func (s *state) replace(rs *appsv1.ReplicaSet) {
	for i := range s.rsList {
		if s.rsList[i].UID == rs.UID {
			s.rsList[i] = rs
			return
		}
	}
	s.rsList = append(s.rsList, rs)
}

func (r *reconciler) Reconcile(ctx context.Context, req controllers.Request) (controllers.Result, error) {
	cached, ok := r.deployments.Get(req.Namespace, req.Name)
	if !ok {
		return controllers.Result{}, nil
	}
	res, err := r.syncDeployment(ctx, cached.DeepCopy())
	switch {
	case apierrors.IsConflict(err):
		// Written from a stale cache: the newer object's event reconciles again.
		return controllers.Result{}, nil
	case apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause):
		// Nothing can be created in a namespace being deleted.
		return controllers.Result{}, nil
	}
	return res, err
}

// syncDeployment is upstream's syncDeployment: it decides between status only
// (being deleted), scaling (paused, or spec.replicas changed) and rolling out.
func (r *reconciler) syncDeployment(ctx context.Context, d *appsv1.Deployment) (controllers.Result, error) {
	if d.Spec.Selector == nil || len(d.Spec.Selector.MatchLabels)+len(d.Spec.Selector.MatchExpressions) == 0 {
		r.eventf(d, corev1.EventTypeWarning, "SelectingAll", "This deployment is selecting all pods. A non-empty selector is required.")
		if d.Status.ObservedGeneration < d.Generation {
			d.Status.ObservedGeneration = d.Generation
			return controllers.Result{}, r.updateStatus(ctx, d)
		}
		return controllers.Result{}, nil
	}
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return controllers.Result{}, controllers.Terminal(fmt.Errorf("invalid label selector: %w", err))
	}
	rsList, err := r.claimReplicaSets(ctx, d, sel)
	if err != nil {
		return controllers.Result{}, err
	}
	s := &state{d: d, rsList: rsList, podMap: r.podMap(d.Namespace, sel, rsList)}

	if d.DeletionTimestamp != nil {
		return controllers.Result{}, r.syncStatusOnly(ctx, s)
	}
	if pausedCondition(d, r.now()) {
		if err := r.updateStatus(ctx, d); err != nil {
			return controllers.Result{}, err
		}
	}
	if d.Spec.Paused {
		return controllers.Result{}, r.sync(ctx, s)
	}
	scaling, err := r.isScalingEvent(ctx, s)
	if err != nil {
		return controllers.Result{}, err
	}
	if scaling {
		return controllers.Result{}, r.sync(ctx, s)
	}
	switch d.Spec.Strategy.Type {
	case appsv1.RecreateDeploymentStrategyType:
		return r.rolloutRecreate(ctx, s)
	case appsv1.RollingUpdateDeploymentStrategyType:
		return r.rolloutRolling(ctx, s)
	}
	return controllers.Result{}, controllers.Terminal(fmt.Errorf("unexpected deployment strategy type: %s", d.Spec.Strategy.Type))
}

// claimReplicaSets returns the ReplicaSets d owns, after adopting the orphans
// its selector matches and releasing the owned ones it no longer matches.
func (r *reconciler) claimReplicaSets(ctx context.Context, d *appsv1.Deployment, sel labels.Selector) ([]*appsv1.ReplicaSet, error) {
	owner := controllers.Owner{
		Object:   d,
		Kind:     controllerKind,
		Selector: sel,
		// Adopt only for a Deployment that is not being deleted by now.
		Recheck: func(ctx context.Context) (metav1.Object, error) {
			return r.client.AppsV1().Deployments(d.Namespace).Get(ctx, d.Name, metav1.GetOptions{})
		},
	}
	return controllers.Claim(ctx, owner, r.replicaSets.ListNamespace(d.Namespace),
		controllers.StrategicPatch[*appsv1.ReplicaSet](r.client.AppsV1().ReplicaSets))
}

// podMap groups the pods of the namespace that sel matches by which
// ReplicaSet of rsList controls them; pods being deleted and finished ones
// included.
func (r *reconciler) podMap(namespace string, sel labels.Selector, rsList []*appsv1.ReplicaSet) map[types.UID][]*corev1.Pod {
	m := make(map[types.UID][]*corev1.Pod, len(rsList))
	for _, rs := range rsList {
		m[rs.UID] = nil
	}
	add := func(p *corev1.Pod) {
		ref := metav1.GetControllerOf(p)
		if ref == nil || p.Namespace != namespace || !sel.Matches(labels.Set(p.Labels)) {
			return
		}
		if pods, ok := m[ref.UID]; ok {
			m[ref.UID] = append(pods, p)
		}
	}
	if r.podsIndexed {
		for _, rs := range rsList {
			pods, _ := r.pods.ByIndex(podOwnerIndex, string(rs.UID))
			for _, p := range pods {
				add(p)
			}
		}
		return m
	}
	for _, p := range r.pods.ListNamespace(namespace) {
		add(p)
	}
	return m
}

// updateStatus writes d's status (and its revision annotation, which the
// apiserver takes from a status update too, as upstream's does), then makes d
// the result.
func (r *reconciler) updateStatus(ctx context.Context, d *appsv1.Deployment) error {
	updated, err := r.client.AppsV1().Deployments(d.Namespace).UpdateStatus(ctx, d, metav1.UpdateOptions{})
	if err != nil {
		return err
	}
	*d = *updated
	return nil
}

func (r *reconciler) eventf(obj *appsv1.Deployment, eventType, reason, format string, args ...any) {
	if r.rec != nil {
		r.rec.Eventf(obj, eventType, reason, format, args...)
	}
}

// errNoNewReplicaSet reports a rollout that could not get its new ReplicaSet.
var errNoNewReplicaSet = errors.New("no new ReplicaSet")
