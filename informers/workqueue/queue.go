package workqueue

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/utils/clock"
)

// Options tune a Queue. The zero value is a good default, without metrics.
type Options struct {
	// Name labels the queue's metrics ("replicaset"). Queues that share a
	// Registerer should have different names: those with the same name add up.
	Name string
	// Registerer receives the metrics; nil means none. Any number of queues can
	// share one.
	Registerer prometheus.Registerer
	// BaseDelay and MaxDelay bound the per-key exponential back-off of
	// AddRateLimited: BaseDelay*2^failures, at most MaxDelay (defaults 5ms and
	// 1000s).
	BaseDelay, MaxDelay time.Duration
	// QPS and Burst are the token bucket that AddRateLimited shares among all
	// keys (defaults 10 and 100); math.Inf(1) QPS turns it off. A key waits for
	// the longer of its back-off and the bucket, as with client-go's default
	// controller rate limiter.
	QPS   float64
	Burst int
	// Clock is for tests; nil means the real clock.
	Clock clock.Clock
}

// Validate reports what is wrong with o. Zero values are fine: they mean the
// defaults.
func (o Options) Validate() error {
	var errs []error
	if o.Registerer != nil && o.Name == "" {
		errs = append(errs, errors.New("a Registerer needs a Name to label the metrics"))
	}
	if o.BaseDelay < 0 {
		errs = append(errs, fmt.Errorf("BaseDelay %v is negative", o.BaseDelay))
	}
	if o.MaxDelay < 0 {
		errs = append(errs, fmt.Errorf("MaxDelay %v is negative", o.MaxDelay))
	}
	if o.QPS < 0 || math.IsNaN(o.QPS) {
		errs = append(errs, fmt.Errorf("QPS %v is not a positive number", o.QPS))
	}
	if o.Burst < 0 {
		errs = append(errs, fmt.Errorf("Burst %d is negative", o.Burst))
	}
	return errors.Join(errs...)
}

func (o Options) withDefaults() Options {
	if o.BaseDelay == 0 {
		o.BaseDelay = 5 * time.Millisecond
	}
	if o.MaxDelay == 0 {
		o.MaxDelay = 1000 * time.Second
	}
	if o.QPS == 0 {
		o.QPS = 10
	}
	if o.Burst == 0 {
		o.Burst = 100
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	return o
}

// Queue is a de-duplicating, delaying, rate-limited queue of keys, safe for
// concurrent use; the package documentation states its guarantees. Create one
// with New (the zero Queue is not usable) and end it with ShutDown.
type Queue[K comparable] struct {
	name      string
	clock     clock.Clock
	metrics   queueMetrics
	collector *collector

	mu sync.Mutex
	// cond is signalled when ready grows, and broadcast on shutdown and
	// when a waiting Get's context ends. Its L is &mu.
	cond *sync.Cond
	// ready is the FIFO of keys Get hands out; each is in dirty and not in
	// processing.
	ready []K
	// dirty holds the keys to be handed out, with the time each was added; a
	// key in dirty and in processing is appended to ready by Done.
	dirty map[K]time.Time
	// processing holds the keys handed out and not yet Done, with the time Get
	// handed each out.
	processing map[K]time.Time
	// waiting holds the keys of AddAfter until their time; none is in dirty.
	waiting waitList[K]
	limiter limiter[K]

	shuttingDown bool
	untracked    bool          // the metrics collector has forgotten this queue
	drained      chan struct{} // closed when shut down with nothing queued or processing

	stop      chan struct{} // closed by ShutDown to end the timer loop
	timerDone chan struct{} // closed when the timer loop has returned
}

// New returns a running queue. It starts one goroutine, which ShutDown ends.
//
// New panics if opts are invalid (see Validate) or if opts.Registerer holds a
// different collector under the queue metrics' names, as
// prometheus.MustRegister does: both are programming errors.
func New[K comparable](opts Options) *Queue[K] {
	if err := opts.Validate(); err != nil {
		panic(fmt.Errorf("workqueue.New %q: %w", opts.Name, err))
	}
	opts = opts.withDefaults()
	c, err := collectorFor(opts.Registerer)
	if err != nil {
		panic(fmt.Errorf("workqueue.New %q: %w", opts.Name, err))
	}
	q := &Queue[K]{
		name:       opts.Name,
		clock:      opts.Clock,
		metrics:    c.forQueue(opts.Name),
		collector:  c,
		dirty:      map[K]time.Time{},
		processing: map[K]time.Time{},
		waiting:    newWaitList[K](),
		limiter:    newLimiter[K](opts, opts.Clock.Now()),
		drained:    make(chan struct{}),
		stop:       make(chan struct{}),
		timerDone:  make(chan struct{}),
	}
	q.cond = sync.NewCond(&q.mu)
	c.track(q)
	go q.runTimer()
	return q
}

// Add queues k. It does nothing if k is already queued; if k is being
// processed, k is queued again when Done(k) is called. A pending AddAfter of k
// is superseded: Add is the earliest time there is.
func (q *Queue[K]) Add(k K) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.shuttingDown {
		return
	}
	q.enqueueLocked(k, q.clock.Now())
}

