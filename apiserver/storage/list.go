package storage

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// ReadOptions says which state a read sees.
type ReadOptions struct {
	// RV is "" (consistent: the latest state), "0" (whatever the cache holds now)
	// or a revision.
	RV string
	// Exact asks for the state at exactly RV (resourceVersionMatch=Exact); otherwise
	// a revision means "not older than".
	Exact bool
}

// ListOptions selects and pages a LIST.
type ListOptions struct {
	ReadOptions
	Predicate
	// Limit caps the number of items; 0 means all.
	Limit int64
	// Continue is the token of the previous page.
	Continue string
}

// ListResult is one page of a LIST.
type ListResult struct {
	Items []*Object
	// RV is the revision the list reflects.
	RV int64
	// Continue is the token for the next page, "" on the last.
	Continue string
	// Remaining counts the items after this page, when known (no selectors).
	Remaining *int64
}

// Get returns the object at key ("namespace/name" or "name").
func (c *Cache) Get(ctx context.Context, key string, opts ReadOptions) (*Object, error) {
	if opts.Exact {
		rv, err := parseRV(opts.RV)
		if err != nil {
			return nil, err
		}
		return c.getAt(ctx, key, rv)
	}
	if err := c.waitFor(ctx, opts.RV); err != nil {
		return nil, err
	}
	c.mu.RLock()
	o, ok := c.items.Get(&Object{Key: key})
	c.mu.RUnlock()
	if !ok {
		return nil, errorf(CodeNotFound, key, "not found")
	}
	return o, nil
}

