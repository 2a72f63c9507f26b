package kubelet_test

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/tendhq/tend/kubelet"
	"github.com/tendhq/tend/kubelet/simulated"
	"github.com/tendhq/tend/tendtest"
)

const waitFor = 20 * time.Second

// node is a kubelet under test.
type node struct {
	t      *testing.T
	name   string
	client kubernetes.Interface
	k      *kubelet.Kubelet
	rt     *simulated.Runtime
	cancel context.CancelFunc
	done   chan error
}

// fastConfig is a kubelet configuration with short periods, so that tests
// see in moments what takes seconds at the defaults.
func fastConfig(name string, client kubernetes.Interface, rt kubelet.Runtime) kubelet.Config {
	return kubelet.Config{
		NodeName: name, Client: client, Runtime: rt, Version: "v1.37.0-tend-test",
		NodeStatusUpdateFrequency: 100 * time.Millisecond,
		RenewInterval:             100 * time.Millisecond,
		RelistPeriod:              20 * time.Millisecond,
		SyncFrequency:             2 * time.Second,
		ContainerBackOff:          300 * time.Millisecond,
		MaxContainerBackOff:       1200 * time.Millisecond,
	}
}

func newRuntime() *simulated.Runtime {
	return simulated.New(simulated.Config{StartDelay: 5 * time.Millisecond})
}

