// Command nodes measures tend with hollow nodes: the scheduler's throughput,
// the node agent's memory per hollow node, and a Deployment's time from apply
// to all pods Running.
//
//	go run ./test/bench/nodes [-nodes 1000] [-pods 10000] [-mode schedule|deployment] [-tend bin/tend]
//
// It starts `tend apiserver`, `tend controller-manager`, `tend agent --runtime
// simulated --count NODES` and `tend scheduler` as separate processes, on free
// ports in a temporary directory, and stops them by PID.
//
// Mode schedule creates the pods first and then starts the scheduler: the
// figure is pods bound per second. Mode deployment starts everything, applies
// one Deployment of PODS replicas, and times it until every pod is Running.
//
// With NODES_PROFILE_DIR set, it writes 8-second CPU profiles of every
// process there: idle-NAME.pprof with the nodes Ready and nothing else to do,
// NAME.pprof at the scheduler's start (or 10 s after the Deployment's).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/tendhq/tend/test/bench/internal/cluster"
)

func main() {
	nodes := flag.Int("nodes", 1000, "hollow nodes")
	pods := flag.Int("pods", 10000, "pods (or replicas)")
	mode := flag.String("mode", "schedule", "schedule: pods first, then the scheduler; deployment: one Deployment, apply to Running")
	tend := flag.String("tend", "", "the tend binary (default: built from this module)")
	flag.Parse()
	if *mode != "schedule" && *mode != "deployment" {
		fmt.Fprintln(os.Stderr, "nodes: -mode is schedule or deployment")
		os.Exit(2)
	}
	if err := run(*nodes, *pods, *mode, *tend); err != nil {
		fmt.Fprintln(os.Stderr, "nodes:", err)
		os.Exit(1)
	}
}

