// Package queue is the scheduler's queue of pods waiting for a node: tend's
// smaller version of kube-scheduler's PriorityQueue
// (pkg/scheduler/backend/queue), with the same behaviour.
//
// A pending pod is in exactly one of these places, never two (a UID is held
// once, whatever sequence of calls arrives):
//
//   - active: ready to be tried; Pop returns the highest spec.priority (nil
//     counts as 0) first, then the oldest Timestamp.
//   - backoff: failed recently; it waits InitialBackoff·2^(Attempts-1),
//     capped at MaxBackoff, counted from its last failure, then moves to
//     active. Pop moves pods whose back-off is over without waiting for the
//     once-a-second flush.
//   - unschedulable: rejected by plugins (QueuedPod.UnschedulablePlugins).
//     It leaves when a cluster event that one of those plugins is interested
//     in arrives (MoveAll, AssignedPodAdded, AssignedPodUpdated; see
//     Config.Interests), when the pod itself changes in a way that may help
//     (Update), or after MaxUnschedulableDuration (checked every 30 s). It
//     goes to backoff if its back-off has not ended yet, else to active.
//   - gated: the pod has spec.schedulingGates; it is not tried until an
//     Update removes them all.
//   - in flight: returned by Pop and not yet given back by Requeue or Done.
//     Updates and deletes meanwhile are remembered and applied when the pod
//     comes back, so an in-flight pod is never queued a second time.
//
// Move requests during a cycle (upstream's moveRequestCycle): a pod whose
// attempt fails is put in backoff instead of unschedulable when an event that
// may help it (one its rejecting plugins is interested in) arrived after it
// was popped, so the event is not lost while the pod was being tried.
//
// The queue also keeps the nominator: which pending pods are nominated to
// which node (status.nominatedNodeName, or Nominate after preemption).
//
// All methods are safe for concurrent use. Pods handed to the queue are
// shared, not copied: callers must not modify them afterwards.
package queue

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/utils/clock"
)

// Defaults of Config, as upstream's.
const (
	DefaultInitialBackoff           = 1 * time.Second
	DefaultMaxBackoff               = 10 * time.Second
	DefaultMaxUnschedulableDuration = 5 * time.Minute
)

// How often Run flushes, as upstream.
const (
	backoffFlushPeriod       = 1 * time.Second
	unschedulableFlushPeriod = 30 * time.Second
)

// Plugin names the queue itself knows: pods rejected by PodTopologySpread
// may be helped by pods added or relabelled in their namespace.
const podTopologySpread = "PodTopologySpread"

// ErrClosed is returned by Pop once the queue is closed.
var ErrClosed = errors.New("scheduling queue is closed")

// Config configures a Queue; the zero value gives upstream's defaults.
type Config struct {
	// InitialBackoff is the back-off after the first failed attempt; it
	// doubles with every further attempt up to MaxBackoff. Zero means 1s,
	// MaxBackoff zero means 10s; a MaxBackoff below InitialBackoff is raised
	// to it.
	InitialBackoff, MaxBackoff time.Duration
	// MaxUnschedulableDuration is how long a pod may stay unschedulable
	// without any event moving it; zero means 5m.
	MaxUnschedulableDuration time.Duration
	// Interests maps a plugin name (as in QueuedPod.UnschedulablePlugins) to
	// the events that may make a pod it rejected schedulable. A nil map means
	// every event may help every pod; a plugin missing from a non-nil map is
	// helped by no event (its pods wait for MaxUnschedulableDuration).
	Interests map[string][]Event
	// Clock is the time source; nil means the real clock.
	Clock clock.WithTicker
	// Registerer receives the queue's metrics when not nil:
	// scheduler_pending_pods{queue} and
	// scheduler_queue_incoming_pods_total{queue,event}.
	Registerer prometheus.Registerer
}

