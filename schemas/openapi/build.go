package openapi

import (
	"bytes"
	"compress/gzip"
	"crypto/sha512"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"time"

	openapiv2 "github.com/google/gnostic-models/openapiv2"
	openapiv3 "github.com/google/gnostic-models/openapiv3"
	"google.golang.org/protobuf/proto"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/kube-openapi/pkg/handler3"
)

// lazy is a value made on first use; later uses share it, or its error.
type lazy[T any] struct {
	once sync.Once
	v    T
	err  error
}

func (l *lazy[T]) get(f func() (T, error)) (T, error) {
	l.once.Do(func() { l.v, l.err = f() })
	return l.v, l.err
}

// document is one document in the forms it is served in. JSON is made when
// the document is built, the other forms on first use.
type document struct {
	json     []byte
	etag     string // hex SHA-512 of json, as upstream computes it; shared by all forms
	modified time.Time
	toProto  func([]byte) ([]byte, error) // nil: JSON only
	proto    lazy[[]byte]
	gzJSON   lazy[[]byte]
	gzProto  lazy[[]byte]
}

// v3Documents are the group-version documents and their index, built
// together because the index holds each document's hash.
type v3Documents struct {
	byKey map[string]*document // by index key: "api/v1", "apis/apps/v1"
	index *document
}

func newDocument(json []byte, toProto func([]byte) ([]byte, error)) *document {
	return &document{json: json, etag: fmt.Sprintf("%X", sha512.Sum512(json)), modified: time.Now(), toProto: toProto}
}

func (d *document) protobuf() ([]byte, error) {
	return d.proto.get(func() ([]byte, error) { return d.toProto(d.json) })
}

func (d *document) gzipped(protobuf bool) ([]byte, error) {
	if protobuf {
		return d.gzProto.get(func() ([]byte, error) {
			b, err := d.protobuf()
			if err != nil {
				return nil, err
			}
			return gzipBytes(b)
		})
	}
	return d.gzJSON.get(func() ([]byte, error) { return gzipBytes(d.json) })
}

func gzipBytes(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func v2Proto(json []byte) ([]byte, error) {
	doc, err := openapiv2.ParseDocument(json)
	if err != nil {
		return nil, fmt.Errorf("converting OpenAPI v2 to protobuf: %w", err)
	}
	return proto.Marshal(doc)
}

func v3Proto(json []byte) ([]byte, error) {
	doc, err := openapiv3.ParseDocument(json)
	if err != nil {
		return nil, fmt.Errorf("converting OpenAPI v3 to protobuf: %w", err)
	}
	return proto.Marshal(doc)
}

// v3Key is the key of a group-version in the /openapi/v3 index, and the
// path of its document below /openapi/v3/.
func v3Key(gv schema.GroupVersion) string {
	return strings.TrimPrefix(pathPrefix(gv), "/")
}

// buildV2Document builds /openapi/v2 for resources, which validate
// accepted.
func buildV2Document(version string, resources []Resource, merge *mergeSemantics) (*document, error) {
	gen := newSchemaGen(false, kindsOf(resources), merge, docCache{})
	j, err := buildV2(version, buildRoutes(resources), gen).MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("encoding OpenAPI v2: %w", err)
	}
	return newDocument(j, v2Proto), nil
}

// buildV3Documents builds /openapi/v3 and its group-version documents for
// resources, which validate accepted. Documents are independent, so they are
// built in parallel.
func buildV3Documents(version string, resources []Resource, merge *mergeSemantics) (*v3Documents, error) {
	kinds := kindsOf(resources)
	var order []schema.GroupVersion
	byGV := map[schema.GroupVersion][]route{}
	for _, r := range buildRoutes(resources) {
		if _, ok := byGV[r.gv]; !ok {
			order = append(order, r.gv)
		}
		byGV[r.gv] = append(byGV[r.gv], r)
	}
	docs := make([]*document, len(order))
	errs := make([]error, len(order))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i, gv := range order {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			gen := newSchemaGen(true, kinds, merge, docCache{})
			j, err := buildV3(version, byGV[gv], gen).MarshalJSON()
			if err != nil {
				errs[i] = fmt.Errorf("encoding OpenAPI v3 of %v: %w", gv, err)
				return
			}
			docs[i] = newDocument(j, v3Proto)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	v3 := &v3Documents{byKey: map[string]*document{}}
	index := handler3.OpenAPIV3Discovery{Paths: map[string]handler3.OpenAPIV3DiscoveryGroupVersion{}}
	for i, gv := range order {
		key := v3Key(gv)
		v3.byKey[key] = docs[i]
		index.Paths[key] = handler3.OpenAPIV3DiscoveryGroupVersion{ServerRelativeURL: v3URL(key, docs[i].etag)}
	}
	j, err := json.Marshal(index)
	if err != nil {
		return nil, fmt.Errorf("encoding OpenAPI v3 index: %w", err)
	}
	v3.index = newDocument(j, nil)
	return v3, nil
}

// v3URL is where the index points clients to: the document's path with
// its hash, which lets them cache it forever.
func v3URL(key, etag string) string {
	return "/openapi/v3/" + key + "?" + url.Values{"hash": {etag}}.Encode()
}

// kindsOf lists, for each type, the kinds advertised by the
// x-kubernetes-group-version-kind of its definition: those it is served as,
// and for the apimachinery types every group-version registers, every
// group-version served.
func kindsOf(resources []Resource) map[reflect.Type][]gvk {
	kinds := map[reflect.Type][]gvk{}
	add := func(t reflect.Type, k gvk) {
		for _, have := range kinds[t] {
			if have == k {
				return
			}
		}
		kinds[t] = append(kinds[t], k)
	}
	gvs := []schema.GroupVersion{{Version: "v1"}}
	for _, r := range resources {
		gvs = append(gvs, schema.GroupVersion{Group: r.Group, Version: r.Version})
		add(r.Type, gvk{r.Group, r.Version, r.Kind})
		if r.ListType != nil {
			add(r.ListType, gvk{r.Group, r.Version, r.Kind + "List"})
		}
		for _, s := range r.Subresources {
			if s.Kind != "" {
				add(s.Type, gvk{s.Group, s.Version, s.Kind})
			}
		}
	}
	for _, t := range []any{metav1.Status{}, metav1.APIResourceList{}} {
		add(reflect.TypeOf(t), gvk{"", "v1", reflect.TypeOf(t).Name()})
	}
	for _, gv := range gvs {
		for _, t := range []any{
			metav1.WatchEvent{}, metav1.DeleteOptions{}, metav1.ListOptions{}, metav1.GetOptions{},
			metav1.CreateOptions{}, metav1.UpdateOptions{}, metav1.PatchOptions{},
		} {
			add(reflect.TypeOf(t), gvk{gv.Group, gv.Version, reflect.TypeOf(t).Name()})
		}
	}
	for _, ks := range kinds {
		sortGVKs(ks)
	}
	return kinds
}
