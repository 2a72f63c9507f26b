package podgc

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	testingclock "k8s.io/utils/clock/testing"

	"github.com/tendhq/tend/controllers"
	"github.com/tendhq/tend/informers"
	"github.com/tendhq/tend/tendtest"
)

const ns = metav1.NamespaceDefault

type env struct {
	t      *testing.T
	ctx    context.Context
	client kubernetes.Interface
	c      *tendtest.Cluster
}

func newEnv(t *testing.T) *env {
	t.Helper()
	c := tendtest.Start(t, tendtest.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return &env{t: t, ctx: ctx, client: c.Client(), c: c}
}

// run starts the collector with cfg; it stops when the test ends.
func (e *env) run(cfg Config, reg prometheus.Registerer) {
	e.t.Helper()
	f, err := informers.NewFactory(e.c.RESTConfig(), informers.FactoryOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	gc := New(f, e.client, cfg, controllers.Options{Registerer: reg, Logf: e.t.Logf})
	ctx, cancel := context.WithCancel(e.ctx)
	f.Start(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := gc.Run(ctx); err != nil {
			e.t.Errorf("Run() = %v", err)
		}
	})
	e.t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
}

func (e *env) createNode(name string, ready corev1.ConditionStatus, taints ...corev1.Taint) {
	e.t.Helper()
	n, err := e.client.CoreV1().Nodes().Create(e.ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.NodeSpec{Taints: taints}}, metav1.CreateOptions{})
	if err != nil {
		e.t.Fatalf("creating node %s: %v", name, err)
	}
	n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: ready, LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()}}
	if _, err := e.client.CoreV1().Nodes().UpdateStatus(e.ctx, n, metav1.UpdateOptions{}); err != nil {
		e.t.Fatalf("setting the status of node %s: %v", name, err)
	}
}

// createPod creates a pod bound to node (empty: unbound), then sets its phase
// and status reason if phase is not empty.
func (e *env) createPod(name, node string, phase corev1.PodPhase, reason string, finalizers ...string) *corev1.Pod {
	e.t.Helper()
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Finalizers: finalizers},
		Spec:       corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "app", Image: "busybox"}}},
	}
	p, err := e.client.CoreV1().Pods(ns).Create(e.ctx, p, metav1.CreateOptions{})
	if err != nil {
		e.t.Fatalf("creating pod %s: %v", name, err)
	}
	if phase != "" {
		p.Status.Phase, p.Status.Reason = phase, reason
		if p, err = e.client.CoreV1().Pods(ns).UpdateStatus(e.ctx, p, metav1.UpdateOptions{}); err != nil {
			e.t.Fatalf("setting the phase of pod %s: %v", name, err)
		}
	}
	return p
}

// podNames returns the names of the pods of the namespace, sorted.
func (e *env) podNames() []string {
	e.t.Helper()
	list, err := e.client.CoreV1().Pods(ns).List(e.ctx, metav1.ListOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, p := range list.Items {
		out = append(out, p.Name)
	}
	slices.Sort(out)
	return out
}

func (e *env) getPod(name string) (*corev1.Pod, error) {
	return e.client.CoreV1().Pods(ns).Get(e.ctx, name, metav1.GetOptions{})
}

// watchPod records the states of one pod until it is deleted.
func (e *env) watchPod(name string) (states func() []corev1.Pod, deletedAt func() time.Time) {
	e.t.Helper()
	w, err := e.client.CoreV1().Pods(ns).Watch(e.ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + name})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(w.Stop)
	var mu sync.Mutex
	var seen []corev1.Pod
	var at time.Time
	go func() {
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			mu.Lock()
			seen = append(seen, *p)
			if ev.Type == watch.Deleted && at.IsZero() {
				at = time.Now()
			}
			mu.Unlock()
		}
	}()
	return func() []corev1.Pod {
			mu.Lock()
			defer mu.Unlock()
			return slices.Clone(seen)
		}, func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			return at
		}
}