// QueuedPod is a pending pod and what the queue knows about it. Pop hands it
// to the caller, who owns it until Requeue or Done; then the queue owns it
// again and the caller must not use it.
type QueuedPod struct {
	Pod *corev1.Pod
	// Timestamp is when the pod was added, or when its last attempt failed.
	Timestamp time.Time
	// Attempts counts the times Pop returned the pod.
	Attempts int
	// InitialAttempt is when the pod first became ready to be tried
	// (entered active), for scheduling-latency metrics.
	InitialAttempt time.Time
	// UnschedulablePlugins are the plugins that rejected the pod in its last
	// attempt. Pop clears it; the caller sets it before Requeue. Empty means
	// the attempt failed for another reason (an error), and the pod is
	// retried after back-off.
	UnschedulablePlugins sets.Set[string]

	// Bookkeeping, guarded by Queue.mu.
	where         place
	index         int // position in the active or backoff heap
	seq           uint64
	priority      int32
	backoffExpiry time.Time
	terms         *podTerms // parsed lazily, reset when Pod changes
	// While in flight:
	cycle   int64       // the scheduling cycle Pop started
	latest  *corev1.Pod // the newest version seen by Update, nil if none
	updated bool        // whether an update meanwhile may help the pod
	deleted bool        // whether the pod was deleted meanwhile
}

type place uint8

const (
	placeNone place = iota
	placeActive
	placeBackoff
	placeUnschedulable
	placeGated
	placeInFlight
)

func (qp *QueuedPod) setPod(p *corev1.Pod) {
	qp.Pod = p
	qp.priority = podPriority(p)
	qp.terms = nil
}

func podPriority(p *corev1.Pod) int32 {
	if p.Spec.Priority != nil {
		return *p.Spec.Priority
	}
	return 0
}

// Queue holds the pods waiting to be scheduled. Create it with New.
type Queue struct {
	clock            clock.WithTicker
	initialBackoff   time.Duration
	maxBackoff       time.Duration
	maxUnschedulable time.Duration
	interests        map[string][]Event
	nominator        *nominator

	mu sync.Mutex
	// pods holds every pod the queue knows, wherever it is (in flight too):
	// the single index that makes duplicates impossible.
	pods          map[types.UID]*QueuedPod
	active        podHeap
	backoff       podHeap
	unschedulable map[types.UID]*QueuedPod
	// byPlugin indexes unschedulable by rejecting plugin, so an event
	// visits only the pods it may help.
	byPlugin map[string]map[types.UID]*QueuedPod
	// crossTopology is the subset of unschedulable that assigned-pod events
	// may help: pods with required (anti-)affinity terms or rejected by
	// PodTopologySpread. AssignedPodAdded, called for every bound pod, looks
	// only here.
	crossTopology map[types.UID]*QueuedPod
	gated         map[types.UID]*QueuedPod
	seq           uint64
	cycle         int64
	// moveAll is the last cycle in which an event that may help every pod
	// arrived; movePlugin the last one per interested plugin.
	moveAll    int64
	movePlugin map[string]int64
	interestOf map[Event]interest // cache of interestedLocked, by Resource and Action
	// wake is closed (and replaced) to wake blocked Pops, only when some wait.
	wake    chan struct{}
	waiters int
	closed  bool
	done    chan struct{}
	metrics metrics
}

// interest is which plugins an event may help.
type interest struct {
	all     bool // every pod, whatever rejected it
	plugins []string
}

