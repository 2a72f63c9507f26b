// Package scheduler is tend's kube-scheduler: it assigns each pending pod to
// a node, as upstream's default profile does, and binds it through the API.
//
// Three parts: the framework (framework/) decides, over a read-only snapshot
// of the nodes, which node a pod goes to and which pods to preempt; the queue
// (queue/) orders the pending pods and holds back those that failed until
// something changes; this package is everything around them: the informers,
// the cache of nodes and of the pods bound or about to be bound to them, the
// scheduling loop, binding, preemption's API calls, events, pod status,
// metrics and leader election.
//
// Guarantees:
//
//   - Pods are scheduled one at a time, in the queue's order; each cycle sees
//     every decision made before it: a pod is counted on its node (assumed)
//     as soon as the node is chosen, while its binding is still in flight.
//   - A pod is bound at most once: bindings go through pods/binding, which
//     the apiserver refuses (409) for a pod already bound, so two schedulers
//     briefly leading at once, or a restart, never move a pod.
//   - The scheduler handles the pods whose spec.schedulerName is
//     Config.SchedulerName, unassigned and neither Succeeded nor Failed; all
//     non-terminal bound pods count on their nodes, whoever scheduled them.
//   - A pod that fits nowhere gets a FailedScheduling Warning event and the
//     condition PodScheduled=False reason Unschedulable, both with upstream's
//     message ("0/3 nodes are available: 3 Insufficient cpu. preemption: ..."),
//     and waits until a cluster change may help it. The status is written
//     only when it changes.
//   - A pod of higher priority that fits nowhere preempts: the framework picks
//     a node and victims; the victims get the condition DisruptionTarget=True
//     (reason PreemptionByScheduler) and are deleted, and the preemptor gets
//     status.nominatedNodeName and waits for the room.
//   - The work of a cycle is proportional to what changed since the last one
//     (and to the nodes the framework examines), not to the size of the
//     cluster: the snapshot is updated from the NodeInfos changed since.
//
// Metrics (Config.Registerer), upstream's: scheduler_schedule_attempts_total
// and scheduler_scheduling_attempt_duration_seconds {result, profile},
// scheduler_pod_scheduling_sli_duration_seconds {attempts},
// scheduler_pod_scheduling_attempts, scheduler_scheduling_algorithm_duration_seconds,
// scheduler_binding_duration_seconds, scheduler_preemption_attempts_total,
// scheduler_preemption_victims, scheduler_cache_size {type}; the queue's
// scheduler_pending_pods {queue} and scheduler_queue_incoming_pods_total
// {queue, event}; and the framework's.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"

	"github.com/tendhq/tend/controllers"
	"github.com/tendhq/tend/controllers/scheduler/framework"
	"github.com/tendhq/tend/controllers/scheduler/queue"
	"github.com/tendhq/tend/informers"
)

// DefaultSchedulerName is the spec.schedulerName of pods that name none.
const DefaultSchedulerName = corev1.DefaultSchedulerName

// Config configures a scheduler.
type Config struct {
	// RESTConfig reaches the apiserver (Run only).
	RESTConfig *rest.Config
	// QPS and Burst bound the scheduler's requests (Run only); defaults
	// 5000 and 10000, as the controller-manager's: the scheduler bounds its
	// own concurrency, the client's limit is a backstop.
	QPS   float32
	Burst int
	// SchedulerName is the spec.schedulerName of the pods this scheduler
	// handles; default "default-scheduler". It also names the profile in
	// metrics and the component in events.
	SchedulerName string
	// PercentageOfNodesToScore and Parallelism tune the framework: 0 means
	// upstream's adaptive percentage, and 16 workers.
	PercentageOfNodesToScore int32
	Parallelism              int
	// PodInitialBackoff and PodMaxBackoff bound the back-off of a pod whose
	// attempt failed; defaults 1 s and 10 s.
	PodInitialBackoff, PodMaxBackoff time.Duration
	// LeaderElect runs the scheduler only while holding the Lease
	// LeaseNamespace/LeaseName (kube-system/kube-scheduler), as Identity
	// (Run only). Durations default to 15 s, 10 s and 2 s.
	LeaderElect                               bool
	LeaseNamespace, LeaseName, Identity       string
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// OnLeading, when set, is told when this scheduler starts and stops
	// acting (Run only), as the controller-manager's.
	OnLeading func(leading bool)
	// Registerer receives the scheduler's metrics; nil means none.
	Registerer prometheus.Registerer
	// Logf reports what the scheduler works around; nil discards it.
	Logf func(format string, args ...any)
	// Clock is the scheduler's and its queue's time; nil means the real one.
	Clock clock.WithTicker
}

