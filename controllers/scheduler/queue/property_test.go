package queue

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
)

// TestRandomOperations drives the queue with seeded random sequences of every
// operation and checks after each step that no pod is held twice, that the
// queue holds exactly the pending pods that are not in flight, and that Pop
// never returns a pod in flight, deleted or bound.
func TestRandomOperations(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			interests := testInterests
			if seed%4 == 0 {
				interests = nil
			}
			runRandom(t, seed, 1500, interests)
		})
	}
}

type model struct {
	t        *testing.T
	r        *rand.Rand
	q        *Queue
	advance  func(time.Duration)
	now      func() time.Time
	next     int
	live     map[string]*corev1.Pod // pending pods the queue should hold or have in flight
	inflight map[string]*QueuedPod
	cycles   map[string]int64
	gone     sets.Set[string] // deleted or bound: must never come back
	log      []string
}

func runRandom(t *testing.T, seed uint64, steps int, interests map[string][]Event) {
	q, clk := newTestQueue(t, Config{Interests: interests})
	m := &model{
		t: t, r: rand.New(rand.NewPCG(seed, seed*7919)), q: q,
		advance: clk.Step, now: clk.Now,
		live: map[string]*corev1.Pod{}, inflight: map[string]*QueuedPod{}, cycles: map[string]int64{},
		gone: sets.New[string](),
	}
	ops := []func(){m.add, m.add, m.resync, m.update, m.update, m.del, m.pop, m.pop, m.pop, m.requeue, m.requeue, m.done,
		m.moveAll, m.assigned, m.tick, m.nominate}
	for i := 0; i < steps; i++ {
		ops[m.r.IntN(len(ops))]()
		if err := m.check(); err != nil {
			n := len(m.log)
			t.Fatalf("seed %d step %d: %v\nlast operations: %v", seed, i, err, m.log[max(0, n-8):])
		}
	}
}

func (m *model) logf(format string, args ...any) { m.log = append(m.log, fmt.Sprintf(format, args...)) }

func (m *model) pick(from map[string]*corev1.Pod) (string, bool) {
	if len(from) == 0 {
		return "", false
	}
	names := make([]string, 0, len(from))
	for n := range from {
		names = append(names, n)
	}
	sort.Strings(names)
	return names[m.r.IntN(len(names))], true
}

var plugins = []string{"NodeResourcesFit", "TaintToleration", "NodeAffinity", "InterPodAffinity", "PodTopologySpread"}

func (m *model) randomPod(name string) *corev1.Pod {
	var opts []podOpt
	opts = append(opts, withPriority(int32(m.r.IntN(3))), withLabels("app", []string{"web", "db"}[m.r.IntN(2)]))
	switch m.r.IntN(6) {
	case 0:
		opts = append(opts, withAffinity("app", "db"))
	case 1:
		opts = append(opts, withAntiAffinity("app", "web"))
	case 2:
		opts = append(opts, withSpread("app", "web"))
	case 3:
		if m.r.IntN(3) == 0 {
			opts = append(opts, withGates("g"))
		}
	}
	return newPod(name, opts...)
}

func (m *model) add() {
	m.next++
	name := fmt.Sprintf("p%d", m.next)
	p := m.randomPod(name)
	m.logf("Add(%s)", name)
	m.q.Add(p)
	m.live[name] = p
}

func (m *model) resync() {
	name, ok := m.pick(m.live)
	if !ok {
		return
	}
	m.logf("Add(%s) again", name)
	m.q.Add(m.live[name])
}

func (m *model) update() {
	name, ok := m.pick(m.live)
	if !ok {
		return
	}
	old := m.live[name]
	p := old.DeepCopy()
	p.ResourceVersion = fmt.Sprint(m.r.IntN(1000))
	kind := m.r.IntN(5)
	switch kind {
	case 0:
		p.Labels["app"] = []string{"web", "db", "cache"}[m.r.IntN(3)]
	case 1:
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse}}
	case 2:
		p.Spec.SchedulingGates = nil
	case 3:
		p.Status.NominatedNodeName = []string{"", "n1", "n2"}[m.r.IntN(3)]
	case 4:
		p.Spec.NodeName = "n1"
	}
	m.logf("Update(%s, kind %d)", name, kind)
	m.q.Update(old, p)
	if p.Spec.NodeName != "" {
		delete(m.live, name)
		m.gone.Insert(name)
		return
	}
	m.live[name] = p
}

func (m *model) del() {
	name, ok := m.pick(m.live)
	if !ok {
		return
	}
	m.logf("Delete(%s)", name)
	m.q.Delete(m.live[name])
	delete(m.live, name)
	m.gone.Insert(name)
}

