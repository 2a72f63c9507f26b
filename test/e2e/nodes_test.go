package e2e

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
)

// Failover settings of the tests: nodes renew their Lease every 2 s (fastLease),
// a node is declared lost 6 s after its last renewal, and its pods leave it 4 s
// later.
const (
	testGracePeriod = 6 * time.Second
	testToleration  = 4 * time.Second
)

// fastFailover are the `tend server` flags that make node failover fit in a
// test: a short grace period, short default tolerations, and no eviction rate
// limit to speak of.
var fastFailover = []string{
	"--node-monitor-period=1s",
	fmt.Sprintf("--node-monitor-grace-period=%v", testGracePeriod),
	fmt.Sprintf("--default-not-ready-toleration-seconds=%d", int(testToleration.Seconds())),
	fmt.Sprintf("--default-unreachable-toleration-seconds=%d", int(testToleration.Seconds())),
	"--node-eviction-rate=1000",
	"--secondary-node-eviction-rate=1000",
}

// fastLease are the agent flags that go with fastFailover: a Lease of 8 s,
// renewed every 2 s.
var fastLease = []string{"--node-lease-duration-seconds=8"}

// startAgent starts `tend agent --runtime simulated --count N
// --node-name-prefix PREFIX` against s.
func startAgent(t *testing.T, s *server, count int, prefix string, args ...string) *proc {
	t.Helper()
	return startComponent(t, s, "agent", "kubelet", append([]string{"--runtime", "simulated",
		"--count", fmt.Sprint(count), "--node-name-prefix", prefix}, args...)...)
}

// bindings watches the pods of a namespace and records every node each pod
// (by UID) was ever seen on, and how many pods existed at once.
type bindings struct {
	mu    sync.Mutex
	nodes map[string]map[string]bool // pod UID → node names
	names map[string]string          // pod UID → namespace/name
}

func watchBindings(t *testing.T, cs kubernetes.Interface, ns string) *bindings {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	b := &bindings{nodes: map[string]map[string]bool{}, names: map[string]string{}}
	w, err := cs.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: "0"})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for e := range w.ResultChan() {
			p, ok := e.Object.(*corev1.Pod)
			if !ok || e.Type == watch.Deleted || p.Spec.NodeName == "" {
				continue
			}
			b.mu.Lock()
			uid := string(p.UID)
			if b.nodes[uid] == nil {
				b.nodes[uid] = map[string]bool{}
			}
			b.nodes[uid][p.Spec.NodeName] = true
			b.names[uid] = p.Namespace + "/" + p.Name
			b.mu.Unlock()
		}
	}()
	return b
}

// twice lists the pods seen on more than one node.
func (b *bindings) twice() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for uid, nodes := range b.nodes {
		if len(nodes) > 1 {
			out = append(out, fmt.Sprintf("%s on %v", b.names[uid], nodes))
		}
	}
	return out
}

// podsByNode counts the running, ready pods of a selector on each node, and
// the pods that are neither.
func podsByNode(t *testing.T, cs kubernetes.Interface, ns, selector string) (ready map[string]int, notReady []string) {
	t.Helper()
	l, err := cs.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		t.Fatal(err)
	}
	ready = map[string]int{}
	for _, p := range l.Items {
		if p.DeletionTimestamp != nil {
			continue
		}
		if p.Status.Phase == corev1.PodRunning && isReady(&p) {
			ready[p.Spec.NodeName]++
		} else {
			notReady = append(notReady, fmt.Sprintf("%s (%s, node %q)", p.Name, p.Status.Phase, p.Spec.NodeName))
		}
	}
	return ready, notReady
}

func isReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// waitNodesReady waits until exactly the nodes named with prefix, n of them,
// are Ready.
func waitNodesReady(t *testing.T, cs kubernetes.Interface, prefix string, n int, timeout time.Duration) {
	t.Helper()
	waitFor(t, timeout, fmt.Sprintf("%d Ready nodes %s*", n, prefix), func() (bool, string) {
		l, err := cs.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		ready := 0
		for _, nd := range l.Items {
			if strings.HasPrefix(nd.Name, prefix) && nodeReady(&nd) == corev1.ConditionTrue {
				ready++
			}
		}
		return ready == n, fmt.Sprintf("%d of %d nodes, %d Ready", len(l.Items), n, ready)
	})
}

