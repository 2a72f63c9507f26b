package nodelifecycle

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tendhq/tend/tendtest"
)

func TestValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("DefaultConfig().Validate() = %v; want nil", err)
	}
	for _, tc := range []struct {
		name    string
		mutate  func(*Config)
		wantErr string
	}{
		{"zero period", func(c *Config) { c.NodeMonitorPeriod = 0 }, "NodeMonitorPeriod must be positive"},
		{"grace shorter than period", func(c *Config) { c.NodeMonitorGracePeriod = time.Second }, "NodeMonitorGracePeriod (1s) must be at least"},
		{"startup grace shorter than period", func(c *Config) { c.NodeStartupGracePeriod = time.Second }, "NodeStartupGracePeriod (1s)"},
		{"negative rate", func(c *Config) { c.NodeEvictionRate = -1 }, "must not be negative"},
		{"negative secondary rate", func(c *Config) { c.SecondaryNodeEvictionRate = -1 }, "must not be negative"},
		{"negative threshold", func(c *Config) { c.LargeClusterSizeThreshold = -1 }, "LargeClusterSizeThreshold"},
		{"zero unhealthy threshold", func(c *Config) { c.UnhealthyZoneThreshold = 0 }, "UnhealthyZoneThreshold must be in (0, 1]"},
		{"unhealthy threshold above one", func(c *Config) { c.UnhealthyZoneThreshold = 1.5 }, "UnhealthyZoneThreshold"},
		{"zero rates are fine", func(c *Config) { c.NodeEvictionRate, c.SecondaryNodeEvictionRate = 0, 0 }, ""},
	} {
		cfg := DefaultConfig()
		tc.mutate(&cfg)
		err := cfg.Validate()
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%s: Validate() = %v; want nil", tc.name, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s: Validate() = %v; want an error saying %q", tc.name, err, tc.wantErr)
		}
	}
}

