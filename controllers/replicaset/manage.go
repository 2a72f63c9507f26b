package replicaset

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tendhq/tend/controllers"
)

var errNoLabels = errors.New("unable to create pods, no labels")

// Event reasons, upstream's.
const (
	reasonSuccessfulCreate = "SuccessfulCreate"
	reasonSuccessfulDelete = "SuccessfulDelete"
	reasonFailedCreatePod  = "FailedCreate"
	reasonFailedDeletePod  = "FailedDelete"
)

// scale is what one reconcile does to a set's pods.
type scale struct {
	create, delete int
}

// decide returns how many pods to create or delete to go from active pods to
// replicas, at most burst of either.
func decide(active int, replicas int32, burst int) scale {
	switch diff := int(replicas) - active; {
	case diff > 0:
		return scale{create: min(diff, burst)}
	case diff < 0:
		return scale{delete: min(-diff, burst)}
	}
	return scale{}
}

// manage creates or deletes pods so that s has its replicas; owned are the
// active pods it controls. It records what it expects the pod informer to show.
func (r *reconciler[T]) manage(ctx context.Context, s *set, key string, owned []*corev1.Pod) error {
	d := decide(len(owned), s.replicas, BurstReplicas)
	switch {
	case d.create > 0:
		return r.createPods(ctx, s, key, d.create)
	case d.delete > 0:
		victims := podsToDelete(owned, r.relatedPods(s), d.delete, r.now())
		return r.deletePods(ctx, s, key, victims)
	}
	return nil
}

// createPods creates n pods for s in slow-start batches. Creations that fail
// or are never tried are expected no more; the first failure is returned.
func (r *reconciler[T]) createPods(ctx context.Context, s *set, key string, n int) error {
	pod := podFromTemplate(s.template, s.meta, controllers.ControllerRef(s.meta, r.kind.gvk))
	if len(pod.Labels) == 0 {
		// Validation requires labels that match the selector; a pod without
		// any would never be this set's.
		return errNoLabels
	}
	r.exp.ExpectCreations(key, n)
	pods := r.client.CoreV1().Pods(s.meta.GetNamespace())
	created, err := slowStartBatch(n, slowStartInitialBatch, maxInFlight, func() error {
		// A copy each: client-go's encoder sets the object's TypeMeta while
		// it encodes it.
		p, err := pods.Create(ctx, pod.DeepCopy(), metav1.CreateOptions{})
		switch {
		case err == nil:
			r.eventf(s, corev1.EventTypeNormal, reasonSuccessfulCreate, "Created pod: %v", p.Name)
			return nil
		case isNamespaceTerminating(err):
			// Every creation will fail, and the namespace controller is
			// deleting the set anyway: nothing to report.
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		}
		r.eventf(s, corev1.EventTypeWarning, reasonFailedCreatePod, "Error creating: %v", err)
		return err
	})
	for range n - created {
		r.exp.CreationObserved(key)
	}
	return err
}

// deletePods deletes victims, at most maxInFlight at once. A deletion that
// fails is expected no more; the first failure is returned.
func (r *reconciler[T]) deletePods(ctx context.Context, s *set, key string, victims []*corev1.Pod) error {
	uids := make([]string, len(victims))
	for i, p := range victims {
		uids[i] = string(p.UID)
	}
	r.exp.ExpectDeletions(key, uids)
	pods := r.client.CoreV1().Pods(s.meta.GetNamespace())
	var (
		mu    sync.Mutex
		first error
	)
	forEach(len(victims), maxInFlight, func(i int) {
		p := victims[i]
		err := pods.Delete(ctx, p.Name, metav1.DeleteOptions{})
		if err == nil {
			r.eventf(s, corev1.EventTypeNormal, reasonSuccessfulDelete, "Deleted pod: %v", p.Name)
			return
		}
		r.exp.DeletionObserved(key, string(p.UID))
		if apierrors.IsNotFound(err) {
			return
		}
		if ctx.Err() == nil {
			r.eventf(s, corev1.EventTypeWarning, reasonFailedDeletePod, "Error deleting: %v", err)
		}
		mu.Lock()
		if first == nil {
			first = fmt.Errorf("unable to delete pods: %w", err)
		}
		mu.Unlock()
	})
	return first
}

// slowStartBatch calls fn count times, in batches of initial, then twice as
// many, and so on: a batch starts only when the one before succeeded whole,
// so a call that is bound to fail (a quota, a rejected template) is not
// repeated count times. Within a batch at most limit calls run at once. It
// returns how many calls succeeded and the first error.
func slowStartBatch(count, initial, limit int, fn func() error) (int, error) {
	successes := 0
	remaining := count
	for batch := min(remaining, initial); batch > 0; batch = min(2*batch, remaining) {
		var (
			failed atomic.Int64
			once   sync.Once
			first  error
		)
		forEach(batch, limit, func(int) {
			if err := fn(); err != nil {
				failed.Add(1)
				once.Do(func() { first = err })
			}
		})
		successes += batch - int(failed.Load())
		if first != nil {
			return successes, first
		}
		remaining -= batch
	}
	return successes, nil
}

// forEach calls fn(0) ... fn(n-1), at most limit at once, and returns when
// all have returned.
func forEach(n, limit int, fn func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range max(min(n, limit), 1) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				fn(i)
			}
		})
	}
	wg.Wait()
}

// podFromTemplate is the pod a set creates, as upstream's GetPodFromTemplate:
// the template's labels, annotations, finalizers and spec, the set's name as
// generateName, and ref as its controller.
func podFromTemplate(t *corev1.PodTemplateSpec, owner metav1.Object, ref metav1.OwnerReference) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName:    podPrefix(owner.GetName()),
			Namespace:       owner.GetNamespace(),
			Labels:          maps.Clone(t.Labels),
			Annotations:     maps.Clone(t.Annotations),
			Finalizers:      slices.Clone(t.Finalizers),
			OwnerReferences: []metav1.OwnerReference{ref},
		},
		Spec: *t.Spec.DeepCopy(),
	}
}

// podPrefix is "<name>-", or the name alone when the dash would make it too
// long to be a pod name's prefix.
func podPrefix(name string) string {
	if prefix := name + "-"; len(validation.NameIsDNSSubdomain(prefix, true)) == 0 {
		return prefix
	}
	return name
}

// isNamespaceTerminating reports whether err says the namespace is being
// deleted.
func isNamespaceTerminating(err error) bool {
	return apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause)
}

// eventf records an event about a set; the recorder's spam filter keeps a large
// scale-up to a few dozen.
func (r *reconciler[T]) eventf(s *set, eventType, reason, format string, args ...any) {
	if r.rec != nil {
		r.rec.Eventf(s.obj, eventType, reason, format, args...)
	}
}
