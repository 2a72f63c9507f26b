package nodeipam

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/tendhq/tend/controllers"
	"github.com/tendhq/tend/informers"
)

// Event reasons, upstream's.
const (
	// ReasonCIDRNotAvailable is recorded on a node when a cluster CIDR has no
	// free block for it.
	ReasonCIDRNotAvailable = "CIDRNotAvailable"
	// ReasonCIDRAssignmentFailed is recorded on a node when writing its
	// podCIDRs failed.
	ReasonCIDRAssignmentFailed = "CIDRAssignmentFailed"
)

// Controller is the range allocator. Requests name Nodes.
type Controller struct {
	client  kubernetes.Interface
	rec     *controllers.Recorder
	nodes   *informers.Informer[*corev1.Node]
	ctrl    *controllers.Controller
	logf    func(format string, args ...any)
	metrics *metrics

	mu sync.Mutex
	// sets are the cluster CIDRs' blocks, in Config.ClusterCIDRs order.
	sets []*cidrSet
	// held is, by node name, the blocks recorded as the node's: its
	// podCIDRs, or the blocks reserved for it and not written yet.
	held map[string][]netip.Prefix
	// owner is the node each recorded block is held by.
	owner map[netip.Prefix]string
	// waiting are the nodes that found a cluster CIDR full.
	waiting map[string]struct{}
	// reported are the nodes whose podCIDRs outside the cluster CIDRs were
	// logged, so that they are logged once.
	reported map[string]string
}

// New returns the range allocator over f's node informer, or an error for a
// bad cfg. rec, when not nil, receives its events. Run it after f has started.
func New(f *informers.Factory, client kubernetes.Interface, rec *controllers.Recorder, cfg Config, opts controllers.Options) (*Controller, error) {
	fams, err := cfg.prefixes()
	if err != nil {
		return nil, err
	}
	c := &Controller{
		client:   client,
		rec:      rec,
		nodes:    informers.For[*corev1.Node](f),
		logf:     opts.Logf,
		held:     make(map[string][]netip.Prefix),
		owner:    make(map[netip.Prefix]string),
		waiting:  make(map[string]struct{}),
		reported: make(map[string]string),
	}
	for _, fam := range fams {
		s, _ := newCIDRSet(fam.cluster, fam.blockBits) // checked by prefixes
		c.sets = append(c.sets, s)
	}
	c.metrics = newMetrics(opts.Registerer, c.sets)
	c.ctrl = controllers.New("nodeipam", controllers.ReconcilerFunc(c.reconcile), opts)
	c.nodes.AddHandler(informers.Handler[*corev1.Node]{
		OnAdd: func(n *corev1.Node, _ bool) { c.ctrl.Enqueue(controllers.Request{Name: n.Name}) },
		OnUpdate: func(old, n *corev1.Node) {
			if !hasPodCIDRs(n) && c.isWaiting(n.Name) {
				// Retried with back-off, and when a block is released: a
				// status heartbeat is no reason to try again.
				return
			}
			if !hasPodCIDRs(n) || old.Spec.PodCIDR != n.Spec.PodCIDR || !slices.Equal(old.Spec.PodCIDRs, n.Spec.PodCIDRs) {
				c.ctrl.Enqueue(controllers.Request{Name: n.Name})
			}
		},
		OnDelete: func(n *corev1.Node) { c.ctrl.Enqueue(controllers.Request{Name: n.Name}) },
	})
	return c, nil
}

// Run records the podCIDRs of every node once the node informer has synced,
// then allocates until ctx ends. It returns when ctx ends.
func (c *Controller) Run(ctx context.Context) error {
	if !informers.WaitForSync(ctx, c.nodes) {
		return nil
	}
	for _, n := range c.nodes.List() {
		if hasPodCIDRs(n) {
			c.adopt(n)
		}
	}
	return c.ctrl.Run(ctx)
}

// reconcile records the podCIDRs of a node that has them, allocates blocks to
// one that has none, and releases the blocks of one that is gone.
func (c *Controller) reconcile(ctx context.Context, req controllers.Request) (controllers.Result, error) {
	node, ok := c.nodes.Get("", req.Name)
	if !ok {
		c.releaseNode(req.Name)
		return controllers.Result{}, nil
	}
	if hasPodCIDRs(node) {
		c.adopt(node)
		return controllers.Result{}, nil
	}
	blocks, err := c.reserve(node.Name)
	if err != nil {
		c.event(node, ReasonCIDRNotAvailable)
		return controllers.Result{}, fmt.Errorf("allocating a pod CIDR to node %s: %w", node.Name, err)
	}
	if err := c.patch(ctx, node.Name, blocks); err != nil {
		if apierrors.IsNotFound(err) {
			c.releaseNode(node.Name)
			return controllers.Result{}, nil
		}
		// The blocks stay reserved for the node: the retry writes them.
		c.event(node, ReasonCIDRAssignmentFailed)
		return controllers.Result{}, fmt.Errorf("setting the podCIDRs of node %s to %v: %w", node.Name, blocks, err)
	}
	return controllers.Result{}, nil
}

func hasPodCIDRs(n *corev1.Node) bool { return n.Spec.PodCIDR != "" || len(n.Spec.PodCIDRs) > 0 }

// podCIDRs returns the node's podCIDRs that parse.
func (c *Controller) podCIDRs(n *corev1.Node) []netip.Prefix {
	list := n.Spec.PodCIDRs
	if len(list) == 0 {
		list = []string{n.Spec.PodCIDR}
	}
	var out []netip.Prefix
	var bad []string
	for _, s := range list {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			bad = append(bad, s)
			continue
		}
		out = append(out, p.Masked())
	}
	if len(bad) > 0 {
		c.reportOnce(n.Name, fmt.Sprintf("nodeipam: node %s has podCIDRs that do not parse, left alone: %s", n.Name, strings.Join(bad, ", ")))
	}
	return out
}

