package workqueue_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tendhq/tend/informers/workqueue"
)

// wait bounds every wait for something that should happen; tests expect to
// finish far sooner.
const wait = 10 * time.Second

func newQueue(t *testing.T, o workqueue.Options) *workqueue.Queue[string] {
	t.Helper()
	q := workqueue.New[string](o)
	t.Cleanup(q.ShutDown)
	return q
}

// get hands out the next key, failing the test if none comes.
func get(t *testing.T, q *workqueue.Queue[string]) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	k, ok := q.Get(ctx)
	if !ok {
		t.Fatalf("Get() = _, false; want a key")
	}
	return k
}

// getNone checks that Get hands out nothing for a little while.
func getNone(t *testing.T, q *workqueue.Queue[string]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if k, ok := q.Get(ctx); ok {
		t.Fatalf("Get() = %q, true; want nothing", k)
	}
}

// getAll hands out, and marks Done, the n next keys.
func getAll(t *testing.T, q *workqueue.Queue[string], n int) []string {
	t.Helper()
	got := []string{}
	for range n {
		k := get(t, q)
		got = append(got, k)
		q.Done(k)
	}
	return got
}

func TestAddDeduplicatesAndKeepsFIFO(t *testing.T) {
	for _, tc := range []struct {
		adds string // one key per letter
		want string
	}{
		{adds: "", want: ""},
		{adds: "a", want: "a"},
		{adds: "aaa", want: "a"},
		{adds: "abc", want: "abc"},
		{adds: "cba", want: "cba"},
		{adds: "abab", want: "ab"},
		{adds: "abcacbd", want: "abcd"},
	} {
		q := newQueue(t, workqueue.Options{})
		for _, k := range strings.Split(tc.adds, "") {
			q.Add(k)
		}
		if got, want := q.Len(), len(tc.want); got != want {
			t.Errorf("adds %q: Len() = %d; want %d", tc.adds, got, want)
		}
		if got := strings.Join(getAll(t, q, len(tc.want)), ""); got != tc.want {
			t.Errorf("adds %q: handed out %q; want %q", tc.adds, got, tc.want)
		}
		if got := q.Len(); got != 0 {
			t.Errorf("adds %q: Len() after = %d; want 0", tc.adds, got)
		}
	}
}

func TestAddWhileProcessing(t *testing.T) {
	q := newQueue(t, workqueue.Options{})
	q.Add("a")
	q.Add("b")
	if got := get(t, q); got != "a" {
		t.Fatalf("Get() = %q; want a", got)
	}
	q.Add("a") // while a is being processed
	q.Add("a")
	if got := q.Len(); got != 1 {
		t.Errorf("Len() while a is processed = %d; want 1 (b only)", got)
	}
	if got := get(t, q); got != "b" {
		t.Fatalf("Get() = %q; want b", got)
	}
	q.Done("b")
	// a must not go to a second worker while the first still has it.
	getNone(t, q)

	q.Done("a")
	if got := get(t, q); got != "a" {
		t.Fatalf("Get() after Done(a) = %q; want a", got)
	}
	q.Done("a")
	getNone(t, q)
}

func TestReaddedKeyGoesToTheBack(t *testing.T) {
	q := newQueue(t, workqueue.Options{})
	q.Add("a")
	a := get(t, q)
	q.Add("a")
	q.Add("b")
	q.Add("c")
	q.Done(a)
	if got, want := strings.Join(getAll(t, q, 3), ""), "bca"; got != want {
		t.Errorf("handed out %q; want %q: a is ready only from Done", got, want)
	}
}

func TestDoneOfUnknownKeyDoesNothing(t *testing.T) {
	q := newQueue(t, workqueue.Options{})
	q.Add("a")
	q.Done("a") // queued, not handed out
	q.Done("z")
	if got := q.Len(); got != 1 {
		t.Errorf("Len() = %d; want 1", got)
	}
	if got := strings.Join(getAll(t, q, 1), ""); got != "a" {
		t.Errorf("handed out %q; want a", got)
	}
	getNone(t, q)
}

