// Command podstart measures pod startup latency with real containers: from
// a pod's creation to the watch seeing it Running, for PODS pods on one
// node running `tend server --runtime runc`, the image already present, as
// upstream's pod startup SLO measures it.
//
//	go run ./test/bench/podstart [-pods 50] [-starting 5] [-tend bin/tend]
//
// It runs two phases: steady, where a pod is created whenever fewer than
// STARTING are between creation and Running, and burst, where all are
// created at once (so the last waits for every other's start). With
// PODSTART_PROFILE_DIR set, the server's CPU profile of the first 5 s of
// each phase is written there as PHASE.pprof, and its goroutines 1, 2 and
// 3 s into the phase as PHASE-goroutines-N.txt, and an execution trace of
// its first 3 s as PHASE.trace.
//
// It must run as root. It re-executes itself in a network namespace of its
// own, so the node's pod network never touches the machine's, and the
// server, the image store and every container are made in a temporary
// directory and removed at the end.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/vishvananda/netlink"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/tendhq/tend/kubelet/runc"
	"github.com/tendhq/tend/test/bench/internal/cluster"
	"github.com/tendhq/tend/test/testapp/testimage"
)

const childEnv = "TEND_PODSTART_CHILD"

func main() {
	pods := flag.Int("pods", 50, "pods to start")
	starting := flag.Int("starting", 5, "pods starting at once in the steady phase")
	burst := flag.Bool("burst", true, "run the burst phase too")
	tend := flag.String("tend", "", "the tend binary (default: built from this module)")
	flag.Parse()
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "podstart: real containers need root")
		os.Exit(2)
	}
	if os.Getenv(childEnv) == "" {
		cmd := exec.Command("/proc/self/exe", os.Args[1:]...)
		cmd.Env = append(os.Environ(), childEnv+"=1")
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "podstart:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*pods, *starting, *burst, *tend); err != nil {
		fmt.Fprintln(os.Stderr, "podstart:", err)
		os.Exit(1)
	}
}

func run(pods, starting int, burst bool, tend string) error {
	lo, err := netlink.LinkByName("lo")
	if err == nil {
		err = netlink.LinkSetUp(lo)
	}
	if err != nil {
		return fmt.Errorf("loopback: %w", err)
	}
	c, err := cluster.New(tend)
	if err != nil {
		return err
	}
	defer c.Close()
	ctx := context.Background()
	cgroupRoot := fmt.Sprintf("tend-podstart-%d", os.Getpid())
	defer func() {
		if err := runc.RemoveCgroup(cgroupRoot); err != nil {
			fmt.Fprintln(os.Stderr, "podstart:", err)
		}
	}()
	_, cs, err := c.StartServing(ctx, "server", 500, "--runtime", "runc", "--cgroup-root", cgroupRoot)
	if err != nil {
		return err
	}
	// Containers outlive the server by design: whatever happens, the pods
	// go before it does.
	defer func() {
		if err := deleteAll(ctx, cs); err != nil {
			fmt.Fprintln(os.Stderr, "podstart: deleting the pods:", err)
		}
	}()
	archive := filepath.Join(c.Dir, "testapp.tar")
	img, err := testimage.Load()
	if err != nil {
		return err
	}
	tag, _ := name.NewTag("example.local/testapp:1")
	if err := tarball.WriteToFile(archive, tag, img); err != nil {
		return err
	}
	if out, err := exec.Command(c.Tend, "images", "import", archive, "--data-dir", filepath.Join(c.Dir, "data")).CombinedOutput(); err != nil {
		return fmt.Errorf("importing the image: %v: %s", err, out)
	}
	if err := cluster.Poll(60*time.Second, func() (bool, error) {
		n, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil || len(n.Items) == 0 {
			return false, nil
		}
		for _, cond := range n.Items[0].Status.Conditions {
			if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	}); err != nil {
		return fmt.Errorf("waiting for the node: %w", err)
	}
	phases := []struct {
		name     string
		starting int
	}{{"steady", starting}, {"burst", 0}}
	if !burst {
		phases = phases[:1]
	}
	for _, phase := range phases {
		profiled := make(chan struct{})
		if dir := os.Getenv("PODSTART_PROFILE_DIR"); dir != "" {
			// The server's CPU profile (apiserver, controllers, scheduler and
			// kubelet are one process) while the phase runs.
			go func() {
				defer close(profiled)
				b, err := cs.Discovery().RESTClient().Get().AbsPath("/debug/pprof/profile").Param("seconds", "5").DoRaw(ctx)
				if err == nil {
					err = os.WriteFile(filepath.Join(dir, phase.name+".pprof"), b, 0o644)
				}
				if err != nil {
					fmt.Fprintln(os.Stderr, "podstart: profile:", err)
				}
			}()
			// Where the server's goroutines wait, three times a second
			// apart: what a phase limited by a lock rather than CPU waits on.
			go func() {
				b, err := cs.Discovery().RESTClient().Get().AbsPath("/debug/pprof/trace").Param("seconds", "3").DoRaw(ctx)
				if err == nil {
					_ = os.WriteFile(filepath.Join(dir, phase.name+".trace"), b, 0o644)
				}
			}()
			go func() {
				for i := range 3 {
					time.Sleep(time.Second)
					b, err := cs.Discovery().RESTClient().Get().AbsPath("/debug/pprof/goroutine").Param("debug", "1").DoRaw(ctx)
					if err == nil {
						_ = os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-goroutines-%d.txt", phase.name, i)), b, 0o644)
					}
				}
			}()
		} else {
			close(profiled)
		}
		latencies, err := measure(ctx, cs, phase.name, pods, phase.starting)
		if err != nil {
			return err
		}
		<-profiled
		how := fmt.Sprintf("at most %d starting at once", phase.starting)
		if phase.starting == 0 {
			how = "all created at once"
		}
		fmt.Printf("PODSTART %s: %d pods, %s, image present: p50 %v, p90 %v, p99 %v, max %v\n", phase.name, pods, how,
			cluster.Percentile(latencies, 0.5).Round(time.Millisecond), cluster.Percentile(latencies, 0.9).Round(time.Millisecond),
			cluster.Percentile(latencies, 0.99).Round(time.Millisecond), latencies[len(latencies)-1].Round(time.Millisecond))
		if err := deleteAll(ctx, cs); err != nil {
			return err
		}
	}
	// Where the time went, by the kubelet's own metrics (all phases).
	if b, err := cs.Discovery().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			for _, m := range []string{"kubelet_runtime_operations_duration_seconds_sum", "kubelet_runtime_operations_duration_seconds_count",
				"kubelet_pod_worker_duration_seconds_sum", "kubelet_pod_worker_duration_seconds_count", "scheduler_e2e_scheduling_duration_seconds_sum"} {
				if strings.HasPrefix(l, m) {
					fmt.Println("  ", l)
				}
			}
		}
	}
	return nil
}

