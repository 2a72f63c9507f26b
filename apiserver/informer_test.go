package apiserver_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientfeatures "k8s.io/client-go/features"
	clientfeaturestesting "k8s.io/client-go/features/testing"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/tendhq/tend/tendtest"
)

// eventRecorder records what an informer's handler sees as "TYPE name rv"
// ("DELETE name": the resourceVersion of a deletion is the server's to pick),
// and every resourceVersion in order.
type eventRecorder struct {
	mu  sync.Mutex
	evs []string
	rvs []int64
}

func (r *eventRecorder) add(typ string, obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		r.mu.Lock()
		r.evs = append(r.evs, "DELETE-UNKNOWN "+d.Key)
		r.mu.Unlock()
		return
	}
	cm := obj.(*corev1.ConfigMap)
	rv, _ := strconv.ParseInt(cm.ResourceVersion, 10, 64)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rvs = append(r.rvs, rv)
	if typ == "DELETE" {
		r.evs = append(r.evs, typ+" "+cm.Name)
		return
	}
	r.evs = append(r.evs, typ+" "+cm.Name+" "+cm.ResourceVersion)
}

func (r *eventRecorder) handler() cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { r.add("ADD", obj) },
		UpdateFunc: func(_, obj any) { r.add("UPDATE", obj) },
		DeleteFunc: func(obj any) { r.add("DELETE", obj) },
	}
}

func (r *eventRecorder) snapshot() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.evs)
}

// TestInformerResumesAfterDisconnect runs a SharedInformerFactory through a TCP
// proxy, cuts every connection mid-stream, and checks that the informer sees
// every later change once, in order, resuming its watch from the last
// resourceVersion rather than listing again. It runs with client-go's
// streaming initial list (WatchListClient) off and on.
func TestInformerResumesAfterDisconnect(t *testing.T) {
	// Not parallel: the client-go feature gate is process-wide.
	for _, watchList := range []bool{false, true} {
		t.Run(fmt.Sprintf("WatchListClient=%v", watchList), func(t *testing.T) {
			clientfeaturestesting.SetFeatureDuringTest(t, clientfeatures.WatchListClient, watchList)
			testInformerResume(t, watchList)
		})
	}
}

