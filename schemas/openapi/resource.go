package openapi

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
)

// Resource describes one served resource, the way the apiserver's REST
// storage would: which kind it holds, its scope, its verbs and subresources.
type Resource struct {
	// Group is the API group; "" is the core group, served under /api/v1.
	Group   string
	Version string
	// Resource is the plural, lower-case name used in paths, e.g. "pods".
	Resource string
	// Kind is the kind of Type in this group-version, e.g. "Pod".
	Kind       string
	Namespaced bool
	// Type is the struct type of one object, e.g. reflect.TypeOf(corev1.Pod{}).
	Type reflect.Type
	// ListType is the struct type of a list, e.g. reflect.TypeOf(corev1.PodList{}).
	// Required when Verbs holds list.
	ListType reflect.Type
	// Verbs are those of discovery: get, list, watch, create, update, patch,
	// delete, deletecollection. Watch paths are documented only when both list
	// and watch are present, as kube-apiserver does.
	Verbs []string
	// DeleteReturnsObject documents DELETE as answering with the object
	// rather than a Status, as kube-apiserver does for pods and services.
	DeleteReturnsObject bool
	Subresources        []Subresource
}

// Subresource describes a subresource such as status or scale.
type Subresource struct {
	// Name is the path segment, e.g. "status".
	Name string
	// Type is the struct type read and written; nil means the parent's Type.
	Type reflect.Type
	// Group, Version and Kind are those of Type when it is not the parent's,
	// e.g. "autoscaling", "v1", "Scale". Empty means the parent's.
	Group, Version, Kind string
	// Verbs are a subset of get, create, update, patch, delete; nil means
	// get, update, patch.
	Verbs []string
}

var (
	resourceVerbs    = []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"}
	subresourceVerbs = []string{"get", "create", "update", "patch", "delete"}
)

func (s Subresource) verbs() []string {
	if s.Verbs == nil {
		return []string{"get", "update", "patch"}
	}
	return s.Verbs
}

// validate rejects what the generator cannot describe, so that building,
// which happens later and lazily, does not fail.
func validate(resources []Resource) error {
	var errs []error
	seen := map[string]bool{}
	for _, r := range resources {
		id := r.Group + "/" + r.Version + "/" + r.Resource
		if r.Version == "" || r.Resource == "" || r.Kind == "" {
			errs = append(errs, fmt.Errorf("resource %q: Version, Resource and Kind are required", id))
			continue
		}
		if seen[id] {
			errs = append(errs, fmt.Errorf("resource %q: listed twice", id))
		}
		seen[id] = true
		if err := checkStruct(r.Type); err != nil {
			errs = append(errs, fmt.Errorf("resource %q: Type: %w", id, err))
		}
		for _, v := range r.Verbs {
			if !slices.Contains(resourceVerbs, v) {
				errs = append(errs, fmt.Errorf("resource %q: unknown verb %q", id, v))
			}
		}
		if slices.Contains(r.Verbs, "list") {
			if err := checkStruct(r.ListType); err != nil {
				errs = append(errs, fmt.Errorf("resource %q: ListType: %w", id, err))
			}
		}
		subs := map[string]bool{}
		for _, s := range r.Subresources {
			sid := id + "/" + s.Name
			if s.Name == "" || subs[s.Name] {
				errs = append(errs, fmt.Errorf("subresource %q: empty or listed twice", sid))
			}
			subs[s.Name] = true
			if s.Type != nil {
				if err := checkStruct(s.Type); err != nil {
					errs = append(errs, fmt.Errorf("subresource %q: Type: %w", sid, err))
				}
			}
			if (s.Group != "" || s.Version != "" || s.Kind != "") && (s.Version == "" || s.Kind == "" || s.Type == nil) {
				errs = append(errs, fmt.Errorf("subresource %q: a Group, Version or Kind of its own needs all of Version, Kind and Type", sid))
			}
			for _, v := range s.verbs() {
				if !slices.Contains(subresourceVerbs, v) {
					errs = append(errs, fmt.Errorf("subresource %q: unsupported verb %q", sid, v))
				}
			}
		}
	}
	return errors.Join(errs...)
}

func checkStruct(t reflect.Type) error {
	if t == nil {
		return errors.New("missing")
	}
	if t.Kind() != reflect.Struct {
		return fmt.Errorf("%v is a %v, not a struct", t, t.Kind())
	}
	if t.Name() == "" {
		return fmt.Errorf("%v is not a named type", t)
	}
	return nil
}