// TestUnreachableNode: a node whose lease stops goes Unknown, its pods not
// ready, and gets the unreachable taints; its pods go when their
// tolerationSeconds run out, counted from the taint's timeAdded, and a pod
// tolerating for ever stays.
func TestUnreachableNode(t *testing.T) {
	e := newEnv(t)
	e.createNode("healthy", nil, true)
	e.createNode("lost", nil, true)
	e.createPod("short", "lost", tolerate(corev1.TaintNodeUnreachable, ptrTo[int64](30)))
	e.createPod("forever", "lost", tolerate(corev1.TaintNodeUnreachable, nil))
	e.createPod("defaults", "lost") // the apiserver adds 300s tolerations
	e.markPodReady("forever")
	e.start()

	e.setAlive("lost", false)
	took := e.stepUntil(time.Minute, func() string {
		if c := readyCondition(&e.node("lost").Status); c == nil || c.Status != corev1.ConditionUnknown {
			return fmt.Sprintf("node lost Ready = %+v; want Unknown", c)
		}
		return ""
	})
	if took <= e.cfg.NodeMonitorGracePeriod {
		t.Errorf("node lost went Unknown after %v; want more than the grace period %v", took, e.cfg.NodeMonitorGracePeriod)
	}
	lost := e.node("lost")
	for _, want := range []struct {
		t               corev1.NodeConditionType
		reason, message string
	}{
		{corev1.NodeReady, "NodeStatusUnknown", "Kubelet stopped posting node status."},
		{corev1.NodeMemoryPressure, "NodeStatusNeverUpdated", "Kubelet never posted node status."},
		{corev1.NodeDiskPressure, "NodeStatusNeverUpdated", "Kubelet never posted node status."},
		{corev1.NodePIDPressure, "NodeStatusNeverUpdated", "Kubelet never posted node status."},
	} {
		c := condition(&lost.Status, want.t)
		if c == nil || c.Status != corev1.ConditionUnknown || c.Reason != want.reason || c.Message != want.message {
			t.Errorf("node lost condition %s = %+v; want Unknown, %s, %q", want.t, c, want.reason, want.message)
		}
	}
	if c := readyCondition(&e.node("healthy").Status); c.Status != corev1.ConditionTrue {
		t.Errorf("node healthy Ready = %s; want True (its lease was renewed)", c.Status)
	}
	e.waitEvent("Node", "lost", ReasonNodeNotReady, "Node lost status is now: NodeNotReady")
	e.waitEvent("Pod", "forever", ReasonNodeNotReady, "Node is not ready")
	if c := podCondition(&e.pod("forever").Status, corev1.PodReady); c == nil || c.Status != corev1.ConditionFalse {
		t.Errorf("pod forever Ready = %+v; want False", c)
	}
	// A pod bound to the node now is marked not ready too.
	e.createPod("late", "", tolerate(corev1.TaintNodeUnreachable, nil))
	e.markPodReady("late")
	bind := &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "late"}, Target: corev1.ObjectReference{Kind: "Node", Name: "lost"}}
	if err := e.client.CoreV1().Pods(e.ns).Bind(e.ctx, bind, metav1.CreateOptions{}); err != nil {
		t.Fatalf("binding pod late: %v", err)
	}
	e.waitEvent("Pod", "late", ReasonNodeNotReady, "Node is not ready")
	if c := podCondition(&e.pod("late").Status, corev1.PodReady); c == nil || c.Status != corev1.ConditionFalse {
		t.Errorf("pod late Ready = %+v; want False", c)
	}

	var added time.Time
	e.stepUntil(time.Minute, func() string {
		n := e.node("lost")
		ne, ns := taint(n, corev1.TaintNodeUnreachable, corev1.TaintEffectNoExecute), taint(n, corev1.TaintNodeUnreachable, corev1.TaintEffectNoSchedule)
		if ne == nil || ne.TimeAdded == nil || ns == nil {
			return fmt.Sprintf("node lost taints = %v; want unreachable NoExecute (with timeAdded) and NoSchedule", n.Spec.Taints)
		}
		added = ne.TimeAdded.Time
		return ""
	})
	if n := e.node("healthy"); len(n.Spec.Taints) != 0 {
		t.Errorf("node healthy taints = %v; want none", n.Spec.Taints)
	}

	// short goes once 30s have passed since the taint, not before.
	deadline := added.Add(30 * time.Second)
	e.stepUntil(time.Minute, func() string {
		if !e.deleted("short") {
			return "pod short is not being deleted"
		}
		if now := e.clock.Now(); now.Before(deadline) {
			t.Fatalf("pod short deleted at %v; want not before the taint's timeAdded + 30s, %v", now, deadline)
		}
		return ""
	})
	// A pod bound to a node is deleted gracefully: it is still there, for
	// its kubelet to finish, marked a disruption target.
	if p := e.pod("short"); p == nil {
		t.Errorf("pod short is gone; want it terminating")
	} else if c := podCondition(&p.Status, corev1.DisruptionTarget); c == nil || c.Status != corev1.ConditionTrue ||
		c.Reason != "DeletionByTaintManager" || c.Message != "Taint manager: deleting due to NoExecute taint" {
		t.Errorf("pod short DisruptionTarget = %+v; want True, DeletionByTaintManager", c)
	}
	e.waitEvent("Pod", "short", ReasonTaintManagerEviction, "Marking for deletion Pod test/short")

	// The others stay: forever for ever, defaults for its 300s.
	e.stepFor(added.Add(time.Minute).Sub(e.clock.Now()), func() string {
		for _, name := range []string{"forever", "defaults", "late"} {
			if e.deleted(name) {
				return "pod " + name + " was deleted"
			}
		}
		return ""
	})

	zone := "" // the nodes have no zone labels
	for _, m := range []struct {
		name string
		want float64
	}{
		{"node_collector_zone_size", 2},
		{"node_collector_unhealthy_nodes_in_zone", 1},
		{"node_collector_zone_health", 50},
		{"node_collector_evictions_total", 1},
	} {
		if got := e.metric(m.name, "zone", zone); got != m.want {
			t.Errorf("%s{zone=%q} = %v; want %v", m.name, zone, got, m.want)
		}
	}
	if got := e.metric("taint_eviction_controller_pod_deletions_total"); got != 1 {
		t.Errorf("taint_eviction_controller_pod_deletions_total = %v; want 1", got)
	}
}

