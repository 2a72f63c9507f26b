package controllers

import (
	"sync"
	"time"
)

// ExpectationsTimeout is how long an unmet expectation holds a controller back
// before it is treated as met (a watch event lost for good, say), as upstream's.
const ExpectationsTimeout = 5 * time.Minute

// Expectations remember, per owner, the creations and deletions a reconcile made
// that the informers have not shown yet. A reconcile reads informers, which lag
// its own writes: without expectations it would create or delete the same
// objects again. Reconcile acts only when Satisfied; the informers' handlers
// call CreationObserved and DeletionObserved as the events arrive.
//
// It is safe for concurrent use.
type Expectations struct {
	mu  sync.Mutex
	m   map[string]*expectation
	now func() time.Time
}

type expectation struct {
	adds int
	dels map[string]struct{} // UIDs expected to go away
	at   time.Time
}

// NewExpectations returns empty expectations.
func NewExpectations() *Expectations {
	return &Expectations{m: make(map[string]*expectation), now: time.Now}
}

// Satisfied reports whether every creation and deletion expected for key has
// been observed, or the expectation timed out.
func (e *Expectations) Satisfied(key string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	x, ok := e.m[key]
	if !ok {
		return true
	}
	if x.adds <= 0 && len(x.dels) == 0 {
		return true
	}
	return e.now().Sub(x.at) > ExpectationsTimeout
}

// ExpectCreations records that n objects are about to be created for key. It
// replaces what key expected before.
func (e *Expectations) ExpectCreations(key string, n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.m[key] = &expectation{adds: n, dels: map[string]struct{}{}, at: e.now()}
}

// CreationObserved records that one expected creation was seen (or failed, and
// will not be seen).
func (e *Expectations) CreationObserved(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x, ok := e.m[key]; ok {
		x.adds--
	}
}

// ExpectDeletions records that the objects with these UIDs are about to be
// deleted for key. It replaces what key expected before.
func (e *Expectations) ExpectDeletions(key string, uids []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	x := &expectation{dels: make(map[string]struct{}, len(uids)), at: e.now()}
	for _, u := range uids {
		x.dels[u] = struct{}{}
	}
	e.m[key] = x
}

// DeletionObserved records that the object with uid went away (or that its
// deletion failed and it will not).
func (e *Expectations) DeletionObserved(key, uid string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x, ok := e.m[key]; ok {
		delete(x.dels, uid)
	}
}

// Forget drops what key expected (its owner is gone).
func (e *Expectations) Forget(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.m, key)
}
