package apiserver

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/tendhq/tend/apiserver/storage"
)

// --- scale ---

var scaleGVK = autoscalingv1.SchemeGroupVersion.WithKind("Scale")

// scaleOf returns the autoscaling/v1 Scale of a scalable object.
func scaleOf(obj runtime.Object) (*autoscalingv1.Scale, error) {
	var spec, status int32
	var selector string
	switch o := obj.(type) {
	case *appsv1.Deployment:
		spec, status = derefReplicas(o.Spec.Replicas), o.Status.Replicas
		selector = selectorString(o.Spec.Selector)
	case *appsv1.ReplicaSet:
		spec, status = derefReplicas(o.Spec.Replicas), o.Status.Replicas
		selector = selectorString(o.Spec.Selector)
	case *appsv1.StatefulSet:
		spec, status = derefReplicas(o.Spec.Replicas), o.Status.Replicas
		selector = selectorString(o.Spec.Selector)
	case *corev1.ReplicationController:
		spec, status = derefReplicas(o.Spec.Replicas), o.Status.Replicas
		selector = labels.SelectorFromSet(o.Spec.Selector).String()
	default:
		return nil, fmt.Errorf("%T has no scale subresource", obj)
	}
	m := mustMeta(obj)
	return &autoscalingv1.Scale{
		TypeMeta: metav1.TypeMeta{Kind: scaleGVK.Kind, APIVersion: scaleGVK.GroupVersion().String()},
		ObjectMeta: metav1.ObjectMeta{Name: m.GetName(), Namespace: m.GetNamespace(), UID: m.GetUID(),
			ResourceVersion: m.GetResourceVersion(), CreationTimestamp: m.GetCreationTimestamp()},
		Spec:   autoscalingv1.ScaleSpec{Replicas: spec},
		Status: autoscalingv1.ScaleStatus{Replicas: status, Selector: selector},
	}, nil
}

func derefReplicas(p *int32) int32 {
	if p == nil {
		return 1
	}
	return *p
}

func selectorString(s *metav1.LabelSelector) string {
	sel, err := metav1.LabelSelectorAsSelector(s)
	if err != nil {
		return ""
	}
	return sel.String()
}

// setReplicas sets the replicas of a scalable object.
func setReplicas(obj runtime.Object, n int32) {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		o.Spec.Replicas = &n
	case *appsv1.ReplicaSet:
		o.Spec.Replicas = &n
	case *appsv1.StatefulSet:
		o.Spec.Replicas = &n
	case *corev1.ReplicationController:
		o.Spec.Replicas = &n
	}
}

func (rq *request) getScale() {
	o, err := rq.cache.Get(rq.ctx(), rq.key(), storage.ReadOptions{RV: rq.q.Get("resourceVersion")})
	if err != nil {
		rq.fail(err)
		return
	}
	obj, err := decodeStored(rq.kind.Storage, o)
	if err != nil {
		rq.fail(err)
		return
	}
	sc, err := scaleOf(obj)
	if err != nil {
		rq.fail(err)
		return
	}
	writeJSON(rq.w, rq.r, http.StatusOK, sc)
}

// scaleTo updates the replicas of the object to what want (from the current
// Scale) says, checking the Scale's resourceVersion as a precondition.
func (rq *request) scaleTo(p writeParams, want func(cur *autoscalingv1.Scale) (*autoscalingv1.Scale, error)) {
	o, _, err := rq.updateObject("", p.dryRun, false, func(cur runtime.Object) (runtime.Object, error) {
		if cur == nil {
			return nil, apierrors.NewNotFound(rq.gr(), rq.name)
		}
		sc, err := scaleOf(cur)
		if err != nil {
			return nil, err
		}
		next, err := want(sc)
		if err != nil {
			return nil, err
		}
		if next.Name != rq.name {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", next.Name, rq.name))
		}
		if next.Spec.Replicas < 0 {
			return nil, apierrors.NewInvalid(scaleGVK.GroupKind(), rq.name, field.ErrorList{
				field.Invalid(field.NewPath("spec", "replicas"), next.Spec.Replicas, "must be greater than or equal to 0")})
		}
		if rv := next.ResourceVersion; rv != "" && rv != sc.ResourceVersion {
			return nil, apierrors.NewConflict(rq.gr(), rq.name, errors.New(registryConflictMsg))
		}
		setReplicas(cur, next.Spec.Replicas)
		return cur, nil
	})
	if err != nil {
		writeError(rq.w, rq.r, err)
		return
	}
	obj, err := decodeStored(rq.kind.Storage, o)
	if err != nil {
		rq.fail(err)
		return
	}
	sc, err := scaleOf(obj)
	if err != nil {
		rq.fail(err)
		return
	}
	writeJSON(rq.w, rq.r, http.StatusOK, sc)
}

func (rq *request) updateScale() {
	p, err := rq.writeParams()
	if err != nil {
		rq.fail(err)
		return
	}
	in := &autoscalingv1.Scale{}
	in.GetObjectKind().SetGroupVersionKind(scaleGVK)
	warnings, err := rq.s.decoder.decodeInto(rq.r, p.body, in, p.fv)
	if err != nil {
		rq.fail(err)
		return
	}
	addWarnings(rq.w, warnings)
	rq.scaleTo(p, func(*autoscalingv1.Scale) (*autoscalingv1.Scale, error) { return in, nil })
}

