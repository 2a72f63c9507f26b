package controllers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tendhq/tend/informers"
)

// Owner is a controller object that owns others through ownerReferences with
// controller: true.
type Owner struct {
	metav1.Object
	// Kind is the owner's group, version and kind, as its ownerReferences say.
	Kind schema.GroupVersionKind
	// Selector selects the objects the owner should own.
	Selector labels.Selector
	// Recheck, when set, reads the owner fresh (not from a cache) before an
	// adoption, so that an owner deleted a moment ago adopts nothing. It returns
	// the owner's current metadata.
	Recheck func(ctx context.Context) (metav1.Object, error)
}

// Patcher applies a strategic merge patch to an owned object.
type Patcher[T informers.Object] func(ctx context.Context, obj T, patch []byte) error

// ControllerRef returns the ownerReference an owner puts on what it controls.
func ControllerRef(owner metav1.Object, kind schema.GroupVersionKind) metav1.OwnerReference {
	yes := true
	return metav1.OwnerReference{
		APIVersion:         kind.GroupVersion().String(),
		Kind:               kind.Kind,
		Name:               owner.GetName(),
		UID:                owner.GetUID(),
		Controller:         &yes,
		BlockOwnerDeletion: &yes,
	}
}

// Claim returns the objects of objs the owner controls after adopting orphans
// that match its selector and releasing objects it controls that no longer
// match, as upstream's ControllerRefManager: an object another controller owns
// is left alone; an owner being deleted adopts nothing and releases nothing; an
// object being deleted is not adopted. Adoption and release are patches of the
// objects' ownerReferences, conditional on their UID.
func Claim[T informers.Object](ctx context.Context, owner Owner, objs []T, patch Patcher[T]) ([]T, error) {
	var claimed []T
	var errs []error
	rechecked := false
	for _, obj := range objs {
		ref := metav1.GetControllerOf(obj)
		matches := owner.Selector.Matches(labels.Set(obj.GetLabels()))
		switch {
		case ref != nil && ref.UID != owner.GetUID():
			// Another controller's.
		case ref != nil && (matches || owner.GetDeletionTimestamp() != nil):
			claimed = append(claimed, obj)
		case ref != nil:
			if err := release(ctx, owner, obj, patch); err != nil {
				errs = append(errs, err)
			}
		case !matches || owner.GetDeletionTimestamp() != nil || obj.GetDeletionTimestamp() != nil:
			// An orphan not to adopt.
		default:
			if owner.Recheck != nil && !rechecked {
				fresh, err := owner.Recheck(ctx)
				if err != nil {
					return claimed, fmt.Errorf("rechecking %s %s/%s before adopting: %w", owner.Kind.Kind, owner.GetNamespace(), owner.GetName(), err)
				}
				if fresh.GetUID() != owner.GetUID() || fresh.GetDeletionTimestamp() != nil {
					return claimed, fmt.Errorf("%s %s/%s is gone or being deleted: not adopting", owner.Kind.Kind, owner.GetNamespace(), owner.GetName())
				}
				rechecked = true
			}
			if err := adopt(ctx, owner, obj, patch); err != nil {
				errs = append(errs, err)
				continue
			}
			claimed = append(claimed, obj)
		}
	}
	if len(errs) > 0 {
		return claimed, fmt.Errorf("claiming for %s %s/%s: %w", owner.Kind.Kind, owner.GetNamespace(), owner.GetName(), errors.Join(errs...))
	}
	return claimed, nil
}

func adopt[T informers.Object](ctx context.Context, owner Owner, obj T, patch Patcher[T]) error {
	p, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"ownerReferences": []metav1.OwnerReference{ControllerRef(owner, owner.Kind)},
		"uid":             obj.GetUID(),
	}})
	if err != nil {
		return err
	}
	if err := patch(ctx, obj, p); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("adopting %s: %w", obj.GetName(), err)
	}
	return nil
}

func release[T informers.Object](ctx context.Context, owner Owner, obj T, patch Patcher[T]) error {
	p, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"ownerReferences": []map[string]any{{"$patch": "delete", "uid": owner.GetUID()}},
		"uid":             obj.GetUID(),
	}})
	if err != nil {
		return err
	}
	err = patch(ctx, obj, p)
	if apierrors.IsNotFound(err) || apierrors.IsInvalid(err) {
		// Gone, or its UID changed (deleted and created again): nothing to release.
		return nil
	}
	if err != nil {
		return fmt.Errorf("releasing %s: %w", obj.GetName(), err)
	}
	return nil
}

// StrategicPatch is a Patcher over any client with a Patch method of the
// client-go shape: clientset.CoreV1().Pods(namespace), say.
func StrategicPatch[T informers.Object, C interface {
	Patch(ctx context.Context, name string, pt types.PatchType, data []byte, opts metav1.PatchOptions, subresources ...string) (T, error)
}](client func(namespace string) C) Patcher[T] {
	return func(ctx context.Context, obj T, p []byte) error {
		_, err := client(obj.GetNamespace()).Patch(ctx, obj.GetName(), types.StrategicMergePatchType, p, metav1.PatchOptions{})
		return err
	}
}
