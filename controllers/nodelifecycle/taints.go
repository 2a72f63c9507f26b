package nodelifecycle

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	nodetopology "k8s.io/component-helpers/node/topology"

	"github.com/tendhq/tend/controllers"
)

// The NoExecute taints the controller manages.
var (
	unreachableNoExecute = corev1.Taint{Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoExecute}
	notReadyNoExecute    = corev1.Taint{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoExecute}
)

// conditionTaintKeys maps a node condition and status to the key of the
// NoSchedule taint it calls for, upstream's nodeConditionToTaintKeyStatusMap.
var conditionTaintKeys = map[corev1.NodeConditionType]map[corev1.ConditionStatus]string{
	corev1.NodeReady: {
		corev1.ConditionFalse:   corev1.TaintNodeNotReady,
		corev1.ConditionUnknown: corev1.TaintNodeUnreachable,
	},
	corev1.NodeMemoryPressure:     {corev1.ConditionTrue: corev1.TaintNodeMemoryPressure},
	corev1.NodeDiskPressure:       {corev1.ConditionTrue: corev1.TaintNodeDiskPressure},
	corev1.NodeNetworkUnavailable: {corev1.ConditionTrue: corev1.TaintNodeNetworkUnavailable},
	corev1.NodePIDPressure:        {corev1.ConditionTrue: corev1.TaintNodePIDPressure},
}

// isConditionTaintKey reports whether key is one of the NoSchedule taints
// the controller owns.
func isConditionTaintKey(key string) bool {
	switch key {
	case corev1.TaintNodeNotReady, corev1.TaintNodeUnreachable, corev1.TaintNodeMemoryPressure,
		corev1.TaintNodeDiskPressure, corev1.TaintNodeNetworkUnavailable, corev1.TaintNodePIDPressure,
		corev1.TaintNodeUnschedulable:
		return true
	}
	return false
}

// conditionTaints returns the NoSchedule taints node's state calls for, in
// the order of its conditions, unschedulable last.
func conditionTaints(node *corev1.Node) []corev1.Taint {
	var out []corev1.Taint
	for _, c := range node.Status.Conditions {
		if key, ok := conditionTaintKeys[c.Type][c.Status]; ok {
			out = append(out, corev1.Taint{Key: key, Effect: corev1.TaintEffectNoSchedule})
		}
	}
	if node.Spec.Unschedulable {
		out = append(out, corev1.Taint{Key: corev1.TaintNodeUnschedulable, Effect: corev1.TaintEffectNoSchedule})
	}
	return out
}

// noScheduleDiff returns the condition taints to add to node and those to
// remove from it (upstream's doNoScheduleTaintingPass): taints are compared by
// key and effect, and only the controller's NoSchedule ones are removed.
func noScheduleDiff(node *corev1.Node) (add, remove []corev1.Taint) {
	want := conditionTaints(node)
	var have []corev1.Taint
	for _, t := range node.Spec.Taints {
		if t.Effect == corev1.TaintEffectNoSchedule && isConditionTaintKey(t.Key) {
			have = append(have, t)
		}
	}
	for _, w := range want {
		if !hasTaint(have, w) {
			add = append(add, w)
		}
	}
	for _, h := range have {
		if !hasTaint(want, h) {
			remove = append(remove, h)
		}
	}
	return add, remove
}

// hasTaint reports whether taints has one with t's key and effect.
func hasTaint(taints []corev1.Taint, t corev1.Taint) bool {
	for i := range taints {
		if taints[i].MatchTaint(&t) {
			return true
		}
	}
	return false
}

// applyTaints returns taints with remove taken out and add put in (a taint
// of an added one's key and effect is replaced unless it has its value
// already, keeping its timeAdded), and whether that changed anything.
func applyTaints(taints, add, remove []corev1.Taint) ([]corev1.Taint, bool) {
	out := make([]corev1.Taint, 0, len(taints)+len(add))
	changed := false
	for _, t := range taints {
		if hasTaint(remove, t) || (hasTaint(add, t) && !hasTaintValue(add, t)) {
			changed = true
			continue
		}
		out = append(out, t)
	}
	for _, a := range add {
		if !hasTaint(out, a) {
			out = append(out, a)
			changed = true
		}
	}
	return out, changed
}

func hasTaintValue(taints []corev1.Taint, t corev1.Taint) bool {
	for i := range taints {
		if taints[i].MatchTaint(&t) && taints[i].Value == t.Value {
			return true
		}
	}
	return false
}

// swapTaints adds add (with timeAdded now) to the node's taints and removes
// remove, by a merge patch of spec.taints conditional on the node's
// resourceVersion. On a conflict it reads the node again and retries, a few
// times. node is not modified.
func (c *Controller) swapTaints(ctx context.Context, node *corev1.Node, add, remove []corev1.Taint) error {
	_, err := c.swapTaintsChanged(ctx, node, add, remove)
	return err
}

// swapTaintsChanged is swapTaints, also reporting whether it wrote a change.
func (c *Controller) swapTaintsChanged(ctx context.Context, node *corev1.Node, add, remove []corev1.Taint) (bool, error) {
	now := metav1.NewTime(c.clock.Now())
	stamped := make([]corev1.Taint, len(add))
	for i, t := range add {
		t.TimeAdded = &now
		stamped[i] = t
	}
	nodes, name := c.client.CoreV1().Nodes(), node.Name
	for attempt := 1; ; attempt++ {
		taints, changed := applyTaints(node.Spec.Taints, stamped, remove)
		if !changed {
			return false, nil
		}
		var list any = taints
		if len(taints) == 0 {
			list = nil // a merge patch removes the field
		}
		patch, err := json.Marshal(map[string]any{
			"metadata": map[string]any{"resourceVersion": node.ResourceVersion},
			"spec":     map[string]any{"taints": list},
		})
		if err != nil {
			return false, err
		}
		_, err = nodes.Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{})
		if err == nil {
			return true, nil
		}
		if !apierrors.IsConflict(err) || attempt == healthUpdateRetries {
			return false, fmt.Errorf("updating the taints of node %s (adding %v, removing %v): %w", name, taintKeys(add), taintKeys(remove), err)
		}
		if node, err = nodes.Get(ctx, name, metav1.GetOptions{}); err != nil {
			return false, fmt.Errorf("reading node %s to update its taints: %w", name, err)
		}
	}
}

