package storage

import "time"

// ring is the recent history of a cache: a queue of events in revision order.
// Everything after start is held: a watch from any revision >= start can replay.
type ring struct {
	events []*Event // events[head:] are live; compacted when head grows
	head   int
	// start is the revision after which every event is held.
	start int64
	// min events are always kept, at most max; in between, events younger than
	// window are kept.
	min, max int
	window   time.Duration
}

func (r *ring) reset(rev int64) {
	clear(r.events)
	r.events = r.events[:0]
	r.head = 0
	r.start = rev
}

func (r *ring) len() int { return len(r.events) - r.head }

func (r *ring) push(e *Event) { r.events = append(r.events, e) }

// evict drops events past the size and age limits.
func (r *ring) evict(now time.Time) {
	for r.len() > r.min && (r.len() > r.max || now.Sub(r.events[r.head].at) > r.window) {
		r.start = r.events[r.head].Object.RV
		r.events[r.head] = nil
		r.head++
	}
	if r.head > 1024 && r.head*2 > len(r.events) {
		n := copy(r.events, r.events[r.head:])
		clear(r.events[n:])
		r.events = r.events[:n]
		r.head = 0
	}
}

// since returns the held events after revision rv, or false when events after rv
// are no longer all held.
func (r *ring) since(rv int64) ([]*Event, bool) {
	if rv < r.start {
		return nil, false
	}
	live := r.events[r.head:]
	// Binary search for the first event with RV > rv.
	lo, hi := 0, len(live)
	for lo < hi {
		m := (lo + hi) / 2
		if live[m].Object.RV <= rv {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return live[lo:], true
}
