package workqueue

import (
	"container/heap"
	"time"

	"k8s.io/utils/clock"
)

// waitList holds the keys of AddAfter until their time, with one timer armed
// for the earliest. It is guarded by Queue.mu.
//
// The timer is armed by whoever changes the earliest time, inside the same
// critical section, so it is always armed for the right instant before the
// change is visible; the timer loop only waits on it. (Arming it from the loop
// instead would leave a gap in which a fake clock can be stepped past a timer
// not yet created.)
type waitList[K comparable] struct {
	heap  waitHeap[K]
	byKey map[K]*waiting[K]
	seq   uint64

	timer   clock.Timer // nil when heap is empty
	timerAt time.Time   // the instant timer is armed for
	timerC  <-chan time.Time
	// rearmed, of capacity 1, tells the timer loop that timerC changed. It is
	// set by newWaitList and never changes, so the loop reads it unlocked.
	rearmed chan struct{}
}

type waiting[K comparable] struct {
	key     K
	readyAt time.Time
	seq     uint64 // order asked for: keys ready at the same instant stay FIFO
	index   int    // in the heap
}

func newWaitList[K comparable]() waitList[K] {
	return waitList[K]{byKey: map[K]*waiting[K]{}, rearmed: make(chan struct{}, 1)}
}

// addLocked makes k wait until readyAt, unless it already waits for an
// earlier time. It reports whether anything changed.
func (w *waitList[K]) addLocked(k K, readyAt time.Time) bool {
	w.seq++
	if e, ok := w.byKey[k]; ok {
		if !readyAt.Before(e.readyAt) {
			return false
		}
		e.readyAt, e.seq = readyAt, w.seq
		heap.Fix(&w.heap, e.index)
		return true
	}
	e := &waiting[K]{key: k, readyAt: readyAt, seq: w.seq}
	heap.Push(&w.heap, e)
	w.byKey[k] = e
	return true
}

// removeLocked stops k from waiting, if it was. The timer may now be armed
// for an instant with nothing due: firing then is harmless.
func (w *waitList[K]) removeLocked(k K) {
	if e, ok := w.byKey[k]; ok {
		heap.Remove(&w.heap, e.index)
		delete(w.byKey, k)
	}
}

// popDueLocked removes and returns the earliest key if it is due at now.
func (w *waitList[K]) popDueLocked(now time.Time) (*waiting[K], bool) {
	if len(w.heap) == 0 || w.heap[0].readyAt.After(now) {
		return nil, false
	}
	e := heap.Pop(&w.heap).(*waiting[K])
	delete(w.byKey, e.key)
	return e, true
}

// armLocked arms the timer for the earliest key, unless it already is.
func (w *waitList[K]) armLocked(c clock.Clock) {
	if len(w.heap) > 0 && w.timer != nil && w.timerAt.Equal(w.heap[0].readyAt) {
		return
	}
	if w.timer != nil {
		w.timer.Stop()
		w.timer, w.timerC, w.timerAt = nil, nil, time.Time{}
	}
	if len(w.heap) > 0 {
		w.timerAt = w.heap[0].readyAt
		w.timer = c.NewTimer(w.timerAt.Sub(c.Now()))
		w.timerC = w.timer.C()
	}
	select {
	case w.rearmed <- struct{}{}:
	default:
	}
}

// clearLocked drops every waiting key and stops the timer.
func (w *waitList[K]) clearLocked() {
	if w.timer != nil {
		w.timer.Stop()
	}
	w.heap, w.byKey = nil, map[K]*waiting[K]{}
	w.timer, w.timerC, w.timerAt = nil, nil, time.Time{}
}

// runTimer queues waiting keys when their time comes, until ShutDown.
func (q *Queue[K]) runTimer() {
	defer close(q.timerDone)
	for {
		q.mu.Lock()
		fired := q.waiting.timerC
		q.mu.Unlock()
		select {
		case <-q.stop:
			return
		case <-q.waiting.rearmed:
		case <-fired:
			q.mu.Lock()
			if q.waiting.timerC == fired {
				q.waiting.timer, q.waiting.timerC = nil, nil
			}
			now := q.clock.Now()
			for {
				e, ok := q.waiting.popDueLocked(now)
				if !ok {
					break
				}
				q.enqueueLocked(e.key, e.readyAt)
			}
			q.waiting.armLocked(q.clock)
			q.mu.Unlock()
		}
	}
}

// waitHeap is a container/heap of waiting keys, earliest first.
type waitHeap[K comparable] []*waiting[K]

func (h waitHeap[K]) Len() int { return len(h) }

func (h waitHeap[K]) Less(i, j int) bool {
	if !h[i].readyAt.Equal(h[j].readyAt) {
		return h[i].readyAt.Before(h[j].readyAt)
	}
	return h[i].seq < h[j].seq
}

func (h waitHeap[K]) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}

func (h *waitHeap[K]) Push(x any) {
	e := x.(*waiting[K])
	e.index = len(*h)
	*h = append(*h, e)
}

func (h *waitHeap[K]) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}
