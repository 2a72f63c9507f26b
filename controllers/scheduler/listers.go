package scheduler

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tendhq/tend/informers"
)

// listers are the informers the framework's plugins read through the core:
// namespaces (for namespaceSelectors in pod affinity terms) and the workloads
// whose selectors define a pod's default topology spreading.
type listers struct {
	namespaces   *informers.Informer[*corev1.Namespace]
	services     *informers.Informer[*corev1.Service]
	rcs          *informers.Informer[*corev1.ReplicationController]
	replicaSets  *informers.Informer[*appsv1.ReplicaSet]
	statefulSets *informers.Informer[*appsv1.StatefulSet]
}

func newListers(f *informers.Factory) *listers {
	return &listers{
		namespaces:   informers.For[*corev1.Namespace](f),
		services:     informers.For[*corev1.Service](f),
		rcs:          informers.For[*corev1.ReplicationController](f),
		replicaSets:  informers.For[*appsv1.ReplicaSet](f),
		statefulSets: informers.For[*appsv1.StatefulSet](f),
	}
}

func (l *listers) syncs() []interface{ HasSynced() bool } {
	return []interface{ HasSynced() bool }{l.namespaces, l.services, l.rcs, l.replicaSets, l.statefulSets}
}

// namespaceLabels returns a namespace's labels (nil when unknown).
func (l *listers) namespaceLabels(ns string) map[string]string {
	if n, ok := l.namespaces.Get("", ns); ok {
		return n.Labels
	}
	return nil
}

var (
	rcKind = corev1.SchemeGroupVersion.WithKind("ReplicationController")
	rsKind = appsv1.SchemeGroupVersion.WithKind("ReplicaSet")
	ssKind = appsv1.SchemeGroupVersion.WithKind("StatefulSet")
)

// spreadSelector is upstream's helper.DefaultSelector: the union of the
// selectors of the Services selecting the pod and of its controller, when
// that is a ReplicationController, ReplicaSet or StatefulSet. An empty
// selector means the pod gets no default spreading.
func (l *listers) spreadSelector(pod *corev1.Pod) labels.Selector {
	set := labels.Set{}
	for _, svc := range l.services.ListNamespace(pod.Namespace) {
		// A Service with no selector selects no pod (its endpoints are
		// managed by hand).
		if svc.Spec.Selector == nil {
			continue
		}
		if labels.SelectorFromValidatedSet(svc.Spec.Selector).Matches(labels.Set(pod.Labels)) {
			set = labels.Merge(set, svc.Spec.Selector)
		}
	}
	selector := set.AsSelector()
	owner := metav1.GetControllerOfNoCopy(pod)
	if owner == nil {
		return selector
	}
	gv, err := schema.ParseGroupVersion(owner.APIVersion)
	if err != nil {
		return selector
	}
	var ls *metav1.LabelSelector
	switch gv.WithKind(owner.Kind) {
	case rcKind:
		if rc, ok := l.rcs.Get(pod.Namespace, owner.Name); ok {
			return labels.Merge(set, rc.Spec.Selector).AsSelector()
		}
	case rsKind:
		if rs, ok := l.replicaSets.Get(pod.Namespace, owner.Name); ok {
			ls = rs.Spec.Selector
		}
	case ssKind:
		if ss, ok := l.statefulSets.Get(pod.Namespace, owner.Name); ok {
			ls = ss.Spec.Selector
		}
	}
	if ls != nil {
		if other, err := metav1.LabelSelectorAsSelector(ls); err == nil {
			if reqs, ok := other.Requirements(); ok {
				selector = selector.Add(reqs...)
			}
		}
	}
	return selector
}
