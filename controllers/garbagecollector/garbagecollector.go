// Package garbagecollector deletes objects whose owners are gone, as upstream's
// garbage collector: the one controller that acts on ownerReferences of every
// kind.
//
// It keeps a graph of owners and dependents, fed by a metadata-only informer
// of every resource that can be listed, watched and deleted (one served
// version per stored resource; events are left out, as upstream). Graph
// changes enqueue the objects to look at; a worker then decides from live
// reads, never from the graph alone:
//
//   - Background: when an owner goes, each of its dependents whose owners are
//     all gone (or have another UID than the reference says: dangling) is
//     deleted, with propagationPolicy Background, so that a chain of owners
//     collapses link by link. A dependent that keeps a live owner loses only
//     its dangling references.
//   - Foreground: an owner being deleted with the foregroundDeletion finalizer
//     has its dependents deleted first (those with dependents of their own in
//     the foreground too); the finalizer is removed, and the owner deleted by
//     the apiserver, once no dependent with blockOwnerDeletion: true remains.
//   - Orphan: an owner being deleted with the orphan finalizer has its
//     reference removed from every dependent, then the finalizer removed.
//   - An owner named by a dependent but never seen by an informer is a
//     virtual node: a live GET verifies it before anything depends on it.
//
// Guarantees: an object is deleted only after live GETs (consistent reads)
// showed every one of its owners gone, with another UID, or waiting for it;
// the delete carries the object's UID and resourceVersion as preconditions,
// so an object whose owners changed meanwhile is judged again. Like upstream,
// the graph can miss an object created an instant before its owner's
// finalizer is handled (it is then collected afterwards, as a dependent of a
// gone owner).
package garbagecollector

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
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/metadata"

	"github.com/tendhq/tend/controllers"
	"github.com/tendhq/tend/informers"
	"github.com/tendhq/tend/schemas"
)

// Name is the controller's name, in logs and metrics.
const Name = "garbagecollector"

// GC is the garbage collector. Its work queue holds graph nodes by UID: a
// Request's Name is an object's UID, its Namespace empty.
type GC struct {
	graph  *graph
	ops    *operations
	absent *absentCache
	rec    *controllers.Recorder
	ctrl   *controllers.Controller
	synced []interface{ HasSynced() bool }
}

var _ controllers.Reconciler = (*GC)(nil)

// New returns a garbage collector watching, through f, every kind of kinds
// that can be listed, watched and deleted (schemas.Builtin().Kinds(), say). md
// makes its live reads and its writes; rec, which may be nil, records Events
// on the objects it fails to handle. The factory must be started by the
// caller; Run waits until the graph holds the informers' initial state.
func New(f *informers.Factory, md metadata.Interface, kinds []*schemas.Kind, rec *controllers.Recorder, opts controllers.Options) (*GC, error) {
	watched := watchedKinds(kinds)
	if len(watched) == 0 {
		return nil, errors.New("garbagecollector: no kind can be listed, watched and deleted")
	}
	ops := &operations{md: md, kinds: make(map[schema.GroupVersionKind]*schemas.Kind, len(kinds))}
	for _, k := range kinds {
		ops.kinds[k.GroupVersionKind()] = k
	}
	absent := newAbsentCache(absentCacheSize)
	gc := &GC{graph: newGraph(ops.scope, absent), ops: ops, absent: absent, rec: rec}
	gc.ctrl = controllers.New(Name, gc, opts)
	for _, k := range watched {
		gc.synced = append(gc.synced, gc.watch(f, k))
	}
	return gc, nil
}

// HasSynced reports whether the graph holds the initial state of every kind.
func (gc *GC) HasSynced() bool {
	for _, s := range gc.synced {
		if !s.HasSynced() {
			return false
		}
	}
	return true
}

// Run waits for the graph to sync, then collects garbage until ctx ends. It
// acts only on a complete graph: before, a foreground deletion could miss a
// blocking dependent not yet seen.
func (gc *GC) Run(ctx context.Context) error {
	if !informers.WaitForSync(ctx, gc) {
		return ctx.Err()
	}
	return gc.ctrl.Run(ctx)
}

// virtualBackoff is the wait before a virtual node found to exist is checked
// again, doubling up to virtualBackoffMax: until an informer shows it, it
// could go unnoticed (created and deleted while a watch was down).
const (
	virtualBackoff    = 100 * time.Millisecond
	virtualBackoffMax = 5 * time.Minute
)

