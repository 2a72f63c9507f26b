package apiserver

import (
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tendhq/tend/apiserver/storage"
)

// admitCreate applies the admission rules tend enforces on create:
// NamespaceLifecycle (the namespace must exist and not be terminating) and the
// service account defaulting of pods.
func (rq *request) admitCreate(obj runtime.Object) error {
	if rq.kind.Namespaced {
		if err := rq.namespaceOpen(rq.namespace, mustMeta(obj).GetName()); err != nil {
			return err
		}
	}
	if pod, ok := obj.(*corev1.Pod); ok {
		if pod.Spec.ServiceAccountName == "" {
			pod.Spec.ServiceAccountName = "default"
		}
		pod.Spec.DeprecatedServiceAccount = pod.Spec.ServiceAccountName
	}
	return nil
}

// admitUpdate applies the admission rules tend enforces on update.
func (rq *request) admitUpdate(obj, old runtime.Object) error { return nil }

var namespacesGR = schema.GroupResource{Resource: "namespaces"}

// namespaceOpen checks that new content may be created in namespace ns.
func (rq *request) namespaceOpen(ns, name string) error {
	cache := rq.s.caches[namespacesGR]
	o, err := cache.Get(rq.ctx(), ns, storage.ReadOptions{RV: "0"})
	if storage.IsNotFound(err) {
		// The cache may lag a namespace created a moment ago: ask again, consistently.
		o, err = cache.Get(rq.ctx(), ns, storage.ReadOptions{})
	}
	if storage.IsNotFound(err) {
		return apierrors.NewNotFound(namespacesGR, ns)
	}
	if err != nil {
		return toAPIError(err, namespacesGR, ns)
	}
	// A namespace being deleted is always Terminating (see beginDelete), and its
	// phase is a field the cache already holds: no need to decode it.
	if o.Fields["status.phase"] == string(corev1.NamespaceTerminating) {
		return apierrors.NewForbidden(rq.gr(), name, errors.New(
			fmt.Sprintf("unable to create new content in namespace %s because it is being terminated", ns)))
	}
	return nil
}
