package scheduler

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/component-helpers/node/topology"
)

// nodeTree orders the nodes the way upstream's does: zone by zone in turns
// (the first node of every zone, then the second of every zone, ...), so
// that a cycle which looks at only part of the nodes (percentageOfNodesToScore)
// still sees every zone. Zones keep the order they were first seen in, nodes
// the order they were added in: the list is stable from one cycle to the
// next, which the framework's rotating start index relies on.
//
// It is not safe for concurrent use; the cache holds its lock.
type nodeTree struct {
	zones    []string            // in the order first seen
	byZone   map[string][]string // zone → node names, in the order added
	zoneOf   map[string]string   // node name → zone
	numNodes int
}

func newNodeTree() *nodeTree {
	return &nodeTree{byZone: map[string][]string{}, zoneOf: map[string]string{}}
}

// add adds n, or moves it if its zone changed. It reports whether the order
// changed.
func (t *nodeTree) add(n *corev1.Node) bool {
	zone := topology.GetZoneKey(n)
	if old, ok := t.zoneOf[n.Name]; ok {
		if old == zone {
			return false
		}
		t.removeName(n.Name)
	}
	if _, ok := t.byZone[zone]; !ok {
		t.zones = append(t.zones, zone)
	}
	t.byZone[zone] = append(t.byZone[zone], n.Name)
	t.zoneOf[n.Name] = zone
	t.numNodes++
	return true
}

// remove removes the node named name; it reports whether it was there.
func (t *nodeTree) remove(name string) bool {
	if _, ok := t.zoneOf[name]; !ok {
		return false
	}
	t.removeName(name)
	return true
}

func (t *nodeTree) removeName(name string) {
	zone := t.zoneOf[name]
	names := t.byZone[zone]
	for i, n := range names {
		if n == name {
			names = append(names[:i], names[i+1:]...)
			break
		}
	}
	if len(names) == 0 {
		delete(t.byZone, zone)
		for i, z := range t.zones {
			if z == zone {
				t.zones = append(t.zones[:i], t.zones[i+1:]...)
				break
			}
		}
	} else {
		t.byZone[zone] = names
	}
	delete(t.zoneOf, name)
	t.numNodes--
}

// list returns the node names, zones interleaved.
func (t *nodeTree) list() []string {
	out := make([]string, 0, t.numNodes)
	if len(t.zones) == 1 {
		return append(out, t.byZone[t.zones[0]]...)
	}
	for i := 0; len(out) < t.numNodes; i++ {
		for _, z := range t.zones {
			if names := t.byZone[z]; i < len(names) {
				out = append(out, names[i])
			}
		}
	}
	return out
}
