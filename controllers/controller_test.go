package controllers_test

import (
	"context"
	"errors"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tendhq/tend/controllers"
	"github.com/tendhq/tend/informers/workqueue"
)

// calls records the reconciles of each request, and answers from a script.
type calls struct {
	mu     sync.Mutex
	n      map[string]int
	answer func(req controllers.Request, n int) (controllers.Result, error)
	seen   chan string
}

func (c *calls) Reconcile(_ context.Context, req controllers.Request) (controllers.Result, error) {
	c.mu.Lock()
	c.n[req.Name]++
	n := c.n[req.Name]
	c.mu.Unlock()
	c.seen <- req.Name
	return c.answer(req, n)
}

func (c *calls) count(name string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[name]
}

// waitCalls waits until name was reconciled n times.
func waitCalls(t *testing.T, c *calls, name string, n int) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for c.count(name) < n {
		select {
		case <-c.seen:
		case <-deadline:
			t.Fatalf("%s reconciled %d times; want %d", name, c.count(name), n)
		}
	}
}

func TestRequeuePolicy(t *testing.T) {
	errBoom := errors.New("boom")
	c := &calls{n: map[string]int{}, seen: make(chan string, 100), answer: func(req controllers.Request, n int) (controllers.Result, error) {
		switch req.Name {
		case "fails-twice":
			if n <= 2 {
				return controllers.Result{}, errBoom
			}
		case "terminal":
			return controllers.Result{}, controllers.Terminal(errBoom)
		case "requeue":
			if n == 1 {
				return controllers.Result{RequeueAfter: 20 * time.Millisecond}, nil
			}
		case "panics":
			if n == 1 {
				panic("oops")
			}
		}
		return controllers.Result{}, nil
	}}
	reg := prometheus.NewRegistry()
	ctrl := controllers.New("test", c, controllers.Options{Workers: 2, Registerer: reg,
		Queue: workqueue.Options{BaseDelay: time.Millisecond, QPS: math.Inf(1)}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = ctrl.Run(ctx)
	}()
	for _, n := range []string{"ok", "fails-twice", "terminal", "requeue", "panics"} {
		ctrl.Enqueue(controllers.Request{Namespace: "ns", Name: n})
	}
	waitCalls(t, c, "fails-twice", 3)
	waitCalls(t, c, "requeue", 2)
	waitCalls(t, c, "panics", 2)
	waitCalls(t, c, "ok", 1)
	waitCalls(t, c, "terminal", 1)
	time.Sleep(50 * time.Millisecond) // anything that would retry has had the time to
	cancel()
	<-done
	want := map[string]int{"ok": 1, "fails-twice": 3, "terminal": 1, "requeue": 2, "panics": 2}
	for name, n := range want {
		if got := c.count(name); got != n {
			t.Errorf("%s reconciled %d times; want %d", name, got, n)
		}
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	results := map[string]float64{}
	for _, f := range families {
		if f.GetName() != "controller_reconcile_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" {
					results[l.GetValue()] = m.GetCounter().GetValue()
				}
			}
		}
	}
	wantResults := map[string]float64{"success": 4, "error": 3, "terminal_error": 1, "requeue_after": 1}
	for r, n := range wantResults {
		if results[r] != n {
			t.Errorf("controller_reconcile_total{result=%q} = %v; want %v (all: %v)", r, results[r], n, results)
		}
	}
}

// A request is never reconciled by two workers at once, and one enqueued while
// it is being reconciled is reconciled again after.
func TestOneWorkerPerRequest(t *testing.T) {
	var mu sync.Mutex
	inFlight, maxInFlight, total := 0, 0, 0
	release := make(chan struct{})
	r := controllers.ReconcilerFunc(func(ctx context.Context, req controllers.Request) (controllers.Result, error) {
		mu.Lock()
		inFlight++
		total++
		maxInFlight = max(maxInFlight, inFlight)
		first := total == 1
		mu.Unlock()
		if first {
			<-release
		}
		mu.Lock()
		inFlight--
		mu.Unlock()
		return controllers.Result{}, nil
	})
	ctrl := controllers.New("one", r, controllers.Options{Workers: 4})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = ctrl.Run(ctx) }()
	req := controllers.Request{Name: "x"}
	ctrl.Enqueue(req)
	time.Sleep(20 * time.Millisecond)
	for range 5 {
		ctrl.Enqueue(req) // while the first is still running
	}
	time.Sleep(20 * time.Millisecond)
	close(release)
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := total
		mu.Unlock()
		if n == 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(30 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if maxInFlight != 1 || total != 2 {
		t.Errorf("max concurrent reconciles of one request = %d, total %d; want 1 and 2", maxInFlight, total)
	}
}

func TestExpectations(t *testing.T) {
	e := controllers.NewExpectations()
	if !e.Satisfied("rs") {
		t.Error("no expectations: not satisfied")
	}
	e.ExpectCreations("rs", 2)
	if e.Satisfied("rs") {
		t.Error("two creations expected: satisfied")
	}
	e.CreationObserved("rs")
	e.CreationObserved("rs")
	if !e.Satisfied("rs") {
		t.Error("both creations observed: not satisfied")
	}
	e.ExpectDeletions("rs", []string{"u1", "u2"})
	e.DeletionObserved("rs", "u1")
	e.DeletionObserved("rs", "u1") // twice: counted once
	if e.Satisfied("rs") {
		t.Error("one of two deletions observed: satisfied")
	}
	e.DeletionObserved("rs", "u2")
	if !e.Satisfied("rs") {
		t.Error("both deletions observed: not satisfied")
	}
	e.ExpectCreations("other", 1)
	e.Forget("other")
	if !e.Satisfied("other") {
		t.Error("forgotten: not satisfied")
	}
}
