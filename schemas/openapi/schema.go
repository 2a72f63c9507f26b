package openapi

import (
	"cmp"
	"reflect"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// gvk is a group-version-kind as the x-kubernetes-group-version-kind
// extension spells it.
type gvk struct{ Group, Version, Kind string }

func (k gvk) extension() map[string]any {
	return map[string]any{"group": k.Group, "version": k.Version, "kind": k.Kind}
}

// schemaGen derives definitions from Go types for one document. Only the
// definitions reachable from the types asked for end up in defs, as
// upstream's builders do.
type schemaGen struct {
	v3    bool
	defs  map[string]*spec.Schema
	gvks  map[reflect.Type][]gvk // kinds to advertise on a type's definition
	merge *mergeSemantics        // nil: no list or map types
	docs  docCache
	refs  map[string]spec.Ref
}

func newSchemaGen(v3 bool, gvks map[reflect.Type][]gvk, merge *mergeSemantics, docs docCache) *schemaGen {
	return &schemaGen{v3: v3, defs: map[string]*spec.Schema{}, gvks: gvks, merge: merge, docs: docs, refs: map[string]spec.Ref{}}
}

// docCache holds typeDocs by type: SwaggerDoc builds its map on every call.
type docCache map[reflect.Type]map[string]string

func (c docCache) get(t reflect.Type) map[string]string {
	d, ok := c[t]
	if !ok {
		d = typeDocs(t)
		c[t] = d
	}
	return d
}

func (g *schemaGen) ref(name string) spec.Ref {
	if r, ok := g.refs[name]; ok {
		return r
	}
	prefix := "#/definitions/"
	if g.v3 {
		prefix = "#/components/schemas/"
	}
	r := spec.MustCreateRef(prefix + escapeJSONPointer(name))
	g.refs[name] = r
	return r
}

// Interfaces through which apimachinery types that do not serialize as
// objects declare their schema; openapi-gen honours the same methods.
type (
	openAPISchemaTyper     interface{ OpenAPISchemaType() []string }
	openAPISchemaFormatter interface{ OpenAPISchemaFormat() string }
	openAPIV3OneOfTyper    interface{ OpenAPIV3OneOfTypes() []string }
	openAPIModelNamer      interface{ OpenAPIModelName() string }
	swaggerDocumented      interface{ SwaggerDoc() map[string]string }
)

var timeType = reflect.TypeFor[time.Time]()

// use returns the schema of a value of type t where it is used: a field, a
// list item, a map value, a request or response body.
func (g *schemaGen) use(t reflect.Type) spec.Schema {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == timeType {
		return simpleSchema("string", "date-time")
	}
	switch t.Kind() {
	case reflect.Struct:
		return spec.Schema{SchemaProps: spec.SchemaProps{Ref: g.ref(g.define(t))}}
	case reflect.String:
		return simpleSchema("string", "")
	case reflect.Bool:
		return simpleSchema("boolean", "")
	case reflect.Int, reflect.Int16, reflect.Int32, reflect.Uint, reflect.Uint16:
		return simpleSchema("integer", "int32")
	case reflect.Int64, reflect.Uint32, reflect.Uint64:
		return simpleSchema("integer", "int64")
	case reflect.Int8, reflect.Uint8:
		return simpleSchema("integer", "byte")
	case reflect.Float64:
		return simpleSchema("number", "double")
	case reflect.Float32:
		return simpleSchema("number", "float")
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return simpleSchema("string", "byte")
		}
		items := g.use(t.Elem())
		return spec.Schema{SchemaProps: spec.SchemaProps{
			Type:  spec.StringOrArray{"array"},
			Items: &spec.SchemaOrArray{Schema: &items},
		}}
	case reflect.Map:
		values := g.use(t.Elem())
		return spec.Schema{SchemaProps: spec.SchemaProps{
			Type:                 spec.StringOrArray{"object"},
			AdditionalProperties: &spec.SchemaOrBool{Allows: true, Schema: &values},
		}}
	}
	// Interfaces (runtime.Object and the like): any object.
	return simpleSchema("object", "")
}

func simpleSchema(typ, format string) spec.Schema {
	return spec.Schema{SchemaProps: spec.SchemaProps{Type: spec.StringOrArray{typ}, Format: format}}
}