func (rq *request) patchScale() {
	pt, err := patchType(rq.r)
	if err != nil {
		rq.fail(err)
		return
	}
	p, err := rq.writeParams()
	if err != nil {
		rq.fail(err)
		return
	}
	rq.scaleTo(p, func(cur *autoscalingv1.Scale) (*autoscalingv1.Scale, error) {
		patched, err := applyPatch(pt, cur, p.body)
		if err != nil {
			return nil, err
		}
		out := &autoscalingv1.Scale{}
		out.GetObjectKind().SetGroupVersionKind(scaleGVK)
		if _, err := decodeJSONInto(patched, out, p.fv, nil); err != nil {
			return nil, err
		}
		return out, nil
	})
}

// --- namespaces/finalize ---

// withFinalizers returns cur with the spec.finalizers of next: the only change
// namespaces/finalize makes.
func withFinalizers(cur, next runtime.Object) runtime.Object {
	out := cur.DeepCopyObject()
	if ns, ok := out.(*corev1.Namespace); ok {
		ns.Spec.Finalizers = next.(*corev1.Namespace).Spec.Finalizers
		ns.ResourceVersion = next.(*corev1.Namespace).ResourceVersion
	}
	return out
}

// --- pods/binding ---

func (rq *request) bind() {
	body, err := readBody(rq.r)
	if err != nil {
		rq.fail(err)
		return
	}
	b := &corev1.Binding{}
	b.GetObjectKind().SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Binding"))
	if _, err := rq.s.decoder.decodeInto(rq.r, body, b, validationStrict); err != nil {
		rq.fail(err)
		return
	}
	dryRun, err := parseDryRun(rq)
	if err != nil {
		rq.fail(err)
		return
	}
	if b.Name != "" && b.Name != rq.name {
		rq.fail(apierrors.NewBadRequest(fmt.Sprintf("the name of the binding (%s) does not match the name of the pod (%s)", b.Name, rq.name)))
		return
	}
	var errs field.ErrorList
	if b.Target.Kind != "" && b.Target.Kind != "Node" {
		errs = append(errs, field.NotSupported(field.NewPath("target", "kind"), b.Target.Kind, []string{"Node", "<empty>"}))
	}
	if b.Target.Name == "" {
		errs = append(errs, field.Required(field.NewPath("target", "name"), ""))
	}
	if len(errs) > 0 {
		rq.fail(apierrors.NewInvalid(schema.GroupKind{Kind: "Binding"}, rq.name, errs))
		return
	}
	_, err = rq.cache.GuaranteedUpdate(rq.ctx(), rq.key(), storage.UpdateOptions{WriteOptions: storage.WriteOptions{DryRun: dryRun}},
		func(cur runtime.Object) (runtime.Object, error) {
			pod := cur.(*corev1.Pod)
			if b.UID != "" && b.UID != pod.UID {
				return nil, apierrors.NewConflict(rq.gr(), rq.name, fmt.Errorf("Precondition failed: UID in precondition: %v, UID in object meta: %v", b.UID, pod.UID))
			}
			if pod.DeletionTimestamp != nil {
				return nil, apierrors.NewConflict(rq.gr(), rq.name, fmt.Errorf("pod %s is being deleted, cannot be assigned to a host", pod.Name))
			}
			if pod.Spec.NodeName != "" {
				return nil, apierrors.NewConflict(rq.gr(), rq.name, fmt.Errorf("pod %v is already assigned to node %q", pod.Name, pod.Spec.NodeName))
			}
			pod.Spec.NodeName = b.Target.Name
			for k, v := range b.Annotations {
				if pod.Annotations == nil {
					pod.Annotations = map[string]string{}
				}
				pod.Annotations[k] = v
			}
			setPodCondition(pod, corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue})
			return pod, nil
		})
	if err != nil {
		rq.fail(err)
		return
	}
	writeJSON(rq.w, rq.r, http.StatusCreated, successStatus())
}

func successStatus() *metav1.Status {
	return &metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: metav1.StatusSuccess}
}

// setPodCondition sets a condition, keeping its transition time when the status
// does not change.
func setPodCondition(pod *corev1.Pod, c corev1.PodCondition) {
	now := metav1.NewTime(time.Now().Truncate(time.Second))
	for i := range pod.Status.Conditions {
		old := &pod.Status.Conditions[i]
		if old.Type != c.Type {
			continue
		}
		if old.Status != c.Status {
			old.LastTransitionTime = now
		}
		old.Status, old.Reason, old.Message = c.Status, c.Reason, c.Message
		old.LastProbeTime = c.LastProbeTime
		return
	}
	c.LastTransitionTime = now
	pod.Status.Conditions = append(pod.Status.Conditions, c)
}

// --- pods/eviction ---

