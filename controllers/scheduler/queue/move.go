package queue

import (
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/component-helpers/resource"
)

// MoveAll says the cluster changed (upstream's
// MoveAllToActiveOrBackoffQueue): every unschedulable pod rejected by a
// plugin interested in ev (Config.Interests; all of them when Interests is
// nil or ev is {WildCard, All}) moves to backoff if its back-off has not
// ended yet, else to active. In-flight pods rejected by such a plugin will go
// to backoff rather than unschedulable when they come back. oldObj and newObj
// are the changed object's versions (nil when not known); this queue does
// not look into them: it has no per-plugin hints beyond Interests.
func (q *Queue) MoveAll(ev Event, oldObj, newObj any) {
	q.mu.Lock()
	defer q.mu.Unlock()
	in := q.interestedLocked(ev)
	if !in.all && len(in.plugins) == 0 {
		return
	}
	q.moveInterestedLocked(in, ev)
}

// moveInterestedLocked records a move request for in and moves every
// unschedulable pod it may help. Unschedulable pods always have rejecting
// plugins (the others went to backoff), so the plugin index finds them all.
func (q *Queue) moveInterestedLocked(in interest, ev Event) {
	q.recordMoveLocked(in)
	if in.all {
		for _, qp := range q.unschedulable {
			q.moveLocked(qp, ev)
		}
		return
	}
	for _, p := range in.plugins {
		// removeLocked deletes from the map being ranged over (allowed), and
		// from the other plugins' maps, so no pod is moved twice.
		for _, qp := range q.byPlugin[p] {
			q.moveLocked(qp, ev)
		}
	}
}

// moveLocked moves an unschedulable pod to backoff or active because of ev.
func (q *Queue) moveLocked(qp *QueuedPod, ev Event) {
	q.removeLocked(qp)
	q.requeueLocked(qp, ev.label())
}

// AssignedPodAdded says a pod was bound (or a bound pod appeared). It may
// help unschedulable pods with a required pod-affinity term that the new pod
// matches, and pods rejected by PodTopologySpread with a DoNotSchedule
// constraint whose selector the new pod matches in their namespace (upstream's
// getUnschedulablePodsWithCrossTopologyTerm and the plugins' queueing hints);
// of those, the pods whose rejecting plugins are interested in
// {Pod, Add} move.
func (q *Queue) AssignedPodAdded(pod *corev1.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.moveCrossTopologyLocked(Event{Resource: Pod, Action: Add, Label: labelAssignedPodAdd}, nil, pod)
}

