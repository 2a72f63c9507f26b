// Package framework is tend's scheduling algorithm: node bookkeeping
// (NodeInfo, PodInfo, Snapshot), upstream kube-scheduler's default plugins
// and the algorithm that runs them (filter in parallel, score, pick), and
// preemption. It makes no API calls and keeps no state between cycles
// other than the rotating index where the next filter pass starts.
//
// Guarantees, as upstream v1.32's default profile:
//
//   - Filters run in upstream's order (NodeUnschedulable, NodeName,
//     TaintToleration, NodeAffinity, NodePorts, NodeResourcesFit,
//     PodTopologySpread, InterPodAffinity); a node's status is the first
//     failure, with upstream's reasons and codes (Unschedulable when
//     evicting pods could help, UnschedulableAndUnresolvable when not).
//   - Filtering stops once numFeasibleNodesToFind nodes fit (all nodes below
//     100; otherwise PercentageOfNodesToScore, adaptive when 0), starting
//     where the previous pass stopped so every node gets its turn.
//   - Scores are normalized to 0..MaxNodeScore and weighted as upstream's
//     defaults: TaintToleration 3, NodeAffinity 2, PodTopologySpread 2,
//     InterPodAffinity 2, NodeResourcesFit (LeastAllocated, cpu and memory
//     weight 1) 1, NodeResourcesBalancedAllocation 1. Ties between the best
//     nodes are broken uniformly at random (reservoir sampling).
//   - Pods nominated to a node with priority ≥ the pod's count as running
//     there, and the node must also fit without them (upstream's
//     RunFilterPluginsWithNominatedPods).
//
// The snapshot and everything in it are only read. Schedule and Preempt
// may be called from several goroutines at once.
package framework

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/sets"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
)

// MaxNodeScore is the highest normalized score a plugin gives a node.
const MaxNodeScore int64 = 100

// Upstream's bounds of how many feasible nodes a pass looks for.
const (
	minFeasibleNodesToFind           = 100
	minFeasibleNodesPercentageToFind = 5
)

// Plugin weights of upstream's default profile.
const (
	weightTaintToleration   = 3
	weightNodeAffinity      = 2
	weightPodTopologySpread = 2
	weightInterPodAffinity  = 2
	weightFit               = 1
	weightBalanced          = 1
)

// ErrNoNodesAvailable is Schedule's error when the snapshot has no node.
var ErrNoNodesAvailable = errors.New("no nodes available to schedule pods")

// Config configures a Framework.
type Config struct {
	// PercentageOfNodesToScore bounds how many feasible nodes one pass looks
	// for, as a percentage of all nodes (never fewer than 100). 0 is
	// upstream's adaptive default: 50% - nodes/125, at least 5%.
	PercentageOfNodesToScore int32
	// Parallelism is the number of goroutines filtering and scoring nodes;
	// default 16. tend never starts more than GOMAXPROCS of them: more could
	// not run at once.
	Parallelism int
	// Registerer receives the framework's metrics; nil registers none.
	Registerer prometheus.Registerer

	// NamespaceLabels returns a namespace's labels, for pod (anti-)affinity
	// terms with a namespaceSelector. Nil: namespaces have no labels (an
	// empty namespaceSelector still matches every namespace).
	NamespaceLabels func(namespace string) map[string]string
	// SpreadSelector returns the selector of the pods a pod without
	// topologySpreadConstraints is spread against by the system default
	// constraints (upstream: the selectors of the Services, RCs, RSs and
	// StatefulSets selecting it). Nil is DefaultSpreadSelector.
	SpreadSelector func(pod *corev1.Pod) labels.Selector
	// Rand breaks ties between equally good nodes and picks where preemption
	// starts looking; nil seeds one at random. Used under a lock.
	Rand *rand.Rand
}

// Framework runs the plugins over a Snapshot.
type Framework struct {
	percentage     int32
	parallelism    int
	nsLabels       func(string) map[string]string
	spreadSelector func(*corev1.Pod) labels.Selector
	statuses       *fixedStatuses
	metrics        *metrics

	randMu sync.Mutex
	rand   *rand.Rand

	// nextStart is where the next filter pass starts (upstream's
	// nextStartNodeIndex).
	nextStart atomic.Int64

	scratch sync.Pool // *scratch
	matches matchCache
}

