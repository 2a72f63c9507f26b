package framework

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/util/sets"
)

// AffinityTerm is a parsed PodAffinityTerm: a pod matches it when it lives in
// one of Namespaces, or in a namespace whose labels NamespaceSelector
// matches, and its labels match Selector.
type AffinityTerm struct {
	Namespaces        sets.Set[string]
	Selector          labels.Selector
	TopologyKey       string
	NamespaceSelector labels.Selector

	// onlyNamespace is set when Namespaces is that one name and
	// NamespaceSelector is Nothing: the common case, matched without a map.
	onlyNamespace string
}

// WeightedAffinityTerm is a preferred term and its weight.
type WeightedAffinityTerm struct {
	AffinityTerm
	Weight int32
}

// Matches reports whether pod matches the term; nsLabels are the labels of
// pod's namespace (nil when unknown, which only an empty selector matches).
func (t *AffinityTerm) Matches(pod *corev1.Pod, nsLabels labels.Set) bool {
	if t.Namespaces.Has(pod.Namespace) || t.NamespaceSelector.Matches(nsLabels) {
		return t.Selector.Matches(labels.Set(pod.Labels))
	}
	return false
}

// matchesWith is Matches with the namespace labels looked up only when the
// namespace selector could need them.
func (t *AffinityTerm) matchesWith(pod *corev1.Pod, nsLabels func(string) labels.Set) bool {
	if t.onlyNamespace != "" {
		if pod.Namespace != t.onlyNamespace {
			return false
		}
	} else if !t.Namespaces.Has(pod.Namespace) {
		// labels.Everything() is Empty and matches all; Nothing() is not.
		if !t.NamespaceSelector.Empty() && (nsLabels == nil || !t.NamespaceSelector.Matches(nsLabels(pod.Namespace))) {
			return false
		}
	}
	return t.Selector.Matches(labels.Set(pod.Labels))
}

func newAffinityTerm(pod *corev1.Pod, term *corev1.PodAffinityTerm) (AffinityTerm, error) {
	sel, err := metav1.LabelSelectorAsSelector(term.LabelSelector)
	if err != nil {
		return AffinityTerm{}, err
	}
	// matchLabelKeys / mismatchLabelKeys: the pod's own values join the
	// selector, as the apiserver does upstream when the pod is created.
	for _, k := range term.MatchLabelKeys {
		if v, ok := pod.Labels[k]; ok {
			r, err := labels.NewRequirement(k, selection.In, []string{v})
			if err != nil {
				return AffinityTerm{}, err
			}
			sel = sel.Add(*r)
		}
	}
	for _, k := range term.MismatchLabelKeys {
		if v, ok := pod.Labels[k]; ok {
			r, err := labels.NewRequirement(k, selection.NotIn, []string{v})
			if err != nil {
				return AffinityTerm{}, err
			}
			sel = sel.Add(*r)
		}
	}
	ns := sets.New[string]()
	if len(term.Namespaces) == 0 && term.NamespaceSelector == nil {
		ns.Insert(pod.Namespace)
	} else {
		ns.Insert(term.Namespaces...)
	}
	nsSel, err := metav1.LabelSelectorAsSelector(term.NamespaceSelector)
	if err != nil {
		return AffinityTerm{}, err
	}
	at := AffinityTerm{Namespaces: ns, Selector: sel, TopologyKey: term.TopologyKey, NamespaceSelector: nsSel}
	if _, selectable := nsSel.Requirements(); !selectable && ns.Len() == 1 {
		at.onlyNamespace = sets.List(ns)[0]
	}
	return at, nil
}

