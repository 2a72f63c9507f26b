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

	"github.com/tendhq/tend/schemas"
)

// finalizerEstimate is upstream's guess, in seconds, of how long objects held
// by finalizers take to go.
const finalizerEstimate = 15

// remainder is what is left of one resource in a namespace after a pass.
type remainder struct {
	// estimate is the seconds to wait before looking again; 0 means no
	// estimate, not that nothing remains.
	estimate int64
	// count is how many objects remain.
	count int
	// finalizers counts the objects each finalizer holds.
	finalizers map[string]int
}

// deleteAllContent deletes the content of every resource of the namespace,
// writes what remains on its status conditions, and returns the namespace as
// written and the seconds to wait for what remains (0: nothing remains, unless
// err says something failed).
func (r *reconciler) deleteAllContent(ctx context.Context, ns *corev1.Namespace) (*corev1.Namespace, int64, error) {
	var errs []error
	var estimate int64
	left := content{resources: map[string]int{}, finalizers: map[string]int{}}
	for _, k := range r.resources {
		rem, err := r.deleteContent(ctx, k, ns.Name, ns.DeletionTimestamp.Time)
		if err != nil {
			errs = append(errs, err)
		}
		estimate = max(estimate, rem.estimate)
		if rem.count > 0 {
			left.resources[k.Resource+"."+k.Group] += rem.count
			for f, n := range rem.finalizers {
				left.finalizers[f] += n
			}
		}
	}
	next := ns.DeepCopy()
	if updateConditions(&next.Status, conditionsFor(errs, left), metav1.NewTime(r.now())) {
		written, err := r.client.CoreV1().Namespaces().UpdateStatus(ctx, next, metav1.UpdateOptions{})
		if err != nil {
			// The conditions only report; the next pass writes them again.
			r.log("namespace: updating the conditions of namespace %s: %v", ns.Name, err)
		} else {
			ns = written
		}
	}
	return ns, estimate, errors.Join(errs...)
}

// deleteContent deletes the objects of kind k in the namespace, then lists
// what remains: nothing, or objects within a pod's grace period, or held by
// finalizers. Anything else remaining is an error.
func (r *reconciler) deleteContent(ctx context.Context, k *schemas.Kind, namespace string, deletedAt time.Time) (remainder, error) {
	var estimate int64
	if k.GroupResource() == podsResource {
		var err error
		if estimate, err = r.podsEstimate(ctx, namespace, deletedAt); err != nil {
			return remainder{}, fmt.Errorf("estimating the grace period of the pods in %s: %w", namespace, err)
		}
	}
	client := r.md.Resource(k.GroupVersionResource).Namespace(namespace)
	// Background: the namespace goes once its content is gone, so nothing is
	// gained by waiting for dependents, and orphaning would leave them behind.
	background := metav1.DeletePropagationBackground
	opts := metav1.DeleteOptions{PropagationPolicy: &background}
	eachOne := !slices.Contains(k.Verbs(), "deletecollection")
	if !eachOne {
		err := client.DeleteCollection(ctx, opts, metav1.ListOptions{})
		switch {
		case apierrors.IsMethodNotSupported(err) || apierrors.IsNotFound(err):
			eachOne = true
		case err != nil:
			return remainder{estimate: estimate}, fmt.Errorf("deleting the %s in %s: %w", k.GroupResource(), namespace, err)
		}
	}
	if eachOne {
		list, err := client.List(ctx, metav1.ListOptions{})
		if err != nil {
			return remainder{estimate: estimate}, fmt.Errorf("listing the %s in %s: %w", k.GroupResource(), namespace, err)
		}
		for _, item := range list.Items {
			err := client.Delete(ctx, item.Name, opts)
			if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsMethodNotSupported(err) {
				return remainder{estimate: estimate}, fmt.Errorf("deleting %s %s/%s: %w", k.Kind, namespace, item.Name, err)
			}
		}
	}
	list, err := client.List(ctx, metav1.ListOptions{})
	if err != nil {
		return remainder{estimate: estimate}, fmt.Errorf("listing the %s left in %s: %w", k.GroupResource(), namespace, err)
	}
	if len(list.Items) == 0 {
		return remainder{}, nil
	}
	rem := remainder{estimate: estimate, count: len(list.Items), finalizers: map[string]int{}}
	for _, item := range list.Items {
		for _, f := range item.Finalizers {
			rem.finalizers[f]++
		}
	}
	switch {
	case estimate > 0:
	case len(rem.finalizers) > 0:
		rem.estimate = finalizerEstimate
	default:
		return rem, fmt.Errorf("%w in namespace %s for %s: %d", errUnexpectedContent, namespace, k.GroupVersionResource, rem.count)
	}
	return rem, nil
}

// podsEstimate is the longest termination grace period of the pods of the
// namespace that have not terminated, in seconds, or 0 once that long has
// passed since the namespace's deletion: their kubelets end them meanwhile.
func (r *reconciler) podsEstimate(ctx context.Context, namespace string, deletedAt time.Time) (int64, error) {
	pods, err := r.client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return 0, err
	}
	return graceEstimate(pods.Items, r.now().Sub(deletedAt)), nil
}

// graceEstimate is podsEstimate's arithmetic: the longest grace period of the
// pods not Succeeded or Failed, or 0 when elapsed already covers it.
func graceEstimate(pods []corev1.Pod, elapsed time.Duration) int64 {
	var estimate int64
	for _, p := range pods {
		if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		if g := p.Spec.TerminationGracePeriodSeconds; g != nil && *g > estimate {
			estimate = *g
		}
	}
	if elapsed >= time.Duration(estimate)*time.Second {
		return 0
	}
	return estimate
}