// waitFor brings the cache to the state a read with resourceVersion rv may see.
func (c *Cache) waitFor(ctx context.Context, rv string) error {
	switch rv {
	case "":
		_, err := c.waitFresh(ctx)
		return err
	case "0":
		select {
		case <-c.ready:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	n, err := parseRV(rv)
	if err != nil {
		return err
	}
	select {
	case <-c.ready:
	case <-ctx.Done():
		return ctx.Err()
	}
	return c.waitUntil(ctx, n)
}

func parseRV(rv string) (int64, error) {
	n, err := strconv.ParseInt(rv, 10, 64)
	if err != nil || n < 0 {
		return 0, errorf(CodeInvalid, "", "invalid resource version %q", rv)
	}
	return n, nil
}

// continueToken is upstream's continue token format.
type continueToken struct {
	APIVersion string `json:"v"`
	RV         int64  `json:"rv"`
	Start      string `json:"start"`
}

func encodeContinue(rv int64, start string) string {
	b, _ := json.Marshal(continueToken{APIVersion: "meta.k8s.io/v1", RV: rv, Start: start})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeContinue(s string) (continueToken, error) {
	var t continueToken
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return t, errorf(CodeInvalid, "", "continue key is not valid: %v", err)
	}
	if err := json.Unmarshal(b, &t); err != nil || t.APIVersion != "meta.k8s.io/v1" || t.RV <= 0 {
		return t, errorf(CodeInvalid, "", "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)")
	}
	if strings.Contains(t.Start, "..") || strings.HasPrefix(t.Start, "/") {
		return t, errorf(CodeInvalid, "", "continue key is not valid: the start key may not contain '..' or begin with '/'")
	}
	return t, nil
}

// List returns the objects matching opts, in key order.
func (c *Cache) List(ctx context.Context, opts ListOptions) (*ListResult, error) {
	start := ""
	var at int64 // the revision a continued or exact list must reflect
	if opts.Continue != "" {
		t, err := decodeContinue(opts.Continue)
		if err != nil {
			return nil, err
		}
		start, at = t.Start, t.RV
	} else if opts.Exact {
		rv, err := parseRV(opts.RV)
		if err != nil {
			return nil, err
		}
		at = rv
	}
	if opts.Namespace != "" && c.res.Namespaced && start < opts.Namespace+"/" {
		start = opts.Namespace + "/"
	}
	if at == 0 {
		if err := c.waitFor(ctx, opts.RV); err != nil {
			return nil, err
		}
	} else if err := c.waitUntil(ctx, at); err != nil {
		return nil, err
	}
	c.mu.RLock()
	if at != 0 && c.lastChange > at {
		// The cache moved past the revision asked for: read that state from etcd.
		c.mu.RUnlock()
		return c.listAt(ctx, opts, start, at)
	}
	defer c.mu.RUnlock()
	rv := c.rv
	if at != 0 {
		rv = at
	}
	res := &ListResult{RV: rv}
	limit := int(opts.Limit)
	if key, ok := indexKey(opts.Predicate, c.res.Indexes); ok {
		for _, o := range c.indexedLocked(key) {
			if o.Key < start || !opts.Matches(o) {
				continue
			}
			if limit > 0 && len(res.Items) == limit {
				res.Continue = encodeContinue(rv, res.Items[len(res.Items)-1].Key+"\x00")
				break
			}
			res.Items = append(res.Items, o)
		}
		return res, nil
	}
	var remaining int64
	prefix := ""
	if opts.Namespace != "" && c.res.Namespaced {
		prefix = opts.Namespace + "/"
	}
	counting := !opts.hasSelectors()
	c.items.AscendGreaterOrEqual(&Object{Key: start}, func(o *Object) bool {
		if prefix != "" && !strings.HasPrefix(o.Key, prefix) {
			return false
		}
		if !opts.Matches(o) {
			return true
		}
		if limit > 0 && len(res.Items) == limit {
			if res.Continue == "" {
				res.Continue = encodeContinue(rv, res.Items[len(res.Items)-1].Key+"\x00")
			}
			if !counting {
				return false
			}
			remaining++
			return true
		}
		res.Items = append(res.Items, o)
		return true
	})
	if res.Continue != "" && counting {
		res.Remaining = &remaining
	}
	return res, nil
}

// listAt serves a page of the state at revision at from etcd.
func (c *Cache) listAt(ctx context.Context, opts ListOptions, start string, at int64) (*ListResult, error) {
	res := &ListResult{RV: at}
	key := c.res.Prefix + start
	end := clientv3.GetPrefixRangeEnd(c.res.Prefix)
	if opts.Namespace != "" && c.res.Namespaced {
		end = clientv3.GetPrefixRangeEnd(c.res.Prefix + opts.Namespace + "/")
	}
	limit := opts.Limit
	batch := limit + 1
	if batch < 100 {
		batch = 100
	}
	for {
		t := time.Now()
		resp, err := c.store.kv.Get(ctx, key, clientv3.WithRange(end), clientv3.WithRev(at), clientv3.WithLimit(batch))
		c.store.metrics.observeEtcd("list", c.res.Name, t, err)
		if err == rpctypes.ErrCompacted {
			return nil, errorf(CodeExpired, "", "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.")
		}
		if err != nil {
			return nil, err
		}
		for _, kv := range resp.Kvs {
			o, err := c.fromKV(kv)
			if err != nil {
				return nil, err
			}
			if !opts.Matches(o) {
				continue
			}
			if limit > 0 && int64(len(res.Items)) == limit {
				last := res.Items[len(res.Items)-1].Key + "\x00"
				res.Continue = encodeContinue(at, last)
				if !opts.hasSelectors() {
					t := time.Now()
					cr, err := c.store.kv.Get(ctx, c.res.Prefix+last, clientv3.WithRange(end), clientv3.WithRev(at), clientv3.WithCountOnly())
					c.store.metrics.observeEtcd("count", c.res.Name, t, err)
					if err != nil {
						return nil, err
					}
					res.Remaining = &cr.Count
				}
				return res, nil
			}
			res.Items = append(res.Items, o)
		}
		if !resp.More || len(resp.Kvs) == 0 {
			return res, nil
		}
		key = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

// getAt reads one object at revision rv from etcd.
func (c *Cache) getAt(ctx context.Context, key string, rv int64) (*Object, error) {
	t := time.Now()
	resp, err := c.store.kv.Get(ctx, c.res.Prefix+key, clientv3.WithRev(rv))
	c.store.metrics.observeEtcd("get", c.res.Name, t, err)
	if err == rpctypes.ErrCompacted {
		return nil, errorf(CodeExpired, key, "resource version %d has been compacted", rv)
	}
	if err != nil {
		return nil, err
	}
	if len(resp.Kvs) == 0 {
		return nil, errorf(CodeNotFound, key, "not found")
	}
	return c.fromKV(resp.Kvs[0])
}
