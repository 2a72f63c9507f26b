package openapi

import (
	"reflect"
	"slices"
	"strings"
	"unicode"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// route is one operation, in the terms of kube-apiserver's installer
// (k8s.io/apiserver/pkg/endpoints/installer.go), before it is written out as
// OpenAPI v2 or v3.
type route struct {
	gv           schema.GroupVersion // the document it belongs to
	method       string              // GET, POST, PUT, PATCH, DELETE
	path         string
	operationID  string
	tag          string
	description  string
	action       string // x-kubernetes-action; empty for discovery
	kind         *gvk   // x-kubernetes-group-version-kind
	params       []param
	body         reflect.Type // nil: no body
	bodyOptional bool
	consumes     []string
	produces     []string
	responses    []response
}

type param struct {
	name, in, description, typ string
}

type response struct {
	code        int
	description string
	body        reflect.Type
}

var (
	mediaTypes = []string{"application/json", "application/yaml", "application/vnd.kubernetes.protobuf"}
	// allMediaTypes adds the streaming types lists and watches produce.
	allMediaTypes = append(slices.Clip(mediaTypes), "application/json;stream=watch", "application/vnd.kubernetes.protobuf;stream=watch")
	patchTypes    = []string{
		"application/json-patch+json",
		"application/merge-patch+json",
		"application/strategic-merge-patch+json",
		"application/apply-patch+yaml",
	}
	anyMediaType = []string{"*/*"}

	statusType         = reflect.TypeFor[metav1.Status]()
	watchEventType     = reflect.TypeFor[metav1.WatchEvent]()
	deleteOptionsType  = reflect.TypeFor[metav1.DeleteOptions]()
	patchType          = reflect.TypeFor[metav1.Patch]()
	resourceListType   = reflect.TypeFor[metav1.APIResourceList]()
	prettyParam        = param{name: "pretty", in: "query", typ: "string", description: "If 'true', then the output is pretty printed."}
	namespaceParam     = param{name: "namespace", in: "path", typ: "string", description: "object name and auth scope, such as for teams and projects"}
	listOptionParams   = optionParams(metav1.ListOptions{})
	createOptionParams = optionParams(metav1.CreateOptions{})
	updateOptionParams = optionParams(metav1.UpdateOptions{})
	patchOptionParams  = optionParams(metav1.PatchOptions{})
	deleteOptionParams = optionParams(metav1.DeleteOptions{})
)

// optionParams lists the query parameters kube-apiserver derives from an
// options struct (installer.go AddObjectParams): its top-level fields that
// are not structs, described by its SwaggerDoc.
func optionParams(obj swaggerDocumented) []param {
	t := reflect.TypeOf(obj)
	docs := obj.SwaggerDoc()
	var params []param
	for i := range t.NumField() {
		f := t.Field(i)
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct || ft.Kind() == reflect.Interface {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		if ft.Kind() == reflect.Slice {
			ft = ft.Elem()
		}
		typ := "string"
		switch ft.Kind() {
		case reflect.Bool:
			typ = "boolean"
		case reflect.Int, reflect.Int32, reflect.Int64, reflect.Uint8, reflect.Uint32, reflect.Uint64:
			typ = "integer"
		case reflect.Float32, reflect.Float64:
			typ = "number"
		}
		params = append(params, param{name: name, in: "query", typ: typ, description: docs[name]})
	}
	return params
}

func without(params []param, names ...string) []param {
	return slices.DeleteFunc(slices.Clone(params), func(p param) bool { return slices.Contains(names, p.name) })
}

// buildRoutes lists the operations kube-apiserver's installer registers for
// resources, with the discovery operation of each group-version.
func buildRoutes(resources []Resource) []route {
	var routes []route
	seenGV := map[schema.GroupVersion]bool{}
	for _, r := range resources {
		gv := schema.GroupVersion{Group: r.Group, Version: r.Version}
		if !seenGV[gv] {
			seenGV[gv] = true
			routes = append(routes, discoveryRoute(gv))
		}
		routes = append(routes, resourceRoutes(r, gv)...)
	}
	return routes
}

func pathPrefix(gv schema.GroupVersion) string {
	if gv.Group == "" {
		return "/api/" + gv.Version
	}
	return "/apis/" + gv.Group + "/" + gv.Version
}

func discoveryRoute(gv schema.GroupVersion) route {
	r := route{
		gv:          gv,
		method:      "GET",
		path:        pathPrefix(gv) + "/",
		description: "get available resources",
		consumes:    mediaTypes,
		produces:    mediaTypes,
		responses:   []response{{200, "OK", resourceListType}},
	}
	r.operationID, r.tag = operationID(gv, "get", "APIResources")
	return r
}

// action is an installer action: a verb at a path.
type action struct {
	verb          string // GET LIST POST PUT PATCH DELETE DELETECOLLECTION WATCH WATCHLIST
	path          string
	params        []param // path parameters
	allNamespaces bool
}

func resourceRoutes(r Resource, gv schema.GroupVersion) []route {
	var routes []route
	has := func(verbs []string, v string) bool { return slices.Contains(verbs, v) }
	prefix := pathPrefix(gv)
	kind := gvk{r.Group, r.Version, r.Kind}

	// The main resource.
	{
		nameParam := param{name: "name", in: "path", typ: "string", description: "name of the " + r.Kind}
		lister, watcher := has(r.Verbs, "list"), has(r.Verbs, "watch")
		collection, item := r.Resource, r.Resource+"/{name}"
		var collParams []param
		if r.Namespaced {
			collection = "namespaces/{namespace}/" + r.Resource
			item = collection + "/{name}"
			collParams = []param{namespaceParam}
		}
		itemParams := append(slices.Clip(collParams), nameParam)
		var actions []action
		add := func(ok bool, a action) {
			if ok {
				actions = append(actions, a)
			}
		}
		add(lister, action{"LIST", collection, collParams, false})
		add(has(r.Verbs, "create"), action{"POST", collection, collParams, false})
		add(has(r.Verbs, "deletecollection"), action{"DELETECOLLECTION", collection, collParams, false})
		add(lister && watcher, action{"WATCHLIST", "watch/" + collection, collParams, false})
		add(has(r.Verbs, "get"), action{"GET", item, itemParams, false})
		add(has(r.Verbs, "update"), action{"PUT", item, itemParams, false})
		add(has(r.Verbs, "patch"), action{"PATCH", item, itemParams, false})
		add(has(r.Verbs, "delete"), action{"DELETE", item, itemParams, false})
		add(watcher, action{"WATCH", "watch/" + item, itemParams, false})
		if r.Namespaced {
			add(lister, action{"LIST", r.Resource, nil, true})
			add(lister && watcher, action{"WATCHLIST", "watch/" + r.Resource, nil, true})
		}
		for _, a := range actions {
			routes = append(routes, makeRoute(gv, prefix, a, routeInfo{
				namespaced: r.Namespaced, kind: r.Kind, gvk: kind,
				object: r.Type, list: r.ListType, lister: lister, watcher: watcher,
				deleteReturnsObject: r.DeleteReturnsObject,
			}))
		}
	}

	// Subresources: every verb acts on the item path plus the subresource.
	for _, s := range r.Subresources {
		subKind := kind
		if s.Kind != "" {
			subKind = gvk{s.Group, s.Version, s.Kind}
		}
		obj := r.Type
		if s.Type != nil {
			obj = s.Type
		}
		path := r.Resource + "/{name}/" + s.Name
		var params []param
		if r.Namespaced {
			path = "namespaces/{namespace}/" + path
			params = []param{namespaceParam}
		}
		// The installer describes the name by the subresource's kind.
		params = append(params, param{name: "name", in: "path", typ: "string", description: "name of the " + subKind.Kind})
		verbs := s.verbs()
		for _, v := range []struct{ verb, action string }{
			{"create", "POST"}, {"get", "GET"}, {"update", "PUT"}, {"patch", "PATCH"}, {"delete", "DELETE"},
		} {
			if !has(verbs, v.verb) {
				continue
			}
			routes = append(routes, makeRoute(gv, prefix, action{v.action, path, params, false}, routeInfo{
				namespaced: r.Namespaced, kind: r.Kind, subresource: s.Name, gvk: subKind, object: obj,
			}))
		}
	}
	return routes
}

// routeInfo is what the installer knows about the storage behind a route.
type routeInfo struct {
	namespaced          bool
	kind                string // the parent's kind, for documentation and operation ids
	subresource         string
	gvk                 gvk
	object, list        reflect.Type
	lister, watcher     bool
	deleteReturnsObject bool
}

func makeRoute(gv schema.GroupVersion, prefix string, a action, info routeInfo) route {
	kind := info.kind
	sub := info.subresource
	namespaced := ""
	if info.namespaced {
		namespaced = "Namespaced"
	}
	suffix := ""
	if a.allNamespaces {
		namespaced = ""
		suffix = "ForAllNamespaces"
	}
	name := namespaced + kind + title(sub) // the operation id, less verb and suffix
	k := info.gvk
	r := route{
		gv:       gv,
		path:     prefix + "/" + a.path,
		action:   strings.ToLower(a.verb),
		kind:     &k,
		consumes: anyMediaType,
		produces: mediaTypes,
	}
	article := articleFor(kind)
	var verb string
	var params []param
	switch a.verb {
	case "GET":
		verb, r.method = "read", "GET"
		r.description = "read the specified " + kind
		if sub != "" {
			r.description = "read " + sub + " of the specified " + kind
		}
		r.responses = []response{{200, "OK", info.object}}
	case "LIST":
		verb, r.method = "list", "GET"
		r.description = "list objects of kind " + kind
		if info.watcher {
			r.description = "list or watch objects of kind " + kind
		}
		r.produces = allMediaTypes
		r.responses = []response{{200, "OK", info.list}}
		params = listOptionParams
	case "PUT":
		verb, r.method = "replace", "PUT"
		r.description = "replace the specified " + kind
		if sub != "" {
			r.description = "replace " + sub + " of the specified " + kind
		}
		r.body = info.object
		r.responses = []response{{200, "OK", info.object}, {201, "Created", info.object}}
		params = updateOptionParams
	case "PATCH":
		verb, r.method = "patch", "PATCH"
		r.description = "partially update the specified " + kind
		if sub != "" {
			r.description = "partially update " + sub + " of the specified " + kind
		}
		r.consumes = patchTypes
		r.body = patchType
		r.responses = []response{{200, "OK", info.object}, {201, "Created", info.object}}
		params = patchOptionParams
	case "POST":
		verb, r.method = "create", "POST"
		r.description = "create" + article + kind
		if sub != "" {
			r.description = "create " + sub + " of" + article + kind
		}
		r.body = info.object
		r.responses = []response{{200, "OK", info.object}, {201, "Created", info.object}, {202, "Accepted", info.object}}
		params = createOptionParams
	case "DELETE":
		verb, r.method = "delete", "DELETE"
		r.description = "delete" + article + kind
		if sub != "" {
			r.description = "delete " + sub + " of" + article + kind
		}
		result := statusType
		if info.deleteReturnsObject {
			result = info.object
		}
		r.body, r.bodyOptional = deleteOptionsType, true
		r.responses = []response{{200, "OK", result}, {202, "Accepted", result}}
		params = deleteOptionParams
	case "DELETECOLLECTION":
		verb, r.method = "delete", "DELETE"
		name = "Collection" + name
		r.description = "delete collection of " + kind
		r.body, r.bodyOptional = deleteOptionsType, true
		r.responses = []response{{200, "OK", statusType}}
		params = append(slices.Clip(deleteOptionParams), without(listOptionParams, "watch", "allowWatchBookmarks")...)
	case "WATCH":
		verb, r.method = "watch", "GET"
		r.description = "watch changes to an object of kind " + kind + ". deprecated: use the 'watch' parameter with a list operation instead, filtered to a single item with the 'fieldSelector' parameter."
		r.produces = allMediaTypes
		r.responses = []response{{200, "OK", watchEventType}}
		params = listOptionParams
	case "WATCHLIST":
		verb, r.method = "watch", "GET"
		name += "List"
		r.description = "watch individual changes to a list of " + kind + ". deprecated: use the 'watch' parameter with a list operation instead."
		r.produces = allMediaTypes
		r.responses = []response{{200, "OK", watchEventType}}
		params = listOptionParams
	}
	r.operationID, r.tag = operationID(gv, verb, name+suffix)
	r.params = append([]param{prettyParam}, params...)
	r.params = append(r.params, a.params...)
	return r
}

// operationID is kube-apiserver's operation id: the verb, then group and
// version, then the rest ("readCoreV1NamespacedPod"); and the tag of the
// group-version ("core_v1").
func operationID(gv schema.GroupVersion, verb, rest string) (id, tag string) {
	group := strings.TrimSuffix(gv.Group, ".k8s.io")
	if group == "" {
		group = "core"
	}
	id = verb + validOperationID(group, true) + validOperationID(gv.Version, true) + validOperationID(rest, true)
	return id, validOperationID(group, false) + "_" + validOperationID(gv.Version, false)
}

// validOperationID drops what is not a letter, digit or underscore from s
// and capitalizes the letter after each dropped run (apiserver's
// ToValidOperationID).
func validOperationID(s string, capitalizeFirst bool) string {
	var b strings.Builder
	capitalize := capitalizeFirst
	for i, r := range s {
		if unicode.IsLetter(r) || r == '_' || (i != 0 && unicode.IsDigit(r)) {
			if capitalize {
				r = unicode.ToUpper(r)
				capitalize = false
			}
			b.WriteRune(r)
		} else {
			capitalize = true
		}
	}
	return b.String()
}

func title(s string) string {
	if s == "" {
		return ""
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// articleFor is the installer's GetArticleForNoun with padding " ".
func articleFor(noun string) string {
	if !strings.HasSuffix(noun, "ss") && strings.HasSuffix(noun, "s") {
		return " "
	}
	if strings.ContainsRune("aeiouAEIOU", rune(noun[0])) {
		return " an "
	}
	return " a "
}