// define adds the definition of struct type t, and of everything it refers
// to, and returns its name.
func (g *schemaGen) define(t reflect.Type) string {
	name := definitionName(t)
	if _, ok := g.defs[name]; ok {
		return name
	}
	s := &spec.Schema{}
	g.defs[name] = s // before recursing: types may refer to themselves
	zero := reflect.Zero(t).Interface()
	s.Description = g.docs.get(t)[""]
	if typer, ok := zero.(openAPISchemaTyper); ok {
		if f, ok := zero.(openAPISchemaFormatter); ok {
			s.Format = f.OpenAPISchemaFormat()
		}
		oneOf, hasOneOf := zero.(openAPIV3OneOfTyper)
		if g.v3 && hasOneOf {
			for _, typ := range oneOf.OpenAPIV3OneOfTypes() {
				s.OneOf = append(s.OneOf, simpleSchema(typ, ""))
			}
		} else {
			s.Type = typer.OpenAPISchemaType()
		}
	} else {
		s.Type = spec.StringOrArray{"object"}
		g.addProperties(s, t, name)
	}
	ext := spec.Extensions{}
	for k, v := range g.merge.structExtensions(name) {
		ext[k] = v
	}
	if kinds := g.gvks[t]; len(kinds) > 0 {
		list := make([]any, len(kinds))
		for i, k := range kinds {
			list[i] = k.extension()
		}
		ext["x-kubernetes-group-version-kind"] = list
	}
	if len(ext) > 0 {
		s.Extensions = ext
	}
	return name
}

// addProperties adds the JSON fields of struct t, inlined ones included, to
// the definition s named defName.
func (g *schemaGen) addProperties(s *spec.Schema, t reflect.Type, defName string) {
	walkFields(t, func(f reflect.StructField, jsonName string, omitempty bool, owner reflect.Type) {
		p := g.use(f.Type)
		p.Description = g.docs.get(owner)[jsonName]
		p.Default = zeroDefault(f.Type, omitempty)
		ext := spec.Extensions{}
		if v := f.Tag.Get("patchStrategy"); v != "" {
			ext["x-kubernetes-patch-strategy"] = v
		}
		if v := f.Tag.Get("patchMergeKey"); v != "" {
			ext["x-kubernetes-patch-merge-key"] = v
		}
		for k, v := range g.merge.fieldExtensions(defName, jsonName) {
			ext[k] = v
		}
		if len(ext) > 0 {
			p.Extensions = ext
		}
		if g.v3 {
			wrapRef(&p)
		}
		if s.Properties == nil {
			s.Properties = map[string]spec.Schema{}
		}
		s.Properties[jsonName] = p
		// Upstream requires what is neither omitempty nor marked +optional;
		// without the markers, a pointer stands in for +optional.
		if !omitempty && f.Type.Kind() != reflect.Pointer {
			s.Required = append(s.Required, jsonName)
		}
	})
}

// walkFields calls fn for each field that encoding/json would write for t,
// descending into embedded and ",inline" structs. owner is the struct that
// declares the field, whose SwaggerDoc describes it.
func walkFields(t reflect.Type, fn func(f reflect.StructField, jsonName string, omitempty bool, owner reflect.Type)) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" && (f.Anonymous || hasOption(opts, "inline")) {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				walkFields(ft, fn)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fn(f, name, hasOption(opts, "omitempty") || hasOption(opts, "omitzero"), t)
	}
}

func hasOption(opts, want string) bool {
	for opts != "" {
		var o string
		o, opts, _ = strings.Cut(opts, ",")
		if o == want {
			return true
		}
	}
	return false
}

// zeroDefault is the default upstream's openapi-gen writes for a field of
// type t: the zero value of fields that are always serialized, and {} for
// structs, whose zero value is an object, unless they decode themselves
// (Time, Quantity, ...), whose zero value is null.
func zeroDefault(t reflect.Type, omitempty bool) any {
	if _, ok := reflect.PointerTo(t).MethodByName("UnmarshalJSON"); ok && t.Kind() == reflect.Struct {
		return nil
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Array, reflect.Interface:
		return nil
	case reflect.Struct:
		if t.NumField() == 1 && t.Field(0).Anonymous {
			return zeroDefault(t.Field(0).Type, omitempty)
		}
		return map[string]any{}
	}
	if omitempty {
		return nil
	}
	switch t.Kind() {
	case reflect.String:
		return ""
	case reflect.Bool:
		return false
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return 0
	}
	return nil
}

