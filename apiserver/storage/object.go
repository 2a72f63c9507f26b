package storage

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"sync/atomic"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	kjson "sigs.k8s.io/json"
)

// Object is one stored object as the cache holds it. It is immutable and shared:
// do not modify it or its JSON.
type Object struct {
	// Key is "namespace/name" for namespaced resources and "name" otherwise.
	Key       string
	Namespace string
	Name      string
	// RV is the etcd revision that produced this state (for a deleted object, the
	// revision of the deletion).
	RV     int64
	Labels labels.Set
	// Fields are the values field selectors match, metadata.name and
	// metadata.namespace included.
	Fields fields.Set
	// JSON is the object as served, metadata.resourceVersion included.
	JSON []byte

	// alt is another encoding of the object (protobuf), built the first time a
	// client asks for it and kept with the object.
	alt atomic.Pointer[[]byte]
}

// Encoding returns another encoding of the object, building it with build the
// first time it is asked for; concurrent first callers may each build it, and
// one result is kept. The result is shared: do not modify it.
func (o *Object) Encoding(build func() ([]byte, error)) ([]byte, error) {
	if b := o.alt.Load(); b != nil {
		return *b, nil
	}
	b, err := build()
	if err != nil {
		return nil, err
	}
	o.alt.CompareAndSwap(nil, &b)
	return *o.alt.Load(), nil
}

// Resource describes one resource to storage.
type Resource struct {
	// Name identifies the resource in metrics and errors, e.g. "configmaps" or
	// "deployments.apps".
	Name string
	// Prefix is the etcd key prefix, ending in "/": /registry/core/configmaps/.
	Prefix string
	// Namespaced resources have keys namespace/name.
	Namespaced bool
	// New returns an empty object of the stored type.
	New func() runtime.Object
	// Fields returns the selectable fields of an object, without metadata.name and
	// metadata.namespace (storage adds those). Nil means none.
	Fields func(obj runtime.Object) fields.Set
	// Claims returns the claim keys (absolute etcd keys) an object holds. Nil means
	// none. Storage acquires and releases the difference on every write.
	Claims func(obj runtime.Object) []string
	// Indexes are field names (from Fields) whose equality selectors are served
	// from an index, e.g. "spec.nodeName": a LIST reads only the objects with the
	// value asked for instead of scanning, and a WATCH whose field selector
	// requires one value (a kubelet's spec.nodeName=<node>) is only handed the
	// events of objects that hold, or held, that value.
	Indexes []string
}

// decode turns stored JSON into a typed object with its resourceVersion set.
func (r *Resource) decode(data []byte, rv int64) (runtime.Object, error) {
	obj := r.New()
	if err := kjson.UnmarshalCaseSensitivePreserveInts(data, obj); err != nil {
		return nil, fmt.Errorf("decoding stored %s: %w", r.Name, err)
	}
	if rv != 0 {
		if err := setRV(obj, rv); err != nil {
			return nil, err
		}
	}
	return obj, nil
}

// encode turns an object into stored JSON, without its resourceVersion.
func encodeForStorage(obj runtime.Object) ([]byte, error) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, err
	}
	rv := m.GetResourceVersion()
	m.SetResourceVersion("")
	data, err := json.Marshal(obj)
	m.SetResourceVersion(rv)
	return data, err
}

func setRV(obj runtime.Object, rv int64) error {
	m, err := meta.Accessor(obj)
	if err != nil {
		return err
	}
	m.SetResourceVersion(strconv.FormatInt(rv, 10))
	return nil
}

// newObject builds the cached form of a typed object whose resourceVersion is rv
// (0 leaves it unset). It sets rv on obj.
func (r *Resource) newObject(obj runtime.Object, rv int64) (*Object, error) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, err
	}
	if rv != 0 {
		m.SetResourceVersion(strconv.FormatInt(rv, 10))
	}
	data, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("encoding %s %s: %w", r.Name, m.GetName(), err)
	}
	return r.objectOf(obj, m, data, rv), nil
}

