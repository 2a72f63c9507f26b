package apiserver

import (
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tendhq/tend/apiserver/storage"
)

// admitCreate applies the admission rules tend enforces on create, those of
// upstream's default plugins: NamespaceLifecycle (the namespace must exist and
// not be terminating), and for pods ServiceAccount (the default account and
// the kube-api-access volume),
// Priority (priority and preemptionPolicy from the PriorityClass) and
// DefaultTolerationSeconds (how long a pod stays on a not-ready or unreachable
// node).
func (rq *request) admitCreate(obj runtime.Object) error {
	if rq.kind.Namespaced {
		if err := rq.namespaceOpen(rq.namespace, mustMeta(obj).GetName()); err != nil {
			return err
		}
	}
	if pod, ok := obj.(*corev1.Pod); ok {
		if err := rq.admitServiceAccount(pod); err != nil {
			return err
		}
		pod.Spec.DeprecatedServiceAccount = pod.Spec.ServiceAccountName
		if err := rq.admitPriority(pod); err != nil {
			return err
		}
		addDefaultTolerations(pod, rq.s.cfg.DefaultNotReadyTolerationSeconds, rq.s.cfg.DefaultUnreachableTolerationSeconds)
	}
	return nil
}

var priorityClassesGR = schema.GroupResource{Group: "scheduling.k8s.io", Resource: "priorityclasses"}

// admitPriority resolves a pod's priority from its PriorityClass, or from the
// global default class when it names none, as upstream's Priority plugin.
func (rq *request) admitPriority(pod *corev1.Pod) error {
	cache := rq.s.caches[priorityClassesGR]
	var value int32
	policy := corev1.PreemptLowerPriority
	forbid := func(msg string) error {
		return apierrors.NewForbidden(rq.gr(), pod.Name, errors.New(msg))
	}
	if name := pod.Spec.PriorityClassName; name != "" {
		o, err := cache.Get(rq.ctx(), name, storage.ReadOptions{})
		if storage.IsNotFound(err) {
			return forbid(fmt.Sprintf("no PriorityClass with name %v was found", name))
		}
		if err != nil {
			return toAPIError(err, priorityClassesGR, name)
		}
		var pc schedulingv1.PriorityClass
		if err := jsonUnmarshal(o.JSON, &pc); err != nil {
			return err
		}
		value = pc.Value
		if pc.PreemptionPolicy != nil {
			policy = *pc.PreemptionPolicy
		}
	} else {
		res, err := cache.List(rq.ctx(), storage.ListOptions{ReadOptions: storage.ReadOptions{RV: "0"}})
		if err != nil {
			return toAPIError(err, priorityClassesGR, "")
		}
		for _, o := range res.Items {
			var pc schedulingv1.PriorityClass
			if err := jsonUnmarshal(o.JSON, &pc); err != nil {
				return err
			}
			// Of several global defaults (possible only by racing creates), the
			// lowest wins, as upstream.
			if pc.GlobalDefault && (pod.Spec.PriorityClassName == "" || pc.Value < value) {
				pod.Spec.PriorityClassName, value = pc.Name, pc.Value
				if pc.PreemptionPolicy != nil {
					policy = *pc.PreemptionPolicy
				}
			}
		}
	}
	if p := pod.Spec.Priority; p != nil && *p != value {
		return forbid(fmt.Sprintf("the integer value of priority (%d) must not be provided in pod spec; priority admission controller computed %d from the given PriorityClass name", *p, value))
	}
	if p := pod.Spec.PreemptionPolicy; p != nil && *p != policy {
		return forbid(fmt.Sprintf("the string value of PreemptionPolicy (%s) must not be provided in pod spec; priority admission controller computed %s from the given PriorityClass name", *p, policy))
	}
	pod.Spec.Priority = &value
	pod.Spec.PreemptionPolicy = &policy
	return nil
}

// addDefaultTolerations lets a pod stay on a not-ready or unreachable node for a
// while before it is evicted, unless it says otherwise.
func addDefaultTolerations(pod *corev1.Pod, notReady, unreachable int64) {
	var hasNotReady, hasUnreachable bool
	for _, t := range pod.Spec.Tolerations {
		noExecute := t.Effect == corev1.TaintEffectNoExecute || t.Effect == ""
		if noExecute && (t.Key == corev1.TaintNodeNotReady || t.Key == "") {
			hasNotReady = true
		}
		if noExecute && (t.Key == corev1.TaintNodeUnreachable || t.Key == "") {
			hasUnreachable = true
		}
	}
	if !hasNotReady {
		pod.Spec.Tolerations = append(pod.Spec.Tolerations, corev1.Toleration{Key: corev1.TaintNodeNotReady,
			Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &notReady})
	}
	if !hasUnreachable {
		pod.Spec.Tolerations = append(pod.Spec.Tolerations, corev1.Toleration{Key: corev1.TaintNodeUnreachable,
			Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &unreachable})
	}
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
		// Upstream's NamespaceLifecycle error, with the cause clients (the
		// namespace controller, kubectl) look for.
		err := apierrors.NewForbidden(rq.gr(), name,
			fmt.Errorf("unable to create new content in namespace %s because it is being terminated", ns))
		err.ErrStatus.Details.Causes = append(err.ErrStatus.Details.Causes, metav1.StatusCause{
			Type:    corev1.NamespaceTerminatingCause,
			Message: fmt.Sprintf("namespace %s is being terminated", ns),
			Field:   "metadata.namespace",
		})
		return err
	}
	return nil
}
