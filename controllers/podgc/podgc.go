// Package podgc is the pod garbage collector, as upstream's
// pkg/controller/podgc: it deletes the pods no one else will.
//
// Every GCPeriod it looks at the pods and nodes in the informers' caches and
// deletes, in this order:
//
//  1. terminated pods (Succeeded or Failed) beyond TerminatedPodThreshold:
//     evicted ones first, then the oldest by creation;
//  2. pods being deleted on a node that is not Ready and carries the
//     node.kubernetes.io/out-of-service taint;
//  3. orphaned pods, bound to a node that does not exist: a node missing from
//     the cache is quarantined for Quarantine, then confirmed gone by a GET
//     from the API (not the cache) before its pods are deleted;
//  4. pods being deleted that were never bound to a node.
//
// Every deletion is forced (grace period 0) and conditional on the pod's UID,
// so a new pod of the same name is never deleted in its place. Before deleting
// a pod that has not finished, it sets the pod's phase to Failed through
// pods/status (no kubelet will), with an update conditional on the
// resourceVersion read; an orphaned pod also gets the condition
// DisruptionTarget=True, reason DeletionByPodGC, "PodGC: node no longer
// exists", so that a Job's podFailurePolicy can tell it was not the
// workload's fault. As upstream, only orphaned pods get the condition.
//
// Guarantees: a pod is deleted at most once per collection; a pod on a node
// that exists is never deleted as an orphan, however far behind the node
// cache is (the API is asked first); one collection runs at a time.
//
// Where it differs from upstream: a pod with an empty phase is not treated as
// terminated (upstream's test is "not Pending, Running or Unknown"); a pod
// already gone when deleted is not counted as an error; a node that comes
// back (or that no pod names any more) leaves quarantine at once, rather
// than when its quarantine would have ended; upstream marks a pod Failed
// with a patch carrying its UID, tend with an update conditional on its
// resourceVersion (tend's status subresource ignores a UID in a patch);
// deletions run at most 12 at once rather than one goroutine per pod.
package podgc

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"

	"github.com/tendhq/tend/controllers"
	"github.com/tendhq/tend/informers"
)

// Reasons label the metrics with why a pod was deleted: upstream's values.
const (
	ReasonTerminated   = "terminated"
	ReasonOutOfService = "out-of-service"
	ReasonOrphaned     = "orphaned"
	ReasonUnscheduled  = "unscheduled"
)

// maxInFlight bounds the deletions one collection has outstanding at once
// (upstream starts a goroutine per pod, which for a threshold crossed by
// thousands of pods opens thousands of connections).
const maxInFlight = 12

// Config tunes the pod garbage collector.
type Config struct {
	// GCPeriod is the time between collections; must be positive. Default
	// 20 s (upstream's gcCheckPeriod).
	GCPeriod time.Duration
	// TerminatedPodThreshold is how many terminated pods may remain; 0 or less
	// turns their collection off. Default 12500 (upstream's
	// --terminated-pod-gc-threshold).
	TerminatedPodThreshold int
	// Quarantine is how long a node must be missing from the cache before the
	// API is asked whether it exists; must not be negative. Default 40 s
	// (upstream's quarantineTime).
	Quarantine time.Duration
	// Clock times collections and quarantines; nil means the real clock.
	Clock clock.Clock
}

// DefaultConfig returns upstream's settings.
func DefaultConfig() Config {
	return Config{GCPeriod: 20 * time.Second, TerminatedPodThreshold: 12500, Quarantine: 40 * time.Second, Clock: clock.RealClock{}}
}

// Validate reports what is wrong with c.
func (c Config) Validate() error {
	var errs []error
	if c.GCPeriod <= 0 {
		errs = append(errs, fmt.Errorf("podgc: GCPeriod %v must be positive", c.GCPeriod))
	}
	if c.Quarantine < 0 {
		errs = append(errs, fmt.Errorf("podgc: Quarantine %v must not be negative", c.Quarantine))
	}
	return errors.Join(errs...)
}

