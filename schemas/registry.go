// Package schemas is tend's registry of kinds: for each group/version/resource
// the Go type from k8s.io/api, its scope, names, subresources, selectable fields,
// and how a write treats it (generation, spec/status split, create on update).
// Defaulting, validation, table printing, conversion and OpenAPI live in the
// sub-packages of the same names.
//
// A Resource is one stored thing (one etcd prefix, one watch cache). A Kind is
// one group/version of it served over HTTP; a resource stored in one version may
// be served in several (autoscaling/v1 and v2 HorizontalPodAutoscalers), and two
// groups may serve one resource (core/v1 and events.k8s.io/v1 Events).
//
// The registry is built once and then read-only: share it freely.
package schemas

import (
	"fmt"
	"sort"

	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Resource is one stored resource.
type Resource struct {
	schema.GroupResource
	// StorageVersion is the group/version of the stored type.
	StorageVersion schema.GroupVersion
	// StorageKind is the kind of the stored type.
	StorageKind string
	Namespaced  bool
	// New returns an empty object of the stored type.
	New func() runtime.Object
	// Fields returns the selectable fields of a stored object beyond
	// metadata.name and metadata.namespace.
	Fields func(obj runtime.Object) fields.Set
	// FieldLabels are the field selector labels Fields provides.
	FieldLabels []string
	// Indexes are fields the watch cache indexes for LIST.
	Indexes []string
	// Generation says metadata.generation is set on create and bumped when
	// anything but metadata and status changes.
	Generation bool
	// HasStatus says status is written only through the status subresource.
	HasStatus bool
	// AllowCreateOnUpdate lets PUT create a missing object.
	AllowCreateOnUpdate bool
	// ReturnDeletedObject answers a DELETE with the deleted object rather than a
	// Status.
	ReturnDeletedObject bool
}

// Kind is one group/version/resource as served.
type Kind struct {
	schema.GroupVersionResource
	Kind         string
	ListKind     string
	SingularName string
	ShortNames   []string
	Categories   []string
	Namespaced   bool
	// Subresources lists the subresources served, e.g. "status", "scale".
	Subresources []string
	// New and NewList return empty objects of the served type.
	New     func() runtime.Object
	NewList func() runtime.Object
	// Storage is the resource the kind is stored as.
	Storage *Resource
	// ToStorage and FromStorage convert between the served and the stored type;
	// nil when they are the same type.
	ToStorage   func(obj runtime.Object) (runtime.Object, error)
	FromStorage func(obj runtime.Object) (runtime.Object, error)
	// Preferred marks the version discovery prefers for its group.
	Preferred bool
}

// GroupVersionKind returns the kind's GVK.
func (k *Kind) GroupVersionKind() schema.GroupVersionKind {
	return k.GroupVersion().WithKind(k.Kind)
}

// HasSubresource reports whether the kind serves the named subresource.
func (k *Kind) HasSubresource(name string) bool {
	for _, s := range k.Subresources {
		if s == name {
			return true
		}
	}
	return false
}

// Verbs returns the verbs the kind serves, in upstream's order.
func (k *Kind) Verbs() []string {
	return []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}
}

// Registry holds every kind tend serves.
type Registry struct {
	scheme    *runtime.Scheme
	resources []*Resource
	kinds     []*Kind
	byGVR     map[schema.GroupVersionResource]*Kind
	byGVK     map[schema.GroupVersionKind]*Kind
}

// Scheme returns the runtime.Scheme with every served type registered.
func (r *Registry) Scheme() *runtime.Scheme { return r.scheme }

// Resources returns the stored resources. Do not modify.
func (r *Registry) Resources() []*Resource { return r.resources }

// Kinds returns the served kinds, sorted by group, version and resource. Do not
// modify.
func (r *Registry) Kinds() []*Kind { return r.kinds }

// Lookup finds a served kind by group, version and resource.
func (r *Registry) Lookup(gvr schema.GroupVersionResource) (*Kind, bool) {
	k, ok := r.byGVR[gvr]
	return k, ok
}

// LookupKind finds a served kind by group, version and kind.
func (r *Registry) LookupKind(gvk schema.GroupVersionKind) (*Kind, bool) {
	k, ok := r.byGVK[gvk]
	return k, ok
}

func (r *Registry) add(k *Kind) {
	if _, dup := r.byGVR[k.GroupVersionResource]; dup {
		panic(fmt.Sprintf("schemas: %s registered twice", k.GroupVersionResource))
	}
	k.Namespaced = k.Storage.Namespaced
	r.kinds = append(r.kinds, k)
	r.byGVR[k.GroupVersionResource] = k
	r.byGVK[k.GroupVersionKind()] = k
}

func (r *Registry) sort() {
	sort.Slice(r.kinds, func(i, j int) bool {
		a, b := r.kinds[i], r.kinds[j]
		if a.Group != b.Group {
			return a.Group < b.Group
		}
		if a.Version != b.Version {
			return a.Version < b.Version
		}
		return a.Resource < b.Resource
	})
}

// OnePerResource returns, of kinds, one served version of each stored resource:
// the preferred one, or, of several preferred (core and events.k8s.io Events),
// the one in the storage version. Whoever acts on every object once (the
// garbage collector, the namespace controller) uses it, so that no object is
// seen twice. Order follows kinds.
func OnePerResource(kinds []*Kind) []*Kind {
	chosen := map[schema.GroupResource]int{}
	var out []*Kind
	for _, k := range kinds {
		if !k.Preferred {
			continue
		}
		gr := k.Storage.GroupResource
		i, ok := chosen[gr]
		switch {
		case !ok:
			chosen[gr] = len(out)
			out = append(out, k)
		case k.GroupVersion() == k.Storage.StorageVersion && out[i].GroupVersion() != k.Storage.StorageVersion:
			out[i] = k
		}
	}
	return out
}