func taintKeys(taints []corev1.Taint) []string {
	out := make([]string, len(taints))
	for i := range taints {
		out[i] = taints[i].ToString()
	}
	return out
}

// reconcileNoSchedule keeps a node's NoSchedule condition taints.
func (c *Controller) reconcileNoSchedule(ctx context.Context, req controllers.Request) (controllers.Result, error) {
	node, ok := c.nodes.Get("", req.Name)
	if !ok {
		return controllers.Result{}, nil
	}
	add, remove := noScheduleDiff(node)
	if len(add) == 0 && len(remove) == 0 {
		return controllers.Result{}, nil
	}
	err := c.swapTaints(ctx, node, add, remove)
	if apierrors.IsNotFound(err) {
		return controllers.Result{}, nil
	}
	return controllers.Result{}, err
}

// zoneOf is a node's zone key (region and zone; "" when unlabelled).
func zoneOf(node *corev1.Node) string { return nodetopology.GetZoneKey(node) }

// zoneLocked returns node's zone, creating it (at the normal eviction rate)
// if it is new.
func (c *Controller) zoneLocked(node *corev1.Node) *zone {
	key := zoneOf(node)
	z, ok := c.zones[key]
	if !ok {
		z = newZone(c.cfg.NodeEvictionRate)
		c.zones[key] = z
		c.metrics.evictions.WithLabelValues(key).Add(0)
	}
	return z
}

// markForTainting queues a node whose Ready condition is status for its
// NoExecute taint (upstream's markNodeForTainting): a node that lacks the
// taint of its state is queued again even if it was before.
func (c *Controller) markForTainting(node *corev1.Node, status corev1.ConditionStatus) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	z := c.zoneLocked(node)
	if status == corev1.ConditionFalse && !hasTaint(node.Spec.Taints, notReadyNoExecute) ||
		status == corev1.ConditionUnknown && !hasTaint(node.Spec.Taints, unreachableNoExecute) {
		z.removeLocked(node.Name)
	}
	return z.addLocked(node.Name, c.clock.Now())
}

// markReachable removes the controller's NoExecute taints from a node and
// takes it out of its zone's queue. It reports whether the node was queued.
func (c *Controller) markReachable(ctx context.Context, node *corev1.Node) (bool, error) {
	var remove []corev1.Taint
	for _, t := range []corev1.Taint{unreachableNoExecute, notReadyNoExecute} {
		if hasTaint(node.Spec.Taints, t) {
			remove = append(remove, t)
		}
	}
	if len(remove) > 0 {
		if err := c.swapTaints(ctx, node, nil, remove); err != nil && !apierrors.IsNotFound(err) {
			return false, err
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.zoneLocked(node).removeLocked(node.Name), nil
}

// noExecuteTaintingPass taints the nodes the zones' limiters let through
// (upstream's doNoExecuteTaintingPass).
func (c *Controller) noExecuteTaintingPass(ctx context.Context) {
	c.mu.Lock()
	keys := make([]string, 0, len(c.zones))
	for k := range c.zones {
		keys = append(keys, k)
	}
	c.mu.Unlock()
	for _, key := range keys {
		for ctx.Err() == nil {
			now := c.clock.Now()
			c.mu.Lock()
			z := c.zones[key]
			var name string
			ok := z != nil
			if ok {
				name, ok = z.nextLocked(now)
			}
			c.mu.Unlock()
			if !ok {
				break
			}
			if retryAfter, done := c.taintNoExecute(ctx, name); !done {
				c.mu.Lock()
				if z := c.zones[key]; z != nil {
					z.retryLocked(name, now.Add(retryAfter))
				}
				c.mu.Unlock()
			}
		}
	}
}

// taintNoExecute gives a node the NoExecute taint of its Ready condition,
// removing the other one. It reports whether the node is done with, or when
// to try again.
func (c *Controller) taintNoExecute(ctx context.Context, name string) (time.Duration, bool) {
	node, ok := c.nodes.Get("", name)
	if !ok {
		return 0, true
	}
	ready := readyCondition(&node.Status)
	if ready == nil {
		return 50 * time.Millisecond, false
	}
	var add, opposite corev1.Taint
	switch ready.Status {
	case corev1.ConditionFalse:
		add, opposite = notReadyNoExecute, unreachableNoExecute
	case corev1.ConditionUnknown:
		add, opposite = unreachableNoExecute, notReadyNoExecute
	default:
		// Ready again: nothing to taint.
		return 0, true
	}
	changed, err := c.swapTaintsChanged(ctx, node, []corev1.Taint{add}, []corev1.Taint{opposite})
	if err != nil {
		if apierrors.IsNotFound(err) {
			return 0, true
		}
		c.log("nodelifecycle: %v", err)
		return 0, false
	}
	if changed {
		// Upstream counts a node its cache showed tainted already, too.
		c.metrics.evictions.WithLabelValues(zoneOf(node)).Inc()
	}
	return 0, true
}