func (m *model) pop() {
	m.q.mu.Lock()
	m.q.flushBackoffLocked(m.now())
	n := m.q.active.Len()
	m.q.mu.Unlock()
	if n == 0 {
		return
	}
	qp, err := m.q.Pop(context.Background())
	if err != nil {
		m.t.Fatalf("Pop() error %v", err)
	}
	name := qp.Pod.Name
	m.logf("Pop() = %s", name)
	if _, dup := m.inflight[name]; dup {
		m.t.Fatalf("Pop() returned %s, already in flight", name)
	}
	if m.gone.Has(name) {
		m.t.Fatalf("Pop() returned %s, deleted or bound", name)
	}
	if len(qp.Pod.Spec.SchedulingGates) > 0 {
		m.t.Fatalf("Pop() returned gated pod %s", name)
	}
	if qp.Pod != m.live[name] {
		m.t.Fatalf("Pop() returned an old version of %s", name)
	}
	m.inflight[name] = qp
	m.cycles[name] = m.q.SchedulingCycle()
}

func (m *model) pickInFlight() (string, *QueuedPod, bool) {
	if len(m.inflight) == 0 {
		return "", nil, false
	}
	names := make([]string, 0, len(m.inflight))
	for n := range m.inflight {
		names = append(names, n)
	}
	sort.Strings(names)
	n := names[m.r.IntN(len(names))]
	return n, m.inflight[n], true
}

func (m *model) requeue() {
	name, qp, ok := m.pickInFlight()
	if !ok {
		return
	}
	qp.UnschedulablePlugins = nil
	if k := m.r.IntN(3); k > 0 {
		qp.UnschedulablePlugins = sets.New[string]()
		for range k {
			qp.UnschedulablePlugins.Insert(plugins[m.r.IntN(len(plugins))])
		}
	}
	cycle := m.cycles[name]
	if m.r.IntN(2) == 0 {
		cycle = m.q.SchedulingCycle()
	}
	m.logf("Requeue(%s, %v)", name, sets.List(qp.UnschedulablePlugins))
	if err := m.q.Requeue(qp, cycle); err != nil {
		m.t.Fatalf("Requeue(%s) error %v", name, err)
	}
	delete(m.inflight, name)
	if p, ok := m.live[name]; ok && qp.Pod != p {
		m.t.Fatalf("after Requeue(%s) the queued pod is not the newest version", name)
	}
}

func (m *model) done() {
	name, qp, ok := m.pickInFlight()
	if !ok {
		return
	}
	m.logf("Done(%s)", name)
	// Done means bound: the core clears the nomination and the informer
	// then sees the pod assigned.
	m.q.ClearNomination(qp.Pod)
	m.q.Done(qp.Pod.UID)
	delete(m.inflight, name)
	if _, ok := m.live[name]; ok {
		delete(m.live, name)
		m.gone.Insert(name)
	}
}

func (m *model) moveAll() {
	evs := []Event{
		{Resource: Node, Action: Add}, {Resource: Node, Action: UpdateNodeTaint | UpdateNodeLabel},
		{Resource: Node, Action: UpdateNodeAllocatable}, {Resource: Pod, Action: Delete},
		{Resource: "PersistentVolume", Action: Add}, {Resource: WildCard, Action: All},
	}
	ev := evs[m.r.IntN(len(evs))]
	m.logf("MoveAll(%v)", ev)
	m.q.MoveAll(ev, nil, nil)
}

func (m *model) assigned() {
	old := bound(newPod("bound", withLabels("app", []string{"web", "db"}[m.r.IntN(2)])), "n1")
	if m.r.IntN(2) == 0 {
		m.logf("AssignedPodAdded(%v)", old.Labels)
		m.q.AssignedPodAdded(old)
		return
	}
	newer := old.DeepCopy()
	newer.Labels["app"] = []string{"web", "db"}[m.r.IntN(2)]
	m.logf("AssignedPodUpdated(%v → %v)", old.Labels, newer.Labels)
	m.q.AssignedPodUpdated(old, newer)
}

func (m *model) tick() {
	d := time.Duration(m.r.IntN(3000)) * time.Millisecond
	if m.r.IntN(20) == 0 {
		d = 6 * time.Minute
	}
	m.logf("tick(%v)", d)
	m.advance(d)
	m.q.mu.Lock()
	m.q.flushBackoffLocked(m.now())
	m.q.flushUnschedulableLocked(m.now())
	m.q.mu.Unlock()
}

func (m *model) nominate() {
	name, ok := m.pick(m.live)
	if !ok {
		return
	}
	if m.r.IntN(2) == 0 {
		m.logf("Nominate(%s)", name)
		m.q.Nominate(m.live[name], "n2")
		return
	}
	m.logf("ClearNomination(%s)", name)
	m.q.ClearNomination(m.live[name])
}