func nodeReady(n *corev1.Node) corev1.ConditionStatus {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status
		}
	}
	return corev1.ConditionUnknown
}

// waitFor is eventually with its own timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, check func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, saw := check()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not so after %v; last saw:\n%s", what, timeout, saw)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// schedulingMessage waits for the pod's PodScheduled=False condition and
// returns its message.
func schedulingMessage(t *testing.T, cs kubernetes.Interface, ns, name string) string {
	t.Helper()
	var msg string
	waitFor(t, 30*time.Second, "pod "+name+" unschedulable", func() (bool, string) {
		p, err := cs.CoreV1().Pods(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
				msg = c.Message
				return p.Spec.NodeName == "", fmt.Sprintf("%+v node %q", c, p.Spec.NodeName)
			}
		}
		return false, fmt.Sprintf("%+v", p.Status)
	})
	return msg
}

// runningOn waits for the pod to be Running and returns its node.
func runningOn(t *testing.T, cs kubernetes.Interface, ns, name string) string {
	t.Helper()
	var node string
	waitFor(t, 30*time.Second, "pod "+name+" running", func() (bool, string) {
		p, err := cs.CoreV1().Pods(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		node = p.Spec.NodeName
		return p.Status.Phase == corev1.PodRunning, fmt.Sprintf("%s on %q: %+v", p.Status.Phase, node, p.Status.Conditions)
	})
	return node
}

const webDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: %d
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: registry.local/web:1
        resources:
          requests: {cpu: 10m, memory: 16Mi}
`

// TestHollowNodes is the cluster of issue 4: tend server without a node of
// its own, and two agents of 50 hollow nodes each. A Deployment of 1,000
// replicas runs spread evenly; the scheduler respects requests, node
// selectors, taints and anti-affinity; and when one agent dies, its nodes go
// NotReady and its pods come back on the others, none bound twice.
func TestHollowNodes(t *testing.T) {
	t.Parallel()
	s := startTend(t, "server", append([]string{"--disable-agent"}, fastFailover...)...)
	k := s.kubectl(t)
	cs := clientOf(t, s)
	b := watchBindings(t, cs, "default")
	startAgent(t, s, 50, "a-", fastLease...)
	agentB := startAgent(t, s, 50, "b-", fastLease...)
	waitNodesReady(t, cs, "a-", 50, 60*time.Second)
	waitNodesReady(t, cs, "b-", 50, 60*time.Second)

	start := time.Now()
	k.withStdin(fmt.Sprintf(webDeployment, 1000)).ok(t, "apply", "-f", "-")
	k.ok(t, "rollout", "status", "deployment/web", "--timeout=180s")
	t.Logf("1,000 replicas Running and Ready on 100 nodes in %v", time.Since(start).Round(time.Millisecond))
	ready, notReady := podsByNode(t, cs, "default", "app=web")
	total, most := 0, 0
	for _, n := range ready {
		total += n
		most = max(most, n)
	}
	// Fair share is 10 a node; the default spreading keeps the skew within 3.
	if total != 1000 || most > 13 || len(notReady) > 0 {
		t.Errorf("%d pods Running and Ready, at most %d on a node (want 1000, at most 13); not ready: %v", total, most, notReady)
	}

	t.Run("placement", func(t *testing.T) {
		// Requests larger than any node: Pending, with upstream's reason.
		k.withStdin(`apiVersion: v1
kind: Pod
metadata: {name: huge}
spec:
  containers:
  - {name: c, image: registry.local/huge:1, resources: {requests: {cpu: "64"}}}
`).ok(t, "apply", "-f", "-")
		if msg := schedulingMessage(t, cs, "default", "huge"); !strings.HasPrefix(msg, "0/100 nodes are available: 100 Insufficient cpu.") {
			t.Errorf("huge pod: PodScheduled message %q; want it to begin %q", msg, "0/100 nodes are available: 100 Insufficient cpu.")
		}
		waitFor(t, 30*time.Second, "a FailedScheduling event for huge", func() (bool, string) {
			events := k.ok(t, "get", "events", "--field-selector", "involvedObject.name=huge,reason=FailedScheduling", "-o", "jsonpath={.items[*].message}")
			return strings.Contains(events, "100 Insufficient cpu"), events
		})

		// A nodeSelector.
		k.ok(t, "label", "node", "a-3", "disk=ssd")
		k.withStdin(`apiVersion: v1
kind: Pod
metadata: {name: ssd}
spec:
  nodeSelector: {disk: ssd}
  containers: [{name: c, image: registry.local/ssd:1}]
`).ok(t, "apply", "-f", "-")
		if node := runningOn(t, cs, "default", "ssd"); node != "a-3" {
			t.Errorf("pod with nodeSelector disk=ssd on %q; want a-3", node)
		}

		// A taint without toleration keeps a pod off; with one, it lands.
		k.ok(t, "taint", "node", "a-4", "dedicated=gpu:NoSchedule")
		k.withStdin(`apiVersion: v1
kind: Pod
metadata: {name: intolerant}
spec:
  nodeSelector: {kubernetes.io/hostname: a-4}
  containers: [{name: c, image: registry.local/gpu:1}]
---
apiVersion: v1
kind: Pod
metadata: {name: tolerant}
spec:
  nodeSelector: {kubernetes.io/hostname: a-4}
  tolerations: [{key: dedicated, operator: Equal, value: gpu, effect: NoSchedule}]
  containers: [{name: c, image: registry.local/gpu:1}]
`).ok(t, "apply", "-f", "-")
		if msg := schedulingMessage(t, cs, "default", "intolerant"); !strings.Contains(msg, "1 node(s) had untolerated taint {dedicated: gpu}") {
			t.Errorf("intolerant pod: message %q; want the untolerated taint {dedicated: gpu}", msg)
		}
		if node := runningOn(t, cs, "default", "tolerant"); node != "a-4" {
			t.Errorf("tolerant pod on %q; want a-4", node)
		}

		// Required anti-affinity: three replicas, two eligible nodes.
		k.ok(t, "label", "node", "a-5", "a-6", "pair=yes")
		k.withStdin(`apiVersion: apps/v1
kind: Deployment
metadata: {name: solo}
spec:
  replicas: 3
  selector: {matchLabels: {app: solo}}
  template:
    metadata: {labels: {app: solo}}
    spec:
      nodeSelector: {pair: "yes"}
      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
          - labelSelector: {matchLabels: {app: solo}}
            topologyKey: kubernetes.io/hostname
      containers: [{name: c, image: registry.local/solo:1}]
`).ok(t, "apply", "-f", "-")
		waitFor(t, 30*time.Second, "two solo pods on a-5 and a-6, one unschedulable", func() (bool, string) {
			ready, pending := podsByNode(t, cs, "default", "app=solo")
			return len(ready) == 2 && ready["a-5"] == 1 && ready["a-6"] == 1 && len(pending) == 1,
				fmt.Sprintf("ready %v, pending %v", ready, pending)
		})
		l, err := cs.CoreV1().Pods("default").List(context.Background(), metav1.ListOptions{LabelSelector: "app=solo", FieldSelector: "spec.nodeName="})
		if err != nil || len(l.Items) != 1 {
			t.Fatalf("unscheduled solo pods: %v, %v", l, err)
		}
		if msg := schedulingMessage(t, cs, "default", l.Items[0].Name); !strings.Contains(msg, "didn't match pod anti-affinity rules") {
			t.Errorf("third solo pod: message %q; want the anti-affinity rules", msg)
		}
	})

	t.Run("failover", func(t *testing.T) {
		killed := time.Now()
		agentB.stop(syscall.SIGKILL)
		waitFor(t, testGracePeriod+30*time.Second, "the b- nodes NotReady", func() (bool, string) {
			l, err := cs.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
			if err != nil {
				return false, err.Error()
			}
			var states []string
			lost := 0
			for _, n := range l.Items {
				if strings.HasPrefix(n.Name, "b-") && nodeReady(&n) == corev1.ConditionUnknown {
					lost++
				} else if strings.HasPrefix(n.Name, "b-") {
					states = append(states, n.Name+":"+string(nodeReady(&n)))
				}
			}
			return lost == 50, fmt.Sprint(states)
		})
		t.Logf("50 nodes NotReady %v after their agent died", time.Since(killed).Round(time.Millisecond))
		waitFor(t, testToleration+60*time.Second, "every web pod on the b- nodes evicted", func() (bool, string) {
			l, err := cs.CoreV1().Pods("default").List(context.Background(), metav1.ListOptions{LabelSelector: "app=web"})
			if err != nil {
				return false, err.Error()
			}
			left := 0
			for _, p := range l.Items {
				if strings.HasPrefix(p.Spec.NodeName, "b-") && p.DeletionTimestamp == nil {
					left++
				}
			}
			return left == 0, fmt.Sprintf("%d pods not evicted", left)
		})
		t.Logf("their pods evicted %v after the agent died", time.Since(killed).Round(time.Millisecond))
		waitFor(t, testGracePeriod+testToleration+90*time.Second, "1,000 web pods ready on the a- nodes", func() (bool, string) {
			ready, notReady := podsByNode(t, cs, "default", "app=web")
			onA, onB := 0, 0
			for n, c := range ready {
				if strings.HasPrefix(n, "a-") {
					onA += c
				} else {
					onB += c
				}
			}
			return onA == 1000, fmt.Sprintf("%d ready on a-, %d on b-, %d not ready", onA, onB, len(notReady))
		})
		t.Logf("1,000 pods Ready on the remaining nodes %v after the agent died (grace %v + toleration %v)",
			time.Since(killed).Round(time.Millisecond), testGracePeriod, testToleration)
		out := k.ok(t, "get", "deployment", "web", "-o", "jsonpath={.status.availableReplicas}")
		waitFor(t, 30*time.Second, "the Deployment's available count back to 1000", func() (bool, string) {
			out = k.ok(t, "get", "deployment", "web", "-o", "jsonpath={.status.availableReplicas}")
			return out == "1000", out
		})
	})
	if twice := b.twice(); len(twice) > 0 {
		sort.Strings(twice)
		t.Errorf("pods bound to two nodes: %v", twice)
	}
}

// TestComponentRestarts runs every component as its own process and restarts
// the scheduler in the middle of placing 300 pods, then the agent under them:
// every pod ends Running on one node, none is lost, none is bound twice, and
// the agent's restart keeps the pods it ran.
func TestComponentRestarts(t *testing.T) {
	t.Parallel()
	s := startTend(t, "apiserver")
	k := s.kubectl(t)
	cs := clientOf(t, s)
	b := watchBindings(t, cs, "default")
	shortLease := []string{"--leader-elect-lease-duration=3s", "--leader-elect-renew-deadline=2s", "--leader-elect-retry-period=250ms"}
	startComponent(t, s, "controller-manager", "controller-manager", shortLease...)
	agent := startAgent(t, s, 10, "n-")
	waitNodesReady(t, cs, "n-", 10, 60*time.Second)
	// A slow first scheduler (20 requests a second), so that it dies with
	// work half done.
	sched := startComponent(t, s, "scheduler", "scheduler", append(shortLease, "--kube-api-qps=20", "--kube-api-burst=20")...)

	k.withStdin(fmt.Sprintf(webDeployment, 300)).ok(t, "apply", "-f", "-")
	bound := func() int {
		l, err := cs.CoreV1().Pods("default").List(context.Background(), metav1.ListOptions{FieldSelector: "spec.nodeName!="})
		if err != nil {
			t.Fatal(err)
		}
		return len(l.Items)
	}
	waitFor(t, 60*time.Second, "some pods bound", func() (bool, string) {
		n := bound()
		return n >= 30, fmt.Sprintf("%d bound", n)
	})
	sched.stop(syscall.SIGKILL)
	if n := bound(); n >= 300 {
		t.Fatalf("the first scheduler bound all %d pods before it was killed: the test proves nothing", n)
	} else {
		t.Logf("scheduler killed with %d of 300 pods bound", n)
	}
	startComponent(t, s, "scheduler", "scheduler", shortLease...)
	k.ok(t, "rollout", "status", "deployment/web", "--timeout=120s")
	before := podUIDs(t, cs, "app=web")
	if len(before) != 300 {
		t.Fatalf("after the scheduler's restart: %d pods; want 300", len(before))
	}

	// The agent dies and comes back: its nodes and their pods stay.
	agent.stop(syscall.SIGKILL)
	time.Sleep(time.Second)
	startAgent(t, s, 10, "n-")
	waitNodesReady(t, cs, "n-", 10, 60*time.Second)
	waitFor(t, 60*time.Second, "300 pods Running and Ready again", func() (bool, string) {
		ready, notReady := podsByNode(t, cs, "default", "app=web")
		total := 0
		for _, n := range ready {
			total += n
		}
		return total == 300, fmt.Sprintf("%d ready; not: %v", total, notReady)
	})
	after := podUIDs(t, cs, "app=web")
	for uid, name := range before {
		if after[uid] == "" {
			t.Errorf("pod %s (%s) is gone after the agent's restart", name, uid)
		}
	}
	if twice := b.twice(); len(twice) > 0 {
		sort.Strings(twice)
		t.Errorf("pods bound to two nodes: %v", twice)
	}
}

// podUIDs maps the UIDs of the pods of a selector in default to their names.
func podUIDs(t *testing.T, cs kubernetes.Interface, selector string) map[string]string {
	t.Helper()
	l, err := cs.CoreV1().Pods("default").List(context.Background(), metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, p := range l.Items {
		out[string(p.UID)] = p.Name
	}
	return out
}

// TestCordonDrain drives node maintenance with kubectl: cordon keeps new pods
// off a node, drain evicts its pods through the eviction API without breaking
// their PodDisruptionBudget, and uncordon lets pods back.
func TestCordonDrain(t *testing.T) {
	t.Parallel()
	s := startTend(t, "server", "--disable-agent")
	k := s.kubectl(t)
	cs := clientOf(t, s)
	startAgent(t, s, 3, "m-")
	waitNodesReady(t, cs, "m-", 3, 60*time.Second)
	k.withStdin(fmt.Sprintf(webDeployment, 6)+`---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web}
