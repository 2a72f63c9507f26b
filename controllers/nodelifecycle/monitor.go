package nodelifecycle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tendhq/tend/controllers"
)

// Event reasons, upstream's.
const (
	ReasonRegisteredNode = "RegisteredNode"
	ReasonRemovingNode   = "RemovingNode"
	// ReasonNodeNotReady is recorded on a node whose Ready condition left
	// True (Normal), and on each of its pods (Warning).
	ReasonNodeNotReady = "NodeNotReady"
)

// monitor is one health pass over every node (upstream's monitorNodeHealth).
func (c *Controller) monitor(ctx context.Context) {
	start := time.Now()
	defer func() { c.metrics.allNodesHealthDuration.Observe(time.Since(start).Seconds()) }()

	nodes := c.nodes.List()
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].Name < nodes[j].Name })
	added, deleted := c.classify(nodes)
	for _, n := range added {
		c.event(n, corev1.EventTypeNormal, ReasonRegisteredNode, "Node %s event: Registered Node %s in Controller", n.Name, n.Name)
		if _, err := c.markReachable(ctx, n); err != nil {
			c.log("nodelifecycle: %v", err)
		}
	}
	for _, n := range deleted {
		c.event(n, corev1.EventTypeNormal, ReasonRemovingNode, "Node %s event: Removing Node %s from Controller", n.Name, n.Name)
	}

	var mu sync.Mutex
	zoneReady := make(map[string][]*corev1.NodeCondition)
	parallelize(ctx, len(nodes), monitorWorkers, func(i int) {
		zone, ready, counted := c.checkNode(ctx, nodes[i])
		if counted {
			mu.Lock()
			zoneReady[zone] = append(zoneReady[zone], ready)
			mu.Unlock()
		}
	})
	if ctx.Err() != nil {
		return
	}
	c.handleDisruption(ctx, zoneReady, nodes)
}

// classify records the nodes of this pass, returning those new since the
// last one and those gone. Every node's zone exists after it.
func (c *Controller) classify(nodes []*corev1.Node) (added, deleted []*corev1.Node) {
	c.mu.Lock()
	defer c.mu.Unlock()
	seen := make(map[string]bool, len(nodes))
	for _, n := range nodes {
		seen[n.Name] = true
		if _, ok := c.known[n.Name]; !ok {
			added = append(added, n)
		}
		c.known[n.Name] = n
		c.zoneLocked(n)
	}
	for name, n := range c.known {
		if seen[name] {
			continue
		}
		deleted = append(deleted, n)
		delete(c.known, name)
		delete(c.health, name)
		delete(c.retry, name)
		for _, z := range c.zones {
			z.removeLocked(name)
		}
	}
	sort.Slice(deleted, func(i, j int) bool { return deleted[i].Name < deleted[j].Name })
	return added, deleted
}

// checkNode brings one node's health up to date and acts on it. It returns
// the node's zone and Ready condition, and whether the node counts towards
// its zone's health.
func (c *Controller) checkNode(ctx context.Context, node *corev1.Node) (zone string, ready *corev1.NodeCondition, counted bool) {
	start := time.Now()
	defer func() { c.metrics.nodeHealthDuration.Observe(time.Since(start).Seconds()) }()

	n := node.DeepCopy()
	var observed corev1.NodeCondition
	var current *corev1.NodeCondition
	for attempt := 1; ; attempt++ {
		var err error
		observed, current, err = c.updateHealth(ctx, n)
		if err == nil {
			break
		}
		if attempt == healthUpdateRetries || !sleep(ctx, retrySleep) {
			c.log("nodelifecycle: node %s: %v; skipping it this pass, no pods will be evicted", n.Name, err)
			return "", nil, false
		}
		if n, err = c.client.CoreV1().Nodes().Get(ctx, node.Name, metav1.GetOptions{}); err != nil {
			c.log("nodelifecycle: reading node %s to update its health (deleted?): %v", node.Name, err)
			return "", nil, false
		}
	}
	_, excluded := n.Labels[labelExcludeDisruption]
	zone, counted = zoneOf(n), !excluded
	if current == nil {
		return zone, nil, counted
	}

	pods := c.podsOn(n.Name)
	c.processTaintBasedEviction(ctx, n, observed.Status)
	c.mu.Lock()
	needsRetry := c.retry[n.Name]
	c.mu.Unlock()
	mark := false
	switch {
	case current.Status != corev1.ConditionTrue && observed.Status == corev1.ConditionTrue:
		c.event(n, corev1.EventTypeNormal, ReasonNodeNotReady, "Node %s status is now: %s", n.Name, ReasonNodeNotReady)
		mark = true
	case needsRetry && observed.Status != corev1.ConditionTrue:
		mark = true
	}
	retry := false
	if mark {
		if err := c.markPodsNotReady(ctx, pods, n.Name); err != nil {
			c.log("nodelifecycle: marking the pods of node %s not ready: %v; retrying next pass", n.Name, err)
			retry = true
		}
	}
	c.mu.Lock()
	if retry {
		c.retry[n.Name] = true
	} else {
		delete(c.retry, n.Name)
	}
	c.mu.Unlock()
	return zone, current, counted
}

