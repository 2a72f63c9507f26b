package queue

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
)

func TestPopOrder(t *testing.T) {
	for _, tc := range []struct {
		name string
		adds []*corev1.Pod // added one second apart, in this order
		want []string
	}{
		{"fifo at equal priority", []*corev1.Pod{newPod("a"), newPod("b"), newPod("c")}, []string{"a", "b", "c"}},
		{"priority first", []*corev1.Pod{newPod("low", withPriority(1)), newPod("high", withPriority(100)), newPod("mid", withPriority(50))}, []string{"high", "mid", "low"}},
		{"nil priority is zero", []*corev1.Pod{newPod("neg", withPriority(-5)), newPod("nil"), newPod("zero", withPriority(0)), newPod("one", withPriority(1))}, []string{"one", "nil", "zero", "neg"}},
		{"older first within a priority", []*corev1.Pod{newPod("h1", withPriority(10)), newPod("l1"), newPod("h2", withPriority(10)), newPod("l2")}, []string{"h1", "h2", "l1", "l2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, clk := newTestQueue(t, Config{})
			for _, p := range tc.adds {
				q.Add(p)
				clk.Step(time.Second)
			}
			var got []string
			for range tc.adds {
				got = append(got, popNow(t, q).Pod.Name)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Pop order = %v; want %v", got, tc.want)
			}
		})
	}
}

func TestPopOrderAfterRequeue(t *testing.T) {
	// A pod that failed gets a new Timestamp: it goes behind pods of its
	// priority that were added before the failure.
	q, clk := newTestQueue(t, Config{Interests: testInterests})
	q.Add(newPod("a"))
	clk.Step(time.Second)
	q.Add(newPod("b"))
	fail(t, q, "a")       // no plugins: backoff for 1s
	clk.Step(time.Second) // a's back-off is over
	q.Add(newPod("c"))    // added after a failed
	got := []string{popNow(t, q).Pod.Name, popNow(t, q).Pod.Name, popNow(t, q).Pod.Name}
	if want := []string{"b", "a", "c"}; !slices.Equal(got, want) {
		t.Errorf("Pop order = %v; want %v", got, want)
	}
}

func TestBackoffDuration(t *testing.T) {
	for _, tc := range []struct {
		initial, max time.Duration
		attempts     int
		want         time.Duration
	}{
		{0, 0, 0, time.Second},
		{0, 0, 1, time.Second},
		{0, 0, 2, 2 * time.Second},
		{0, 0, 3, 4 * time.Second},
		{0, 0, 4, 8 * time.Second},
		{0, 0, 5, 10 * time.Second},
		{0, 0, 50, 10 * time.Second},
		{100 * time.Millisecond, time.Second, 4, 800 * time.Millisecond},
		{100 * time.Millisecond, time.Second, 5, time.Second},
		{3 * time.Second, time.Second, 1, 3 * time.Second}, // max below initial is raised to it
		{3 * time.Second, time.Second, 7, 3 * time.Second},
	} {
		q, _ := newTestQueue(t, Config{InitialBackoff: tc.initial, MaxBackoff: tc.max})
		if got := q.backoffDuration(tc.attempts); got != tc.want {
			t.Errorf("backoffDuration(%d) with initial %v max %v = %v; want %v", tc.attempts, tc.initial, tc.max, got, tc.want)
		}
	}
}

func TestBackoffCountsFromLastFailure(t *testing.T) {
	q, clk := newTestQueue(t, Config{})
	q.Add(newPod("a"))
	for attempt, wait := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second} {
		clk.Step(time.Minute) // time before the failure does not count
		fail(t, q, "a")
		clk.Step(wait - time.Millisecond)
		if got := whereIs(q, "a"); got != "backoff" {
			t.Fatalf("after failure %d and %v: pod in %s; want backoff", attempt+1, wait-time.Millisecond, got)
		}
		clk.Step(time.Millisecond)
		q.mu.Lock()
		q.flushBackoffLocked(clk.Now())
		q.mu.Unlock()
		if got := whereIs(q, "a"); got != "active" {
			t.Fatalf("after failure %d and %v: pod in %s; want active", attempt+1, wait, got)
		}
	}
}

