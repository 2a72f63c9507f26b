package framework

import (
	"sync"

	"k8s.io/apimachinery/pkg/labels"
)

// matchCache remembers, per (namespace, selector) and node, how many of the
// node's pods match, for the node version (NodeInfo.Generation) it was
// counted on. Spreading counts matching pods on every node for every pod
// scheduled; between two cycles few nodes change, so most counts are reused.
// NodeInfos of generation 0 (built without a cache) are never memoized.
type matchCache struct {
	mu      sync.RWMutex
	entries map[matchKey]map[string]nodeCount
}

type matchKey struct{ namespace, selector string }

type nodeCount struct {
	generation int64
	count      int32
}

// Past maxMatchSelectors selectors the cache starts over.
const maxMatchSelectors = 512

// matchPass counts, for some selectors, matching pods on the nodes of one
// pass. It holds the cache's read lock from begin to end; count may be
// called from several goroutines.
type matchPass struct {
	namespace string
	sels      []labels.Selector
	keys      []matchKey
	entries   []map[string]nodeCount // read-only during the pass
}

func (c *matchCache) begin(namespace string, sels []labels.Selector) *matchPass {
	p := &matchPass{namespace: namespace, sels: sels, keys: make([]matchKey, len(sels)), entries: make([]map[string]nodeCount, len(sels))}
	for i, s := range sels {
		p.keys[i] = matchKey{namespace, s.String()}
	}
	c.mu.RLock()
	for i, k := range p.keys {
		p.entries[i] = c.entries[k]
	}
	return p
}

// count is countPodsMatching for selector s on ni; miss says it was
// counted, not remembered.
func (p *matchPass) count(s int, ni *NodeInfo) (n int32, miss bool) {
	if ni.Generation != 0 && p.entries[s] != nil {
		if nc, ok := p.entries[s][ni.node.Name]; ok && nc.generation == ni.Generation {
			return nc.count, false
		}
	}
	return int32(countPodsMatching(ni.pods, p.sels[s], p.namespace)), ni.Generation != 0
}

// end releases the read lock and remembers the counted values: counts[n*S+s]
// for node n and selector s where missed is set. nodes may be a sample of
// the cluster's clusterSize nodes.
func (c *matchCache) end(p *matchPass, nodes []*NodeInfo, clusterSize int, counts []int32, missed []bool) {
	c.mu.RUnlock()
	found := false
	for _, m := range missed {
		if m {
			found = true
			break
		}
	}
	if !found {
		return
	}
	ns := len(p.sels)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) > maxMatchSelectors {
		c.entries = make(map[matchKey]map[string]nodeCount)
	}
	for s, k := range p.keys {
		e := c.entries[k]
		if e == nil || len(e) > 2*clusterSize+64 {
			// New, or full of nodes that are gone: start over.
			e = make(map[string]nodeCount, len(nodes))
			c.entries[k] = e
		}
		for n, ni := range nodes {
			if missed[n*ns+s] {
				e[ni.node.Name] = nodeCount{generation: ni.Generation, count: counts[n*ns+s]}
			}
		}
	}
}
