package tendtest_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tendhq/tend/tendtest"
)

func TestStart(t *testing.T) {
	start := time.Now()
	c := tendtest.Start(t, tendtest.Options{})
	t.Logf("cluster up in %v", time.Since(start))
	ctx := context.Background()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "hello"}, Data: map[string]string{"k": "v"}}
	if _, err := c.Client().CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := c.Client().CoreV1().ConfigMaps("default").Get(ctx, "hello", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Data["k"] != "v" || got.UID == "" || got.ResourceVersion == "" {
		t.Fatalf("Get = %+v; want data k=v with uid and resourceVersion set", got)
	}
}

// BenchmarkStart measures a test cluster's start, from nothing to serving.
func BenchmarkStart(b *testing.B) {
	for b.Loop() {
		c, err := tendtest.StartContext(context.Background(), tendtest.Options{})
		if err != nil {
			b.Fatal(err)
		}
		c.Stop()
	}
}

func TestKubelet(t *testing.T) {
	for _, node := range []string{"", "node-a"} {
		c := tendtest.Start(t, tendtest.Options{})
		tendtest.StartKubelet(t, c, tendtest.KubeletOptions{NodeName: node})
		ctx := context.Background()
		pods := c.Client().CoreV1().Pods("default")
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "img:1"}}}}
		if _, err := pods.Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		var got *corev1.Pod
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			var err error
			if got, err = pods.Get(ctx, "p", metav1.GetOptions{}); err != nil {
				t.Fatal(err)
			}
			if got.Status.Phase == corev1.PodRunning || time.Now().After(deadline) {
				break
			}
		}
		ready := false
		for _, c := range got.Status.Conditions {
			ready = ready || (c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue)
		}
		if got.Status.Phase != corev1.PodRunning || !ready || got.Status.PodIP == "" || got.Spec.NodeName != node {
			t.Fatalf("node %q: pod = phase %s ready %v ip %q node %q; want Running, Ready, an IP, on %q",
				node, got.Status.Phase, ready, got.Status.PodIP, got.Spec.NodeName, node)
		}
		// A graceful delete completes: the stand-in finishes it when it holds the pod.
		if err := pods.Delete(ctx, "p", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			if _, err := pods.Get(ctx, "p", metav1.GetOptions{}); err != nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("node %q: the deleted pod is still there", node)
			}
		}
	}
}
