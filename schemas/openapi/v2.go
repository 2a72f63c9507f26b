package openapi

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"

	"k8s.io/kube-openapi/pkg/validation/spec"
)

// pathRoutes is the routes at one path, with the parameters that all of them
// take, which upstream's builders hoist to the path item.
type pathRoutes struct {
	path   string
	routes []route
	common []param
}

// groupByPath groups routes by path, in order of first appearance, and finds
// their common parameters as upstream's findCommonParameters does.
func groupByPath(routes []route) []pathRoutes {
	var groups []pathRoutes
	index := map[string]int{}
	for _, r := range routes {
		i, ok := index[r.path]
		if !ok {
			i = len(groups)
			index[r.path] = i
			groups = append(groups, pathRoutes{path: r.path})
		}
		groups[i].routes = append(groups[i].routes, r)
	}
	for i := range groups {
		g := &groups[i]
		count := map[[2]string]int{}
		last := map[[2]string]param{}
		for _, r := range g.routes {
			for _, p := range r.params {
				k := [2]string{p.name, p.in}
				count[k]++
				last[k] = p
			}
		}
		for k, n := range count {
			if n == len(g.routes) {
				g.common = append(g.common, last[k])
			}
		}
		sortParams(g.common)
	}
	return groups
}

func (g pathRoutes) isCommon(p param) bool {
	return slices.ContainsFunc(g.common, func(c param) bool { return c.name == p.name && c.in == p.in })
}

func sortParams(ps []param) {
	slices.SortFunc(ps, func(a, b param) int { return cmp.Or(cmp.Compare(a.name, b.name), cmp.Compare(a.in, b.in)) })
}

var securityDefinitions = spec.SecurityDefinitions{"BearerToken": &spec.SecurityScheme{SecuritySchemeProps: spec.SecuritySchemeProps{
	Type: "apiKey", Name: "authorization", In: "header", Description: "Bearer Token authentication",
}}}

// buildV2 builds the single OpenAPI v2 document of all routes.
func buildV2(version string, routes []route, gen *schemaGen) *spec.Swagger {
	sw := &spec.Swagger{SwaggerProps: spec.SwaggerProps{
		Swagger:             "2.0",
		Info:                &spec.Info{InfoProps: spec.InfoProps{Title: "Kubernetes", Version: version}},
		Paths:               &spec.Paths{Paths: map[string]spec.PathItem{}},
		SecurityDefinitions: securityDefinitions,
		Security:            []map[string][]string{{"BearerToken": {}}},
	}}
	for _, g := range groupByPath(routes) {
		item := spec.PathItem{}
		for _, p := range g.common {
			item.Parameters = append(item.Parameters, v2Param(p))
		}
		for _, r := range g.routes {
			op := v2Operation(r, g, gen)
			switch r.method {
			case "GET":
				item.Get = op
			case "POST":
				item.Post = op
			case "PUT":
				item.Put = op
			case "PATCH":
				item.Patch = op
			case "DELETE":
				item.Delete = op
			}
		}
		sw.Paths.Paths[g.path] = item
	}
	sw.Definitions = make(spec.Definitions, len(gen.defs))
	for name, s := range gen.defs {
		sw.Definitions[name] = *s
	}
	shareParameters(sw)
	return sw
}