// AssignedPodUpdated says a bound pod changed. Lower requests (in-place
// resize) may help every pod rejected by a plugin interested in
// {Pod, UpdatePodScaleDown}; new labels may help pods whose affinity or
// spread selectors match the new labels, or whose anti-affinity matched the
// old ones but not the new, among those whose plugins are interested in
// {Pod, UpdatePodLabel}. Other changes of a bound pod move nothing.
func (q *Queue) AssignedPodUpdated(oldPod, newPod *corev1.Pod) {
	action := assignedPodUpdateAction(oldPod, newPod)
	if action == None {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if action&UpdatePodScaleDown != 0 {
		ev := Event{Resource: Pod, Action: UpdatePodScaleDown, Label: labelAssignedPodUpdate}
		in := q.interestedLocked(ev)
		if in.all || len(in.plugins) > 0 {
			q.moveInterestedLocked(in, ev)
		}
	}
	if action&UpdatePodLabel != 0 {
		q.moveCrossTopologyLocked(Event{Resource: Pod, Action: UpdatePodLabel, Label: labelAssignedPodUpdate}, oldPod, newPod)
	}
}

// moveCrossTopologyLocked moves the unschedulable pods that a bound pod's
// appearance (oldPod nil) or relabelling may help, among those interested in ev.
func (q *Queue) moveCrossTopologyLocked(ev Event, oldPod, newPod *corev1.Pod) {
	in := q.interestedLocked(ev)
	if !in.all && len(in.plugins) == 0 {
		return
	}
	q.recordMoveLocked(in)
	for _, qp := range q.crossTopology {
		if podInterested(qp, in) && q.helpedByLocked(qp, oldPod, newPod) {
			q.moveLocked(qp, ev)
		}
	}
}

// helpedByLocked reports whether the bound pod's change from oldPod (nil:
// it is new) to newPod may help qp.
func (q *Queue) helpedByLocked(qp *QueuedPod, oldPod, newPod *corev1.Pod) bool {
	t := q.termsLocked(qp)
	if qp.UnschedulablePlugins.Has(podTopologySpread) && newPod.Namespace == qp.Pod.Namespace {
		if t.spreadMatches(newPod) || oldPod != nil && t.spreadMatches(oldPod) {
			return true
		}
	}
	for _, term := range t.affinity {
		if term.matches(newPod) {
			return true
		}
	}
	if oldPod != nil {
		for _, term := range t.antiAffinity {
			if term.matches(oldPod) && !term.matches(newPod) {
				return true
			}
		}
	}
	return false
}

// assignedPodUpdateAction is what changed in a bound pod that may matter to
// pending pods: its labels and lower requests (upstream's
// PodSchedulingPropertiesChange, without status resources).
func assignedPodUpdateAction(oldPod, newPod *corev1.Pod) ActionType {
	var a ActionType
	if !equality.Semantic.DeepEqual(oldPod.Labels, newPod.Labels) {
		a |= UpdatePodLabel
	}
	if requestsMayDiffer(oldPod, newPod) && scaledDown(oldPod, newPod) {
		a |= UpdatePodScaleDown
	}
	return a
}

// requestsMayDiffer is a cheap test before computing requests: bound pods are
// updated often (status), their resources rarely.
func requestsMayDiffer(a, b *corev1.Pod) bool {
	if len(a.Spec.Containers) != len(b.Spec.Containers) || len(a.Spec.InitContainers) != len(b.Spec.InitContainers) {
		return true
	}
	for i := range a.Spec.Containers {
		if !equality.Semantic.DeepEqual(a.Spec.Containers[i].Resources.Requests, b.Spec.Containers[i].Resources.Requests) {
			return true
		}
	}
	for i := range a.Spec.InitContainers {
		if !equality.Semantic.DeepEqual(a.Spec.InitContainers[i].Resources.Requests, b.Spec.InitContainers[i].Resources.Requests) {
			return true
		}
	}
	return !equality.Semantic.DeepEqual(a.Spec.Overhead, b.Spec.Overhead) ||
		!equality.Semantic.DeepEqual(a.Spec.Resources, b.Spec.Resources)
}

// scaledDown reports whether some request of newPod is lower than oldPod's,
// or gone.
func scaledDown(oldPod, newPod *corev1.Pod) bool {
	oldReq := resource.PodRequests(oldPod, resource.PodResourcesOptions{})
	newReq := resource.PodRequests(newPod, resource.PodResourcesOptions{})
	for name, o := range oldReq {
		n, ok := newReq[name]
		if !ok || o.MilliValue() > n.MilliValue() {
			return true
		}
	}
	return false
}

// interestedLocked returns which plugins ev may help, cached by event.
func (q *Queue) interestedLocked(ev Event) interest {
	if q.interests == nil || ev.isWildCard() {
		return interest{all: true}
	}
	key := Event{Resource: ev.Resource, Action: ev.Action}
	if in, ok := q.interestOf[key]; ok {
		return in
	}
	var in interest
	for plugin, evs := range q.interests {
		for _, e := range evs {
			if e.Matches(ev) {
				in.plugins = append(in.plugins, plugin)
				break
			}
		}
	}
	slices.Sort(in.plugins)
	q.interestOf[key] = in
	return in
}

// recordMoveLocked remembers that an event of interest came in this cycle,
// for the in-flight pods (upstream's moveRequestCycle, per plugin).
func (q *Queue) recordMoveLocked(in interest) {
	if in.all {
		q.moveAll = q.cycle
		return
	}
	for _, p := range in.plugins {
		q.movePlugin[p] = q.cycle
	}
}

// movedSinceLocked reports whether an event that may help a pod rejected by
// plugins came during or after cycle.
func (q *Queue) movedSinceLocked(plugins sets.Set[string], cycle int64) bool {
	if q.moveAll >= cycle {
		return true
	}
	for p := range plugins {
		if c, ok := q.movePlugin[p]; ok && c >= cycle {
			return true
		}
	}
	return false
}

// podInterested reports whether an event of interest in may help qp: it was
// rejected by one of in's plugins, or by none (an error; upstream moves
// those on every event).
func podInterested(qp *QueuedPod, in interest) bool {
	if in.all || len(qp.UnschedulablePlugins) == 0 {
		return true
	}
	for _, p := range in.plugins {
		if qp.UnschedulablePlugins.Has(p) {
			return true
		}
	}
	return false
}

// podTerms are a pending pod's selectors that bound pods may come to satisfy.
type podTerms struct {
	affinity, antiAffinity []affinityTerm    // required terms only
	spread                 []labels.Selector // DoNotSchedule constraints only
}

func (t *podTerms) any() bool {
	return len(t.affinity) > 0 || len(t.antiAffinity) > 0
}

// affinityTerm is a parsed required pod (anti-)affinity term.
type affinityTerm struct {
	namespaces []string
	// anyNamespace is set for terms with a namespaceSelector: the queue
	// does not see namespace labels, so it assumes the selector may match
	// (moving a pod too many is safe; one too few strands it).
	anyNamespace bool
	selector     labels.Selector
}

func (t affinityTerm) matches(pod *corev1.Pod) bool {
	if !t.anyNamespace && !slices.Contains(t.namespaces, pod.Namespace) {
		return false
	}
	return t.selector.Matches(labels.Set(pod.Labels))
}

func (t *podTerms) spreadMatches(pod *corev1.Pod) bool {
	set := labels.Set(pod.Labels)
	for _, s := range t.spread {
		if s.Matches(set) {
			return true
		}
	}
	return false
}

// termsLocked returns qp's parsed terms, parsing them on first use.
func (q *Queue) termsLocked(qp *QueuedPod) *podTerms {
	if qp.terms == nil {
		qp.terms = parseTerms(qp.Pod)
	}
	return qp.terms
}

func parseTerms(pod *corev1.Pod) *podTerms {
	t := &podTerms{}
	if a := pod.Spec.Affinity; a != nil {
		if a.PodAffinity != nil {
			t.affinity = parseAffinityTerms(pod, a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution)
		}
		if a.PodAntiAffinity != nil {
			t.antiAffinity = parseAffinityTerms(pod, a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution)
		}
	}
	for _, c := range pod.Spec.TopologySpreadConstraints {
		if c.WhenUnsatisfiable != corev1.DoNotSchedule {
			continue
		}
		t.spread = append(t.spread, selectorOrEverything(c.LabelSelector))
	}
	return t
}

func parseAffinityTerms(pod *corev1.Pod, terms []corev1.PodAffinityTerm) []affinityTerm {
	out := make([]affinityTerm, 0, len(terms))
	for _, term := range terms {
		at := affinityTerm{
			namespaces:   term.Namespaces,
			anyNamespace: term.NamespaceSelector != nil,
			selector:     selectorOrEverything(term.LabelSelector),
		}
		if len(at.namespaces) == 0 && !at.anyNamespace {
			at.namespaces = []string{pod.Namespace}
		}
		out = append(out, at)
	}
	return out
}

// selectorOrEverything parses s as upstream does (nil selects nothing); a
// selector that does not parse selects everything, so that the pod is moved
// rather than stranded.
func selectorOrEverything(s *metav1.LabelSelector) labels.Selector {
	sel, err := metav1.LabelSelectorAsSelector(s)
	if err != nil {
		return labels.Everything()
	}
	return sel
}
