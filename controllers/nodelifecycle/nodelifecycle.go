// Package nodelifecycle is the node lifecycle controller with its taint
// eviction manager, as upstream's (kube-controller-manager's
// pkg/controller/nodelifecycle and pkg/controller/tainteviction, v1.32): it
// notices nodes that stopped reporting, taints nodes by their conditions, and
// deletes the pods that do not tolerate a node's NoExecute taints.
//
// Health. Every NodeMonitorPeriod the controller looks at every Node. A node's
// probe time is the local time at which the controller last saw its Ready
// condition's lastHeartbeatTime change or its Lease (kube-node-lease/<node>)
// spec.renewTime advance: the controller's clock, never the times written in
// the objects, since clocks differ. When the probe time is older than
// NodeMonitorGracePeriod (NodeStartupGracePeriod, counted from the node's
// creation, for a node that never posted a Ready condition), the Ready,
// MemoryPressure, DiskPressure and PIDPressure conditions become Unknown, with
// reason NodeStatusUnknown and message "Kubelet stopped posting node status."
// (NodeStatusNeverUpdated, "Kubelet never posted node status.", for a
// condition never posted), and the node status is written. When a node's Ready
// condition leaves True, the node gets a NodeNotReady event ("Node <name>
// status is now: NodeNotReady") and every pod on it gets Ready=False (a status
// patch) and a Warning NodeNotReady event ("Node is not ready"); a pod bound
// to a node that is not ready later gets the same. A node first seen gets a
// RegisteredNode event, a node gone a RemovingNode event.
//
// NoSchedule taints. Each node carries exactly the taints its state calls
// for, with effect NoSchedule (upstream's TaintNodesByCondition):
// node.kubernetes.io/not-ready for Ready=False, node.kubernetes.io/unreachable
// for Ready=Unknown, memory-pressure, disk-pressure, pid-pressure and
// network-unavailable for those conditions True, and
// node.kubernetes.io/unschedulable for spec.unschedulable. Others' taints are
// never touched.
//
// NoExecute taints. A node whose Ready condition is False gets
// node.kubernetes.io/not-ready:NoExecute, one whose Ready is Unknown
// node.kubernetes.io/unreachable:NoExecute, each with timeAdded; a node that
// has one of them and changes state has it swapped for the other at once, and
// a node whose Ready is True loses both. Adding them goes through one rate
// limiter per zone (the topology.kubernetes.io/region and zone labels, or
// their failure-domain.beta.kubernetes.io forms; unlabelled nodes form the ""
// zone). A zone is in FullDisruption when none of its nodes is Ready,
// PartialDisruption when more than two and at least UnhealthyZoneThreshold of
// them are not, Normal otherwise; nodes labelled
// node.kubernetes.io/exclude-disruption are not counted. Tainting proceeds at
// NodeEvictionRate per second in a Normal zone and a zone in FullDisruption,
// and in PartialDisruption at SecondaryNodeEvictionRate if the zone has more
// than LargeClusterSizeThreshold nodes, not at all otherwise. When every zone
// is in FullDisruption (the controller's own connectivity is the likelier
// culprit), tainting stops and the NoExecute taints above are removed from
// every node; when a zone recovers, every node's probe time starts again.
//
// Taint eviction. A pod on a node with NoExecute taints (any, not only the
// controller's) is deleted at once if one of them is not tolerated; otherwise
// when the first tolerationSeconds runs out, counted from the timeAdded of the
// taint it tolerates (from when the controller first saw the taint, if it has
// no timeAdded); a pod tolerating every taint for ever stays. A deletion due
// is cancelled when the taints go or the pod's tolerations change to allow
// it, with the event TaintManagerEviction "Cancelling deletion of Pod
// <ns>/<name>". A deletion is preceded by the event TaintManagerEviction
// "Marking for deletion Pod <ns>/<name>" and a status patch adding the pod
// condition DisruptionTarget=True, reason DeletionByTaintManager, message
// "Taint manager: deleting due to NoExecute taint", and made with the pod's
// UID as precondition.
//
// Every decision above is a pure function of the cached objects and the
// clock (health.go, taints.go, zones.go, eviction.go); reads come from the
// informers, writes go through the API. Time comes from Config.Clock, so a
// test can drive the controller with a fake clock.
//
// Where it differs from upstream:
//
//   - Taint eviction counts tolerationSeconds from the taint's timeAdded, not
//     from when the eviction manager noticed the taint, so that a taint's age
//     survives a restart. (The controller's own not-ready and unreachable
//     taints are still removed from every node it sees for the first time
//     and added again if still due, as upstream, which starts their clocks
//     again.)
//   - Pods already being deleted are left alone by the eviction manager
//     (upstream deletes them again, which changes nothing), and a pod
//     deleted by someone else gets no cancel event.
//   - node_collector_evictions_total counts the NoExecute taints written;
//     upstream also counts a node found tainted already.
//   - Ready=False is written to pods with a strategic merge patch of the
//     condition (with the pod's UID as precondition) rather than an update
//     of the whole status, so that it does not conflict with the kubelet.
//   - Taints are written with one merge patch of spec.taints, conditional on
//     the node's resourceVersion, where upstream makes an add and a remove.
//   - The beta os and arch node labels are not reconciled (upstream's
//     reconcileNodeLabels, a migration aid for kubelets that predate the
//     stable labels).
package nodelifecycle

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"

	"github.com/tendhq/tend/controllers"
	"github.com/tendhq/tend/informers"
)