func TestGetHonoursContext(t *testing.T) {
	t.Run("cancelled while waiting", func(t *testing.T) {
		q := newQueue(t, workqueue.Options{})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan bool)
		go func() {
			_, ok := q.Get(ctx)
			done <- ok
		}()
		time.Sleep(10 * time.Millisecond)
		cancel()
		select {
		case ok := <-done:
			if ok {
				t.Errorf("Get(cancelled ctx) = _, true; want false")
			}
		case <-time.After(wait):
			t.Fatalf("Get did not return after its context was cancelled")
		}
	})
	t.Run("deadline", func(t *testing.T) {
		q := newQueue(t, workqueue.Options{})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		if k, ok := q.Get(ctx); ok {
			t.Errorf("Get() = %q, true; want false at the deadline", k)
		}
	})
	t.Run("already cancelled, key queued", func(t *testing.T) {
		q := newQueue(t, workqueue.Options{})
		q.Add("a")
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if k, ok := q.Get(ctx); ok {
			t.Errorf("Get(cancelled ctx) = %q, true; want false", k)
		}
		if got := q.Len(); got != 1 {
			t.Errorf("Len() = %d; want 1: a cancelled Get must not take the key", got)
		}
	})
	t.Run("a cancelled waiter passes the key on", func(t *testing.T) {
		// A waiter whose context ends may take the wake-up meant for a new
		// key; the key must still reach the live waiter.
		q := newQueue(t, workqueue.Options{})
		for i := range 200 {
			ctxA, cancelA := context.WithCancel(context.Background())
			ctxB, cancelB := context.WithCancel(context.Background())
			results := make(chan string, 2)
			for _, ctx := range []context.Context{ctxA, ctxB} {
				go func() {
					k, _ := q.Get(ctx)
					results <- k
				}()
			}
			time.Sleep(time.Millisecond) // let both wait
			key := fmt.Sprint(i)
			go cancelA()
			q.Add(key)

			receive := func() string {
				select {
				case k := <-results:
					return k
				case <-time.After(wait):
					t.Fatalf("round %d: a waiter never returned", i)
					return ""
				}
			}
			// Either A gives up first and B takes the key, or one of them
			// takes the key and the other returns empty-handed once
			// cancelled.
			got := []string{receive()}
			if got[0] == "" {
				got = append(got, receive())
				q.Done(key)
			} else {
				q.Done(key)
				cancelB()
				got = append(got, receive())
			}
			if !slices.Contains(got, key) || !slices.Contains(got, "") {
				t.Fatalf("round %d: waiters returned %q; want %q once", i, got, key)
			}
			cancelB()
			cancelA()
		}
	})
}