// check compares the queue with the model.
func (m *model) check() error {
	if err := checkInvariants(m.q); err != nil {
		return err
	}
	m.q.mu.Lock()
	defer m.q.mu.Unlock()
	held := 0
	for name, p := range m.live {
		qp := m.q.pods[p.UID]
		if qp == nil {
			return fmt.Errorf("pending pod %s is not held", name)
		}
		held++
		if inflight, ok := m.inflight[name]; ok {
			if qp != inflight || qp.where != placeInFlight {
				return fmt.Errorf("pod %s in flight is %v in the queue", name, qp.where)
			}
			continue
		}
		if qp.where == placeInFlight {
			return fmt.Errorf("pod %s is in flight in the queue but not popped", name)
		}
		if qp.Pod != p {
			return fmt.Errorf("pod %s is held in an old version", name)
		}
		if gated := len(p.Spec.SchedulingGates) > 0; gated != (qp.where == placeGated) {
			return fmt.Errorf("pod %s with gates %v is %v", name, p.Spec.SchedulingGates, qp.where)
		}
	}
	// In-flight pods deleted meanwhile are still held until they come back.
	for name := range m.inflight {
		if _, ok := m.live[name]; !ok {
			held++
		}
	}
	if held != len(m.q.pods) {
		return fmt.Errorf("queue holds %d pods; want %d", len(m.q.pods), held)
	}
	m.q.nominator.mu.Lock()
	defer m.q.nominator.mu.Unlock()
	view := *m.q.nominator.view.Load()
	inView := 0
	for node, pods := range view {
		for _, p := range pods {
			if m.q.nominator.node[p.UID] != node {
				return fmt.Errorf("pod %s listed under %s but nominated to %q", p.Name, node, m.q.nominator.node[p.UID])
			}
			inView++
		}
	}
	if inView != len(m.q.nominator.node) {
		return fmt.Errorf("nominator view lists %d pods; want %d", inView, len(m.q.nominator.node))
	}
	for uid := range m.q.nominator.node {
		name := string(uid)[len("uid-"):]
		if _, ok := m.live[name]; !ok {
			if _, ok := m.inflight[name]; !ok {
				return fmt.Errorf("pod %s is nominated but gone", name)
			}
		}
	}
	return nil
}

// TestConcurrentUse runs producers, two scheduling loops, events and Run at
// once on the real clock (for -race): every pod ends bound exactly once and
// no pod is ever in two loops at the same time.
func TestConcurrentUse(t *testing.T) {
	const n = 400
	q := New(Config{InitialBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond, Interests: testInterests})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	go q.Run(ctx)

	var mu sync.Mutex
	inflight := sets.New[string]()
	boundPods := sets.New[string]()
	// produced[i] closes after the producer's last event for pod i: the
	// binding's event must come after it, as an informer orders them.
	produced := make([]chan struct{}, n)
	for i := range produced {
		produced[i] = make(chan struct{})
	}
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Add(1)
		go func() { // producer: adds, then updates
			defer wg.Done()
			for i := w; i < n; i += 2 {
				p := newPod(fmt.Sprintf("p%d", i), withPriority(int32(i%3)))
				q.Add(p)
				q.Update(p, newPod(p.Name, withPriority(int32(i%3)), withLabels("v", "2")))
				close(produced[i])
			}
		}()
	}
	stop := make(chan struct{})
	go func() { // events
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
				q.MoveAll(Event{Resource: Node, Action: Add}, nil, nil)
				q.AssignedPodAdded(bound(newPod("x", withLabels("app", "db")), "n1"))
				for _, p := range q.NominatedPods("n1") {
					_ = p.Name
				}
			}
		}
	}()
	errc := make(chan error, 2)
	for w := range 2 {
		go func() { // scheduling loop
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for {
				qp, err := q.Pop(ctx)
				if err != nil {
					errc <- err
					return
				}
				name := qp.Pod.Name
				mu.Lock()
				if inflight.Has(name) || boundPods.Has(name) {
					mu.Unlock()
					errc <- fmt.Errorf("pod %s popped while in flight or bound", name)
					return
				}
				inflight.Insert(name)
				mu.Unlock()
				cycle := q.SchedulingCycle()
				if r.IntN(2) == 0 {
					qp.UnschedulablePlugins = sets.New(plugins[r.IntN(len(plugins))])
					mu.Lock()
					inflight.Delete(name)
					mu.Unlock()
					if err := q.Requeue(qp, cycle); err != nil {
						errc <- err
						return
					}
					q.Done(qp.Pod.UID)
					if r.IntN(4) == 0 {
						q.Nominate(qp.Pod, "n1")
					}
					continue
				}
				var i int
				fmt.Sscanf(name, "p%d", &i)
				<-produced[i]
				mu.Lock()
				inflight.Delete(name)
				boundPods.Insert(name)
				done := boundPods.Len() == n
				mu.Unlock()
				q.Done(qp.Pod.UID)
				q.Update(qp.Pod, func() *corev1.Pod { c := qp.Pod.DeepCopy(); c.Spec.NodeName = "n1"; return c }())
				if done {
					errc <- nil
					return
				}
			}
		}()
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
	q.Close()
	if err := <-errc; err != nil && !errors.Is(err, ErrClosed) {
		t.Fatal(err)
	}
	if boundPods.Len() != n {
		t.Errorf("bound %d pods; want %d", boundPods.Len(), n)
	}
	if err := checkInvariants(q); err != nil {
		t.Error(err)
	}
	if a, b, u := q.Pending(); a+b+u != 0 {
		t.Errorf("Pending() = %d, %d, %d after every pod was bound; want 0, 0, 0", a, b, u)
	}
}