// Config tunes the controller. DefaultConfig has upstream's defaults.
type Config struct {
	// NodeMonitorPeriod is how often node health is checked; default 5s.
	NodeMonitorPeriod time.Duration
	// NodeMonitorGracePeriod is how long a node may go without a heartbeat
	// or lease renewal before it is marked Unknown; default 50s (upstream's
	// since v1.32, 40s before).
	NodeMonitorGracePeriod time.Duration
	// NodeStartupGracePeriod is how long after its creation a node that
	// never posted status may go before it is marked Unknown; default 60s.
	NodeStartupGracePeriod time.Duration
	// NodeEvictionRate is how many nodes per second may get a NoExecute
	// taint, per zone, in a healthy zone; default 0.1.
	NodeEvictionRate float64
	// SecondaryNodeEvictionRate is that rate in a zone in partial disruption
	// larger than LargeClusterSizeThreshold; default 0.01.
	SecondaryNodeEvictionRate float64
	// LargeClusterSizeThreshold is the zone size above which a zone in
	// partial disruption taints at SecondaryNodeEvictionRate rather than not
	// at all; default 50.
	LargeClusterSizeThreshold int
	// UnhealthyZoneThreshold is the fraction of not-Ready nodes (more than
	// two) that puts a zone in partial disruption; default 0.55.
	UnhealthyZoneThreshold float64
	// Clock is the controller's time; nil means the real clock.
	Clock clock.WithTicker
}

// DefaultConfig returns upstream's defaults.
func DefaultConfig() Config {
	return Config{
		NodeMonitorPeriod:         5 * time.Second,
		NodeMonitorGracePeriod:    50 * time.Second,
		NodeStartupGracePeriod:    60 * time.Second,
		NodeEvictionRate:          0.1,
		SecondaryNodeEvictionRate: 0.01,
		LargeClusterSizeThreshold: 50,
		UnhealthyZoneThreshold:    0.55,
	}
}

// Validate reports what is wrong with c.
func (c Config) Validate() error {
	var errs []error
	if c.NodeMonitorPeriod <= 0 {
		errs = append(errs, fmt.Errorf("NodeMonitorPeriod must be positive, not %v", c.NodeMonitorPeriod))
	}
	if c.NodeMonitorGracePeriod < c.NodeMonitorPeriod {
		errs = append(errs, fmt.Errorf("NodeMonitorGracePeriod (%v) must be at least NodeMonitorPeriod (%v): nodes would be marked Unknown between two looks",
			c.NodeMonitorGracePeriod, c.NodeMonitorPeriod))
	}
	if c.NodeStartupGracePeriod < c.NodeMonitorPeriod {
		errs = append(errs, fmt.Errorf("NodeStartupGracePeriod (%v) must be at least NodeMonitorPeriod (%v)", c.NodeStartupGracePeriod, c.NodeMonitorPeriod))
	}
	if c.NodeEvictionRate < 0 || c.SecondaryNodeEvictionRate < 0 {
		errs = append(errs, fmt.Errorf("eviction rates must not be negative (NodeEvictionRate %v, SecondaryNodeEvictionRate %v)",
			c.NodeEvictionRate, c.SecondaryNodeEvictionRate))
	}
	if c.LargeClusterSizeThreshold < 0 {
		errs = append(errs, fmt.Errorf("LargeClusterSizeThreshold must not be negative, not %d", c.LargeClusterSizeThreshold))
	}
	if c.UnhealthyZoneThreshold <= 0 || c.UnhealthyZoneThreshold > 1 {
		errs = append(errs, fmt.Errorf("UnhealthyZoneThreshold must be in (0, 1], not %v", c.UnhealthyZoneThreshold))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("nodelifecycle: %w", err)
	}
	return nil
}

// Controller is the node lifecycle controller.
type Controller struct {
	cfg     Config
	clock   clock.WithTicker
	client  kubernetes.Interface
	rec     *controllers.Recorder
	logf    func(format string, args ...any)
	metrics *metrics

	nodes  *informers.Informer[*corev1.Node]
	pods   *informers.Informer[*corev1.Pod]
	leases *informers.Informer[*coordinationv1.Lease]
	// podsIndexed says the pod informer has podsByNodeIndex.
	podsIndexed bool

	// noSchedule keeps the condition taints (requests name nodes);
	// podReady marks pods bound to not-ready nodes (requests name pods).
	noSchedule *controllers.Controller
	podReady   *controllers.Controller
	evictor    *evictor

	// mu guards what follows. It is never held during an API call.
	mu sync.Mutex
	// health is what the monitor last saw of each node.
	health map[string]*nodeHealth
	// known are the nodes the monitor has seen, by name.
	known map[string]*corev1.Node
	// zones are the zones' states and NoExecute tainting queues.
	zones map[string]*zone
	// retry are the nodes whose pods could not all be marked not ready.
	retry map[string]bool

	// passes counts the health monitor's passes, for tests.
	passes atomic.Int64
}

