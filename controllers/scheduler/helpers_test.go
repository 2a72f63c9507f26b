package scheduler

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/tendhq/tend/controllers"
	"github.com/tendhq/tend/informers"
	"github.com/tendhq/tend/tendtest"
)

// env is a test cluster with a namespace, and the schedulers started on it.
type env struct {
	t       testing.TB
	ctx     context.Context
	cluster *tendtest.Cluster
	client  kubernetes.Interface
	ns      string
	// binds counts the answers to pods/binding requests, by status code, of
	// the schedulers' clients.
	binds *bindCounter
}

func newEnv(t testing.TB) *env {
	t.Helper()
	c := tendtest.Start(t, tendtest.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	e := &env{t: t, ctx: ctx, cluster: c, client: c.Client(), ns: "test", binds: &bindCounter{}}
	if _, err := e.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: e.ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating namespace %s: %v", e.ns, err)
	}
	return e
}

// bindCounter counts pods/binding answers by status code; -1 counts
// requests that got no answer.
type bindCounter struct {
	mu    sync.Mutex
	codes map[int]int
}

func (b *bindCounter) count(code int) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.codes[code]
}

func (b *bindCounter) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		resp, err := rt.RoundTrip(req)
		if req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, "/binding") {
			code := -1 // no answer (canceled)
			if err == nil {
				code = resp.StatusCode
			}
			b.mu.Lock()
			if b.codes == nil {
				b.codes = map[int]int{}
			}
			b.codes[code]++
			b.mu.Unlock()
		}
		return resp, err
	})
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// restConfig is the schedulers' client configuration: protobuf, no rate
// limit to speak of, binding answers counted.
func (e *env) restConfig() *rest.Config {
	rc := e.cluster.RESTConfig()
	rc.QPS, rc.Burst = 5000, 10000
	rc.ContentType = "application/vnd.kubernetes.protobuf"
	rc.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	rc.Wrap(e.binds.wrap)
	return rc
}

// started is a scheduler running in a test.
type started struct {
	s      *Scheduler
	reg    *prometheus.Registry
	cancel context.CancelFunc
	done   chan struct{}
}

// stop stops the scheduler and waits for it to return.
func (st *started) stop() {
	st.cancel()
	<-st.done
}