func testInformerResume(t *testing.T, watchList bool) {
	c := tendtest.Start(t, tendtest.Options{})
	writer := c.Client()
	ctx := ctxFor(t)
	ns := makeNamespace(t, writer, "inf")
	cms := writer.CoreV1().ConfigMaps(ns)
	var want []string
	for i := range initial {
		cm, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%d", i)}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, "ADD "+cm.Name+" "+cm.ResourceVersion)
	}

	u, err := url.Parse(c.URL())
	if err != nil {
		t.Fatal(err)
	}
	p := newProxy(t, u.Host)
	cfg := c.RESTConfig()
	cfg.Host = "https://" + p.addr()
	log := &requestLog{}
	cfg.Wrap(log.wrap)
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rc := newRawClient(t, c)
	listsBefore := metric(t, rc, "apiserver_request_total", map[string]string{"verb": "LIST", "resource": "configmaps"})

	factory := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(ns))
	inf := factory.Core().V1().ConfigMaps().Informer()
	rec := &eventRecorder{}
	if _, err := inf.AddEventHandler(rec.handler()); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	t.Cleanup(func() {
		close(stop)
		factory.Shutdown()
	})
	factory.Start(stop)
	for typ, ok := range factory.WaitForCacheSync(stop) {
		if !ok {
			t.Fatalf("informer for %v did not sync", typ)
		}
	}
	// The initial list's order is client-go's (a streamed list goes through a map).
	waitEvents(t, rec, want)

	// Changes while connected.
	record := func(typ string, cm *corev1.ConfigMap, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s %s: %v", typ, cm.GetName(), err)
		}
		want = append(want, typ+" "+cm.Name+" "+cm.ResourceVersion)
	}
	a, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "a"}}, metav1.CreateOptions{})
	record("ADD", a, err)
	a.Data = map[string]string{"k": "1"}
	a, err = cms.Update(ctx, a, metav1.UpdateOptions{})
	record("UPDATE", a, err)
	if err := cms.Delete(ctx, "cm-0", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	want = append(want, "DELETE cm-0")
	waitEvents(t, rec, want)

	// Cut every connection, then change things while the informer reconnects.
	rec.mu.Lock()
	lastRVBeforeCut := rec.rvs[len(rec.rvs)-1]
	rec.mu.Unlock()
	if n := p.cut(); n == 0 {
		t.Fatalf("proxy cut no connection; want the informer's watch cut")
	}
	b, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "b"}}, metav1.CreateOptions{})
	record("ADD", b, err)
	b.Data = map[string]string{"k": "2"}
	b, err = cms.Update(ctx, b, metav1.UpdateOptions{})
	record("UPDATE", b, err)
	cm1, err := cms.Get(ctx, "cm-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cm1.Labels = map[string]string{"touched": "yes"}
	cm1, err = cms.Update(ctx, cm1, metav1.UpdateOptions{})
	record("UPDATE", cm1, err)
	if err := cms.Delete(ctx, "a", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	want = append(want, "DELETE a")
	waitEvents(t, rec, want)

	// Nothing arrives twice.
	time.Sleep(300 * time.Millisecond)
	got := rec.snapshot()
	slices.Sort(got[:initial])
	if !slices.Equal(got, want) {
		t.Fatalf("informer events after the wait =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	rec.mu.Lock()
	rvs := slices.Clone(rec.rvs)
	rec.mu.Unlock()
	for i := initial + 1; i < len(rvs); i++ {
		if rvs[i] <= rvs[i-1] {
			t.Fatalf("informer event resourceVersions = %v; want them increasing after the initial list", rvs)
		}
	}
	if got, want := keys(inf.GetStore().ListKeys()), []string{ns + "/b", ns + "/cm-1", ns + "/cm-2"}; !slices.Equal(got, want) {
		t.Fatalf("informer store keys = %v; want %v", got, want)
	}

	// One initial list (a LIST, or a watch with sendInitialEvents), then watches
	// that resume from a resourceVersion.
	lists := log.matching("GET /api/v1/namespaces/"+ns+"/configmaps?", "limit=")
	streams := log.matching("watch=true", "sendInitialEvents=true")
	wantLists, wantStreams := 1, 0
	if watchList {
		wantLists, wantStreams = 0, 1
	}
	if len(lists) != wantLists || len(streams) != wantStreams {
		t.Fatalf("initial lists = %q and sendInitialEvents watches = %q; want %d and %d (requests: %q)",
			lists, streams, wantLists, wantStreams, log.matching(""))
	}
	// After the cut, a watch resumes from the last resourceVersion the informer
	// saw (or a later one a bookmark brought).
	resumed := false
	for _, r := range log.matching("watch=true", "resourceVersion=") {
		u, err := url.ParseRequestURI(strings.TrimPrefix(r, "GET "))
		if err != nil {
			t.Fatal(err)
		}
		rv, _ := strconv.ParseInt(u.Query().Get("resourceVersion"), 10, 64)
		if !u.Query().Has("sendInitialEvents") && rv >= lastRVBeforeCut {
			resumed = true
		}
	}
	if !resumed {
		t.Fatalf("no watch resumed from resourceVersion %d or later after the cut (requests: %q)", lastRVBeforeCut, log.matching(""))
	}
	listsAfter := metric(t, rc, "apiserver_request_total", map[string]string{"verb": "LIST", "resource": "configmaps"})
	if got := int(listsAfter - listsBefore); got != wantLists {
		t.Fatalf("apiserver_request_total{verb=LIST,resource=configmaps} grew by %d; want %d", got, wantLists)
	}
}

// initial is how many objects exist when the informer starts.
const initial = 3

func keys(k []string) []string {
	slices.Sort(k)
	return k
}

// waitEvents waits for the events want, the first initial ones in any order.
func waitEvents(t *testing.T, rec *eventRecorder, want []string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := rec.snapshot()
		if len(got) >= initial {
			slices.Sort(got[:initial])
		}
		if len(got) >= len(want) {
			if !slices.Equal(got, want) {
				t.Fatalf("informer events =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("informer events after 10s =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// proxy is a TCP proxy on loopback between a client and the server, which a
// test can use to cut every connection at once, as a network failure would.
type proxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	conns []net.Conn
	cuts  int
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listening for the proxy: %v", err)
	}
	p := &proxy{ln: ln, target: target}
	go p.serve()
	t.Cleanup(func() {
		ln.Close()
		p.cut()
	})
	return p
}

// addr is the proxy's host:port.
func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) serve() {
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			in.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, in, out)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(out, in); out.Close() }()
		go func() { _, _ = io.Copy(in, out); in.Close() }()
	}
}

// cut closes every connection through the proxy; new ones are still accepted.
func (p *proxy) cut() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.conns) / 2
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
	p.cuts++
	return n
}

// requestLog records the requests a client-go client makes.
type requestLog struct {
	mu   sync.Mutex
	reqs []string // "VERB path?query"
}

func (l *requestLog) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		l.mu.Lock()
		l.reqs = append(l.reqs, r.Method+" "+r.URL.RequestURI())
		l.mu.Unlock()
		return rt.RoundTrip(r)
	})
}

// matching returns the recorded requests that contain every one of parts.
func (l *requestLog) matching(parts ...string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, r := range l.reqs {
		ok := true
		for _, p := range parts {
			if !strings.Contains(r, p) {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, r)
		}
	}
	return out
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
