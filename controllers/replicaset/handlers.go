package replicaset

import (
	"maps"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tendhq/tend/controllers"
	"github.com/tendhq/tend/informers"
)

// ByControllerIndex is the index New adds to the pod, ReplicaSet and
// ReplicationController informers: objects by the UID of their controller
// (the ownerReference with controller: true), and objects without one by
// OrphanIndexValue of their namespace. Other controllers may read it.
const ByControllerIndex = "replicaset.tend/by-controller"

// OrphanIndexValue is the ByControllerIndex value of the objects of namespace
// that have no controller. (The UIDs the apiserver makes hold no slash.)
func OrphanIndexValue(namespace string) string { return "orphan/" + namespace }

func byController[T informers.Object](obj T) []string {
	for _, ref := range obj.GetOwnerReferences() {
		if ref.Controller != nil && *ref.Controller {
			return []string{string(ref.UID)}
		}
	}
	return []string{OrphanIndexValue(obj.GetNamespace())}
}

// ensureIndex adds ByControllerIndex to inf unless it has it, and reports
// whether inf has it: it does not when inf started before.
func ensureIndex[T informers.Object](inf *informers.Informer[T]) bool {
	if _, err := inf.ByIndex(ByControllerIndex, ""); err == nil {
		return true
	}
	_ = inf.AddIndex(ByControllerIndex, byController[T])
	// Another controller may have added it meanwhile: ask again.
	_, err := inf.ByIndex(ByControllerIndex, "")
	return err == nil
}

func (r *reconciler[T]) enqueueSet(obj T) {
	r.enqueue(controllers.Request{Namespace: obj.GetNamespace(), Name: obj.GetName()})
}

func (r *reconciler[T]) setUpdated(old, cur T) {
	if old.GetUID() != cur.GetUID() {
		// Deleted and created again between two looks: the new set starts clean.
		r.forget(old)
	}
	r.enqueueSet(cur)
}

func (r *reconciler[T]) setDeleted(obj T) {
	r.forget(obj)
	r.enqueueSet(obj)
}

// forget drops what the controller remembered of a set that is gone.
func (r *reconciler[T]) forget(obj T) {
	r.exp.Forget(informers.KeyOf(obj))
}

// resolve returns the set of this controller's kind that ref names, if it is
// in the cache with ref's UID.
func (r *reconciler[T]) resolve(namespace string, ref *metav1.OwnerReference) (controllers.Request, bool) {
	if ref.Kind != r.kind.gvk.Kind {
		return controllers.Request{}, false
	}
	if gv, err := schema.ParseGroupVersion(ref.APIVersion); err != nil || gv.Group != r.kind.gvk.Group {
		return controllers.Request{}, false
	}
	obj, ok := r.sets.Get(namespace, ref.Name)
	if !ok || obj.GetUID() != ref.UID {
		return controllers.Request{}, false
	}
	return controllers.Request{Namespace: namespace, Name: ref.Name}, true
}

// enqueueMatching enqueues every set of the pod's namespace whose selector
// matches it: an orphan some set may adopt.
func (r *reconciler[T]) enqueueMatching(pod *corev1.Pod) {
	for _, obj := range r.sets.ListNamespace(pod.Namespace) {
		s, err := r.kind.read(obj)
		if err == nil && s.selector.Matches(labels.Set(pod.Labels)) {
			r.enqueueSet(obj)
		}
	}
}

// podAdded observes a creation for the pod's controller and wakes it, or
// wakes the sets that may adopt an orphan.
func (r *reconciler[T]) podAdded(pod *corev1.Pod) {
	if pod.DeletionTimestamp != nil {
		// Seen first already being deleted (a restart): not a creation to count.
		r.podDeleted(pod)
		return
	}
	if ref := metav1.GetControllerOf(pod); ref != nil {
		if req, ok := r.resolve(pod.Namespace, ref); ok {
			r.exp.CreationObserved(req.String())
			r.enqueue(req)
		}
		return
	}
	r.enqueueMatching(pod)
}

// podUpdated wakes the sets a pod's change matters to. A pod that starts
// terminating counts as deleted at once, so that its replacement is created
// without waiting for the end of its grace period.
func (r *reconciler[T]) podUpdated(old, cur *corev1.Pod) {
	if old.ResourceVersion == cur.ResourceVersion {
		return
	}
	labelsChanged := !maps.Equal(old.Labels, cur.Labels)
	if cur.DeletionTimestamp != nil {
		r.podDeleted(cur)
		if labelsChanged {
			r.podDeleted(old)
		}
		return
	}
	curRef, oldRef := metav1.GetControllerOf(cur), metav1.GetControllerOf(old)
	refChanged := !sameRef(curRef, oldRef)
	if refChanged && oldRef != nil {
		if req, ok := r.resolve(old.Namespace, oldRef); ok {
			r.enqueue(req)
		}
	}
	if curRef != nil {
		if req, ok := r.resolve(cur.Namespace, curRef); ok {
			r.enqueue(req)
		}
		return
	}
	if labelsChanged || refChanged {
		r.enqueueMatching(cur)
	}
}

// podDeleted observes a deletion for the pod's controller and wakes it.
func (r *reconciler[T]) podDeleted(pod *corev1.Pod) {
	ref := metav1.GetControllerOf(pod)
	if ref == nil {
		return
	}
	if req, ok := r.resolve(pod.Namespace, ref); ok {
		r.exp.DeletionObserved(req.String(), string(pod.UID))
		r.enqueue(req)
	}
}

func sameRef(a, b *metav1.OwnerReference) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.UID == b.UID && a.Name == b.Name && a.Kind == b.Kind && a.APIVersion == b.APIVersion
}