// TestRecovery: a node that comes back loses its taints, and the deletions
// due on it are cancelled.
func TestRecovery(t *testing.T) {
	e := newEnv(t)
	e.createNode("healthy", nil, true)
	e.createNode("flaky", nil, true)
	e.createPod("p", "flaky", tolerate(corev1.TaintNodeUnreachable, ptrTo[int64](60)))
	e.start()

	e.setAlive("flaky", false)
	var added time.Time
	e.stepUntil(time.Minute, func() string {
		n := e.node("flaky")
		if tn := taint(n, corev1.TaintNodeUnreachable, corev1.TaintEffectNoExecute); tn == nil {
			return fmt.Sprintf("node flaky taints = %v; want unreachable:NoExecute", n.Spec.Taints)
		} else {
			added = tn.TimeAdded.Time
		}
		return ""
	})
	key := types.NamespacedName{Namespace: e.ns, Name: "p"}
	tendtest.Eventually(t, 10*time.Second, func() string {
		e.c.mu.Lock()
		defer e.c.mu.Unlock()
		if _, ok := e.c.evictor.due[key]; !ok {
			return "pod p's deletion is not scheduled"
		}
		return ""
	})

	e.recover("flaky")
	e.stepUntil(30*time.Second, func() string {
		n := e.node("flaky")
		if len(n.Spec.Taints) != 0 {
			return fmt.Sprintf("node flaky taints = %v; want none", n.Spec.Taints)
		}
		return ""
	})
	e.waitEvent("Pod", "p", ReasonTaintManagerEviction, "Cancelling deletion of Pod test/p")
	e.stepFor(added.Add(90*time.Second).Sub(e.clock.Now()), func() string {
		if e.deleted("p") {
			return "pod p was deleted although its node recovered"
		}
		return ""
	})
}

