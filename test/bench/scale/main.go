// Command scale measures how fast tend's controllers scale a Deployment: from 0
// to N replicas (10,000 by default), the time until N pods exist and the
// ReplicaSet's status says so, the controller-manager's peak RSS, and the
// apiserver's latency for another client meanwhile.
//
//	go run ./test/bench/scale [-replicas 10000] [-tend bin/tend]
//
// It starts `tend apiserver` and `tend controller-manager` as separate
// processes in a temporary directory, on free ports, and stops them by PID.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

func main() {
	replicas := flag.Int("replicas", 10000, "replicas to scale to")
	tend := flag.String("tend", "", "the tend binary (default: built from this module)")
	flag.Parse()
	if err := run(*replicas, *tend); err != nil {
		fmt.Fprintln(os.Stderr, "scale:", err)
		os.Exit(1)
	}
}

func run(replicas int, tend string) error {
	dir, err := os.MkdirTemp("", "tend-scale-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if tend == "" {
		tend = filepath.Join(dir, "tend")
		build := exec.Command("go", "build", "-o", tend, "./cmd/tend")
		build.Stdout, build.Stderr = os.Stdout, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("building tend: %w", err)
		}
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	api := exec.Command(tend, "apiserver", "--data-dir", filepath.Join(dir, "data"), "--secure-port", strconv.Itoa(port))
	apiLog, err := os.Create(filepath.Join(dir, "apiserver.log"))
	if err != nil {
		return err
	}
	defer apiLog.Close()
	api.Stdout, api.Stderr = apiLog, apiLog
	if err := api.Start(); err != nil {
		return err
	}
	defer stop(api)
	kubeconfig := filepath.Join(dir, "data", "admin.kubeconfig")
	cfgPath := filepath.Join(dir, "data", "controller-manager.kubeconfig")
	if err := waitFile(kubeconfig, 10*time.Second); err != nil {
		return err
	}
	rc, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	rc.QPS, rc.Burst = 100, 200
	cs := kubernetes.NewForConfigOrDie(rc)
	ctx := context.Background()
	if err := waitReady(ctx, cs); err != nil {
		return err
	}
	mport, err := freePort()
	if err != nil {
		return err
	}
	cm := exec.Command(tend, "controller-manager", "--kubeconfig", cfgPath, "--leader-elect=false",
		"--metrics-bind-address", "127.0.0.1:"+strconv.Itoa(mport))
	cmLog, err := os.Create(filepath.Join(dir, "controller-manager.log"))
	if err != nil {
		return err
	}
	defer cmLog.Close()
	cm.Stdout, cm.Stderr = cmLog, cmLog
	if err := cm.Start(); err != nil {
		return err
	}
	defer stop(cm)

	zero := int32(0)
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "scale"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &zero,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "scale"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "scale"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "registry.local/scale:1"}}},
			},
		},
	}
	if _, err := cs.AppsV1().Deployments("default").Create(ctx, d, metav1.CreateOptions{}); err != nil {
		return err
	}
	var rsName string
	if err := poll(30*time.Second, func() (bool, error) {
		l, err := cs.AppsV1().ReplicaSets("default").List(ctx, metav1.ListOptions{LabelSelector: "app=scale"})
		if err != nil || len(l.Items) == 0 {
			return false, err
		}
		rsName = l.Items[0].Name
		return true, nil
	}); err != nil {
		return fmt.Errorf("waiting for the ReplicaSet: %w", err)
	}

	probeCtx, stopProbe := context.WithCancel(ctx)
	defer stopProbe()
	lat := probe(probeCtx, cs)
	start := time.Now()
	if _, err := cs.AppsV1().Deployments("default").UpdateScale(ctx, "scale", &autoscalingv1.Scale{
		ObjectMeta: metav1.ObjectMeta{Name: "scale", Namespace: "default"},
		Spec:       autoscalingv1.ScaleSpec{Replicas: int32(replicas)},
	}, metav1.UpdateOptions{}); err != nil {
		return err
	}
	var podsAt time.Duration
	err = poll(10*time.Minute, func() (bool, error) {
		rs, err := cs.AppsV1().ReplicaSets("default").Get(ctx, rsName, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if int(rs.Status.Replicas) == replicas && podsAt == 0 {
			podsAt = time.Since(start)
		}
		return int(rs.Status.Replicas) == replicas && rs.Status.ObservedGeneration >= rs.Generation, nil
	})
	total := time.Since(start)
	stopProbe()
	if err != nil {
		return fmt.Errorf("waiting for %d replicas: %w", replicas, err)
	}
	l, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=scale", ResourceVersion: "0"})
	if err != nil {
		return err
	}
	latencies := <-lat
	if path := os.Getenv("SCALE_HEAP_PROFILE"); path != "" {
		if resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/heap", mport)); err == nil {
			if f, err := os.Create(path); err == nil {
				_, _ = io.Copy(f, resp.Body)
				f.Close()
			}
			resp.Body.Close()
		}
	}
	fmt.Printf("SCALE 0 -> %d replicas: ReplicaSet status.replicas=%d after %.2fs; pods listed: %d\n",
		replicas, replicas, total.Seconds(), len(l.Items))
	fmt.Printf("APISERVER latency for another client meanwhile (%d probes): p50=%v p99=%v max=%v\n",
		len(latencies), pct(latencies, 0.5), pct(latencies, 0.99), pct(latencies, 1))
	fmt.Printf("RSS controller-manager: peak %d KiB, now %d KiB; apiserver: peak %d KiB, now %d KiB\n",
		rss(cm.Process.Pid, "VmHWM"), rss(cm.Process.Pid, "VmRSS"), rss(api.Process.Pid, "VmHWM"), rss(api.Process.Pid, "VmRSS"))
	return nil
}

// probe measures another client's requests every 50 ms until ctx ends: a GET
// of a namespace and a LIST of the services of a namespace.
func probe(ctx context.Context, cs kubernetes.Interface) <-chan []time.Duration {
	out := make(chan []time.Duration, 1)
	go func() {
		var lat []time.Duration
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				out <- lat
				return
			case <-t.C:
			}
			s := time.Now()
			if _, err := cs.CoreV1().Namespaces().Get(ctx, "kube-system", metav1.GetOptions{}); err == nil {
				lat = append(lat, time.Since(s))
			}
			s = time.Now()
			if _, err := cs.CoreV1().Services("default").List(ctx, metav1.ListOptions{}); err == nil {
				lat = append(lat, time.Since(s))
			}
		}
	}()
	return out
}

func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(p*float64(len(s))+0.5) - 1
	i = max(0, min(i, len(s)-1))
	return s[i].Round(100 * time.Microsecond)
}

func rss(pid int, field string) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, field+":") {
			f := strings.Fields(l)
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	return -1
}

func poll(timeout time.Duration, f func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := f()
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("not after %v", timeout)
			}
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitReady(ctx context.Context, cs kubernetes.Interface) error {
	return poll(30*time.Second, func() (bool, error) {
		b, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err == nil && string(b) == "ok", nil
	})
}

func waitFile(path string, timeout time.Duration) error {
	return poll(timeout, func() (bool, error) {
		_, err := os.Stat(path)
		return err == nil, nil
	})
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// stop ends a process this program started, by its PID.
func stop(c *exec.Cmd) {
	_ = c.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() {
		_ = c.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = c.Process.Kill()
		<-done
	}
}
