// Package namespace finishes the deletion of namespaces, as upstream's
// namespace controller: a namespace being deleted (it has a deletionTimestamp
// and is Terminating) has everything in it deleted, and once nothing remains
// the controller removes its "kubernetes" finalizer through
// namespaces/{name}/finalize, after which the apiserver deletes it.
//
// Each pass deletes the content of every namespaced resource (a
// deletecollection, or a list and a delete per object where deletecollection
// is not served), then lists what remains. What remains is reported on the
// namespace's status conditions (NamespaceContentRemaining,
// NamespaceFinalizersRemaining, NamespaceDeletionContentFailure, as upstream)
// and waited for: pods within their termination grace period (their kubelet
// ends them), objects with finalizers (someone else removes them). The
// namespace is looked at again after half the estimated wait, or as soon as a
// pod in it goes; on errors, with the work queue's back-off.
package namespace

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"

	"github.com/tendhq/tend/controllers"
	"github.com/tendhq/tend/informers"
	"github.com/tendhq/tend/schemas"
)

// Name is the controller's name, in logs and metrics.
const Name = "namespace"

type reconciler struct {
	client     kubernetes.Interface
	md         metadata.Interface
	resources  []*schemas.Kind
	namespaces *informers.Informer[*corev1.Namespace]
	rec        *controllers.Recorder
	logf       func(format string, args ...any)
	now        func() time.Time
}

var podsResource = schema.GroupResource{Resource: "pods"}

// New returns the namespace controller. It deletes, in namespaces being
// deleted, the objects of every namespaced kind of kinds that can be deleted
// (schemas.Builtin().Kinds(), say), through md; client reads and finalizes the
// namespaces; rec, which may be nil, records Warning events on the namespaces
// whose content could not be deleted. Requests name namespaces.
func New(f *informers.Factory, client kubernetes.Interface, md metadata.Interface, kinds []*schemas.Kind, rec *controllers.Recorder, opts controllers.Options) *controllers.Controller {
	r := &reconciler{
		client:     client,
		md:         md,
		resources:  deletableKinds(kinds),
		namespaces: informers.For[*corev1.Namespace](f),
		rec:        rec,
		logf:       opts.Logf,
		now:        time.Now,
	}
	c := controllers.New(Name, r, opts)
	controllers.WatchMap(c, r.namespaces, func(ns *corev1.Namespace) []controllers.Request {
		if ns.DeletionTimestamp == nil {
			return nil
		}
		return []controllers.Request{{Name: ns.Name}}
	})
	for _, k := range r.resources {
		if k.GroupResource() != podsResource {
			continue
		}
		// A pod that goes may be the last content a namespace waits for: look
		// again at once rather than after the grace period's estimate.
		pods := informers.Metadata(f, k.GroupVersionResource, true)
		pods.AddHandler(informers.Handler[*metav1.PartialObjectMetadata]{
			OnDelete: func(p *metav1.PartialObjectMetadata) {
				if ns, ok := r.namespaces.Get("", p.Namespace); ok && ns.DeletionTimestamp != nil {
					c.Enqueue(controllers.Request{Name: p.Namespace})
				}
			},
		})
	}
	return c
}

// deletableKinds returns the namespaced kinds that can be deleted, one served
// version per stored resource (the preferred one; of several preferred, the
// storage version), so that nothing is deleted twice.
func deletableKinds(kinds []*schemas.Kind) []*schemas.Kind {
	var out []*schemas.Kind
	for _, k := range schemas.OnePerResource(kinds) {
		if k.Namespaced && slices.Contains(k.Verbs(), "delete") {
			out = append(out, k)
		}
	}
	return out
}

