package informers_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/tendhq/tend/apiserver"
	"github.com/tendhq/tend/apiserver/storage"
	"github.com/tendhq/tend/informers"
	"github.com/tendhq/tend/tendtest"
)

// recorder records a handler's events as strings.
type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) handler() informers.Handler[*corev1.ConfigMap] {
	add := func(s string) {
		r.mu.Lock()
		r.events = append(r.events, s)
		r.mu.Unlock()
	}
	return informers.Handler[*corev1.ConfigMap]{
		OnAdd: func(o *corev1.ConfigMap, initial bool) { add(fmt.Sprintf("add %s initial=%v", o.Name, initial)) },
		OnUpdate: func(old, o *corev1.ConfigMap) {
			add(fmt.Sprintf("update %s %s->%s", o.Name, old.Data["v"], o.Data["v"]))
		},
		OnDelete: func(o *corev1.ConfigMap) { add("delete " + o.Name) },
	}
}

// waitFor waits until the recorder holds n events and returns them.
func (r *recorder) waitFor(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r.mu.Lock()
		got := append([]string(nil), r.events...)
		r.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d events %v; want %d", len(got), got, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func cm(ns, name, v string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"v": v}},
		Data: map[string]string{"v": v}}
}

func mustCreateNS(t *testing.T, cs kubernetes.Interface, name string) {
	t.Helper()
	if _, err := cs.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestInformerTyped(t *testing.T) {
	c := tendtest.Start(t, tendtest.Options{})
	cs := c.Client()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	mustCreateNS(t, cs, "a")
	mustCreateNS(t, cs, "b")
	cms := func(ns string) interface {
		Create(context.Context, *corev1.ConfigMap, metav1.CreateOptions) (*corev1.ConfigMap, error)
	} {
		return cs.CoreV1().ConfigMaps(ns)
	}
	if _, err := cms("a").Create(ctx, cm("a", "before", "1"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	inf := informers.New[*corev1.ConfigMap](cs.CoreV1().ConfigMaps(""), informers.Options{})
	if err := inf.AddIndex("byV", func(o *corev1.ConfigMap) []string { return []string{o.Data["v"]} }); err != nil {
		t.Fatal(err)
	}
	var rec recorder
	reg := inf.AddHandler(rec.handler())
	go inf.Run(ctx)
	if !informers.WaitForSync(ctx, inf, reg) {
		t.Fatal("did not sync")
	}
	if got := rec.waitFor(t, 1); got[0] != "add before initial=true" {
		t.Fatalf("first event = %q; want the initial add", got[0])
	}

	if _, err := cms("b").Create(ctx, cm("b", "x", "2"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().ConfigMaps("b").Update(ctx, cm("b", "x", "3"), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := cs.CoreV1().ConfigMaps("a").Delete(ctx, "before", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	got := rec.waitFor(t, 4)
	want := []string{"add before initial=true", "add x initial=false", "update x 2->3", "delete before"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("events = %v; want %v", got, want)
	}

	if o, ok := inf.Get("b", "x"); !ok || o.Data["v"] != "3" {
		t.Errorf("Get(b/x) = %v, %v; want v=3", o, ok)
	}
	if _, ok := inf.Get("a", "before"); ok {
		t.Error("Get(a/before) found a deleted object")
	}
	if n := len(inf.ListNamespace("b")); n != 1 {
		t.Errorf("ListNamespace(b) has %d objects; want 1", n)
	}
	if objs, err := inf.ByIndex("byV", "3"); err != nil || len(objs) != 1 || objs[0].Name != "x" {
		t.Errorf("ByIndex(byV, 3) = %v, %v; want [x]", objs, err)
	}
	if objs, _ := inf.ByIndex("byV", "2"); len(objs) != 0 {
		t.Errorf("ByIndex(byV, 2) still holds %v after the update", objs)
	}
	if _, err := inf.ByIndex("nope", "x"); err == nil {
		t.Error("ByIndex of an unknown index succeeded")
	}

	// A handler added after the sync gets the current state first.
	var late recorder
	lateReg := inf.AddHandler(late.handler())
	if !informers.WaitForSync(ctx, lateReg) {
		t.Fatal("late handler did not sync")
	}
	if got := late.waitFor(t, 1); got[0] != "add x initial=true" {
		t.Errorf("late handler's first event = %q; want add x initial=true", got[0])
	}
	inf.RemoveHandler(lateReg)
}

// flakyLW wraps a ListWatcher so a test can end watches and hold new ones back.
type flakyLW struct {
	inner informers.ListWatcher[*corev1.ConfigMapList]

	mu      sync.Mutex
	lists   int
	watches []watch.Interface
	gate    chan struct{} // closed: watches may start
}

func newFlaky(inner informers.ListWatcher[*corev1.ConfigMapList]) *flakyLW {
	g := make(chan struct{})
	close(g)
	return &flakyLW{inner: inner, gate: g}
}

func (f *flakyLW) List(ctx context.Context, o metav1.ListOptions) (*corev1.ConfigMapList, error) {
	f.mu.Lock()
	f.lists++
	f.mu.Unlock()
	return f.inner.List(ctx, o)
}

func (f *flakyLW) Watch(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
	f.mu.Lock()
	gate := f.gate
	f.mu.Unlock()
	select {
	case <-gate:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	w, err := f.inner.Watch(ctx, o)
	if err == nil {
		f.mu.Lock()
		f.watches = append(f.watches, w)
		f.mu.Unlock()
	}
	return w, err
}

// cut ends every open watch, and holds new ones back until release.
func (f *flakyLW) cut() (release func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	g := make(chan struct{})
	f.gate = g
	for _, w := range f.watches {
		w.Stop()
	}
	f.watches = nil
	return func() { close(g) }
}

func (f *flakyLW) listCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lists
}

func TestInformerResumesAndRelists(t *testing.T) {
	c := tendtest.Start(t, tendtest.Options{Tune: func(cfg *apiserver.Config) {
		cfg.Storage.History = storage.History{Min: 2, Max: 4, Window: time.Millisecond}
	}})
	cs := c.Client()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	api := cs.CoreV1().ConfigMaps("default")
	lw := newFlaky(api)
	inf := informers.New[*corev1.ConfigMap](lw, informers.Options{})
	var rec recorder
	inf.AddHandler(rec.handler())
	go inf.Run(ctx)
	if !informers.WaitForSync(ctx, inf) {
		t.Fatal("did not sync")
	}

	// A cut with few changes meanwhile: the informer resumes from its last
	// resourceVersion, without listing, and misses nothing.
	release := lw.cut()
	if _, err := api.Create(ctx, cm("default", "one", "1"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	release()
	if got := rec.waitFor(t, 1); got[0] != "add one initial=false" {
		t.Fatalf("after the first cut: %v", got)
	}
	if n := lw.listCount(); n != 1 {
		t.Errorf("lists after a resumed watch = %d; want 1", n)
	}

	// A cut long enough for the server to forget the informer's version: the
	// informer lists again and reports what it missed.
	release = lw.cut()
	for i := range 8 {
		if _, err := api.Create(ctx, cm("default", fmt.Sprintf("many-%d", i), "1"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := api.Delete(ctx, "one", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond) // past the history window
	if _, err := api.Create(ctx, cm("default", "last", "1"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	release()
	got := rec.waitFor(t, 11)
	sort.Strings(got[1:])
	if !strings.Contains(fmt.Sprint(got), "delete one") || len(inf.List()) != 9 {
		t.Errorf("after the expired cut: events %v, %d objects; want one deleted and 9 held", got, len(inf.List()))
	}
	if n := lw.listCount(); n != 2 {
		t.Errorf("lists after an expired watch = %d; want 2", n)
	}
}

func TestStreamingList(t *testing.T) {
	c := tendtest.Start(t, tendtest.Options{})
	cs := c.Client()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	api := cs.CoreV1().ConfigMaps("default")
	for i := range 3 {
		if _, err := api.Create(ctx, cm("default", fmt.Sprintf("s%d", i), "1"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	lw := newFlaky(api)
	inf := informers.New[*corev1.ConfigMap](lw, informers.Options{StreamingList: true})
	var rec recorder
	inf.AddHandler(rec.handler())
	go inf.Run(ctx)
	if !informers.WaitForSync(ctx, inf) {
		t.Fatal("did not sync")
	}
	if n := len(inf.List()); n != 3 {
		t.Errorf("streamed initial state holds %d objects; want 3", n)
	}
	if n := lw.listCount(); n != 0 {
		t.Errorf("a streaming informer made %d LISTs; want 0", n)
	}
	if _, err := api.Create(ctx, cm("default", "after", "1"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := rec.waitFor(t, 4); got[3] != "add after initial=false" {
		t.Errorf("events after the stream = %v; want the new object added", got)
	}
}

func TestFactory(t *testing.T) {
	c := tendtest.Start(t, tendtest.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f, err := informers.NewFactory(c.RESTConfig(), informers.FactoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pods := informers.For[*corev1.Pod](f)
	if informers.For[*corev1.Pod](f) != pods {
		t.Error("For returned two informers of pods")
	}
	if informers.ForSelected[*corev1.Pod](f, informers.Selectors{Field: "spec.nodeName=n1"}) == pods {
		t.Error("a selected informer is the unselected one")
	}
	nsGVR := schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	dyn := informers.Dynamic(f, nsGVR, false, informers.Selectors{})
	md := informers.Metadata(f, nsGVR, false)
	svcs := informers.For[*corev1.Service](f)
	f.Start(ctx)
	if !f.WaitForSync(ctx) {
		t.Fatal("factory did not sync")
	}
	// Informers made after Start run at once.
	late := informers.For[*corev1.Namespace](f)
	if !informers.WaitForSync(ctx, late) {
		t.Fatal("an informer made after Start did not sync")
	}
	if _, ok := svcs.Get("default", "kubernetes"); !ok {
		t.Error("typed informer lacks default/kubernetes")
	}
	var u *unstructured.Unstructured
	u, ok := dyn.Get("", "kube-system")
	if !ok || u.GetKind() != "Namespace" {
		t.Errorf("dynamic informer Get(kube-system) = %v, %v", u, ok)
	}
	if m, ok := md.Get("", "default"); !ok || m.UID == "" {
		t.Errorf("metadata informer Get(default) = %v, %v", m, ok)
	}
	if n := len(late.List()); n < 4 {
		t.Errorf("namespaces informer holds %d; want at least 4", n)
	}
}
