package garbagecollector

import (
	"container/list"
	"sync"
)

// absentCache remembers owners known to be gone, so that the dependents of a
// deleted owner are collected without a GET of the owner each. It holds the
// most recently added references, at most size. It is safe for concurrent use.
//
// An entry is exact but for the version: the same UID under other coordinates
// (another name, namespace, group or kind) is not known absent, and is looked
// up; another version of the same kind is the same object.
type absentCache struct {
	size int

	mu    sync.Mutex
	items map[objectReference]*list.Element
	order *list.List // least recently added first
}

// absentCacheSize is upstream's.
const absentCacheSize = 500

func newAbsentCache(size int) *absentCache {
	return &absentCache{size: size, items: make(map[objectReference]*list.Element), order: list.New()}
}

// key drops the version from ref's apiVersion.
func (c *absentCache) key(ref objectReference) objectReference {
	ref.APIVersion = ref.group()
	return ref
}

func (c *absentCache) add(ref objectReference) {
	ref = c.key(ref)
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[ref]; ok {
		c.order.MoveToBack(el)
		return
	}
	c.items[ref] = c.order.PushBack(ref)
	if c.order.Len() > c.size {
		oldest := c.order.Front()
		c.order.Remove(oldest)
		delete(c.items, oldest.Value.(objectReference))
	}
}

func (c *absentCache) has(ref objectReference) bool {
	ref = c.key(ref)
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.items[ref]
	return ok
}