func v2Operation(r route, g pathRoutes, gen *schemaGen) *spec.Operation {
	op := &spec.Operation{OperationProps: spec.OperationProps{
		Description: r.description,
		Consumes:    r.consumes,
		Produces:    r.produces,
		Schemes:     []string{"https"},
		Tags:        []string{r.tag},
		ID:          r.operationID,
		Responses: &spec.Responses{ResponsesProps: spec.ResponsesProps{
			StatusCodeResponses: map[int]spec.Response{401: {ResponseProps: spec.ResponseProps{Description: "Unauthorized"}}},
		}},
	}}
	var params []param
	for _, p := range r.params {
		if !g.isCommon(p) {
			params = append(params, p)
		}
	}
	if r.body != nil {
		params = append(params, param{name: "body", in: "body"})
	}
	sortParams(params)
	for _, p := range params {
		if p.in != "body" {
			op.Parameters = append(op.Parameters, v2Param(p))
			continue
		}
		s := gen.use(r.body)
		op.Parameters = append(op.Parameters, spec.Parameter{ParamProps: spec.ParamProps{
			Name: "body", In: "body", Required: !r.bodyOptional, Schema: &s,
		}})
	}
	for _, resp := range r.responses {
		s := gen.use(resp.body)
		op.Responses.StatusCodeResponses[resp.code] = spec.Response{ResponseProps: spec.ResponseProps{
			Description: resp.description, Schema: &s,
		}}
	}
	op.Extensions = operationExtensions(r)
	return op
}

func operationExtensions(r route) spec.Extensions {
	if r.action == "" {
		return nil
	}
	return spec.Extensions{
		"x-kubernetes-action":             r.action,
		"x-kubernetes-group-version-kind": r.kind.extension(),
	}
}

func v2Param(p param) spec.Parameter {
	return spec.Parameter{
		ParamProps:        spec.ParamProps{Name: p.name, In: p.in, Description: p.description, Required: p.in == "path"},
		SimpleSchema:      spec.SimpleSchema{Type: p.typ},
		CommonValidations: spec.CommonValidations{UniqueItems: true},
	}
}

// shareParameters moves parameters into the document's parameters section
// and refers to them, as upstream's v2 builder does to shrink the document.
// It keeps inline what is kind-specific (name, bodies of a kind) and what
// older kubectl looks up without following references (dryRun,
// fieldValidation).
func shareParameters(sw *spec.Swagger) {
	shareable := func(p spec.Parameter) bool {
		switch {
		case p.Ref.String() != "":
			return false
		case (p.In == "query" || p.In == "path") && p.Name == "name":
			return false
		case p.In == "query" && (p.Name == "fieldValidation" || p.Name == "dryRun"):
			return false
		case p.In == "body" && p.Schema != nil && !strings.HasPrefix(p.Schema.Ref.String(), "#/definitions/io.k8s.apimachinery"):
			return false
		}
		return true
	}
	names := map[string]string{} // parameter JSON → shared name
	sw.Parameters = map[string]spec.Parameter{}
	share := func(ps []spec.Parameter) {
		for i, p := range ps {
			if !shareable(p) {
				continue
			}
			b, err := json.Marshal(p)
			if err != nil {
				continue // cannot happen for these plain values; leave it inline
			}
			key := string(b)
			name, ok := names[key]
			if !ok {
				name = p.Name + "-" + base64Hash(key)
				for n := 1; ; n++ { // only on a hash collision
					if _, taken := sw.Parameters[name]; !taken {
						break
					}
					name = p.Name + "-" + strconv.Itoa(n)
				}
				names[key] = name
				sw.Parameters[name] = p
			}
			ps[i] = spec.Parameter{Refable: spec.Refable{Ref: spec.MustCreateRef("#/parameters/" + name)}}
		}
	}
	// Visit paths in order so that collision suffixes are deterministic.
	paths := make([]string, 0, len(sw.Paths.Paths))
	for p := range sw.Paths.Paths {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	for _, path := range paths {
		item := sw.Paths.Paths[path]
		for _, op := range []*spec.Operation{item.Get, item.Put, item.Post, item.Delete, item.Patch} {
			if op != nil {
				share(op.Parameters)
			}
		}
		share(item.Parameters)
		sw.Paths.Paths[path] = item
	}
}

// base64Hash is the 8-character name suffix upstream derives from a
// parameter's JSON.
func base64Hash(s string) string {
	h := fnv.New64()
	h.Write([]byte(s))
	return base64.URLEncoding.EncodeToString(h.Sum(nil)[:6])
}