// measure creates pods named PREFIX-N and times each from its creation to a
// watch event showing it Running. At most starting pods are between the
// two at once (0: all are created at once).
func measure(ctx context.Context, cs kubernetes.Interface, prefix string, pods, starting int) ([]time.Duration, error) {
	w, err := cs.CoreV1().Pods("default").Watch(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	defer w.Stop()
	if starting <= 0 {
		starting = pods
	}
	slots := make(chan struct{}, starting)
	var mu sync.Mutex
	created := map[string]time.Time{}
	running := map[string]time.Duration{}
	stages := stageTimes{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok || ev.Type == watch.Deleted {
				continue
			}
			now := time.Now()
			mu.Lock()
			stages.see(p, now)
			mu.Unlock()
			if p.Status.Phase != corev1.PodRunning {
				continue
			}
			mu.Lock()
			t, ok := created[p.Name]
			_, seen := running[p.Name]
			if ok && !seen {
				running[p.Name] = now.Sub(t)
				<-slots
			}
			n := len(running)
			mu.Unlock()
			if n == pods {
				return
			}
		}
	}()
	grace := int64(1)
	errs := make(chan error, pods)
	go func() {
		for i := range pods {
			select {
			case slots <- struct{}{}:
			case <-done:
				return
			}
			p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%d", prefix, i)},
				Spec: corev1.PodSpec{TerminationGracePeriodSeconds: &grace,
					Containers: []corev1.Container{{Name: "app", Image: "example.local/testapp:1",
						ImagePullPolicy: corev1.PullIfNotPresent, Args: []string{"sleep", "infinity"}}}}}
			mu.Lock()
			created[p.Name] = time.Now()
			mu.Unlock()
			go func() {
				if _, err := cs.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{}); err != nil {
					errs <- err
				}
			}()
		}
	}()
	select {
	case <-done:
	case err := <-errs:
		return nil, err
	case <-time.After(5 * time.Minute):
		return nil, fmt.Errorf("%d of %d pods Running after 5 minutes", len(running), pods)
	}
	mu.Lock()
	fmt.Printf("STAGES %s (p50): %s\n", prefix, stages.summary(created))
	mu.Unlock()
	out := make([]time.Duration, 0, pods)
	for _, d := range running {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}

// stageTimes is when the watch first showed each pod bound to the node, with
// a status from its kubelet (status.startTime), and Running.
type stageTimes map[string]*[3]time.Time

func (st stageTimes) see(p *corev1.Pod, now time.Time) {
	t := st[p.Name]
	if t == nil {
		t = &[3]time.Time{}
		st[p.Name] = t
	}
	for i, reached := range []bool{p.Spec.NodeName != "", p.Status.StartTime != nil, p.Status.Phase == corev1.PodRunning} {
		if reached && t[i].IsZero() {
			t[i] = now
		}
	}
}

// summary is the median time of each stage from the one before.
func (st stageTimes) summary(created map[string]time.Time) string {
	names := []string{"created→bound", "bound→kubelet status", "kubelet status→Running"}
	var out []string
	for i, name := range names {
		var ds []time.Duration
		for pod, t := range st {
			from := created[pod]
			if i > 0 {
				from = t[i-1]
			}
			if !from.IsZero() && !t[i].IsZero() {
				ds = append(ds, t[i].Sub(from))
			}
		}
		if len(ds) == 0 {
			continue
		}
		sort.Slice(ds, func(a, b int) bool { return ds[a] < ds[b] })
		out = append(out, fmt.Sprintf("%s %v", name, cluster.Percentile(ds, 0.5).Round(time.Millisecond)))
	}
	return strings.Join(out, ", ")
}

// deleteAll deletes the pods and waits until they are gone.
func deleteAll(ctx context.Context, cs kubernetes.Interface) error {
	if err := cs.CoreV1().Pods("default").DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{}); err != nil {
		return err
	}
	return cluster.Poll(2*time.Minute, func() (bool, error) {
		l, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{})
		return err == nil && len(l.Items) == 0, nil
	})
}
