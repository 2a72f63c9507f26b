package apiserver

import (
	"context"
	"net/http"
	"strings"
)

// RequestInfo is what a request asks for, parsed from its method and path the
// way upstream's RequestInfoFactory does. Filters (authorization, metrics) and
// handlers read it from the request's context.
type RequestInfo struct {
	// IsResourceRequest is false for /api, /apis, /version, /healthz and the like.
	IsResourceRequest bool
	Path              string
	// Verb is get, list, watch, create, update, patch, delete or deletecollection
	// for resource requests; the lower-cased HTTP method otherwise.
	Verb        string
	APIGroup    string
	APIVersion  string
	Namespace   string
	Resource    string
	Subresource string
	Name        string
}

type requestInfoKey struct{}

// RequestInfoFrom returns the RequestInfo of a request that passed the filters.
func RequestInfoFrom(ctx context.Context) (*RequestInfo, bool) {
	ri, ok := ctx.Value(requestInfoKey{}).(*RequestInfo)
	return ri, ok
}

// namespaceSubresources are the subresources of a namespace object itself:
// /api/v1/namespaces/NAME/status is the namespace's status, not a resource
// called "status" in namespace NAME.
var namespaceSubresources = map[string]bool{"status": true, "finalize": true}

// parseRequestInfo parses r into a RequestInfo.
func parseRequestInfo(r *http.Request) *RequestInfo {
	ri := &RequestInfo{Path: r.URL.Path, Verb: strings.ToLower(r.Method)}
	parts := splitPath(r.URL.Path)
	switch {
	case len(parts) >= 2 && parts[0] == "api":
		ri.APIVersion = parts[1]
		parts = parts[2:]
	case len(parts) >= 3 && parts[0] == "apis":
		ri.APIGroup, ri.APIVersion = parts[1], parts[2]
		parts = parts[3:]
	default:
		return ri
	}
	if len(parts) == 0 {
		return ri
	}
	ri.IsResourceRequest = true
	switch r.Method {
	case http.MethodPost:
		ri.Verb = "create"
	case http.MethodGet, http.MethodHead:
		ri.Verb = "get"
	case http.MethodPut:
		ri.Verb = "update"
	case http.MethodPatch:
		ri.Verb = "patch"
	case http.MethodDelete:
		ri.Verb = "delete"
	default:
		ri.Verb = ""
	}
	// The legacy /watch/ prefix.
	if parts[0] == "watch" {
		parts = parts[1:]
		if ri.Verb == "get" {
			ri.Verb = "watch"
		}
	}
	if len(parts) == 0 {
		ri.IsResourceRequest = false
		return ri
	}
	if parts[0] == "namespaces" && len(parts) > 1 {
		ri.Namespace = parts[1]
		if len(parts) > 2 && !namespaceSubresources[parts[2]] {
			parts = parts[2:]
		}
	}
	switch {
	case len(parts) >= 3:
		ri.Subresource = parts[2]
		fallthrough
	case len(parts) == 2:
		ri.Name = parts[1]
		fallthrough
	default:
		ri.Resource = parts[0]
	}
	if len(parts) > 3 {
		// Deeper paths (proxy paths) keep the rest in the subresource's path; tend
		// serves none yet, so mark the request as unroutable.
		ri.Subresource = strings.Join(parts[2:], "/")
	}
	if ri.Name == "" {
		q := r.URL.Query()
		switch ri.Verb {
		case "get":
			if q.Get("watch") == "true" || q.Get("watch") == "1" {
				ri.Verb = "watch"
			} else {
				ri.Verb = "list"
			}
		case "delete":
			ri.Verb = "deletecollection"
		}
	} else if ri.Verb == "get" {
		q := r.URL.Query()
		if q.Get("watch") == "true" || q.Get("watch") == "1" {
			ri.Verb = "watch"
		}
	}
	return ri
}

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}