// Reconcile looks at one node of the graph: an owner being deleted with the
// orphan or foregroundDeletion finalizer has its dependents handled; any other
// object with owners is collected if they are all gone.
func (gc *GC) Reconcile(ctx context.Context, req controllers.Request) (controllers.Result, error) {
	uid := types.UID(req.Name)
	item, ok := gc.graph.node(uid)
	if !ok {
		return controllers.Result{}, nil
	}
	if item.beingDeleted && !item.deletingDependents && !item.orphaning {
		// A one-way trip: its dependents are looked at when it is gone.
		return controllers.Result{}, nil
	}
	latest, err := gc.ops.get(ctx, item.id)
	switch {
	case apierrors.IsNotFound(err) || (err == nil && latest.UID != uid):
		gc.apply(gc.graph.verifiedAbsent(item.id))
		return controllers.Result{}, nil
	case errors.As(err, new(unknownKindError)):
		// A virtual owner of a kind not served: it cannot be verified. Its
		// dependents, looked at, report their reference as invalid.
		for _, dep := range gc.graph.dependentsOf(uid) {
			gc.ctrl.Enqueue(controllers.Request{Name: string(dep.id.UID)})
		}
		return controllers.Result{}, controllers.Terminal(fmt.Errorf("reading %s: %w", item.id, err))
	case err != nil:
		return controllers.Result{}, fmt.Errorf("reading %s: %w", item.id, err)
	}
	if latest.DeletionTimestamp != nil {
		err = gc.finalize(ctx, item, latest)
	} else {
		err = gc.collect(ctx, item, latest)
	}
	if err != nil {
		return controllers.Result{}, err
	}
	if n, virtual := gc.graph.stillVirtual(uid); virtual {
		return controllers.Result{RequeueAfter: min(virtualBackoff<<min(n-1, 20), virtualBackoffMax)}, nil
	}
	return controllers.Result{}, nil
}

// finalize handles an owner being deleted: the orphan finalizer first (its
// dependents are released), then foregroundDeletion (its dependents go first).
func (gc *GC) finalize(ctx context.Context, item nodeView, latest *metav1.PartialObjectMetadata) error {
	if slices.Contains(latest.Finalizers, metav1.FinalizerOrphanDependents) {
		var errs []error
		for _, dep := range gc.graph.dependentsOf(item.id.UID) {
			err := gc.ops.removeOwnerRefs(ctx, dep.id, []types.UID{item.id.UID})
			if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsInvalid(err) {
				errs = append(errs, fmt.Errorf("%s: %w", dep.id, err))
			}
		}
		if err := errors.Join(errs...); err != nil {
			gc.warn(item.id, "OrphanFailed", "Failed to remove the ownerReferences to this object from its dependents: %v", err)
			return fmt.Errorf("orphaning the dependents of %s: %w", item.id, err)
		}
		next, err := gc.ops.removeFinalizer(ctx, item.id, latest, metav1.FinalizerOrphanDependents)
		if err != nil {
			gc.warn(item.id, "FinalizerRemovalFailed", "Failed to remove the %s finalizer: %v", metav1.FinalizerOrphanDependents, err)
			return fmt.Errorf("removing the %s finalizer of %s: %w", metav1.FinalizerOrphanDependents, item.id, err)
		}
		if next == nil {
			return nil
		}
		latest = next
	}
	if !slices.Contains(latest.Finalizers, metav1.FinalizerDeleteDependents) {
		return nil
	}
	deps := gc.graph.dependentsOf(item.id.UID)
	if len(blockingDependents(item.id.UID, deps)) > 0 {
		// Their deletions, or the removal of their references, bring the
		// owner back here.
		for _, dep := range deps {
			if !dep.beingDeleted {
				gc.ctrl.Enqueue(controllers.Request{Name: string(dep.id.UID)})
			}
		}
		return nil
	}
	if _, err := gc.ops.removeFinalizer(ctx, item.id, latest, metav1.FinalizerDeleteDependents); err != nil {
		gc.warn(item.id, "FinalizerRemovalFailed", "Failed to remove the %s finalizer: %v", metav1.FinalizerDeleteDependents, err)
		return fmt.Errorf("removing the %s finalizer of %s: %w", metav1.FinalizerDeleteDependents, item.id, err)
	}
	return nil
}