// writtenObject builds the cached form of an object this process just stored as
// data (its JSON without resourceVersion) at revision rv, without encoding it
// again: the resourceVersion is spliced in.
func (r *Resource) writtenObject(obj runtime.Object, data []byte, rv int64) (*Object, error) {
	served, ok := insertRV(data, rv)
	if !ok {
		return r.newObject(obj, rv)
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, err
	}
	m.SetResourceVersion(strconv.FormatInt(rv, 10))
	return r.objectOf(obj, m, served, rv), nil
}

func (r *Resource) objectOf(obj runtime.Object, m metav1.Object, data []byte, rv int64) *Object {
	o := &Object{
		Namespace: m.GetNamespace(),
		Name:      m.GetName(),
		RV:        rv,
		Labels:    labels.Set(m.GetLabels()),
		JSON:      data,
	}
	o.Key = r.keyOf(o.Namespace, o.Name)
	var fs fields.Set
	if r.Fields != nil {
		fs = r.Fields(obj)
	}
	if fs == nil {
		fs = make(fields.Set, 2)
	}
	fs["metadata.name"] = o.Name
	if r.Namespaced {
		fs["metadata.namespace"] = o.Namespace
	}
	o.Fields = fs
	return o
}

// insertRV adds metadata.resourceVersion to JSON encoded without one. ObjectMeta
// encodes uid right before resourceVersion, and the fields before uid (name,
// generateName, namespace, selfLink) are plain strings that cannot hold a quote
// or a brace, so the first "uid" key after "metadata":{ with no brace or bracket
// in between is metadata's own. It reports false when the JSON has no such uid.
func insertRV(data []byte, rv int64) ([]byte, bool) {
	const metaKey, uidKey = `"metadata":{`, `"uid":"`
	m := bytes.Index(data, []byte(metaKey))
	if m < 0 {
		return nil, false
	}
	start := m + len(metaKey)
	u := bytes.Index(data[start:], []byte(uidKey))
	if u < 0 || bytes.ContainsAny(data[start:start+u], "{[") {
		return nil, false
	}
	vStart := start + u + len(uidKey)
	end := bytes.IndexByte(data[vStart:], '"')
	if end < 0 {
		return nil, false
	}
	at := vStart + end + 1
	v := strconv.FormatInt(rv, 10)
	out := make([]byte, 0, len(data)+len(v)+22)
	out = append(out, data[:at]...)
	out = append(out, `,"resourceVersion":"`...)
	out = append(out, v...)
	out = append(out, '"')
	return append(out, data[at:]...), true
}

// withRV returns a copy of o whose resourceVersion is rv, for the last state of a
// deleted object. It rewrites metadata.resourceVersion in place in the JSON: the
// first "resourceVersion" key of an object this package encoded is always the one
// in metadata, since metadata precedes every other non-TypeMeta field and the
// metadata fields before it (name, generateName, namespace, selfLink, uid) cannot
// hold a quote.
func (o *Object) withRV(rv int64) *Object {
	c := &Object{Key: o.Key, Namespace: o.Namespace, Name: o.Name, RV: rv, Labels: o.Labels, Fields: o.Fields, JSON: o.JSON}
	const k = `"resourceVersion":"`
	i := bytes.Index(o.JSON, []byte(k))
	if i < 0 {
		return c
	}
	start := i + len(k)
	end := bytes.IndexByte(o.JSON[start:], '"')
	if end < 0 {
		return c
	}
	v := strconv.FormatInt(rv, 10)
	out := make([]byte, 0, len(o.JSON)+len(v))
	out = append(out, o.JSON[:start]...)
	out = append(out, v...)
	out = append(out, o.JSON[start+end:]...)
	c.JSON = out
	return c
}

func (r *Resource) keyOf(namespace, name string) string {
	if r.Namespaced {
		return namespace + "/" + name
	}
	return name
}

// Key returns the cache key of an object of this resource.
func (r *Resource) Key(namespace, name string) string { return r.keyOf(namespace, name) }
