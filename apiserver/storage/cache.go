package storage

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/btree"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Cache is the watch cache of one resource, and the handle every operation on
// that resource goes through.
type Cache struct {
	res   *Resource
	store *Store

	mu    sync.RWMutex
	items *btree.BTreeG[*Object]
	// index[field][value][key] holds objects for the fields in Resource.Indexes.
	index map[string]map[string]map[string]*Object
	// rv is the revision the cache reflects: every event up to rv has been applied.
	rv int64
	// lastChange is the revision of the last event applied.
	lastChange int64
	ring       ring
	watchers   watcherSet
	// rvChanged is closed and replaced whenever rv advances.
	rvChanged chan struct{}
	ready     chan struct{}
	// err is set when the cache stopped for good.
	err error
}

func newCache(s *Store, r *Resource) *Cache {
	return &Cache{
		res:       r,
		store:     s,
		items:     btree.NewG(32, func(a, b *Object) bool { return a.Key < b.Key }),
		index:     make(map[string]map[string]map[string]*Object, len(r.Indexes)),
		watchers:  newWatcherSet(r.Indexes),
		rvChanged: make(chan struct{}),
		ready:     make(chan struct{}),
		ring:      ring{min: s.cfg.History.Min, max: s.cfg.History.Max, window: s.cfg.History.Window},
	}
}

// Resource returns the resource this cache serves.
func (c *Cache) Resource() *Resource { return c.res }

// Ready is closed once the cache holds the initial list.
func (c *Cache) Ready() <-chan struct{} { return c.ready }

// run lists the resource, then follows its etcd watch until ctx ends. A watch
// that falls behind compaction relists and ends the watchers, which resume from
// their last resourceVersion or get Expired.
func (c *Cache) run(ctx context.Context) {
	first := true
	for ctx.Err() == nil {
		rev, err := c.relist(ctx)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			c.store.log("watch cache %s: list failed, retrying: %v", c.res.Name, err)
			sleep(ctx, time.Second)
			continue
		}
		if first {
			close(c.ready)
			first = false
		}
		err = c.follow(ctx, rev)
		if ctx.Err() != nil {
			break
		}
		c.store.log("watch cache %s: watch ended, relisting: %v", c.res.Name, err)
	}
	c.mu.Lock()
	c.err = errorf(CodeUnavailable, "", "watch cache for %s stopped", c.res.Name)
	c.watchers.eachLocked(func(w *Watcher) { w.closeLocked(c.err) })
	c.watchers.clearLocked()
	c.mu.Unlock()
}

// relist replaces the cache contents with etcd's at its current revision.
func (c *Cache) relist(ctx context.Context) (int64, error) {
	t := time.Now()
	resp, err := c.store.kv.Get(ctx, c.res.Prefix, clientv3.WithPrefix())
	c.store.metrics.observeEtcd("list", c.res.Name, t, err)
	if err != nil {
		return 0, err
	}
	objs := make([]*Object, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		o, err := c.fromKV(kv)
		if err != nil {
			c.store.log("watch cache %s: skipping %s: %v", c.res.Name, kv.Key, err)
			continue
		}
		objs = append(objs, o)
	}
	rev := resp.Header.Revision
	c.mu.Lock()
	defer c.mu.Unlock()
	c.items.Clear(false)
	clear(c.index)
	for _, o := range objs {
		c.items.ReplaceOrInsert(o)
		c.indexAddLocked(o)
	}
	c.ring.reset(rev)
	c.lastChange = rev
	relisted := errorf(CodeExpired, "", "watch cache for %s was relisted", c.res.Name)
	c.watchers.eachLocked(func(w *Watcher) { w.closeLocked(relisted) })
	c.watchers.clearLocked()
	c.setRVLocked(rev)
	c.store.metrics.objects.WithLabelValues(c.res.Name).Set(float64(c.items.Len()))
	return rev, nil
}

func (c *Cache) fromKV(kv *mvccpb.KeyValue) (*Object, error) {
	obj, err := c.res.decode(kv.Value, 0)
	if err != nil {
		return nil, err
	}
	return c.res.newObject(obj, kv.ModRevision)
}

// follow applies etcd's events from rev+1 on until the watch fails or ctx ends.
func (c *Cache) follow(ctx context.Context, rev int64) error {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wch := c.store.watcher.Watch(wctx, c.res.Prefix, clientv3.WithPrefix(),
		clientv3.WithRev(rev+1), clientv3.WithProgressNotify())
	for {
		// The client does not always close the channel when ctx ends (not when
		// the watch was still being set up), so ctx is watched too.
		var resp clientv3.WatchResponse
		var ok bool
		select {
		case <-ctx.Done():
			return ctx.Err()
		case resp, ok = <-wch:
		}
		if !ok {
			return fmt.Errorf("watch channel closed")
		}
		if err := resp.Err(); err != nil {
			return err
		}
		if resp.IsProgressNotify() {
			c.progress(resp.Header.Revision)
			continue
		}
		c.apply(resp.Events)
	}
}

func (c *Cache) progress(rev int64) {
	c.mu.Lock()
	if rev > c.rv {
		c.setRVLocked(rev)
	}
	c.mu.Unlock()
}

