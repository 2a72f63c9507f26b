package informers

import (
	"fmt"
	"sort"
	"sync"
)

// IndexFunc returns the values an object is indexed under.
type IndexFunc[T Object] func(obj T) []string

// Key is the store key of an object: "namespace/name", or "name" for
// cluster-scoped objects.
func Key(namespace, name string) string {
	if namespace == "" {
		return name
	}
	return namespace + "/" + name
}

// KeyOf is the store key of obj.
func KeyOf(obj Object) string { return Key(obj.GetNamespace(), obj.GetName()) }

// store is an informer's indexed map of objects. Readers take mu for reading;
// the informer's watch loop is the only writer.
type store[T Object] struct {
	mu    sync.RWMutex
	items map[string]T
	// indexes[name][value] is the set of keys indexed under value.
	indexes map[string]map[string]map[string]struct{}
	funcs   map[string]IndexFunc[T]
}

// NamespaceIndex is the built-in index of objects by namespace.
const NamespaceIndex = "namespace"

func newStore[T Object]() *store[T] {
	s := &store[T]{
		items:   make(map[string]T),
		indexes: make(map[string]map[string]map[string]struct{}),
		funcs:   make(map[string]IndexFunc[T]),
	}
	s.funcs[NamespaceIndex] = func(obj T) []string { return []string{obj.GetNamespace()} }
	return s
}

func (s *store[T]) addIndex(name string, fn IndexFunc[T]) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.funcs[name]; ok {
		return fmt.Errorf("informers: index %q already exists", name)
	}
	if len(s.items) > 0 {
		return fmt.Errorf("informers: index %q added after the informer started", name)
	}
	s.funcs[name] = fn
	return nil
}

// putLocked stores obj, returning what it replaced.
func (s *store[T]) putLocked(key string, obj T) (T, bool) {
	old, had := s.items[key]
	if had {
		s.unindexLocked(key, old)
	}
	s.items[key] = obj
	for name, fn := range s.funcs {
		byValue := s.indexes[name]
		if byValue == nil {
			byValue = make(map[string]map[string]struct{})
			s.indexes[name] = byValue
		}
		for _, v := range fn(obj) {
			keys := byValue[v]
			if keys == nil {
				keys = make(map[string]struct{})
				byValue[v] = keys
			}
			keys[key] = struct{}{}
		}
	}
	return old, had
}

func (s *store[T]) deleteLocked(key string) (T, bool) {
	old, had := s.items[key]
	if had {
		s.unindexLocked(key, old)
		delete(s.items, key)
	}
	return old, had
}

func (s *store[T]) unindexLocked(key string, obj T) {
	for name, fn := range s.funcs {
		for _, v := range fn(obj) {
			if keys := s.indexes[name][v]; keys != nil {
				delete(keys, key)
				if len(keys) == 0 {
					delete(s.indexes[name], v)
				}
			}
		}
	}
}

func (s *store[T]) get(key string) (T, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	obj, ok := s.items[key]
	return obj, ok
}

func (s *store[T]) list() []T {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]T, 0, len(s.items))
	for _, obj := range s.items {
		out = append(out, obj)
	}
	return out
}

func (s *store[T]) byIndex(name, value string) ([]T, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if _, ok := s.funcs[name]; !ok {
		return nil, fmt.Errorf("informers: no index %q", name)
	}
	keys := s.indexes[name][value]
	out := make([]T, 0, len(keys))
	for k := range keys {
		out = append(out, s.items[k])
	}
	return out, nil
}

// sortByKey orders objects by namespace and name, for deterministic output.
func sortByKey[T Object](objs []T) {
	sort.Slice(objs, func(i, j int) bool { return KeyOf(objs[i]) < KeyOf(objs[j]) })
}
