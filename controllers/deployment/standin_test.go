package deployment

import (
	"context"
	"sort"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"

	"github.com/tendhq/tend/controllers"
	"github.com/tendhq/tend/informers"
)

// replicaSetStandIn is a minimal ReplicaSet controller for these tests, used
// while controllers/replicaset races under -race (it sends one pod object to
// concurrent Creates, and encoding writes its TypeMeta). It keeps
// spec.replicas pods, creating one at a time and deleting unready and newer
// pods first, never twice for one lagging watch (expectations), and writes
// status as upstream's does: from the pods seen before it acted.
type replicaSetStandIn struct {
	client kubernetes.Interface
	sets   *informers.Informer[*appsv1.ReplicaSet]
	pods   *informers.Informer[*corev1.Pod]
	exp    *controllers.Expectations
}

var replicaSetKind = appsv1.SchemeGroupVersion.WithKind("ReplicaSet")

func newReplicaSetStandIn(f *informers.Factory, client kubernetes.Interface, opts controllers.Options) *controllers.Controller {
	r := &replicaSetStandIn{client: client, sets: informers.For[*appsv1.ReplicaSet](f),
		pods: informers.For[*corev1.Pod](f), exp: controllers.NewExpectations()}
	c := controllers.New("replicaset-stand-in", r, opts)
	controllers.Watch(c, r.sets)
	owner := func(p *corev1.Pod) (controllers.Request, bool) {
		ref := metav1.GetControllerOf(p)
		if ref == nil || ref.Kind != "ReplicaSet" {
			return controllers.Request{}, false
		}
		return controllers.Request{Namespace: p.Namespace, Name: ref.Name}, true
	}
	r.pods.AddHandler(informers.Handler[*corev1.Pod]{
		OnAdd: func(p *corev1.Pod, _ bool) {
			if req, ok := owner(p); ok {
				r.exp.CreationObserved(req.String())
				c.Enqueue(req)
			}
		},
		OnUpdate: func(_, p *corev1.Pod) {
			if req, ok := owner(p); ok {
				c.Enqueue(req)
			}
		},
		OnDelete: func(p *corev1.Pod) {
			if req, ok := owner(p); ok {
				r.exp.DeletionObserved(req.String(), string(p.UID))
				c.Enqueue(req)
			}
		},
	})
	return c
}

func (r *replicaSetStandIn) Reconcile(ctx context.Context, req controllers.Request) (controllers.Result, error) {
	key := req.String()
	rs, ok := r.sets.Get(req.Namespace, req.Name)
	if !ok {
		r.exp.Forget(key)
		return controllers.Result{}, nil
	}
	var active []*corev1.Pod
	for _, p := range r.pods.ListNamespace(rs.Namespace) {
		if ref := metav1.GetControllerOf(p); ref != nil && ref.UID == rs.UID && p.DeletionTimestamp == nil &&
			p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			active = append(active, p)
		}
	}
	now := time.Now()
	status, requeue := standInStatus(rs, active, now)

	if r.exp.Satisfied(key) && rs.DeletionTimestamp == nil {
		if err := r.manage(ctx, key, rs, active); err != nil {
			return controllers.Result{}, err
		}
	}
	if !apiequality.Semantic.DeepEqual(status, rs.Status) {
		next := rs.DeepCopy()
		next.Status = status
		_, err := r.client.AppsV1().ReplicaSets(rs.Namespace).UpdateStatus(ctx, next, metav1.UpdateOptions{})
		if err != nil && !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
			return controllers.Result{}, err
		}
	}
	return controllers.Result{RequeueAfter: requeue}, nil
}

func (r *replicaSetStandIn) manage(ctx context.Context, key string, rs *appsv1.ReplicaSet, active []*corev1.Pod) error {
	pods := r.client.CoreV1().Pods(rs.Namespace)
	diff := len(active) - int(replicasOf(rs.Spec.Replicas))
	switch {
	case diff < 0:
		r.exp.ExpectCreations(key, -diff)
		for i := 0; i < -diff; i++ {
			tmpl := rs.Spec.Template.DeepCopy()
			pod := &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{GenerateName: rs.Name + "-", Labels: tmpl.Labels, Annotations: tmpl.Annotations,
					OwnerReferences: []metav1.OwnerReference{controllers.ControllerRef(rs, replicaSetKind)}},
				Spec: tmpl.Spec,
			}
			if _, err := pods.Create(ctx, pod, metav1.CreateOptions{}); err != nil {
				for ; i < -diff; i++ {
					r.exp.CreationObserved(key)
				}
				return err
			}
		}
	case diff > 0:
		sort.Slice(active, func(i, j int) bool {
			if ri, rj := podReady(active[i]), podReady(active[j]); ri != rj {
				return !ri
			}
			return active[j].CreationTimestamp.Before(&active[i].CreationTimestamp)
		})
		victims := active[:diff]
		uids := make([]string, len(victims))
		for i, p := range victims {
			uids[i] = string(p.UID)
		}
		r.exp.ExpectDeletions(key, uids)
		for _, p := range victims {
			uid := p.UID
			err := pods.Delete(ctx, p.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
			if err != nil && !apierrors.IsNotFound(err) {
				r.exp.DeletionObserved(key, string(uid))
				return err
			}
		}
	}
	return nil
}

// standInStatus is rs's status over its active pods, and when to look again
// for a ready pod to become available.
func standInStatus(rs *appsv1.ReplicaSet, active []*corev1.Pod, now time.Time) (appsv1.ReplicaSetStatus, time.Duration) {
	st := appsv1.ReplicaSetStatus{Replicas: int32(len(active)), ObservedGeneration: rs.Generation, Conditions: rs.Status.Conditions}
	template := labels.SelectorFromSet(rs.Spec.Template.Labels)
	minReady := time.Duration(rs.Spec.MinReadySeconds) * time.Second
	var requeue time.Duration
	for _, p := range active {
		if template.Matches(labels.Set(p.Labels)) {
			st.FullyLabeledReplicas++
		}
		if !podReady(p) {
			continue
		}
		st.ReadyReplicas++
		var since time.Time
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady {
				since = c.LastTransitionTime.Time
			}
		}
		if wait := since.Add(minReady).Sub(now); minReady == 0 || wait <= 0 {
			st.AvailableReplicas++
		} else if requeue == 0 || wait < requeue {
			requeue = wait
		}
	}
	return st, requeue
}
