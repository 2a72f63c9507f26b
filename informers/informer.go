package informers

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
)

// Object is what an informer holds: a Kubernetes object with metadata, by
// pointer (*corev1.Pod, *unstructured.Unstructured, *metav1.PartialObjectMetadata).
type Object interface {
	runtime.Object
	metav1.Object
}

// ListWatcher lists and watches one kind. client-go's typed clients
// (clientset.CoreV1().Pods(namespace)), its dynamic client
// (dynamicClient.Resource(gvr).Namespace(namespace)) and its metadata client
// satisfy it, with L their list type.
type ListWatcher[L runtime.Object] interface {
	List(ctx context.Context, opts metav1.ListOptions) (L, error)
	Watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error)
}

// Options tune an informer. The zero value is a good default.
type Options struct {
	// LabelSelector and FieldSelector restrict the objects the informer holds.
	LabelSelector, FieldSelector string
	// StreamingList takes the initial state as watch events (sendInitialEvents)
	// rather than a LIST; servers that do not support it get a LIST.
	StreamingList bool
	// Logf reports what the informer works around (a dropped watch, a relist);
	// nil discards it.
	Logf func(format string, args ...any)
}

// Informer keeps a local copy of one kind and tells handlers what changed.
// Create it with New (or a Factory), add indexes and handlers, then Run it.
type Informer[T Object] struct {
	lw    ListWatcher[runtime.Object]
	opts  Options
	store *store[T]

	// mu orders store changes with handler registration, so that a handler
	// added at any time sees every object exactly once.
	mu       sync.Mutex
	handlers []*Registration[T]
	runCtx   context.Context

	synced  atomic.Bool
	lastRV  atomic.Value // string
	started atomic.Bool
	// lists counts the LISTs (and streaming lists) made, for tests and metrics.
	lists atomic.Int64
}

// New returns an informer of T over lw. T is the item type of lw's list type L:
// New[*corev1.Pod](clientset.CoreV1().Pods("")).
func New[T Object, L runtime.Object](lw ListWatcher[L], opts Options) *Informer[T] {
	inf := &Informer[T]{lw: erase[L]{lw}, opts: opts, store: newStore[T]()}
	inf.lastRV.Store("")
	return inf
}

// erase adapts a ListWatcher of a concrete list type to runtime.Object.
type erase[L runtime.Object] struct{ lw ListWatcher[L] }

func (e erase[L]) List(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
	return e.lw.List(ctx, opts)
}

func (e erase[L]) Watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
	return e.lw.Watch(ctx, opts)
}

// AddIndex adds an index; it must be called before Run.
func (inf *Informer[T]) AddIndex(name string, fn IndexFunc[T]) error {
	if inf.started.Load() {
		return fmt.Errorf("informers: index %q added after Run", name)
	}
	return inf.store.addIndex(name, fn)
}

// AddHandler subscribes h. If the informer already holds objects, h first gets
// an add for each (initial=true). Handlers may be added before or after Run.
func (inf *Informer[T]) AddHandler(h Handler[T]) *Registration[T] {
	r := newRegistration(h)
	inf.mu.Lock()
	defer inf.mu.Unlock()
	inf.handlers = append(inf.handlers, r)
	if inf.synced.Load() {
		for _, obj := range inf.store.list() {
			r.push(notification[T]{kind: notifyAdd, obj: obj, initial: true})
		}
		r.push(notification[T]{kind: notifySynced})
	}
	if inf.runCtx != nil {
		go r.run(inf.runCtx)
	}
	return r
}

// RemoveHandler unsubscribes a handler; it gets nothing more.
func (inf *Informer[T]) RemoveHandler(r *Registration[T]) {
	inf.mu.Lock()
	defer inf.mu.Unlock()
	for i, h := range inf.handlers {
		if h == r {
			inf.handlers = append(inf.handlers[:i], inf.handlers[i+1:]...)
			break
		}
	}
	r.stop()
}

// HasSynced reports whether the informer holds the state of its first list.
func (inf *Informer[T]) HasSynced() bool { return inf.synced.Load() }

// LastSyncResourceVersion is the resourceVersion the informer's state reflects.
func (inf *Informer[T]) LastSyncResourceVersion() string { return inf.lastRV.Load().(string) }

// Lists is the number of times the informer listed (or stream-listed) the kind.
func (inf *Informer[T]) Lists() int64 { return inf.lists.Load() }

// Get returns the object namespace/name ("" namespace for cluster-scoped kinds).
// The object is shared: do not modify it.
func (inf *Informer[T]) Get(namespace, name string) (T, bool) {
	return inf.store.get(Key(namespace, name))
}

// List returns every object held, in no particular order. The objects are
// shared: do not modify them.
func (inf *Informer[T]) List() []T { return inf.store.list() }

