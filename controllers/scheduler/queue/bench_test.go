package queue

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
)

const benchPods = 10000

func benchPodList() []*corev1.Pod {
	pods := make([]*corev1.Pod, benchPods)
	for i := range pods {
		pods[i] = newPod(fmt.Sprintf("p%05d", i), withPriority(int32(i%3)))
	}
	return pods
}

// BenchmarkAddPop adds 10,000 pods and pops them all (each ended with Done),
// as the scheduler does with a burst of new pods.
func BenchmarkAddPop(b *testing.B) {
	pods := benchPodList()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		q := New(Config{})
		for _, p := range pods {
			q.Add(p)
		}
		for range pods {
			qp, err := q.Pop(ctx)
			if err != nil {
				b.Fatal(err)
			}
			q.Done(qp.Pod.UID)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchPods), "ns/pod")
}

// BenchmarkAddPopConcurrent adds from one goroutine (the informer) while
// another pops (the scheduling loop), so Pop often waits and is woken.
func BenchmarkAddPopConcurrent(b *testing.B) {
	pods := benchPodList()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		q := New(Config{})
		go func() {
			for _, p := range pods {
				q.Add(p)
			}
		}()
		for range pods {
			qp, err := q.Pop(ctx)
			if err != nil {
				b.Fatal(err)
			}
			q.Done(qp.Pod.UID)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchPods), "ns/pod")
}

// BenchmarkEventsWithUnschedulable measures the events the scheduler sends
// most, with 10,000 pods unschedulable for lack of resources: a bind
// (AssignedPodAdded), and a node event no rejecting plugin cares about.
func BenchmarkEventsWithUnschedulable(b *testing.B) {
	q, _ := newTestQueue(b, Config{Interests: testInterests})
	for _, p := range benchPodList() {
		q.Add(p)
	}
	for range benchPods {
		qp := popNow(b, q)
		qp.UnschedulablePlugins = sets.New("NodeResourcesFit")
		if err := q.Requeue(qp, q.SchedulingCycle()); err != nil {
			b.Fatal(err)
		}
	}
	assigned := bound(newPod("bound", withLabels("app", "web")), "n1")
	b.Run("AssignedPodAdded", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			q.AssignedPodAdded(assigned)
		}
	})
	b.Run("MoveAll/uninteresting", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			q.MoveAll(Event{Resource: Node, Action: UpdateNodeTaint}, nil, nil)
		}
	})
	b.Run("MoveAll/nothing-moves", func(b *testing.B) {
		// PodTopologySpread is interested but no pod was rejected by it:
		// every pod is looked at.
		b.ReportAllocs()
		for b.Loop() {
			q.MoveAll(Event{Resource: Node, Action: UpdateNodeLabel}, nil, nil)
		}
	})
	if _, _, u := q.Pending(); u != benchPods {
		b.Fatalf("unschedulable = %d; want %d", u, benchPods)
	}
}

func BenchmarkNominatedPods(b *testing.B) {
	q := New(Config{})
	b.Run("none", func(b *testing.B) {
		for b.Loop() {
			_ = q.NominatedPods("n1")
		}
	})
	q.Nominate(newPod("a"), "n2")
	b.Run("elsewhere", func(b *testing.B) {
		for b.Loop() {
			_ = q.NominatedPods("n1")
		}
	})
	b.Run("here", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = q.NominatedPods("n2")
		}
	})
}
