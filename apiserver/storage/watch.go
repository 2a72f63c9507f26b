package storage

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
)

// EventType is the type of a watch event, as on the wire.
type EventType string

const (
	Added    EventType = "ADDED"
	Modified EventType = "MODIFIED"
	Deleted  EventType = "DELETED"
	Bookmark EventType = "BOOKMARK"
)

// Event is one change as a watcher sees it.
type Event struct {
	Type EventType
	// Object is the new state; for Deleted, the last state with the resourceVersion
	// of the deletion. Nil for Bookmark.
	Object *Object
	// Prev is the state before a Modified or Deleted event, as the cache held it.
	Prev *Object
	// RV is the revision of a Bookmark.
	RV int64
	// InitialEventsEnd marks the bookmark that ends the initial events of a watch
	// that asked for them with SendInitialEvents.
	InitialEventsEnd bool

	at time.Time
}

// Predicate selects objects.
type Predicate struct {
	// Namespace restricts to one namespace; "" means all.
	Namespace string
	// Label and Field are nil or selectors objects must match.
	Label labels.Selector
	Field fields.Selector
}

// Matches reports whether o is selected.
func (p Predicate) Matches(o *Object) bool {
	if p.Namespace != "" && o.Namespace != p.Namespace {
		return false
	}
	if p.Label != nil && !p.Label.Empty() && !p.Label.Matches(o.Labels) {
		return false
	}
	if p.Field != nil && !p.Field.Empty() && !p.Field.Matches(o.Fields) {
		return false
	}
	return true
}

func (p Predicate) hasSelectors() bool {
	return (p.Label != nil && !p.Label.Empty()) || (p.Field != nil && !p.Field.Empty())
}

// WatchOptions says where a watch starts and what it sees.
type WatchOptions struct {
	Predicate
	// RV is "" (the current state, consistent), "0" (the current state as cached)
	// or a revision to replay from.
	RV string
	// SendInitialEvents: nil means upstream's legacy rule (initial ADDED events for
	// RV "" and "0", none for a revision); true sends them and, with
	// AllowBookmarks, ends them with a bookmark marked InitialEventsEnd.
	SendInitialEvents *bool
	// AllowBookmarks asks for periodic bookmarks.
	AllowBookmarks bool
}

// ErrTooSlow ends a watcher that fell too far behind; its client should resume
// from the last revision it saw.
var ErrTooSlow = errors.New("watcher fell too far behind")

// Watcher delivers the events of one watch. Call Stop when done.
type Watcher struct {
	c         *Cache
	pred      Predicate
	bookmarks bool
	maxQueue  int
	// index is the bucket of the cache's watcherSet the watcher is in, when
	// indexed; set once when it is registered.
	index   fieldValue
	indexed bool

	mu      sync.Mutex
	initial []*Object // initial ADDED events not yet delivered
	queue   []Event
	notify  chan struct{}
	done    bool
	err     error
}

// Watch starts a watch. Errors are storage errors: CodeExpired for a revision
// older than the history held, CodeTooLargeRV for one the cache did not reach in
// time, CodeInvalid for a malformed RV.
func (c *Cache) Watch(ctx context.Context, opts WatchOptions) (*Watcher, error) {
	var rv int64
	if opts.RV != "" && opts.RV != "0" {
		n, err := strconv.ParseInt(opts.RV, 10, 64)
		if err != nil || n < 0 {
			return nil, errorf(CodeInvalid, "", "invalid resource version %q", opts.RV)
		}
		rv = n
	}
	initial := opts.RV == "" || opts.RV == "0"
	if opts.SendInitialEvents != nil {
		initial = *opts.SendInitialEvents
	}
	select {
	case <-c.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	switch {
	case opts.RV == "" && (initial || opts.SendInitialEvents != nil):
		if _, err := c.waitFresh(ctx); err != nil {
			return nil, err
		}
	case rv > 0:
		if err := c.waitUntil(ctx, rv); err != nil {
			return nil, err
		}
	}
	w := &Watcher{
		c:         c,
		pred:      opts.Predicate,
		bookmarks: opts.AllowBookmarks,
		maxQueue:  c.store.cfg.WatcherMaxQueue,
		notify:    make(chan struct{}, 1),
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return nil, c.err
	}
	switch {
	case initial:
		c.items.Ascend(func(o *Object) bool {
			if w.pred.Matches(o) {
				w.initial = append(w.initial, o)
			}
			return true
		})
		if opts.SendInitialEvents != nil && opts.AllowBookmarks {
			w.queue = append(w.queue, Event{Type: Bookmark, RV: c.rv, InitialEventsEnd: true})
		}
	case rv > 0:
		evs, ok := c.ring.since(rv)
		if !ok {
			return nil, errorf(CodeExpired, "", "too old resource version: %d (%d)", rv, c.ring.start+1)
		}
		for _, e := range evs {
			w.enqueueLocked(e)
		}
	}
	if len(w.initial) > 0 || len(w.queue) > 0 {
		w.notify <- struct{}{}
	}
	c.watchers.addLocked(w)
	c.store.metrics.watchers.WithLabelValues(c.res.Name).Inc()
	return w, nil
}

// dispatchLocked hands an event to the watcher; the cache lock is held.
func (w *Watcher) dispatchLocked(e *Event) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return
	}
	w.enqueueLocked(e)
	if len(w.queue) > w.maxQueue {
		w.finishLocked(ErrTooSlow)
		return
	}
	select {
	case w.notify <- struct{}{}:
	default:
	}
}