// maxDisruptedPods bounds a PodDisruptionBudget's disruptedPods, as upstream.
const maxDisruptedPods = 2000

func (rq *request) evict() {
	body, err := readBody(rq.r)
	if err != nil {
		rq.fail(err)
		return
	}
	ev := &policyv1.Eviction{}
	ev.GetObjectKind().SetGroupVersionKind(policyv1.SchemeGroupVersion.WithKind("Eviction"))
	if _, err := rq.s.decoder.decodeInto(rq.r, body, ev, validationWarn); err != nil {
		rq.fail(err)
		return
	}
	if ev.Name != "" && ev.Name != rq.name {
		rq.fail(apierrors.NewBadRequest("name in URL does not match name in Eviction object"))
		return
	}
	opts := metav1.DeleteOptions{}
	if ev.DeleteOptions != nil {
		opts = *ev.DeleteOptions
	}
	dryRun := len(opts.DryRun) > 0
	if d, err := parseDryRun(rq); err != nil {
		rq.fail(err)
		return
	} else if d {
		dryRun = true
	}
	o, err := rq.cache.Get(rq.ctx(), rq.key(), storage.ReadOptions{})
	if err != nil {
		rq.fail(err)
		return
	}
	obj, err := decodeStored(rq.kind.Storage, o)
	if err != nil {
		rq.fail(err)
		return
	}
	pod := obj.(*corev1.Pod)
	ignorePDB := pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed ||
		pod.Status.Phase == corev1.PodPending || pod.DeletionTimestamp != nil
	if !ignorePDB {
		if err := rq.takeDisruption(pod, dryRun); err != nil {
			rq.fail(err)
			return
		}
	}
	if _, _, err := rq.deleteObject(rq.key(), rq.name, opts, dryRun); err != nil {
		writeError(rq.w, rq.r, err)
		return
	}
	writeJSON(rq.w, rq.r, http.StatusCreated, successStatus())
}

// takeDisruption checks the pod's PodDisruptionBudget and records the eviction
// in it, refusing with 429 when the budget allows no disruption now.
func (rq *request) takeDisruption(pod *corev1.Pod, dryRun bool) error {
	pdbs := rq.s.caches[schema.GroupResource{Group: "policy", Resource: "poddisruptionbudgets"}]
	res, err := pdbs.List(rq.ctx(), storage.ListOptions{Predicate: storage.Predicate{Namespace: pod.Namespace}})
	if err != nil {
		return err
	}
	var match []*storage.Object
	for _, o := range res.Items {
		var pdb policyv1.PodDisruptionBudget
		if err := jsonUnmarshal(o.JSON, &pdb); err != nil {
			return err
		}
		if pdb.Spec.Selector == nil {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		if err != nil || !sel.Matches(labels.Set(pod.Labels)) {
			continue
		}
		match = append(match, o)
	}
	switch {
	case len(match) == 0:
		return nil
	case len(match) > 1:
		return apierrors.NewInternalError(errors.New("This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."))
	}
	pdbGR := schema.GroupResource{Group: "policy", Resource: "poddisruptionbudgets"}
	_, err = pdbs.GuaranteedUpdate(rq.ctx(), match[0].Key, storage.UpdateOptions{WriteOptions: storage.WriteOptions{DryRun: dryRun}},
		func(cur runtime.Object) (runtime.Object, error) {
			pdb := cur.(*policyv1.PodDisruptionBudget)
			if pdb.Status.ObservedGeneration < pdb.Generation {
				return nil, tooManyEvictions(fmt.Sprintf("The disruption budget %s is still being processed by the server.", pdb.Name))
			}
			if pdb.Status.DisruptionsAllowed < 0 {
				return nil, apierrors.NewForbidden(pdbGR, pdb.Name, errors.New("pdb disruptions allowed is negative"))
			}
			if len(pdb.Status.DisruptedPods) > maxDisruptedPods {
				return nil, apierrors.NewForbidden(pdbGR, pdb.Name, errors.New("DisruptedPods map too big - too many evictions not confirmed by PDB controller"))
			}
			if pdb.Status.DisruptionsAllowed == 0 {
				return nil, tooManyEvictions(fmt.Sprintf("The disruption budget %s needs %d healthy pods and has %d currently",
					pdb.Name, pdb.Status.DesiredHealthy, pdb.Status.CurrentHealthy))
			}
			pdb.Status.DisruptionsAllowed--
			if pdb.Status.DisruptedPods == nil {
				pdb.Status.DisruptedPods = map[string]metav1.Time{}
			}
			pdb.Status.DisruptedPods[pod.Name] = metav1.NewTime(time.Now().Truncate(time.Second))
			return pdb, nil
		})
	return toAPIError(err, pdbGR, mustName(match[0]))
}

func mustName(o *storage.Object) string { return o.Name }

func tooManyEvictions(cause string) error {
	err := apierrors.NewTooManyRequests("Cannot evict pod as it would violate the pod's disruption budget.", 0)
	err.ErrStatus.Details.Causes = append(err.ErrStatus.Details.Causes, metav1.StatusCause{Type: "DisruptionBudget", Message: cause})
	return err
}