// Sizes, upstream's.
const (
	// monitorWorkers is how many nodes a health pass checks at once.
	monitorWorkers = 8
	// noExecuteTaintPeriod is how often the zones' tainting queues are tried.
	noExecuteTaintPeriod = 100 * time.Millisecond
	// healthUpdateRetries bounds a node's status writes per pass.
	healthUpdateRetries = 5
	// retrySleep separates them.
	retrySleep = 20 * time.Millisecond
)

// New returns the node lifecycle controller over f's Node, Pod and Lease
// informers, or an error for a bad cfg. It adds an index of pods by node to
// the pod informer if it can; call it before f starts. rec, when not nil,
// receives its events. The work queues use cfg.Clock unless opts.Queue has a
// clock.
func New(f *informers.Factory, client kubernetes.Interface, rec *controllers.Recorder, cfg Config, opts controllers.Options) (*Controller, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	clk := cfg.Clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	if opts.Queue.Clock == nil {
		opts.Queue.Clock = clk
	}
	c := &Controller{
		cfg:     cfg,
		clock:   clk,
		client:  client,
		rec:     rec,
		logf:    opts.Logf,
		metrics: newMetrics(opts.Registerer),
		nodes:   informers.For[*corev1.Node](f),
		pods:    informers.For[*corev1.Pod](f),
		leases:  informers.For[*coordinationv1.Lease](f),
		health:  make(map[string]*nodeHealth),
		known:   make(map[string]*corev1.Node),
		zones:   make(map[string]*zone),
		retry:   make(map[string]bool),
	}
	c.podsIndexed = ensurePodsByNode(c.pods)
	if !c.podsIndexed {
		c.log("nodelifecycle: the pod informer has no %s index (it started first): listing all pods to find a node's", podsByNodeIndex)
	}

	c.noSchedule = controllers.New("nodelifecycle", controllers.ReconcilerFunc(c.reconcileNoSchedule), opts)
	controllers.Watch(c.noSchedule, c.nodes)

	c.podReady = controllers.New("nodelifecycle-pods", controllers.ReconcilerFunc(c.reconcilePodReady), opts)
	c.pods.AddHandler(informers.Handler[*corev1.Pod]{
		OnAdd: func(p *corev1.Pod, _ bool) {
			if p.Spec.NodeName != "" {
				c.podReady.Enqueue(controllers.Request{Namespace: p.Namespace, Name: p.Name})
			}
		},
		OnUpdate: func(old, p *corev1.Pod) {
			if p.Spec.NodeName != "" && p.Spec.NodeName != old.Spec.NodeName {
				c.podReady.Enqueue(controllers.Request{Namespace: p.Namespace, Name: p.Name})
			}
		},
	})

	c.evictor = newEvictor(c, opts)
	return c, nil
}

// Run waits for the informers to sync (the factory must be started), then
// monitors nodes and evicts pods until ctx ends. It returns when ctx ends.
func (c *Controller) Run(ctx context.Context) error {
	if !informers.WaitForSync(ctx, c.nodes, c.pods, c.leases) {
		return nil
	}
	var wg sync.WaitGroup
	wg.Go(func() { _ = c.noSchedule.Run(ctx) })
	wg.Go(func() { _ = c.podReady.Run(ctx) })
	wg.Go(func() { _ = c.evictor.ctrl.Run(ctx) })
	wg.Go(func() { c.every(ctx, c.cfg.NodeMonitorPeriod, c.monitor, &c.passes) })
	wg.Go(func() { c.every(ctx, noExecuteTaintPeriod, c.noExecuteTaintingPass, nil) })
	wg.Wait()
	return nil
}

// every runs fn now and then every period of the controller's clock until ctx
// ends, counting the runs in count if it is not nil.
func (c *Controller) every(ctx context.Context, period time.Duration, fn func(context.Context), count *atomic.Int64) {
	t := c.clock.NewTicker(period)
	defer t.Stop()
	for {
		fn(ctx)
		if count != nil {
			count.Add(1)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
	}
}

func (c *Controller) log(format string, args ...any) {
	if c.logf != nil {
		c.logf(format, args...)
	}
}

func (c *Controller) event(obj runtime.Object, eventType, reason, format string, args ...any) {
	if c.rec != nil {
		c.rec.Eventf(obj, eventType, reason, format, args...)
	}
}