func counter(t *testing.T, reg *prometheus.Registry, name, namespace, reason string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["namespace"] == namespace && labels["reason"] == reason {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// TestOrphanedPodsAfterQuarantine: a pod bound to a node that does not exist
// is failed, marked DisruptionTarget and deleted once the node has been
// missing for the quarantine; a pod on a node that exists stays.
func TestOrphanedPodsAfterQuarantine(t *testing.T) {
	e := newEnv(t)
	e.createNode("present", corev1.ConditionTrue)
	e.createPod("on-present", "present", corev1.PodRunning, "")
	e.createPod("on-missing", "missing", corev1.PodRunning, "")
	states, deletedAt := e.watchPod("on-missing")

	clk := testingclock.NewFakeClock(time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC))
	reg := prometheus.NewRegistry()
	e.run(Config{GCPeriod: 20 * time.Second, Quarantine: 40 * time.Second, TerminatedPodThreshold: 100, Clock: clk}, reg)
	// collected waits for a collection to end: Run then waits on its timer.
	collected := func() {
		t.Helper()
		tendtest.Eventually(t, 20*time.Second, func() string {
			if !clk.HasWaiters() {
				return "want the collector waiting for its next period"
			}
			return ""
		})
	}
	collected() // at 0 s: node missing is quarantined
	clk.Step(20 * time.Second)
	collected() // at 20 s: still in quarantine
	if _, err := e.getPod("on-missing"); err != nil {
		t.Fatalf("pod on-missing after 20 s of a 40 s quarantine: %v; want it kept", err)
	}
	clk.Step(20 * time.Second)
	collected() // at 40 s: the API confirms the node is gone
	if _, err := e.getPod("on-missing"); !apierrors.IsNotFound(err) {
		t.Fatalf("pod on-missing after the quarantine: %v; want it deleted", err)
	}
	tendtest.Eventually(t, 10*time.Second, func() string {
		if deletedAt().IsZero() {
			return "want the deletion of on-missing watched"
		}
		return ""
	})
	var marked bool
	for _, p := range states() {
		c := podCondition(&p, corev1.DisruptionTarget)
		if p.Status.Phase == corev1.PodFailed && c != nil && c.Status == corev1.ConditionTrue &&
			c.Reason == "DeletionByPodGC" && c.Message == "PodGC: node no longer exists" {
			marked = true
		}
	}
	if !marked {
		t.Errorf("pod on-missing was never Failed with DisruptionTarget DeletionByPodGC before its deletion; %d states seen", len(states()))
	}
	if _, err := e.getPod("on-present"); err != nil {
		t.Errorf("pod on-present, on a node that exists: %v; want it kept", err)
	}
	if got := counter(t, reg, "pod_gc_collector_force_delete_pods_total", ns, ReasonOrphaned); got != 1 {
		t.Errorf("pod_gc_collector_force_delete_pods_total{reason=orphaned} = %v; want 1", got)
	}
	if got := counter(t, reg, "pod_gc_collector_force_delete_pod_errors_total", ns, ReasonOrphaned); got != 0 {
		t.Errorf("pod_gc_collector_force_delete_pod_errors_total{reason=orphaned} = %v; want 0", got)
	}
}

// TestNodeInCacheLateIsNotOrphaning: a node the cache lacks but the API has
// (the informer lags) costs its pods nothing.
func TestNodeInCacheLateIsNotOrphaning(t *testing.T) {
	e := newEnv(t)
	e.createPod("on-late", "late", corev1.PodRunning, "")
	f, err := informers.NewFactory(e.c.RESTConfig(), informers.FactoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	gc := New(f, e.client, Config{GCPeriod: time.Second, Clock: testingclock.NewFakeClock(time.Now())}, controllers.Options{Logf: t.Logf})
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	f.Start(ctx)
	if !informers.WaitForSync(ctx, gc.pods, gc.nodes) {
		t.Fatal("informers did not sync")
	}
	// The node exists in the API from now on, but the collector is shown a
	// cache without it: as if its watch lagged.
	e.createNode("late", corev1.ConditionTrue)
	lagging := &Controller{client: gc.client, cfg: gc.cfg, pods: gc.pods, nodes: emptyNodes(t), deleted: gc.deleted, failures: gc.failures}
	lagging.collect(ctx) // zero quarantine: due at once
	if _, err := e.getPod("on-late"); err != nil {
		t.Errorf("pod on-late, on a node the API has: %v; want it kept", err)
	}
}

// emptyNodes is a synced node informer that holds nothing.
func emptyNodes(t *testing.T) *informers.Informer[*corev1.Node] {
	t.Helper()
	inf := informers.New[*corev1.Node](emptyNodeLister{}, informers.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go inf.Run(ctx)
	if !informers.WaitForSync(ctx, inf) {
		t.Fatal("the empty node informer did not sync")
	}
	return inf
}

type emptyNodeLister struct{}

func (emptyNodeLister) List(context.Context, metav1.ListOptions) (*corev1.NodeList, error) {
	return &corev1.NodeList{ListMeta: metav1.ListMeta{ResourceVersion: "1"}}, nil
}

func (emptyNodeLister) Watch(ctx context.Context, _ metav1.ListOptions) (watch.Interface, error) {
	return watch.NewFake(), nil
}

// TestTerminatedThreshold: terminated pods beyond the threshold are deleted,
// evicted first, then oldest; running pods are not counted.
func TestTerminatedThreshold(t *testing.T) {
	e := newEnv(t)
	e.createNode("n", corev1.ConditionTrue)
	// Created in name order: oldest first, with names breaking ties in the
	// same second.
	for _, name := range []string{"done-a", "done-b", "done-c", "done-d"} {
		e.createPod(name, "n", corev1.PodSucceeded, "")
	}
	e.createPod("evicted", "n", corev1.PodFailed, "Evicted")
	e.createPod("running", "n", corev1.PodRunning, "")
	e.run(Config{GCPeriod: 50 * time.Millisecond, Quarantine: time.Second, TerminatedPodThreshold: 2}, nil)

	want := []string{"done-c", "done-d", "running"}
	tendtest.Eventually(t, 20*time.Second, func() string {
		if got := e.podNames(); !slices.Equal(got, want) {
			return fmt.Sprintf("pods = %v; want %v", got, want)
		}
		return ""
	})
}

// TestTerminatingPods: a pod being deleted on an out-of-service node that is
// not Ready is force deleted; one on a Ready node is left to its kubelet; an
// unbound pod being deleted is failed and force deleted.
func TestTerminatingPods(t *testing.T) {
	e := newEnv(t)
	oos := corev1.Taint{Key: corev1.TaintNodeOutOfService, Value: "nodeshutdown", Effect: corev1.TaintEffectNoExecute}
	e.createNode("down", corev1.ConditionFalse, oos)
	e.createNode("up", corev1.ConditionTrue, oos)
	e.createPod("on-down", "down", corev1.PodRunning, "")
	e.createPod("on-up", "up", corev1.PodRunning, "")
	// A finalizer keeps the unbound pod around after its forced deletion, so
	// that what the collector did can be seen.
	e.createPod("unbound", "", "", "", "example.com/hold")
	for _, name := range []string{"on-down", "on-up", "unbound"} {
		if err := e.client.CoreV1().Pods(ns).Delete(e.ctx, name, metav1.DeleteOptions{}); err != nil {
			t.Fatalf("deleting pod %s: %v", name, err)
		}
	}
	e.run(Config{GCPeriod: 50 * time.Millisecond, Quarantine: time.Second}, nil)

	tendtest.Eventually(t, 20*time.Second, func() string {
		if _, err := e.getPod("on-down"); !apierrors.IsNotFound(err) {
			return fmt.Sprintf("pod on-down: %v; want it force deleted", err)
		}
		p, err := e.getPod("unbound")
		if err != nil || p.Status.Phase != corev1.PodFailed {
			return fmt.Sprintf("pod unbound: %v; want it Failed", err)
		}
		return ""
	})
	p, err := e.getPod("on-up")
	if err != nil || p.DeletionTimestamp == nil || p.Status.Phase != corev1.PodRunning {
		t.Errorf("pod on-up (on a Ready node): %v; want it still terminating and Running", err)
	}
	// Once its finalizer goes, nothing holds the unbound pod.
	if _, err := e.client.CoreV1().Pods(ns).Patch(e.ctx, "unbound", "application/merge-patch+json", []byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{}); err != nil {
		t.Fatalf("removing the finalizer of pod unbound: %v", err)
	}
	tendtest.Eventually(t, 20*time.Second, func() string {
		if _, err := e.getPod("unbound"); !apierrors.IsNotFound(err) {
			return fmt.Sprintf("pod unbound: %v; want it gone", err)
		}
		return ""
	})
}

// TestSameNameNewPodKept: a pod judged from a stale cache, and since replaced
// by a new pod of the same name, costs the new pod neither its phase nor its
// life.
func TestSameNameNewPodKept(t *testing.T) {
	e := newEnv(t)
	stale := e.createPod("p", "gone", corev1.PodRunning, "")
	zero := int64(0)
	if err := e.client.CoreV1().Pods(ns).Delete(e.ctx, "p", metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}
	cur := e.createPod("p", "gone", corev1.PodRunning, "")
	f, err := informers.NewFactory(e.c.RESTConfig(), informers.FactoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	gc := New(f, e.client, DefaultConfig(), controllers.Options{})
	cond := &corev1.PodCondition{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: "DeletionByPodGC"}
	if err := gc.failAndDelete(e.ctx, stale, cond); err != nil {
		t.Errorf("failAndDelete(an older pod of the same name) = %v; want nil (that pod is gone)", err)
	}
	p, err := e.getPod("p")
	if err != nil || p.UID != cur.UID || p.Status.Phase != corev1.PodRunning || podCondition(p, corev1.DisruptionTarget) != nil {
		t.Errorf("the new pod p after failAndDelete of the old: %v, %+v; want it untouched", err, p)
	}
	// Terminated pods are only deleted, under the same precondition.
	stale.Status.Phase = corev1.PodSucceeded
	if err := gc.failAndDelete(e.ctx, stale, nil); err != nil {
		t.Errorf("failAndDelete(an older terminated pod of the same name) = %v; want nil", err)
	}
	if p, err := e.getPod("p"); err != nil || p.UID != cur.UID {
		t.Errorf("the new pod p after deleting the old: %v; want it kept", err)
	}
}

// TestRunRejectsBadConfig: Run says what is wrong rather than spinning.
func TestRunRejectsBadConfig(t *testing.T) {
	e := newEnv(t)
	f, err := informers.NewFactory(e.c.RESTConfig(), informers.FactoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	err = New(f, e.client, Config{}, controllers.Options{}).Run(e.ctx)
	if err == nil {
		t.Fatal("Run() with a zero GCPeriod = nil; want an error")
	}
}

func podCondition(p *corev1.Pod, t corev1.PodConditionType) *corev1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == t {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}