// TestConditionTaints: cordoning, uncordoning and pressure conditions add
// and remove NoSchedule taints; others' taints stay.
func TestConditionTaints(t *testing.T) {
	e := newEnv(t)
	e.createNode("n", nil, true)
	user := corev1.Taint{Key: "dedicated", Value: "db", Effect: corev1.TaintEffectNoSchedule}
	n := e.node("n")
	n.Spec.Taints = []corev1.Taint{user}
	if _, err := e.client.CoreV1().Nodes().Update(e.ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.start()

	waitTaints := func(want ...string) {
		t.Helper()
		tendtest.Eventually(t, 10*time.Second, func() string {
			n := e.node("n")
			var got []string
			for _, tn := range n.Spec.Taints {
				got = append(got, tn.ToString())
			}
			if strings.Join(got, " ") != strings.Join(want, " ") {
				return fmt.Sprintf("node n taints = %q; want %q", got, want)
			}
			return ""
		})
	}
	cordon := func(on bool) {
		t.Helper()
		patch := fmt.Appendf(nil, `{"spec":{"unschedulable":%v}}`, on)
		if _, err := e.client.CoreV1().Nodes().Patch(e.ctx, "n", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	cordon(true)
	waitTaints("dedicated=db:NoSchedule", "node.kubernetes.io/unschedulable:NoSchedule")
	if tn := taint(e.node("n"), corev1.TaintNodeUnschedulable, corev1.TaintEffectNoSchedule); tn.TimeAdded == nil {
		t.Errorf("unschedulable taint timeAdded = nil; want set, as upstream")
	}
	cordon(false)
	waitTaints("dedicated=db:NoSchedule")

	n = e.node("n")
	n.Status.Conditions = append(n.Status.Conditions, corev1.NodeCondition{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionTrue,
		LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()})
	if _, err := e.client.CoreV1().Nodes().UpdateStatus(e.ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitTaints("dedicated=db:NoSchedule", "node.kubernetes.io/memory-pressure:NoSchedule")
}

// TestNeverPosted: a node that never posts status goes Unknown after the
// startup grace period, counted from its creation.
func TestNeverPosted(t *testing.T) {
	e := newEnv(t)
	e.createNode("silent", nil, false)
	created := e.node("silent").CreationTimestamp
	e.start()
	e.stepUntil(time.Minute, func() string {
		c := readyCondition(&e.node("silent").Status)
		if c == nil {
			return "node silent has no Ready condition"
		}
		if c.Status != corev1.ConditionUnknown || c.Reason != "NodeStatusNeverUpdated" || c.Message != "Kubelet never posted node status." ||
			!c.LastHeartbeatTime.Equal(&created) {
			t.Fatalf("node silent Ready = %+v; want Unknown, NodeStatusNeverUpdated, heartbeat at creation", c)
		}
		return ""
	})
	if now := e.clock.Now(); now.Before(created.Add(e.cfg.NodeStartupGracePeriod)) {
		t.Errorf("node silent went Unknown at %v; want after creation + %v = %v", now, e.cfg.NodeStartupGracePeriod, created.Add(e.cfg.NodeStartupGracePeriod))
	}
}

// TestFullDisruption: when no node is Ready anywhere, no node gets a
// NoExecute taint; once one is back, the others do.
func TestFullDisruption(t *testing.T) {
	e := newEnv(t)
	e.createNode("a", nil, true)
	e.createNode("b", nil, true)
	e.start()
	e.setAlive("a", false)
	e.setAlive("b", false)
	e.stepUntil(time.Minute, func() string {
		for _, name := range []string{"a", "b"} {
			if c := readyCondition(&e.node(name).Status); c.Status != corev1.ConditionUnknown {
				return fmt.Sprintf("node %s Ready = %s; want Unknown", name, c.Status)
			}
		}
		return ""
	})
	e.stepFor(30*time.Second, func() string {
		for _, name := range []string{"a", "b"} {
			if tn := taint(e.node(name), corev1.TaintNodeUnreachable, corev1.TaintEffectNoExecute); tn != nil {
				return fmt.Sprintf("node %s has %s in full disruption; want no NoExecute taint", name, tn.ToString())
			}
		}
		return ""
	})
	if got := e.metric("node_collector_zone_health", "zone", ""); got != 0 {
		t.Errorf("node_collector_zone_health = %v; want 0", got)
	}

	e.recover("a")
	e.stepUntil(time.Minute, func() string {
		if tn := taint(e.node("b"), corev1.TaintNodeUnreachable, corev1.TaintEffectNoExecute); tn == nil {
			return "node b has no unreachable:NoExecute taint after node a recovered"
		}
		return ""
	})
	if tn := taint(e.node("a"), corev1.TaintNodeUnreachable, corev1.TaintEffectNoExecute); tn != nil {
		t.Errorf("recovered node a has %s; want none", tn.ToString())
	}
}

// TestPartialDisruptionOfSmallZone: a zone of four with three nodes down is
// in partial disruption and, being small, taints nothing; the nodes still get
// the NoSchedule taints, and another zone is unaffected.
func TestPartialDisruptionOfSmallZone(t *testing.T) {
	e := newEnv(t)
	z1 := map[string]string{corev1.LabelTopologyZone: "z1"}
	z2 := map[string]string{corev1.LabelTopologyZone: "z2"}
	for _, name := range []string{"z1-a", "z1-b", "z1-c", "z1-d"} {
		e.createNode(name, z1, true)
	}
	e.createNode("z2-a", z2, true)
	e.createNode("z2-b", z2, true)
	e.start()
	down := []string{"z1-a", "z1-b", "z1-c", "z2-a"}
	for _, name := range down {
		e.setAlive(name, false)
	}
	e.stepUntil(time.Minute, func() string {
		for _, name := range down {
			if tn := taint(e.node(name), corev1.TaintNodeUnreachable, corev1.TaintEffectNoSchedule); tn == nil {
				return fmt.Sprintf("node %s has no unreachable:NoSchedule taint", name)
			}
		}
		return ""
	})
	// z2 is Normal (one of two down): its node is tainted. z1 is not.
	e.stepUntil(time.Minute, func() string {
		if taint(e.node("z2-a"), corev1.TaintNodeUnreachable, corev1.TaintEffectNoExecute) == nil {
			return "node z2-a has no unreachable:NoExecute taint"
		}
		return ""
	})
	e.stepFor(30*time.Second, func() string {
		for _, name := range down[:3] {
			if tn := taint(e.node(name), corev1.TaintNodeUnreachable, corev1.TaintEffectNoExecute); tn != nil {
				return fmt.Sprintf("node %s of a small zone in partial disruption has %s; want none", name, tn.ToString())
			}
		}
		return ""
	})
	z1Key := ":\x00:z1"
	if got := e.metric("node_collector_unhealthy_nodes_in_zone", "zone", z1Key); got != 3 {
		t.Errorf("node_collector_unhealthy_nodes_in_zone{zone=z1} = %v; want 3", got)
	}
	e.c.mu.Lock()
	st := e.c.zones[z1Key].state
	e.c.mu.Unlock()
	if st != StatePartialDisruption {
		t.Errorf("zone z1 state = %s; want %s", st, StatePartialDisruption)
	}
}
