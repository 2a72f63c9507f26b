// Command hollowmem measures what a hollow node costs: it starts N kubelets
// with simulated runtimes in this process, against a tend test control plane,
// lets them settle, and reports the process's memory per node.
//
//	go run ./kubelet/internal/hollowmem -nodes 1000
//	go run ./kubelet/internal/hollowmem -nodes 1000 -pods 10
//
// By default the control plane runs in a child process (this program again,
// with -serve), so that only the kubelets are measured; -inprocess runs it
// here instead, and -kubeconfig uses a running server.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/tendhq/tend/kubelet"
	"github.com/tendhq/tend/kubelet/simulated"
	"github.com/tendhq/tend/tendtest"
)

func main() {
	nodes := flag.Int("nodes", 1000, "hollow nodes to run")
	pods := flag.Int("pods", 0, "pods to run on each node")
	settle := flag.Duration("settle", 25*time.Second, "how long the nodes run before the measurement")
	kubeconfig := flag.String("kubeconfig", "", "a running server's kubeconfig; empty starts a test control plane")
	inProcess := flag.Bool("inprocess", false, "run the test control plane in this process (its memory is then counted too)")
	protobuf := flag.Bool("protobuf", true, "talk protobuf to the apiserver, as tend agent does (false: JSON)")
	serve := flag.Bool("serve", false, "internal: run a test control plane, print its kubeconfig path, stop when stdin closes")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if *serve {
		err = runServer(ctx)
	} else {
		err = measure(ctx, *nodes, *pods, *settle, *kubeconfig, *inProcess, *protobuf)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "hollowmem:", err)
		os.Exit(1)
	}
}

func runServer(ctx context.Context) error {
	c, err := tendtest.StartContext(ctx, tendtest.Options{})
	if err != nil {
		return err
	}
	defer c.Stop()
	fmt.Println(c.KubeconfigPath())
	_, _ = io.Copy(io.Discard, os.Stdin) // until the parent goes
	return nil
}

// controlPlane returns a kubeconfig path and a function that stops what was
// started for it.
func controlPlane(ctx context.Context, kubeconfig string, inProcess bool) (string, func(), error) {
	if kubeconfig != "" {
		return kubeconfig, func() {}, nil
	}
	if inProcess {
		c, err := tendtest.StartContext(ctx, tendtest.Options{})
		if err != nil {
			return "", nil, err
		}
		return c.KubeconfigPath(), c.Stop, nil
	}
	self, err := os.Executable()
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command(self, "-serve")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return "", nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stopChild := func() {
		_ = stdin.Close() // the child stops when its stdin closes
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill() // our own child, by PID
			<-done
		}
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		stopChild()
		return "", nil, fmt.Errorf("the control plane did not start: %w", err)
	}
	return strings.TrimSpace(line), stopChild, nil
}

type sample struct {
	heapInuse, sys, rss uint64
	goroutines          int
}

func take() sample {
	runtime.GC()
	debug.FreeOSMemory()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return sample{heapInuse: m.HeapInuse, sys: m.Sys - m.HeapReleased, rss: rss(), goroutines: runtime.NumGoroutine()}
}

