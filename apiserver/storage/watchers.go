package storage

// watcherSet holds the watchers of one cache so that an event reaches only those
// that may care. A watcher whose field selector requires one exact value of a
// field in Resource.Indexes (a kubelet's spec.nodeName=<node>) can only match
// objects holding that value, so it is kept under that (field, value) and an
// event visits the bucket of its object's value and the bucket of its previous
// object's value, not every watcher: an update costs O(general + matching), not
// O(watchers). Every other watcher is in general and sees every event.
//
// Every watcher is in exactly one place, general or one bucket, and an event
// visits general once and each bucket at most once, so no watcher is handed an
// event twice. The set belongs to its Cache and is guarded by the cache's lock.
type watcherSet struct {
	// indexes are the fields watchers may be indexed by, Resource.Indexes.
	indexes []string
	general map[*Watcher]struct{}
	// byValue has no empty buckets: removeLocked deletes a bucket it empties.
	byValue map[fieldValue]map[*Watcher]struct{}
}

// fieldValue names an index bucket: the watchers that require field == value.
type fieldValue struct {
	field, value string
}

func newWatcherSet(indexes []string) watcherSet {
	return watcherSet{
		indexes: indexes,
		general: make(map[*Watcher]struct{}),
		byValue: make(map[fieldValue]map[*Watcher]struct{}),
	}
}

// indexKey returns the bucket a watch with predicate p belongs in: the first of
// indexes that p's field selector requires an exact value of. It reports false
// for a watch that belongs in the general set.
//
// The value may be "": an object without the field has "" for it, as selector
// matching sees it (fields.Set.Get), so spec.nodeName= (the pods not yet
// scheduled) is indexed like any other value.
func indexKey(p Predicate, indexes []string) (fieldValue, bool) {
	if p.Field == nil || p.Field.Empty() {
		return fieldValue{}, false
	}
	for _, f := range indexes {
		if v, ok := p.Field.RequiresExactMatch(f); ok {
			return fieldValue{f, v}, true
		}
	}
	return fieldValue{}, false
}

// addLocked registers w where its predicate puts it and remembers where.
func (s *watcherSet) addLocked(w *Watcher) {
	key, ok := indexKey(w.pred, s.indexes)
	if !ok {
		s.general[w] = struct{}{}
		return
	}
	w.index, w.indexed = key, true
	bucket := s.byValue[key]
	if bucket == nil {
		bucket = make(map[*Watcher]struct{})
		s.byValue[key] = bucket
	}
	bucket[w] = struct{}{}
}

// removeLocked unregisters w and reports whether it was registered.
func (s *watcherSet) removeLocked(w *Watcher) bool {
	if !w.indexed {
		if _, ok := s.general[w]; !ok {
			return false
		}
		delete(s.general, w)
		return true
	}
	bucket := s.byValue[w.index]
	if _, ok := bucket[w]; !ok {
		return false
	}
	delete(bucket, w)
	if len(bucket) == 0 {
		delete(s.byValue, w.index)
	}
	return true
}

// dispatchLocked hands e to every watcher it may concern (see forEventLocked).
func (s *watcherSet) dispatchLocked(e *Event) {
	s.forEventLocked(e, (*Watcher).dispatchLocked)
}

// forEventLocked calls fn once for every watcher e may concern: the general ones
// and, per indexed field, those under the new object's value and under the
// previous object's value (so that a pod leaving a node reaches that node's
// watcher, which then sees it DELETED).
func (s *watcherSet) forEventLocked(e *Event, fn func(*Watcher, *Event)) {
	for w := range s.general {
		fn(w, e)
	}
	if len(s.byValue) == 0 {
		return
	}
	for _, f := range s.indexes {
		// For a Deleted event Object is the last state, with Prev's fields.
		v := e.Object.Fields[f]
		for w := range s.byValue[fieldValue{f, v}] {
			fn(w, e)
		}
		if e.Prev == nil {
			continue
		}
		if pv := e.Prev.Fields[f]; pv != v {
			for w := range s.byValue[fieldValue{f, pv}] {
				fn(w, e)
			}
		}
	}
}

// eachLocked calls fn for every watcher.
func (s *watcherSet) eachLocked(fn func(*Watcher)) {
	for w := range s.general {
		fn(w)
	}
	for _, bucket := range s.byValue {
		for w := range bucket {
			fn(w)
		}
	}
}

// clearLocked unregisters every watcher.
func (s *watcherSet) clearLocked() {
	clear(s.general)
	clear(s.byValue)
}