// startNode runs a kubelet until the test ends (or stop).
func startNode(t *testing.T, cfg kubelet.Config) *node {
	t.Helper()
	if cfg.Logf == nil {
		cfg.Logf = t.Logf
	}
	k, err := kubelet.New(cfg)
	if err != nil {
		t.Fatalf("kubelet.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := &node{t: t, name: cfg.NodeName, client: cfg.Client, k: k, cancel: cancel, done: make(chan error, 1)}
	if rt, ok := cfg.Runtime.(*simulated.Runtime); ok {
		n.rt = rt
	}
	go func() { n.done <- k.Run(ctx) }()
	t.Cleanup(n.stop)
	return n
}

func (n *node) stop() {
	if n.cancel == nil {
		return
	}
	n.cancel()
	n.cancel = nil
	select {
	case err := <-n.done:
		if err != nil {
			n.t.Errorf("Run = %v; want nil", err)
		}
	case <-time.After(waitFor):
		n.t.Errorf("the kubelet of %s did not stop", n.name)
	}
}

// setPodCIDR does the node IPAM controller's job.
func setPodCIDR(t *testing.T, client kubernetes.Interface, name, cidr string) {
	t.Helper()
	patch := fmt.Sprintf(`{"spec":{"podCIDR":%q,"podCIDRs":[%q]}}`, cidr, cidr)
	tendtest.Eventually(t, waitFor, func() string {
		_, err := client.CoreV1().Nodes().Patch(context.Background(), name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{})
		if err != nil {
			return fmt.Sprintf("patching the pod CIDR of %s: %v", name, err)
		}
		return ""
	})
}

func getNode(client kubernetes.Interface, name string) (*corev1.Node, error) {
	return client.CoreV1().Nodes().Get(context.Background(), name, metav1.GetOptions{})
}

func nodeReady(n *corev1.Node) *corev1.NodeCondition {
	for i := range n.Status.Conditions {
		if n.Status.Conditions[i].Type == corev1.NodeReady {
			return &n.Status.Conditions[i]
		}
	}
	return nil
}

type podOpt func(*corev1.Pod)

func annotate(kv ...string) podOpt {
	return func(p *corev1.Pod) {
		if p.Annotations == nil {
			p.Annotations = map[string]string{}
		}
		for i := 0; i+1 < len(kv); i += 2 {
			p.Annotations[kv[i]] = kv[i+1]
		}
	}
}

func restartPolicy(rp corev1.RestartPolicy) podOpt {
	return func(p *corev1.Pod) { p.Spec.RestartPolicy = rp }
}

func newPod(name, nodeName string, opts ...podOpt) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec:       corev1.PodSpec{NodeName: nodeName, Containers: []corev1.Container{{Name: "app", Image: "nginx:1.27"}}},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func createPod(t *testing.T, client kubernetes.Interface, p *corev1.Pod) *corev1.Pod {
	t.Helper()
	out, err := client.CoreV1().Pods(p.Namespace).Create(context.Background(), p, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating pod %s: %v", p.Name, err)
	}
	return out
}

func getPod(client kubernetes.Interface, name string) (*corev1.Pod, error) {
	return client.CoreV1().Pods("default").Get(context.Background(), name, metav1.GetOptions{})
}

func podCondition(p *corev1.Pod, t corev1.PodConditionType) *corev1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == t {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

func isReady(p *corev1.Pod) bool {
	c := podCondition(p, corev1.PodReady)
	return c != nil && c.Status == corev1.ConditionTrue
}

// waitPod waits until cond (which says what is missing, or "") holds for the pod.
func waitPod(t *testing.T, client kubernetes.Interface, name string, cond func(p *corev1.Pod) string) *corev1.Pod {
	t.Helper()
	var last *corev1.Pod
	tendtest.Eventually(t, waitFor, func() string {
		p, err := getPod(client, name)
		if err != nil {
			return fmt.Sprintf("getting pod %s: %v", name, err)
		}
		last = p
		if msg := cond(p); msg != "" {
			return fmt.Sprintf("pod %s: %s (status %s)", name, msg, statusString(p))
		}
		return ""
	})
	return last
}

func statusString(p *corev1.Pod) string {
	var b strings.Builder
	fmt.Fprintf(&b, "phase=%s reason=%s", p.Status.Phase, p.Status.Reason)
	for _, c := range p.Status.ContainerStatuses {
		fmt.Fprintf(&b, " %s{restarts=%d ready=%t", c.Name, c.RestartCount, c.Ready)
		switch s := c.State; {
		case s.Waiting != nil:
			fmt.Fprintf(&b, " waiting=%s %q", s.Waiting.Reason, s.Waiting.Message)
		case s.Running != nil:
			fmt.Fprintf(&b, " running")
		case s.Terminated != nil:
			fmt.Fprintf(&b, " terminated=%d %s", s.Terminated.ExitCode, s.Terminated.Reason)
		}
		b.WriteString("}")
	}
	return b.String()
}

func running(p *corev1.Pod) string {
	if p.Status.Phase != corev1.PodRunning {
		return "not Running"
	}
	return ""
}

func runningAndReady(p *corev1.Pod) string {
	if p.Status.Phase != corev1.PodRunning || !isReady(p) {
		return "not Running and Ready"
	}
	return ""
}

func TestNodeRegistersWithLabelsCapacityAndInfo(t *testing.T) {
	c := tendtest.Start(t, tendtest.Options{})
	client := c.Client()
	cfg := fastConfig("hollow-0", client, newRuntime())
	cfg.Labels = map[string]string{"tier": "hollow"}
	cfg.Taints = []corev1.Taint{{Key: "dedicated", Value: "scale", Effect: corev1.TaintEffectNoSchedule}}
	cfg.Reserved = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")}
	startNode(t, cfg)

	var n *corev1.Node
	tendtest.Eventually(t, waitFor, func() string {
		var err error
		if n, err = getNode(client, "hollow-0"); err != nil {
			return fmt.Sprintf("getting the node: %v", err)
		}
		return ""
	})
	for key, want := range map[string]string{
		"kubernetes.io/hostname": "hollow-0", "kubernetes.io/os": "linux", "beta.kubernetes.io/os": "linux",
		"tier": "hollow",
	} {
		if got := n.Labels[key]; got != want {
			t.Errorf("label %s = %q; want %q", key, got, want)
		}
	}
	if n.Labels["kubernetes.io/arch"] == "" || n.Labels["kubernetes.io/arch"] != n.Labels["beta.kubernetes.io/arch"] {
		t.Errorf("arch labels = %q, %q; want the same, non-empty", n.Labels["kubernetes.io/arch"], n.Labels["beta.kubernetes.io/arch"])
	}
	if len(n.Spec.Taints) != 1 || n.Spec.Taints[0].Key != "dedicated" {
		t.Errorf("taints = %v; want only the registered dedicated=scale:NoSchedule", n.Spec.Taints)
	}
	for name, want := range map[corev1.ResourceName]string{"cpu": "4", "memory": "16Gi", "pods": "110", "ephemeral-storage": "100Gi"} {
		if q := n.Status.Capacity[name]; q.String() != want {
			t.Errorf("capacity[%s] = %s; want %s", name, q.String(), want)
		}
	}
	if q := n.Status.Allocatable[corev1.ResourceCPU]; q.String() != "3500m" {
		t.Errorf("allocatable cpu = %s; want 3500m", q.String())
	}
	info := n.Status.NodeInfo
	if info.KubeletVersion != "v1.37.0-tend-test" || info.ContainerRuntimeVersion != "simulated://0.1" || info.OperatingSystem != "linux" || info.Architecture == "" {
		t.Errorf("nodeInfo = %+v; want kubelet v1.37.0-tend-test, runtime simulated://0.1, linux", info)
	}
	wantAddrs := []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}, {Type: corev1.NodeHostName, Address: "hollow-0"}}
	if fmt.Sprint(n.Status.Addresses) != fmt.Sprint(wantAddrs) {
		t.Errorf("addresses = %v; want %v", n.Status.Addresses, wantAddrs)
	}
	var types []corev1.NodeConditionType
	for _, c := range n.Status.Conditions {
		types = append(types, c.Type)
	}
	if fmt.Sprint(types) != "[MemoryPressure DiskPressure PIDPressure Ready]" {
		t.Errorf("condition types = %v; want [MemoryPressure DiskPressure PIDPressure Ready]", types)
	}
}

func TestLeaseIsRenewed(t *testing.T) {
	c := tendtest.Start(t, tendtest.Options{})
	client := c.Client()
	startNode(t, fastConfig("hollow-0", client, newRuntime()))

	var first time.Time
	tendtest.Eventually(t, waitFor, func() string {
		l, err := client.CoordinationV1().Leases("kube-node-lease").Get(context.Background(), "hollow-0", metav1.GetOptions{})
		if err != nil {
			return fmt.Sprintf("getting the lease: %v", err)
		}
		if l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity != "hollow-0" || l.Spec.LeaseDurationSeconds == nil || *l.Spec.LeaseDurationSeconds != 40 {
			return fmt.Sprintf("lease spec = %+v; want holder hollow-0, duration 40", l.Spec)
		}
		if len(l.OwnerReferences) != 1 || l.OwnerReferences[0].Kind != "Node" || l.OwnerReferences[0].Name != "hollow-0" || l.OwnerReferences[0].UID == "" {
			return fmt.Sprintf("lease owners = %v; want the Node hollow-0", l.OwnerReferences)
		}
		if first.IsZero() {
			first = l.Spec.RenewTime.Time
			return "waiting for a renewal"
		}
		if !l.Spec.RenewTime.After(first) {
			return fmt.Sprintf("renewTime = %v; want after %v", l.Spec.RenewTime.Time, first)
		}
		return ""
	})
}

func TestNodeNotReadyUntilPodCIDR(t *testing.T) {
	c := tendtest.Start(t, tendtest.Options{})
	client := c.Client()
	startNode(t, fastConfig("hollow-0", client, newRuntime()))

	tendtest.Eventually(t, waitFor, func() string {
		n, err := getNode(client, "hollow-0")
		if err != nil {
			return err.Error()
		}
		r := nodeReady(n)
		if r == nil || r.Status != corev1.ConditionFalse || r.Reason != "KubeletNotReady" ||
			!strings.HasPrefix(r.Message, "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:") {
			return fmt.Sprintf("Ready = %+v; want False, KubeletNotReady, network not ready", r)
		}
		return ""
	})
	// A pod bound meanwhile waits for the network.
	createPod(t, client, newPod("web", "hollow-0"))
	waitPod(t, client, "web", func(p *corev1.Pod) string {
		if p.Status.Phase != corev1.PodPending || len(p.Status.ContainerStatuses) != 1 ||
			p.Status.ContainerStatuses[0].State.Waiting == nil || p.Status.ContainerStatuses[0].State.Waiting.Reason != "ContainerCreating" {
			return "not Pending with ContainerCreating"
		}
		return ""
	})

	setPodCIDR(t, client, "hollow-0", "10.42.7.0/24")
	tendtest.Eventually(t, waitFor, func() string {
		n, err := getNode(client, "hollow-0")
		if err != nil {
			return err.Error()
		}
		if r := nodeReady(n); r == nil || r.Status != corev1.ConditionTrue || r.Reason != "KubeletReady" || r.Message != "kubelet is posting ready status" {
			return fmt.Sprintf("Ready = %+v; want True, KubeletReady", r)
		}
		return ""
	})
	p := waitPod(t, client, "web", runningAndReady)
	if ip, err := netip.ParseAddr(p.Status.PodIP); err != nil || !netip.MustParsePrefix("10.42.7.0/24").Contains(ip) {
		t.Errorf("podIP = %q; want an address in 10.42.7.0/24", p.Status.PodIP)
	}
}

// readyNode starts a kubelet on a fresh cluster with a pod CIDR.
func readyNode(t *testing.T, tune ...func(*kubelet.Config)) (kubernetes.Interface, *node) {
	t.Helper()
	c := tendtest.Start(t, tendtest.Options{})
	client := c.Client()
	cfg := fastConfig("hollow-0", client, newRuntime())
	for _, f := range tune {
		f(&cfg)
	}
	n := startNode(t, cfg)
	setPodCIDR(t, client, "hollow-0", "10.42.0.0/24")
	return client, n
}

func TestManyNodesShareOneClient(t *testing.T) {
	c := tendtest.Start(t, tendtest.Options{})
	client := c.Client()
	metrics, err := kubelet.NewMetrics(nil)
	if err != nil {
		t.Fatal(err)
	}
	const nodes = 5
	var wg sync.WaitGroup
	for i := 0; i < nodes; i++ {
		cfg := fastConfig(fmt.Sprintf("hollow-%d", i), client, newRuntime())
		cfg.Metrics = metrics
		startNode(t, cfg)
		wg.Add(1)
		go func() {
			defer wg.Done()
			setPodCIDR(t, client, cfg.NodeName, fmt.Sprintf("10.42.%d.0/24", i))
		}()
	}
	wg.Wait()
	for i := 0; i < nodes; i++ {
		createPod(t, client, newPod(fmt.Sprintf("p%d", i), fmt.Sprintf("hollow-%d", i)))
	}
	for i := 0; i < nodes; i++ {
		p := waitPod(t, client, fmt.Sprintf("p%d", i), runningAndReady)
		if want := fmt.Sprintf("10.42.%d.", i); !strings.HasPrefix(p.Status.PodIP, want) {
			t.Errorf("pod p%d has IP %s; want one in %s0/24", i, p.Status.PodIP, want)
		}
	}
}

func intOrString(port int) intstr.IntOrString { return intstr.FromInt32(int32(port)) }

// recorder keeps the reasons of the events recorded, by object name.
type recorder struct {
	mu     sync.Mutex
	events map[string][]string
}

func (r *recorder) Eventf(obj runtime.Object, eventType, reason, format string, args ...any) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.events == nil {
		r.events = map[string][]string{}
	}
	r.events[m.GetName()] = append(r.events[m.GetName()], eventType+" "+reason+": "+fmt.Sprintf(format, args...))
}

