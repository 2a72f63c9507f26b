// Package controllers is tend's reconcile framework: level-triggered
// reconcilers over work queues fed by informers.
//
// A Reconciler is handed the name of an object, never the event that made it
// interesting: it reads the current state (from informers), compares it with the
// desired state, acts through the API, and says whether to look again. The
// Controller runs it with N workers; the requeue policy lives in one place
// (Controller.process): an error retries with back-off, a Terminal error does
// not, a RequeueAfter comes back after that long, success forgets the object's
// failures. A key is never reconciled by two workers at once.
package controllers

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tendhq/tend/informers/workqueue"
)

// Request names the object to reconcile.
type Request struct {
	Namespace, Name string
}

func (r Request) String() string {
	if r.Namespace == "" {
		return r.Name
	}
	return r.Namespace + "/" + r.Name
}

// Result says whether to reconcile the object again although nothing changes.
type Result struct {
	// RequeueAfter, when positive, reconciles the object again after it.
	RequeueAfter time.Duration
}

// Reconciler drives one object towards its desired state. It must be
// idempotent and read what it needs itself: it is called once however many
// changes happened since the last call.
type Reconciler interface {
	Reconcile(ctx context.Context, req Request) (Result, error)
}

// ReconcilerFunc adapts a function to Reconciler.
type ReconcilerFunc func(ctx context.Context, req Request) (Result, error)

// Reconcile calls f.
func (f ReconcilerFunc) Reconcile(ctx context.Context, req Request) (Result, error) {
	return f(ctx, req)
}

type terminalError struct{ err error }

func (t terminalError) Error() string { return t.err.Error() }
func (t terminalError) Unwrap() error { return t.err }

// Terminal marks an error retrying cannot fix: the request is dropped (and
// logged) instead of retried with back-off.
func Terminal(err error) error {
	if err == nil {
		return nil
	}
	return terminalError{err}
}

// IsTerminal reports whether err was marked Terminal.
func IsTerminal(err error) bool {
	var t terminalError
	return errors.As(err, &t)
}

// Options tune a Controller. The zero value is a good default.
type Options struct {
	// Workers is how many requests are reconciled at once; default 1.
	Workers int
	// Registerer receives the controller's and its queue's metrics; nil means none.
	Registerer prometheus.Registerer
	// Logf reports failed reconciles; nil discards them.
	Logf func(format string, args ...any)
	// Queue tunes the work queue's back-off and rate limit; its Name and
	// Registerer are set from the controller's.
	Queue workqueue.Options
}

// Controller runs a Reconciler over a work queue of Requests.
type Controller struct {
	name    string
	r       Reconciler
	opts    Options
	queue   *workqueue.Queue[Request]
	metrics *metrics
}

// New returns a controller named name (it labels logs and metrics).
func New(name string, r Reconciler, opts Options) *Controller {
	if opts.Workers <= 0 {
		opts.Workers = 1
	}
	qo := opts.Queue
	qo.Name, qo.Registerer = name, opts.Registerer
	return &Controller{
		name:    name,
		r:       r,
		opts:    opts,
		queue:   workqueue.New[Request](qo),
		metrics: newMetrics(opts.Registerer, name),
	}
}

// Name is the controller's name.
func (c *Controller) Name() string { return c.name }

// Enqueue asks for req to be reconciled.
func (c *Controller) Enqueue(req Request) { c.queue.Add(req) }

// EnqueueAfter asks for req to be reconciled after d.
func (c *Controller) EnqueueAfter(req Request, d time.Duration) { c.queue.AddAfter(req, d) }

// Run reconciles with the configured workers until ctx ends, then lets the
// requests in progress finish and returns.
func (c *Controller) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for range c.opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c.process(ctx) {
			}
		}()
	}
	<-ctx.Done()
	c.queue.ShutDown()
	wg.Wait()
	return nil
}

// process reconciles one request and applies the requeue policy. It reports
// whether the worker should go on.
func (c *Controller) process(ctx context.Context) bool {
	req, ok := c.queue.Get(ctx)
	if !ok {
		return false
	}
	defer c.queue.Done(req)
	c.metrics.active.Inc()
	start := time.Now()
	res, err := c.reconcile(ctx, req)
	c.metrics.duration.Observe(time.Since(start).Seconds())
	c.metrics.active.Dec()
	switch {
	case err != nil && ctx.Err() != nil:
		// Shutting down: the next leader or start reconciles it.
	case IsTerminal(err):
		c.queue.Forget(req)
		c.metrics.result("terminal_error")
		c.logf("%s: %s: %v (not retried)", c.name, req, err)
	case err != nil:
		c.queue.AddRateLimited(req)
		c.metrics.result("error")
		c.logf("%s: %s: %v (retrying)", c.name, req, err)
	case res.RequeueAfter > 0:
		c.queue.Forget(req)
		c.queue.AddAfter(req, res.RequeueAfter)
		c.metrics.result("requeue_after")
	default:
		c.queue.Forget(req)
		c.metrics.result("success")
	}
	return true
}

// reconcile calls the reconciler, turning a panic into an error so that one bad
// object cannot stop the controller.
func (c *Controller) reconcile(ctx context.Context, req Request) (res Result, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic: %v", v)
		}
	}()
	return c.r.Reconcile(ctx, req)
}

func (c *Controller) logf(format string, args ...any) {
	if c.opts.Logf != nil {
		c.opts.Logf(format, args...)
	}
}

type metrics struct {
	results  *prometheus.CounterVec
	duration prometheus.Observer
	active   prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer, name string) *metrics {
	results := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "controller_reconcile_total",
		Help: "Reconciles per controller and result (success, error, terminal_error, requeue_after).",
	}, []string{"controller", "result"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "controller_reconcile_time_seconds",
		Help:    "Time per reconcile, by controller.",
		Buckets: []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
	}, []string{"controller"})
	active := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "controller_active_workers",
		Help: "Workers reconciling now, by controller.",
	}, []string{"controller"})
	if reg != nil {
		results = Register(reg, results)
		duration = Register(reg, duration)
		active = Register(reg, active)
	}
	return &metrics{results: results.MustCurryWith(prometheus.Labels{"controller": name}),
		duration: duration.WithLabelValues(name), active: active.WithLabelValues(name)}
}

func (m *metrics) result(r string) { m.results.WithLabelValues(r).Inc() }

// Register registers c with reg, or returns the collector of the same type
// already registered under its name, so that several controllers, or
// controllers restarted in one process, share one registry. Any other
// registration error is a programming error (metric descriptors are
// constants) and panics.
func Register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(err)
	}
	return c
}
