package garbagecollector

import (
	"fmt"
	"slices"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// objectReference is where an object is: its kind as ownerReferences write it
// (apiVersion and kind), its namespace ("" for cluster-scoped kinds), name and
// UID. It is comparable, so it keys maps.
type objectReference struct {
	APIVersion, Kind string
	Namespace, Name  string
	UID              types.UID
}

func (r objectReference) String() string {
	name := r.Name
	if r.Namespace != "" {
		name = r.Namespace + "/" + name
	}
	return fmt.Sprintf("%s %s (%s, uid %s)", r.Kind, name, r.APIVersion, r.UID)
}

// group is the API group of the reference's apiVersion.
func (r objectReference) group() string {
	gv, _ := schema.ParseGroupVersion(r.APIVersion)
	return gv.Group
}

// refTo returns where ref points for a dependent in namespace: namespaced
// says whether the owner's kind is namespaced.
func refTo(ref metav1.OwnerReference, namespace string, namespaced bool) objectReference {
	if !namespaced {
		namespace = ""
	}
	return objectReference{APIVersion: ref.APIVersion, Kind: ref.Kind, Namespace: namespace, Name: ref.Name, UID: ref.UID}
}

// node is one object of the graph. A virtual node is an owner some dependent
// names but that no informer has shown: its coordinates come from that
// dependent's ownerReference, and a worker verifies with a live GET that it
// exists.
type node struct {
	id     objectReference
	owners []metav1.OwnerReference // as last observed; never modified
	// observed is false for a virtual node.
	observed bool
	// beingDeleted: a deletionTimestamp is set. deletingDependents: and the
	// foregroundDeletion finalizer, so its dependents go first. orphaning: and
	// the orphan finalizer, so its dependents are released first.
	beingDeleted, deletingDependents, orphaning bool
	// checks counts the live checks of a virtual node that found it, for the
	// back-off of the next.
	checks int
}

// nodeView is a copy of a node, for workers to read without the graph's lock.
type nodeView struct {
	id                                          objectReference
	owners                                      []metav1.OwnerReference
	observed                                    bool
	beingDeleted, deletingDependents, orphaning bool
}

func (n *node) view() nodeView {
	return nodeView{id: n.id, owners: n.owners, observed: n.observed,
		beingDeleted: n.beingDeleted, deletingDependents: n.deletingDependents, orphaning: n.orphaning}
}

// effects is what a change of the graph asks of the collector: objects to
// look at, and invalid references to report.
type effects struct {
	enqueue []types.UID
	invalid []invalidRef
}

// invalidRef is an ownerReference from a namespaced dependent to an owner seen
// in another namespace: it can never be satisfied.
type invalidRef struct {
	dependent objectReference
	owner     metav1.OwnerReference
}

func (fx *effects) add(uids ...types.UID) { fx.enqueue = append(fx.enqueue, uids...) }

// scopeFunc reports whether the kind apiVersion/kind is namespaced, and
// whether it is known at all.
type scopeFunc func(apiVersion, kind string) (namespaced, known bool)

// graph is the owner graph: every object the informers show, with its
// ownerReferences, and the reverse index from an owner's UID to the objects
// that name it. The reverse index holds whatever the dependents say, so it
// outlives an owner's node: a dependent of a deleted owner stays linked to the
// owner's UID until it is deleted or its reference is removed.
//
// A graph is safe for concurrent use; its methods return copies.
type graph struct {
	scope  scopeFunc
	absent *absentCache

	mu    sync.Mutex
	nodes map[types.UID]*node
	// dependents[owner] is the set of objects whose ownerReferences name owner.
	dependents map[types.UID]map[types.UID]struct{}
}

func newGraph(scope scopeFunc, absent *absentCache) *graph {
	return &graph{scope: scope, absent: absent,
		nodes: make(map[types.UID]*node), dependents: make(map[types.UID]map[types.UID]struct{})}
}

// observe records an object an informer shows (added or updated) and returns
// what the change asks for: virtual owners to verify, owners a dependent no
// longer blocks, owners starting to orphan or to delete their dependents.
func (g *graph) observe(id objectReference, obj metav1.Object) effects {
	g.mu.Lock()
	defer g.mu.Unlock()
	var fx effects
	n, found := g.nodes[id.UID]
	if !found {
		n = &node{id: id}
		g.nodes[id.UID] = n
	} else if !n.observed && n.id != id {
		// A virtual node took its coordinates from a dependent; now the real
		// ones are known, the dependents that disagree must be checked.
		for dep := range g.dependents[id.UID] {
			d, ok := g.nodes[dep]
			if !ok {
				continue
			}
			for _, ref := range d.owners {
				if ref.UID != id.UID {
					continue
				}
				if id.Namespace != "" && d.id.Namespace != id.Namespace {
					fx.invalid = append(fx.invalid, invalidRef{dependent: d.id, owner: ref})
					fx.add(dep)
				} else if !sameCoordinates(ref, id) {
					fx.add(dep)
				}
			}
		}
	}
	n.id = id
	n.observed = true
	n.checks = 0

	owners := slices.Clone(obj.GetOwnerReferences())
	added, removed, changed := referencesDiffs(n.owners, owners)
	fx.add(g.unblockedOwnersLocked(removed, changed)...)
	n.owners = owners
	g.linkLocked(n, added, &fx)
	g.unlinkLocked(n.id.UID, removed)

	wasOrphaning, wasDeletingDependents := n.orphaning, n.deletingDependents
	n.beingDeleted = obj.GetDeletionTimestamp() != nil
	n.orphaning = n.beingDeleted && slices.Contains(obj.GetFinalizers(), metav1.FinalizerOrphanDependents)
	n.deletingDependents = n.beingDeleted && slices.Contains(obj.GetFinalizers(), metav1.FinalizerDeleteDependents)
	if n.orphaning && !wasOrphaning {
		fx.add(n.id.UID)
	}
	if n.deletingDependents && !wasDeletingDependents {
		fx.add(n.id.UID)
		for dep := range g.dependents[n.id.UID] {
			fx.add(dep)
		}
	}
	return fx
}

// observeDeleted records that an informer saw the object go away.
func (g *graph) observeDeleted(uid types.UID) effects {
	g.mu.Lock()
	defer g.mu.Unlock()
	n, ok := g.nodes[uid]
	if !ok {
		return effects{}
	}
	return g.removeLocked(n)
}

// verifiedAbsent records that a live GET of id found nothing, or an object
// with another UID. The node goes, as if its deletion had been observed,
// unless the informers showed it with other coordinates meanwhile: then it is
// looked at again.
func (g *graph) verifiedAbsent(id objectReference) effects {
	g.mu.Lock()
	defer g.mu.Unlock()
	n, ok := g.nodes[id.UID]
	switch {
	case !ok:
		return effects{}
	case n.id != id:
		return effects{enqueue: []types.UID{id.UID}}
	}
	return g.removeLocked(n)
}

// removeLocked takes n out of the graph. Its dependents are looked at (their
// owner is gone), and so are its owners waiting for their dependents to go.
func (g *graph) removeLocked(n *node) effects {
	var fx effects
	delete(g.nodes, n.id.UID)
	g.unlinkLocked(n.id.UID, n.owners)
	if deps := g.dependents[n.id.UID]; len(deps) > 0 {
		g.absent.add(n.id)
		for dep := range deps {
			fx.add(dep)
		}
	}
	for _, ref := range n.owners {
		if o, ok := g.nodes[ref.UID]; ok && o.deletingDependents {
			fx.add(ref.UID)
		}
	}
	return fx
}

// linkLocked records that n names the owners refs. An owner not in the graph
// gets a virtual node, to be verified; a reference that disagrees with the
// owner's known coordinates gets n checked.
func (g *graph) linkLocked(n *node, refs []metav1.OwnerReference, fx *effects) {
	check := false
	for _, ref := range refs {
		deps := g.dependents[ref.UID]
		if deps == nil {
			deps = make(map[types.UID]struct{})
			g.dependents[ref.UID] = deps
		}
		deps[n.id.UID] = struct{}{}
		owner, ok := g.nodes[ref.UID]
		if !ok {
			namespaced, known := g.scope(ref.APIVersion, ref.Kind)
			g.nodes[ref.UID] = &node{id: refTo(ref, n.id.Namespace, namespaced || !known)}
			fx.add(ref.UID)
			continue
		}
		switch {
		case owner.id.Namespace != "" && owner.id.Namespace != n.id.Namespace:
			if owner.observed {
				fx.invalid = append(fx.invalid, invalidRef{dependent: n.id, owner: ref})
			}
			check = true
		case !sameCoordinates(ref, owner.id):
			check = true
		}
	}
	if check {
		fx.add(n.id.UID)
	}
}

// unlinkLocked records that dep no longer names the owners refs. A virtual
// owner nobody names any more leaves the graph.
func (g *graph) unlinkLocked(dep types.UID, refs []metav1.OwnerReference) {
	for _, ref := range refs {
		deps := g.dependents[ref.UID]
		delete(deps, dep)
		if len(deps) > 0 {
			continue
		}
		delete(g.dependents, ref.UID)
		if o, ok := g.nodes[ref.UID]; ok && !o.observed {
			delete(g.nodes, ref.UID)
		}
	}
}

// unblockedOwnersLocked returns the owners waiting for their dependents to go
// that a dependent stopped blocking: it removed its reference to them, or set
// blockOwnerDeletion to false.
func (g *graph) unblockedOwnersLocked(removed []metav1.OwnerReference, changed []refChange) []types.UID {
	var out []types.UID
	waiting := func(uid types.UID) bool {
		o, ok := g.nodes[uid]
		return ok && o.deletingDependents
	}
	for _, ref := range removed {
		if blocks(ref) && waiting(ref.UID) {
			out = append(out, ref.UID)
		}
	}
	for _, c := range changed {
		if blocks(c.old) && !blocks(c.new) && waiting(c.new.UID) {
			out = append(out, c.new.UID)
		}
	}
	return out
}

// node returns a copy of the node with uid.
func (g *graph) node(uid types.UID) (nodeView, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	n, ok := g.nodes[uid]
	if !ok {
		return nodeView{}, false
	}
	return n.view(), true
}

// dependentsOf returns copies of the objects in the graph that name uid as an
// owner.
func (g *graph) dependentsOf(uid types.UID) []nodeView {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]nodeView, 0, len(g.dependents[uid]))
	for dep := range g.dependents[uid] {
		if d, ok := g.nodes[dep]; ok {
			out = append(out, d.view())
		}
	}
	return out
}