func (r *recorder) has(name, prefix string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.events[name] {
		if strings.HasPrefix(e, prefix) {
			return true
		}
	}
	return false
}

func TestEvents(t *testing.T) {
	rec := &recorder{}
	client, _ := readyNode(t, func(c *kubelet.Config) { c.Recorder = rec })
	createPod(t, client, newPod("web", "hollow-0"))
	createPod(t, client, newPod("crasher", "hollow-0", annotate(simulated.ExitAfter, "10ms", simulated.ExitCode, "1")))
	waitPod(t, client, "web", runningAndReady)
	for _, want := range [][2]string{
		{"hollow-0", "Normal Starting: Starting kubelet."},
		{"hollow-0", "Normal NodeHasSufficientMemory: Node hollow-0 status is now: NodeHasSufficientMemory"},
		{"hollow-0", "Normal NodeReady: Node hollow-0 status is now: NodeReady"},
		{"web", "Normal Created: Created container: app"},
		{"web", "Normal Started: Started container app"},
		{"crasher", "Warning BackOff: Back-off restarting failed container app in pod crasher_default("},
	} {
		tendtest.Eventually(t, waitFor, func() string {
			if !rec.has(want[0], want[1]) {
				return fmt.Sprintf("no event %q about %s", want[1], want[0])
			}
			return ""
		})
	}
}