// setFor returns the set of p's cluster CIDR, if any.
func (c *Controller) setFor(p netip.Prefix) *cidrSet {
	for _, s := range c.sets {
		if s.cluster.Addr().Is4() == p.Addr().Is4() && s.cluster.Overlaps(p) {
			return s
		}
	}
	return nil
}

// adopt records node's podCIDRs as its blocks, releasing any other block
// held for it.
func (c *Controller) adopt(node *corev1.Node) {
	cidrs := c.podCIDRs(node)
	var outside, shared []string
	c.mu.Lock()
	var kept []netip.Prefix
	for _, p := range cidrs {
		s := c.setFor(p)
		if s == nil {
			outside = append(outside, p.String())
			continue
		}
		if o, ok := c.owner[p]; ok && o != node.Name {
			shared = append(shared, fmt.Sprintf("%s (node %s's too)", p, o))
		} else {
			c.owner[p] = node.Name
		}
		n, _ := s.occupy(p)
		c.metrics.occupied(s, n)
		kept = append(kept, p)
	}
	freed := false
	for _, p := range c.held[node.Name] {
		if !slices.Contains(kept, p) {
			freed = c.releaseLocked(node.Name, p) || freed
		}
	}
	c.held[node.Name] = kept
	delete(c.waiting, node.Name)
	wake := c.wakeLocked(freed)
	c.mu.Unlock()
	if len(shared) > 0 {
		c.log("nodeipam: node %s has podCIDRs another node holds: %s", node.Name, strings.Join(shared, ", "))
	}
	if len(outside) > 0 {
		c.reportOnce(node.Name, fmt.Sprintf("nodeipam: node %s has podCIDRs outside the cluster CIDRs, left alone: %s", node.Name, strings.Join(outside, ", ")))
	}
	c.enqueue(wake)
}

// reserve returns a block of each cluster CIDR for the node: those already
// reserved for it, and the next free ones. When a cluster CIDR is full, it
// reserves nothing new and returns errRangeFull.
func (c *Controller) reserve(name string) ([]netip.Prefix, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	have := c.held[name]
	out := make([]netip.Prefix, 0, len(c.sets))
	var fresh []netip.Prefix
	for _, s := range c.sets {
		i := slices.IndexFunc(have, func(p netip.Prefix) bool { return c.setFor(p) == s })
		if i >= 0 {
			out = append(out, have[i])
			continue
		}
		p, tries, err := s.allocateNext()
		if err != nil {
			for _, f := range fresh {
				c.releaseLocked(name, f)
			}
			c.waiting[name] = struct{}{}
			return nil, fmt.Errorf("cluster CIDR %s: %w", s.cluster, err)
		}
		c.owner[p] = name
		c.metrics.allocated(s, tries)
		fresh = append(fresh, p)
		out = append(out, p)
	}
	c.held[name] = out
	delete(c.waiting, name)
	return out, nil
}

// releaseNode releases the blocks held for a node that is gone.
func (c *Controller) releaseNode(name string) {
	c.mu.Lock()
	freed := false
	for _, p := range c.held[name] {
		freed = c.releaseLocked(name, p) || freed
	}
	delete(c.held, name)
	delete(c.waiting, name)
	delete(c.reported, name)
	wake := c.wakeLocked(freed)
	c.mu.Unlock()
	c.enqueue(wake)
}

// releaseLocked frees p if name holds it, and reports whether it did.
func (c *Controller) releaseLocked(name string, p netip.Prefix) bool {
	if c.owner[p] != name {
		return false
	}
	delete(c.owner, p)
	s := c.setFor(p)
	if s == nil {
		return false
	}
	n, _ := s.release(p)
	c.metrics.released(s, n)
	return n > 0
}

// wakeLocked returns the nodes waiting for a block when one was freed.
func (c *Controller) wakeLocked(freed bool) []string {
	if !freed || len(c.waiting) == 0 {
		return nil
	}
	out := make([]string, 0, len(c.waiting))
	for name := range c.waiting {
		out = append(out, name)
	}
	return out
}

func (c *Controller) enqueue(names []string) {
	for _, n := range names {
		c.ctrl.Enqueue(controllers.Request{Name: n})
	}
}

func (c *Controller) isWaiting(name string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.waiting[name]
	return ok
}

// patch writes blocks as the node's podCIDR and podCIDRs.
func (c *Controller) patch(ctx context.Context, name string, blocks []netip.Prefix) error {
	cidrs := make([]string, len(blocks))
	for i, b := range blocks {
		cidrs[i] = b.String()
	}
	patch, err := json.Marshal(map[string]any{"spec": map[string]any{"podCIDR": cidrs[0], "podCIDRs": cidrs}})
	if err != nil {
		return err
	}
	_, err = c.client.CoreV1().Nodes().Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{})
	return err
}

// event records upstream's node status change event.
func (c *Controller) event(node *corev1.Node, reason string) {
	if c.rec != nil {
		c.rec.Eventf(node, corev1.EventTypeNormal, reason, "Node %s status is now: %s", node.Name, reason)
	}
}

func (c *Controller) reportOnce(node, msg string) {
	c.mu.Lock()
	seen := c.reported[node] == msg
	c.reported[node] = msg
	c.mu.Unlock()
	if !seen && c.logf != nil {
		c.logf("%s", msg)
	}
}

func (c *Controller) log(format string, args ...any) {
	if c.logf != nil {
		c.logf(format, args...)
	}
}