// collect judges an object not being deleted by its owners, read live, and
// deletes it, or drops its dangling references, as decide says.
func (gc *GC) collect(ctx context.Context, item nodeView, latest *metav1.PartialObjectMetadata) error {
	if len(latest.OwnerReferences) == 0 {
		return nil
	}
	refs, err := gc.classify(ctx, item.id, latest.OwnerReferences)
	if err != nil {
		return err
	}
	deps := gc.graph.dependentsOf(item.id.UID)
	state := dependentsState{any: len(deps) > 0}
	for _, d := range deps {
		state.deletingDependents = state.deletingDependents || d.deletingDependents
	}
	d := decide(refs, latest.Finalizers, state)
	switch d.verdict {
	case removeRefs:
		err = gc.ops.removeOwnerRefs(ctx, item.id, d.refs)
		if err != nil && !apierrors.IsNotFound(err) {
			gc.warn(item.id, "GarbageCollectionFailed", "Failed to remove ownerReferences to owners that are gone or being deleted: %v", err)
			return fmt.Errorf("removing dangling ownerReferences of %s: %w", item.id, err)
		}
	case collect:
		if d.unblock {
			if err := gc.ops.unblockOwnerRefs(ctx, item.id, latest.OwnerReferences); err != nil && !apierrors.IsNotFound(err) {
				gc.warn(item.id, "GarbageCollectionFailed", "Failed to unblock its owners before a foreground deletion: %v", err)
				return fmt.Errorf("unblocking the owners of %s: %w", item.id, err)
			}
		}
		err = gc.ops.delete(ctx, item.id, latest.ResourceVersion, latest.OwnerReferences, d.policy)
		switch {
		case apierrors.IsNotFound(err):
			gc.apply(gc.graph.verifiedAbsent(item.id))
		case apierrors.IsConflict(err):
			return fmt.Errorf("deleting %s: it changed meanwhile: %w", item.id, err)
		case err != nil:
			gc.warn(item.id, "GarbageCollectionFailed", "Failed to delete an object whose owners are gone: %v", err)
			return fmt.Errorf("deleting %s (propagationPolicy %s): %w", item.id, d.policy, err)
		}
	}
	return nil
}

// classify reads the owner of each reference of the object id, live (or from
// the cache of owners known to be gone).
func (gc *GC) classify(ctx context.Context, id objectReference, refs []metav1.OwnerReference) ([]classifiedRef, error) {
	out := make([]classifiedRef, 0, len(refs))
	for _, ref := range refs {
		k, err := gc.ops.kind(ref.APIVersion, ref.Kind)
		if err != nil {
			gc.warn(id, "OwnerRefInvalid", "ownerRef [%s/%s, name: %s, uid: %s] names no kind this cluster serves", ref.APIVersion, ref.Kind, ref.Name, ref.UID)
			return nil, controllers.Terminal(fmt.Errorf("%s: ownerReference to %s %s: %w", id, ref.Kind, ref.Name, err))
		}
		if k.Namespaced && id.Namespace == "" {
			gc.warn(id, "OwnerRefInvalidNamespace", "ownerRef [%s/%s, name: %s, uid: %s] names a namespaced owner of a cluster-scoped object", ref.APIVersion, ref.Kind, ref.Name, ref.UID)
			return nil, controllers.Terminal(fmt.Errorf("%s is cluster-scoped but names the namespaced owner %s %s", id, ref.Kind, ref.Name))
		}
		owner := refTo(ref, id.Namespace, k.Namespaced)
		if gc.absent.has(owner) {
			out = append(out, classifiedRef{ref: ref, state: ownerDangling})
			continue
		}
		live, err := gc.ops.get(ctx, owner)
		switch {
		case apierrors.IsNotFound(err):
			gc.absent.add(owner)
			out = append(out, classifiedRef{ref: ref, state: ownerDangling})
		case err != nil:
			return nil, fmt.Errorf("reading %s, owner of %s: %w", owner, id, err)
		case live.UID != ref.UID:
			gc.absent.add(owner)
			out = append(out, classifiedRef{ref: ref, state: ownerDangling})
		case live.DeletionTimestamp != nil && slices.Contains(live.Finalizers, metav1.FinalizerDeleteDependents):
			out = append(out, classifiedRef{ref: ref, state: ownerWaiting})
		default:
			out = append(out, classifiedRef{ref: ref, state: ownerSolid})
		}
	}
	return out, nil
}

// warn records a Warning event on the object id, if there is a recorder.
func (gc *GC) warn(id objectReference, reason, format string, args ...any) {
	if gc.rec == nil {
		return
	}
	obj := &metav1.PartialObjectMetadata{
		TypeMeta:   metav1.TypeMeta{APIVersion: id.APIVersion, Kind: id.Kind},
		ObjectMeta: metav1.ObjectMeta{Namespace: id.Namespace, Name: id.Name, UID: id.UID},
	}
	gc.rec.Eventf(obj, corev1.EventTypeWarning, reason, format, args...)
}
