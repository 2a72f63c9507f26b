package storage

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
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

// nodeWatchers starts n watches on c, the i-th on the pods of node-i, as n
// kubelets do. They are stopped when the benchmark ends.
func nodeWatchers(b *testing.B, c *Cache, n int) []*Watcher {
	b.Helper()
	ws := make([]*Watcher, n)
	for i := range ws {
		w, err := c.Watch(context.Background(), WatchOptions{RV: "0", Predicate: Predicate{
			Field: fields.OneTermEqualSelector("spec.nodeName", fmt.Sprintf("node-%d", i))}})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(w.Stop)
		ws[i] = w
	}
	return ws
}

// BenchmarkWatchDispatchByNode measures the cache applying one pod update when n
// watchers each watch the pods of their own node (spec.nodeName=node-i), as n
// kubelets do: the update concerns one of them. It drives the cache directly,
// without etcd, so that what it measures is the dispatch.
func BenchmarkWatchDispatchByNode(b *testing.B) {
	for _, n := range []int{1000, 5000} {
		b.Run(fmt.Sprintf("watchers=%d", n), func(b *testing.B) {
			f := newFixture(b, func(c *Config) { c.Logf = nil })
			// A cache of its own that no etcd watch feeds: the benchmark feeds it.
			c := newCache(f.store, f.pods.Resource())
			close(c.ready)
			ws := nodeWatchers(b, c, n)
			// Two states of one pod per node; updates alternate between them.
			objs := make([][2]*Object, n)
			keys := make([][]byte, n)
			for i := range objs {
				for j := range 2 {
					p := pod("bench", fmt.Sprintf("p-%d", i), fmt.Sprintf("node-%d", i))
					p.UID = "uid"
					p.Annotations = map[string]string{"seq": strconv.Itoa(j)}
					o, err := c.res.newObject(p, 1)
					if err != nil {
						b.Fatal(err)
					}
					objs[i][j] = o
				}
				keys[i] = []byte(c.res.Prefix + objs[i][0].Key)
			}
			// Events are already queued when apply returns, so Next is called with
			// a done context: it returns them, or fails at once instead of hanging
			// when the event went astray.
			done, cancel := context.WithCancel(context.Background())
			cancel()
			// Each watcher has its own buffer: Next keeps the one it is given as
			// the watcher's next queue.
			bufs := make([][]Event, n)
			var rev int64
			write := func(i, j int) {
				rev++
				// As Cache.written does: the state at its revision, for apply to take.
				f.store.putWritten(string(keys[i]), rev, objs[i][j].withRV(rev))
				c.apply([]*clientv3.Event{{Type: mvccpb.PUT, Kv: &mvccpb.KeyValue{Key: keys[i], ModRevision: rev}}})
				evs, err := ws[i].Next(done, bufs[i])
				if err != nil || len(evs) != 1 {
					b.Fatalf("watcher %d: %d events, %v; want 1", i, len(evs), err)
				}
				bufs[i] = evs
			}
			for i := range n {
				write(i, 0)
			}
			for k := 0; b.Loop(); k++ {
				write(k%n, (k/n+1)%2)
			}
		})
	}
}

// BenchmarkCreateWithNodeWatchers measures a pod create through storage, etcd's
// commit included, until its event reaches the one of n node watchers it
// concerns.
func BenchmarkCreateWithNodeWatchers(b *testing.B) {
	for _, n := range []int{1000, 5000} {
		b.Run(fmt.Sprintf("watchers=%d", n), func(b *testing.B) {
			f := newFixture(b, func(c *Config) { c.Logf = nil })
			ws := nodeWatchers(b, f.pods, n)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			bufs := make([][]Event, n)
			for k := 0; b.Loop(); k++ {
				i := k % n
				p := pod("bench", "p-"+strconv.Itoa(k), fmt.Sprintf("node-%d", i))
				p.UID = "uid"
				if _, err := f.pods.Create(ctx, p, WriteOptions{}); err != nil {
					b.Fatal(err)
				}
				evs, err := ws[i].Next(ctx, bufs[i])
				if err != nil || len(evs) != 1 {
					b.Fatalf("watcher %d: %d events, %v; want 1", i, len(evs), err)
				}
				bufs[i] = evs
			}
		})
	}
}