func run(nodes, pods int, mode, tend string) error {
	c, err := cluster.New(tend)
	if err != nil {
		return err
	}
	defer c.Close()
	ctx := context.Background()
	_, cs, err := c.StartAPIServer(ctx, 2000)
	if err != nil {
		return err
	}
	api := c.Procs()[0]
	// A /10 of /24s has room for 16,384 nodes; the default /16 for 256.
	if _, err := c.StartComponent("controller-manager", "controller-manager", "--leader-elect=false",
		"--cluster-cidr=10.64.0.0/10"); err != nil {
		return err
	}
	start := time.Now()
	agent, err := c.StartComponent("agent", "kubelet", "--runtime", "simulated",
		"--count", fmt.Sprint(nodes), "--node-name-prefix", "hollow-")
	if err != nil {
		return err
	}
	var progress string
	lastShown := time.Now()
	if err := cluster.Poll(10*time.Minute, func() (bool, error) {
		time.Sleep(time.Second)
		l, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{ResourceVersion: "0"})
		if err != nil {
			return false, err
		}
		ready, cidr := 0, 0
		for _, n := range l.Items {
			if n.Spec.PodCIDR != "" {
				cidr++
			}
			for _, cond := range n.Status.Conditions {
				if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
					ready++
				}
			}
		}
		progress = fmt.Sprintf("%d nodes registered, %d with a podCIDR, %d Ready after %.0fs", len(l.Items), cidr, ready, time.Since(start).Seconds())
		if time.Since(lastShown) > 30*time.Second {
			fmt.Println("...", progress)
			lastShown = time.Now()
		}
		return ready == nodes, nil
	}); err != nil {
		return fmt.Errorf("waiting for %d Ready nodes (%s): %w", nodes, progress, err)
	}
	fmt.Printf("NODES %d hollow nodes Ready in %.2fs; agent RSS %d KiB (%.0f KiB a node); apiserver %d open files\n",
		nodes, time.Since(start).Seconds(), agent.RSS("VmRSS"), float64(agent.RSS("VmRSS"))/float64(nodes), api.Files())

	idle := map[string]time.Duration{}
	for _, p := range c.Procs() {
		idle[p.Name] = p.CPU()
	}
	if dir := os.Getenv("NODES_PROFILE_DIR"); dir != "" {
		profile(ctx, cs, c.Procs(), dir, "idle-")
	}
	time.Sleep(10 * time.Second)
	fmt.Print("CPU over 10 s idle:")
	for _, p := range c.Procs() {
		fmt.Printf(" %s %.2fs", p.Name, (p.CPU() - idle[p.Name]).Seconds())
	}
	fmt.Println()

	count := watchPods(ctx, cs)
	cpu0 := map[string]time.Duration{}
	for _, p := range c.Procs() {
		cpu0[p.Name] = p.CPU()
	}
	switch mode {
	case "schedule":
		start = time.Now()
		if err := createPods(ctx, cs, pods); err != nil {
			return err
		}
		fmt.Printf("CREATE %d pods in %.2fs\n", pods, time.Since(start).Seconds())
		start = time.Now()
		if _, err := c.StartComponent("scheduler", "scheduler", "--leader-elect=false"); err != nil {
			return err
		}
		if dir := os.Getenv("NODES_PROFILE_DIR"); dir != "" {
			profile(ctx, cs, c.Procs(), dir, "")
		}
		var first time.Duration
		if err := cluster.Poll(10*time.Minute, func() (bool, error) {
			bound, _ := count()
			if bound > 0 && first == 0 {
				first = time.Since(start)
			}
			return bound == pods, nil
		}); err != nil {
			bound, _ := count()
			return fmt.Errorf("%d of %d pods bound: %w", bound, pods, err)
		}
		took := time.Since(start)
		fmt.Printf("SCHEDULE %d pods on %d nodes: %.2fs from the scheduler's start (%.0f pods/s), %.2fs from its first binding (%.0f pods/s)\n",
			pods, nodes, took.Seconds(), float64(pods)/took.Seconds(), (took - first).Seconds(), float64(pods)/(took-first).Seconds())
	case "deployment":
		if _, err := c.StartComponent("scheduler", "scheduler", "--leader-elect=false"); err != nil {
			return err
		}
		start = time.Now()
		if err := createDeployment(ctx, cs, pods); err != nil {
			return err
		}
		if dir := os.Getenv("NODES_PROFILE_DIR"); dir != "" {
			time.AfterFunc(10*time.Second, func() { profile(ctx, cs, c.Procs(), dir, "") })
		}
	}
	if err := cluster.Poll(10*time.Minute, func() (bool, error) {
		_, running := count()
		return running == pods, nil
	}); err != nil {
		_, running := count()
		return fmt.Errorf("%d of %d pods Running: %w", running, pods, err)
	}
	fmt.Printf("RUNNING %d pods on %d nodes %.2fs after %s\n", pods, nodes, time.Since(start).Seconds(),
		map[string]string{"schedule": "the scheduler's start", "deployment": "the Deployment's creation"}[mode])
	fmt.Print("CPU from the pods' creation on:")
	for _, p := range c.Procs() {
		fmt.Printf(" %s %.1fs", p.Name, (p.CPU() - cpu0[p.Name]).Seconds())
	}
	fmt.Println()
	fmt.Printf("RSS agent: peak %d KiB (%.0f KiB a node), now %d KiB; apiserver: peak %d KiB\n",
		agent.RSS("VmHWM"), float64(agent.RSS("VmHWM"))/float64(nodes), agent.RSS("VmRSS"), api.RSS("VmHWM"))
	for _, p := range c.Procs()[1:] {
		if p.Name != "agent" {
			fmt.Printf("RSS %s: peak %d KiB\n", p.Name, p.RSS("VmHWM"))
		}
	}
	return requests(ctx, cs)
}

