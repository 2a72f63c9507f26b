package controllers

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tendhq/tend/informers"
)

// Watch enqueues the object of every event of inf: for a controller of that
// kind.
func Watch[T informers.Object](c *Controller, inf *informers.Informer[T]) *informers.Registration[T] {
	return WatchMap(c, inf, func(obj T) []Request {
		return []Request{{Namespace: obj.GetNamespace(), Name: obj.GetName()}}
	})
}

// WatchOwner enqueues the controller of every event's object (its
// ownerReference with controller: true) when that controller is of kind owner:
// for a controller of owners that manages the objects of inf (a ReplicaSet
// controller watching pods). An update that moves an object to another
// controller enqueues both.
func WatchOwner[T informers.Object](c *Controller, inf *informers.Informer[T], owner schema.GroupKind) *informers.Registration[T] {
	return WatchMap(c, inf, func(obj T) []Request {
		ref := metav1.GetControllerOf(obj)
		if ref == nil {
			return nil
		}
		gv, err := schema.ParseGroupVersion(ref.APIVersion)
		if err != nil || gv.Group != owner.Group || ref.Kind != owner.Kind {
			return nil
		}
		return []Request{{Namespace: obj.GetNamespace(), Name: ref.Name}}
	})
}

// WatchMap enqueues what fn returns for every event's object; for an update,
// for the old and the new state both.
func WatchMap[T informers.Object](c *Controller, inf *informers.Informer[T], fn func(obj T) []Request) *informers.Registration[T] {
	enqueue := func(obj T) {
		for _, r := range fn(obj) {
			c.Enqueue(r)
		}
	}
	return inf.AddHandler(informers.Handler[T]{
		OnAdd: func(obj T, _ bool) { enqueue(obj) },
		OnUpdate: func(old, obj T) {
			enqueue(old)
			enqueue(obj)
		},
		OnDelete: enqueue,
	})
}