// New builds a Framework.
func New(cfg Config) (*Framework, error) {
	if cfg.PercentageOfNodesToScore < 0 || cfg.PercentageOfNodesToScore > 100 {
		return nil, errors.New("framework: PercentageOfNodesToScore must be within 0..100")
	}
	if cfg.Parallelism < 0 {
		return nil, errors.New("framework: Parallelism must not be negative")
	}
	if cfg.Parallelism == 0 {
		cfg.Parallelism = 16
	}
	f := &Framework{
		percentage:     cfg.PercentageOfNodesToScore,
		parallelism:    cfg.Parallelism,
		nsLabels:       cfg.NamespaceLabels,
		spreadSelector: cfg.SpreadSelector,
		statuses:       newFixedStatuses(),
		rand:           cfg.Rand,
	}
	if f.spreadSelector == nil {
		f.spreadSelector = DefaultSpreadSelector
	}
	if f.rand == nil {
		f.rand = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	f.metrics = m
	return f, nil
}

func (f *Framework) intn(n int) int {
	f.randMu.Lock()
	defer f.randMu.Unlock()
	return f.rand.IntN(n)
}

// ScheduleResult is where Schedule put the pod and how much it looked.
type ScheduleResult struct {
	Node string
	// Evaluated is how many nodes were filtered; Feasible how many fit.
	Evaluated, Feasible int
}

// cycleState is what one pod's cycle computes once and every node reads.
type cycleState struct {
	pod       *corev1.Pod
	pi        *PodInfo
	priority  int32
	snap      *Snapshot
	nominated func(string) []*corev1.Pod
	nsLabels  func(string) labels.Set

	toleratesUnschedulable bool
	nodeAffinity           requiredNodeAffinity
	requestsNothing        bool
	scalarNames            []corev1.ResourceName
	taints                 taintStatuses

	spread *spreadFilterState
	ipa    *ipaFilterState
}

func (f *Framework) newCycleState(pod *corev1.Pod, snap *Snapshot, nominated func(string) []*corev1.Pod) *cycleState {
	pi := NewPodInfo(pod)
	cs := &cycleState{
		pod:          pod,
		pi:           pi,
		priority:     corev1helpers.PodPriority(pod),
		snap:         snap,
		nominated:    nominated,
		nodeAffinity: newRequiredNodeAffinity(pod),
	}
	if f.nsLabels != nil {
		nl := f.nsLabels
		var mu sync.Mutex
		cache := map[string]labels.Set{}
		cs.nsLabels = func(ns string) labels.Set {
			mu.Lock()
			defer mu.Unlock()
			if l, ok := cache[ns]; ok {
				return l
			}
			l := labels.Set(nl(ns))
			cache[ns] = l
			return l
		}
	}
	cs.toleratesUnschedulable = tolerates(pod.Spec.Tolerations, &corev1.Taint{Key: corev1.TaintNodeUnschedulable, Effect: corev1.TaintEffectNoSchedule})
	r := &pi.Requests
	cs.requestsNothing = r.MilliCPU == 0 && r.Memory == 0 && r.EphemeralStorage == 0 && len(r.Scalar) == 0
	for name := range r.Scalar {
		cs.scalarNames = append(cs.scalarNames, name)
	}
	slices.Sort(cs.scalarNames)
	return cs
}

// preFilter runs the PreFilters; a non-nil status rejects the pod on every
// node.
func (f *Framework) preFilter(cs *cycleState) (*Status, error) {
	if cs.pi.ParseErr != nil {
		return NewStatus(InterPodAffinity, UnschedulableAndUnresolvable, "parsing pod: "+cs.pi.ParseErr.Error()), nil
	}
	spread, err := f.preFilterSpread(cs)
	if err != nil {
		return nil, err
	}
	cs.spread = spread
	cs.ipa = f.preFilterIPA(cs)
	return nil, nil
}

// Schedule picks the node for pod. nominated(node) returns the pods
// nominated to that node (status.nominatedNodeName) that have not been bound
// yet; higher-or-equal-priority ones count as if running there (upstream
// addNominatedPods). nominated may be nil and is called from several
// goroutines at once. Returns *FitError when no node fits, ErrNoNodesAvailable
// when there is no node at all.
func (f *Framework) Schedule(ctx context.Context, pod *corev1.Pod, snap *Snapshot, nominated func(node string) []*corev1.Pod) (ScheduleResult, error) {
	if len(snap.List) == 0 {
		return ScheduleResult{}, ErrNoNodesAvailable
	}
	if err := ctx.Err(); err != nil {
		return ScheduleResult{}, err
	}
	start := time.Now()
	cs := f.newCycleState(pod, snap, nominated)
	if st, err := f.preFilter(cs); err != nil {
		f.metrics.observe(extPreFilter, start, Error)
		return ScheduleResult{}, err
	} else if st != nil {
		f.metrics.observe(extPreFilter, start, st.Code())
		return ScheduleResult{}, f.preFilterFitError(cs, st)
	}
	f.metrics.observe(extPreFilter, start, Success)

	// The nominated node (set by an earlier preemption) is likely the only
	// one that fits: try it first.
	if nn := pod.Status.NominatedNodeName; nn != "" {
		if ni := snap.Map[nn]; ni != nil && f.filterWithNominated(cs, ni).IsSuccess() {
			return ScheduleResult{Node: nn, Evaluated: 1, Feasible: 1}, nil
		}
	}

	sc := f.getScratch(len(snap.List))
	defer f.scratch.Put(sc)
	start = time.Now()
	feasible, failed, err := f.findFeasible(ctx, cs, sc)
	if err != nil {
		f.metrics.observe(extFilter, start, Error)
		return ScheduleResult{}, err
	}
	evaluated := len(feasible) + failed
	if len(feasible) == 0 {
		f.metrics.observe(extFilter, start, Unschedulable)
		return ScheduleResult{}, f.fitError(cs, sc)
	}
	f.metrics.observe(extFilter, start, Success)
	if len(feasible) == 1 {
		return ScheduleResult{Node: feasible[0].node.Name, Evaluated: evaluated, Feasible: 1}, nil
	}
	start = time.Now()
	best, err := f.prioritize(cs, feasible, sc)
	if err != nil {
		f.metrics.observe(extScore, start, Error)
		return ScheduleResult{}, err
	}
	f.metrics.observe(extScore, start, Success)
	return ScheduleResult{Node: best, Evaluated: evaluated, Feasible: len(feasible)}, nil
}

func (f *Framework) preFilterFitError(cs *cycleState, st *Status) *FitError {
	fe := &FitError{
		Pod:                  cs.pod,
		NumAllNodes:          len(cs.snap.List),
		NodeToStatus:         make(map[string]*Status, len(cs.snap.List)),
		UnschedulablePlugins: sets.New(st.Plugin()),
		PreFilterMsg:         st.Message(),
	}
	for _, ni := range cs.snap.List {
		fe.NodeToStatus[ni.node.Name] = st
	}
	return fe
}

func (f *Framework) fitError(cs *cycleState, sc *scratch) *FitError {
	fe := &FitError{
		Pod:                  cs.pod,
		NumAllNodes:          len(cs.snap.List),
		NodeToStatus:         make(map[string]*Status),
		UnschedulablePlugins: sets.New[string](),
	}
	for _, st := range sc.statuses {
		if st.s == nil {
			continue
		}
		fe.NodeToStatus[st.node] = st.s
		if st.s.IsRejected() {
			fe.UnschedulablePlugins.Insert(st.s.Plugin())
		}
	}
	return fe
}

// NumFeasibleNodesToFind is upstream's numFeasibleNodesToFind: how many
// fitting nodes a pass over numAllNodes looks for before it stops.
func NumFeasibleNodesToFind(percentage int32, numAllNodes int32) int32 {
	if numAllNodes < minFeasibleNodesToFind {
		return numAllNodes
	}
	if percentage == 0 {
		percentage = 50 - numAllNodes/125
		if percentage < minFeasibleNodesPercentageToFind {
			percentage = minFeasibleNodesPercentageToFind
		}
	}
	if percentage >= 100 {
		return numAllNodes
	}
	n := numAllNodes * percentage / 100
	if n < minFeasibleNodesToFind {
		return minFeasibleNodesToFind
	}
	return n
}

// scratch holds the per-cycle slices, reused across cycles.
type scratch struct {
	feasible []*NodeInfo
	statuses []nodeStatus
	scores   []int64
	raw      [6][]int64
}

type nodeStatus struct {
	node string
	s    *Status
}

func (f *Framework) getScratch(n int) *scratch {
	sc, _ := f.scratch.Get().(*scratch)
	if sc == nil {
		sc = &scratch{}
	}
	if cap(sc.statuses) < n {
		sc.statuses = make([]nodeStatus, n)
	}
	sc.statuses = sc.statuses[:n]
	clear(sc.statuses)
	return sc
}

// findFeasible filters nodes from the rotating start until enough fit.
func (f *Framework) findFeasible(ctx context.Context, cs *cycleState, sc *scratch) ([]*NodeInfo, int, error) {
	nodes := cs.snap.List
	n := len(nodes)
	want := int(NumFeasibleNodesToFind(f.percentage, int32(n)))
	if cap(sc.feasible) < want {
		sc.feasible = make([]*NodeInfo, want)
	}
	feasible := sc.feasible[:want]
	start := int(f.nextStart.Load() % int64(n))

	var found, failed atomic.Int32
	var stop atomic.Bool
	var errMu sync.Mutex
	var firstErr error
	done := ctx.Done()
	f.parallelize(n, func(i int) {
		ni := nodes[(start+i)%n]
		st := f.filterWithNominated(cs, ni)
		if st.IsSuccess() {
			k := found.Add(1)
			if int(k) > want {
				stop.Store(true)
				found.Add(-1)
				return
			}
			feasible[k-1] = ni
			return
		}
		if st.Code() == Error {
			errMu.Lock()
			if firstErr == nil {
				firstErr = st.AsError()
			}
			errMu.Unlock()
			stop.Store(true)
			return
		}
		sc.statuses[i] = nodeStatus{node: ni.node.Name, s: st}
		failed.Add(1)
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
	if firstErr != nil {
		return nil, 0, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	processed := int(found.Load()) + int(failed.Load())
	f.nextStart.Store(int64((start + processed) % n))
	return feasible[:found.Load()], int(failed.Load()), nil
}

// filterWithNominated is upstream's RunFilterPluginsWithNominatedPods: with
// the higher-or-equal-priority pods nominated to the node added, then (if
// any were) without them, so the pod fits either way.
func (f *Framework) filterWithNominated(cs *cycleState, ni *NodeInfo) *Status {
	return f.filterWithNominatedStates(cs, cs.spread, cs.ipa, ni)
}

func (f *Framework) filterWithNominatedStates(cs *cycleState, spread *spreadFilterState, ipa *ipaFilterState, ni *NodeInfo) *Status {
	if cs.nominated != nil {
		if noms := cs.nominated(ni.node.Name); len(noms) > 0 {
			if ni2, spread2, ipa2, added := f.addNominated(cs, ni, spread, ipa, noms); added {
				if st := f.filterNode(cs, spread2, ipa2, ni2); !st.IsSuccess() {
					return st
				}
			}
		}
	}
	return f.filterNode(cs, spread, ipa, ni)
}

// addNominated returns copies of ni and the prefilter states with the
// nominated pods of priority ≥ the pod's added; added is false when there
// were none.
func (f *Framework) addNominated(cs *cycleState, ni *NodeInfo, spread *spreadFilterState, ipa *ipaFilterState, noms []*corev1.Pod) (*NodeInfo, *spreadFilterState, *ipaFilterState, bool) {
	var out *NodeInfo
	for _, p := range noms {
		if p.UID == cs.pod.UID || corev1helpers.PodPriority(p) < cs.priority {
			continue
		}
		if out == nil {
			out = ni.Clone()
			spread = spread.clone()
			ipa = ipa.clone()
		}
		pi := NewPodInfo(p)
		out.AddPodInfo(pi)
		spread.updateWithPod(cs, p, ni.node, 1)
		ipa.updateWithPod(cs, pi, ni.node, 1)
	}
	return out, spread, ipa, out != nil
}

// parallelize calls work(i) for i in [0, n) on up to Parallelism goroutines
// in chunks (upstream's chunk size: √n, at most n/Parallelism+1), until done
// or stop (checked between pieces, may be nil) returns true.
func (f *Framework) parallelize(n int, work func(i int), stop func() bool) {
	if n == 0 {
		return
	}
	workers := min(f.parallelism, runtime.GOMAXPROCS(0))
	chunk := chunkSize(n, f.parallelism)
	chunks := (n + chunk - 1) / chunk
	workers = min(workers, chunks)
	if workers <= 1 || n < 32 {
		for i := 0; i < n; i++ {
			if stop != nil && stop() {
				return
			}
			work(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	run := func() {
		for {
			c := int(next.Add(1) - 1)
			if c >= chunks {
				return
			}
			end := min((c+1)*chunk, n)
			for i := c * chunk; i < end; i++ {
				if stop != nil && stop() {
					return
				}
				work(i)
			}
		}
	}
	wg.Add(workers - 1)
	for w := 1; w < workers; w++ {
		go func() {
			defer wg.Done()
			run()
		}()
	}
	run()
	wg.Wait()
}

func chunkSize(n, parallelism int) int {
	s := int(math.Sqrt(float64(n)))
	if r := n/parallelism + 1; s > r {
		s = r
	}
	return max(s, 1)
}
