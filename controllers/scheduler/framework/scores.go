package framework

import (
	"math"

	corev1 "k8s.io/api/core/v1"
)

// Indexes of the score plugins in scratch.raw.
const (
	scoreTaint = iota
	scoreNodeAffinity
	scoreFit
	scoreSpread
	scoreIPA
	scoreBalanced
)

// prioritize scores the feasible nodes and picks the best (upstream's
// prioritizeNodes and selectHost).
func (f *Framework) prioritize(cs *cycleState, feasible []*NodeInfo, sc *scratch) (string, error) {
	n := len(feasible)
	spread, err := f.preScoreSpread(cs, feasible)
	if err != nil {
		return "", err
	}
	ipa := f.preScoreIPA(cs)
	preferred := newPreferredNodeAffinity(cs.pod)
	podReq := &cs.pi.Requests
	balanced := podReq.MilliCPU != 0 || podReq.Memory != 0 // best-effort pods skip it

	for p := range sc.raw {
		if cap(sc.raw[p]) < n {
			sc.raw[p] = make([]int64, n)
		}
		sc.raw[p] = sc.raw[p][:n]
		clear(sc.raw[p])
	}
	raw := &sc.raw
	f.parallelize(n, func(i int) {
		ni := feasible[i]
		node := ni.node
		raw[scoreTaint][i] = countIntolerablePreferNoSchedule(node.Spec.Taints, cs.pod.Spec.Tolerations)
		if preferred != nil {
			raw[scoreNodeAffinity][i] = preferred.score(node)
		}
		raw[scoreFit][i] = leastAllocatedScore(cs.pi, ni)
		if spread != nil {
			raw[scoreSpread][i] = spread.score(cs, i, ni)
		}
		if ipa != nil {
			raw[scoreIPA][i] = ipa.score(node)
		}
		if balanced {
			raw[scoreBalanced][i] = balancedAllocationScore(cs.pi, ni)
		}
	}, nil)

	defaultNormalize(raw[scoreTaint], true)
	if preferred != nil {
		defaultNormalize(raw[scoreNodeAffinity], false)
	}
	if spread != nil {
		spread.normalize(raw[scoreSpread])
	}
	if ipa != nil {
		ipa.normalize(raw[scoreIPA])
	}

	if cap(sc.scores) < n {
		sc.scores = make([]int64, n)
	}
	total := sc.scores[:n]
	for i := range total {
		total[i] = raw[scoreTaint][i]*weightTaintToleration +
			raw[scoreNodeAffinity][i]*weightNodeAffinity +
			raw[scoreFit][i]*weightFit +
			raw[scoreSpread][i]*weightPodTopologySpread +
			raw[scoreIPA][i]*weightInterPodAffinity +
			raw[scoreBalanced][i]*weightBalanced
	}
	return feasible[f.selectHost(total)].node.Name, nil
}

// selectHost returns the index of a highest score, each of the tied ones
// with equal probability (reservoir sampling, as upstream).
func (f *Framework) selectHost(scores []int64) int {
	best, bestScore, ties := 0, scores[0], 1
	f.randMu.Lock()
	defer f.randMu.Unlock()
	for i := 1; i < len(scores); i++ {
		switch {
		case scores[i] > bestScore:
			best, bestScore, ties = i, scores[i], 1
		case scores[i] == bestScore:
			ties++
			if f.rand.IntN(ties) == 0 {
				best = i
			}
		}
	}
	return best
}

// defaultNormalize is upstream's helper.DefaultNormalizeScore: scale to
// 0..MaxNodeScore by the highest; reverse flips (fewer is better).
func defaultNormalize(scores []int64, reverse bool) {
	var maxS int64
	for _, v := range scores {
		maxS = max(maxS, v)
	}
	if maxS == 0 {
		if reverse {
			for i := range scores {
				scores[i] = MaxNodeScore
			}
		}
		return
	}
	for i, v := range scores {
		v = MaxNodeScore * v / maxS
		if reverse {
			v = MaxNodeScore - v
		}
		scores[i] = v
	}
}

// countIntolerablePreferNoSchedule is TaintToleration's Score.
func countIntolerablePreferNoSchedule(taints []corev1.Taint, tolerations []corev1.Toleration) int64 {
	var n int64
	for i := range taints {
		if taints[i].Effect != corev1.TaintEffectPreferNoSchedule {
			continue
		}
		if !tolerates(tolerations, &taints[i]) {
			n++
		}
	}
	return n
}

// leastAllocatedScore is NodeResourcesFit's default LeastAllocated score
// over cpu and memory (weight 1 each), with the non-zero requests.
func leastAllocatedScore(pi *PodInfo, ni *NodeInfo) int64 {
	var score, weights int64
	if a := ni.allocatable.MilliCPU; a != 0 {
		score += leastRequested(ni.nonZeroRequested.MilliCPU+pi.NonZeroRequests.MilliCPU, a)
		weights++
	}
	if a := ni.allocatable.Memory; a != 0 {
		score += leastRequested(ni.nonZeroRequested.Memory+pi.NonZeroRequests.Memory, a)
		weights++
	}
	if weights == 0 {
		return 0
	}
	return score / weights
}

func leastRequested(requested, capacity int64) int64 {
	if capacity == 0 || requested > capacity {
		return 0
	}
	return (capacity - requested) * MaxNodeScore / capacity
}

// balancedAllocationScore is NodeResourcesBalancedAllocation's score over
// cpu and memory with the actual requests: (1 - std of the fractions) * 100.
func balancedAllocationScore(pi *PodInfo, ni *NodeInfo) int64 {
	var fr [2]float64
	k := 0
	if a := ni.allocatable.MilliCPU; a != 0 {
		fr[k] = min(float64(ni.requested.MilliCPU+pi.Requests.MilliCPU)/float64(a), 1)
		k++
	}
	if a := ni.allocatable.Memory; a != 0 {
		fr[k] = min(float64(ni.requested.Memory+pi.Requests.Memory)/float64(a), 1)
		k++
	}
	std := 0.0
	if k == 2 {
		std = math.Abs((fr[0] - fr[1]) / 2)
	}
	return int64((1 - std) * float64(MaxNodeScore))
}