func (pi *PodInfo) parseAffinity() {
	a := pi.Pod.Spec.Affinity
	if a == nil {
		return
	}
	fail := func(kind string, i int, err error) {
		if pi.ParseErr == nil {
			pi.ParseErr = fmt.Errorf("parsing pod %s/%s %s term %d: %w", pi.Pod.Namespace, pi.Pod.Name, kind, i, err)
		}
	}
	required := func(kind string, terms []corev1.PodAffinityTerm) []AffinityTerm {
		var out []AffinityTerm
		for i := range terms {
			t, err := newAffinityTerm(pi.Pod, &terms[i])
			if err != nil {
				fail(kind, i, err)
				continue
			}
			out = append(out, t)
		}
		return out
	}
	preferred := func(kind string, terms []corev1.WeightedPodAffinityTerm) []WeightedAffinityTerm {
		var out []WeightedAffinityTerm
		for i := range terms {
			t, err := newAffinityTerm(pi.Pod, &terms[i].PodAffinityTerm)
			if err != nil {
				fail(kind, i, err)
				continue
			}
			out = append(out, WeightedAffinityTerm{AffinityTerm: t, Weight: terms[i].Weight})
		}
		return out
	}
	if pa := a.PodAffinity; pa != nil {
		pi.RequiredAffinityTerms = required("required pod affinity", pa.RequiredDuringSchedulingIgnoredDuringExecution)
		pi.PreferredAffinityTerms = preferred("preferred pod affinity", pa.PreferredDuringSchedulingIgnoredDuringExecution)
	}
	if pa := a.PodAntiAffinity; pa != nil {
		pi.RequiredAntiAffinityTerms = required("required pod anti-affinity", pa.RequiredDuringSchedulingIgnoredDuringExecution)
		pi.PreferredAntiAffinityTerms = preferred("preferred pod anti-affinity", pa.PreferredDuringSchedulingIgnoredDuringExecution)
	}
}

func (pi *PodInfo) hasAffinity() bool {
	return len(pi.RequiredAffinityTerms) > 0 || len(pi.RequiredAntiAffinityTerms) > 0 ||
		len(pi.PreferredAffinityTerms) > 0 || len(pi.PreferredAntiAffinityTerms) > 0
}

// podMatchesAllAffinityTerms: pod matches every term (and there is one).
// Namespace selectors of the incoming pod's own terms are judged without
// namespace labels, as upstream after merging them into Namespaces.
func podMatchesAllAffinityTerms(terms []AffinityTerm, pod *corev1.Pod, nsLabels func(string) labels.Set) bool {
	if len(terms) == 0 {
		return false
	}
	for i := range terms {
		if !terms[i].matchesWith(pod, nsLabels) {
			return false
		}
	}
	return true
}

// nodeSelector matches nodes against NodeSelectorTerms (ORed) like
// component-helpers' LazyErrorNodeSelector, without allocating per node: a
// term that fails to parse matches nothing.
type nodeSelector struct {
	terms []nodeSelectorTerm
}

type nodeSelectorTerm struct {
	labels labels.Selector // nil: no label requirements
	fields []nodeFieldReq  // metadata.name requirements, ANDed
	bad    bool
	weight int32
}

type nodeFieldReq struct {
	notIn bool
	value string
}