// rss is the process's resident set size, from /proc (0 elsewhere).
func rss() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseUint(f[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}

func measure(ctx context.Context, nodes, pods int, settle time.Duration, kubeconfig string, inProcess, protobuf bool) error {
	path, stopServer, err := controlPlane(ctx, kubeconfig, inProcess)
	if err != nil {
		return err
	}
	defer stopServer()
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return err
	}
	cfg.QPS, cfg.Burst = 5000, 10000
	if protobuf {
		cfg.ContentType = "application/vnd.kubernetes.protobuf"
		cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	if _, err := client.Discovery().ServerVersion(); err != nil {
		return fmt.Errorf("reaching the server: %w", err)
	}
	metrics, err := kubelet.NewMetrics(nil)
	if err != nil {
		return err
	}
	before := take()

	runCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var failed atomic.Int64
	start := time.Now()
	for i := 0; i < nodes; i++ {
		k, err := kubelet.New(kubelet.Config{NodeName: fmt.Sprintf("hollow-%d", i), Client: client,
			Runtime: simulated.New(simulated.Config{}), Metrics: metrics, Version: "v0.0.0-hollowmem"})
		if err != nil {
			cancel()
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := k.Run(runCtx); err != nil {
				failed.Add(1)
			}
		}()
	}
	defer func() {
		cancel()
		wg.Wait()
	}()
	// The node IPAM controller's job: a /24 per node.
	if err := forEachNode(ctx, nodes, func(i int, name string) error {
		cidr := fmt.Sprintf("10.%d.%d.0/24", 64+i/256, i%256)
		patch := fmt.Sprintf(`{"spec":{"podCIDR":%q,"podCIDRs":[%q]}}`, cidr, cidr)
		_, err := client.CoreV1().Nodes().Patch(ctx, name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{})
		return err
	}); err != nil {
		return err
	}
	if err := waitReady(ctx, client, nodes); err != nil {
		return err
	}
	fmt.Printf("%d nodes registered and Ready in %v\n", nodes, time.Since(start).Round(time.Millisecond))
	if pods > 0 {
		podStart := time.Now()
		if err := forEachNode(ctx, nodes, func(i int, name string) error {
			for j := 0; j < pods; j++ {
				p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%d", name, j), Namespace: "default"},
					Spec: corev1.PodSpec{NodeName: name, Containers: []corev1.Container{{Name: "app", Image: "nginx"}}}}
				if _, err := client.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{}); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return err
		}
		if err := waitPodsRunning(ctx, client, nodes*pods); err != nil {
			return err
		}
		fmt.Printf("%d pods Running in %v\n", nodes*pods, time.Since(podStart).Round(time.Millisecond))
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(settle):
	}
	after := take()
	if n := failed.Load(); n > 0 {
		return fmt.Errorf("%d kubelets failed", n)
	}
	per := func(a, b uint64) string {
		return fmt.Sprintf("%.2f MB total, %.1f KB per node", float64(b-a)/(1<<20), float64(b-a)/float64(nodes)/1024)
	}
	where := "the control plane in another process (not counted)"
	if inProcess {
		where = "the control plane in this process (counted)"
	}
	encoding := "JSON"
	if protobuf {
		encoding = "protobuf"
	}
	fmt.Printf("%d hollow nodes, %d pods each, %s, %s, after %v:\n", nodes, pods, encoding, where, settle)
	fmt.Printf("  heap in use: %s\n", per(before.heapInuse, after.heapInuse))
	fmt.Printf("  Go runtime (sys - released): %s\n", per(before.sys, after.sys))
	fmt.Printf("  RSS: %s\n", per(before.rss, after.rss))
	fmt.Printf("  goroutines: %d (%.1f per node)\n", after.goroutines-before.goroutines, float64(after.goroutines-before.goroutines)/float64(nodes))
	return nil
}

// forEachNode runs fn for every node, 32 at a time.
func forEachNode(ctx context.Context, nodes int, fn func(i int, name string) error) error {
	sem := make(chan struct{}, 32)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for i := 0; i < nodes; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			name := fmt.Sprintf("hollow-%d", i)
			var err error
			for attempt := 0; attempt < 100; attempt++ {
				if err = fn(i, name); err == nil || ctx.Err() != nil {
					break
				}
				time.Sleep(200 * time.Millisecond) // the node may not be registered yet
			}
			if err != nil {
				mu.Lock()
				if first == nil {
					first = fmt.Errorf("node %s: %w", name, err)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return first
}

func waitReady(ctx context.Context, client kubernetes.Interface, nodes int) error {
	deadline := time.Now().Add(5 * time.Minute)
	for {
		list, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		ready := 0
		if err == nil {
			for _, n := range list.Items {
				for _, c := range n.Status.Conditions {
					if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
						ready++
					}
				}
			}
		}
		if ready >= nodes {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d nodes Ready after 5 minutes", ready, nodes)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

func waitPodsRunning(ctx context.Context, client kubernetes.Interface, want int) error {
	deadline := time.Now().Add(10 * time.Minute)
	for {
		list, err := client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{FieldSelector: "status.phase=Running"})
		if err == nil && len(list.Items) >= want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pods not all Running after 10 minutes")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}