// enqueueLocked appends e as this watcher sees it: an object that starts
// matching the watcher's selectors is ADDED, one that stops matching is DELETED.
func (w *Watcher) enqueueLocked(e *Event) {
	cur := e.Type != Deleted && w.pred.Matches(e.Object)
	prev := e.Prev != nil && w.pred.Matches(e.Prev)
	switch {
	case cur && prev:
		w.queue = append(w.queue, Event{Type: Modified, Object: e.Object, Prev: e.Prev})
	case cur:
		w.queue = append(w.queue, Event{Type: Added, Object: e.Object})
	case prev && e.Type == Deleted:
		w.queue = append(w.queue, Event{Type: Deleted, Object: e.Object, Prev: e.Prev})
	case prev:
		w.queue = append(w.queue, Event{Type: Deleted, Object: e.Prev.withRV(e.Object.RV), Prev: e.Prev})
	}
}

func (w *Watcher) bookmarkLocked(rv int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done || !w.bookmarks {
		return
	}
	w.queue = append(w.queue, Event{Type: Bookmark, RV: rv})
	select {
	case w.notify <- struct{}{}:
	default:
	}
}

// Next waits for events and returns all that are ready, reusing buf. It returns
// an error when the watch has ended: ErrTooSlow, a storage error, or ctx's error.
func (w *Watcher) Next(ctx context.Context, buf []Event) ([]Event, error) {
	const initialBatch = 256
	for {
		w.mu.Lock()
		if n := len(w.initial); n > 0 {
			if n > initialBatch {
				n = initialBatch
			}
			buf = buf[:0]
			for _, o := range w.initial[:n] {
				buf = append(buf, Event{Type: Added, Object: o})
			}
			w.initial = w.initial[n:]
			if len(w.initial) == 0 {
				w.initial = nil
			}
			w.mu.Unlock()
			return buf, nil
		}
		if len(w.queue) > 0 {
			out := w.queue
			w.queue = buf[:0]
			w.mu.Unlock()
			return out, nil
		}
		if w.done {
			err := w.err
			w.mu.Unlock()
			return nil, err
		}
		w.mu.Unlock()
		select {
		case <-w.notify:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Stop ends the watch and releases it.
func (w *Watcher) Stop() {
	w.c.mu.Lock()
	if w.c.watchers.removeLocked(w) {
		w.c.store.metrics.watchers.WithLabelValues(w.c.res.Name).Dec()
	}
	w.c.mu.Unlock()
	w.mu.Lock()
	w.finishLocked(nil)
	w.mu.Unlock()
}

// closeLocked ends the watcher from the cache side; the cache lock is held and
// the caller removes it from the cache's set.
func (w *Watcher) closeLocked(err error) {
	w.c.store.metrics.watchers.WithLabelValues(w.c.res.Name).Dec()
	w.mu.Lock()
	w.finishLocked(err)
	w.mu.Unlock()
}

func (w *Watcher) finishLocked(err error) {
	if w.done {
		return
	}
	w.done = true
	w.err = err
	w.queue = nil
	w.initial = nil
	select {
	case w.notify <- struct{}{}:
	default:
	}
}

// bookmark sends a bookmark at the cache's revision to watchers that allow them.
func (c *Cache) bookmark() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.watchers.eachLocked(func(w *Watcher) { w.bookmarkLocked(c.rv) })
}
