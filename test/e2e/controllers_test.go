package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/tendhq/tend/tendtest"
)

// clientOf is a client-go clientset for a tend process.
func clientOf(t *testing.T, s *server) kubernetes.Interface {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", s.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cfg.QPS, cfg.Burst = 200, 400
	return kubernetes.NewForConfigOrDie(cfg)
}

// podCounter watches the pods of a namespace and remembers, over every event,
// the most pods that existed and the fewest ready ones once a rollout began:
// what the surge and unavailability bounds are about. Pods being deleted
// (deletionTimestamp set) count as gone, as upstream's controllers count them.
type podCounter struct {
	mu       sync.Mutex
	pods     map[string]*corev1.Pod
	maxPods  int
	minReady int
	tracking bool
}

func watchPods(t *testing.T, cs kubernetes.Interface, ns, selector string) *podCounter {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	l, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		t.Fatal(err)
	}
	pc := &podCounter{pods: map[string]*corev1.Pod{}, minReady: 1 << 30}
	for i := range l.Items {
		pc.pods[l.Items[i].Name] = &l.Items[i]
	}
	w, err := cs.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{LabelSelector: selector, ResourceVersion: l.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for e := range w.ResultChan() {
			p, ok := e.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			pc.mu.Lock()
			if e.Type == watch.Deleted || p.DeletionTimestamp != nil {
				delete(pc.pods, p.Name)
			} else {
				pc.pods[p.Name] = p
			}
			if pc.tracking {
				total, ready := pc.countLocked()
				pc.maxPods = max(pc.maxPods, total)
				pc.minReady = min(pc.minReady, ready)
			}
			pc.mu.Unlock()
		}
	}()
	return pc
}

func (pc *podCounter) countLocked() (total, ready int) {
	for _, p := range pc.pods {
		total++
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				ready++
			}
		}
	}
	return total, ready
}

// track starts recording the extremes from now on.
func (pc *podCounter) track() {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	pc.tracking = true
	pc.maxPods, pc.minReady = pc.countLocked()
}

func (pc *podCounter) extremes() (maxPods, minReady int) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	return pc.maxPods, pc.minReady
}

func replicaSets(t *testing.T, cs kubernetes.Interface, ns, selector string) []appsv1.ReplicaSet {
	t.Helper()
	l, err := cs.AppsV1().ReplicaSets(ns).List(context.Background(), metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		t.Fatal(err)
	}
	return l.Items
}

