package framework

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
)

// Preemption reasons and messages, worded as upstream's defaultpreemption.
const (
	ErrReasonPreemptionNotHelpful = "Preemption is not helpful for scheduling"
	ErrReasonNoVictims            = "No preemption victims found for incoming pod"
	msgPreemptionPolicyNever      = "not eligible due to preemptionPolicy=Never."
	msgTerminatingOnNominated     = "not eligible due to a terminating pod on the nominated node."
)

// Upstream's DefaultPreemptionArgs defaults: dry-run preemption on at least
// 10% of the candidate nodes, and at least 100 of them.
const (
	minCandidateNodesPercentage = 10
	minCandidateNodesAbsolute   = 100
)

// Preempt finds the node where evicting lower-priority pods lets pod fit,
// after Schedule failed with fitErr on the same snap (upstream's
// DefaultPreemption PostFilter). Call it on every FitError: it checks
// itself that pod may preempt (preemptionPolicy, victims of an earlier
// preemption still terminating on its nominated node).
//
// Only nodes whose status was Unschedulable are tried. On each, every
// lower-priority pod is removed; if pod then fits, pods are reprieved —
// those whose eviction would violate a PodDisruptionBudget first, then the
// others, highest priority first — as long as pod still fits. Among the
// nodes that work, the one with the fewest PDB violations, then the lowest
// highest-victim priority, the smallest sum of victim priorities, the fewest
// victims, and the latest start of its highest-priority victims wins.
//
// It returns that node and its victims (the caller deletes them and
// nominates pod to the node), or node "" when preemption cannot help; then
// it sets fitErr.PostFilterMsg to upstream's "preemption: …" explanation, so
// fitErr.Error() is the FailedScheduling message either way.
func (f *Framework) Preempt(ctx context.Context, pod *corev1.Pod, snap *Snapshot, pdbs []*policyv1.PodDisruptionBudget, fitErr *FitError, nominated func(node string) []*corev1.Pod) (node string, victims []*corev1.Pod, err error) {
	if fitErr == nil {
		return "", nil, fmt.Errorf("preempting for pod %s/%s: no FitError", pod.Namespace, pod.Name)
	}
	start := time.Now()
	defer func() {
		code := Success
		switch {
		case err != nil:
			code = Error
		case node == "":
			code = Unschedulable
		}
		f.metrics.observe(extPostFilter, start, code)
	}()
	fitErr.PostFilterMsg = ""
	cs := f.newCycleState(pod, snap, nominated)
	if ok, msg := podEligibleToPreemptOthers(pod, snap, fitErr.NodeToStatus[pod.Status.NominatedNodeName]); !ok {
		fitErr.PostFilterMsg = "preemption: " + msg
		return "", nil, nil
	}
	if st, err := f.preFilter(cs); err != nil {
		return "", nil, fmt.Errorf("preempting for pod %s/%s: %w", pod.Namespace, pod.Name, err)
	} else if st != nil {
		// Every node rejects the pod for good; nothing to evict.
		fitErr.PostFilterMsg = f.noCandidatesMsg(snap, nil)
		return "", nil, nil
	}

	var potential []*NodeInfo
	for _, ni := range snap.List {
		if fitErr.NodeToStatus[ni.node.Name].Code() == Unschedulable {
			potential = append(potential, ni)
		}
	}
	if len(potential) == 0 {
		fitErr.PostFilterMsg = f.noCandidatesMsg(snap, nil)
		return "", nil, nil
	}
	cands, statuses, err := f.dryRunPreemption(ctx, cs, potential, pdbs)
	if err != nil {
		return "", nil, fmt.Errorf("preempting for pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	if len(cands) == 0 {
		fitErr.PostFilterMsg = f.noCandidatesMsg(snap, statuses)
		return "", nil, nil
	}
	best := pickOneNodeForPreemption(cands)
	return best.node, best.victims, nil
}

// noCandidatesMsg is "preemption: " and the FitError text of the dry run:
// nodes without a status of their own were never candidates.
func (f *Framework) noCandidatesMsg(snap *Snapshot, statuses map[string]*Status) string {
	notHelpful := NewStatus(DefaultPreemption, UnschedulableAndUnresolvable, ErrReasonPreemptionNotHelpful)
	all := make(map[string]*Status, len(snap.List))
	for _, ni := range snap.List {
		if st, ok := statuses[ni.node.Name]; ok {
			all[ni.node.Name] = st
		} else {
			all[ni.node.Name] = notHelpful
		}
	}
	fe := &FitError{NumAllNodes: len(snap.List), NodeToStatus: all}
	return "preemption: " + fe.Error()
}

// podEligibleToPreemptOthers is upstream's check: preemptionPolicy Never
// never preempts, and a pod that already preempted waits for its victims on
// the nominated node to go before preempting again (unless that node can no
// longer take it at all).
func podEligibleToPreemptOthers(pod *corev1.Pod, snap *Snapshot, nominatedStatus *Status) (bool, string) {
	if pod.Spec.PreemptionPolicy != nil && *pod.Spec.PreemptionPolicy == corev1.PreemptNever {
		return false, msgPreemptionPolicyNever
	}
	if nn := pod.Status.NominatedNodeName; nn != "" {
		if nominatedStatus.Code() == UnschedulableAndUnresolvable {
			return true, ""
		}
		if ni := snap.Map[nn]; ni != nil {
			prio := corev1helpers.PodPriority(pod)
			for _, p := range ni.pods {
				if corev1helpers.PodPriority(p.Pod) < prio && podTerminatingByPreemption(p.Pod) {
					return false, msgTerminatingOnNominated
				}
			}
		}
	}
	return true, ""
}

func podTerminatingByPreemption(p *corev1.Pod) bool {
	if p.DeletionTimestamp == nil {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.DisruptionTarget {
			return c.Status == corev1.ConditionTrue && c.Reason == corev1.PodReasonPreemptionByScheduler
		}
	}
	return false
}

type candidate struct {
	node          string
	victims       []*corev1.Pod // most important first
	pdbViolations int
}

// numCandidates is upstream's calculateNumCandidates.
func numCandidates(n int) int {
	c := n * minCandidateNodesPercentage / 100
	c = max(c, minCandidateNodesAbsolute)
	return min(c, n)
}

// dryRunPreemption selects victims on the potential nodes, in parallel from
// a random offset, until enough candidates are found.
func (f *Framework) dryRunPreemption(ctx context.Context, cs *cycleState, potential []*NodeInfo, pdbs []*policyv1.PodDisruptionBudget) ([]candidate, map[string]*Status, error) {
	n := len(potential)
	offset := f.intn(n)
	want := numCandidates(n)
	pdbSels := parsePDBs(pdbs)

	results := make([]*candidate, n)
	statuses := make([]*Status, n)
	var found atomic.Int32
	var stop atomic.Bool
	var errMu sync.Mutex
	var firstErr error
	done := ctx.Done()
	f.parallelize(n, func(i int) {
		ni := potential[(offset+i)%n]
		c, st := f.selectVictimsOnNode(cs, ni, pdbs, pdbSels)
		switch {
		case st.IsSuccess() && len(c.victims) > 0:
			results[i] = c
			if int(found.Add(1)) >= want {
				stop.Store(true)
			}
		case st.IsSuccess():
			st = asStatus(DefaultPreemption, fmt.Errorf("expected at least one victim pod on node %q", ni.node.Name))
			fallthrough
		default:
			if st.Code() == Error {
				errMu.Lock()
				if firstErr == nil {
					firstErr = st.AsError()
				}
				errMu.Unlock()
			}
			statuses[i] = st
		}
	}, func() bool {
		if stop.Load() {
			return true
		}
		select {
		case <-done:
			return true
		default:
			return false
		}
	})
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	var nonViolating, violating []candidate
	byNode := make(map[string]*Status)
	for i, c := range results {
		if c != nil {
			if c.pdbViolations == 0 {
				nonViolating = append(nonViolating, *c)
			} else {
				violating = append(violating, *c)
			}
		} else if statuses[i] != nil {
			byNode[potential[(offset+i)%n].node.Name] = statuses[i]
		}
	}
	cands := append(nonViolating, violating...)
	if len(cands) == 0 && firstErr != nil {
		return nil, nil, firstErr
	}
	return cands, byNode, nil
}

// selectVictimsOnNode is upstream's SelectVictimsOnNode, on copies of the
// node and the prefilter states.
func (f *Framework) selectVictimsOnNode(cs *cycleState, orig *NodeInfo, pdbs []*policyv1.PodDisruptionBudget, pdbSels []labels.Selector) (*candidate, *Status) {
	ni := orig.Clone()
	spread := cs.spread.clone()
	ipa := cs.ipa.clone()
	remove := func(p *PodInfo) error {
		if err := ni.RemovePod(p.Pod); err != nil {
			return err
		}
		spread.updateWithPod(cs, p.Pod, ni.node, -1)
		ipa.updateWithPod(cs, p, ni.node, -1)
		return nil
	}
	add := func(p *PodInfo) {
		ni.AddPodInfo(p)
		spread.updateWithPod(cs, p.Pod, ni.node, 1)
		ipa.updateWithPod(cs, p, ni.node, 1)
	}

	var potential []*PodInfo
	for _, p := range orig.pods {
		if corev1helpers.PodPriority(p.Pod) < cs.priority {
			potential = append(potential, p)
		}
	}
	if len(potential) == 0 {
		return nil, NewStatus(DefaultPreemption, UnschedulableAndUnresolvable, ErrReasonNoVictims)
	}
	for _, p := range potential {
		if err := remove(p); err != nil {
			return nil, asStatus(DefaultPreemption, err)
		}
	}
	// Not even without every lower-priority pod: this node cannot help.
	// (Affinity of the pod to one of the victims is not considered, as
	// upstream, for speed.)
	if st := f.filterWithNominatedStates(cs, spread, ipa, ni); !st.IsSuccess() {
		return nil, st
	}

	sort.SliceStable(potential, func(i, j int) bool { return moreImportantPod(potential[i].Pod, potential[j].Pod) })
	violating, nonViolating := filterPodsWithPDBViolation(potential, pdbs, pdbSels)
	c := &candidate{node: ni.node.Name}
	reprieve := func(p *PodInfo) (bool, error) {
		add(p)
		if f.filterWithNominatedStates(cs, spread, ipa, ni).IsSuccess() {
			return true, nil
		}
		if err := remove(p); err != nil {
			return false, err
		}
		c.victims = append(c.victims, p.Pod)
		return false, nil
	}
	for _, p := range violating {
		fits, err := reprieve(p)
		if err != nil {
			return nil, asStatus(DefaultPreemption, err)
		}
		if !fits {
			c.pdbViolations++
		}
	}
	for _, p := range nonViolating {
		if _, err := reprieve(p); err != nil {
			return nil, asStatus(DefaultPreemption, err)
		}
	}
	if len(violating) != 0 && len(nonViolating) != 0 {
		sort.SliceStable(c.victims, func(i, j int) bool { return moreImportantPod(c.victims[i], c.victims[j]) })
	}
	return c, nil
}

func parsePDBs(pdbs []*policyv1.PodDisruptionBudget) []labels.Selector {
	out := make([]labels.Selector, len(pdbs))
	for i, pdb := range pdbs {
		sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		if err != nil {
			sel = labels.Nothing() // an invalid selector matches no pod
		}
		out[i] = sel
	}
	return out
}

// filterPodsWithPDBViolation splits pods (most important first) into those
// whose eviction would exceed a matching PDB's disruptionsAllowed, counting
// the earlier pods' evictions, and the others (upstream's).
func filterPodsWithPDBViolation(pods []*PodInfo, pdbs []*policyv1.PodDisruptionBudget, sels []labels.Selector) (violating, nonViolating []*PodInfo) {
	allowed := make([]int32, len(pdbs))
	for i, pdb := range pdbs {
		allowed[i] = pdb.Status.DisruptionsAllowed
	}
	for _, p := range pods {
		violated := false
		if len(p.Pod.Labels) != 0 {
			for i, pdb := range pdbs {
				if pdb.Namespace != p.Pod.Namespace {
					continue
				}
				// A nil or empty selector matches nothing.
				if sels[i].Empty() || !sels[i].Matches(labels.Set(p.Pod.Labels)) {
					continue
				}
				// Already counted by the disruption controller.
				if _, ok := pdb.Status.DisruptedPods[p.Pod.Name]; ok {
					continue
				}
				allowed[i]--
				if allowed[i] < 0 {
					violated = true
				}
			}
		}
		if violated {
			violating = append(violating, p)
		} else {
			nonViolating = append(nonViolating, p)
		}
	}
	return violating, nonViolating
}

// moreImportantPod: higher priority, then started earlier.
func moreImportantPod(a, b *corev1.Pod) bool {
	pa, pb := corev1helpers.PodPriority(a), corev1helpers.PodPriority(b)
	if pa != pb {
		return pa > pb
	}
	return podStartTime(a).Before(podStartTime(b))
}

// podStartTime is status.startTime, or now for a pod not started (upstream's
// GetPodStartTime).
func podStartTime(p *corev1.Pod) time.Time {
	if p.Status.StartTime != nil {
		return p.Status.StartTime.Time
	}
	return time.Now()
}

// earliestStartOfMostImportant is upstream's GetEarliestPodStartTime: the
// earliest start among the victims of the highest priority.
func earliestStartOfMostImportant(victims []*corev1.Pod) time.Time {
	if len(victims) == 0 {
		return time.Time{}
	}
	earliest := podStartTime(victims[0])
	top := corev1helpers.PodPriority(victims[0])
	for _, p := range victims[1:] {
		if corev1helpers.PodPriority(p) == top {
			if t := podStartTime(p); t.Before(earliest) {
				earliest = t
			}
		}
	}
	return earliest
}

// pickOneNodeForPreemption applies upstream's criteria in order, each only
// to break the previous one's ties; the first remaining candidate wins.
func pickOneNodeForPreemption(cands []candidate) candidate {
	if len(cands) == 0 {
		panic(errors.New("pickOneNodeForPreemption: no candidates"))
	}
	scoreFuncs := []func(c *candidate) int64{
		func(c *candidate) int64 { return -int64(c.pdbViolations) },
		func(c *candidate) int64 { return -int64(corev1helpers.PodPriority(c.victims[0])) },
		func(c *candidate) int64 {
			var sum int64
			for _, p := range c.victims {
				// Shifted so that negative priorities do not make more
				// victims look cheaper.
				sum += int64(corev1helpers.PodPriority(p)) + int64(math.MaxInt32+1)
			}
			return -sum
		},
		func(c *candidate) int64 { return -int64(len(c.victims)) },
		func(c *candidate) int64 { return earliestStartOfMostImportant(c.victims).UnixNano() },
	}
	remaining := make([]int, len(cands))
	for i := range remaining {
		remaining[i] = i
	}
	for _, score := range scoreFuncs {
		var selected []int
		best := int64(math.MinInt64)
		for _, i := range remaining {
			s := score(&cands[i])
			if s > best {
				best, selected = s, selected[:0]
			}
			if s == best {
				selected = append(selected, i)
			}
		}
		if len(selected) == 1 {
			return cands[selected[0]]
		}
		remaining = selected
	}
	return cands[remaining[0]]
}