// New returns an empty queue. Call Run to start its periodic flushes.
func New(cfg Config) *Queue {
	if cfg.InitialBackoff <= 0 {
		cfg.InitialBackoff = DefaultInitialBackoff
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	if cfg.MaxBackoff < cfg.InitialBackoff {
		cfg.MaxBackoff = cfg.InitialBackoff
	}
	if cfg.MaxUnschedulableDuration <= 0 {
		cfg.MaxUnschedulableDuration = DefaultMaxUnschedulableDuration
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	q := &Queue{
		clock:            cfg.Clock,
		initialBackoff:   cfg.InitialBackoff,
		maxBackoff:       cfg.MaxBackoff,
		maxUnschedulable: cfg.MaxUnschedulableDuration,
		interests:        cfg.Interests,
		nominator:        newNominator(),
		pods:             map[types.UID]*QueuedPod{},
		active:           podHeap{less: activeLess},
		backoff:          podHeap{less: backoffLess},
		unschedulable:    map[types.UID]*QueuedPod{},
		byPlugin:         map[string]map[types.UID]*QueuedPod{},
		crossTopology:    map[types.UID]*QueuedPod{},
		gated:            map[types.UID]*QueuedPod{},
		moveAll:          -1,
		movePlugin:       map[string]int64{},
		interestOf:       map[Event]interest{},
		wake:             make(chan struct{}),
		done:             make(chan struct{}),
	}
	q.metrics = newMetrics(q, cfg.Registerer)
	return q
}

// activeLess orders active: higher priority first, then older Timestamp,
// then arrival.
func activeLess(a, b *QueuedPod) bool {
	if a.priority != b.priority {
		return a.priority > b.priority
	}
	if !a.Timestamp.Equal(b.Timestamp) {
		return a.Timestamp.Before(b.Timestamp)
	}
	return a.seq < b.seq
}

// backoffLess orders backoff by the end of the back-off, then as active.
func backoffLess(a, b *QueuedPod) bool {
	if !a.backoffExpiry.Equal(b.backoffExpiry) {
		return a.backoffExpiry.Before(b.backoffExpiry)
	}
	return activeLess(a, b)
}

// Run flushes finished back-offs every second and pods unschedulable for
// longer than MaxUnschedulableDuration every 30 seconds. It returns when ctx
// ends or the queue is closed; when ctx ends it closes the queue, which makes
// Pop return.
func (q *Queue) Run(ctx context.Context) {
	backoffTick := q.clock.NewTicker(backoffFlushPeriod)
	defer backoffTick.Stop()
	unschedTick := q.clock.NewTicker(unschedulableFlushPeriod)
	defer unschedTick.Stop()
	for {
		select {
		case <-ctx.Done():
			q.Close()
			return
		case <-q.done:
			return
		case <-backoffTick.C():
			q.mu.Lock()
			q.flushBackoffLocked(q.clock.Now())
			q.mu.Unlock()
		case <-unschedTick.C():
			q.mu.Lock()
			q.flushUnschedulableLocked(q.clock.Now())
			q.mu.Unlock()
		}
	}
}

// Close makes Pop return ErrClosed, now and from then on, and stops Run.
func (q *Queue) Close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	q.closed = true
	close(q.done)
	q.broadcastLocked()
}

// Add queues a new unscheduled pod as active (or gated, when it has
// scheduling gates). A pod with spec.nodeName set is ignored; a pod the queue
// already holds is treated as Update.
func (q *Queue) Add(pod *corev1.Pod) {
	if pod.Spec.NodeName != "" {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if qp := q.pods[pod.UID]; qp != nil {
		q.nominator.update(nil, pod)
		q.updateLocked(qp, pod)
		return
	}
	q.addNewLocked(pod, labelPodAdd)
}

func (q *Queue) addNewLocked(pod *corev1.Pod, event string) {
	now := q.clock.Now()
	qp := &QueuedPod{Timestamp: now, index: -1}
	qp.setPod(pod)
	q.pods[pod.UID] = qp
	if len(pod.Spec.SchedulingGates) > 0 {
		q.addGatedLocked(qp, event)
		return
	}
	qp.InitialAttempt = now
	q.pushActiveLocked(qp, event)
	q.nominator.update(nil, pod)
}

// Update follows a change of a pending pod. In active or backoff the pod is
// replaced in place. In unschedulable it moves to backoff or active when the
// change may help (anything but status, resourceVersion, generation,
// managedFields and finalizers changed, as upstream's isPodUpdated). Gated,
// it becomes active once its last scheduling gate is gone. In flight, the new
// version is kept for Requeue. A pod the queue does not hold is added; a
// newPod with spec.nodeName set is removed, as Delete.
func (q *Queue) Update(oldPod, newPod *corev1.Pod) {
	if newPod.Spec.NodeName != "" {
		q.Delete(newPod)
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	qp := q.pods[newPod.UID]
	if qp == nil {
		q.addNewLocked(newPod, labelPodUpdate)
		return
	}
	q.nominator.update(oldPod, newPod)
	q.updateLocked(qp, newPod)
}

func (q *Queue) updateLocked(qp *QueuedPod, newPod *corev1.Pod) {
	switch qp.where {
	case placeInFlight:
		base := qp.Pod
		if qp.latest != nil {
			base = qp.latest
		}
		if isPodUpdated(base, newPod) {
			qp.updated = true
		}
		qp.latest = newPod
	case placeActive:
		qp.setPod(newPod)
		q.active.fix(qp.index)
	case placeBackoff:
		qp.setPod(newPod)
		q.backoff.fix(qp.index)
	case placeUnschedulable:
		old := qp.Pod
		qp.setPod(newPod)
		if isPodUpdated(old, newPod) {
			q.removeLocked(qp)
			q.requeueLocked(qp, labelPodUpdate)
		}
	case placeGated:
		qp.setPod(newPod)
		if len(newPod.Spec.SchedulingGates) == 0 {
			q.removeLocked(qp)
			q.pushActiveLocked(qp, labelPodUpdate)
		}
	}
}

// isPodUpdated reports whether newPod differs from oldPod in anything but
// status (resource claim statuses excepted), resourceVersion, generation,
// managedFields and finalizers: a change that may make it schedulable.
func isPodUpdated(oldPod, newPod *corev1.Pod) bool {
	strip := func(p *corev1.Pod) corev1.Pod {
		c := *p
		c.ResourceVersion = ""
		c.Generation = 0
		c.ManagedFields = nil
		c.Finalizers = nil
		c.Status = corev1.PodStatus{ResourceClaimStatuses: p.Status.ResourceClaimStatuses}
		return c
	}
	a, b := strip(oldPod), strip(newPod)
	return !reflect.DeepEqual(&a, &b)
}

// Delete removes the pod from wherever it is and clears its nomination. An
// in-flight pod is dropped when it comes back through Requeue.
func (q *Queue) Delete(pod *corev1.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.nominator.delete(pod.UID)
	qp := q.pods[pod.UID]
	if qp == nil {
		return
	}
	if qp.where == placeInFlight {
		qp.deleted = true
		return
	}
	q.removeLocked(qp)
	delete(q.pods, pod.UID)
}

// Pop removes and returns the first active pod, waiting until there is one;
// pods whose back-off ends meanwhile become active at once. It starts a
// scheduling cycle: Attempts and SchedulingCycle go up by one and
// UnschedulablePlugins is cleared (set to nil; a set the caller stored
// there is not modified). The pod is in flight until Requeue or Done. Pop
// returns ErrClosed once the queue is closed, or ctx's error.
func (q *Queue) Pop(ctx context.Context) (*QueuedPod, error) {
	q.mu.Lock()
	for {
		if q.closed {
			q.mu.Unlock()
			return nil, ErrClosed
		}
		if err := ctx.Err(); err != nil {
			q.mu.Unlock()
			return nil, err
		}
		var now time.Time
		if q.backoff.Len() > 0 {
			now = q.clock.Now()
			q.flushBackoffLocked(now)
		}
		if q.active.Len() > 0 {
			qp := q.active.pop()
			q.cycle++
			qp.where = placeInFlight
			qp.cycle = q.cycle
			qp.Attempts++
			qp.UnschedulablePlugins = nil
			qp.latest, qp.updated, qp.deleted = nil, false, false
			q.mu.Unlock()
			return qp, nil
		}
		wake := q.wake
		q.waiters++
		var timer clock.Timer
		var fire <-chan time.Time
		if next := q.backoff.peek(); next != nil {
			timer = q.clock.NewTimer(next.backoffExpiry.Sub(now))
			fire = timer.C()
		}
		q.mu.Unlock()
		select {
		case <-wake:
		case <-fire:
		case <-ctx.Done():
		}
		if timer != nil {
			timer.Stop()
		}
		q.mu.Lock()
		q.waiters--
	}
}

// SchedulingCycle returns the number of pods popped so far: the current
// scheduling cycle.
func (q *Queue) SchedulingCycle() int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.cycle
}

// Requeue gives back a pod whose attempt failed (upstream's
// AddUnschedulableIfNotPresent) and ends its cycle, so Done is not needed
// after it. cycle is the scheduling cycle of the attempt (SchedulingCycle()
// when it started); the queue also knows when it popped the pod and uses the
// earlier of the two.
//
// The pod goes to backoff when it has no UnschedulablePlugins (an error, not
// a rejection), when an event that may help one of its plugins arrived since
// the cycle began, or when the pod itself changed meanwhile (Update); else to
// unschedulable. Its Timestamp becomes now. If the pod was updated while in
// flight, qp.Pod becomes the newest version; if it was deleted, it is
// dropped. A nomination made with Nominate is kept, unless the pod's
// status.nominatedNodeName names another node. Requeue fails, changing
// nothing, when the queue already holds the pod elsewhere.
func (q *Queue) Requeue(qp *QueuedPod, cycle int64) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	uid := qp.Pod.UID
	updated := false
	switch cur := q.pods[uid]; {
	case cur == nil:
		// Done came first, or the pod was never popped: take it back.
		q.pods[uid] = qp
		qp.index = -1
	case cur != qp || cur.where != placeInFlight:
		return fmt.Errorf("requeue pod %s/%s: it is already queued", qp.Pod.Namespace, qp.Pod.Name)
	default:
		if qp.deleted {
			delete(q.pods, uid)
			return nil
		}
		if qp.latest != nil {
			qp.setPod(qp.latest)
		}
		if qp.cycle < cycle {
			cycle = qp.cycle
		}
		updated = qp.updated
	}
	qp.latest, qp.updated, qp.deleted = nil, false, false
	qp.where = placeNone
	qp.Timestamp = q.clock.Now()
	switch {
	case len(qp.Pod.Spec.SchedulingGates) > 0:
		q.addGatedLocked(qp, labelScheduleAttemptFailure)
	case updated || len(qp.UnschedulablePlugins) == 0 || q.movedSinceLocked(qp.UnschedulablePlugins, cycle):
		q.requeueLocked(qp, labelScheduleAttemptFailure)
	default:
		q.addUnschedulableLocked(qp, labelScheduleAttemptFailure)
	}
	q.nominator.fromStatus(qp.Pod)
	return nil
}

// Done ends the cycle of an in-flight pod: bound, given up, or already given
// back with Requeue. After Requeue it does nothing — provided it comes before
// the pod is popped again, which cannot happen sooner than InitialBackoff
// after the Requeue, so call it right away (upstream's queue calls it inside
// Requeue; the caller need not). Every popped pod must end with Requeue or
// Done: until then the queue keeps it in flight and Add or Update of it
// only record the newer version. Nominations are left alone: clear them with
// ClearNomination or Delete.
func (q *Queue) Done(uid types.UID) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if qp := q.pods[uid]; qp != nil && qp.where == placeInFlight {
		delete(q.pods, uid)
	}
}