// wrapRef moves a $ref that has siblings into allOf, since OpenAPI 3.0
// ignores the siblings of $ref. Upstream's v3 builder does the same.
func wrapRef(s *spec.Schema) {
	if s.Items != nil && s.Items.Schema != nil {
		wrapRef(s.Items.Schema)
	}
	if s.AdditionalProperties != nil && s.AdditionalProperties.Schema != nil {
		wrapRef(s.AdditionalProperties.Schema)
	}
	if s.Ref.String() == "" {
		return
	}
	if s.Description == "" && s.Default == nil && len(s.Extensions) == 0 {
		return
	}
	ref := s.Ref
	s.Ref = spec.Ref{}
	s.AllOf = []spec.Schema{{SchemaProps: spec.SchemaProps{Ref: ref}}}
}

// definitionName is upstream's name for the definition of t:
// k8s.io/api/core/v1.Pod is io.k8s.api.core.v1.Pod.
func definitionName(t reflect.Type) string {
	if n, ok := reflect.Zero(t).Interface().(openAPIModelNamer); ok {
		return n.OpenAPIModelName()
	}
	if n, ok := reflect.New(t).Interface().(openAPIModelNamer); ok {
		return n.OpenAPIModelName()
	}
	parts := strings.Split(t.PkgPath(), "/")
	if strings.Contains(parts[0], ".") {
		domain := strings.Split(parts[0], ".")
		slices.Reverse(domain)
		parts[0] = strings.Join(domain, ".")
	}
	return strings.Join(parts, ".") + "." + t.Name()
}

func escapeJSONPointer(s string) string {
	if !strings.ContainsAny(s, "~/") {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// typeDocs returns the descriptions of t and its fields, keyed by JSON name
// and "" for the type.
func typeDocs(t reflect.Type) map[string]string {
	if d, ok := reflect.Zero(t).Interface().(swaggerDocumented); ok {
		return d.SwaggerDoc()
	}
	return extraDocs[t]
}

// extraDocs describes the apimachinery types that have no SwaggerDoc method,
// in upstream's words (abridged).
var extraDocs = map[reflect.Type]map[string]string{
	reflect.TypeFor[metav1.Time]():      {"": "Time is a wrapper around time.Time which supports correct marshaling to YAML and JSON.  Wrappers are provided for many of the factory methods that the time package offers."},
	reflect.TypeFor[metav1.MicroTime](): {"": "MicroTime is version of Time with microsecond level precision."},
	reflect.TypeFor[metav1.Duration]():  {"": "Duration is a wrapper around time.Duration which supports correct marshaling to YAML and JSON. In particular, it marshals into strings, which can be used as map keys in json."},
	reflect.TypeFor[resource.Quantity](): {"": "Quantity is a fixed-point representation of a number. It provides convenient marshaling/unmarshaling in JSON and YAML, in addition to String() and AsInt64() accessors.\n\n" +
		"The serialization format is <signedNumber><suffix>, where the suffix is a binary SI suffix (Ki, Mi, Gi, Ti, Pi, Ei), a decimal SI suffix (n, u, m, \"\", k, M, G, T, P, E) or a decimal exponent (e or E followed by a signed number).\n\n" +
		"Before serializing, Quantity will be put in \"canonical form\". No precision is lost, and numbers larger than 2^63-1 or smaller than -2^63 are not allowed."},
	reflect.TypeFor[intstr.IntOrString]():   {"": "IntOrString is a type that can hold an int32 or a string.  When used in JSON or YAML marshalling and unmarshalling, it produces or consumes the inner type.  This allows you to have, for example, a JSON field that can accept a name or number."},
	reflect.TypeFor[runtime.RawExtension](): {"": "RawExtension is used to hold extensions in external versions. To use this, make a field which has RawExtension as its type in your external, versioned struct, and Object in your internal struct. You also need to register your various plugin types."},
	reflect.TypeFor[metav1.WatchEvent](): {
		"":       "Event represents a single event to a watched resource.",
		"object": "Object is:\n * If Type is Added or Modified: the new state of the object.\n * If Type is Deleted: the state of the object immediately before deletion.\n * If Type is Error: *Status is recommended; other types may make sense\n   depending on context.",
	},
}

// sortGVKs orders kinds the way upstream lists them: by group, version, kind.
func sortGVKs(kinds []gvk) {
	slices.SortFunc(kinds, func(a, b gvk) int {
		return cmp.Or(cmp.Compare(a.Group, b.Group), cmp.Compare(a.Version, b.Version), cmp.Compare(a.Kind, b.Kind))
	})
}
