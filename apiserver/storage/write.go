package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
)

// WriteOptions apply to every write.
type WriteOptions struct {
	// DryRun runs every check but writes nothing.
	DryRun bool
}

// UpdateFunc computes the next state of an object from its current state. cur is
// a private copy with its resourceVersion set; the function may modify and
// return it. It may be called several times when writers race, so it must be a
// pure function of cur. Returning an error aborts the update with that error.
type UpdateFunc func(cur runtime.Object) (runtime.Object, error)

// UpdateOptions tune GuaranteedUpdate.
type UpdateOptions struct {
	WriteOptions
	// CreateIfMissing calls the update function with a nil current object when the
	// key does not exist, and creates what it returns.
	CreateIfMissing bool
}

// Create stores a new object. Its key comes from its metadata. The returned
// Object is the stored state.
func (c *Cache) Create(ctx context.Context, obj runtime.Object, opts WriteOptions) (*Object, error) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, err
	}
	key := c.res.keyOf(m.GetNamespace(), m.GetName())
	data, err := c.encode(key, obj)
	if err != nil {
		return nil, err
	}
	claims := c.claims(obj)
	if opts.DryRun {
		if err := c.checkClaimsFree(ctx, key, claims); err != nil {
			return nil, err
		}
		if _, err := c.Get(ctx, key, ReadOptions{RV: ""}); err == nil {
			return nil, errorf(CodeExists, key, "already exists")
		}
		return c.res.newObject(obj, 0)
	}
	etcdKey := c.res.Prefix + key
	cmps := []clientv3.Cmp{clientv3.Compare(clientv3.CreateRevision(etcdKey), "=", 0)}
	ops := []clientv3.Op{clientv3.OpPut(etcdKey, string(data))}
	elses := []clientv3.Op{clientv3.OpGet(etcdKey, clientv3.WithKeysOnly())}
	for _, k := range claims {
		cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(k), "=", 0))
		ops = append(ops, clientv3.OpPut(k, key))
		elses = append(elses, clientv3.OpGet(k, clientv3.WithKeysOnly()))
	}
	resp, err := c.txn(ctx, "create", cmps, ops, elses)
	if err != nil {
		return nil, err
	}
	if !resp.Succeeded {
		if len(resp.Responses[0].GetResponseRange().Kvs) > 0 {
			return nil, errorf(CodeExists, key, "already exists")
		}
		return nil, claimError(key, claims, resp.Responses[1:])
	}
	return c.written(etcdKey, obj, data, resp.Header.Revision)
}

