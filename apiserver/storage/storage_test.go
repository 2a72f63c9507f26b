package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
)

// etcdSrv is shared by the tests of this package: each test uses its own key
// prefix, so they do not see each other's objects.
var (
	etcdSrv *Embedded
	prefixN atomic.Int64
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tend-storage-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	etcdSrv, err = StartEmbedded(context.Background(), filepath.Join(dir, "etcd"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	etcdSrv.Close()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

func embedded(t testing.TB) *Embedded { return etcdSrv }

type fixture struct {
	store *Store
	cms   *Cache
	pods  *Cache
	cfg   Config
	// stop ends the store and waits for it; the test's cleanup calls it too.
	stop func()
}

func claimsOfPod(obj runtime.Object) []string {
	p := obj.(*corev1.Pod)
	if ip := p.Annotations["claim"]; ip != "" {
		return []string{"/claims/" + ip}
	}
	return nil
}

// newFixture starts a Store with configmaps and pods under a fresh prefix.
func newFixture(t testing.TB, tune func(*Config)) *fixture {
	return newFixtureAt(t, fmt.Sprintf("/t%d/", prefixN.Add(1)), tune)
}

func newFixtureAt(t testing.TB, prefix string, tune func(*Config)) *fixture {
	t.Helper()
	e := embedded(t)
	cfg := DefaultConfig()
	cfg.KV = e.Client()
	cfg.Watcher = e.Client()
	cfg.ProgressInterval = time.Second
	cfg.Logf = t.Logf
	if tune != nil {
		tune(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cms, err := s.Add(ctx, &Resource{Name: "configmaps", Prefix: prefix + "configmaps/", Namespaced: true,
		New: func() runtime.Object { return &corev1.ConfigMap{} }})
	if err != nil {
		t.Fatal(err)
	}
	pods, err := s.Add(ctx, &Resource{Name: "pods", Prefix: prefix + "pods/", Namespaced: true,
		New: func() runtime.Object { return &corev1.Pod{} },
		Fields: func(obj runtime.Object) fields.Set {
			p := obj.(*corev1.Pod)
			return fields.Set{"spec.nodeName": p.Spec.NodeName, "status.phase": string(p.Status.Phase)}
		},
		Claims:  claimsOfPod,
		Indexes: []string{"spec.nodeName"},
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.Run(ctx)
	}()
	stop := func() {
		cancel()
		<-done
	}
	t.Cleanup(stop)
	select {
	case <-s.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("store not ready")
	}
	return &fixture{store: s, cms: cms, pods: pods, cfg: cfg, stop: stop}
}

func cm(ns, name string, data map[string]string, lbls map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: lbls},
		Data:       data,
	}
}

func pod(ns, name, node string) *corev1.Pod {
	return &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       corev1.PodSpec{NodeName: node},
	}
}

func decodeCM(t *testing.T, o *Object) *corev1.ConfigMap {
	t.Helper()
	var c corev1.ConfigMap
	if err := json.Unmarshal(o.JSON, &c); err != nil {
		t.Fatal(err)
	}
	return &c
}

func TestCRUD(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	created, err := f.cms.Create(ctx, cm("a", "one", map[string]string{"k": "v"}, nil), WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := decodeCM(t, created).ResourceVersion; got != strconv.FormatInt(created.RV, 10) || created.RV == 0 {
		t.Fatalf("created resourceVersion = %q; want %d", got, created.RV)
	}
	if _, err := f.cms.Create(ctx, cm("a", "one", nil, nil), WriteOptions{}); !IsExists(err) {
		t.Fatalf("second create: err = %v; want exists", err)
	}
	got, err := f.cms.Get(ctx, "a/one", ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.RV != created.RV || string(got.JSON) != string(created.JSON) {
		t.Fatalf("Get = %s@%d; want %s@%d", got.JSON, got.RV, created.JSON, created.RV)
	}
	updated, err := f.cms.GuaranteedUpdate(ctx, "a/one", UpdateOptions{}, func(cur runtime.Object) (runtime.Object, error) {
		cur.(*corev1.ConfigMap).Data["k"] = "v2"
		return cur, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if updated.RV <= created.RV || decodeCM(t, updated).Data["k"] != "v2" {
		t.Fatalf("update = %s; want k=v2 at a later revision than %d", updated.JSON, created.RV)
	}
	same, err := f.cms.GuaranteedUpdate(ctx, "a/one", UpdateOptions{}, func(cur runtime.Object) (runtime.Object, error) {
		return cur, nil
	})
	if err != nil || same.RV != updated.RV {
		t.Fatalf("no-op update = %v, %v; want unchanged revision %d", same, err, updated.RV)
	}
	deleted, err := f.cms.Delete(ctx, "a/one", WriteOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if deleted.RV <= updated.RV || decodeCM(t, deleted).ResourceVersion != strconv.FormatInt(deleted.RV, 10) {
		t.Fatalf("deleted = %s@%d; want the deletion revision set", deleted.JSON, deleted.RV)
	}
	if _, err := f.cms.Get(ctx, "a/one", ReadOptions{}); !IsNotFound(err) {
		t.Fatalf("Get after delete: err = %v; want not found", err)
	}
	if _, err := f.cms.Delete(ctx, "a/one", WriteOptions{}, nil); !IsNotFound(err) {
		t.Fatalf("second delete: err = %v; want not found", err)
	}
}

func TestDryRunWritesNothing(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	if _, err := f.cms.Create(ctx, cm("a", "dry", nil, nil), WriteOptions{DryRun: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.cms.Get(ctx, "a/dry", ReadOptions{}); !IsNotFound(err) {
		t.Fatalf("Get after dry-run create: err = %v; want not found", err)
	}
}

func TestGuaranteedUpdateRetriesOnConflict(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	if _, err := f.cms.Create(ctx, cm("a", "counter", map[string]string{"n": "0"}, nil), WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	const writers, each = 8, 10
	var wg sync.WaitGroup
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				_, err := f.cms.GuaranteedUpdate(ctx, "a/counter", UpdateOptions{}, func(cur runtime.Object) (runtime.Object, error) {
					c := cur.(*corev1.ConfigMap)
					n, _ := strconv.Atoi(c.Data["n"])
					c.Data["n"] = strconv.Itoa(n + 1)
					return c, nil
				})
				if err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	got, err := f.cms.Get(ctx, "a/counter", ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n := decodeCM(t, got).Data["n"]; n != strconv.Itoa(writers*each) {
		t.Fatalf("counter = %s; want %d", n, writers*each)
	}
}

func TestListSelectorsAndPages(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	for i := range 25 {
		ns := "a"
		if i%5 == 0 {
			ns = "b"
		}
		l := map[string]string{"parity": strconv.Itoa(i % 2)}
		if _, err := f.cms.Create(ctx, cm(ns, fmt.Sprintf("cm-%02d", i), nil, l), WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	even := labels.SelectorFromSet(labels.Set{"parity": "0"})
	tests := []struct {
		name string
		opts ListOptions
		want int
	}{
		{"all", ListOptions{}, 25},
		{"namespace", ListOptions{Predicate: Predicate{Namespace: "b"}}, 5},
		{"label", ListOptions{Predicate: Predicate{Label: even}}, 13},
		{"field name", ListOptions{Predicate: Predicate{Field: fields.OneTermEqualSelector("metadata.name", "cm-03")}}, 1},
		{"label in namespace from cache", ListOptions{ReadOptions: ReadOptions{RV: "0"}, Predicate: Predicate{Namespace: "a", Label: even}}, 10},
	}
	for _, tt := range tests {
		for _, limit := range []int64{0, 1, 4, 100} {
			opts := tt.opts
			opts.Limit = limit
			var keys []string
			pages := 0
			for {
				res, err := f.cms.List(ctx, opts)
				if err != nil {
					t.Fatalf("%s limit %d: %v", tt.name, limit, err)
				}
				pages++
				for _, o := range res.Items {
					keys = append(keys, o.Key)
				}
				if limit > 0 && len(res.Items) > int(limit) {
					t.Fatalf("%s limit %d: page of %d items", tt.name, limit, len(res.Items))
				}
				if res.Continue == "" {
					break
				}
				if res.Remaining != nil && int(*res.Remaining)+len(keys) != tt.want {
					t.Errorf("%s limit %d: remaining %d after %d; want %d in all", tt.name, limit, *res.Remaining, len(keys), tt.want)
				}
				opts.Continue = res.Continue
				opts.RV = ""
			}
			if len(keys) != tt.want {
				t.Errorf("%s limit %d: %d items in %d pages; want %d", tt.name, limit, len(keys), pages, tt.want)
			}
			for i := 1; i < len(keys); i++ {
				if keys[i-1] >= keys[i] {
					t.Errorf("%s limit %d: keys out of order: %q then %q", tt.name, limit, keys[i-1], keys[i])
				}
			}
		}
	}
}

func TestContinueAfterChangesReadsTheOldState(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	for i := range 6 {
		if _, err := f.cms.Create(ctx, cm("a", fmt.Sprintf("cm-%d", i), nil, nil), WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	first, err := f.cms.List(ctx, ListOptions{Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	// Change the state after the first page: the rest must still be the old state.
	if _, err := f.cms.Delete(ctx, "a/cm-4", WriteOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := f.cms.Create(ctx, cm("a", "cm-9", nil, nil), WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	rest, err := f.cms.List(ctx, ListOptions{Limit: 10, Continue: first.Continue})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range rest.Items {
		got = append(got, o.Name)
		if o.RV > first.RV {
			t.Errorf("%s has revision %d, after the list's %d", o.Name, o.RV, first.RV)
		}
	}
	if want := "[cm-3 cm-4 cm-5]"; fmt.Sprint(got) != want || rest.RV != first.RV {
		t.Fatalf("second page = %v at %d; want %s at %d", got, rest.RV, want, first.RV)
	}
	// A page read from etcd still says how many items follow it.
	page, err := f.cms.List(ctx, ListOptions{Limit: 1, Continue: first.Continue})
	if err != nil {
		t.Fatal(err)
	}
	if page.Remaining == nil || *page.Remaining != 2 || page.Continue == "" {
		t.Fatalf("one-item page from etcd: remaining %v, continue %q; want 2 and a token", page.Remaining, page.Continue)
	}
	if _, err := f.cms.List(ctx, ListOptions{Continue: "not-a-token"}); CodeOf(err) != CodeInvalid {
		t.Fatalf("bad continue: err = %v; want invalid", err)
	}
}

func TestIndexedFieldList(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	for i := range 10 {
		if _, err := f.pods.Create(ctx, pod("a", fmt.Sprintf("p%d", i), fmt.Sprintf("node-%d", i%3)), WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	sel := fields.OneTermEqualSelector("spec.nodeName", "node-1")
	res, err := f.pods.List(ctx, ListOptions{Predicate: Predicate{Field: sel}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range res.Items {
		got = append(got, o.Name)
	}
	if want := "[p1 p4 p7]"; fmt.Sprint(got) != want {
		t.Fatalf("pods on node-1 = %v; want %s", got, want)
	}
	if _, err := f.pods.GuaranteedUpdate(ctx, "a/p1", UpdateOptions{}, func(cur runtime.Object) (runtime.Object, error) {
		cur.(*corev1.Pod).Spec.NodeName = "node-2"
		return cur, nil
	}); err != nil {
		t.Fatal(err)
	}
	res, err = f.pods.List(ctx, ListOptions{Predicate: Predicate{Field: sel}, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Items) != 1 || res.Items[0].Name != "p4" || res.Continue == "" {
		t.Fatalf("first page on node-1 after the move = %v (continue %q); want p4 and more", res.Items, res.Continue)
	}
}

// consistentRead checks that a consistent read sees a write made by another
// store on the same etcd, which only progress notifications can tell the cache.
func TestConsistentReadSeesOtherWriters(t *testing.T) {
	f := newFixture(t, nil)
	prefix := f.cms.res.Prefix[:len(f.cms.res.Prefix)-len("configmaps/")]
	other := newFixtureAt(t, prefix, nil)
	ctx := context.Background()
	for i := range 20 {
		name := fmt.Sprintf("x%d", i)
		if _, err := other.cms.Create(ctx, cm("a", name, nil, nil), WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		// A write elsewhere moves etcd's revision on without touching configmaps.
		if _, err := other.pods.Create(ctx, pod("a", name, ""), WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.cms.Get(ctx, "a/"+name, ReadOptions{}); err != nil {
			t.Fatalf("consistent Get of %s written elsewhere: %v", name, err)
		}
		res, err := f.cms.List(ctx, ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Items) != i+1 {
			t.Fatalf("consistent List after %d creates elsewhere: %d items", i+1, len(res.Items))
		}
	}
}

func nextEvents(t *testing.T, w *Watcher, n int, name string) []Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out []Event
	for len(out) < n {
		evs, err := w.Next(ctx, nil)
		if err != nil {
			t.Fatalf("%s: after %d of %d events (%s): %v", name, len(out), n, describe(out), err)
		}
		out = append(out, evs...)
	}
	return out
}

func describe(evs []Event) string {
	s := ""
	for _, e := range evs {
		if e.Type == Bookmark {
			s += fmt.Sprintf("BOOKMARK(end=%v) ", e.InitialEventsEnd)
			continue
		}
		s += fmt.Sprintf("%s %s ", e.Type, e.Object.Name)
	}
	return s
}

func TestWatch(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	a, err := f.cms.Create(ctx, cm("a", "one", nil, map[string]string{"app": "x"}), WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.cms.Create(ctx, cm("a", "two", nil, nil), WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	from := strconv.FormatInt(a.RV, 10)
	sel := labels.SelectorFromSet(labels.Set{"app": "x"})
	yes := true
	watches := map[string]WatchOptions{
		"from rv":           {RV: from},
		"from rv, selector": {RV: from, Predicate: Predicate{Label: sel}},
		"initial":           {RV: "0"},
		"initial, bookmark": {RV: "", SendInitialEvents: &yes, AllowBookmarks: true, Predicate: Predicate{Label: sel}},
	}
	ws := map[string]*Watcher{}
	for name, opts := range watches {
		w, err := f.cms.Watch(ctx, opts)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		defer w.Stop()
		ws[name] = w
	}
	// one stops matching the selector, then comes back, then goes away.
	set := func(l map[string]string) {
		if _, err := f.cms.GuaranteedUpdate(ctx, "a/one", UpdateOptions{}, func(cur runtime.Object) (runtime.Object, error) {
			cur.(*corev1.ConfigMap).Labels = l
			return cur, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	set(map[string]string{"app": "y"})
	set(map[string]string{"app": "x"})
	if _, err := f.cms.Delete(ctx, "a/one", WriteOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"from rv":           "ADDED two MODIFIED one MODIFIED one DELETED one ",
		"from rv, selector": "DELETED one ADDED one DELETED one ",
		"initial":           "ADDED one ADDED two MODIFIED one MODIFIED one DELETED one ",
		"initial, bookmark": "ADDED one BOOKMARK(end=true) DELETED one ADDED one DELETED one ",
	}
	for name, w := range ws {
		n := strings.Count(want[name], "ADDED") + strings.Count(want[name], "MODIFIED") +
			strings.Count(want[name], "DELETED") + strings.Count(want[name], "BOOKMARK")
		if got := describe(nextEvents(t, w, n, name)); got != want[name] {
			t.Errorf("%s: events = %q; want %q", name, got, want[name])
		}
	}
}

func TestWatchTooOldExpires(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.History = History{Min: 2, Max: 3, Window: time.Hour} })
	ctx := context.Background()
	first, err := f.cms.Create(ctx, cm("a", "c0", nil, nil), WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var last *Object
	for i := 1; i < 8; i++ {
		if last, err = f.cms.Create(ctx, cm("a", fmt.Sprintf("c%d", i), nil, nil), WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.cms.Get(ctx, "a/c7", ReadOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.cms.Watch(ctx, WatchOptions{RV: strconv.FormatInt(first.RV, 10)}); CodeOf(err) != CodeExpired {
		t.Fatalf("watch from %d: err = %v; want expired", first.RV, err)
	}
	w, err := f.cms.Watch(ctx, WatchOptions{RV: strconv.FormatInt(last.RV-1, 10)})
	if err != nil {
		t.Fatalf("watch from a held revision: %v", err)
	}
	defer w.Stop()
	if got := describe(nextEvents(t, w, 1, "from a held revision")); got != "ADDED c7 " {
		t.Fatalf("events = %q; want ADDED c7", got)
	}
}

func TestWatchFutureRevisionTimesOut(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	cur := f.cms.RV()
	start := time.Now()
	_, err := f.cms.Watch(ctx, WatchOptions{RV: strconv.FormatInt(cur+1000000, 10)})
	if CodeOf(err) != CodeTooLargeRV {
		t.Fatalf("watch from the future: err = %v; want too large", err)
	}
	if time.Since(start) < maxWait {
		t.Fatalf("gave up after %v; want at least %v", time.Since(start), maxWait)
	}
}

func TestClaims(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	withClaim := func(name, ip string) *corev1.Pod {
		p := pod("a", name, "")
		p.Annotations = map[string]string{"claim": ip}
		return p
	}
	// Concurrent creates wanting the same claim: exactly one wins.
	var wins, taken atomic.Int32
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.pods.Create(ctx, withClaim(fmt.Sprintf("p%d", i), "10.0.0.1"), WriteOptions{})
			switch c, _ := ClaimOf(err); {
			case err == nil:
				wins.Add(1)
			case c == "/claims/10.0.0.1":
				taken.Add(1)
			default:
				t.Errorf("create p%d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 || taken.Load() != 9 {
		t.Fatalf("%d creates won and %d found the claim taken; want 1 and 9", wins.Load(), taken.Load())
	}
	res, err := f.pods.List(ctx, ListOptions{})
	if err != nil || len(res.Items) != 1 {
		t.Fatalf("list = %v, %v; want the one winner", res, err)
	}
	winner := res.Items[0].Name
	// Moving the claim releases the old one.
	if _, err := f.pods.GuaranteedUpdate(ctx, "a/"+winner, UpdateOptions{}, func(cur runtime.Object) (runtime.Object, error) {
		cur.(*corev1.Pod).Annotations["claim"] = "10.0.0.2"
		return cur, nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.pods.Create(ctx, withClaim("other", "10.0.0.1"), WriteOptions{}); err != nil {
		t.Fatalf("claim released by the update: %v", err)
	}
	if _, err := f.pods.Create(ctx, withClaim("third", "10.0.0.2"), WriteOptions{}); err == nil {
		t.Fatal("claim held by the update was granted again")
	}
	// Deleting releases claims.
	if _, err := f.pods.Delete(ctx, "a/"+winner, WriteOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := f.pods.Create(ctx, withClaim("third", "10.0.0.2"), WriteOptions{}); err != nil {
		t.Fatalf("claim released by the delete: %v", err)
	}
}

func TestTooLarge(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.MaxObjectSize = 1000 })
	ctx := context.Background()
	big := make([]byte, 2000)
	for i := range big {
		big[i] = 'x'
	}
	if _, err := f.cms.Create(ctx, cm("a", "big", map[string]string{"k": string(big)}, nil), WriteOptions{}); CodeOf(err) != CodeTooLarge {
		t.Fatalf("create of 2000 bytes with limit 1000: err = %v; want too large", err)
	}
	if _, err := f.cms.Get(ctx, "a/big", ReadOptions{}); !IsNotFound(err) {
		t.Fatalf("a refused create stored something: %v", err)
	}
}

func TestStripAndSetRV(t *testing.T) {
	in := []byte(`{"kind":"ConfigMap","metadata":{"name":"a","resourceVersion":"12","creationTimestamp":null}}`)
	if got, want := string(stripRV(in)), `{"kind":"ConfigMap","metadata":{"name":"a","creationTimestamp":null}}`; got != want {
		t.Errorf("stripRV = %s; want %s", got, want)
	}
	last := []byte(`{"metadata":{"name":"a","resourceVersion":"12"},"data":{}}`)
	if got, want := string(stripRV(last)), `{"metadata":{"name":"a"},"data":{}}`; got != want {
		t.Errorf("stripRV = %s; want %s", got, want)
	}
	o := (&Object{JSON: in, RV: 12}).withRV(345)
	if got, want := string(o.JSON), `{"kind":"ConfigMap","metadata":{"name":"a","resourceVersion":"345","creationTimestamp":null}}`; got != want || o.RV != 345 {
		t.Errorf("withRV = %s@%d; want %s@345", got, o.RV, want)
	}
}

func TestInsertRVMatchesEncoding(t *testing.T) {
	r := &Resource{Name: "configmaps", Namespaced: true, New: func() runtime.Object { return &corev1.ConfigMap{} }}
	for _, c := range []*corev1.ConfigMap{
		cm("ns", "a", map[string]string{"k": "v"}, map[string]string{"l": "1"}),
		{TypeMeta: metav1.TypeMeta{Kind: "ConfigMap", APIVersion: "v1"}, ObjectMeta: metav1.ObjectMeta{
			Name: "b", Namespace: "ns", UID: "0f3c-uid", Generation: 3,
			OwnerReferences: []metav1.OwnerReference{{UID: "owner-uid", Name: "o", Kind: "K", APIVersion: "v1"}}}},
	} {
		c.UID = "1234-5678"
		data, err := encodeForStorage(c)
		if err != nil {
			t.Fatal(err)
		}
		spliced, err := r.writtenObject(c.DeepCopy(), data, 42)
		if err != nil {
			t.Fatal(err)
		}
		encoded, err := r.newObject(c.DeepCopy(), 42)
		if err != nil {
			t.Fatal(err)
		}
		if string(spliced.JSON) != string(encoded.JSON) {
			t.Errorf("spliced = %s; want %s", spliced.JSON, encoded.JSON)
		}
	}
	if _, ok := insertRV([]byte(`{"metadata":{"name":"x"},"spec":{"uid":"y"}}`), 1); ok {
		t.Error("insertRV accepted a uid outside metadata")
	}
}