// requests prints the apiserver's request counts by verb and resource, the
// largest first: where the work went.
func requests(ctx context.Context, cs kubernetes.Interface) error {
	b, err := cs.Discovery().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return err
	}
	counts, errors := map[string]float64{}, map[string]float64{}
	re := regexp.MustCompile(`^apiserver_request_total\{(.*)\} (\S+)$`)
	label := func(labels, name string) string {
		m := regexp.MustCompile(name + `="([^"]*)"`).FindStringSubmatch(labels)
		if m == nil {
			return ""
		}
		return m[1]
	}
	for _, l := range strings.Split(string(b), "\n") {
		m := re.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		n, _ := strconv.ParseFloat(m[2], 64)
		key := label(m[1], "verb") + " " + label(m[1], "resource")
		if sub := label(m[1], "subresource"); sub != "" {
			key += "/" + sub
		}
		counts[key] += n
		// (A non-resource GET failing is /readyz before the server was ready.)
		if code := label(m[1], "code"); (code == "429" || code >= "500") && key != "GET " {
			errors[code+" "+key] += n
		}
	}
	if len(errors) > 0 {
		fmt.Println("ERRORS by code:", errors)
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return counts[keys[i]] > counts[keys[j]] })
	fmt.Print("REQUESTS")
	for i, k := range keys {
		if i == 12 {
			break
		}
		fmt.Printf(" %s=%.0f", k, counts[k])
	}
	fmt.Println()
	return nil
}

var labels = map[string]string{"app": "bench"}

func podSpec() corev1.PodSpec {
	return corev1.PodSpec{Containers: []corev1.Container{{
		Name: "c", Image: "registry.local/bench:1",
		Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse("10m"),
			corev1.ResourceMemory: resource.MustParse("16Mi"),
		}},
	}}}
}

// createPods creates n bare pods, 32 at a time.
func createPods(ctx context.Context, cs kubernetes.Interface, n int) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("bench-%d", i), Labels: labels}, Spec: podSpec()}
				if _, err := cs.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func createDeployment(ctx context.Context, cs kubernetes.Interface, replicas int) error {
	r := int32(replicas)
	_, err := cs.AppsV1().Deployments("default").Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "bench"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &r,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: podSpec()},
		},
	}, metav1.CreateOptions{})
	return err
}

// watchPods follows the pods of default and returns a function counting those
// bound to a node and those Running.
func watchPods(ctx context.Context, cs kubernetes.Interface) func() (bound, running int) {
	var mu sync.Mutex
	state := map[string]*corev1.Pod{}
	go func() {
		rv := "0"
		for ctx.Err() == nil {
			w, err := cs.CoreV1().Pods("default").Watch(ctx, metav1.ListOptions{ResourceVersion: rv, AllowWatchBookmarks: true})
			if err != nil {
				time.Sleep(100 * time.Millisecond)
				continue
			}
			for e := range w.ResultChan() {
				p, ok := e.Object.(*corev1.Pod)
				if !ok {
					continue
				}
				rv = p.ResourceVersion
				if e.Type == watch.Bookmark {
					continue
				}
				mu.Lock()
				if e.Type == watch.Deleted {
					delete(state, p.Name)
				} else {
					state[p.Name] = p
				}
				mu.Unlock()
			}
		}
	}()
	return func() (bound, running int) {
		mu.Lock()
		defer mu.Unlock()
		for _, p := range state {
			if p.Spec.NodeName != "" {
				bound++
			}
			if p.Status.Phase == corev1.PodRunning {
				running++
			}
		}
		return bound, running
	}
}

// profile writes 8-second CPU profiles of the apiserver and of every
// component with a metrics port into dir, named after them.
func profile(ctx context.Context, cs kubernetes.Interface, procs []*cluster.Proc, dir, prefix string) {
	go func() {
		b, err := cs.Discovery().RESTClient().Get().AbsPath("/debug/pprof/profile").Param("seconds", "8").DoRaw(ctx)
		if err == nil {
			_ = os.WriteFile(dir+"/"+prefix+"apiserver.pprof", b, 0o644)
		}
	}()
	for _, p := range procs {
		if p.Port == 0 {
			continue
		}
		go func() {
			url := fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/profile?seconds=8", p.Port)
			resp, err := http.Get(url)
			for try := 0; err != nil && try < 20; try++ { // a process just started
				time.Sleep(100 * time.Millisecond)
				resp, err = http.Get(url)
			}
			if err != nil {
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			_ = os.WriteFile(dir+"/"+prefix+p.Name+".pprof", b, 0o644)
		}()
	}
}