// stillVirtual reports whether uid is a virtual node and, if so, counts one
// more live check that found it; it returns the count.
func (g *graph) stillVirtual(uid types.UID) (int, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	n, ok := g.nodes[uid]
	if !ok || n.observed {
		return 0, false
	}
	n.checks++
	return n.checks, true
}

// size returns the number of nodes, for tests and metrics.
func (g *graph) size() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.nodes)
}

// refChange is an ownerReference whose fields changed (same owner UID).
type refChange struct{ old, new metav1.OwnerReference }

// referencesDiffs compares two lists of ownerReferences by owner UID.
func referencesDiffs(old, cur []metav1.OwnerReference) (added, removed []metav1.OwnerReference, changed []refChange) {
	before := make(map[types.UID]metav1.OwnerReference, len(old))
	for _, r := range old {
		before[r.UID] = r
	}
	for _, r := range cur {
		o, ok := before[r.UID]
		if !ok {
			added = append(added, r)
			continue
		}
		delete(before, r.UID)
		if !sameRef(o, r) {
			changed = append(changed, refChange{old: o, new: r})
		}
	}
	for _, r := range old {
		if _, ok := before[r.UID]; ok {
			removed = append(removed, r)
		}
	}
	return added, removed, changed
}

func sameRef(a, b metav1.OwnerReference) bool {
	return a.APIVersion == b.APIVersion && a.Kind == b.Kind && a.Name == b.Name && a.UID == b.UID &&
		boolValue(a.Controller) == boolValue(b.Controller) && boolValue(a.BlockOwnerDeletion) == boolValue(b.BlockOwnerDeletion)
}

// sameCoordinates reports whether ref names the object id: same group, kind,
// name and UID. The version does not matter: a kind served in several versions
// is one object.
func sameCoordinates(ref metav1.OwnerReference, id objectReference) bool {
	gv, _ := schema.ParseGroupVersion(ref.APIVersion)
	return ref.UID == id.UID && ref.Name == id.Name && ref.Kind == id.Kind && gv.Group == id.group()
}

// blocks reports whether ref has blockOwnerDeletion: true.
func blocks(ref metav1.OwnerReference) bool { return boolValue(ref.BlockOwnerDeletion) }

func boolValue(b *bool) bool { return b != nil && *b }

// blockingDependents returns the dependents whose reference to owner blocks its
// deletion (blockOwnerDeletion: true): a foreground deletion waits for them.
func blockingDependents(owner types.UID, deps []nodeView) []nodeView {
	var out []nodeView
	for _, d := range deps {
		for _, ref := range d.owners {
			if ref.UID == owner && blocks(ref) {
				out = append(out, d)
				break
			}
		}
	}
	return out
}
