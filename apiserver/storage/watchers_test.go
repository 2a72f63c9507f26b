package storage

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
)

func TestIndexKey(t *testing.T) {
	indexes := []string{"spec.nodeName", "status.phase"}
	tests := []struct {
		field string // a field selector; "-" for none
		want  string // "field=value", or "" for the general set
	}{
		{"-", ""},
		{"", ""},
		{"spec.nodeName=a", "spec.nodeName=a"},
		{"spec.nodeName==a", "spec.nodeName=a"},
		{"spec.nodeName=", "spec.nodeName="},
		{"spec.nodeName!=a", ""},
		{"metadata.name=p,spec.nodeName=a", "spec.nodeName=a"},
		{"spec.nodeName!=a,status.phase=Running", "status.phase=Running"},
		{"status.phase=Running,spec.nodeName=a", "spec.nodeName=a"},
		{"metadata.name=p", ""},
		{"metadata.namespace=a,metadata.name=p", ""},
	}
	for _, tt := range tests {
		var p Predicate
		if tt.field != "-" {
			p.Field = fields.ParseSelectorOrDie(tt.field)
		}
		key, ok := indexKey(p, indexes)
		got := ""
		if ok {
			got = key.field + "=" + key.value
		}
		if got != tt.want {
			t.Errorf("indexKey(%q) = %q; want %q", tt.field, got, tt.want)
		}
	}
	if _, ok := indexKey(Predicate{Field: fields.OneTermEqualSelector("spec.nodeName", "a")}, nil); ok {
		t.Errorf("indexKey(spec.nodeName=a) with no indexes = indexed; want general")
	}
}

// TestWatcherSetVisits checks which watchers an event is handed to, with two
// indexed fields, without a cache: the set is a plain data structure.
func TestWatcherSetVisits(t *testing.T) {
	s := newWatcherSet([]string{"spec.nodeName", "status.phase"})
	names := map[*Watcher]string{}
	for _, w := range []struct{ name, field string }{
		{"all", ""},
		{"not-x", "spec.nodeName!=x"},
		{"node-a", "spec.nodeName=a"},
		{"node-b", "spec.nodeName=b"},
		{"unscheduled", "spec.nodeName="},
		{"a-running", "spec.nodeName=a,status.phase=Running"},
		{"running", "status.phase=Running"},
		{"pending", "status.phase=Pending"},
	} {
		watcher := &Watcher{pred: Predicate{Field: fields.ParseSelectorOrDie(w.field)}}
		s.addLocked(watcher)
		names[watcher] = w.name
	}
	obj := func(node, phase string) *Object {
		fs := fields.Set{"metadata.name": "p"}
		if node != "-" {
			fs["spec.nodeName"] = node
		}
		if phase != "-" {
			fs["status.phase"] = phase
		}
		return &Object{Key: "p", Name: "p", Fields: fs}
	}
	tests := []struct {
		name string
		e    *Event
		want string
	}{
		{"added on a, pending", &Event{Type: Added, Object: obj("a", "Pending")},
			"a-running all node-a not-x pending"},
		{"moved a to b, pending to running", &Event{Type: Modified, Object: obj("b", "Running"), Prev: obj("a", "Pending")},
			"a-running all node-a node-b not-x pending running"},
		{"updated in place", &Event{Type: Modified, Object: obj("a", "Running"), Prev: obj("a", "Running")},
			"a-running all node-a not-x running"},
		{"deleted on b", &Event{Type: Deleted, Object: obj("b", "Running"), Prev: obj("b", "Running")},
			"all node-b not-x running"},
		{"added unscheduled", &Event{Type: Added, Object: obj("", "Pending")},
			"all not-x pending unscheduled"},
		{"bound to c", &Event{Type: Modified, Object: obj("c", "Pending"), Prev: obj("", "Pending")},
			"all not-x pending unscheduled"},
		{"fields absent read as empty", &Event{Type: Added, Object: obj("-", "-")},
			"all not-x unscheduled"},
	}
	for _, tt := range tests {
		var got []string
		s.forEventLocked(tt.e, func(w *Watcher, e *Event) {
			if e != tt.e {
				t.Errorf("%s: watcher %s handed another event", tt.name, names[w])
			}
			got = append(got, names[w])
		})
		slices.Sort(got)
		if g := strings.Join(got, " "); g != tt.want {
			t.Errorf("%s: visited %q; want %q (each once)", tt.name, g, tt.want)
		}
	}
}