spec:
  maxUnavailable: 1
  selector: {matchLabels: {app: web}}
`).ok(t, "apply", "-f", "-")
	k.ok(t, "rollout", "status", "deployment/web", "--timeout=60s")
	waitFor(t, 30*time.Second, "the budget allows one disruption", func() (bool, string) {
		out := k.ok(t, "get", "pdb", "web", "-o", "jsonpath={.status.disruptionsAllowed}/{.status.currentHealthy}/{.status.desiredHealthy}")
		return out == "1/6/5", out
	})

	out := k.ok(t, "cordon", "m-0")
	if !strings.Contains(out, "node/m-0 cordoned") {
		t.Errorf("kubectl cordon: %q", out)
	}
	if u := k.ok(t, "get", "node", "m-0", "-o", "jsonpath={.spec.unschedulable}"); u != "true" {
		t.Errorf("cordoned node: spec.unschedulable = %q", u)
	}
	// drain evicts one pod at a time as the budget allows, retrying on 429.
	out = k.ok(t, "drain", "m-0", "--ignore-daemonsets", "--timeout=120s")
	if !strings.Contains(out, "node/m-0 drained") {
		t.Errorf("kubectl drain: %q", out)
	}
	k.ok(t, "rollout", "status", "deployment/web", "--timeout=60s")
	ready, notReady := podsByNode(t, cs, "default", "app=web")
	if ready["m-0"] != 0 || ready["m-1"]+ready["m-2"] != 6 || len(notReady) > 0 {
		t.Errorf("after drain: ready pods by node %v, not ready %v; want 6 on m-1 and m-2", ready, notReady)
	}

	// A budget that allows nothing stops a drain.
	k.ok(t, "uncordon", "m-0")
	k.ok(t, "patch", "pdb", "web", "--type=merge", "-p", `{"spec":{"maxUnavailable":0}}`)
	waitFor(t, 30*time.Second, "the budget allows nothing", func() (bool, string) {
		out := k.ok(t, "get", "pdb", "web", "-o", "jsonpath={.status.disruptionsAllowed}")
		return out == "0", out
	})
	r := k.run(t, "drain", "m-1", "--ignore-daemonsets", "--timeout=6s")
	if r.code == 0 || !strings.Contains(r.stderr+r.stdout, "disruption budget") {
		t.Errorf("drain against a budget of 0: want a failure naming the disruption budget; got %v", r)
	}
	ready, _ = podsByNode(t, cs, "default", "app=web")
	if ready["m-1"] == 0 {
		t.Errorf("the blocked drain evicted every pod of m-1: %v", ready)
	}
}