// TestDeploymentLifecycle drives a Deployment with kubectl through creation, a
// rolling update (checking the surge and availability bounds on every pod
// event), undo, scaling during a rollout, restart, and both kinds of cascading
// deletion, against tend server and its own node.
func TestDeploymentLifecycle(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	k := s.kubectl(t)
	cs := clientOf(t, s)
	ns := "default"

	k.ok(t, "create", "deployment", "web", "--image=registry.local/web:1", "--replicas=5")
	k.ok(t, "rollout", "status", "deployment/web", "--timeout=60s")
	eventually(t, "5 pods owned by one ReplicaSet", func() (bool, string) {
		out := k.ok(t, "get", "pods", "-l", "app=web", "-o", "jsonpath={range .items[*]}{.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name} {end}")
		owners := strings.Fields(out)
		if len(owners) != 5 {
			return false, out
		}
		for _, o := range owners {
			if o != owners[0] || !strings.HasPrefix(o, "ReplicaSet/web-") {
				return false, out
			}
		}
		return true, out
	})
	firstRS := replicaSets(t, cs, ns, "app=web")[0].Name

	// A rolling update within maxSurge 25% (2 of 5) and maxUnavailable 25% (1 of 5).
	pc := watchPods(t, cs, ns, "app=web")
	pc.track()
	k.ok(t, "set", "image", "deployment/web", "web=registry.local/web:2")
	k.ok(t, "rollout", "status", "deployment/web", "--timeout=60s")
	if maxPods, minReady := pc.extremes(); maxPods > 7 || minReady < 4 {
		t.Errorf("during the rollout: up to %d pods, down to %d ready; want at most 7 and at least 4", maxPods, minReady)
	}
	if rss := replicaSets(t, cs, ns, "app=web"); len(rss) != 2 {
		t.Errorf("after the rollout: %d ReplicaSets; want 2", len(rss))
	}
	hist := k.ok(t, "rollout", "history", "deployment/web")
	if !strings.Contains(hist, "1 ") || !strings.Contains(hist, "2 ") {
		t.Errorf("rollout history = %q; want revisions 1 and 2", hist)
	}

	// Undo goes back to the first template: the first ReplicaSet again.
	k.ok(t, "rollout", "undo", "deployment/web")
	k.ok(t, "rollout", "status", "deployment/web", "--timeout=60s")
	eventually(t, "the first ReplicaSet holds the pods again", func() (bool, string) {
		for _, rs := range replicaSets(t, cs, ns, "app=web") {
			if rs.Name == firstRS {
				return rs.Status.ReadyReplicas == 5, fmt.Sprintf("%s ready %d", rs.Name, rs.Status.ReadyReplicas)
			}
		}
		return false, "first ReplicaSet gone"
	})
	if img := k.ok(t, "get", "deployment", "web", "-o", "jsonpath={.spec.template.spec.containers[0].image}"); img != "registry.local/web:1" {
		t.Errorf("image after undo = %q; want registry.local/web:1", img)
	}

	// Scaling mid-rollout scales every ReplicaSet proportionally: with pods slow
	// to become ready, the rollout is still going when the scale lands.
	k.ok(t, "patch", "deployment", "web", "-p", `{"spec":{"minReadySeconds":3}}`)
	k.ok(t, "set", "image", "deployment/web", "web=registry.local/web:3")
	eventually(t, "a rollout in progress", func() (bool, string) {
		n := 0
		for _, rs := range replicaSets(t, cs, ns, "app=web") {
			if *rs.Spec.Replicas > 0 {
				n++
			}
		}
		return n >= 2, fmt.Sprint(n, " ReplicaSets with replicas")
	})
	k.ok(t, "scale", "deployment/web", "--replicas=10")
	eventually(t, "both ReplicaSets scaled up together", func() (bool, string) {
		var sizes []int32
		sum := int32(0)
		for _, rs := range replicaSets(t, cs, ns, "app=web") {
			if *rs.Spec.Replicas > 0 {
				sizes = append(sizes, *rs.Spec.Replicas)
				sum += *rs.Spec.Replicas
			}
		}
		// 10 replicas + 25% surge (3): more than 5+2 pods, split over two sets.
		return len(sizes) >= 2 && sum > 7 && sum <= 13, fmt.Sprint(sizes)
	})
	k.ok(t, "rollout", "status", "deployment/web", "--timeout=90s")
	if got := k.ok(t, "get", "deployment", "web", "-o", "jsonpath={.status.readyReplicas}/{.status.updatedReplicas}"); got != "10/10" {
		t.Errorf("after scaling mid-rollout: ready/updated = %s; want 10/10", got)
	}

	// restart rolls out a new ReplicaSet; pause holds a rollout.
	before := len(replicaSets(t, cs, ns, "app=web"))
	k.ok(t, "rollout", "restart", "deployment/web")
	k.ok(t, "rollout", "status", "deployment/web", "--timeout=90s")
	if after := len(replicaSets(t, cs, ns, "app=web")); after != before+1 {
		t.Errorf("ReplicaSets after restart = %d; want %d", after, before+1)
	}
	k.ok(t, "rollout", "pause", "deployment/web")
	k.ok(t, "set", "image", "deployment/web", "web=registry.local/web:4")
	time.Sleep(500 * time.Millisecond)
	if after := len(replicaSets(t, cs, ns, "app=web")); after != before+1 {
		t.Errorf("a paused Deployment rolled out: %d ReplicaSets; want %d", after, before+1)
	}
	k.ok(t, "rollout", "resume", "deployment/web")
	k.ok(t, "rollout", "status", "deployment/web", "--timeout=90s")

	// Deleting the Deployment deletes its ReplicaSets and pods.
	k.ok(t, "delete", "deployment", "web")
	eventually(t, "ReplicaSets and pods gone", func() (bool, string) {
		out := k.ok(t, "get", "rs,pods", "-l", "app=web", "-o", "name")
		return strings.TrimSpace(out) == "", out
	})

	// --cascade=orphan leaves them, without the ownerReference.
	k.ok(t, "create", "deployment", "kept", "--image=registry.local/kept:1", "--replicas=2")
	k.ok(t, "rollout", "status", "deployment/kept", "--timeout=60s")
	k.ok(t, "delete", "deployment", "kept", "--cascade=orphan")
	time.Sleep(time.Second)
	rss := replicaSets(t, cs, ns, "app=kept")
	pods := k.ok(t, "get", "pods", "-l", "app=kept", "-o", "name")
	if len(rss) != 1 || len(strings.Fields(pods)) != 2 || len(rss[0].OwnerReferences) != 0 {
		t.Errorf("after an orphaning delete: %d ReplicaSets (owners %v), pods %q; want one ReplicaSet without owner and 2 pods",
			len(rss), rss, pods)
	}
}

// proc is a tend component process started by a test and ended by its PID.
type proc struct {
	cmd  *exec.Cmd
	log  *syncBuffer
	done chan struct{}
	port int
}

// startControllerManager starts `tend controller-manager` against s with a
// short lease, so that failover fits in a test.
func startControllerManager(t *testing.T, s *server) *proc {
	t.Helper()
	return startComponent(t, s, "controller-manager", "controller-manager",
		"--leader-elect-lease-duration=3s", "--leader-elect-renew-deadline=2s", "--leader-elect-retry-period=250ms")
}

