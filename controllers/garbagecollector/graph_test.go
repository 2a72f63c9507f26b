package garbagecollector

import (
	"fmt"
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tendhq/tend/schemas"
)

// obj is a test object: an identity and the metadata the graph reads.
type obj struct {
	id         objectReference
	owners     []metav1.OwnerReference
	deleting   bool
	finalizers []string
}

func (o obj) meta() *metav1.PartialObjectMetadata {
	m := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{
		Namespace: o.id.Namespace, Name: o.id.Name, UID: o.id.UID, OwnerReferences: o.owners, Finalizers: o.finalizers}}
	if o.deleting {
		now := metav1.Now()
		m.DeletionTimestamp = &now
	}
	return m
}

func (o obj) ref(block bool) metav1.OwnerReference {
	return metav1.OwnerReference{APIVersion: o.id.APIVersion, Kind: o.id.Kind, Name: o.id.Name, UID: o.id.UID, BlockOwnerDeletion: &block}
}

func (o obj) ownedBy(refs ...metav1.OwnerReference) obj {
	o.owners = refs
	return o
}

func (o obj) deletedWith(finalizers ...string) obj {
	o.deleting, o.finalizers = true, finalizers
	return o
}

func rsObj(name string) obj {
	return obj{id: objectReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Namespace: "default", Name: name, UID: types.UID("rs-" + name)}}
}

func podObj(name string) obj {
	return obj{id: objectReference{APIVersion: "v1", Kind: "Pod", Namespace: "default", Name: name, UID: types.UID("pod-" + name)}}
}

func cmObj(namespace, name string) obj {
	return obj{id: objectReference{APIVersion: "v1", Kind: "ConfigMap", Namespace: namespace, Name: name, UID: types.UID("cm-" + namespace + "-" + name)}}
}