// Pending returns how many pods are active, backing off and unschedulable
// (gated pods included); pods in flight are not counted.
func (q *Queue) Pending() (active, backoff, unschedulable int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.active.Len(), q.backoff.Len(), len(q.unschedulable) + len(q.gated)
}

// Nominate records that pod is to run on node once preemption made room, so
// that later cycles count it there (NominatedPods) before the pod's
// status.nominatedNodeName comes back from the apiserver.
func (q *Queue) Nominate(pod *corev1.Pod, node string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.nominator.nominate(pod, node)
}

// ClearNomination forgets pod's nomination (it was bound, or preemption
// gave up on it).
func (q *Queue) ClearNomination(pod *corev1.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.nominator.delete(pod.UID)
}

// NominatedPods returns the newest known versions of the pods nominated to
// node, in nomination order; a new slice each call, nil when none. The pods
// are shared: do not modify them. It never waits for a lock (the scheduler
// calls it for every node it looks at): when no pod is nominated to node it
// costs an atomic load and a map lookup.
func (q *Queue) NominatedPods(node string) []*corev1.Pod {
	return q.nominator.pods(node)
}

// backoffDuration is InitialBackoff·2^(attempts-1), capped at MaxBackoff.
func (q *Queue) backoffDuration(attempts int) time.Duration {
	d := q.initialBackoff
	for i := 1; i < attempts; i++ {
		if d > q.maxBackoff-d {
			return q.maxBackoff
		}
		d += d
	}
	return d
}