func TestRequeue(t *testing.T) {
	nodeAdd := Event{Resource: Node, Action: Add}
	for _, tc := range []struct {
		name      string
		interests map[string][]Event
		plugins   []string
		before    func(q *Queue) // before Pop
		during    func(q *Queue) // between Pop and Requeue
		want      string
	}{
		{name: "error goes to backoff", interests: testInterests, want: "backoff"},
		{name: "rejected, nothing happened", interests: testInterests, plugins: []string{"NodeResourcesFit"}, want: "unschedulable"},
		{name: "rejected, helpful event during the cycle", interests: testInterests, plugins: []string{"NodeResourcesFit"},
			during: func(q *Queue) { q.MoveAll(nodeAdd, nil, nil) }, want: "backoff"},
		{name: "rejected, unrelated event during the cycle", interests: testInterests, plugins: []string{"TaintToleration"},
			during: func(q *Queue) { q.MoveAll(Event{Resource: Node, Action: UpdateNodeAllocatable}, nil, nil) }, want: "unschedulable"},
		{name: "rejected, event no plugin wants during the cycle", interests: testInterests, plugins: []string{"NodeResourcesFit"},
			during: func(q *Queue) { q.MoveAll(Event{Resource: "PersistentVolume", Action: Add}, nil, nil) }, want: "unschedulable"},
		{name: "rejected, helpful event before the cycle", interests: testInterests, plugins: []string{"NodeResourcesFit"},
			before: func(q *Queue) { q.MoveAll(nodeAdd, nil, nil) }, want: "unschedulable"},
		{name: "one of two plugins helped", interests: testInterests, plugins: []string{"TaintToleration", "NodeAffinity"},
			during: func(q *Queue) { q.MoveAll(Event{Resource: Node, Action: UpdateNodeLabel}, nil, nil) }, want: "backoff"},
		{name: "nil interests: any event helps", plugins: []string{"NodeResourcesFit"},
			during: func(q *Queue) { q.MoveAll(Event{Resource: Node, Action: UpdateNodeCondition}, nil, nil) }, want: "backoff"},
		{name: "wildcard event helps", interests: testInterests, plugins: []string{"NodeResourcesFit"},
			during: func(q *Queue) { q.MoveAll(Event{Resource: WildCard, Action: All}, nil, nil) }, want: "backoff"},
		{name: "assigned pod added helps spread", interests: testInterests, plugins: []string{"PodTopologySpread"},
			during: func(q *Queue) { q.AssignedPodAdded(bound(newPod("other"), "n1")) }, want: "backoff"},
		{name: "assigned pod added does not help resources", interests: testInterests, plugins: []string{"NodeResourcesFit"},
			during: func(q *Queue) { q.AssignedPodAdded(bound(newPod("other"), "n1")) }, want: "unschedulable"},
		{name: "pod updated during the cycle", interests: testInterests, plugins: []string{"NodeResourcesFit"},
			during: func(q *Queue) { q.Update(newPod("p"), newPod("p", withLabels("x", "y"))) }, want: "backoff"},
		{name: "pod status updated during the cycle", interests: testInterests, plugins: []string{"NodeResourcesFit"},
			during: func(q *Queue) {
				p := newPod("p")
				p.ResourceVersion = "2"
				p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse}}
				q.Update(newPod("p"), p)
			}, want: "unschedulable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, _ := newTestQueue(t, Config{Interests: tc.interests})
			q.Add(newPod("p"))
			if tc.before != nil {
				tc.before(q)
			}
			qp := popNow(t, q)
			cycle := q.SchedulingCycle()
			if tc.during != nil {
				tc.during(q)
			}
			if len(tc.plugins) > 0 {
				qp.UnschedulablePlugins = sets.New(tc.plugins...)
			}
			if err := q.Requeue(qp, cycle); err != nil {
				t.Fatalf("Requeue() error %v", err)
			}
			if got := whereIs(q, "p"); got != tc.want {
				t.Errorf("after Requeue pod is in %s; want %s", got, tc.want)
			}
			if err := checkInvariants(q); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestRequeueUsesEarlierCycle(t *testing.T) {
	// The caller may pass the cycle at the time of the failure (upstream
	// does); an event between the pod's Pop and that time still counts.
	q, _ := newTestQueue(t, Config{Interests: testInterests})
	q.Add(newPod("a"))
	q.Add(newPod("b"))
	qa := popNow(t, q)
	q.MoveAll(Event{Resource: Node, Action: Add}, nil, nil)
	popNow(t, q) // b: the cycle moves on
	qa.UnschedulablePlugins = sets.New("NodeResourcesFit")
	if err := q.Requeue(qa, q.SchedulingCycle()); err != nil {
		t.Fatal(err)
	}
	if got := whereIs(q, "a"); got != "backoff" {
		t.Errorf("pod a in %s; want backoff", got)
	}
}

func TestMoveAll(t *testing.T) {
	for _, tc := range []struct {
		name      string
		interests map[string][]Event
		ev        Event
		elapsed   time.Duration // between the failures and the event
		want      map[string]string
	}{
		{"node add", testInterests, Event{Resource: Node, Action: Add}, 0,
			map[string]string{"fit": "backoff", "taint": "backoff", "affinity": "backoff", "spread": "backoff"}},
		{"node taint change", testInterests, Event{Resource: Node, Action: UpdateNodeTaint}, 0,
			map[string]string{"fit": "unschedulable", "taint": "backoff", "affinity": "backoff", "spread": "unschedulable"}},
		{"several actions in one event", testInterests, Event{Resource: Node, Action: UpdateNodeTaint | UpdateNodeAllocatable}, 0,
			map[string]string{"fit": "backoff", "taint": "backoff", "affinity": "backoff", "spread": "unschedulable"}},
		{"back-off over: to active", testInterests, Event{Resource: Node, Action: UpdateNodeLabel}, 2 * time.Second,
			map[string]string{"fit": "unschedulable", "taint": "unschedulable", "affinity": "active", "spread": "active"}},
		{"pod delete", testInterests, Event{Resource: Pod, Action: Delete}, 0,
			map[string]string{"fit": "backoff", "taint": "unschedulable", "affinity": "unschedulable", "spread": "backoff"}},
		{"nil interests", nil, Event{Resource: "PersistentVolume", Action: Add}, 0,
			map[string]string{"fit": "backoff", "taint": "backoff", "affinity": "backoff", "spread": "backoff"}},
		{"uninteresting event", testInterests, Event{Resource: "PersistentVolume", Action: Add}, 0,
			map[string]string{"fit": "unschedulable", "taint": "unschedulable", "affinity": "unschedulable", "spread": "unschedulable"}},
		{"wildcard", testInterests, Event{Resource: WildCard, Action: All}, 0,
			map[string]string{"fit": "backoff", "taint": "backoff", "affinity": "backoff", "spread": "backoff"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, clk := newTestQueue(t, Config{Interests: tc.interests})
			for _, name := range []string{"fit", "taint", "affinity", "spread"} {
				q.Add(newPod(name))
			}
			fail(t, q, "fit", "NodeResourcesFit")
			fail(t, q, "taint", "TaintToleration")
			fail(t, q, "affinity", "NodeAffinity", "TaintToleration") // moved by either
			fail(t, q, "spread", "PodTopologySpread")
			clk.Step(tc.elapsed)
			q.MoveAll(tc.ev, nil, nil)
			for name, want := range tc.want {
				if got := whereIs(q, name); got != want {
					t.Errorf("after MoveAll(%v) pod %s in %s; want %s", tc.ev, name, got, want)
				}
			}
			if err := checkInvariants(q); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestPopWaitsForBackoffNotFlush(t *testing.T) {
	q, clk := newTestQueue(t, Config{})
	q.Add(newPod("a"))
	fail(t, q, "a") // back-off 1s
	got := make(chan *QueuedPod, 1)
	go func() {
		qp, err := q.Pop(context.Background())
		if err != nil {
			t.Errorf("Pop() error %v", err)
		}
		got <- qp
	}()
	waitFor(t, "Pop to wait on the back-off timer", clk.HasWaiters)
	select {
	case qp := <-got:
		t.Fatalf("Pop() = %s before the back-off ended", qp.Pod.Name)
	default:
	}
	clk.Step(time.Second)
	select {
	case qp := <-got:
		if qp.Pod.Name != "a" || qp.Attempts != 2 {
			t.Errorf("Pop() = %s attempts %d; want a attempts 2", qp.Pod.Name, qp.Attempts)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Pop() did not return after the back-off ended")
	}
}

func TestPopWakesOnAdd(t *testing.T) {
	q, _ := newTestQueue(t, Config{})
	got := make(chan string, 1)
	go func() {
		qp, err := q.Pop(context.Background())
		if err != nil {
			t.Errorf("Pop() error %v", err)
			got <- ""
			return
		}
		got <- qp.Pod.Name
	}()
	waitFor(t, "Pop to wait", func() bool { q.mu.Lock(); defer q.mu.Unlock(); return q.waiters == 1 })
	q.Add(newPod("a"))
	select {
	case name := <-got:
		if name != "a" {
			t.Errorf("Pop() = %q; want a", name)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Pop() did not wake on Add")
	}
}

func TestPopEnds(t *testing.T) {
	q, _ := newTestQueue(t, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := q.Pop(ctx); errc <- err }()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("Pop() after cancel = %v; want context.Canceled", err)
	}

	go func() { _, err := q.Pop(context.Background()); errc <- err }()
	waitFor(t, "Pop to wait", func() bool { q.mu.Lock(); defer q.mu.Unlock(); return q.waiters == 1 })
	q.Close()
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Errorf("Pop() after Close = %v; want ErrClosed", err)
	}
	q.Add(newPod("a"))
	if _, err := q.Pop(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Pop() on a closed queue = %v; want ErrClosed", err)
	}
}

func TestRunFlushes(t *testing.T) {
	q, clk := newTestQueue(t, Config{Interests: testInterests})
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { q.Run(ctx); close(ran) }()
	waitFor(t, "Run's tickers", func() bool { return clk.Waiters() == 2 })

	q.Add(newPod("err"))
	q.Add(newPod("stuck"))
	fail(t, q, "err")                       // backoff until t0+1s
	fail(t, q, "stuck", "NodeResourcesFit") // unschedulable, no event will come
	clk.Step(time.Second)
	waitFor(t, "the back-off flush", func() bool { return whereIs(q, "err") == "active" })
	if got := whereIs(q, "stuck"); got != "unschedulable" {
		t.Fatalf("pod stuck in %s after 1s; want unschedulable", got)
	}
	clk.Step(DefaultMaxUnschedulableDuration) // 5m1s since the failure; the 30s tick fires
	waitFor(t, "the unschedulable flush", func() bool { return whereIs(q, "stuck") == "active" })

	cancel()
	<-ran
	if _, err := q.Pop(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Pop() after Run ended = %v; want ErrClosed", err)
	}
}

func TestUpdate(t *testing.T) {
	relabel := func(p *corev1.Pod) *corev1.Pod {
		c := p.DeepCopy()
		c.Labels = map[string]string{"new": "label"}
		return c
	}
	statusOnly := func(p *corev1.Pod) *corev1.Pod {
		c := p.DeepCopy()
		c.ResourceVersion = "7"
		c.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable"}}
		return c
	}
	for _, tc := range []struct {
		name    string
		setup   func(t *testing.T, q *Queue) // leaves pod "p" somewhere
		elapsed time.Duration
		update  func(p *corev1.Pod) *corev1.Pod
		want    string
	}{
		{"active stays active", func(t *testing.T, q *Queue) { q.Add(newPod("p")) }, 0, relabel, "active"},
		{"backoff stays", func(t *testing.T, q *Queue) { q.Add(newPod("p")); fail(t, q, "p") }, 0, relabel, "backoff"},
		{"unschedulable, spec change, backing off", func(t *testing.T, q *Queue) { q.Add(newPod("p")); fail(t, q, "p", "NodeAffinity") }, 0, relabel, "backoff"},
		{"unschedulable, spec change, back-off over", func(t *testing.T, q *Queue) { q.Add(newPod("p")); fail(t, q, "p", "NodeAffinity") }, 2 * time.Second, relabel, "active"},
		{"unschedulable, status change", func(t *testing.T, q *Queue) { q.Add(newPod("p")); fail(t, q, "p", "NodeAffinity") }, 2 * time.Second, statusOnly, "unschedulable"},
		{"unknown pod is added", func(t *testing.T, q *Queue) {}, 0, relabel, "active"},
		{"bound pod is removed", func(t *testing.T, q *Queue) { q.Add(newPod("p")) }, 0, func(p *corev1.Pod) *corev1.Pod { return bound(p, "n1") }, "none"},
		{"gated, gates removed", func(t *testing.T, q *Queue) { q.Add(newPod("p", withGates("a", "b"))) }, 0,
			func(p *corev1.Pod) *corev1.Pod { c := p.DeepCopy(); c.Spec.SchedulingGates = nil; return c }, "active"},
		{"gated, one gate left", func(t *testing.T, q *Queue) { q.Add(newPod("p", withGates("a", "b"))) }, 0,
			func(p *corev1.Pod) *corev1.Pod {
				c := p.DeepCopy()
				c.Spec.SchedulingGates = c.Spec.SchedulingGates[1:]
				return c
			}, "gated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, clk := newTestQueue(t, Config{Interests: testInterests})
			tc.setup(t, q)
			clk.Step(tc.elapsed)
			old := newPod("p")
			q.mu.Lock()
			if qp := q.pods[old.UID]; qp != nil {
				old = qp.Pod
			}
			q.mu.Unlock()
			newer := tc.update(old)
			q.Update(old, newer)
			if got := whereIs(q, "p"); got != tc.want {
				t.Errorf("after Update pod in %s; want %s", got, tc.want)
			}
			q.mu.Lock()
			if qp := q.pods[old.UID]; qp != nil && qp.Pod != newer {
				t.Errorf("queued pod is not the updated version")
			}
			q.mu.Unlock()
			if err := checkInvariants(q); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestUpdateActiveKeepsOrder(t *testing.T) {
	q, clk := newTestQueue(t, Config{})
	q.Add(newPod("a"))
	clk.Step(time.Second)
	q.Add(newPod("b"))
	q.Update(newPod("a"), newPod("a", withLabels("v", "2")))
	if qp := popNow(t, q); qp.Pod.Name != "a" || qp.Pod.Labels["v"] != "2" {
		t.Errorf("Pop() = %s %v; want a with the new labels", qp.Pod.Name, qp.Pod.Labels)
	}
}

func TestGatedPodsWaitForTheirGates(t *testing.T) {
	q, _ := newTestQueue(t, Config{})
	q.Add(newPod("g", withGates("wait")))
	q.MoveAll(Event{Resource: WildCard, Action: All}, nil, nil)
	if active, _, unsched := q.Pending(); active != 0 || unsched != 1 {
		t.Fatalf("Pending() active %d unschedulable %d; want 0, 1 (gated)", active, unsched)
	}
	q.Update(newPod("g", withGates("wait")), newPod("g"))
	if qp := popNow(t, q); qp.Pod.Name != "g" {
		t.Errorf("Pop() = %s; want g", qp.Pod.Name)
	}
}

func TestInFlight(t *testing.T) {
	t.Run("update while in flight is not a duplicate and is used by Requeue", func(t *testing.T) {
		q, _ := newTestQueue(t, Config{Interests: testInterests})
		q.Add(newPod("p"))
		qp := popNow(t, q)
		newer := newPod("p", withLabels("v", "2"))
		q.Update(newPod("p"), newer)
		q.Add(newer) // an informer resync, say
		if a, b, u := q.Pending(); a+b+u != 0 {
			t.Fatalf("Pending() = %d, %d, %d while the only pod is in flight; want 0, 0, 0", a, b, u)
		}
		if qp.Pod == newer {
			t.Fatal("Update changed the in-flight pod under its owner")
		}
		qp.UnschedulablePlugins = sets.New("NodeResourcesFit")
		if err := q.Requeue(qp, q.SchedulingCycle()); err != nil {
			t.Fatal(err)
		}
		if qp.Pod != newer {
			t.Errorf("after Requeue qp.Pod labels %v; want the newest version", qp.Pod.Labels)
		}
		if got := whereIs(q, "p"); got != "backoff" {
			t.Errorf("pod updated in flight went to %s; want backoff", got)
		}
	})
	t.Run("deleted while in flight is dropped by Requeue", func(t *testing.T) {
		q, _ := newTestQueue(t, Config{})
		q.Add(newPod("p"))
		qp := popNow(t, q)
		q.Delete(newPod("p"))
		if err := q.Requeue(qp, q.SchedulingCycle()); err != nil {
			t.Fatal(err)
		}
		if got := whereIs(q, "p"); got != "none" {
			t.Errorf("deleted pod in %s after Requeue; want none", got)
		}
	})
	t.Run("bound while in flight is dropped by Requeue", func(t *testing.T) {
		q, _ := newTestQueue(t, Config{})
		q.Add(newPod("p"))
		qp := popNow(t, q)
		q.Update(newPod("p"), bound(newPod("p"), "n1"))
		if err := q.Requeue(qp, q.SchedulingCycle()); err != nil {
			t.Fatal(err)
		}
		if got := whereIs(q, "p"); got != "none" {
			t.Errorf("bound pod in %s after Requeue; want none", got)
		}
	})
	t.Run("Done ends the cycle", func(t *testing.T) {
		q, _ := newTestQueue(t, Config{})
		q.Add(newPod("p"))
		qp := popNow(t, q)
		q.Done(qp.Pod.UID)
		if got := whereIs(q, "p"); got != "none" {
			t.Errorf("pod in %s after Done; want none", got)
		}
		q.Done(qp.Pod.UID) // harmless
	})
	t.Run("second Requeue fails", func(t *testing.T) {
		q, _ := newTestQueue(t, Config{})
		q.Add(newPod("p"))
		qp := fail(t, q, "p")
		if err := q.Requeue(qp, q.SchedulingCycle()); err == nil {
			t.Error("second Requeue() = nil; want an error")
		}
		q.Done(qp.Pod.UID) // not in flight: nothing happens
		if got := whereIs(q, "p"); got != "backoff" {
			t.Errorf("pod in %s; want backoff", got)
		}
	})
	t.Run("Requeue after Done takes the pod back", func(t *testing.T) {
		q, _ := newTestQueue(t, Config{})
		q.Add(newPod("p"))
		qp := popNow(t, q)
		q.Done(qp.Pod.UID)
		if err := q.Requeue(qp, q.SchedulingCycle()); err != nil {
			t.Fatal(err)
		}
		if got := whereIs(q, "p"); got != "backoff" {
			t.Errorf("pod in %s; want backoff", got)
		}
	})
	t.Run("Pop clears the plugins without touching the caller's set", func(t *testing.T) {
		q, clk := newTestQueue(t, Config{})
		q.Add(newPod("p"))
		qp := popNow(t, q)
		plugins := sets.New("NodeResourcesFit")
		qp.UnschedulablePlugins = plugins
		if err := q.Requeue(qp, q.SchedulingCycle()); err != nil {
			t.Fatal(err)
		}
		clk.Step(time.Second)
		q.MoveAll(Event{Resource: Node, Action: Add}, nil, nil)
		qp = popNow(t, q)
		if qp.UnschedulablePlugins.Len() != 0 || plugins.Len() != 1 {
			t.Errorf("after Pop plugins %v, caller's set %v; want empty and untouched", qp.UnschedulablePlugins, plugins)
		}
	})
}

func TestDelete(t *testing.T) {
	q, _ := newTestQueue(t, Config{})
	for _, n := range []string{"a", "b", "c", "d"} {
		q.Add(newPod(n))
	}
	q.Add(newPod("g", withGates("x")))
	fail(t, q, "a")
	fail(t, q, "b", "NodeResourcesFit")
	for _, n := range []string{"a", "b", "c", "g", "missing"} {
		q.Delete(newPod(n))
	}
	if a, b, u := q.Pending(); a != 1 || b != 0 || u != 0 {
		t.Errorf("Pending() = %d, %d, %d after deletes; want 1, 0, 0", a, b, u)
	}
	if err := checkInvariants(q); err != nil {
		t.Error(err)
	}
}

// waitFor polls cond for up to 10s of real time.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