func gaugeValue(t *testing.T, g prometheus.Gauge) float64 {
	t.Helper()
	var m dto.Metric
	if err := g.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetGauge().GetValue()
}

// drain returns the events w holds now, without waiting for more.
func drain(t *testing.T, name string, w *Watcher) []Event {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out []Event
	for {
		evs, err := w.Next(ctx, nil)
		if errors.Is(err, context.Canceled) {
			return out
		}
		if err != nil {
			t.Fatalf("%s: after %q: %v", name, describe(out), err)
		}
		out = append(out, evs...)
	}
}

// TestIndexedWatchEvents drives pods through creation, updates, moves between
// nodes and deletion, and checks exactly which events each watcher receives and
// where it was registered.
func TestIndexedWatchEvents(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.BookmarkInterval = time.Hour })
	ctx := context.Background()
	web, api := map[string]string{"app": "web"}, map[string]string{"app": "api"}
	withLabels := func(p *corev1.Pod, l map[string]string) *corev1.Pod { p.Labels = l; return p }
	if _, err := f.pods.Create(ctx, withLabels(pod("a", "pre", "node-a"), web), WriteOptions{}); err != nil {
		t.Fatal(err)
	}

	sel := fields.ParseSelectorOrDie
	tests := []struct {
		name      string
		pred      Predicate
		bookmarks bool
		index     string // where the watcher is registered: "field=value" or "" (general)
		want      string
	}{
		{name: "all", bookmarks: true,
			want: "ADDED pre ADDED p1 MODIFIED p1 MODIFIED p1 ADDED p2 DELETED p1 ADDED p3 MODIFIED p3 BOOKMARK(end=false) "},
		{name: "node-a", pred: Predicate{Field: sel("spec.nodeName=node-a")}, index: "spec.nodeName=node-a",
			want: "ADDED pre ADDED p1 MODIFIED p1 DELETED p1 ADDED p3 "},
		{name: "node-b", pred: Predicate{Field: sel("spec.nodeName=node-b")}, index: "spec.nodeName=node-b", bookmarks: true,
			want: "ADDED p1 ADDED p2 DELETED p1 BOOKMARK(end=false) "},
		{name: "node-c", pred: Predicate{Field: sel("spec.nodeName=node-c")}, index: "spec.nodeName=node-c", bookmarks: true,
			want: "BOOKMARK(end=false) "},
		{name: "unscheduled", pred: Predicate{Field: sel("spec.nodeName=")}, index: "spec.nodeName=",
			want: "ADDED p3 DELETED p3 "},
		{name: "node-a and p1", pred: Predicate{Field: sel("spec.nodeName=node-a,metadata.name=p1")}, index: "spec.nodeName=node-a",
			want: "ADDED p1 MODIFIED p1 DELETED p1 "},
		{name: "p1 and node-b", pred: Predicate{Field: sel("metadata.name=p1,spec.nodeName=node-b")}, index: "spec.nodeName=node-b",
			want: "ADDED p1 DELETED p1 "},
		{name: "not node-x", pred: Predicate{Field: sel("spec.nodeName!=node-x")},
			want: "ADDED pre ADDED p1 MODIFIED p1 MODIFIED p1 ADDED p2 DELETED p1 ADDED p3 MODIFIED p3 "},
		{name: "not node-a", pred: Predicate{Field: sel("spec.nodeName!=node-a")},
			want: "ADDED p1 ADDED p2 DELETED p1 ADDED p3 DELETED p3 "},
		{name: "web on node-a", pred: Predicate{Label: labels.SelectorFromSet(web), Field: sel("spec.nodeName=node-a")}, index: "spec.nodeName=node-a",
			want: "ADDED pre ADDED p1 DELETED p1 "},
		{name: "api on node-b", pred: Predicate{Label: labels.SelectorFromSet(api), Field: sel("spec.nodeName=node-b")}, index: "spec.nodeName=node-b",
			want: "ADDED p1 DELETED p1 "},
		{name: "running", pred: Predicate{Field: sel("status.phase=Running")},
			want: "ADDED p2 "},
		{name: "namespace b on node-b", pred: Predicate{Namespace: "b", Field: sel("spec.nodeName=node-b")}, index: "spec.nodeName=node-b",
			want: "ADDED p2 "},
	}
	ws := make([]*Watcher, len(tests))
	for i, tt := range tests {
		w, err := f.pods.Watch(ctx, WatchOptions{RV: "0", Predicate: tt.pred, AllowBookmarks: tt.bookmarks})
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		defer w.Stop()
		ws[i] = w
		index := ""
		if w.indexed {
			index = w.index.field + "=" + w.index.value
		}
		if index != tt.index {
			t.Errorf("%s: registered under %q; want %q", tt.name, index, tt.index)
		}
	}

	update := func(key string, mutate func(p *corev1.Pod)) {
		t.Helper()
		if _, err := f.pods.GuaranteedUpdate(ctx, key, UpdateOptions{}, func(cur runtime.Object) (runtime.Object, error) {
			mutate(cur.(*corev1.Pod))
			return cur, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.pods.Create(ctx, withLabels(pod("a", "p1", "node-a"), web), WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	update("a/p1", func(p *corev1.Pod) { p.Labels = api })
	update("a/p1", func(p *corev1.Pod) { p.Spec.NodeName = "node-b" })
	p2 := pod("b", "p2", "node-b")
	p2.Status.Phase = corev1.PodRunning
	if _, err := f.pods.Create(ctx, p2, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.pods.Delete(ctx, "a/p1", WriteOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := f.pods.Create(ctx, pod("a", "p3", ""), WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	update("a/p3", func(p *corev1.Pod) { p.Spec.NodeName = "node-a" })
	// A consistent read returns once the cache reflects every write above, and
	// the cache hands out an event before it moves its revision past it.
	if _, err := f.pods.Get(ctx, "a/p3", ReadOptions{}); err != nil {
		t.Fatal(err)
	}
	f.pods.bookmark()

	for i, tt := range tests {
		if got := describe(drain(t, tt.name, ws[i])); got != tt.want {
			t.Errorf("%s: events = %q; want %q", tt.name, got, tt.want)
		}
	}
}

// TestWatcherIndexEmptiesOnStop checks that stopping watchers removes them and
// their index buckets, and keeps the watcher gauge right.
func TestWatcherIndexEmptiesOnStop(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	gauge := f.store.metrics.watchers.WithLabelValues(f.pods.res.Name)
	var ws []*Watcher
	for i := range 30 {
		opts := WatchOptions{RV: "0"}
		switch i % 3 {
		case 0:
			opts.Field = fields.OneTermEqualSelector("spec.nodeName", "node-"+strconv.Itoa(i%7))
		case 1:
			opts.Field = fields.OneTermNotEqualSelector("spec.nodeName", "node-"+strconv.Itoa(i%7))
		}
		w, err := f.pods.Watch(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		ws = append(ws, w)
	}
	f.pods.mu.RLock()
	general, buckets := len(f.pods.watchers.general), len(f.pods.watchers.byValue)
	f.pods.mu.RUnlock()
	if general != 20 || buckets != 7 {
		t.Fatalf("30 watchers, 10 on 7 nodes: %d general, %d buckets; want 20 and 7", general, buckets)
	}
	if got := gaugeValue(t, gauge); got != 30 {
		t.Fatalf("apiserver_registered_watchers = %v; want 30", got)
	}
	for _, w := range ws {
		w.Stop()
		w.Stop() // a second Stop is a no-op
	}
	f.pods.mu.RLock()
	general, buckets = len(f.pods.watchers.general), len(f.pods.watchers.byValue)
	f.pods.mu.RUnlock()
	if general != 0 || buckets != 0 {
		t.Errorf("after every Stop: %d general, %d buckets; want 0 and 0", general, buckets)
	}
	if got := gaugeValue(t, gauge); got != 0 {
		t.Errorf("apiserver_registered_watchers after every Stop = %v; want 0", got)
	}
}

// TestWatchersEndWhenCacheStops checks that a stopping cache ends indexed and
// general watchers alike and lets go of them.
func TestWatchersEndWhenCacheStops(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	var ws []*Watcher
	for _, field := range []fields.Selector{nil, fields.OneTermEqualSelector("spec.nodeName", "node-a")} {
		w, err := f.pods.Watch(ctx, WatchOptions{RV: "0", Predicate: Predicate{Field: field}})
		if err != nil {
			t.Fatal(err)
		}
		ws = append(ws, w)
	}
	f.stop()
	for i, w := range ws {
		tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err := w.Next(tctx, nil)
		cancel()
		if CodeOf(err) != CodeUnavailable {
			t.Errorf("watcher %d after the cache stopped: Next err = %v; want unavailable", i, err)
		}
		w.Stop()
	}
	f.pods.mu.RLock()
	general, buckets := len(f.pods.watchers.general), len(f.pods.watchers.byValue)
	f.pods.mu.RUnlock()
	if general != 0 || buckets != 0 {
		t.Errorf("after the cache stopped: %d general, %d buckets; want 0 and 0", general, buckets)
	}
	if got := gaugeValue(t, f.store.metrics.watchers.WithLabelValues(f.pods.res.Name)); got != 0 {
		t.Errorf("apiserver_registered_watchers after the cache stopped = %v; want 0", got)
	}
}

// TestIndexedFieldAbsent checks that an object without an indexed field is
// selected by field= (the field reads as empty, as in a scan) in a LIST served
// from the index and in an indexed WATCH.
func TestIndexedFieldAbsent(t *testing.T) {
	f := newFixture(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// ConfigMaps whose data.node is a selectable field only when set.
	c, err := f.store.Add(ctx, &Resource{Name: "nodemaps", Prefix: strings.TrimSuffix(f.cms.res.Prefix, "configmaps/") + "nodemaps/", Namespaced: true,
		New: func() runtime.Object { return &corev1.ConfigMap{} },
		Fields: func(obj runtime.Object) fields.Set {
			if n := obj.(*corev1.ConfigMap).Data["node"]; n != "" {
				return fields.Set{"data.node": n}
			}
			return nil
		},
		Indexes: []string{"data.node"},
	})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("nodemaps cache not ready")
	}
	sel := fields.ParseSelectorOrDie("metadata.namespace=a,data.node=")
	w, err := c.Watch(ctx, WatchOptions{RV: "0", Predicate: Predicate{Field: sel}})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if !w.indexed || w.index != (fieldValue{"data.node", ""}) {
		t.Errorf("watch %s registered under %+v (indexed %v); want data.node=", sel, w.index, w.indexed)
	}
	for i, node := range []string{"", "node-a", ""} {
		var data map[string]string
		if node != "" {
			data = map[string]string{"node": node}
		}
		if _, err := c.Create(ctx, cm("a", fmt.Sprintf("m%d", i), data, nil), WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	res, err := c.List(ctx, ListOptions{Predicate: Predicate{Field: sel}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range res.Items {
		got = append(got, o.Name)
	}
	if want := "[m0 m2]"; fmt.Sprint(got) != want {
		t.Errorf("List(%s) = %v; want %s", sel, got, want)
	}
	if got, want := describe(drain(t, "watch", w)), "ADDED m0 ADDED m2 "; got != want {
		t.Errorf("Watch(%s) events = %q; want %q", sel, got, want)
	}
}
