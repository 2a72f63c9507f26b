package informers

import (
	"context"
	"sync"
	"sync/atomic"
)

// Handler receives an informer's events. Any field may be nil. The objects are
// shared: do not modify them.
type Handler[T Object] struct {
	// OnAdd is called for an object that appeared. initial says it was there
	// when the informer first listed, or when the handler was added.
	OnAdd func(obj T, initial bool)
	// OnUpdate is called when an object changed.
	OnUpdate func(old, new T)
	// OnDelete is called when an object went away, with the last state held.
	OnDelete func(obj T)
}

type notificationKind int

const (
	notifyAdd notificationKind = iota
	notifyUpdate
	notifyDelete
	notifySynced // marks the end of the initial adds
)

type notification[T Object] struct {
	kind     notificationKind
	old, obj T
	initial  bool
}

// Registration is one handler's subscription to an informer. Each has its own
// queue and goroutine: a slow handler delays only itself.
type Registration[T Object] struct {
	h Handler[T]

	mu      sync.Mutex
	queue   []notification[T]
	stopped bool
	wake    chan struct{}

	synced atomic.Bool
	done   chan struct{}
}

func newRegistration[T Object](h Handler[T]) *Registration[T] {
	return &Registration[T]{h: h, wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// HasSynced reports whether the handler has been given every object of the
// informer's initial state.
func (r *Registration[T]) HasSynced() bool { return r.synced.Load() }

// push queues a notification; it never blocks.
func (r *Registration[T]) push(n notification[T]) {
	r.mu.Lock()
	if !r.stopped {
		r.queue = append(r.queue, n)
	}
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *Registration[T]) stop() {
	r.mu.Lock()
	r.stopped = true
	r.queue = nil
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// run delivers notifications in order until ctx ends or the registration stops.
func (r *Registration[T]) run(ctx context.Context) {
	defer close(r.done)
	var batch []notification[T]
	for {
		r.mu.Lock()
		if r.stopped {
			r.mu.Unlock()
			return
		}
		batch, r.queue = r.queue, batch[:0]
		r.mu.Unlock()
		for i := range batch {
			r.deliver(batch[i])
			var zero notification[T]
			batch[i] = zero
		}
		if len(batch) > 0 {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
		}
	}
}

func (r *Registration[T]) deliver(n notification[T]) {
	switch n.kind {
	case notifyAdd:
		if r.h.OnAdd != nil {
			r.h.OnAdd(n.obj, n.initial)
		}
	case notifyUpdate:
		if r.h.OnUpdate != nil {
			r.h.OnUpdate(n.old, n.obj)
		}
	case notifyDelete:
		if r.h.OnDelete != nil {
			r.h.OnDelete(n.obj)
		}
	case notifySynced:
		r.synced.Store(true)
	}
}
