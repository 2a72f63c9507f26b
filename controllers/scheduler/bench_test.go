package scheduler

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/tendhq/tend/controllers"
	"github.com/tendhq/tend/informers"
	"github.com/tendhq/tend/tendtest"
)

// BenchmarkScheduler measures the time from a scheduler's start to every one
// of 10,000 pending pods bound, on 1,000 and 5,000 nodes (Node objects only,
// no kubelets), against a real apiserver in the same process: the same two
// cores serve the apiserver, etcd and the scheduler. It reports pods/s and
// the mean cost of a scheduling algorithm run (snapshot update and the
// framework's Schedule) per pod. Run it with -benchtime=1x. Knobs:
// TEND_SCHED_BENCH_PODS=n schedules n pods instead; TEND_SCHED_BENCH_TRACE=1
// logs progress every second; TEND_SCHED_BENCH_CPUPROFILE=file profiles the
// timed part only (the set-up is most of a -cpuprofile); TEND_SCHED_BENCH_BINDS=n
// allows n bindings in flight instead of maxBindsInFlight.
func BenchmarkScheduler(b *testing.B) {
	pods := 10000
	if v := os.Getenv("TEND_SCHED_BENCH_PODS"); v != "" {
		var err error
		if pods, err = strconv.Atoi(v); err != nil {
			b.Fatalf("TEND_SCHED_BENCH_PODS=%q: %v", v, err)
		}
	}
	for _, nodes := range []int{1000, 5000} {
		b.Run(fmt.Sprintf("nodes=%d", nodes), func(b *testing.B) {
			var total, algo time.Duration
			for i := 0; i < b.N; i++ {
				elapsed, perPod := benchOnce(b, nodes, pods)
				total += elapsed
				algo += perPod
			}
			b.ReportMetric(float64(pods*b.N)/total.Seconds(), "pods/s")
			b.ReportMetric(float64(algo.Microseconds())/float64(b.N), "algo-µs/pod")
		})
	}
}

// benchOnce builds a cluster, then schedules pods on it with the timer on.
func benchOnce(b *testing.B, nodes, pods int) (elapsed, algoPerPod time.Duration) {
	b.StopTimer()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cluster, err := tendtest.StartContext(ctx, tendtest.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer cluster.Stop()
	e := &env{t: b, ctx: ctx, cluster: cluster, ns: "bench", binds: &bindCounter{}}
	rc := e.restConfig()
	e.client = kubernetes.NewForConfigOrDie(rc)
	if _, err := e.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: e.ns}}, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	setup := time.Now()
	parallel(b, nodes, func(i int) error {
		_, err := e.client.CoreV1().Nodes().Create(ctx, makeNode(nodeSpec{name: fmt.Sprintf("node-%05d", i), cpu: "32", memory: "128Gi", pods: 110}), metav1.CreateOptions{})
		return err
	})
	parallel(b, pods, func(i int) error {
		p := makePod(fmt.Sprintf("pod-%05d", i), "10m")
		p.Spec.Containers[0].Resources.Requests[corev1.ResourceMemory] = resource.MustParse("16Mi")
		_, err := e.client.CoreV1().Pods(e.ns).Create(ctx, p, metav1.CreateOptions{})
		return err
	})
	b.Logf("%d nodes and %d pods created in %v", nodes, pods, time.Since(setup).Round(time.Millisecond))

	reg := prometheus.NewRegistry()
	factory, err := informers.NewFactory(rc, informers.FactoryOptions{})
	if err != nil {
		b.Fatal(err)
	}
	var dropped atomic.Int64
	rec := controllers.NewRecorder(e.client, DefaultSchedulerName, controllers.RecorderOptions{Host: "bench", Logf: func(string, ...any) { dropped.Add(1) }})
	s, err := New(e.client, factory, rec, Config{Registerer: reg})
	if err != nil {
		b.Fatal(err)
	}
	if v := os.Getenv("TEND_SCHED_BENCH_BINDS"); v != "" {
		n, _ := strconv.Atoi(v)
		s.binds = make(chan struct{}, n)
	}
	st := &started{s: s, reg: reg}
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup

	if path := os.Getenv("TEND_SCHED_BENCH_CPUPROFILE"); path != "" {
		// The scheduling phase only, without the set-up.
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			b.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	b.StartTimer()
	start := time.Now()
	factory.Start(runCtx)
	wg.Go(func() { rec.Run(runCtx) })
	wg.Go(func() { _ = s.Run(runCtx) })
	scheduled := func() float64 {
		return st.counter("scheduler_schedule_attempts_total", map[string]string{"result": "scheduled"})
	}
	deadline := time.Now().Add(time.Duration(pods)*5*time.Millisecond + time.Minute)
	lastLog := time.Now()
	for scheduled() < float64(pods) {
		if os.Getenv("TEND_SCHED_BENCH_TRACE") != "" && time.Since(lastLog) > time.Second {
			lastLog = time.Now()
			a, bo, u := s.queue.Pending()
			_, cp, as := s.cache.counts()
			b.Logf("%v: scheduled %v, queue %d/%d/%d, cache pods %d assumed %d", time.Since(start).Round(time.Millisecond), scheduled(), a, bo, u, cp, as)
		}
		if time.Now().After(deadline) {
			b.Fatalf("%v of %d pods bound after %v", scheduled(), pods, time.Since(start))
		}
		time.Sleep(10 * time.Millisecond)
	}
	elapsed = time.Since(start)
	b.StopTimer()
	stop()
	wg.Wait()

	sum, count := histogram(reg, "scheduler_scheduling_algorithm_duration_seconds")
	if count > 0 {
		algoPerPod = time.Duration(sum / count * float64(time.Second))
	}
	b.Logf("%d pods on %d nodes: %v, %.0f pods/s; algorithm %v per pod; %d binding 409s; %d events not written",
		pods, nodes, elapsed.Round(time.Millisecond), float64(pods)/elapsed.Seconds(), algoPerPod, e.binds.count(409), dropped.Load())
	return elapsed, algoPerPod
}

// histogram returns the sum and count of a histogram without labels.
func histogram(reg *prometheus.Registry, name string) (sum, count float64) {
	mfs, err := reg.Gather()
	if err != nil {
		return 0, 0
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.Metric {
			var h *dto.Histogram = m.GetHistogram()
			sum += h.GetSampleSum()
			count += float64(h.GetSampleCount())
		}
	}
	return sum, count
}

// parallel runs fn(0..n-1) on 16 goroutines and fails t on the first error.
func parallel(t testing.TB, n int, fn func(i int) error) {
	var (
		wg    sync.WaitGroup
		next  atomic.Int64
		first atomic.Value
	)
	for range 16 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					first.CompareAndSwap(nil, err)
				}
			}
		})
	}
	wg.Wait()
	if err, _ := first.Load().(error); err != nil {
		t.Fatal(err)
	}
}
