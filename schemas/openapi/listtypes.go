package openapi

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/applyconfigurations"
	smdschema "sigs.k8s.io/structured-merge-diff/v6/schema"
)

// mergeSemantics answers, for the built-in types, what upstream declares in
// +listType, +listMapKey, +mapType and +structType comment markers. Those
// markers do not survive compilation, but client-go carries their effect in
// the structured-merge-diff schema it uses for server-side apply; this reads
// them back from there.
//
// The translation is exact in meaning, not always in form: upstream leaves
// unmarked lists without x-kubernetes-list-type (atomic by default) and
// marks some merge-keyed lists only with x-kubernetes-patch-merge-key
// (a map keyed by it for server-side apply); here both carry the explicit
// list type.
type mergeSemantics struct {
	fields  map[string]map[string]smdschema.TypeRef // type name → field name → type
	structs map[string]smdschema.ElementRelationship
}

// loadMergeSemantics parses client-go's schema. client-go parses it once per
// process (for server-side apply too), and that parse dominates build time.
func loadMergeSemantics() (*mergeSemantics, error) {
	// The schema is reachable only through a type converter, which needs one
	// registered kind to hand back a typed value carrying the whole schema.
	scheme := runtime.NewScheme()
	scheme.AddKnownTypes(corev1.SchemeGroupVersion, &corev1.ConfigMap{})
	probe := &corev1.ConfigMap{}
	probe.APIVersion, probe.Kind = "v1", "ConfigMap"
	tv, err := applyconfigurations.NewTypeConverter(scheme).ObjectToTyped(probe)
	if err != nil {
		return nil, err
	}
	s := tv.Schema()
	m := &mergeSemantics{
		fields:  make(map[string]map[string]smdschema.TypeRef, len(s.Types)),
		structs: map[string]smdschema.ElementRelationship{},
	}
	for _, td := range s.Types {
		if td.Map == nil {
			continue
		}
		if td.Map.ElementRelationship != "" {
			m.structs[td.Name] = td.Map.ElementRelationship
		}
		fields := make(map[string]smdschema.TypeRef, len(td.Map.Fields))
		for _, f := range td.Map.Fields {
			fields[f.Name] = f.Type
		}
		m.fields[td.Name] = fields
	}
	return m, nil
}

// structExtensions returns the extensions of the definition named typeName.
func (m *mergeSemantics) structExtensions(typeName string) map[string]any {
	if m == nil {
		return nil
	}
	if mt := mapType(m.structs[typeName]); mt != "" {
		return map[string]any{"x-kubernetes-map-type": mt}
	}
	return nil
}

// fieldExtensions returns the list and map extensions of field of typeName.
func (m *mergeSemantics) fieldExtensions(typeName, field string) map[string]any {
	if m == nil {
		return nil
	}
	ref, ok := m.fields[typeName][field]
	if !ok {
		return nil
	}
	ext := map[string]any{}
	switch {
	case ref.Inlined.List != nil:
		l := ref.Inlined.List
		switch {
		case l.ElementRelationship == smdschema.Associative && len(l.Keys) > 0:
			keys := make([]any, len(l.Keys))
			for i, k := range l.Keys {
				keys[i] = k
			}
			ext["x-kubernetes-list-type"] = "map"
			ext["x-kubernetes-list-map-keys"] = keys
		case l.ElementRelationship == smdschema.Associative:
			ext["x-kubernetes-list-type"] = "set"
		case l.ElementRelationship == smdschema.Atomic:
			ext["x-kubernetes-list-type"] = "atomic"
		}
	case ref.Inlined.Map != nil:
		if mt := mapType(ref.Inlined.Map.ElementRelationship); mt != "" {
			ext["x-kubernetes-map-type"] = mt
		}
	case ref.ElementRelationship != nil:
		if mt := mapType(*ref.ElementRelationship); mt != "" {
			ext["x-kubernetes-map-type"] = mt
		}
	}
	return ext
}

func mapType(r smdschema.ElementRelationship) string {
	switch r {
	case smdschema.Atomic:
		return "atomic"
	case smdschema.Separable:
		return "granular"
	}
	return ""
}