// metric reads one sample of a gathered metric: its value, or a histogram's
// count; labels select the series.
func metric(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, l := range m.GetLabel() {
					if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
						found = true
					}
				}
				if !found {
					continue series
				}
			}
			switch {
			case m.Gauge != nil:
				return m.GetGauge().GetValue()
			case m.Counter != nil:
				return m.GetCounter().GetValue()
			case m.Histogram != nil:
				return float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return 0
}

func TestMetricsAndNoNeedlessWrites(t *testing.T) {
	reg := prometheus.NewRegistry()
	metrics, err := kubelet.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	client, _ := readyNode(t, func(c *kubelet.Config) {
		c.Metrics = metrics
		c.SyncFrequency = 100 * time.Millisecond
	})
	for _, name := range []string{"a", "b"} {
		p := newPod(name, "hollow-0")
		p.Spec.Containers[0].ReadinessProbe = &corev1.Probe{PeriodSeconds: 1,
			ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intOrString(80)}}}
		createPod(t, client, p)
	}
	waitPod(t, client, "a", runningAndReady)
	waitPod(t, client, "b", runningAndReady)
	tendtest.Eventually(t, waitFor, func() string {
		if got := metric(t, reg, "kubelet_running_pods"); got != 2 {
			return fmt.Sprintf("kubelet_running_pods = %v; want 2", got)
		}
		if got := metric(t, reg, "kubelet_running_containers", "container_state", "running"); got != 2 {
			return fmt.Sprintf("kubelet_running_containers{running} = %v; want 2", got)
		}
		return ""
	})
	for _, m := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"kubelet_node_name", []string{"node", "hollow-0"}, 1},
		{"kubelet_started_pods_total", nil, 2},
		{"kubelet_started_containers_total", []string{"container_type", "container"}, 2},
		{"kubelet_pod_start_duration_seconds", nil, 2},
	} {
		if got := metric(t, reg, m.name, m.labels...); got != m.want {
			t.Errorf("%s%v = %v; want %v", m.name, m.labels, got, m.want)
		}
	}
	if got := metric(t, reg, "kubelet_runtime_operations_total", "operation_type", "start_container"); got != 2 {
		t.Errorf("kubelet_runtime_operations_total{start_container} = %v; want 2", got)
	}
	// Once the pods run and are ready, syncs (every 100ms here) and probes
	// write nothing more.
	writes := metric(t, reg, "kubelet_pod_status_sync_duration_seconds")
	if writes < 2 {
		t.Fatalf("status writes = %v; want at least one per pod", writes)
	}
	time.Sleep(time.Second)
	if got := metric(t, reg, "kubelet_pod_status_sync_duration_seconds"); got != writes {
		t.Errorf("status writes went from %v to %v with nothing changing; want none", writes, got)
	}
}