func TestShutDown(t *testing.T) {
	t.Run("adds are ignored", func(t *testing.T) {
		q := newQueue(t, workqueue.Options{})
		q.ShutDown()
		q.Add("a")
		q.AddAfter("b", time.Millisecond)
		q.AddRateLimited("c")
		if got := q.Len(); got != 0 {
			t.Errorf("Len() = %d; want 0", got)
		}
		if k, ok := q.Get(context.Background()); ok {
			t.Errorf("Get() = %q, true; want false", k)
		}
	})
	t.Run("Get drains what is queued", func(t *testing.T) {
		q := newQueue(t, workqueue.Options{})
		q.Add("a")
		q.Add("b")
		q.Add("c")
		if got := get(t, q); got != "a" {
			t.Fatalf("Get() = %q; want a", got)
		}
		q.Add("a") // processed again after Done, even after ShutDown
		q.ShutDown()
		q.ShutDown() // twice is fine
		if got := strings.Join(getAll(t, q, 2), ""); got != "bc" {
			t.Errorf("handed out %q after ShutDown; want bc", got)
		}
		if k, ok := q.Get(context.Background()); ok {
			t.Errorf("Get() = %q, true; want false while a is processed", k)
		}
		q.Done("a")
		if got := strings.Join(getAll(t, q, 1), ""); got != "a" {
			t.Errorf("handed out %q after Done; want a", got)
		}
		if k, ok := q.Get(context.Background()); ok {
			t.Errorf("Get() = %q, true; want false", k)
		}
	})
	t.Run("waiting Gets return", func(t *testing.T) {
		q := newQueue(t, workqueue.Options{})
		results := make(chan bool)
		for range 3 {
			go func() {
				_, ok := q.Get(context.Background())
				results <- ok
			}()
		}
		time.Sleep(10 * time.Millisecond)
		q.ShutDown()
		for range 3 {
			select {
			case ok := <-results:
				if ok {
					t.Errorf("Get() = _, true after ShutDown; want false")
				}
			case <-time.After(wait):
				t.Fatalf("Get did not return after ShutDown")
			}
		}
	})
	t.Run("waiting keys are dropped", func(t *testing.T) {
		q := newQueue(t, workqueue.Options{})
		q.AddAfter("a", time.Millisecond)
		q.AddRateLimited("b")
		q.ShutDown()
		time.Sleep(20 * time.Millisecond)
		if k, ok := q.Get(context.Background()); ok {
			t.Errorf("Get() = %q, true; want false", k)
		}
	})
}

func TestShutDownWithDrain(t *testing.T) {
	t.Run("waits for Done", func(t *testing.T) {
		q := newQueue(t, workqueue.Options{})
		q.Add("a")
		a := get(t, q)
		drained := make(chan error)
		go func() { drained <- q.ShutDownWithDrain(context.Background()) }()
		select {
		case err := <-drained:
			t.Fatalf("ShutDownWithDrain() = %v before Done; want it to wait", err)
		case <-time.After(20 * time.Millisecond):
		}
		q.Done(a)
		select {
		case err := <-drained:
			if err != nil {
				t.Errorf("ShutDownWithDrain() = %v; want nil", err)
			}
		case <-time.After(wait):
			t.Fatalf("ShutDownWithDrain did not return after Done")
		}
	})
	t.Run("waits for what is queued", func(t *testing.T) {
		q := newQueue(t, workqueue.Options{})
		for _, k := range []string{"a", "b", "c"} {
			q.Add(k)
		}
		var processed []string
		worker := make(chan struct{})
		go func() {
			defer close(worker)
			<-time.After(10 * time.Millisecond)
			for {
				k, ok := q.Get(context.Background())
				if !ok {
					return
				}
				processed = append(processed, k)
				q.Done(k)
			}
		}()
		if err := q.ShutDownWithDrain(context.Background()); err != nil {
			t.Errorf("ShutDownWithDrain() = %v; want nil", err)
		}
		<-worker
		if got, want := strings.Join(processed, ""), "abc"; got != want {
			t.Errorf("processed %q; want %q", got, want)
		}
	})
	t.Run("nothing to drain", func(t *testing.T) {
		q := newQueue(t, workqueue.Options{})
		if err := q.ShutDownWithDrain(context.Background()); err != nil {
			t.Errorf("ShutDownWithDrain() = %v; want nil", err)
		}
	})
	t.Run("context ends first", func(t *testing.T) {
		q := newQueue(t, workqueue.Options{Name: "stuck"})
		q.Add("a")
		q.Add("b")
		get(t, q)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		err := q.ShutDownWithDrain(ctx)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("ShutDownWithDrain() = %v; want %v", err, context.DeadlineExceeded)
		}
		if got, want := fmt.Sprint(err), `workqueue "stuck": drain stopped with 1 keys queued, 1 in progress: `; !strings.HasPrefix(got, want) {
			t.Errorf("ShutDownWithDrain() = %q; want it to start %q", got, want)
		}
	})
}

