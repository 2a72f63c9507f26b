package replicaset

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/tendhq/tend/controllers"
	"github.com/tendhq/tend/informers"
)

// laggingPods lists pods at once but delivers every watch event lag late: a
// slow watch, as under load.
type laggingPods struct {
	inner informers.ListWatcher[*corev1.PodList]
	lag   time.Duration
}

func (l laggingPods) List(ctx context.Context, opts metav1.ListOptions) (*corev1.PodList, error) {
	return l.inner.List(ctx, opts)
}

func (l laggingPods) Watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
	w, err := l.inner.Watch(ctx, opts)
	if err != nil {
		return nil, err
	}
	lw := &laggingWatch{inner: w, out: make(chan watch.Event), stop: make(chan struct{})}
	go lw.run(l.lag)
	return lw, nil
}

type laggingWatch struct {
	inner watch.Interface
	out   chan watch.Event
	stop  chan struct{}
	once  sync.Once
}

func (w *laggingWatch) run(lag time.Duration) {
	defer close(w.out)
	type stamped struct {
		e  watch.Event
		at time.Time
	}
	// Each event is held lag after it arrived, not after the one before.
	buf := make(chan stamped, 4096)
	go func() {
		defer close(buf)
		for e := range w.inner.ResultChan() {
			buf <- stamped{e, time.Now()}
		}
	}()
	for s := range buf {
		select {
		case <-time.After(time.Until(s.at.Add(lag))):
		case <-w.stop:
			return
		}
		select {
		case w.out <- s.e:
		case <-w.stop:
			return
		}
	}
}

func (w *laggingWatch) Stop() {
	w.once.Do(func() { close(w.stop) })
	w.inner.Stop()
}

func (w *laggingWatch) ResultChan() <-chan watch.Event { return w.out }

// TestExpectationsHoldWhileTheWatchLags reconciles again and again while the
// pod informer has not yet seen the pods the first reconcile created or
// deleted: without expectations each reconcile would act again.
func TestExpectationsHoldWhileTheWatchLags(t *testing.T) {
	e := newEnv(t)
	const lag = 500 * time.Millisecond
	pods := informers.New[*corev1.Pod](laggingPods{inner: e.client.CoreV1().Pods(""), lag: lag}, informers.Options{})
	sets := informers.New[*appsv1.ReplicaSet](e.client.AppsV1().ReplicaSets(""), informers.Options{})
	_, r := newReconciler(replicaSets(e.client), sets, pods, e.client, e.rec, controllers.Options{})
	go pods.Run(e.ctx)
	go sets.Run(e.ctx)
	if !informers.WaitForSync(e.ctx, pods, sets) {
		t.Fatal("informers did not sync")
	}
	e.createRS(newReplicaSet("web", 5))
	eventually(t, 5*time.Second, func() string {
		if _, ok := sets.Get(e.ns, "web"); !ok {
			return "the ReplicaSet informer has not seen web"
		}
		return ""
	})
	req := controllers.Request{Namespace: e.ns, Name: "web"}
	reconcileTimes := func(n int) {
		t.Helper()
		for range n {
			if _, err := r.Reconcile(e.ctx, req); err != nil {
				t.Fatalf("Reconcile: %v", err)
			}
		}
	}
	countPods := func(want int, why string) {
		t.Helper()
		if got := len(e.pods()); got != want {
			t.Fatalf("%s: pods = %d; want %d", why, got, want)
		}
	}

	reconcileTimes(1)
	countPods(5, "after the first reconcile")
	reconcileTimes(5)
	if got := len(pods.ListNamespace(e.ns)); got != 0 {
		t.Fatalf("the lagging informer holds %d pods; want 0 (the test needs the lag)", got)
	}
	countPods(5, "reconciling while the informer holds none of them")
	eventually(t, 5*lag, func() string {
		if got := len(pods.ListNamespace(e.ns)); got != 5 {
			return fmt.Sprintf("the informer holds %d pods; want 5", got)
		}
		return ""
	})
	reconcileTimes(3)
	countPods(5, "once the informer caught up")

	// Scaling down: the victims are expected gone, so reconciles that still
	// see them delete no others.
	e.scaleRS("web", 2)
	eventually(t, 5*time.Second, func() string {
		if rs, ok := sets.Get(e.ns, "web"); !ok || *rs.Spec.Replicas != 2 {
			return "the ReplicaSet informer has not seen the scale to 2"
		}
		return ""
	})
	reconcileTimes(1)
	countPods(2, "after scaling down to 2")
	reconcileTimes(5)
	if got := len(pods.ListNamespace(e.ns)); got != 5 {
		t.Fatalf("the lagging informer holds %d pods; want 5 (the test needs the lag)", got)
	}
	countPods(2, "reconciling while the informer still holds the deleted pods")
	eventually(t, 5*lag, func() string {
		if got := len(pods.ListNamespace(e.ns)); got != 2 {
			return fmt.Sprintf("the informer holds %d pods; want 2", got)
		}
		return ""
	})
	reconcileTimes(3)
	countPods(2, "once the informer caught up")
}