// ListNamespace returns the objects of one namespace. They are shared: do not
// modify them.
func (inf *Informer[T]) ListNamespace(namespace string) []T {
	objs, _ := inf.store.byIndex(NamespaceIndex, namespace)
	return objs
}

// ByIndex returns the objects an index holds under value. They are shared: do
// not modify them.
func (inf *Informer[T]) ByIndex(index, value string) ([]T, error) {
	return inf.store.byIndex(index, value)
}

// Run keeps the informer up to date until ctx ends, delivering events to the
// handlers. It returns when ctx ends.
func (inf *Informer[T]) Run(ctx context.Context) {
	if !inf.started.CompareAndSwap(false, true) {
		panic("informers: Run called twice")
	}
	inf.mu.Lock()
	inf.runCtx = ctx
	for _, r := range inf.handlers {
		go r.run(ctx)
	}
	inf.mu.Unlock()
	backoff := newBackoff()
	for ctx.Err() == nil {
		rv, err := inf.sync(ctx)
		if err != nil {
			if ctx.Err() == nil {
				inf.logf("listing: %v", err)
				sleep(ctx, backoff.next())
			}
			continue
		}
		backoff.reset()
		// Watch from the last version seen until the server says it is gone.
		for ctx.Err() == nil {
			next, err := inf.watch(ctx, metav1.ListOptions{ResourceVersion: rv}, nil)
			if next != "" {
				rv = next
			}
			if isExpired(err) {
				inf.logf("watch from resourceVersion %s expired; listing again", rv)
				break
			}
			if err != nil && ctx.Err() == nil {
				inf.logf("watch: %v", err)
				sleep(ctx, backoff.next())
				continue
			}
			backoff.reset()
		}
	}
}

func (inf *Informer[T]) logf(format string, args ...any) {
	if inf.opts.Logf != nil {
		inf.opts.Logf(format, args...)
	}
}

// sync gets the current state, by a streaming list when asked and supported,
// and replaces the held state with it. It returns the state's resourceVersion.
func (inf *Informer[T]) sync(ctx context.Context) (string, error) {
	inf.lists.Add(1)
	if inf.opts.StreamingList {
		rv, ok, err := inf.streamingList(ctx)
		if ok || err != nil {
			return rv, err
		}
	}
	list, err := inf.lw.List(ctx, metav1.ListOptions{
		LabelSelector: inf.opts.LabelSelector, FieldSelector: inf.opts.FieldSelector,
	})
	if err != nil {
		return "", err
	}
	lm, err := meta.ListAccessor(list)
	if err != nil {
		return "", err
	}
	raw, err := meta.ExtractList(list)
	if err != nil {
		return "", err
	}
	items := make([]T, 0, len(raw))
	for _, o := range raw {
		t, ok := o.(T)
		if !ok {
			return "", fmt.Errorf("informers: list holds %T, not the informer's type", o)
		}
		items = append(items, t)
	}
	inf.replace(items, lm.GetResourceVersion())
	return lm.GetResourceVersion(), nil
}

// streamingList asks for the initial state as watch events and, once the
// server marks its end, replaces the held state and keeps watching on the same
// stream. ok is false when the server did not stream the initial state.
func (inf *Informer[T]) streamingList(ctx context.Context) (rv string, ok bool, err error) {
	yes := true
	initial := map[string]T{}
	done := false
	rv, err = inf.watch(ctx, metav1.ListOptions{
		SendInitialEvents:    &yes,
		ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan,
	}, func(e watch.Event, obj T, eventRV string) bool {
		if done {
			return false
		}
		switch e.Type {
		case watch.Added:
			initial[KeyOf(obj)] = obj
			return true
		case watch.Bookmark:
			if a := obj.GetAnnotations(); a[metav1.InitialEventsAnnotationKey] == "true" {
				items := make([]T, 0, len(initial))
				for _, o := range initial {
					items = append(items, o)
				}
				inf.replace(items, eventRV)
				done = true
			}
			return true
		}
		return false
	})
	if !done {
		if apierrors.IsBadRequest(err) || apierrors.IsInvalid(err) || err == nil {
			// The server does not stream initial events: list instead.
			return "", false, nil
		}
		return "", false, err
	}
	if isExpired(err) {
		// The stream ended with the initial state applied; the caller watches on.
		err = nil
	}
	return rv, true, err
}

