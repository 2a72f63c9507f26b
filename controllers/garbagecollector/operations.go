package garbagecollector

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/metadata"

	"github.com/tendhq/tend/schemas"
)

// operations are the collector's writes and live reads, all through the
// metadata client: a GET, a DELETE with preconditions, and patches of
// ownerReferences and finalizers.
type operations struct {
	md    metadata.Interface
	kinds map[schema.GroupVersionKind]*schemas.Kind
}

// kind resolves the kind an apiVersion and kind name, as ownerReferences write
// them.
func (o *operations) kind(apiVersion, kind string) (*schemas.Kind, error) {
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return nil, fmt.Errorf("apiVersion %q: %w", apiVersion, err)
	}
	k, ok := o.kinds[gv.WithKind(kind)]
	if !ok {
		return nil, unknownKindError{apiVersion: apiVersion, kind: kind}
	}
	return k, nil
}

// unknownKindError says an apiVersion and kind name no served kind: retrying
// cannot help while the collector's kinds stay what they are.
type unknownKindError struct{ apiVersion, kind string }

func (e unknownKindError) Error() string {
	return fmt.Sprintf("no kind %s is served in %s", e.kind, e.apiVersion)
}

// scope is a scopeFunc over the served kinds.
func (o *operations) scope(apiVersion, kind string) (namespaced, known bool) {
	k, err := o.kind(apiVersion, kind)
	if err != nil {
		return false, false
	}
	return k.Namespaced, true
}

func (o *operations) client(id objectReference) (metadata.ResourceInterface, error) {
	k, err := o.kind(id.APIVersion, id.Kind)
	if err != nil {
		return nil, err
	}
	if k.Namespaced {
		return o.md.Resource(k.GroupVersionResource).Namespace(id.Namespace), nil
	}
	return o.md.Resource(k.GroupVersionResource), nil
}

// get reads the object at id's coordinates, whatever its UID.
func (o *operations) get(ctx context.Context, id objectReference) (*metav1.PartialObjectMetadata, error) {
	c, err := o.client(id)
	if err != nil {
		return nil, err
	}
	return c.Get(ctx, id.Name, metav1.GetOptions{})
}

// delete deletes the object id, provided it still has id's UID and the
// resourceVersion rv at which the collector decided. When the object changed
// since but its ownerReferences did not (a status update, say), the decision
// stands and the delete is made again at the new resourceVersion, as upstream.
func (o *operations) delete(ctx context.Context, id objectReference, rv string, owners []metav1.OwnerReference, policy metav1.DeletionPropagation) error {
	c, err := o.client(id)
	if err != nil {
		return err
	}
	uid := id.UID
	opts := metav1.DeleteOptions{PropagationPolicy: &policy, Preconditions: &metav1.Preconditions{UID: &uid, ResourceVersion: &rv}}
	err = c.Delete(ctx, id.Name, opts)
	if !apierrors.IsConflict(err) {
		return err
	}
	live, getErr := c.Get(ctx, id.Name, metav1.GetOptions{})
	if getErr != nil {
		if apierrors.IsNotFound(getErr) {
			return getErr
		}
		return err
	}
	if live.UID != id.UID || !slices.EqualFunc(live.OwnerReferences, owners, sameRef) {
		// Its owners changed: the decision is stale, make it again.
		return err
	}
	opts.Preconditions.ResourceVersion = &live.ResourceVersion
	return c.Delete(ctx, id.Name, opts)
}

// patch applies a strategic merge patch to the object id; the patch names
// id's UID, so that an object of the same name created since is not touched.
func (o *operations) patch(ctx context.Context, id objectReference, patch []byte) error {
	c, err := o.client(id)
	if err != nil {
		return err
	}
	_, err = c.Patch(ctx, id.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
	return err
}

// removeOwnerRefs drops the references to owners from the object id.
func (o *operations) removeOwnerRefs(ctx context.Context, id objectReference, owners []types.UID) error {
	refs := make([]map[string]any, 0, len(owners))
	for _, u := range owners {
		refs = append(refs, map[string]any{"$patch": "delete", "uid": u})
	}
	p, err := json.Marshal(map[string]any{"metadata": map[string]any{"ownerReferences": refs, "uid": id.UID}})
	if err != nil {
		return err
	}
	return o.patch(ctx, id, p)
}

// unblockOwnerRefs sets blockOwnerDeletion to false on every reference of
// refs that has it true.
func (o *operations) unblockOwnerRefs(ctx context.Context, id objectReference, refs []metav1.OwnerReference) error {
	var out []map[string]any
	for _, r := range refs {
		if blocks(r) {
			out = append(out, map[string]any{"uid": r.UID, "blockOwnerDeletion": false})
		}
	}
	if len(out) == 0 {
		return nil
	}
	p, err := json.Marshal(map[string]any{"metadata": map[string]any{"ownerReferences": out, "uid": id.UID}})
	if err != nil {
		return err
	}
	return o.patch(ctx, id, p)
}

// removeFinalizer removes finalizer from the object id, from its state cur,
// and returns the new state (nil when the object is gone: the apiserver
// deletes an object being deleted when its last finalizer goes). A conflict
// reads the object again and retries, a few times. An object already gone, or
// already without the finalizer, is fine.
func (o *operations) removeFinalizer(ctx context.Context, id objectReference, cur *metav1.PartialObjectMetadata, finalizer string) (*metav1.PartialObjectMetadata, error) {
	c, err := o.client(id)
	if err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		if cur.UID != id.UID {
			return nil, nil
		}
		if !slices.Contains(cur.Finalizers, finalizer) {
			return cur, nil
		}
		rest := slices.DeleteFunc(slices.Clone(cur.Finalizers), func(f string) bool { return f == finalizer })
		p, err := json.Marshal(map[string]any{"metadata": map[string]any{
			"finalizers": rest, "resourceVersion": cur.ResourceVersion, "uid": id.UID,
		}})
		if err != nil {
			return nil, err
		}
		next, err := c.Patch(ctx, id.Name, types.MergePatchType, p, metav1.PatchOptions{})
		switch {
		case err == nil:
			if len(rest) == 0 && cur.DeletionTimestamp != nil {
				return nil, nil
			}
			return next, nil
		case apierrors.IsNotFound(err):
			return nil, nil
		case !apierrors.IsConflict(err) || attempt >= 4:
			return nil, err
		}
		if cur, err = c.Get(ctx, id.Name, metav1.GetOptions{}); err != nil {
			if apierrors.IsNotFound(err) {
				return nil, nil
			}
			return nil, err
		}
	}
}
