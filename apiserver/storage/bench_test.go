package storage

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// benchFixture is a store with n ConfigMaps of 1 KiB in namespace "bench".
func benchFixture(b *testing.B, n int) *fixture {
	b.Helper()
	f := newFixture(b, func(c *Config) { c.Logf = nil })
	payload := strings.Repeat("x", 1024)
	ctx := context.Background()
	for i := range n {
		c := cm("bench", fmt.Sprintf("cm-%05d", i), map[string]string{"payload": payload}, map[string]string{"app": "bench"})
		c.UID = "uid"
		if _, err := f.cms.Create(ctx, c, WriteOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	return f
}

// BenchmarkCreate measures a create of a 1 KiB ConfigMap through storage,
// etcd's commit included.
func BenchmarkCreate(b *testing.B) {
	f := benchFixture(b, 0)
	payload := strings.Repeat("x", 1024)
	var n atomic.Int64
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c := cm("bench", "c-"+strconv.FormatInt(n.Add(1), 10), map[string]string{"payload": payload}, nil)
			c.UID = "uid"
			if _, err := f.cms.Create(context.Background(), c, WriteOptions{}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkList measures a consistent LIST of 5,000 cached objects.
func BenchmarkList(b *testing.B) {
	f := benchFixture(b, 5000)
	b.ResetTimer()
	for b.Loop() {
		res, err := f.cms.List(context.Background(), ListOptions{Predicate: Predicate{Namespace: "bench"}})
		if err != nil || len(res.Items) != 5000 {
			b.Fatalf("list: %d items, %v", len(res.Items), err)
		}
	}
}

// BenchmarkWatchFanout measures an update delivered to 100 watchers.
func BenchmarkWatchFanout(b *testing.B) {
	f := benchFixture(b, 1)
	ctx := context.Background()
	var ws []*Watcher
	for range 100 {
		w, err := f.cms.Watch(ctx, WatchOptions{RV: strconv.FormatInt(f.cms.RV(), 10)})
		if err != nil {
			b.Fatal(err)
		}
		defer w.Stop()
		ws = append(ws, w)
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := f.cms.GuaranteedUpdate(ctx, "bench/cm-00000", UpdateOptions{}, func(cur runtime.Object) (runtime.Object, error) {
			cur.(*corev1.ConfigMap).Data["seq"] = strconv.Itoa(i)
			return cur, nil
		}); err != nil {
			b.Fatal(err)
		}
		for _, w := range ws {
			if _, err := w.Next(ctx, nil); err != nil {
				b.Fatal(err)
			}
		}
	}
}