// Controller is the pod garbage collector.
type Controller struct {
	client kubernetes.Interface
	cfg    Config
	pods   *informers.Informer[*corev1.Pod]
	nodes  *informers.Informer[*corev1.Node]
	logf   func(format string, args ...any)

	deleted, failures *prometheus.CounterVec

	// quarantine is used by the collection only; collections do not overlap.
	quarantine quarantine
}

// New returns the pod garbage collector, reading pods and nodes from f's
// informers. Of opts it uses Registerer (for the metrics
// pod_gc_collector_force_delete_pods_total and
// pod_gc_collector_force_delete_pod_errors_total, by namespace and reason)
// and Logf.
func New(f *informers.Factory, client kubernetes.Interface, cfg Config, opts controllers.Options) *Controller {
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	c := &Controller{
		client: client,
		cfg:    cfg,
		pods:   informers.For[*corev1.Pod](f),
		nodes:  informers.For[*corev1.Node](f),
		logf:   opts.Logf,
		deleted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Subsystem: "pod_gc_collector",
			Name:      "force_delete_pods_total",
			Help:      "Number of pods that are being forcefully deleted since the Pod GC Controller started.",
		}, []string{"namespace", "reason"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Subsystem: "pod_gc_collector",
			Name:      "force_delete_pod_errors_total",
			Help:      "Number of errors encountered when forcefully deleting the pods since the Pod GC Controller started.",
		}, []string{"namespace", "reason"}),
	}
	if opts.Registerer != nil {
		c.deleted = controllers.Register(opts.Registerer, c.deleted)
		c.failures = controllers.Register(opts.Registerer, c.failures)
	}
	return c
}

// Run validates the configuration, waits for the informers to sync, then
// collects at once and every GCPeriod after the end of the previous
// collection, until ctx ends.
func (c *Controller) Run(ctx context.Context) error {
	if err := c.cfg.Validate(); err != nil {
		return err
	}
	if !informers.WaitForSync(ctx, c.pods, c.nodes) {
		return ctx.Err()
	}
	for {
		c.collect(ctx)
		t := c.cfg.Clock.NewTimer(c.cfg.GCPeriod)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C():
		}
	}
}

// collect runs one collection.
func (c *Controller) collect(ctx context.Context) {
	pods := c.pods.List()
	node := func(name string) (*corev1.Node, bool) { return c.nodes.Get("", name) }
	done := map[types.UID]bool{}
	c.deleteAll(ctx, terminatedBeyond(pods, c.cfg.TerminatedPodThreshold), ReasonTerminated, nil, done)
	c.deleteAll(ctx, terminatingOutOfService(pods, node), ReasonOutOfService, nil, done)

	now := c.cfg.Clock.Now()
	c.quarantine.observe(missingNodes(pods, node), now)
	gone := map[string]bool{}
	for _, name := range c.quarantine.due(now, c.cfg.Quarantine) {
		if _, ok := node(name); ok {
			continue
		}
		switch _, err := c.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{}); {
		case apierrors.IsNotFound(err):
			gone[name] = true
		case err != nil:
			// Quarantined again at the next collection if still missing.
			c.log("podgc: checking whether node %s exists: %v", name, err)
		}
	}
	orphaned := &corev1.PodCondition{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue,
		Reason: "DeletionByPodGC", Message: "PodGC: node no longer exists"}
	c.deleteAll(ctx, podsOn(pods, gone), ReasonOrphaned, orphaned, done)

	c.deleteAll(ctx, unscheduledTerminating(pods), ReasonUnscheduled, nil, done)
}