func newNodeSelectorTerm(t *corev1.NodeSelectorTerm) (nodeSelectorTerm, bool) {
	if len(t.MatchExpressions) == 0 && len(t.MatchFields) == 0 {
		return nodeSelectorTerm{}, false // an empty term matches nothing
	}
	var out nodeSelectorTerm
	if len(t.MatchExpressions) > 0 {
		sel := labels.NewSelector()
		for _, e := range t.MatchExpressions {
			var op selection.Operator
			switch e.Operator {
			case corev1.NodeSelectorOpIn:
				op = selection.In
			case corev1.NodeSelectorOpNotIn:
				op = selection.NotIn
			case corev1.NodeSelectorOpExists:
				op = selection.Exists
			case corev1.NodeSelectorOpDoesNotExist:
				op = selection.DoesNotExist
			case corev1.NodeSelectorOpGt:
				op = selection.GreaterThan
			case corev1.NodeSelectorOpLt:
				op = selection.LessThan
			default:
				out.bad = true
				continue
			}
			r, err := labels.NewRequirement(e.Key, op, e.Values)
			if err != nil {
				out.bad = true
				continue
			}
			sel = sel.Add(*r)
		}
		out.labels = sel
	}
	for _, f := range t.MatchFields {
		if f.Key != "metadata.name" || len(f.Values) != 1 ||
			(f.Operator != corev1.NodeSelectorOpIn && f.Operator != corev1.NodeSelectorOpNotIn) {
			// Upstream accepts other field keys but no node has them, so the
			// requirement (In) cannot match; NotIn of an absent field matches.
			if f.Operator == corev1.NodeSelectorOpNotIn && len(f.Values) == 1 {
				continue
			}
			out.bad = true
			continue
		}
		out.fields = append(out.fields, nodeFieldReq{notIn: f.Operator == corev1.NodeSelectorOpNotIn, value: f.Values[0]})
	}
	return out, true
}

func newNodeSelector(ns *corev1.NodeSelector) *nodeSelector {
	s := &nodeSelector{}
	for i := range ns.NodeSelectorTerms {
		if t, ok := newNodeSelectorTerm(&ns.NodeSelectorTerms[i]); ok {
			s.terms = append(s.terms, t)
		}
	}
	return s
}

func (t *nodeSelectorTerm) matches(node *corev1.Node) bool {
	if t.bad {
		return false
	}
	if t.labels != nil && !t.labels.Matches(labels.Set(node.Labels)) {
		return false
	}
	if node.Name != "" {
		for _, f := range t.fields {
			if (node.Name == f.value) == f.notIn {
				return false
			}
		}
	}
	return true
}

func (s *nodeSelector) matches(node *corev1.Node) bool {
	for i := range s.terms {
		if s.terms[i].matches(node) {
			return true
		}
	}
	return false
}

// requiredNodeAffinity is the pod's nodeSelector and required node affinity
// (upstream's nodeaffinity.RequiredNodeAffinity).
type requiredNodeAffinity struct {
	selector labels.Selector // nodeSelector; nil when empty
	affinity *nodeSelector   // nil when none
}

func newRequiredNodeAffinity(pod *corev1.Pod) requiredNodeAffinity {
	var r requiredNodeAffinity
	if len(pod.Spec.NodeSelector) > 0 {
		r.selector = labels.SelectorFromSet(pod.Spec.NodeSelector)
	}
	if a := pod.Spec.Affinity; a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
		r.affinity = newNodeSelector(a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution)
	}
	return r
}

func (r *requiredNodeAffinity) empty() bool { return r.selector == nil && r.affinity == nil }

func (r *requiredNodeAffinity) matches(node *corev1.Node) bool {
	if r.selector != nil && !r.selector.Matches(labels.Set(node.Labels)) {
		return false
	}
	if r.affinity != nil {
		return r.affinity.matches(node)
	}
	return true
}

// preferredNodeAffinity is the pod's preferred node affinity terms.
type preferredNodeAffinity struct {
	terms []nodeSelectorTerm
}

func newPreferredNodeAffinity(pod *corev1.Pod) *preferredNodeAffinity {
	a := pod.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || len(a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution) == 0 {
		return nil
	}
	p := &preferredNodeAffinity{}
	for _, pt := range a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
		if pt.Weight == 0 {
			continue
		}
		t, ok := newNodeSelectorTerm(&pt.Preference)
		if !ok || t.bad {
			continue
		}
		t.weight = pt.Weight
		p.terms = append(p.terms, t)
	}
	if len(p.terms) == 0 {
		return nil
	}
	return p
}

func (p *preferredNodeAffinity) score(node *corev1.Node) int64 {
	var s int64
	for i := range p.terms {
		if p.terms[i].matches(node) {
			s += int64(p.terms[i].weight)
		}
	}
	return s
}
