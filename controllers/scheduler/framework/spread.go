package framework

import (
	"fmt"
	"math"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
)

// System default spreading (upstream's systemDefaultConstraints), applied
// when scoring a pod that has no constraints of its own but has a spreading
// selector (see Config.SpreadSelector).
var systemDefaultConstraints = []corev1.TopologySpreadConstraint{
	{TopologyKey: corev1.LabelHostname, WhenUnsatisfiable: corev1.ScheduleAnyway, MaxSkew: 3},
	{TopologyKey: corev1.LabelTopologyZone, WhenUnsatisfiable: corev1.ScheduleAnyway, MaxSkew: 5},
}

// isPerPodLabel: labels a controller stamps on each pod individually; a
// selector built from a pod's labels must leave them out, or it would match
// only that pod (or only one revision).
func isPerPodLabel(k string) bool {
	switch k {
	case "statefulset.kubernetes.io/pod-name", "apps.kubernetes.io/pod-index",
		"controller-revision-hash", "pod-template-generation":
		return true
	}
	return false
}

// DefaultSpreadSelector is tend's stand-in for upstream's helper.DefaultSelector
// (the union of the selectors of the Services, ReplicationControllers,
// ReplicaSets and StatefulSets that select the pod): when the pod's
// controller (ownerReference with controller=true) is a ReplicaSet,
// ReplicationController or StatefulSet, the pod's labels minus the per-pod
// ones the controllers add; otherwise an empty selector, which means no
// default spreading (as upstream's empty DefaultSelector). Pods selected only
// by a Service are not spread.
func DefaultSpreadSelector(pod *corev1.Pod) labels.Selector {
	ref := metav1.GetControllerOfNoCopy(pod)
	if ref == nil || len(pod.Labels) == 0 {
		return labels.NewSelector()
	}
	switch ref.Kind {
	case "ReplicaSet", "ReplicationController", "StatefulSet":
	default:
		return labels.NewSelector()
	}
	set := make(labels.Set, len(pod.Labels))
	for k, v := range pod.Labels {
		if !isPerPodLabel(k) {
			set[k] = v
		}
	}
	return labels.SelectorFromValidatedSet(set)
}

// spreadConstraint is a parsed TopologySpreadConstraint, defaults applied.
type spreadConstraint struct {
	maxSkew       int32
	topologyKey   string
	selector      labels.Selector
	minDomains    int32
	honorAffinity bool // nodeAffinityPolicy Honor (the default)
	honorTaints   bool // nodeTaintsPolicy Honor (default Ignore)
	selfMatch     int  // 1 when the incoming pod matches selector
}