// enqueueLocked marks k to be handed out, added at the given time.
func (q *Queue[K]) enqueueLocked(k K, added time.Time) {
	if _, ok := q.dirty[k]; ok {
		return
	}
	q.waiting.removeLocked(k)
	q.dirty[k] = added
	q.metrics.adds.Inc()
	q.metrics.depth.Inc()
	if _, ok := q.processing[k]; ok {
		return
	}
	q.ready = append(q.ready, k)
	q.cond.Signal()
}

// Len is the number of keys Get can hand out now: it counts neither keys
// waiting for a time nor keys queued again while being processed.
func (q *Queue[K]) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.ready)
}

// Get blocks until a key is ready and hands it out; the caller must call
// Done(k) when it has finished with it. Get reports false, and hands out
// nothing, when ctx ends or when the queue is shut down and has nothing left
// to hand out.
func (q *Queue[K]) Get(ctx context.Context) (K, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.ready) == 0 && !q.shuttingDown {
		// A sync.Cond cannot wait on a channel: wake every waiter when ctx
		// ends, and let each check its own context.
		stop := context.AfterFunc(ctx, q.wakeAll)
		defer stop()
	}
	for len(q.ready) == 0 && !q.shuttingDown && ctx.Err() == nil {
		q.cond.Wait()
	}
	if len(q.ready) == 0 || ctx.Err() != nil {
		if len(q.ready) > 0 {
			// This caller may have taken the signal meant for a key:
			// pass it on to another waiter.
			q.cond.Signal()
		}
		var zero K
		return zero, false
	}
	k := q.ready[0]
	var zero K
	q.ready[0] = zero
	q.ready = q.ready[1:]

	now := q.clock.Now()
	q.metrics.depth.Dec()
	q.metrics.queueDuration.Observe(now.Sub(q.dirty[k]).Seconds())
	delete(q.dirty, k)
	q.processing[k] = now
	return k, true
}

func (q *Queue[K]) wakeAll() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.cond.Broadcast()
}

// Done tells the queue that processing of k, handed out by Get, has finished.
// If k was added meanwhile, it is queued again. Done of a key that is not
// being processed does nothing.
func (q *Queue[K]) Done(k K) {
	q.mu.Lock()
	start, ok := q.processing[k]
	if !ok {
		q.mu.Unlock()
		return
	}
	delete(q.processing, k)
	q.metrics.workDuration.Observe(q.clock.Since(start).Seconds())
	if _, ok := q.dirty[k]; ok {
		q.ready = append(q.ready, k)
		q.cond.Signal()
	}
	untrack := q.shutdownProgressLocked()
	q.mu.Unlock()
	if untrack {
		q.collector.untrack(q)
	}
}