func (q *Queue) backoffExpiry(qp *QueuedPod) time.Time {
	return qp.Timestamp.Add(q.backoffDuration(qp.Attempts))
}

// requeueLocked puts a pod that is nowhere into backoff when its back-off
// has not ended yet, else into active.
func (q *Queue) requeueLocked(qp *QueuedPod, event string) {
	if exp := q.backoffExpiry(qp); exp.After(q.clock.Now()) {
		qp.backoffExpiry = exp
		qp.where = placeBackoff
		q.backoff.push(qp)
		q.metrics.incLocked(queueBackoff, event)
		// A waiting Pop may need an earlier timer.
		q.broadcastLocked()
		return
	}
	q.pushActiveLocked(qp, event)
}

func (q *Queue) pushActiveLocked(qp *QueuedPod, event string) {
	if qp.InitialAttempt.IsZero() {
		qp.InitialAttempt = q.clock.Now()
	}
	q.seq++
	qp.seq = q.seq
	qp.where = placeActive
	q.active.push(qp)
	q.metrics.incLocked(queueActive, event)
	q.broadcastLocked()
}

func (q *Queue) addUnschedulableLocked(qp *QueuedPod, event string) {
	qp.where = placeUnschedulable
	uid := qp.Pod.UID
	q.unschedulable[uid] = qp
	for p := range qp.UnschedulablePlugins {
		m := q.byPlugin[p]
		if m == nil {
			m = map[types.UID]*QueuedPod{}
			q.byPlugin[p] = m
		}
		m[uid] = qp
	}
	if qp.UnschedulablePlugins.Has(podTopologySpread) || q.termsLocked(qp).any() {
		q.crossTopology[uid] = qp
	}
	q.metrics.incLocked(queueUnschedulable, event)
}