func clusterRoleObj(name string) obj {
	return obj{id: objectReference{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole", Name: name, UID: types.UID("cr-" + name)}}
}

func testScope(apiVersion, kind string) (namespaced, known bool) {
	switch kind {
	case "ClusterRole", "Namespace":
		return false, true
	case "Pod", "ConfigMap", "Secret", "ReplicaSet", "Deployment":
		return true, true
	}
	return false, false
}

// step is one change of a graph and what it should ask for.
type step struct {
	observe obj                // an add or update
	deleted types.UID          // or an observed deletion
	absent  *objectReference   // or a live check that found nothing
	enqueue []types.UID        // the objects to look at, in any order
	invalid []objectReference  // the dependents reported with invalid references
	check   func(*graph) error // then, optionally
}

func TestGraph(t *testing.T) {
	rs, pod, pod2 := rsObj("web"), podObj("a"), podObj("b")
	virtualRS := rs.id
	foreground, orphan := metav1.FinalizerDeleteDependents, metav1.FinalizerOrphanDependents
	tests := []struct {
		name  string
		steps []step
	}{
		{"an owner seen after its dependent is virtual until then", []step{
			{observe: pod.ownedBy(rs.ref(true)), enqueue: []types.UID{rs.id.UID}, check: virtual(rs.id.UID, true)},
			{observe: rs, check: virtual(rs.id.UID, false)},
		}},
		{"an owner seen first asks for nothing", []step{
			{observe: rs},
			{observe: pod.ownedBy(rs.ref(true))},
			{observe: pod.ownedBy(rs.ref(true))},
		}},
		{"a deleted owner's dependents are looked at", []step{
			{observe: rs},
			{observe: pod.ownedBy(rs.ref(true))},
			{observe: pod2.ownedBy(rs.ref(false))},
			{deleted: rs.id.UID, enqueue: []types.UID{pod.id.UID, pod2.id.UID}, check: func(g *graph) error {
				if !g.absent.has(rs.id) {
					return errorf("the deleted owner is not known absent")
				}
				return nil
			}},
		}},
		{"an owner deleted without dependents asks for nothing", []step{
			{observe: rs},
			{deleted: rs.id.UID, check: func(g *graph) error {
				if g.size() != 0 {
					return errorf("the graph holds %d nodes; want 0", g.size())
				}
				return nil
			}},
		}},
		{"a foreground deletion looks at the owner and every dependent, once", []step{
			{observe: rs},
			{observe: pod.ownedBy(rs.ref(true))},
			{observe: pod2.ownedBy(rs.ref(false))},
			{observe: rs.deletedWith(foreground), enqueue: []types.UID{rs.id.UID, pod.id.UID, pod2.id.UID}},
			{observe: rs.deletedWith(foreground)},
		}},
		{"an orphaning deletion looks at the owner", []step{
			{observe: rs},
			{observe: pod.ownedBy(rs.ref(true))},
			{observe: rs.deletedWith(orphan), enqueue: []types.UID{rs.id.UID}},
		}},
		{"a deletion without a collector finalizer asks for nothing", []step{
			{observe: rs},
			{observe: pod.ownedBy(rs.ref(true))},
			{observe: rs.deletedWith("example.com/other")},
		}},
		{"a dependent that stops blocking brings its waiting owner back", []step{
			{observe: rs.deletedWith(foreground), enqueue: []types.UID{rs.id.UID}},
			{observe: pod.ownedBy(rs.ref(true)), enqueue: nil},
			{observe: pod2.ownedBy(rs.ref(true))},
			{observe: pod.ownedBy(rs.ref(false)), enqueue: []types.UID{rs.id.UID}},
			{observe: pod2, enqueue: []types.UID{rs.id.UID}},
		}},
		{"a dependent that stops naming a solid owner asks for nothing", []step{
			{observe: rs},
			{observe: pod.ownedBy(rs.ref(true))},
			{observe: pod},
		}},
		{"a deleted dependent brings its waiting owner back", []step{
			{observe: rs},
			{observe: pod.ownedBy(rs.ref(true))},
			{observe: rs.deletedWith(foreground), enqueue: []types.UID{rs.id.UID, pod.id.UID}},
			{deleted: pod.id.UID, enqueue: []types.UID{rs.id.UID}},
		}},
		{"a reference across namespaces is invalid", []step{
			{observe: cmObj("a", "owner")},
			{observe: cmObj("b", "dep").ownedBy(cmObj("a", "owner").ref(false)),
				enqueue: []types.UID{cmObj("b", "dep").id.UID}, invalid: []objectReference{cmObj("b", "dep").id}},
		}},
		{"a reference with other coordinates is checked", []step{
			{observe: cmObj("default", "owner")},
			{observe: pod.ownedBy(metav1.OwnerReference{APIVersion: "v1", Kind: "Secret", Name: "owner", UID: cmObj("default", "owner").id.UID}),
				enqueue: []types.UID{pod.id.UID}},
		}},
		{"another version of the owner's kind is the same owner", []step{
			{observe: rs},
			{observe: pod.ownedBy(metav1.OwnerReference{APIVersion: "apps/v1beta2", Kind: "ReplicaSet", Name: rs.id.Name, UID: rs.id.UID})},
		}},
		{"a virtual owner observed with other coordinates has its dependents checked", []step{
			{observe: pod.ownedBy(metav1.OwnerReference{APIVersion: "v1", Kind: "Secret", Name: "x", UID: "shared"}),
				enqueue: []types.UID{"shared"}},
			{observe: obj{id: objectReference{APIVersion: "v1", Kind: "ConfigMap", Namespace: "default", Name: "x", UID: "shared"}},
				enqueue: []types.UID{pod.id.UID}},
		}},
		{"a virtual owner found absent has its dependents looked at", []step{
			{observe: pod.ownedBy(rs.ref(true)), enqueue: []types.UID{rs.id.UID}},
			{observe: pod2.ownedBy(rs.ref(true))},
			{absent: &virtualRS, enqueue: []types.UID{pod.id.UID, pod2.id.UID}, check: func(g *graph) error {
				if _, ok := g.node(rs.id.UID); ok {
					return errorf("the absent owner is still in the graph")
				}
				if deps := g.dependentsOf(rs.id.UID); len(deps) != 2 {
					return errorf("the absent owner has %d dependents; want them kept, 2", len(deps))
				}
				return nil
			}},
		}},
		{"a live check under stale coordinates looks again", []step{
			{observe: pod.ownedBy(rs.ref(true)), enqueue: []types.UID{rs.id.UID}},
			{observe: obj{id: objectReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Namespace: "default", Name: "renamed", UID: rs.id.UID}},
				enqueue: []types.UID{pod.id.UID}},
			{absent: &virtualRS, enqueue: []types.UID{rs.id.UID}, check: virtual(rs.id.UID, false)},
		}},
		{"a virtual owner nobody names leaves the graph", []step{
			{observe: pod.ownedBy(rs.ref(true)), enqueue: []types.UID{rs.id.UID}},
			{observe: pod, check: func(g *graph) error {
				if _, ok := g.node(rs.id.UID); ok {
					return errorf("the virtual owner is still in the graph")
				}
				return nil
			}},
		}},
		{"a cluster-scoped virtual owner has no namespace", []step{
			{observe: pod.ownedBy(clusterRoleObj("admin").ref(false)), enqueue: []types.UID{clusterRoleObj("admin").id.UID},
				check: func(g *graph) error {
					n, _ := g.node(clusterRoleObj("admin").id.UID)
					if n.id != clusterRoleObj("admin").id {
						return errorf("the virtual owner is %v; want %v", n.id, clusterRoleObj("admin").id)
					}
					return nil
				}},
			{observe: clusterRoleObj("admin")},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGraph(testScope, newAbsentCache(10))
			for i, s := range tt.steps {
				var fx effects
				switch {
				case s.absent != nil:
					fx = g.verifiedAbsent(*s.absent)
				case s.deleted != "":
					fx = g.observeDeleted(s.deleted)
				default:
					fx = g.observe(s.observe.id, s.observe.meta())
				}
				if got, want := sorted(fx.enqueue), sorted(s.enqueue); !slices.Equal(got, want) {
					t.Errorf("step %d: enqueued %v; want %v", i, got, want)
				}
				var invalid []objectReference
				for _, inv := range fx.invalid {
					invalid = append(invalid, inv.dependent)
				}
				if !slices.Equal(invalid, s.invalid) {
					t.Errorf("step %d: invalid references of %v; want %v", i, invalid, s.invalid)
				}
				if s.check != nil {
					if err := s.check(g); err != nil {
						t.Errorf("step %d: %v", i, err)
					}
				}
			}
		})
	}
}

func virtual(uid types.UID, want bool) func(*graph) error {
	return func(g *graph) error {
		n, ok := g.node(uid)
		if !ok {
			return errorf("%s is not in the graph", uid)
		}
		if got := !n.observed; got != want {
			return errorf("%s virtual = %v; want %v", uid, got, want)
		}
		return nil
	}
}

func sorted(uids []types.UID) []types.UID {
	out := slices.Clone(uids)
	slices.Sort(out)
	return slices.Compact(out)
}

func TestReferencesDiffs(t *testing.T) {
	yes, no := true, false
	a := metav1.OwnerReference{UID: "a", Name: "a", BlockOwnerDeletion: &yes}
	aUnblocked := metav1.OwnerReference{UID: "a", Name: "a", BlockOwnerDeletion: &no}
	aNil := metav1.OwnerReference{UID: "a", Name: "a"}
	b := metav1.OwnerReference{UID: "b", Name: "b"}
	c := metav1.OwnerReference{UID: "c", Name: "c"}
	tests := []struct {
		old, cur                []metav1.OwnerReference
		added, removed, changed int
	}{
		{nil, nil, 0, 0, 0},
		{nil, []metav1.OwnerReference{a, b}, 2, 0, 0},
		{[]metav1.OwnerReference{a, b}, nil, 0, 2, 0},
		{[]metav1.OwnerReference{a, b}, []metav1.OwnerReference{b, a}, 0, 0, 0},
		{[]metav1.OwnerReference{a, b}, []metav1.OwnerReference{aUnblocked, c}, 1, 1, 1},
		{[]metav1.OwnerReference{aUnblocked}, []metav1.OwnerReference{aNil}, 0, 0, 0},
	}
	for _, tt := range tests {
		added, removed, changed := referencesDiffs(tt.old, tt.cur)
		if len(added) != tt.added || len(removed) != tt.removed || len(changed) != tt.changed {
			t.Errorf("referencesDiffs(%v, %v) = %d added, %d removed, %d changed; want %d, %d, %d",
				uids(tt.old), uids(tt.cur), len(added), len(removed), len(changed), tt.added, tt.removed, tt.changed)
		}
	}
}

func uids(refs []metav1.OwnerReference) []types.UID {
	var out []types.UID
	for _, r := range refs {
		out = append(out, r.UID)
	}
	return out
}

func TestBlockingDependents(t *testing.T) {
	owner := rsObj("web")
	other := rsObj("other")
	deps := []nodeView{
		{id: podObj("blocks").id, owners: []metav1.OwnerReference{owner.ref(true)}},
		{id: podObj("does-not").id, owners: []metav1.OwnerReference{owner.ref(false)}},
		{id: podObj("nil").id, owners: []metav1.OwnerReference{{UID: owner.id.UID}}},
		{id: podObj("blocks-other").id, owners: []metav1.OwnerReference{other.ref(true), owner.ref(false)}},
		{id: podObj("blocks-both").id, owners: []metav1.OwnerReference{other.ref(true), owner.ref(true)}},
	}
	var got []string
	for _, d := range blockingDependents(owner.id.UID, deps) {
		got = append(got, d.id.Name)
	}
	if want := []string{"blocks", "blocks-both"}; !slices.Equal(got, want) {
		t.Errorf("blockingDependents = %v; want %v", got, want)
	}
}

func TestAbsentCacheEvictsOldest(t *testing.T) {
	c := newAbsentCache(2)
	a, b, d := rsObj("a").id, rsObj("b").id, rsObj("d").id
	c.add(a)
	c.add(b)
	c.add(a) // refreshes a
	c.add(d) // evicts b
	for _, tt := range []struct {
		ref  objectReference
		want bool
	}{{a, true}, {b, false}, {d, true}} {
		if got := c.has(tt.ref); got != tt.want {
			t.Errorf("has(%v) = %v; want %v", tt.ref, got, tt.want)
		}
	}
	other := a
	other.APIVersion = "apps/v1beta2"
	if !c.has(other) {
		t.Errorf("has(%v) = false; want true: another version of the same kind", other)
	}
	other.Namespace = "elsewhere"
	if c.has(other) {
		t.Errorf("has(%v) = true; want false: another namespace", other)
	}
}

var errorf = fmt.Errorf

func TestWatchedKinds(t *testing.T) {
	got := map[string]bool{}
	for _, k := range watchedKinds(schemas.Builtin().Kinds()) {
		gr := k.Storage.GroupResource.String()
		if got[gr] {
			t.Errorf("watchedKinds has %s twice", gr)
		}
		got[gr] = true
		if gr == "horizontalpodautoscalers.autoscaling" && k.Version != "v2" {
			t.Errorf("watchedKinds serves HorizontalPodAutoscalers as %s; want the preferred v2", k.GroupVersion())
		}
	}
	for _, gr := range []string{"pods", "replicasets.apps", "deployments.apps", "namespaces", "configmaps", "clusterroles.rbac.authorization.k8s.io", "horizontalpodautoscalers.autoscaling"} {
		if !got[gr] {
			t.Errorf("watchedKinds lacks %s", gr)
		}
	}
	if got["events"] {
		t.Error("watchedKinds has events; want them ignored, as upstream")
	}
}
