package garbagecollector

import (
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tendhq/tend/controllers"
	"github.com/tendhq/tend/informers"
	"github.com/tendhq/tend/schemas"
)

// ignoredResources are not watched, as upstream: events are many and
// short-lived, and own nothing.
var ignoredResources = []schema.GroupResource{
	{Group: "", Resource: "events"},
	{Group: "events.k8s.io", Resource: "events"},
}

// watchedKinds returns the kinds the collector watches: for each stored
// resource that can be listed, watched and deleted, one served version (the
// preferred one; of several preferred, the storage version), so that no object
// is seen twice.
func watchedKinds(kinds []*schemas.Kind) []*schemas.Kind {
	var out []*schemas.Kind
	for _, k := range schemas.OnePerResource(kinds) {
		if hasVerbs(k, "list", "watch", "delete") && !slices.Contains(ignoredResources, k.Storage.GroupResource) {
			out = append(out, k)
		}
	}
	return out
}

func hasVerbs(k *schemas.Kind, verbs ...string) bool {
	served := k.Verbs()
	for _, v := range verbs {
		if !slices.Contains(served, v) {
			return false
		}
	}
	return true
}

// watch feeds the graph from a metadata informer of kind k. Handlers of one
// kind run one at a time, in the informer's order; the graph's lock orders the
// kinds among themselves.
func (gc *GC) watch(f *informers.Factory, k *schemas.Kind) *informers.Registration[*metav1.PartialObjectMetadata] {
	apiVersion, kind := k.GroupVersion().String(), k.Kind
	id := func(o *metav1.PartialObjectMetadata) objectReference {
		return objectReference{APIVersion: apiVersion, Kind: kind, Namespace: o.Namespace, Name: o.Name, UID: o.UID}
	}
	inf := informers.Metadata(f, k.GroupVersionResource, k.Namespaced)
	return inf.AddHandler(informers.Handler[*metav1.PartialObjectMetadata]{
		OnAdd:    func(o *metav1.PartialObjectMetadata, _ bool) { gc.apply(gc.graph.observe(id(o), o)) },
		OnUpdate: func(_, o *metav1.PartialObjectMetadata) { gc.apply(gc.graph.observe(id(o), o)) },
		OnDelete: func(o *metav1.PartialObjectMetadata) { gc.apply(gc.graph.observeDeleted(o.UID)) },
	})
}

// apply does what a change of the graph asks: it enqueues the objects to look
// at and reports references that can never be satisfied. It runs without the
// graph's lock.
func (gc *GC) apply(fx effects) {
	for _, uid := range fx.enqueue {
		gc.ctrl.Enqueue(controllers.Request{Name: string(uid)})
	}
	for _, inv := range fx.invalid {
		gc.warn(inv.dependent, "OwnerRefInvalidNamespace", "ownerRef [%s/%s, namespace: %s, name: %s, uid: %s] does not exist in namespace %q",
			inv.owner.APIVersion, inv.owner.Kind, inv.dependent.Namespace, inv.owner.Name, inv.owner.UID, inv.dependent.Namespace)
	}
}