func TestNoGoroutineLeaks(t *testing.T) {
	before := runtime.NumGoroutine()
	for range 20 {
		q := workqueue.New[string](workqueue.Options{})
		q.AddAfter("later", time.Hour)
		q.AddRateLimited("retry")
		q.Add("now")
		ctx, cancel := context.WithCancel(context.Background())
		go cancel()
		q.Get(ctx)
		waiting := make(chan struct{})
		go func() {
			defer close(waiting)
			for {
				if _, ok := q.Get(context.Background()); !ok {
					return
				}
			}
		}()
		q.ShutDown()
		<-waiting
	}
	deadline := time.Now().Add(wait)
	for {
		after := runtime.NumGoroutine()
		if after <= before {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("goroutines: %d before, %d after ShutDown\n%s", before, after, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestConcurrentProducersAndConsumers(t *testing.T) {
	const (
		producers = 8
		consumers = 8
		adds      = 2000 // per producer
		keys      = 50
	)
	q := newQueue(t, workqueue.Options{})

	var (
		seq        atomic.Int64
		mu         sync.Mutex
		lastAdd    = map[string]int64{} // seq of each key's last Add
		lastStart  = map[string]int64{} // seq of each key's last Get
		processing = map[string]bool{}
		errs       []string
	)
	var consumersDone sync.WaitGroup
	for range consumers {
		consumersDone.Go(func() {
			for {
				k, ok := q.Get(context.Background())
				if !ok {
					return
				}
				mu.Lock()
				if processing[k] {
					errs = append(errs, fmt.Sprintf("%s handed to two workers at once", k))
				}
				processing[k] = true
				lastStart[k] = seq.Add(1)
				mu.Unlock()

				runtime.Gosched()

				mu.Lock()
				processing[k] = false
				mu.Unlock()
				q.Done(k)
			}
		})
	}
	var producersDone sync.WaitGroup
	for p := range producers {
		producersDone.Go(func() {
			for i := range adds {
				k := fmt.Sprint((p*adds + i) % keys)
				mu.Lock()
				lastAdd[k] = seq.Add(1)
				mu.Unlock()
				q.Add(k)
			}
		})
	}
	producersDone.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := q.ShutDownWithDrain(ctx); err != nil {
		t.Fatalf("ShutDownWithDrain() = %v", err)
	}
	consumersDone.Wait()

	for _, e := range errs {
		t.Error(e)
	}
	if got, want := len(lastAdd), keys; got != want {
		t.Errorf("%d keys added; want %d", got, want)
	}
	for k, added := range lastAdd {
		if started := lastStart[k]; started < added {
			t.Errorf("key %s last added at %d, last processed from %d; want processed after its last add", k, added, started)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts workqueue.Options
		want string // substring of the error; "" for none
	}{
		{name: "zero", opts: workqueue.Options{}},
		{name: "name only", opts: workqueue.Options{Name: "a"}},
		{name: "registerer without name", opts: workqueue.Options{Registerer: newRegistry()}, want: "needs a Name"},
		{name: "negative base delay", opts: workqueue.Options{BaseDelay: -1}, want: "BaseDelay -1ns is negative"},
		{name: "negative max delay", opts: workqueue.Options{MaxDelay: -1}, want: "MaxDelay -1ns is negative"},
		{name: "negative qps", opts: workqueue.Options{QPS: -1}, want: "QPS -1 is not a positive number"},
		{name: "negative burst", opts: workqueue.Options{Burst: -1}, want: "Burst -1 is negative"},
	} {
		err := tc.opts.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: Validate() = %v; want nil", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: Validate() = %v; want an error containing %q", tc.name, err, tc.want)
		}
	}
}

func TestNewPanicsOnInvalidOptions(t *testing.T) {
	defer func() {
		if v := recover(); v == nil {
			t.Errorf("New(Burst: -1) did not panic")
		}
	}()
	workqueue.New[string](workqueue.Options{Burst: -1})
}