// AddAfter queues k once d has passed; d <= 0 is Add. If k is already queued,
// or already waiting for an earlier time, AddAfter does nothing: k becomes
// ready at the earliest time asked for.
func (q *Queue[K]) AddAfter(k K, d time.Duration) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.shuttingDown {
		return
	}
	q.addAfterLocked(k, d)
}

func (q *Queue[K]) addAfterLocked(k K, d time.Duration) {
	now := q.clock.Now()
	if d <= 0 {
		q.enqueueLocked(k, now)
		return
	}
	if _, ok := q.dirty[k]; ok {
		return
	}
	if q.waiting.addLocked(k, now.Add(d)) {
		q.waiting.armLocked(q.clock)
	}
}

// AddRateLimited queues k after the rate limiter's delay: the longer of k's
// exponential back-off, which grows with each AddRateLimited of k until
// Forget(k), and the queue-wide token bucket. It counts a retry.
func (q *Queue[K]) AddRateLimited(k K) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.shuttingDown {
		return
	}
	q.metrics.retries.Inc()
	q.addAfterLocked(k, q.limiter.when(k, q.clock.Now()))
}

// Forget resets k's back-off: the next AddRateLimited of k waits BaseDelay.
// Call it when k was processed successfully. It does not take k out of the
// queue.
func (q *Queue[K]) Forget(k K) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.limiter.forget(k)
}

// NumRequeues is how many times k was added with AddRateLimited since it was
// last forgotten.
func (q *Queue[K]) NumRequeues(k K) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.limiter.failures[k]
}

// ShutDown stops the queue: adds are ignored from now on, keys waiting for a
// time are dropped, and Get hands out the keys already queued (including those
// queued again while being processed), then reports false. ShutDown does not
// wait for workers; ShutDownWithDrain does. It can be called more than once.
func (q *Queue[K]) ShutDown() {
	q.mu.Lock()
	first := !q.shuttingDown
	var untrack bool
	if first {
		q.shuttingDown = true
		q.waiting.clearLocked()
		q.cond.Broadcast()
		untrack = q.shutdownProgressLocked()
	}
	q.mu.Unlock()
	if first {
		close(q.stop)
	}
	<-q.timerDone
	if untrack {
		q.collector.untrack(q)
	}
}

// ShutDownWithDrain shuts the queue down, then waits until workers have
// processed what was queued and called Done for every key handed out. It
// returns an error if ctx ends first.
func (q *Queue[K]) ShutDownWithDrain(ctx context.Context) error {
	q.ShutDown()
	select {
	case <-q.drained:
		return nil
	case <-ctx.Done():
		q.mu.Lock()
		queued, processing := len(q.ready), len(q.processing)
		q.mu.Unlock()
		return fmt.Errorf("workqueue %q: drain stopped with %d keys queued, %d in progress: %w",
			q.name, queued, processing, context.Cause(ctx))
	}
}

// shutdownProgressLocked closes drained once a shut-down queue has nothing
// queued or being processed, and reports whether the metrics collector should
// now forget the queue. It forgets it as soon as nothing is being processed,
// not once drained: workers that stop at ShutDown never drain the queue, and
// the collector would keep it forever. (Keys handed out later, while
// draining, are then missing from the unfinished-work gauges.)
func (q *Queue[K]) shutdownProgressLocked() (untrack bool) {
	if !q.shuttingDown || len(q.processing) > 0 {
		return false
	}
	if len(q.ready) == 0 {
		select {
		case <-q.drained:
		default:
			close(q.drained)
		}
	}
	if q.untracked {
		return false
	}
	q.untracked = true
	return true
}

// inFlight reports the seconds of work in progress: their sum, and the
// longest. It is the metrics collector's view of the queue.
func (q *Queue[K]) inFlight() (name string, total, longest float64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.clock.Now()
	for _, start := range q.processing {
		age := now.Sub(start).Seconds()
		total += age
		longest = max(longest, age)
	}
	return q.name, total, longest
}
