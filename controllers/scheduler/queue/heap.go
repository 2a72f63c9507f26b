package queue

// podHeap is a binary min-heap of queued pods under less. Each pod records
// its position in QueuedPod.index, so removal and fix are O(log n); a pod is
// in at most one heap at a time, so one index field serves both heaps.
//
// (Keeping the sort keys inline in the items, to save a pointer dereference
// per comparison, measured no faster for 10,000 pods and used more memory.)
type podHeap struct {
	items []*QueuedPod
	less  func(a, b *QueuedPod) bool
}

func (h *podHeap) Len() int { return len(h.items) }

func (h *podHeap) peek() *QueuedPod {
	if len(h.items) == 0 {
		return nil
	}
	return h.items[0]
}

func (h *podHeap) push(qp *QueuedPod) {
	qp.index = len(h.items)
	h.items = append(h.items, qp)
	h.up(qp.index)
}

func (h *podHeap) pop() *QueuedPod {
	return h.remove(0)
}

// remove takes out the pod at position i and returns it.
func (h *podHeap) remove(i int) *QueuedPod {
	n := len(h.items) - 1
	qp := h.items[i]
	if i != n {
		h.swap(i, n)
	}
	h.items[n] = nil
	h.items = h.items[:n]
	if i != n {
		h.fix(i)
	}
	qp.index = -1
	return qp
}

// fix restores the order after the pod at position i changed its key.
func (h *podHeap) fix(i int) {
	if !h.down(i) {
		h.up(i)
	}
}

func (h *podHeap) swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	h.items[i].index = i
	h.items[j].index = j
}

func (h *podHeap) up(j int) {
	for j > 0 {
		i := (j - 1) / 2
		if !h.less(h.items[j], h.items[i]) {
			break
		}
		h.swap(i, j)
		j = i
	}
}

// down sifts position i0 down and reports whether it moved.
func (h *podHeap) down(i0 int) bool {
	n := len(h.items)
	i := i0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		j := l
		if r := l + 1; r < n && h.less(h.items[r], h.items[l]) {
			j = r
		}
		if !h.less(h.items[j], h.items[i]) {
			break
		}
		h.swap(i, j)
		i = j
	}
	return i > i0
}