func parseSpreadConstraints(pod *corev1.Pod, cs []corev1.TopologySpreadConstraint, action corev1.UnsatisfiableConstraintAction) ([]spreadConstraint, error) {
	var out []spreadConstraint
	for _, c := range cs {
		if c.WhenUnsatisfiable != action {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(c.LabelSelector)
		if err != nil {
			return nil, fmt.Errorf("pod %s/%s topology spread constraint on %q: %w", pod.Namespace, pod.Name, c.TopologyKey, err)
		}
		for _, k := range c.MatchLabelKeys {
			if v, ok := pod.Labels[k]; ok {
				r, err := labels.NewRequirement(k, selection.Equals, []string{v})
				if err != nil {
					return nil, fmt.Errorf("pod %s/%s topology spread constraint on %q: %w", pod.Namespace, pod.Name, c.TopologyKey, err)
				}
				sel = sel.Add(*r)
			}
		}
		sc := spreadConstraint{
			maxSkew:       c.MaxSkew,
			topologyKey:   c.TopologyKey,
			selector:      sel,
			minDomains:    1,
			honorAffinity: c.NodeAffinityPolicy == nil || *c.NodeAffinityPolicy == corev1.NodeInclusionPolicyHonor,
			honorTaints:   c.NodeTaintsPolicy != nil && *c.NodeTaintsPolicy == corev1.NodeInclusionPolicyHonor,
		}
		if c.MinDomains != nil {
			sc.minDomains = *c.MinDomains
		}
		if sel.Matches(labels.Set(pod.Labels)) {
			sc.selfMatch = 1
		}
		out = append(out, sc)
	}
	return out, nil
}

// matchesInclusionPolicies: does node count for the constraint's domains?
func (c *spreadConstraint) matchesInclusionPolicies(cs *cycleState, node *corev1.Node) bool {
	if c.honorAffinity && !cs.nodeAffinity.empty() && !cs.nodeAffinity.matches(node) {
		return false
	}
	if c.honorTaints {
		if _, bad := untoleratedTaint(node.Spec.Taints, cs.pod.Spec.Tolerations); bad {
			return false
		}
	}
	return true
}

func hasAllTopologyKeys(node *corev1.Node, cs []spreadConstraint) bool {
	for i := range cs {
		if _, ok := node.Labels[cs[i].topologyKey]; !ok {
			return false
		}
	}
	return true
}

// countPodsMatching is upstream's countPodsMatchSelector: pods of namespace
// ns matching sel, not terminating; an empty selector counts nothing.
func countPodsMatching(pods []*PodInfo, sel labels.Selector, ns string) int {
	if sel.Empty() {
		return 0
	}
	n := 0
	for _, p := range pods {
		if p.Pod.DeletionTimestamp != nil || p.Pod.Namespace != ns {
			continue
		}
		if sel.Matches(labels.Set(p.Pod.Labels)) {
			n++
		}
	}
	return n
}

// spreadFilterState is PodTopologySpread's PreFilter state: for each
// DoNotSchedule constraint, the matching pods per topology value over the
// eligible nodes, and the global minimum.
type spreadFilterState struct {
	constraints []spreadConstraint
	counts      []map[string]int
	min         []int // math.MaxInt32 when there is no domain
}

func (s *spreadFilterState) clone() *spreadFilterState {
	if s == nil {
		return nil
	}
	c := &spreadFilterState{constraints: s.constraints, counts: make([]map[string]int, len(s.counts)), min: append([]int(nil), s.min...)}
	for i, m := range s.counts {
		cm := make(map[string]int, len(m))
		for k, v := range m {
			cm[k] = v
		}
		c.counts[i] = cm
	}
	return c
}

func (s *spreadFilterState) recomputeMin(i int) {
	m := math.MaxInt32
	for _, n := range s.counts[i] {
		if n < m {
			m = n
		}
	}
	s.min[i] = m
}

// preFilterSpread counts once per pod what Filter then looks up per node.
func (f *Framework) preFilterSpread(cs *cycleState) (*spreadFilterState, error) {
	pod := cs.pod
	if len(pod.Spec.TopologySpreadConstraints) == 0 {
		return nil, nil // the system defaults are all ScheduleAnyway
	}
	constraints, err := parseSpreadConstraints(pod, pod.Spec.TopologySpreadConstraints, corev1.DoNotSchedule)
	if err != nil || len(constraints) == 0 {
		return nil, err
	}
	s := &spreadFilterState{constraints: constraints, counts: make([]map[string]int, len(constraints)), min: make([]int, len(constraints))}
	for i := range constraints {
		s.counts[i] = make(map[string]int)
	}
	nodes := cs.snap.List
	nc := len(constraints)
	sels := make([]labels.Selector, nc)
	for i := range constraints {
		sels[i] = constraints[i].selector
	}
	// -1: the node does not count for that constraint.
	perNode := make([]int32, len(nodes)*nc)
	missed := make([]bool, len(nodes)*nc)
	pass := f.matches.begin(pod.Namespace, sels)
	f.parallelize(len(nodes), func(n int) {
		row := perNode[n*nc : (n+1)*nc]
		for i := range row {
			row[i] = -1
		}
		node := nodes[n].node
		if !hasAllTopologyKeys(node, constraints) {
			return
		}
		for i := range constraints {
			c := &constraints[i]
			if !c.matchesInclusionPolicies(cs, node) {
				continue
			}
			row[i], missed[n*nc+i] = pass.count(i, nodes[n])
		}
	}, nil)
	f.matches.end(pass, nodes, len(nodes), perNode, missed)
	for n := range nodes {
		for i := range constraints {
			if v := perNode[n*nc+i]; v >= 0 {
				s.counts[i][nodes[n].node.Labels[constraints[i].topologyKey]] += int(v)
			}
		}
	}
	for i := range constraints {
		s.recomputeMin(i)
	}
	return s, nil
}

// updateWithPod is upstream's PreFilterExtensions AddPod (delta 1) and
// RemovePod (-1): p appears on or leaves node.
func (s *spreadFilterState) updateWithPod(cs *cycleState, p *corev1.Pod, node *corev1.Node, delta int) {
	if s == nil || p.Namespace != cs.pod.Namespace || node == nil || !hasAllTopologyKeys(node, s.constraints) {
		return
	}
	for i := range s.constraints {
		c := &s.constraints[i]
		if !c.selector.Matches(labels.Set(p.Labels)) || !c.matchesInclusionPolicies(cs, node) {
			continue
		}
		v := node.Labels[c.topologyKey]
		s.counts[i][v] += delta
		s.recomputeMin(i)
	}
}

// filter: matching pods in the node's domain, plus the pod itself if it
// matches, minus the global minimum (0 while fewer than minDomains domains
// exist) may not exceed maxSkew.
func (s *spreadFilterState) filter(st *fixedStatuses, _ *cycleState, node *corev1.Node) *Status {
	for i := range s.constraints {
		c := &s.constraints[i]
		v, ok := node.Labels[c.topologyKey]
		if !ok {
			return st.spreadMissingLabel
		}
		minMatch := s.min[i]
		if len(s.counts[i]) < int(c.minDomains) {
			minMatch = 0
		}
		skew := s.counts[i][v] + c.selfMatch - minMatch
		if skew > int(c.maxSkew) {
			return st.spread
		}
	}
	return nil
}

// spreadScoreState is PodTopologySpread's PreScore state for the
// ScheduleAnyway constraints (or the system defaults).
type spreadScoreState struct {
	constraints []spreadConstraint
	// counts per non-hostname constraint: topology value → matching pods,
	// for the values of the feasible nodes.
	counts []map[string]int64
	// hostCounts[n*len(constraints)+i] is the matching pods on feasible
	// node n for hostname constraint i.
	hostCounts []int32
	// ignored[i] is set for feasible node i missing a topology key when the
	// constraints are the pod's own.
	ignored []bool
	weights []float64
}

// preScoreSpread is upstream's PodTopologySpread PreScore; nil means Skip.
func (f *Framework) preScoreSpread(cs *cycleState, feasible []*NodeInfo) (*spreadScoreState, error) {
	pod := cs.pod
	var constraints []spreadConstraint
	var err error
	systemDefaulted := len(pod.Spec.TopologySpreadConstraints) == 0
	if !systemDefaulted {
		constraints, err = parseSpreadConstraints(pod, pod.Spec.TopologySpreadConstraints, corev1.ScheduleAnyway)
		if err != nil {
			return nil, err
		}
	} else {
		sel := f.spreadSelector(pod)
		if sel == nil || sel.Empty() {
			return nil, nil
		}
		if _, selectable := sel.Requirements(); !selectable {
			return nil, nil // labels.Nothing()
		}
		constraints, _ = parseSpreadConstraints(pod, systemDefaultConstraints, corev1.ScheduleAnyway)
		for i := range constraints {
			constraints[i].selector = sel
			constraints[i].selfMatch = 0
			if sel.Matches(labels.Set(pod.Labels)) {
				constraints[i].selfMatch = 1
			}
		}
	}
	if len(constraints) == 0 {
		return nil, nil
	}
	requireAll := !systemDefaulted
	s := &spreadScoreState{
		constraints: constraints,
		counts:      make([]map[string]int64, len(constraints)),
		ignored:     make([]bool, len(feasible)),
		weights:     make([]float64, len(constraints)),
	}
	ignoredN := 0
	sizes := make([]int, len(constraints))
	anyZone := false
	for n, ni := range feasible {
		node := ni.node
		if requireAll && !hasAllTopologyKeys(node, constraints) {
			s.ignored[n] = true
			ignoredN++
			continue
		}
		for i := range constraints {
			if constraints[i].topologyKey == corev1.LabelHostname {
				continue
			}
			v, ok := node.Labels[constraints[i].topologyKey]
			if !ok {
				continue
			}
			if s.counts[i] == nil {
				s.counts[i] = make(map[string]int64)
			}
			if _, seen := s.counts[i][v]; !seen {
				s.counts[i][v] = 0
				sizes[i]++
				anyZone = true
			}
		}
	}
	for i := range constraints {
		sz := sizes[i]
		if constraints[i].topologyKey == corev1.LabelHostname {
			sz = len(feasible) - ignoredN
		}
		s.weights[i] = math.Log(float64(sz + 2))
	}
	nc := len(constraints)
	sels := make([]labels.Selector, nc)
	hostname := false
	for i := range constraints {
		sels[i] = constraints[i].selector
		hostname = hostname || constraints[i].topologyKey == corev1.LabelHostname
	}
	if hostname {
		// Per-node counts come from the match cache: between two pods of a
		// ReplicaSet only the nodes that changed are counted again, where
		// counting on every scored node cost O(pods) a pod.
		s.hostCounts = make([]int32, len(feasible)*nc)
		missed := make([]bool, len(feasible)*nc)
		pass := f.matches.begin(pod.Namespace, sels)
		f.parallelize(len(feasible), func(n int) {
			if s.ignored[n] {
				return
			}
			for i := range constraints {
				if constraints[i].topologyKey == corev1.LabelHostname {
					s.hostCounts[n*nc+i], missed[n*nc+i] = pass.count(i, feasible[n])
				}
			}
		}, nil)
		f.matches.end(pass, feasible, len(cs.snap.List), s.hostCounts, missed)
	}
	if !anyZone {
		return s, nil
	}
	// Count matching pods over every node of those domains, not only the
	// feasible ones.
	all := cs.snap.List
	perNode := make([]int32, len(all)*nc)
	missed := make([]bool, len(all)*nc)
	pass := f.matches.begin(pod.Namespace, sels)
	f.parallelize(len(all), func(n int) {
		row := perNode[n*nc : (n+1)*nc]
		node := all[n].node
		if requireAll && !hasAllTopologyKeys(node, constraints) {
			return
		}
		for i := range constraints {
			c := &constraints[i]
			if s.counts[i] == nil || !c.matchesInclusionPolicies(cs, node) {
				continue
			}
			v, ok := node.Labels[c.topologyKey]
			if !ok {
				continue
			}
			if _, tracked := s.counts[i][v]; !tracked {
				continue
			}
			row[i], missed[n*nc+i] = pass.count(i, all[n])
		}
	}, nil)
	f.matches.end(pass, all, len(all), perNode, missed)
	for n := range all {
		for i := range constraints {
			if v := perNode[n*nc+i]; v > 0 {
				s.counts[i][all[n].node.Labels[constraints[i].topologyKey]] += int64(v)
			}
		}
	}
	return s, nil
}

// score is the raw score of feasible node n: weighted matching counts (the
// fewer the better; normalizeSpread inverts).
func (s *spreadScoreState) score(cs *cycleState, n int, ni *NodeInfo) int64 {
	if s.ignored[n] {
		return 0
	}
	var score float64
	for i := range s.constraints {
		c := &s.constraints[i]
		v, ok := ni.node.Labels[c.topologyKey]
		if !ok {
			continue
		}
		var cnt int64
		if c.topologyKey == corev1.LabelHostname {
			cnt = int64(s.hostCounts[n*len(s.constraints)+i])
		} else {
			cnt = s.counts[i][v]
		}
		score += float64(cnt)*s.weights[i] + float64(c.maxSkew-1)
	}
	return int64(math.Round(score))
}

// normalize is upstream's NormalizeScore: MaxNodeScore*(max+min-s)/max,
// ignored nodes 0.
func (s *spreadScoreState) normalize(scores []int64) {
	var minS int64 = math.MaxInt64
	var maxS int64
	for n, v := range scores {
		if s.ignored[n] {
			continue
		}
		minS = min(minS, v)
		maxS = max(maxS, v)
	}
	for n := range scores {
		switch {
		case s.ignored[n]:
			scores[n] = 0
		case maxS == 0:
			scores[n] = MaxNodeScore
		default:
			scores[n] = MaxNodeScore * (maxS + minS - scores[n]) / maxS
		}
	}
}
