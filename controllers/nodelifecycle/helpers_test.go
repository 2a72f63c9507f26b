package nodelifecycle

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/tendhq/tend/controllers"
	"github.com/tendhq/tend/informers"
	"github.com/tendhq/tend/tendtest"
)

// env is a test cluster, a node lifecycle controller on a fake clock, and a
// stand-in for the kubelets: the nodes in alive renew their leases before
// every step of the clock.
type env struct {
	t       *testing.T
	ctx     context.Context
	cluster *tendtest.Cluster
	client  kubernetes.Interface
	factory *informers.Factory
	rec     *controllers.Recorder
	reg     *prometheus.Registry
	clock   *clocktesting.FakeClock
	cfg     Config
	c       *Controller
	ns      string

	mu        sync.Mutex
	alive     map[string]bool
	lastRenew time.Time
}

// testConfig is DefaultConfig with short periods (on the fake clock).
func testConfig(clk *clocktesting.FakeClock) Config {
	cfg := DefaultConfig()
	cfg.NodeMonitorPeriod = time.Second
	cfg.NodeMonitorGracePeriod = 10 * time.Second
	cfg.NodeStartupGracePeriod = 20 * time.Second
	cfg.Clock = clk
	return cfg
}

func newEnv(t *testing.T) *env {
	t.Helper()
	cl := tendtest.Start(t, tendtest.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	client := cl.Client()
	f, err := informers.NewFactory(cl.RESTConfig(), informers.FactoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rec := controllers.NewRecorder(client, "node-controller", controllers.RecorderOptions{Host: "test", Logf: t.Logf})
	go rec.Run(ctx)
	ns := "test"
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	clk := clocktesting.NewFakeClock(time.Now())
	return &env{t: t, ctx: ctx, cluster: cl, client: client, factory: f, rec: rec, reg: prometheus.NewRegistry(),
		clock: clk, cfg: testConfig(clk), ns: ns, alive: map[string]bool{}}
}

// start runs the controller and waits for its first health pass.
func (e *env) start() {
	e.t.Helper()
	c, err := New(e.factory, e.client, e.rec, e.cfg, controllers.Options{Workers: 2, Logf: e.t.Logf, Registerer: e.reg})
	if err != nil {
		e.t.Fatalf("New: %v", err)
	}
	e.c = c
	ctx, cancel := context.WithCancel(e.ctx)
	e.factory.Start(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { _ = c.Run(ctx) })
	e.t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	tendtest.Eventually(e.t, 10*time.Second, func() string {
		if c.passes.Load() == 0 {
			return "no health pass yet"
		}
		return ""
	})
}

// createNode creates a Ready node with a lease, alive from now on. A node
// without status (posted false) has neither.
func (e *env) createNode(name string, labels map[string]string, posted bool) {
	e.t.Helper()
	n, err := e.client.CoreV1().Nodes().Create(e.ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}, metav1.CreateOptions{})
	if err != nil {
		e.t.Fatalf("creating node %s: %v", name, err)
	}
	if !posted {
		return
	}
	e.postReady(n)
	renew := metav1.NewMicroTime(e.nextRenew())
	lease := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: corev1.NamespaceNodeLease},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: &name, RenewTime: &renew},
	}
	if _, err := e.client.CoordinationV1().Leases(corev1.NamespaceNodeLease).Create(e.ctx, lease, metav1.CreateOptions{}); err != nil {
		e.t.Fatalf("creating the lease of node %s: %v", name, err)
	}
	e.setAlive(name, true)
}

// postReady writes Ready=True with a new heartbeat, as a kubelet does.
func (e *env) postReady(n *corev1.Node) {
	e.t.Helper()
	now := metav1.Now()
	n = n.DeepCopy()
	n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
		Message: "kubelet is posting ready status", LastHeartbeatTime: now, LastTransitionTime: now}}
	if _, err := e.client.CoreV1().Nodes().UpdateStatus(e.ctx, n, metav1.UpdateOptions{}); err != nil {
		e.t.Fatalf("posting the status of node %s: %v", n.Name, err)
	}
}

// recover brings a node that stopped back: Ready again, and alive.
func (e *env) recover(name string) {
	e.t.Helper()
	e.postReady(e.node(name))
	e.setAlive(name, true)
}

func (e *env) setAlive(name string, alive bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.alive[name] = alive
}

// nextRenew returns a renew time later than every one before.
func (e *env) nextRenew() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := time.Now().Truncate(time.Microsecond)
	if !now.After(e.lastRenew) {
		now = e.lastRenew.Add(time.Microsecond)
	}
	e.lastRenew = now
	return now
}

// renewLeases renews the leases of the nodes alive and waits for the
// controller's informer to hold the renewals.
func (e *env) renewLeases() {
	e.t.Helper()
	e.mu.Lock()
	var names []string
	for n, ok := range e.alive {
		if ok {
			names = append(names, n)
		}
	}
	e.mu.Unlock()
	leases := e.client.CoordinationV1().Leases(corev1.NamespaceNodeLease)
	for _, name := range names {
		renew := metav1.NewMicroTime(e.nextRenew())
		patch := fmt.Appendf(nil, `{"spec":{"renewTime":%q}}`, renew.Format(metav1.RFC3339Micro))
		if _, err := leases.Patch(e.ctx, name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			e.t.Fatalf("renewing the lease of node %s: %v", name, err)
		}
		tendtest.Eventually(e.t, 10*time.Second, func() string {
			l, ok := e.c.leases.Get(corev1.NamespaceNodeLease, name)
			if !ok || l.Spec.RenewTime == nil || !l.Spec.RenewTime.Equal(&renew) {
				return fmt.Sprintf("the controller has not seen node %s's lease renewed at %v", name, renew)
			}
			return ""
		})
	}
}