// DefaultConfig returns the defaults of `tend scheduler`.
func DefaultConfig() Config {
	return Config{
		QPS:               5000,
		Burst:             10000,
		SchedulerName:     DefaultSchedulerName,
		Parallelism:       16,
		PodInitialBackoff: time.Second,
		PodMaxBackoff:     10 * time.Second,
		LeaderElect:       true,
		LeaseNamespace:    "kube-system",
		LeaseName:         "kube-scheduler",
		Identity:          controllers.NewIdentity(),
		LeaseDuration:     15 * time.Second,
		RenewDeadline:     10 * time.Second,
		RetryPeriod:       2 * time.Second,
	}
}

// withDefaults fills the zero fields New needs.
func (c Config) withDefaults() Config {
	if c.SchedulerName == "" {
		c.SchedulerName = DefaultSchedulerName
	}
	if c.Parallelism == 0 {
		c.Parallelism = 16
	}
	if c.PodInitialBackoff == 0 {
		c.PodInitialBackoff = time.Second
	}
	if c.PodMaxBackoff == 0 {
		c.PodMaxBackoff = 10 * time.Second
	}
	if c.Clock == nil {
		c.Clock = clock.RealClock{}
	}
	return c
}

// Validate checks a Config.
func (c *Config) Validate() error {
	var errs []error
	if c.PercentageOfNodesToScore < 0 || c.PercentageOfNodesToScore > 100 {
		errs = append(errs, fmt.Errorf("scheduler: percentageOfNodesToScore %d is not in [0, 100]", c.PercentageOfNodesToScore))
	}
	if c.Parallelism < 0 {
		errs = append(errs, fmt.Errorf("scheduler: parallelism %d is negative", c.Parallelism))
	}
	if c.PodInitialBackoff < 0 || c.PodMaxBackoff < 0 || (c.PodMaxBackoff > 0 && c.PodInitialBackoff > c.PodMaxBackoff) {
		errs = append(errs, fmt.Errorf("scheduler: pod back-off %v..%v is not a range", c.PodInitialBackoff, c.PodMaxBackoff))
	}
	if c.LeaderElect && (c.LeaseNamespace == "" || c.LeaseName == "" || c.Identity == "") {
		errs = append(errs, errors.New("scheduler: leader election needs a Lease namespace, name and identity"))
	}
	return errors.Join(errs...)
}

// maxBindsInFlight bounds the binding requests outstanding at once. The
// apiserver binds faster with more in flight (etcd commits them together), and
// on a busy apiserver a binding waits its turn among everyone's requests: with
// 24 in flight and 50 ms each, 480 pods/s was all a scheduler could bind. Run
// gives the client a connection pool of this size (controllers.WithConnectionPool).
const maxBindsInFlight = 128

// Scheduler schedules the pending pods of one scheduler name. Build it with
// New, start the factory, and Run it.
type Scheduler struct {
	cfg      Config
	client   kubernetes.Interface
	recorder *controllers.Recorder
	fw       *framework.Framework
	queue    *queue.Queue
	cache    *cache
	metrics  *metrics
	clock    clock.WithTicker

	pods  *informers.Informer[*corev1.Pod]
	nodes *informers.Informer[*corev1.Node]
	pdbs  *informers.Informer[*policyv1.PodDisruptionBudget]
	syncs []interface{ HasSynced() bool }

	// snap is the scheduling loop's snapshot, touched only by it.
	snap *framework.Snapshot
	// binds bounds the binding requests in flight; bindings counts the
	// binding goroutines, which Run waits for.
	binds    chan struct{}
	bindings sync.WaitGroup
}

