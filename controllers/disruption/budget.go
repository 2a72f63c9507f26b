package disruption

import (
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// DeletionTimeout is how long an entry of a budget's status.disruptedPods
// (written by the eviction subresource) holds the pod out of currentHealthy
// while the pod shows no deletionTimestamp; after it the eviction is taken to
// have failed and the pod counts again. Upstream's DeletionTimeout.
const DeletionTimeout = 2 * time.Minute

// budget is what a PodDisruptionBudget's spec asks of its pods.
type budget struct {
	// expected is the pods there should be: the selected pods for an integer
	// minAvailable, else the sum of the scales of their controllers.
	expected int32
	// desiredHealthy is the pods that must stay healthy.
	desiredHealthy int32
	// unmanaged names the selected pods without a controller, which a
	// percentage or maxUnavailable cannot account for.
	unmanaged []string
}

// scaled is one controller of pods and its spec.replicas.
type scaled struct {
	uid   types.UID
	scale int32
}

// scaleFinder returns the controller of pods that ref names and its scale;
// ok is false when ref names no controller known here. A Deployment's pods
// name their ReplicaSet: the finder answers with the Deployment.
type scaleFinder func(ref *metav1.OwnerReference, namespace string) (c scaled, ok bool, err error)

// computeBudget works out a budget's expected and desired healthy pods from
// its spec, its selected pods and their controllers' scales, as upstream's
// getExpectedPodCount: an integer minAvailable is of the selected pods;
// a percentage, and maxUnavailable, are of the controllers' replicas,
// rounded up.
func computeBudget(spec policyv1.PodDisruptionBudgetSpec, pods []*corev1.Pod, find scaleFinder) (budget, error) {
	var b budget
	switch {
	case spec.MaxUnavailable != nil:
		expected, unmanaged, err := expectedScale(pods, find)
		if err != nil {
			return budget{}, err
		}
		maxUnavailable, err := intstr.GetScaledValueFromIntOrPercent(spec.MaxUnavailable, int(expected), true)
		if err != nil {
			return budget{}, fmt.Errorf("maxUnavailable: %w", err)
		}
		b = budget{expected: expected, desiredHealthy: max(0, expected-int32(maxUnavailable)), unmanaged: unmanaged}
	case spec.MinAvailable != nil && spec.MinAvailable.Type == intstr.Int:
		b = budget{expected: int32(len(pods)), desiredHealthy: spec.MinAvailable.IntVal}
	case spec.MinAvailable != nil:
		expected, unmanaged, err := expectedScale(pods, find)
		if err != nil {
			return budget{}, err
		}
		minAvailable, err := intstr.GetScaledValueFromIntOrPercent(spec.MinAvailable, int(expected), true)
		if err != nil {
			return budget{}, fmt.Errorf("minAvailable: %w", err)
		}
		b = budget{expected: expected, desiredHealthy: int32(minAvailable), unmanaged: unmanaged}
	}
	return b, nil
}

// expectedScale sums the scales of the controllers of pods, each controller
// once. Pods without a controller are returned as unmanaged and not counted;
// a pod whose controller is not found is an error (the budget cannot be
// computed), as upstream's getExpectedScale.
func expectedScale(pods []*corev1.Pod, find scaleFinder) (int32, []string, error) {
	scales := map[types.UID]int32{}
	// byRef remembers the controller found for each ownerReference UID: the
	// pods of one ReplicaSet need one lookup.
	byRef := map[types.UID]types.UID{}
	var unmanaged []string
	for _, p := range pods {
		ref := metav1.GetControllerOf(p)
		if ref == nil {
			unmanaged = append(unmanaged, p.Name)
			continue
		}
		if _, ok := byRef[ref.UID]; ok {
			continue
		}
		c, ok, err := find(ref, p.Namespace)
		if err != nil {
			return 0, nil, fmt.Errorf("finding the controller of pod %q: %w", p.Name, err)
		}
		if !ok {
			return 0, nil, fmt.Errorf("found no controllers for pod %q", p.Name)
		}
		byRef[ref.UID] = c.uid
		scales[c.uid] = c.scale
	}
	var sum int32
	for _, n := range scales {
		sum += n
	}
	return sum, unmanaged, nil
}

// disrupted is the outcome of pruning a budget's status.disruptedPods.
type disrupted struct {
	// live is what stays: pods evicted less than DeletionTimeout ago that
	// still exist and are not being deleted yet.
	live map[string]metav1.Time
	// expired lists the selected pods whose eviction should have deleted them
	// by now but did not.
	expired []*corev1.Pod
	// recheck is when the earliest live entry expires; zero if none.
	recheck time.Time
}

// pruneDisrupted drops the entries of disruptedPods whose pod is gone, being
// deleted (it no longer counts as healthy anyway), or evicted more than
// DeletionTimeout ago, as upstream's buildDisruptedPodMap.
func pruneDisrupted(disruptedPods map[string]metav1.Time, pods []*corev1.Pod, now time.Time) disrupted {
	out := disrupted{live: map[string]metav1.Time{}}
	if len(disruptedPods) == 0 {
		return out
	}
	for _, p := range pods {
		if p.DeletionTimestamp != nil {
			continue
		}
		at, ok := disruptedPods[p.Name]
		if !ok {
			continue
		}
		expires := at.Add(DeletionTimeout)
		if expires.Before(now) {
			out.expired = append(out.expired, p)
			continue
		}
		out.live[p.Name] = at
		if out.recheck.IsZero() || expires.Before(out.recheck) {
			out.recheck = expires
		}
	}
	return out
}

// countHealthy counts the pods that are Ready, not being deleted and not
// recently evicted.
func countHealthy(pods []*corev1.Pod, live map[string]metav1.Time, now time.Time) int32 {
	var n int32
	for _, p := range pods {
		if p.DeletionTimestamp != nil {
			continue
		}
		if at, ok := live[p.Name]; ok && at.Add(DeletionTimeout).After(now) {
			continue
		}
		if podReady(p) {
			n++
		}
	}
	return n
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// nextStatus is the status a budget should have: its counts, the disruptions
// allowed (none while it expects no pods, so that a budget whose pods are just
// appearing is safe before it is computed), and the DisruptionAllowed
// condition. cur's condition keeps its transition time if its status stays.
func nextStatus(pdb *policyv1.PodDisruptionBudget, b budget, healthy int32, live map[string]metav1.Time, now time.Time) policyv1.PodDisruptionBudgetStatus {
	allowed := healthy - b.desiredHealthy
	if b.expected <= 0 || allowed <= 0 {
		allowed = 0
	}
	st := policyv1.PodDisruptionBudgetStatus{
		ObservedGeneration: pdb.Generation,
		DisruptedPods:      live,
		DisruptionsAllowed: allowed,
		CurrentHealthy:     healthy,
		DesiredHealthy:     b.desiredHealthy,
		ExpectedPods:       b.expected,
		Conditions:         copyConditions(pdb.Status.Conditions),
	}
	cond := metav1.Condition{
		Type:               policyv1.DisruptionAllowedCondition,
		Status:             metav1.ConditionFalse,
		Reason:             policyv1.InsufficientPodsReason,
		ObservedGeneration: st.ObservedGeneration,
		LastTransitionTime: metav1.NewTime(now),
	}
	if allowed > 0 {
		cond.Status, cond.Reason = metav1.ConditionTrue, policyv1.SufficientPodsReason
	}
	apimeta.SetStatusCondition(&st.Conditions, cond)
	return st
}

// failedStatus is the status of a budget whose computation failed with err:
// no disruption allowed, and the DisruptionAllowed condition False with
// reason SyncFailed and err's message. The rest is kept, observedGeneration
// included, as upstream's failSafe.
func failedStatus(pdb *policyv1.PodDisruptionBudget, err error, now time.Time) policyv1.PodDisruptionBudgetStatus {
	st := *pdb.Status.DeepCopy()
	st.DisruptionsAllowed = 0
	apimeta.SetStatusCondition(&st.Conditions, metav1.Condition{
		Type:               policyv1.DisruptionAllowedCondition,
		Status:             metav1.ConditionFalse,
		Reason:             policyv1.SyncFailedReason,
		Message:            err.Error(),
		ObservedGeneration: st.ObservedGeneration,
		LastTransitionTime: metav1.NewTime(now),
	})
	return st
}

func copyConditions(in []metav1.Condition) []metav1.Condition {
	if in == nil {
		return nil
	}
	out := make([]metav1.Condition, len(in))
	copy(out, in)
	return out
}

// The kinds whose scale a percentage is of, and the API groups that name
// them, as upstream's finders.
var (
	kindRC  = schema.GroupKind{Kind: "ReplicationController"}
	kindRS  = schema.GroupKind{Group: "apps", Kind: "ReplicaSet"}
	kindDep = schema.GroupKind{Group: "apps", Kind: "Deployment"}
	kindSS  = schema.GroupKind{Group: "apps", Kind: "StatefulSet"}
)

// workloads reads the controllers of pods by namespace and name (informer
// caches, or maps in tests).
type workloads struct {
	rcs  func(namespace, name string) (*corev1.ReplicationController, bool)
	rss  func(namespace, name string) (*appsv1.ReplicaSet, bool)
	deps func(namespace, name string) (*appsv1.Deployment, bool)
	sss  func(namespace, name string) (*appsv1.StatefulSet, bool)
}

// find is a scaleFinder over ReplicationControllers, Deployments (through
// the ReplicaSet a pod names), ReplicaSets no Deployment controls, and
// StatefulSets. A reference whose UID differs from the object's is to an
// object that is gone: not found.
func (w workloads) find(ref *metav1.OwnerReference, namespace string) (scaled, bool, error) {
	gk, err := groupKind(ref)
	if err != nil {
		return scaled{}, false, err
	}
	switch gk {
	case kindRC:
		rc, ok := w.rcs(namespace, ref.Name)
		if !ok || rc.UID != ref.UID {
			return scaled{}, false, nil
		}
		return scaled{rc.UID, replicas(rc.Spec.Replicas)}, true, nil
	case kindRS:
		rs, ok := w.rss(namespace, ref.Name)
		if !ok || rs.UID != ref.UID {
			return scaled{}, false, nil
		}
		owner := metav1.GetControllerOf(rs)
		if owner == nil {
			return scaled{rs.UID, replicas(rs.Spec.Replicas)}, true, nil
		}
		ogk, err := groupKind(owner)
		if err != nil {
			return scaled{}, false, err
		}
		if ogk != kindDep {
			if owner.Kind == kindDep.Kind {
				// A Deployment of another group: upstream skips the
				// ReplicaSet and finds nothing.
				return scaled{}, false, nil
			}
			return scaled{rs.UID, replicas(rs.Spec.Replicas)}, true, nil
		}
		d, ok := w.deps(namespace, owner.Name)
		if !ok || d.UID != owner.UID {
			return scaled{}, false, nil
		}
		return scaled{d.UID, replicas(d.Spec.Replicas)}, true, nil
	case kindSS:
		ss, ok := w.sss(namespace, ref.Name)
		if !ok || ss.UID != ref.UID {
			return scaled{}, false, nil
		}
		return scaled{ss.UID, replicas(ss.Spec.Replicas)}, true, nil
	}
	return scaled{}, false, nil
}

// groupKind is the group and kind an ownerReference names, with the legacy
// extensions group read as apps (upstream's finders accept both).
func groupKind(ref *metav1.OwnerReference) (schema.GroupKind, error) {
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return schema.GroupKind{}, fmt.Errorf("ownerReference to %s %q: %w", ref.Kind, ref.Name, err)
	}
	if gv.Group == "extensions" && (ref.Kind == kindRS.Kind || ref.Kind == kindDep.Kind) {
		gv.Group = "apps"
	}
	return schema.GroupKind{Group: gv.Group, Kind: ref.Kind}, nil
}

// replicas is spec.replicas, which the apiserver defaults to 1.
func replicas(p *int32) int32 {
	if p == nil {
		return 1
	}
	return *p
}