// GuaranteedUpdate applies update to the object at key until it succeeds without
// a concurrent write in between. When update returns an object identical to the
// current one, nothing is written and the current state is returned.
func (c *Cache) GuaranteedUpdate(ctx context.Context, key string, opts UpdateOptions, update UpdateFunc) (*Object, error) {
	cur, err := c.current(ctx, key, false)
	if err != nil && !(IsNotFound(err) && opts.CreateIfMissing) {
		return nil, err
	}
	// fromCache says cur may be stale: the cache may not have seen the latest
	// write yet. A mismatch then shows as a failed transaction; a no-op must be
	// confirmed against etcd before it is trusted.
	fromCache := true
	for {
		var curObj runtime.Object
		var held []string
		if cur != nil {
			if curObj, err = c.res.decode(cur.JSON, 0); err != nil {
				return nil, err
			}
			held = c.claims(curObj)
		}
		next, err := update(curObj)
		if err != nil {
			return nil, err
		}
		data, err := c.encode(key, next)
		if err != nil {
			return nil, err
		}
		if cur != nil && bytes.Equal(data, stripRV(cur.JSON)) {
			if !fromCache {
				return cur, nil
			}
			fromCache = false
			if cur, err = c.current(ctx, key, true); err != nil && !(IsNotFound(err) && opts.CreateIfMissing) {
				return nil, err
			}
			continue
		}
		acquire, release := diff(c.claims(next), held)
		if opts.DryRun {
			if err := c.checkClaimsFree(ctx, key, acquire); err != nil {
				return nil, err
			}
			var rv int64
			if cur != nil {
				rv = cur.RV
			}
			return c.res.newObject(next, rv)
		}
		etcdKey := c.res.Prefix + key
		var cmps []clientv3.Cmp
		if cur != nil {
			cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(etcdKey), "=", cur.RV))
		} else {
			cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(etcdKey), "=", 0))
		}
		ops := []clientv3.Op{clientv3.OpPut(etcdKey, string(data))}
		elses := []clientv3.Op{clientv3.OpGet(etcdKey)}
		for _, k := range acquire {
			cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(k), "=", 0))
			ops = append(ops, clientv3.OpPut(k, key))
			elses = append(elses, clientv3.OpGet(k, clientv3.WithKeysOnly()))
		}
		for _, k := range release {
			ops = append(ops, clientv3.OpDelete(k))
		}
		resp, err := c.txn(ctx, "update", cmps, ops, elses)
		if err != nil {
			return nil, err
		}
		if resp.Succeeded {
			return c.written(etcdKey, next, data, resp.Header.Revision)
		}
		kvs := resp.Responses[0].GetResponseRange().Kvs
		switch {
		case len(kvs) == 0 && cur == nil:
			return nil, claimError(key, acquire, resp.Responses[1:])
		case len(kvs) == 0 && !opts.CreateIfMissing:
			return nil, errorf(CodeNotFound, key, "not found")
		case len(kvs) == 0:
			cur = nil
		case cur != nil && kvs[0].ModRevision == cur.RV:
			return nil, claimError(key, acquire, resp.Responses[1:])
		default:
			if cur, err = c.fromKV(kvs[0]); err != nil {
				return nil, err
			}
		}
		if !fromCache {
			c.store.metrics.conflicts.WithLabelValues(c.res.Name).Inc()
		}
		fromCache = false
	}
}

// DeleteCheck inspects the current object before a delete and may refuse it
// (preconditions on UID or resourceVersion, say).
type DeleteCheck func(cur runtime.Object) error

// Delete removes the object at key and its claims. It returns the last state,
// with the resourceVersion of the deletion.
func (c *Cache) Delete(ctx context.Context, key string, opts WriteOptions, check DeleteCheck) (*Object, error) {
	cur, err := c.current(ctx, key, false)
	if err != nil {
		return nil, err
	}
	for {
		curObj, err := c.res.decode(cur.JSON, 0)
		if err != nil {
			return nil, err
		}
		if check != nil {
			if err := check(curObj); err != nil {
				return nil, err
			}
		}
		if opts.DryRun {
			return cur, nil
		}
		etcdKey := c.res.Prefix + key
		ops := []clientv3.Op{clientv3.OpDelete(etcdKey)}
		for _, k := range c.claims(curObj) {
			ops = append(ops, clientv3.OpDelete(k))
		}
		resp, err := c.txn(ctx, "delete",
			[]clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(etcdKey), "=", cur.RV)},
			ops, []clientv3.Op{clientv3.OpGet(etcdKey)})
		if err != nil {
			return nil, err
		}
		if resp.Succeeded {
			return cur.withRV(resp.Header.Revision), nil
		}
		kvs := resp.Responses[0].GetResponseRange().Kvs
		if len(kvs) == 0 {
			return nil, errorf(CodeNotFound, key, "not found")
		}
		if cur, err = c.fromKV(kvs[0]); err != nil {
			return nil, err
		}
	}
}