type decoded struct {
	ev  *clientv3.Event
	obj *Object
	err error
}

// apply decodes a batch of etcd events outside the lock, then applies them in
// order and hands them to the watchers.
func (c *Cache) apply(evs []*clientv3.Event) {
	ds := make([]decoded, len(evs))
	for i, ev := range evs {
		ds[i].ev = ev
		if ev.Type == mvccpb.PUT {
			if o := c.store.takeWritten(ev.Kv); o != nil {
				ds[i].obj = o
			} else {
				ds[i].obj, ds[i].err = c.fromKV(ev.Kv)
			}
		}
	}
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, d := range ds {
		key := strings.TrimPrefix(string(d.ev.Kv.Key), c.res.Prefix)
		rv := d.ev.Kv.ModRevision
		var e *Event
		prev, _ := c.items.Get(&Object{Key: key})
		switch {
		case d.ev.Type == mvccpb.DELETE:
			if prev == nil {
				break
			}
			c.items.Delete(prev)
			c.indexDeleteLocked(prev)
			e = &Event{Type: Deleted, Object: prev.withRV(rv), Prev: prev}
		case d.err != nil:
			// An undecodable value cannot be served; drop what we held for the key
			// so that no stale state is served either.
			c.store.log("watch cache %s: %s at %d: %v", c.res.Name, key, rv, d.err)
			if prev != nil {
				c.items.Delete(prev)
				c.indexDeleteLocked(prev)
				e = &Event{Type: Deleted, Object: prev.withRV(rv), Prev: prev}
			}
		default:
			c.items.ReplaceOrInsert(d.obj)
			if prev != nil {
				c.indexDeleteLocked(prev)
			}
			c.indexAddLocked(d.obj)
			if prev == nil {
				e = &Event{Type: Added, Object: d.obj}
			} else {
				e = &Event{Type: Modified, Object: d.obj, Prev: prev}
			}
		}
		if e != nil {
			e.at = now
			c.ring.push(e)
			c.lastChange = rv
			c.watchers.dispatchLocked(e)
			c.store.metrics.events.WithLabelValues(c.res.Name).Inc()
		}
		if rv > c.rv {
			c.setRVLocked(rv)
		}
	}
	c.ring.evict(now)
	c.store.metrics.objects.WithLabelValues(c.res.Name).Set(float64(c.items.Len()))
	c.store.metrics.history.WithLabelValues(c.res.Name).Set(float64(c.ring.len()))
}

func (c *Cache) setRVLocked(rv int64) {
	c.rv = rv
	close(c.rvChanged)
	c.rvChanged = make(chan struct{})
}

// indexAddLocked adds o to the index of each field in Resource.Indexes. An
// object without the field is indexed under "", the value a field selector sees
// for it (fields.Set.Get).
func (c *Cache) indexAddLocked(o *Object) {
	for _, f := range c.res.Indexes {
		v := o.Fields[f]
		byValue := c.index[f]
		if byValue == nil {
			byValue = make(map[string]map[string]*Object)
			c.index[f] = byValue
		}
		keys := byValue[v]
		if keys == nil {
			keys = make(map[string]*Object)
			byValue[v] = keys
		}
		keys[o.Key] = o
	}
}

func (c *Cache) indexDeleteLocked(o *Object) {
	for _, f := range c.res.Indexes {
		v := o.Fields[f]
		if keys := c.index[f][v]; keys != nil {
			delete(keys, o.Key)
			if len(keys) == 0 {
				delete(c.index[f], v)
			}
		}
	}
}

// indexedLocked returns the objects whose indexed field key.field equals
// key.value, sorted by key.
func (c *Cache) indexedLocked(key fieldValue) []*Object {
	objs := c.index[key.field][key.value]
	out := make([]*Object, 0, len(objs))
	for _, o := range objs {
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// maxWait bounds how long a request waits for the cache to reach a revision.
const maxWait = 3 * time.Second

// waitUntil blocks until the cache reflects revision rv.
func (c *Cache) waitUntil(ctx context.Context, rv int64) error {
	timer := time.NewTimer(maxWait)
	defer timer.Stop()
	for {
		c.mu.RLock()
		cur, ch, err := c.rv, c.rvChanged, c.err
		c.mu.RUnlock()
		if err != nil {
			return err
		}
		if cur >= rv {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
			return errorf(CodeTooLargeRV, "", "Too large resource version: %d, current: %d", rv, cur)
		}
	}
}

// waitFresh blocks until the cache has caught up with etcd's current revision, so
// that what it serves next is consistent. It returns that revision.
func (c *Cache) waitFresh(ctx context.Context) (int64, error) {
	select {
	case <-c.ready:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	cur, err := c.store.currentRevision(ctx, c.res)
	if err != nil {
		return 0, err
	}
	c.mu.RLock()
	fresh := c.rv >= cur
	c.mu.RUnlock()
	if fresh {
		return cur, nil
	}
	done := c.store.progress.want()
	defer done()
	return cur, c.waitUntil(ctx, cur)
}

// RV returns the revision the cache reflects.
func (c *Cache) RV() int64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.rv
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