// updateHealth records what is seen of node and, if it is overdue, marks its
// conditions Unknown and writes its status; node is modified to match. It
// returns the node's Ready condition as posted and as it is now.
func (c *Controller) updateHealth(ctx context.Context, node *corev1.Node) (observed corev1.NodeCondition, current *corev1.NodeCondition, err error) {
	c.mu.Lock()
	prev := c.health[node.Name]
	c.mu.Unlock()
	lease, _ := c.leases.Get(corev1.NamespaceNodeLease, node.Name)
	now := c.clock.Now()
	h, observed, grace := observeHealth(prev, node, lease, now, c.cfg)
	defer func() {
		c.mu.Lock()
		if _, known := c.known[node.Name]; known {
			c.health[node.Name] = &h
		}
		c.mu.Unlock()
	}()

	current = readyCondition(&node.Status)
	if !now.After(h.probe.Add(grace)) {
		return observed, current, nil
	}
	markUnknown(node, metav1.NewTime(now).Rfc3339Copy())
	current = readyCondition(&node.Status)
	if equality.Semantic.DeepEqual(current, &observed) {
		return observed, current, nil
	}
	if _, err := c.client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
		return observed, current, fmt.Errorf("marking the status of node %s Unknown: %w", node.Name, err)
	}
	h = nodeHealth{probe: h.probe, readyTransition: now, ready: current.DeepCopy(), sawLease: h.sawLease, leaseRenew: h.leaseRenew}
	return observed, current, nil
}

// processTaintBasedEviction queues a node that is not Ready for its NoExecute
// taint, swaps it at once for one that has the other, and removes both from
// a Ready one (upstream's processTaintBaseEviction). ready is the Ready
// condition's status as the node posted it.
func (c *Controller) processTaintBasedEviction(ctx context.Context, node *corev1.Node, ready corev1.ConditionStatus) {
	var err error
	switch ready {
	case corev1.ConditionFalse:
		if hasTaint(node.Spec.Taints, unreachableNoExecute) {
			err = c.swapTaints(ctx, node, []corev1.Taint{notReadyNoExecute}, []corev1.Taint{unreachableNoExecute})
		} else {
			c.markForTainting(node, corev1.ConditionFalse)
		}
	case corev1.ConditionUnknown:
		if hasTaint(node.Spec.Taints, notReadyNoExecute) {
			err = c.swapTaints(ctx, node, []corev1.Taint{unreachableNoExecute}, []corev1.Taint{notReadyNoExecute})
		} else {
			c.markForTainting(node, corev1.ConditionUnknown)
		}
	case corev1.ConditionTrue:
		_, err = c.markReachable(ctx, node)
	}
	if err != nil && !apierrors.IsNotFound(err) {
		c.log("nodelifecycle: %v; trying again next pass", err)
	}
}

