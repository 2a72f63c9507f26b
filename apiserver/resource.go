package apiserver

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kjson "sigs.k8s.io/json"

	"github.com/tendhq/tend/apiserver/storage"
	"github.com/tendhq/tend/schemas"
)

// request is one resource request being served.
type request struct {
	s     *Server
	w     http.ResponseWriter
	r     *http.Request
	ri    *RequestInfo
	kind  *schemas.Kind
	cache *storage.Cache
	q     url.Values
	// namespace is "" for cluster-scoped kinds.
	namespace, name string
	// randomClaims are the claims the last allocation picked at random, and
	// allocations counts the allocations tried (see wideAfter).
	randomClaims map[string]bool
	allocations  int
	// written is the typed object the last successful write stored.
	written runtime.Object
}

func (rq *request) ctx() context.Context { return rq.r.Context() }

// gr is the resource errors are about.
func (rq *request) gr() schema.GroupResource { return rq.kind.GroupVersionResource.GroupResource() }

// key is the storage key of the named object.
func (rq *request) key() string {
	if rq.kind.Namespaced {
		return rq.namespace + "/" + rq.name
	}
	return rq.name
}

func (rq *request) fail(err error) { writeError(rq.w, rq.r, toAPIError(err, rq.gr(), rq.name)) }

// serveResource serves /api/v1/... and /apis/GROUP/VERSION/... resource paths.
func (s *Server) serveResource(w http.ResponseWriter, r *http.Request) {
	ri, _ := RequestInfoFrom(r.Context())
	if !ri.IsResourceRequest {
		writeError(w, r, errNotFoundPath())
		return
	}
	kind, ok := s.registry.Lookup(schema.GroupVersionResource{Group: ri.APIGroup, Version: ri.APIVersion, Resource: ri.Resource})
	if !ok {
		writeError(w, r, errNotFoundPath())
		return
	}
	rq := &request{s: s, w: w, r: r, ri: ri, kind: kind, cache: s.caches[kind.Storage.GroupResource], q: r.URL.Query(),
		namespace: ri.Namespace, name: ri.Name}
	// A cluster-scoped kind has no path under a namespace; the namespace of
	// /api/v1/namespaces/NAME is the namespace itself.
	if !kind.Namespaced && ri.Namespace != "" && (kind.GroupResource() != namespacesGR || ri.Name != ri.Namespace) {
		writeError(w, r, errNotFoundPath())
		return
	}
	if !kind.Namespaced {
		rq.namespace = ""
	} else if rq.namespace == "" && ri.Name != "" {
		writeError(w, r, errNotFoundPath())
		return
	}
	if ri.Subresource != "" {
		rq.serveSubresource()
		return
	}
	switch ri.Verb {
	case "get":
		rq.get()
	case "list":
		rq.list()
	case "watch":
		rq.watch()
	case "create":
		// POST goes to the collection: upstream serves no POST on an object's
		// path, nor on a namespaced kind's all-namespaces path.
		if kind.Namespaced && rq.namespace == "" || rq.name != "" {
			rq.methodNotAllowed()
			return
		}
		rq.create()
	case "update", "patch":
		// PUT and PATCH go to one object, never to a collection.
		if rq.name == "" {
			rq.methodNotAllowed()
			return
		}
		if ri.Verb == "update" {
			rq.update("")
		} else {
			rq.patch("")
		}
	case "delete":
		rq.delete()
	case "deletecollection":
		if kind.Namespaced && rq.namespace == "" {
			rq.methodNotAllowed()
			return
		}
		rq.deleteCollection()
	default:
		rq.methodNotAllowed()
	}
}

func (rq *request) methodNotAllowed() {
	writeError(rq.w, rq.r, apierrors.NewMethodNotSupported(rq.gr(), rq.r.Method))
}

// serveSubresource routes status, scale, binding, eviction and finalize.
func (rq *request) serveSubresource() {
	sub := rq.ri.Subresource
	if !rq.kind.HasSubresource(sub) || rq.name == "" {
		writeError(rq.w, rq.r, errNotFoundPath())
		return
	}
	verb := rq.ri.Verb
	switch sub {
	case "status":
		switch verb {
		case "get":
			rq.get()
		case "update":
			rq.update("status")
		case "patch":
			rq.patch("status")
		default:
			rq.methodNotAllowed()
		}
	case "scale":
		switch verb {
		case "get":
			rq.getScale()
		case "update":
			rq.updateScale()
		case "patch":
			rq.patchScale()
		default:
			rq.methodNotAllowed()
		}
	case "finalize":
		if verb != "update" {
			rq.methodNotAllowed()
			return
		}
		rq.update("finalize")
	case "binding":
		if verb != "create" {
			rq.methodNotAllowed()
			return
		}
		rq.bind()
	case "eviction":
		if verb != "create" {
			rq.methodNotAllowed()
			return
		}
		rq.evict()
	case "token":
		if verb != "create" {
			rq.methodNotAllowed()
			return
		}
		rq.createToken()
	case "log", "exec", "attach", "portforward":
		rq.serveKubeletSubresource() // podproxy.go
	default:
		writeError(rq.w, rq.r, errNotFoundPath())
	}
}

// decodeStored decodes an object as the cache holds it into the stored type.
func decodeStored(res *schemas.Resource, o *storage.Object) (runtime.Object, error) {
	obj := res.New()
	if err := kjson.UnmarshalCaseSensitivePreserveInts(o.JSON, obj); err != nil {
		return nil, fmt.Errorf("decoding %s %s: %w", res.GroupResource, o.Key, err)
	}
	return obj, nil
}

// served converts a stored object to the kind's served version.
func (rq *request) served(obj runtime.Object) (runtime.Object, error) {
	if rq.kind.FromStorage == nil {
		return obj, nil
	}
	out, err := rq.kind.FromStorage(obj)
	if err != nil {
		return nil, err
	}
	out.GetObjectKind().SetGroupVersionKind(rq.kind.GroupVersionKind())
	return out, nil
}

// toStorage converts a served-version object to the stored type.
func (rq *request) toStorage(obj runtime.Object) (runtime.Object, error) {
	st := rq.kind.Storage
	if rq.kind.ToStorage == nil {
		obj.GetObjectKind().SetGroupVersionKind(st.StorageVersion.WithKind(st.StorageKind))
		return obj, nil
	}
	out, err := rq.kind.ToStorage(obj)
	if err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("converting to %s: %v", st.StorageVersion, err))
	}
	out.GetObjectKind().SetGroupVersionKind(st.StorageVersion.WithKind(st.StorageKind))
	return out, nil
}

// jsonUnmarshal decodes JSON the way upstream does: case-sensitive, keeping
// integers as integers.
func jsonUnmarshal(data []byte, v any) error {
	return kjson.UnmarshalCaseSensitivePreserveInts(data, v)
}
