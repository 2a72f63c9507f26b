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
