package controllers_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"

	"github.com/tendhq/tend/controllers"
	"github.com/tendhq/tend/tendtest"
)

func pod(name string, lbls map[string]string, owner *metav1.OwnerReference) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Labels: lbls},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "img:1"}}}}
	if owner != nil {
		p.OwnerReferences = []metav1.OwnerReference{*owner}
	}
	return p
}

func TestClaim(t *testing.T) {
	c := tendtest.Start(t, tendtest.Options{})
	cs := c.Client()
	ctx := context.Background()
	rs, err := cs.AppsV1().ReplicaSets("default").Create(ctx, &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "rs"},
		Spec: appsv1.ReplicaSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "a"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "a"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "img:1"}}}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	kind := appsv1.SchemeGroupVersion.WithKind("ReplicaSet")
	mine := controllers.ControllerRef(rs, kind)
	other := controllers.ControllerRef(&metav1.ObjectMeta{Name: "other", UID: "other-uid"}, kind)
	for _, p := range []*corev1.Pod{
		pod("orphan-match", map[string]string{"app": "a"}, nil),
		pod("orphan-nomatch", map[string]string{"app": "b"}, nil),
		pod("mine-match", map[string]string{"app": "a"}, &mine),
		pod("mine-nomatch", map[string]string{"app": "b"}, &mine),
		pod("others", map[string]string{"app": "a"}, &other),
	} {
		if _, err := cs.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	list, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var pods []*corev1.Pod
	for i := range list.Items {
		pods = append(pods, &list.Items[i])
	}
	owner := controllers.Owner{Object: rs, Kind: kind, Selector: labels.SelectorFromSet(labels.Set{"app": "a"}),
		Recheck: func(ctx context.Context) (metav1.Object, error) {
			return cs.AppsV1().ReplicaSets("default").Get(ctx, "rs", metav1.GetOptions{})
		}}
	patch := controllers.StrategicPatch[*corev1.Pod](cs.CoreV1().Pods)
	claimed, err := controllers.Claim(ctx, owner, pods, patch)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range claimed {
		names = append(names, p.Name)
	}
	sort.Strings(names)
	if fmt.Sprint(names) != "[mine-match orphan-match]" {
		t.Errorf("claimed %v; want [mine-match orphan-match]", names)
	}
	wantOwner := map[string]string{"orphan-match": "rs", "orphan-nomatch": "", "mine-match": "rs", "mine-nomatch": "", "others": "other"}
	for name, want := range wantOwner {
		p, err := cs.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		if ref := metav1.GetControllerOf(p); ref != nil {
			got = ref.Name
		}
		if got != want {
			t.Errorf("%s is controlled by %q; want %q", name, got, want)
		}
	}
}

func TestRecorderAggregates(t *testing.T) {
	c := tendtest.Start(t, tendtest.Options{})
	cs := c.Client()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cm, err := cs.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rec := controllers.NewRecorder(cs, "test-controller", controllers.RecorderOptions{Host: "h1"})
	go rec.Run(ctx)
	for range 3 {
		rec.Event(cm, corev1.EventTypeWarning, "Failed", "could not frobnicate")
	}
	rec.Eventf(cm, corev1.EventTypeNormal, "Done", "frobnicated %d things", 2)
	var events []corev1.Event
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		l, err := cs.CoreV1().Events("default").List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=x"})
		if err != nil {
			t.Fatal(err)
		}
		events = l.Items
		total := int32(0)
		for _, e := range events {
			total += e.Count
		}
		if total == 4 {
			break
		}
	}
	got := map[string]int32{}
	for _, e := range events {
		got[e.Reason] = e.Count
		if e.InvolvedObject.Kind != "ConfigMap" || e.InvolvedObject.UID != cm.UID || e.Source.Component != "test-controller" {
			t.Errorf("event %s: involvedObject %+v, source %+v", e.Name, e.InvolvedObject, e.Source)
		}
	}
	if len(events) != 2 || got["Failed"] != 3 || got["Done"] != 1 {
		t.Errorf("events = %v; want one Failed with count 3 and one Done with count 1", got)
	}
}

func TestLeaderElection(t *testing.T) {
	c := tendtest.Start(t, tendtest.Options{})
	cs := c.Client()
	var leading atomic.Int32
	var mu sync.Mutex
	var leaders []string
	run := func(ctx context.Context, id string, client kubernetes.Interface) func() {
		ctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			err := controllers.RunLeaderElected(ctx, controllers.LeaderElection{
				Client: client, Namespace: "kube-system", Name: "test-lease", Identity: id,
				LeaseDuration: 2 * time.Second, RenewDeadline: time.Second, RetryPeriod: 100 * time.Millisecond,
			}, func(ctx context.Context) {
				if n := leading.Add(1); n != 1 {
					t.Errorf("%d candidates lead at once", n)
				}
				mu.Lock()
				leaders = append(leaders, id)
				mu.Unlock()
				<-ctx.Done()
				leading.Add(-1)
			})
			if err != nil {
				t.Error(err)
			}
		}()
		return func() {
			cancel()
			<-done
		}
	}
	ctx := context.Background()
	stopA := run(ctx, "a", cs)
	waitLeaders := func(n int) []string {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			mu.Lock()
			got := append([]string(nil), leaders...)
			mu.Unlock()
			if len(got) >= n {
				return got
			}
			if time.Now().After(deadline) {
				t.Fatalf("leaders so far %v; want %d", got, n)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitLeaders(1)
	stopB := run(ctx, "b", cs)
	time.Sleep(500 * time.Millisecond) // b campaigns, and must not win while a leads
	if got := waitLeaders(1); len(got) != 1 {
		t.Fatalf("leaders %v while a holds the lease", got)
	}
	start := time.Now()
	stopA() // releases the lease: b takes over at once
	if got := waitLeaders(2); got[1] != "b" {
		t.Fatalf("leaders = %v; want b after a", got)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("takeover after a released the lease took %v", d)
	}
	stopB()
}