// current returns the object at key: from the cache when it holds it, otherwise
// from etcd (the cache may not have seen a recent create yet).
func (c *Cache) current(ctx context.Context, key string, fresh bool) (*Object, error) {
	select {
	case <-c.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if !fresh {
		c.mu.RLock()
		o, ok := c.items.Get(&Object{Key: key})
		c.mu.RUnlock()
		if ok {
			return o, nil
		}
	}
	t := time.Now()
	resp, err := c.store.kv.Get(ctx, c.res.Prefix+key)
	c.store.metrics.observeEtcd("get", c.res.Name, t, err)
	if err != nil {
		return nil, err
	}
	if len(resp.Kvs) == 0 {
		return nil, errorf(CodeNotFound, key, "not found")
	}
	return c.fromKV(resp.Kvs[0])
}

func (c *Cache) encode(key string, obj runtime.Object) ([]byte, error) {
	data, err := encodeForStorage(obj)
	if err != nil {
		return nil, fmt.Errorf("encoding %s %s: %w", c.res.Name, key, err)
	}
	if max := c.store.cfg.MaxObjectSize; max > 0 && len(data) > max {
		return nil, errorf(CodeTooLarge, key, "object is %d bytes, more than the limit of %d", len(data), max)
	}
	return data, nil
}

func (c *Cache) claims(obj runtime.Object) []string {
	if c.res.Claims == nil {
		return nil
	}
	return c.res.Claims(obj)
}

func (c *Cache) txn(ctx context.Context, op string, cmps []clientv3.Cmp, ops, elses []clientv3.Op) (*clientv3.TxnResponse, error) {
	t := time.Now()
	resp, err := c.store.kv.Txn(ctx).If(cmps...).Then(ops...).Else(elses...).Commit()
	c.store.metrics.observeEtcd(op, c.res.Name, t, err)
	if errors.Is(err, rpctypes.ErrRequestTooLarge) {
		return nil, errorf(CodeTooLarge, "", "request is too large for etcd")
	}
	if err != nil {
		return nil, fmt.Errorf("etcd %s of %s: %w", op, c.res.Name, err)
	}
	return resp, nil
}

// written builds the stored state of obj at revision rv and hands it to the watch
// cache, which then need not decode the event this write produces.
func (c *Cache) written(etcdKey string, obj runtime.Object, data []byte, rv int64) (*Object, error) {
	o, err := c.res.writtenObject(obj, data, rv)
	if err != nil {
		return nil, err
	}
	c.store.putWritten(etcdKey, rv, o)
	return o, nil
}

func (c *Cache) checkClaimsFree(ctx context.Context, key string, claims []string) error {
	for _, k := range claims {
		resp, err := c.store.kv.Get(ctx, k)
		if err != nil {
			return err
		}
		if len(resp.Kvs) > 0 && string(resp.Kvs[0].Value) != key {
			return &Error{Code: CodeClaimTaken, Key: key, Claim: k, Msg: "claim " + k + " is taken"}
		}
	}
	return nil
}

// claimError finds which claim made a transaction fail, from the Else responses
// (one range per claim, in order).
func claimError(key string, claims []string, rs []*etcdserverpb.ResponseOp) error {
	for i, r := range rs {
		if i < len(claims) && len(r.GetResponseRange().Kvs) > 0 {
			return &Error{Code: CodeClaimTaken, Key: key, Claim: claims[i], Msg: "claim " + claims[i] + " is taken"}
		}
	}
	return errorf(CodeConflict, key, "the object was modified concurrently")
}

// diff returns the claims in want but not in have, and those in have but not in want.
func diff(want, have []string) (acquire, release []string) {
	for _, k := range want {
		if !slices.Contains(have, k) && !slices.Contains(acquire, k) {
			acquire = append(acquire, k)
		}
	}
	for _, k := range have {
		if !slices.Contains(want, k) && !slices.Contains(release, k) {
			release = append(release, k)
		}
	}
	return acquire, release
}

// stripRV returns JSON as stored: the served form without metadata.resourceVersion
// (see withRV for why the first occurrence is the one in metadata).
func stripRV(data []byte) []byte {
	const k = `"resourceVersion":"`
	i := bytes.Index(data, []byte(k))
	if i < 0 {
		return data
	}
	end := bytes.IndexByte(data[i+len(k):], '"')
	if end < 0 {
		return data
	}
	j := i + len(k) + end + 1
	switch {
	case j < len(data) && data[j] == ',':
		j++
	case i > 0 && data[i-1] == ',':
		i--
	}
	out := make([]byte, 0, len(data)-(j-i))
	out = append(out, data[:i]...)
	return append(out, data[j:]...)
}
