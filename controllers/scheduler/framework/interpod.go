package framework

import (
	"math"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

type topologyPair struct{ key, value string }

// termCounts counts, per topology pair, the pods matching some terms.
type termCounts map[topologyPair]int64

func (m termCounts) update(node *corev1.Node, key string, delta int64) {
	if v, ok := node.Labels[key]; ok {
		p := topologyPair{key, v}
		m[p] += delta
		if m[p] == 0 {
			delete(m, p)
		}
	}
}

// updateWithAffinityTerms counts pod for every term, if it matches all.
func (m termCounts) updateWithAffinityTerms(terms []AffinityTerm, pod *corev1.Pod, nsLabels func(string) labels.Set, node *corev1.Node, delta int64) {
	if podMatchesAllAffinityTerms(terms, pod, nsLabels) {
		for i := range terms {
			m.update(node, terms[i].TopologyKey, delta)
		}
	}
}

// updateWithAntiAffinityTerms counts pod for each term it matches.
func (m termCounts) updateWithAntiAffinityTerms(terms []AffinityTerm, pod *corev1.Pod, nsLabels func(string) labels.Set, node *corev1.Node, delta int64) {
	for i := range terms {
		if terms[i].matchesWith(pod, nsLabels) {
			m.update(node, terms[i].TopologyKey, delta)
		}
	}
}

func (m termCounts) clone() termCounts {
	c := make(termCounts, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// ipaFilterState is InterPodAffinity's PreFilter state.
type ipaFilterState struct {
	pi *PodInfo
	// existingAnti: pairs where an existing pod's required anti-affinity
	// term matches the incoming pod.
	existingAnti termCounts
	// affinity: pairs with pods matching all the incoming pod's required
	// affinity terms; anti: pairs with pods matching one of its required
	// anti-affinity terms.
	affinity, anti termCounts
	nsLabels       func(string) labels.Set
}

func (s *ipaFilterState) clone() *ipaFilterState {
	if s == nil {
		return nil
	}
	c := *s
	c.existingAnti = s.existingAnti.clone()
	c.affinity = s.affinity.clone()
	c.anti = s.anti.clone()
	return &c
}

// preFilterIPA counts once per pod; nil when there is nothing to check
// (upstream's Skip).
func (f *Framework) preFilterIPA(cs *cycleState) *ipaFilterState {
	pi := cs.pi
	s := &ipaFilterState{pi: pi, existingAnti: termCounts{}, affinity: termCounts{}, anti: termCounts{}, nsLabels: cs.nsLabels}
	var mu sync.Mutex
	withAnti := cs.snap.WithRequiredAntiAffinity
	f.parallelize(len(withAnti), func(n int) {
		ni := withAnti[n]
		var local termCounts
		for _, ex := range ni.podsWithRequiredAntiAffinity {
			for i := range ex.RequiredAntiAffinityTerms {
				t := &ex.RequiredAntiAffinityTerms[i]
				if !t.matchesWith(cs.pod, cs.nsLabels) {
					continue
				}
				if local == nil {
					local = termCounts{}
				}
				local.update(ni.node, t.TopologyKey, 1)
			}
		}
		if len(local) == 0 {
			return
		}
		mu.Lock()
		for k, v := range local {
			s.existingAnti[k] += v
		}
		mu.Unlock()
	}, nil)
	if len(pi.RequiredAffinityTerms) == 0 && len(pi.RequiredAntiAffinityTerms) == 0 {
		if len(s.existingAnti) == 0 {
			return nil
		}
		return s
	}
	nodes := cs.snap.List
	f.parallelize(len(nodes), func(n int) {
		ni := nodes[n]
		if len(ni.pods) == 0 {
			return
		}
		aff, anti := termCounts{}, termCounts{}
		for _, ex := range ni.pods {
			aff.updateWithAffinityTerms(pi.RequiredAffinityTerms, ex.Pod, cs.nsLabels, ni.node, 1)
			anti.updateWithAntiAffinityTerms(pi.RequiredAntiAffinityTerms, ex.Pod, cs.nsLabels, ni.node, 1)
		}
		if len(aff) == 0 && len(anti) == 0 {
			return
		}
		mu.Lock()
		for k, v := range aff {
			s.affinity[k] += v
		}
		for k, v := range anti {
			s.anti[k] += v
		}
		mu.Unlock()
	}, nil)
	return s
}

// updateWithPod is upstream's AddPod/RemovePod extension.
func (s *ipaFilterState) updateWithPod(cs *cycleState, p *PodInfo, node *corev1.Node, delta int64) {
	if s == nil {
		return
	}
	s.existingAnti.updateWithAntiAffinityTerms(p.RequiredAntiAffinityTerms, s.pi.Pod, s.nsLabels, node, delta)
	s.affinity.updateWithAffinityTerms(s.pi.RequiredAffinityTerms, p.Pod, s.nsLabels, node, delta)
	s.anti.updateWithAntiAffinityTerms(s.pi.RequiredAntiAffinityTerms, p.Pod, s.nsLabels, node, delta)
}

func (s *ipaFilterState) filter(st *fixedStatuses, node *corev1.Node) *Status {
	if !s.satisfiesAffinity(node) {
		return st.affinity
	}
	if len(s.anti) > 0 {
		for i := range s.pi.RequiredAntiAffinityTerms {
			k := s.pi.RequiredAntiAffinityTerms[i].TopologyKey
			if v, ok := node.Labels[k]; ok && s.anti[topologyPair{k, v}] > 0 {
				return st.antiAffinity
			}
		}
	}
	if len(s.existingAnti) > len(node.Labels) {
		for k, v := range node.Labels {
			if s.existingAnti[topologyPair{k, v}] > 0 {
				return st.existingAnti
			}
		}
	} else {
		for p, n := range s.existingAnti {
			if v, ok := node.Labels[p.key]; ok && n > 0 && v == p.value {
				return st.existingAnti
			}
		}
	}
	return nil
}

func (s *ipaFilterState) satisfiesAffinity(node *corev1.Node) bool {
	terms := s.pi.RequiredAffinityTerms
	podsExist := true
	for i := range terms {
		v, ok := node.Labels[terms[i].TopologyKey]
		if !ok {
			return false // every topology key must be on the node
		}
		if s.affinity[topologyPair{terms[i].TopologyKey, v}] <= 0 {
			podsExist = false
		}
	}
	if podsExist {
		return true
	}
	// The first pod of a group with affinity to itself: no pod anywhere
	// matches, but the pod matches its own terms.
	return len(s.affinity) == 0 && podMatchesAllAffinityTerms(terms, s.pi.Pod, s.nsLabels)
}

// ipaScoreState is InterPodAffinity's PreScore state: topology key → value
// → score.
type ipaScoreState struct {
	scores map[string]map[string]int64
}

// hardPodAffinityWeight is upstream's default HardPodAffinityWeight: how
// much an existing pod's required affinity to the incoming pod counts.
const hardPodAffinityWeight = 1

func (m ipaScoreState) add(key, value string, delta int64) {
	vs := m.scores[key]
	if vs == nil {
		vs = make(map[string]int64)
		m.scores[key] = vs
	}
	vs[value] += delta
}

func (m ipaScoreState) processTerm(t *AffinityTerm, weight int64, pod *corev1.Pod, nsLabels func(string) labels.Set, node *corev1.Node, sign int64) {
	if t.matchesWith(pod, nsLabels) {
		if v, ok := node.Labels[t.TopologyKey]; ok {
			m.add(t.TopologyKey, v, weight*sign)
		}
	}
}

// preScoreIPA is upstream's InterPodAffinity PreScore; nil means Skip.
func (f *Framework) preScoreIPA(cs *cycleState) *ipaScoreState {
	pi := cs.pi
	hasConstraints := len(pi.PreferredAffinityTerms) > 0 || len(pi.PreferredAntiAffinityTerms) > 0
	nodes := cs.snap.WithAffinity
	if hasConstraints {
		nodes = cs.snap.List
	}
	if len(nodes) == 0 {
		return nil
	}
	s := ipaScoreState{scores: map[string]map[string]int64{}}
	var mu sync.Mutex
	f.parallelize(len(nodes), func(n int) {
		ni := nodes[n]
		node := ni.node
		if len(node.Labels) == 0 {
			return
		}
		pods := ni.podsWithAffinity
		if hasConstraints {
			pods = ni.pods
		}
		if len(pods) == 0 {
			return
		}
		local := ipaScoreState{scores: map[string]map[string]int64{}}
		for _, ex := range pods {
			for i := range pi.PreferredAffinityTerms {
				t := &pi.PreferredAffinityTerms[i]
				local.processTerm(&t.AffinityTerm, int64(t.Weight), ex.Pod, cs.nsLabels, node, 1)
			}
			for i := range pi.PreferredAntiAffinityTerms {
				t := &pi.PreferredAntiAffinityTerms[i]
				local.processTerm(&t.AffinityTerm, int64(t.Weight), ex.Pod, cs.nsLabels, node, -1)
			}
			for i := range ex.RequiredAffinityTerms {
				local.processTerm(&ex.RequiredAffinityTerms[i], hardPodAffinityWeight, cs.pod, cs.nsLabels, node, 1)
			}
			for i := range ex.PreferredAffinityTerms {
				t := &ex.PreferredAffinityTerms[i]
				local.processTerm(&t.AffinityTerm, int64(t.Weight), cs.pod, cs.nsLabels, node, 1)
			}
			for i := range ex.PreferredAntiAffinityTerms {
				t := &ex.PreferredAntiAffinityTerms[i]
				local.processTerm(&t.AffinityTerm, int64(t.Weight), cs.pod, cs.nsLabels, node, -1)
			}
		}
		if len(local.scores) == 0 {
			return
		}
		mu.Lock()
		for k, vs := range local.scores {
			for v, d := range vs {
				s.add(k, v, d)
			}
		}
		mu.Unlock()
	}, nil)
	if len(s.scores) == 0 {
		return nil
	}
	return &s
}

func (s *ipaScoreState) score(node *corev1.Node) int64 {
	var score int64
	for k, vs := range s.scores {
		if v, ok := node.Labels[k]; ok {
			score += vs[v]
		}
	}
	return score
}

// normalize is upstream's: MaxNodeScore*(s-min)/(max-min), 0 when all equal.
func (s *ipaScoreState) normalize(scores []int64) {
	var minS int64 = math.MaxInt64
	var maxS int64 = math.MinInt64
	for _, v := range scores {
		minS = min(minS, v)
		maxS = max(maxS, v)
	}
	diff := maxS - minS
	for i := range scores {
		f := float64(0)
		if diff > 0 {
			f = float64(MaxNodeScore) * (float64(scores[i]-minS) / float64(diff))
		}
		scores[i] = int64(f)
	}
}