// step renews the live nodes' leases, moves the clock one monitor period on
// and waits for the health pass that follows.
func (e *env) step() {
	e.t.Helper()
	e.renewLeases()
	n := e.c.passes.Load()
	e.clock.Step(e.cfg.NodeMonitorPeriod)
	tendtest.Eventually(e.t, 10*time.Second, func() string {
		if e.c.passes.Load() <= n {
			return "the health pass after a step of the clock did not come"
		}
		return ""
	})
}

// stepUntil steps until cond returns "", failing if limit of clock time
// passes first; it returns the clock time that passed.
func (e *env) stepUntil(limit time.Duration, cond func() string) time.Duration {
	e.t.Helper()
	start := e.clock.Now()
	for {
		msg := cond()
		if msg == "" {
			return e.clock.Since(start)
		}
		if e.clock.Since(start) > limit {
			e.t.Fatalf("after %v of clock time: %s", limit, msg)
		}
		e.step()
	}
}

// stepFor steps for d of clock time, checking cond after each step.
func (e *env) stepFor(d time.Duration, cond func() string) {
	e.t.Helper()
	end := e.clock.Now().Add(d)
	for e.clock.Now().Before(end) {
		e.step()
		if msg := cond(); msg != "" {
			e.t.Fatalf("at %v: %s", e.clock.Now().Format(time.TimeOnly), msg)
		}
	}
}

func (e *env) node(name string) *corev1.Node {
	e.t.Helper()
	n, err := e.client.CoreV1().Nodes().Get(e.ctx, name, metav1.GetOptions{})
	if err != nil {
		e.t.Fatalf("getting node %s: %v", name, err)
	}
	return n
}

// createPod creates a pod bound to node with tolerations.
func (e *env) createPod(name, node string, tolerations ...corev1.Toleration) {
	e.t.Helper()
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.ns},
		Spec: corev1.PodSpec{NodeName: node, Tolerations: tolerations,
			Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}
	if _, err := e.client.CoreV1().Pods(e.ns).Create(e.ctx, p, metav1.CreateOptions{}); err != nil {
		e.t.Fatalf("creating pod %s: %v", name, err)
	}
}

// markPodReady writes the status a kubelet would for a running, ready pod.
func (e *env) markPodReady(name string) {
	e.t.Helper()
	now := metav1.Now()
	p, err := e.client.CoreV1().Pods(e.ns).Get(e.ctx, name, metav1.GetOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	p.Status.Phase = corev1.PodRunning
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now}}
	if _, err := e.client.CoreV1().Pods(e.ns).UpdateStatus(e.ctx, p, metav1.UpdateOptions{}); err != nil {
		e.t.Fatalf("marking pod %s ready: %v", name, err)
	}
}

// pod returns the pod, or nil if it is gone.
func (e *env) pod(name string) *corev1.Pod {
	e.t.Helper()
	p, err := e.client.CoreV1().Pods(e.ns).Get(e.ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		e.t.Fatalf("getting pod %s: %v", name, err)
	}
	return p
}

// deleted reports whether the pod is gone or being deleted.
func (e *env) deleted(name string) bool {
	p := e.pod(name)
	return p == nil || p.DeletionTimestamp != nil
}

// events returns the messages of the events with reason about the object
// named name (a pod of the test namespace, or a node).
func (e *env) events(kind, name, reason string) []string {
	e.t.Helper()
	ns := e.ns
	if kind == "Node" {
		ns = metav1.NamespaceDefault
	}
	l, err := e.client.CoreV1().Events(ns).List(e.ctx, metav1.ListOptions{})
	if err != nil {
		e.t.Fatalf("listing events: %v", err)
	}
	var out []string
	for _, ev := range l.Items {
		if ev.InvolvedObject.Kind == kind && ev.InvolvedObject.Name == name && ev.Reason == reason {
			out = append(out, ev.Message)
		}
	}
	return out
}

// waitEvent waits for an event with reason and message about an object.
func (e *env) waitEvent(kind, name, reason, message string) {
	e.t.Helper()
	tendtest.Eventually(e.t, 10*time.Second, func() string {
		msgs := e.events(kind, name, reason)
		for _, m := range msgs {
			if m == message {
				return ""
			}
		}
		return fmt.Sprintf("%s %s events %s = %q; want %q", kind, name, reason, msgs, message)
	})
}

// taint returns the node's taint with key and effect, or nil.
func taint(n *corev1.Node, key string, effect corev1.TaintEffect) *corev1.Taint {
	for i := range n.Spec.Taints {
		if n.Spec.Taints[i].Key == key && n.Spec.Taints[i].Effect == effect {
			return &n.Spec.Taints[i]
		}
	}
	return nil
}

// metric returns the value of the registry's metric name with the label
// values given (name=value pairs), or -1 if there is none.
func (e *env) metric(name string, labels ...string) float64 {
	e.t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		e.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if have[labels[i]] != labels[i+1] {
					continue next
				}
			}
			switch {
			case m.Gauge != nil:
				return m.GetGauge().GetValue()
			case m.Counter != nil:
				return m.GetCounter().GetValue()
			}
		}
	}
	return -1
}

func tolerate(key string, seconds *int64) corev1.Toleration {
	return corev1.Toleration{Key: key, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: seconds}
}

func ptrTo[T any](v T) *T { return &v }