// deleteAll fails (unless finished) and deletes pods, maxInFlight at once,
// skipping those in done and adding the others to it.
func (c *Controller) deleteAll(ctx context.Context, pods []*corev1.Pod, reason string, cond *corev1.PodCondition, done map[types.UID]bool) {
	sem := make(chan struct{}, maxInFlight)
	var wg sync.WaitGroup
	for _, p := range pods {
		if done[p.UID] {
			continue
		}
		done[p.UID] = true
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return
		}
		wg.Go(func() {
			defer func() { <-sem }()
			c.deleted.WithLabelValues(p.Namespace, reason).Inc()
			if err := c.failAndDelete(ctx, p, cond); err != nil {
				c.failures.WithLabelValues(p.Namespace, reason).Inc()
				c.log("podgc: %v", err)
				return
			}
			c.log("podgc: force deleted pod %s/%s (%s)", p.Namespace, p.Name, reason)
		})
	}
	wg.Wait()
}

// failAndDelete sets the phase of a pod that has not finished to Failed,
// adding cond if not nil, then deletes the pod with grace period 0. Both
// writes are conditional on the pod's UID; a pod already gone (or replaced by
// another of the same name) is not an error.
func (c *Controller) failAndDelete(ctx context.Context, p *corev1.Pod, cond *corev1.PodCondition) error {
	pods := c.client.CoreV1().Pods(p.Namespace)
	if !isTerminated(p) {
		if err := c.fail(ctx, p, cond); apierrors.IsNotFound(err) {
			return nil
		} else if err != nil {
			return fmt.Errorf("marking pod %s/%s Failed before deleting it: %w", p.Namespace, p.Name, err)
		}
	}
	uid := p.UID
	err := pods.Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: new(int64), Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !gone(err) {
		return fmt.Errorf("deleting pod %s/%s: %w", p.Namespace, p.Name, err)
	}
	return nil
}

// fail writes phase Failed and cond into the pod's status with UpdateStatus,
// conditional on the resourceVersion read: upstream sends a patch carrying
// the pod's UID as a precondition, which tend's status subresource does not
// check. When the cached pod is stale it reads the pod again, once; a pod of
// another UID is reported NotFound.
func (c *Controller) fail(ctx context.Context, p *corev1.Pod, cond *corev1.PodCondition) error {
	pods := c.client.CoreV1().Pods(p.Namespace)
	cur := p
	for attempt := 0; ; attempt++ {
		_, err := pods.UpdateStatus(ctx, failed(cur, cond, c.cfg.Clock.Now()), metav1.UpdateOptions{})
		if !apierrors.IsConflict(err) || attempt > 0 {
			return err
		}
		if cur, err = pods.Get(ctx, p.Name, metav1.GetOptions{}); err != nil {
			return err
		}
		if cur.UID != p.UID {
			return apierrors.NewNotFound(corev1.Resource("pods"), p.Name)
		}
		if isTerminated(cur) {
			return nil
		}
	}
}

// gone reports whether the error of a deletion conditional on a pod's UID
// says that pod no longer exists.
func gone(err error) bool {
	return apierrors.IsNotFound(err) || apierrors.IsConflict(err)
}

// failed returns a copy of p in phase Failed with cond set (if not nil), as
// upstream's UpdatePodCondition: a condition whose status does not change
// keeps its transition time.
func failed(p *corev1.Pod, cond *corev1.PodCondition, now time.Time) *corev1.Pod {
	out := p.DeepCopy()
	out.Status.Phase = corev1.PodFailed
	if cond == nil {
		return out
	}
	c := *cond
	c.LastTransitionTime = metav1.NewTime(now)
	for i := range out.Status.Conditions {
		old := &out.Status.Conditions[i]
		if old.Type != c.Type {
			continue
		}
		if old.Status == c.Status {
			c.LastTransitionTime = old.LastTransitionTime
		}
		*old = c
		return out
	}
	out.Status.Conditions = append(out.Status.Conditions, c)
	return out
}

func (c *Controller) log(format string, args ...any) {
	if c.logf != nil {
		c.logf(format, args...)
	}
}