// podFieldSelector selects the pods the scheduler reads, as upstream's pod
// informer: pods that have terminated hold no room.
const podFieldSelector = "status.phase!=" + string(corev1.PodSucceeded) + ",status.phase!=" + string(corev1.PodFailed)

// New returns a scheduler reading from factory's informers (the pods not
// Succeeded or Failed, nodes, PodDisruptionBudgets; namespaces, Services,
// ReplicationControllers, ReplicaSets and StatefulSets for the plugins) and
// writing through client; call it before the factory starts. Events go through recorder,
// which the caller runs (nil records none). The Config's client, leader
// election and QPS fields are Run's and ignored here.
func New(client kubernetes.Interface, factory *informers.Factory, recorder *controllers.Recorder, cfg Config) (*Scheduler, error) {
	cfg = cfg.withDefaults()
	// Leader election is Run's business, not the Scheduler's.
	check := cfg
	check.LeaderElect = false
	if err := check.Validate(); err != nil {
		return nil, err
	}
	l := newListers(factory)
	fw, err := framework.New(framework.Config{
		PercentageOfNodesToScore: cfg.PercentageOfNodesToScore,
		Parallelism:              cfg.Parallelism,
		Registerer:               cfg.Registerer,
		NamespaceLabels:          l.namespaceLabels,
		SpreadSelector:           l.spreadSelector,
	})
	if err != nil {
		return nil, fmt.Errorf("scheduler: building the framework: %w", err)
	}
	c := newCache()
	s := &Scheduler{
		cfg:      cfg,
		client:   client,
		recorder: recorder,
		fw:       fw,
		queue: queue.New(queue.Config{
			InitialBackoff:           cfg.PodInitialBackoff,
			MaxBackoff:               cfg.PodMaxBackoff,
			MaxUnschedulableDuration: 5 * time.Minute,
			Interests:                framework.EventInterests(),
			Clock:                    cfg.Clock,
			Registerer:               cfg.Registerer,
		}),
		cache:   c,
		metrics: newMetrics(cfg.Registerer, c),
		clock:   cfg.Clock,
		pods:    informers.ForSelected[*corev1.Pod](factory, informers.Selectors{Field: podFieldSelector}),
		nodes:   informers.For[*corev1.Node](factory),
		pdbs:    informers.For[*policyv1.PodDisruptionBudget](factory),
		snap:    newSnapshot(),
		binds:   make(chan struct{}, maxBindsInFlight),
		syncs:   l.syncs(),
	}
	s.addHandlers()
	return s, nil
}

// Run schedules until ctx ends: it waits for the informers to sync (the
// factory must be started, before or after Run), then runs the queue and the
// scheduling loop. When ctx ends it waits for the bindings in flight to end.
func (s *Scheduler) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.queue.Run(ctx)
	}()
	defer s.queue.Close()
	if !informers.WaitForSync(ctx, s.syncs...) {
		return ctx.Err()
	}
	s.logf("scheduler %s: informers synced, scheduling", s.cfg.SchedulerName)
	for ctx.Err() == nil && s.scheduleOne(ctx) {
	}
	s.bindings.Wait()
	return nil
}

func (s *Scheduler) logf(format string, args ...any) {
	if s.cfg.Logf != nil {
		s.cfg.Logf(format, args...)
	}
}

// event records an event, if there is a recorder.
func (s *Scheduler) event(obj *corev1.Pod, eventType, reason, format string, args ...any) {
	if s.recorder != nil {
		s.recorder.Eventf(obj, eventType, reason, format, args...)
	}
}