func (q *Queue) addGatedLocked(qp *QueuedPod, event string) {
	qp.where = placeGated
	q.gated[qp.Pod.UID] = qp
	q.metrics.incLocked(queueGated, event)
}

// removeLocked takes qp out of active, backoff, unschedulable or gated; it
// stays in q.pods.
func (q *Queue) removeLocked(qp *QueuedPod) {
	uid := qp.Pod.UID
	switch qp.where {
	case placeActive:
		q.active.remove(qp.index)
	case placeBackoff:
		q.backoff.remove(qp.index)
	case placeUnschedulable:
		delete(q.unschedulable, uid)
		delete(q.crossTopology, uid)
		for p := range qp.UnschedulablePlugins {
			delete(q.byPlugin[p], uid)
		}
	case placeGated:
		delete(q.gated, uid)
	}
	qp.where = placeNone
}

func (q *Queue) broadcastLocked() {
	if q.waiters > 0 {
		close(q.wake)
		q.wake = make(chan struct{})
	}
}

// flushBackoffLocked moves the pods whose back-off ended by now to active.
func (q *Queue) flushBackoffLocked(now time.Time) {
	for {
		qp := q.backoff.peek()
		if qp == nil || qp.backoffExpiry.After(now) {
			return
		}
		q.backoff.pop()
		q.pushActiveLocked(qp, labelBackoffComplete)
	}
}

// flushUnschedulableLocked moves the pods unschedulable for longer than
// MaxUnschedulableDuration to backoff or active.
func (q *Queue) flushUnschedulableLocked(now time.Time) {
	var stale []*QueuedPod
	for _, qp := range q.unschedulable {
		if now.Sub(qp.Timestamp) > q.maxUnschedulable {
			stale = append(stale, qp)
		}
	}
	if len(stale) == 0 {
		return
	}
	q.moveAll = q.cycle
	for _, qp := range stale {
		q.removeLocked(qp)
		q.requeueLocked(qp, labelUnschedulableTimeout)
	}
}
