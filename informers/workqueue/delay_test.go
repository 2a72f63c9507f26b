package workqueue_test

import (
	"math"
	"strings"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/tendhq/tend/informers/workqueue"
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

type add struct {
	key   string
	after time.Duration // AddAfter(key, after); 0 is Add
}

type step struct {
	by   time.Duration
	want string // keys that become ready, in order, one per letter
}

// runSteps adds, then steps a fake clock and checks what becomes ready after
// each step. The keys of a step become ready in one go, so once the first is
// handed out all are queued and nothing more is.
func runSteps(t *testing.T, q *workqueue.Queue[string], clk *clocktesting.FakeClock, steps []step) {
	t.Helper()
	for i, s := range steps {
		clk.Step(s.by)
		if got := strings.Join(getAll(t, q, len(s.want)), ""); got != s.want {
			t.Errorf("step %d (+%v): ready %q; want %q", i, s.by, got, s.want)
		}
		if got := q.Len(); got != 0 {
			t.Errorf("step %d (+%v): Len() = %d after the ready keys; want 0", i, s.by, got)
		}
	}
}

func TestAddAfter(t *testing.T) {
	for _, tc := range []struct {
		name  string
		adds  []add
		steps []step
	}{{
		name:  "ordered by time",
		adds:  []add{{"a", 3 * time.Second}, {"b", time.Second}, {"c", 2 * time.Second}},
		steps: []step{{999 * time.Millisecond, ""}, {time.Millisecond, "b"}, {time.Second, "c"}, {time.Second, "a"}},
	}, {
		name:  "a step past several times queues them earliest first",
		adds:  []add{{"a", 3 * time.Second}, {"b", time.Second}, {"c", 2 * time.Second}},
		steps: []step{{time.Hour, "bca"}},
	}, {
		name:  "same instant keeps the order asked",
		adds:  []add{{"c", time.Second}, {"a", time.Second}, {"b", time.Second}},
		steps: []step{{time.Second, "cab"}},
	}, {
		name:  "ready keys come after those already queued",
		adds:  []add{{"a", time.Second}, {"b", 0}},
		steps: []step{{time.Second, "ba"}},
	}, {
		name:  "an earlier AddAfter wins",
		adds:  []add{{"a", 2 * time.Second}, {"a", time.Second}},
		steps: []step{{time.Second, "a"}, {time.Second, ""}},
	}, {
		name:  "a later AddAfter is ignored",
		adds:  []add{{"a", time.Second}, {"a", 2 * time.Second}},
		steps: []step{{time.Second, "a"}, {time.Second, ""}},
	}, {
		name:  "Add supersedes a pending AddAfter",
		adds:  []add{{"a", time.Second}, {"a", 0}},
		steps: []step{{0, "a"}, {time.Second, ""}},
	}, {
		name:  "AddAfter of a queued key does nothing",
		adds:  []add{{"a", 0}, {"a", time.Second}},
		steps: []step{{0, "a"}, {time.Second, ""}},
	}, {
		name:  "zero and negative delays are Add",
		adds:  []add{{"a", -time.Second}, {"b", 0}, {"c", time.Nanosecond}},
		steps: []step{{0, "ab"}, {time.Nanosecond, "c"}},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			clk := clocktesting.NewFakeClock(epoch)
			q := newQueue(t, workqueue.Options{Clock: clk})
			for _, a := range tc.adds {
				q.AddAfter(a.key, a.after)
			}
			runSteps(t, q, clk, tc.steps)
		})
	}
}

func TestAddAfterWhileProcessing(t *testing.T) {
	clk := clocktesting.NewFakeClock(epoch)
	q := newQueue(t, workqueue.Options{Clock: clk})
	q.Add("a")
	a := get(t, q)
	q.AddAfter(a, time.Second)
	clk.Step(time.Second)
	getNone(t, q) // due, but still being processed
	q.Done(a)
	if got := get(t, q); got != "a" {
		t.Errorf("Get() after Done = %q; want a", got)
	}
}

func TestAddRateLimited(t *testing.T) {
	clk := clocktesting.NewFakeClock(epoch)
	q := newQueue(t, workqueue.Options{
		Clock:     clk,
		BaseDelay: time.Second,
		MaxDelay:  5 * time.Second,
		QPS:       math.Inf(1),
	})
	// Each retry of a waits twice as long, up to MaxDelay.
	for i, want := range []time.Duration{1, 2, 4, 5, 5} {
		want *= time.Second
		q.AddRateLimited("a")
		if got := q.NumRequeues("a"); got != i+1 {
			t.Errorf("NumRequeues(a) = %d; want %d", got, i+1)
		}
		runSteps(t, q, clk, []step{{want - time.Millisecond, ""}, {time.Millisecond, "a"}})
	}
	// b has a back-off of its own.
	q.AddRateLimited("b")
	runSteps(t, q, clk, []step{{time.Second, "b"}})
	q.Forget("a")
	if got := q.NumRequeues("a"); got != 0 {
		t.Errorf("NumRequeues(a) after Forget = %d; want 0", got)
	}
	q.AddRateLimited("a")
	runSteps(t, q, clk, []step{{time.Second, "a"}})
}

func TestAddRateLimitedTokenBucket(t *testing.T) {
	clk := clocktesting.NewFakeClock(epoch)
	q := newQueue(t, workqueue.Options{
		Clock:     clk,
		BaseDelay: time.Nanosecond,
		QPS:       10,
		Burst:     2,
	})
	// Two tokens, then one per 100ms; a key waits for the longer of its
	// back-off and the bucket.
	for _, k := range []string{"a", "b", "c", "d"} {
		q.AddRateLimited(k)
	}
	runSteps(t, q, clk, []step{
		{time.Nanosecond, "ab"},
		{100*time.Millisecond - 2*time.Nanosecond, ""},
		{time.Nanosecond, "c"},
		{100 * time.Millisecond, "d"},
	})
}
