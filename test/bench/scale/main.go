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
	"net/http"
	"os"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/tendhq/tend/test/bench/internal/cluster"
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
	c, err := cluster.New(tend)
	if err != nil {
		return err
	}
	defer c.Close()
	ctx := context.Background()
	_, cs, err := c.StartAPIServer(ctx, 100)
	if err != nil {
		return err
	}
	api := c.Procs()[0]
	cm, err := c.StartComponent("controller-manager", "controller-manager", "--leader-elect=false")
	if err != nil {
		return err
	}

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
	if err := cluster.Poll(30*time.Second, func() (bool, error) {
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
	err = cluster.Poll(10*time.Minute, func() (bool, error) {
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
		if resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/heap", cm.Port)); err == nil {
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
		len(latencies), cluster.Percentile(latencies, 0.5), cluster.Percentile(latencies, 0.99), cluster.Percentile(latencies, 1))
	fmt.Printf("RSS controller-manager: peak %d KiB, now %d KiB; apiserver: peak %d KiB, now %d KiB\n",
		cm.RSS("VmHWM"), cm.RSS("VmRSS"), api.RSS("VmHWM"), api.RSS("VmRSS"))
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