// counter returns the value of a counter (summed over label values that
// match want).
func (st *started) counter(name string, want map[string]string) float64 {
	mfs, err := st.reg.Gather()
	if err != nil {
		return -1
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.Metric {
			if labelsMatch(m, want) {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

func labelsMatch(m *dto.Metric, want map[string]string) bool {
	for k, v := range want {
		found := false
		for _, lp := range m.Label {
			if lp.GetName() == k && lp.GetValue() == v {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// startScheduler runs a scheduler with its own factory and recorder until
// the test ends (or stop).
func (e *env) startScheduler(cfg Config) *started {
	e.t.Helper()
	rc := e.restConfig()
	client := kubernetes.NewForConfigOrDie(rc)
	factory, err := informers.NewFactory(rc, informers.FactoryOptions{Logf: e.t.Logf})
	if err != nil {
		e.t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	cfg.Registerer = reg
	if cfg.Logf == nil {
		cfg.Logf = e.t.Logf
	}
	rec := controllers.NewRecorder(client, DefaultSchedulerName, controllers.RecorderOptions{Host: "test", Logf: cfg.Logf})
	s, err := New(client, factory, rec, cfg)
	if err != nil {
		e.t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(e.ctx)
	st := &started{s: s, reg: reg, cancel: cancel, done: make(chan struct{})}
	factory.Start(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { rec.Run(ctx) })
	go func() {
		defer close(st.done)
		if err := s.Run(ctx); err != nil && ctx.Err() == nil {
			e.t.Errorf("Run: %v", err)
		}
		wg.Wait()
	}()
	e.t.Cleanup(st.stop)
	return st
}

// nodeSpec describes a test node.
type nodeSpec struct {
	name        string
	cpu, memory string
	pods        int
	labels      map[string]string
	taints      []corev1.Taint
}

func (e *env) addNode(n nodeSpec) *corev1.Node {
	e.t.Helper()
	out, err := e.client.CoreV1().Nodes().Create(e.ctx, makeNode(n), metav1.CreateOptions{})
	if err != nil {
		e.t.Fatalf("creating node %s: %v", n.name, err)
	}
	return out
}

// makeNode is a Ready node with the given room.
func makeNode(n nodeSpec) *corev1.Node {
	if n.cpu == "" {
		n.cpu = "4"
	}
	if n.memory == "" {
		n.memory = "16Gi"
	}
	if n.pods == 0 {
		n.pods = 110
	}
	lbls := map[string]string{corev1.LabelHostname: n.name, corev1.LabelOSStable: "linux"}
	for k, v := range n.labels {
		lbls[k] = v
	}
	room := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse(n.cpu),
		corev1.ResourceMemory: resource.MustParse(n.memory),
		corev1.ResourcePods:   *resource.NewQuantity(int64(n.pods), resource.DecimalSI),
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: n.name, Labels: lbls},
		Spec:       corev1.NodeSpec{Taints: n.taints},
		Status: corev1.NodeStatus{
			Capacity:    room,
			Allocatable: room,
			Conditions: []corev1.NodeCondition{{
				Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
				LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now(),
			}},
		},
	}
}

// makePod is a pod asking for cpu (and nothing else).
func makePod(name, cpu string) *corev1.Pod {
	c := corev1.Container{Name: "c", Image: "busybox"}
	if cpu != "" {
		c.Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)}
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{c}},
	}
}

func (e *env) createPod(p *corev1.Pod) *corev1.Pod {
	e.t.Helper()
	out, err := e.client.CoreV1().Pods(e.ns).Create(e.ctx, p, metav1.CreateOptions{})
	if err != nil {
		e.t.Fatalf("creating pod %s: %v", p.Name, err)
	}
	return out
}

// createPods creates n pods from mk in parallel.
func (e *env) createPods(n int, mk func(i int) *corev1.Pod) {
	e.t.Helper()
	parallel(e.t, n, func(i int) error {
		_, err := e.client.CoreV1().Pods(e.ns).Create(e.ctx, mk(i), metav1.CreateOptions{})
		return err
	})
}

func (e *env) getPod(name string) *corev1.Pod {
	e.t.Helper()
	p, err := e.client.CoreV1().Pods(e.ns).Get(e.ctx, name, metav1.GetOptions{})
	if err != nil {
		e.t.Fatalf("getting pod %s: %v", name, err)
	}
	return p
}

func (e *env) pods() []corev1.Pod {
	e.t.Helper()
	l, err := e.client.CoreV1().Pods(e.ns).List(e.ctx, metav1.ListOptions{})
	if err != nil {
		e.t.Fatalf("listing pods: %v", err)
	}
	return l.Items
}

// waitBound waits until the named pods are bound and returns their nodes.
func (e *env) waitBound(timeout time.Duration, names ...string) map[string]string {
	e.t.Helper()
	nodes := map[string]string{}
	tendtest.Eventually(e.t, timeout, func() string {
		for _, name := range names {
			p, err := e.client.CoreV1().Pods(e.ns).Get(e.ctx, name, metav1.GetOptions{})
			if err != nil {
				return fmt.Sprintf("getting pod %s: %v", name, err)
			}
			if p.Spec.NodeName == "" {
				return fmt.Sprintf("pod %s not bound", name)
			}
			nodes[name] = p.Spec.NodeName
		}
		return ""
	})
	return nodes
}

// condition returns the pod's condition of type t, if any.
func condition(p *corev1.Pod, t corev1.PodConditionType) *corev1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == t {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

// events returns the messages of the events of a reason about the pod.
func (e *env) events(pod, reason string) []string {
	e.t.Helper()
	l, err := e.client.CoreV1().Events(e.ns).List(e.ctx, metav1.ListOptions{
		FieldSelector: fields.Set{"involvedObject.name": pod}.String(),
	})
	if err != nil {
		e.t.Fatalf("listing events of %s: %v", pod, err)
	}
	var out []string
	for _, ev := range l.Items {
		if ev.Reason == reason && ev.InvolvedObject.Name == pod {
			out = append(out, ev.Message)
		}
	}
	return out
}

// waitPending waits until the pod has PodScheduled=False and a
// FailedScheduling event, and returns the condition's message.
func (e *env) waitPending(name string) string {
	e.t.Helper()
	var msg string
	tendtest.Eventually(e.t, 20*time.Second, func() string {
		p := e.getPod(name)
		if p.Spec.NodeName != "" {
			return fmt.Sprintf("pod %s bound to %s; want it pending", name, p.Spec.NodeName)
		}
		c := condition(p, corev1.PodScheduled)
		if c == nil || c.Status != corev1.ConditionFalse {
			return fmt.Sprintf("pod %s has condition PodScheduled %+v; want False", name, c)
		}
		if evs := e.events(name, "FailedScheduling"); len(evs) == 0 {
			return fmt.Sprintf("pod %s has no FailedScheduling event", name)
		}
		msg = c.Message
		return ""
	})
	return msg
}