// handleDisruption computes the zones' states from their nodes' Ready
// conditions and sets each zone's tainting rate (upstream's
// handleDisruption). When every zone is in full disruption, the NoExecute
// taints are removed from every node and tainting stops; when that ends,
// every node's probe time starts again. A zone whose nodes are all excluded
// from disruption checks has no state and taints at the normal rate.
func (c *Controller) handleDisruption(ctx context.Context, zoneReady map[string][]*corev1.NodeCondition, nodes []*corev1.Node) {
	now := c.clock.Now()
	c.mu.Lock()
	newStates := make(map[string]ZoneState, len(zoneReady))
	allAre := true
	for key, ready := range zoneReady {
		unhealthy, state := computeZoneState(ready, c.cfg.UnhealthyZoneThreshold)
		c.metrics.zoneSize.WithLabelValues(key).Set(float64(len(ready)))
		c.metrics.zoneHealth.WithLabelValues(key).Set(float64(100*(len(ready)-unhealthy)) / float64(len(ready)))
		c.metrics.unhealthyNodes.WithLabelValues(key).Set(float64(unhealthy))
		if state != StateFullDisruption {
			allAre = false
		}
		newStates[key] = state
		if c.zones[key] == nil {
			c.zones[key] = newZone(c.cfg.NodeEvictionRate)
		}
	}
	populated := make(map[string]bool, len(c.zones))
	for _, n := range c.known {
		populated[zoneOf(n)] = true
	}
	allWere := true
	for key, z := range c.zones {
		if _, ok := newStates[key]; ok {
			if z.state != StateFullDisruption {
				allWere = false
			}
			continue
		}
		c.metrics.zoneSize.WithLabelValues(key).Set(0)
		c.metrics.zoneHealth.WithLabelValues(key).Set(100)
		c.metrics.unhealthyNodes.WithLabelValues(key).Set(0)
		if !populated[key] {
			delete(c.zones, key)
			continue
		}
		z.state = StateInitial
		z.setRateLocked(c.cfg.NodeEvictionRate, now)
	}

	switch {
	case allAre && allWere:
		// Still in full disruption everywhere, or no zone at all.
		c.mu.Unlock()
	case allAre:
		for key := range newStates {
			c.zones[key].setRateLocked(0, now)
			c.zones[key].state = StateFullDisruption
		}
		c.mu.Unlock()
		c.log("nodelifecycle: no node is Ready in any zone: entering master disruption mode, no NoExecute taints until one is")
		for _, n := range nodes {
			if _, err := c.markReachable(ctx, n); err != nil {
				c.log("nodelifecycle: %v", err)
			}
		}
	case allWere:
		// Leaving full disruption: every node's grace period starts again.
		for _, n := range nodes {
			if h := c.health[n.Name]; h != nil {
				cp := *h
				cp.probe, cp.readyTransition = now, now
				c.health[n.Name] = &cp
			}
		}
		for key, st := range newStates {
			c.zones[key].setRateLocked(zoneRate(c.cfg, st, len(zoneReady[key])), now)
			c.zones[key].state = st
		}
		c.mu.Unlock()
		c.log("nodelifecycle: some nodes are Ready: leaving master disruption mode")
	default:
		for key, st := range newStates {
			if z := c.zones[key]; z.state != st {
				z.setRateLocked(zoneRate(c.cfg, st, len(zoneReady[key])), now)
				z.state = st
			}
		}
		c.mu.Unlock()
	}
}

// markPodsNotReady sets Ready=False on the pods of nodeName that are Ready
// (upstream's MarkPodsNotReady), with a Warning NodeNotReady event on each.
func (c *Controller) markPodsNotReady(ctx context.Context, pods []*corev1.Pod, nodeName string) error {
	now := metav1.NewTime(c.clock.Now()).Rfc3339Copy()
	var errs []error
	for _, p := range pods {
		if p.Spec.NodeName != nodeName {
			continue
		}
		ready := podCondition(&p.Status, corev1.PodReady)
		if ready == nil || ready.Status == corev1.ConditionFalse {
			continue
		}
		patch, err := json.Marshal(map[string]any{
			"metadata": map[string]any{"uid": p.UID},
			"status": map[string]any{"conditions": []map[string]any{{
				"type": corev1.PodReady, "status": corev1.ConditionFalse, "lastTransitionTime": now,
			}}},
		})
		if err != nil {
			return err
		}
		_, err = c.client.CoreV1().Pods(p.Namespace).Patch(ctx, p.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("marking pod %s/%s not ready: %w", p.Namespace, p.Name, err))
		}
		c.event(p, corev1.EventTypeWarning, ReasonNodeNotReady, "Node is not ready")
	}
	return errors.Join(errs...)
}

func podCondition(st *corev1.PodStatus, t corev1.PodConditionType) *corev1.PodCondition {
	for i := range st.Conditions {
		if st.Conditions[i].Type == t {
			return &st.Conditions[i]
		}
	}
	return nil
}

// reconcilePodReady marks a pod bound to a node that is not Ready not ready
// itself (upstream's processPod): the node's own pass marked the pods it had
// when it went.
func (c *Controller) reconcilePodReady(ctx context.Context, req controllers.Request) (controllers.Result, error) {
	pod, ok := c.pods.Get(req.Namespace, req.Name)
	if !ok || pod.Spec.NodeName == "" {
		return controllers.Result{}, nil
	}
	c.mu.Lock()
	h := c.health[pod.Spec.NodeName]
	var ready *corev1.NodeCondition
	if h != nil && h.ready != nil {
		ready = h.ready.DeepCopy()
	}
	c.mu.Unlock()
	if ready == nil || ready.Status == corev1.ConditionTrue {
		return controllers.Result{}, nil
	}
	if _, ok := c.nodes.Get("", pod.Spec.NodeName); !ok {
		return controllers.Result{}, nil
	}
	return controllers.Result{}, c.markPodsNotReady(ctx, []*corev1.Pod{pod}, pod.Spec.NodeName)
}

// parallelize calls fn(0) … fn(n-1) on workers goroutines, stopping early
// when ctx ends.
func parallelize(ctx context.Context, n, workers int, fn func(i int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Go(func() {
			for i := range next {
				fn(i)
			}
		})
	}
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
}

// sleep waits d, or until ctx ends; it reports whether ctx is still alive.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