// Reconcile moves the deletion of one namespace along, as upstream's
// namespacedResourcesDeleter.Delete.
func (r *reconciler) Reconcile(ctx context.Context, req controllers.Request) (controllers.Result, error) {
	if cached, ok := r.namespaces.Get("", req.Name); !ok || cached.DeletionTimestamp == nil {
		return controllers.Result{}, nil
	}
	// Several controllers edit a namespace being deleted: work on its latest
	// state.
	ns, err := r.client.CoreV1().Namespaces().Get(ctx, req.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return controllers.Result{}, nil
	}
	if err != nil {
		return controllers.Result{}, fmt.Errorf("reading namespace %s: %w", req.Name, err)
	}
	if ns.DeletionTimestamp == nil {
		return controllers.Result{}, nil
	}
	ns, err = r.retryOnConflict(ctx, ns, r.markTerminating)
	if apierrors.IsNotFound(err) {
		return controllers.Result{}, nil
	}
	if err != nil {
		return controllers.Result{}, fmt.Errorf("marking namespace %s Terminating: %w", req.Name, err)
	}
	if !slices.Contains(ns.Spec.Finalizers, corev1.FinalizerKubernetes) {
		// Finalized already; other finalizers hold it.
		return controllers.Result{}, nil
	}
	ns, estimate, err := r.deleteAllContent(ctx, ns)
	if err != nil {
		r.warn(ns, "NamespaceDeletionContentFailure", "Failed to delete all content: %v", err)
		return controllers.Result{}, fmt.Errorf("deleting the content of namespace %s: %w", req.Name, err)
	}
	if estimate > 0 {
		// Upstream's wait: half the estimate, and a second.
		return controllers.Result{RequeueAfter: time.Duration(estimate/2+1) * time.Second}, nil
	}
	_, err = r.retryOnConflict(ctx, ns, r.finalize)
	if err != nil && !apierrors.IsNotFound(err) {
		r.warn(ns, "NamespaceFinalizeFailed", "Failed to remove the %s finalizer: %v", corev1.FinalizerKubernetes, err)
		return controllers.Result{}, fmt.Errorf("finalizing namespace %s: %w", req.Name, err)
	}
	return controllers.Result{}, nil
}

// retryOnConflict applies fn to ns, and on a conflict to its state read again,
// as long as it is the same namespace (same UID).
func (r *reconciler) retryOnConflict(ctx context.Context, ns *corev1.Namespace, fn func(context.Context, *corev1.Namespace) (*corev1.Namespace, error)) (*corev1.Namespace, error) {
	for {
		out, err := fn(ctx, ns)
		if !apierrors.IsConflict(err) {
			return out, err
		}
		latest, err := r.client.CoreV1().Namespaces().Get(ctx, ns.Name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		if latest.UID != ns.UID {
			return nil, fmt.Errorf("namespace %s was deleted and created again (uid %s, now %s)", ns.Name, ns.UID, latest.UID)
		}
		ns = latest
	}
}

// markTerminating makes the namespace's phase Terminating; the apiserver
// does when it sets the deletionTimestamp, but an old writer may not have.
func (r *reconciler) markTerminating(ctx context.Context, ns *corev1.Namespace) (*corev1.Namespace, error) {
	if ns.Status.Phase == corev1.NamespaceTerminating {
		return ns, nil
	}
	next := ns.DeepCopy()
	next.Status.Phase = corev1.NamespaceTerminating
	return r.client.CoreV1().Namespaces().UpdateStatus(ctx, next, metav1.UpdateOptions{})
}

// finalize removes the "kubernetes" finalizer from the namespace's spec.
func (r *reconciler) finalize(ctx context.Context, ns *corev1.Namespace) (*corev1.Namespace, error) {
	next := ns.DeepCopy()
	next.Spec.Finalizers = slices.DeleteFunc(next.Spec.Finalizers, func(f corev1.FinalizerName) bool {
		return f == corev1.FinalizerKubernetes
	})
	return r.client.CoreV1().Namespaces().Finalize(ctx, next, metav1.UpdateOptions{})
}

func (r *reconciler) warn(ns *corev1.Namespace, reason, format string, args ...any) {
	if r.rec != nil && ns != nil {
		r.rec.Eventf(ns, corev1.EventTypeWarning, reason, format, args...)
	}
}

func (r *reconciler) log(format string, args ...any) {
	if r.logf != nil {
		r.logf(format, args...)
	}
}

// errUnexpectedContent is the cause of an error for objects that remain after
// their deletion, with neither a grace period nor a finalizer to explain it.
var errUnexpectedContent = errors.New("unexpected items still remain")