// startComponent starts `tend COMMAND --kubeconfig DATA/KUBECONFIG.kubeconfig
// --metrics-bind-address 127.0.0.1:PORT ARGS...` against s, with a free port.
func startComponent(t *testing.T, s *server, command, kubeconfig string, args ...string) *proc {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	p := &proc{log: &syncBuffer{}, done: make(chan struct{}), port: port}
	p.cmd = exec.Command(tendBinary, append([]string{command,
		"--kubeconfig", filepath.Join(s.dataDir, kubeconfig+".kubeconfig"),
		"--metrics-bind-address", "127.0.0.1:" + strconv.Itoa(port)}, args...)...)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop(syscall.SIGTERM)
		if t.Failed() {
			t.Logf("tend %s log (last lines):\n%s", command, tail(p.log.String(), 40))
		}
	})
	return p
}

// stop sends sig to the process (by PID) and waits for it.
func (p *proc) stop(sig syscall.Signal) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// leading asks the manager whether it leads.
func (p *proc) leading() bool {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/leaderz", p.port))
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b) == "true"
}

// reconciles sums the manager's controller_reconcile_total.
func (p *proc) reconciles(t *testing.T) int {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", p.port))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	total := 0
	for _, l := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(l, "controller_reconcile_total{") {
			continue
		}
		f := strings.Fields(l)
		n, _ := strconv.ParseFloat(f[len(f)-1], 64)
		total += int(n)
	}
	return total
}

// TestTwoControllerManagers runs two managers against one apiserver: exactly
// one reconciles; killing it (SIGKILL: no lease release) hands over to the
// other within the lease duration.
func TestTwoControllerManagers(t *testing.T) {
	t.Parallel()
	s := startTend(t, "apiserver")
	k := s.kubectl(t)
	a := startControllerManager(t, s)
	b := startControllerManager(t, s)
	var leader, other *proc
	eventually(t, "one leader", func() (bool, string) {
		la, lb := a.leading(), b.leading()
		switch {
		case la && !lb:
			leader, other = a, b
		case lb && !la:
			leader, other = b, a
		}
		return la != lb, fmt.Sprintf("a=%v b=%v", la, lb)
	})
	time.Sleep(time.Second)
	if a.leading() == b.leading() {
		t.Fatalf("leadership: a=%v b=%v; want exactly one", a.leading(), b.leading())
	}
	k.ok(t, "create", "deployment", "one", "--image=registry.local/one:1", "--replicas=2")
	eventually(t, "the leader reconciles", func() (bool, string) {
		out := k.ok(t, "get", "pods", "-l", "app=one", "-o", "name")
		return len(strings.Fields(out)) == 2, out
	})
	// The other manager reconciled nothing: it runs no controller until it leads.
	if n := other.reconciles(t); n != 0 {
		t.Errorf("the manager that does not lead reconciled %d times; want 0", n)
	}
	if n := leader.reconciles(t); n == 0 {
		t.Error("the leader's metrics show no reconcile")
	}
	killed := time.Now()
	leader.stop(syscall.SIGKILL)
	eventually(t, "the other manager takes over", func() (bool, string) {
		return other.leading(), "not leading yet"
	})
	if d := time.Since(killed); d > 3*time.Second+3*time.Second {
		t.Errorf("takeover took %v; want within the 3s lease duration (and a retry)", d)
	}
	k.ok(t, "create", "deployment", "two", "--image=registry.local/two:1", "--replicas=2")
	eventually(t, "the new leader reconciles", func() (bool, string) {
		out := k.ok(t, "get", "pods", "-l", "app=two", "-o", "name")
		return len(strings.Fields(out)) == 2, out
	})
}

// TestControllerManagerRestartMidRollout kills the controller-manager in the
// middle of a rollout and starts another: the rollout finishes, and there are
// never more pods than the surge allows.
func TestControllerManagerRestartMidRollout(t *testing.T) {
	t.Parallel()
	s := startTend(t, "apiserver")
	k := s.kubectl(t)
	cs := clientOf(t, s)
	tendtest.StartKubeletWithClient(t, cs, tendtest.KubeletOptions{ReadyAfter: 300 * time.Millisecond})
	first := startControllerManager(t, s)
	k.ok(t, "create", "deployment", "roll", "--image=registry.local/roll:1", "--replicas=6")
	k.ok(t, "patch", "deployment", "roll", "-p", `{"spec":{"strategy":{"rollingUpdate":{"maxSurge":1,"maxUnavailable":0}}}}`)
	k.ok(t, "rollout", "status", "deployment/roll", "--timeout=60s")

	pc := watchPods(t, cs, "default", "app=roll")
	pc.track()
	k.ok(t, "set", "image", "deployment/roll", "roll=registry.local/roll:2")
	eventually(t, "the rollout under way", func() (bool, string) {
		out := k.ok(t, "get", "deployment", "roll", "-o", "jsonpath={.status.updatedReplicas}")
		n, _ := strconv.Atoi(out)
		return n >= 2, out
	})
	first.stop(syscall.SIGKILL)
	time.Sleep(500 * time.Millisecond)
	startControllerManager(t, s)
	k.ok(t, "rollout", "status", "deployment/roll", "--timeout=90s")
	if maxPods, minReady := pc.extremes(); maxPods > 7 || minReady < 6 {
		t.Errorf("across the restart: up to %d pods, down to %d ready; want at most 7 (6 + surge 1) and at least 6 (unavailable 0)", maxPods, minReady)
	}
}