// replace makes items, of revision rv, the held state, telling handlers what
// changed since the previous state.
func (inf *Informer[T]) replace(items []T, rv string) {
	inf.mu.Lock()
	defer inf.mu.Unlock()
	first := !inf.synced.Load()
	seen := make(map[string]struct{}, len(items))
	inf.store.mu.Lock()
	for _, obj := range items {
		key := KeyOf(obj)
		seen[key] = struct{}{}
		old, had := inf.store.putLocked(key, obj)
		switch {
		case !had:
			inf.notifyLocked(notification[T]{kind: notifyAdd, obj: obj, initial: first})
		case old.GetResourceVersion() != obj.GetResourceVersion():
			inf.notifyLocked(notification[T]{kind: notifyUpdate, old: old, obj: obj})
		}
	}
	for key, old := range inf.store.items {
		if _, ok := seen[key]; !ok {
			inf.store.deleteLocked(key)
			inf.notifyLocked(notification[T]{kind: notifyDelete, obj: old})
		}
	}
	inf.store.mu.Unlock()
	inf.lastRV.Store(rv)
	if first {
		inf.synced.Store(true)
		inf.notifyLocked(notification[T]{kind: notifySynced})
	}
}

func (inf *Informer[T]) notifyLocked(n notification[T]) {
	for _, r := range inf.handlers {
		r.push(n)
	}
}

// apply applies one watch event to the held state.
func (inf *Informer[T]) apply(e watch.EventType, obj T, rv string) {
	inf.mu.Lock()
	defer inf.mu.Unlock()
	key := KeyOf(obj)
	inf.store.mu.Lock()
	switch e {
	case watch.Added, watch.Modified:
		old, had := inf.store.putLocked(key, obj)
		if had {
			inf.notifyLocked(notification[T]{kind: notifyUpdate, old: old, obj: obj})
		} else {
			inf.notifyLocked(notification[T]{kind: notifyAdd, obj: obj})
		}
	case watch.Deleted:
		if _, had := inf.store.deleteLocked(key); had {
			inf.notifyLocked(notification[T]{kind: notifyDelete, obj: obj})
		}
	}
	inf.store.mu.Unlock()
	inf.lastRV.Store(rv)
}

// minWatchTimeout is client-go's: a watch asks the server to end it after a
// random time between it and twice it, spreading reconnections.
const minWatchTimeout = 5 * time.Minute

// watch follows one watch stream from opts until it ends, applying events.
// intercept, when set, sees each event first and may take it (return true). It
// returns the last resourceVersion seen, and why the stream ended: nil for a
// normal end, an error satisfying isExpired for 410.
func (inf *Informer[T]) watch(ctx context.Context, opts metav1.ListOptions,
	intercept func(e watch.Event, obj T, rv string) bool) (string, error) {
	timeout := int64((minWatchTimeout + time.Duration(rand.Int64N(int64(minWatchTimeout)))).Seconds())
	opts.TimeoutSeconds = &timeout
	opts.AllowWatchBookmarks = true
	opts.LabelSelector, opts.FieldSelector = inf.opts.LabelSelector, inf.opts.FieldSelector
	w, err := inf.lw.Watch(ctx, opts)
	if err != nil {
		return "", err
	}
	defer w.Stop()
	var rv string
	for {
		select {
		case <-ctx.Done():
			return rv, ctx.Err()
		case e, ok := <-w.ResultChan():
			if !ok {
				return rv, nil
			}
			if e.Type == watch.Error {
				return rv, apierrors.FromObject(e.Object)
			}
			obj, ok := e.Object.(T)
			if !ok {
				return rv, fmt.Errorf("informers: watch event %s holds %T, not the informer's type", e.Type, e.Object)
			}
			rv = obj.GetResourceVersion()
			if intercept != nil && intercept(e, obj, rv) {
				continue
			}
			switch e.Type {
			case watch.Bookmark:
				inf.lastRV.Store(rv)
			case watch.Added, watch.Modified, watch.Deleted:
				inf.apply(e.Type, obj, rv)
			}
		}
	}
}

// isExpired reports whether err says the resourceVersion asked for is gone.
func isExpired(err error) bool {
	return err != nil && (apierrors.IsResourceExpired(err) || apierrors.IsGone(err))
}

// WaitForSync blocks until every informer (anything with HasSynced: informers
// and handler registrations) has synced, or ctx ends. It reports whether all
// synced.
func WaitForSync(ctx context.Context, syncs ...interface{ HasSynced() bool }) bool {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		all := true
		for _, s := range syncs {
			if !s.HasSynced() {
				all = false
				break
			}
		}
		if all {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
}

// backoff is jittered exponential back-off between failed lists and watches:
// 800 ms doubling to 30 s, as client-go's reflector.
type backoff struct{ cur time.Duration }

func newBackoff() *backoff { return &backoff{} }

func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = 800 * time.Millisecond
	} else if b.cur < 30*time.Second {
		b.cur = min(2*b.cur, 30*time.Second)
	}
	return b.cur/2 + time.Duration(rand.Int64N(int64(b.cur)))
}

func (b *backoff) reset() { b.cur = 0 }

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
