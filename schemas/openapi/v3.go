package openapi

import (
	"k8s.io/kube-openapi/pkg/spec3"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

var securitySchemes = spec3.SecuritySchemes{"BearerToken": &spec3.SecurityScheme{SecuritySchemeProps: spec3.SecuritySchemeProps{
	Type: "apiKey", Name: "authorization", In: "header", Description: "Bearer Token authentication",
}}}

// buildV3 builds the OpenAPI v3 document of one group-version from its
// routes.
func buildV3(version string, routes []route, gen *schemaGen) *spec3.OpenAPI {
	doc := &spec3.OpenAPI{
		Version: "3.0.0",
		Info:    &spec.Info{InfoProps: spec.InfoProps{Title: "Kubernetes", Version: version}},
		Paths:   &spec3.Paths{Paths: map[string]*spec3.Path{}},
	}
	for _, g := range groupByPath(routes) {
		item := &spec3.Path{}
		for _, p := range g.common {
			item.Parameters = append(item.Parameters, v3Param(p))
		}
		for _, r := range g.routes {
			op := v3Operation(r, g, gen)
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
		doc.Paths.Paths[g.path] = item
	}
	doc.Components = &spec3.Components{Schemas: gen.defs, SecuritySchemes: securitySchemes}
	return doc
}

func v3Operation(r route, g pathRoutes, gen *schemaGen) *spec3.Operation {
	op := &spec3.Operation{OperationProps: spec3.OperationProps{
		Description: r.description,
		OperationId: r.operationID,
		Tags:        []string{r.tag},
		Responses: &spec3.Responses{ResponsesProps: spec3.ResponsesProps{
			StatusCodeResponses: map[int]*spec3.Response{401: {ResponseProps: spec3.ResponseProps{Description: "Unauthorized"}}},
		}},
	}}
	var params []param
	for _, p := range r.params {
		if !g.isCommon(p) {
			params = append(params, p)
		}
	}
	sortParams(params)
	for _, p := range params {
		op.Parameters = append(op.Parameters, v3Param(p))
	}
	if r.body != nil {
		op.RequestBody = &spec3.RequestBody{RequestBodyProps: spec3.RequestBodyProps{
			Content:  content(r.consumes, gen.use(r.body)),
			Required: !r.bodyOptional,
		}}
	}
	for _, resp := range r.responses {
		op.Responses.StatusCodeResponses[resp.code] = &spec3.Response{ResponseProps: spec3.ResponseProps{
			Description: resp.description,
			Content:     content(r.produces, gen.use(resp.body)),
		}}
	}
	op.Extensions = operationExtensions(r)
	return op
}

// content offers the same schema under each media type, as upstream does.
func content(mediaTypes []string, s spec.Schema) map[string]*spec3.MediaType {
	c := make(map[string]*spec3.MediaType, len(mediaTypes))
	for _, mt := range mediaTypes {
		c[mt] = &spec3.MediaType{MediaTypeProps: spec3.MediaTypeProps{Schema: &s}}
	}
	return c
}

func v3Param(p param) *spec3.Parameter {
	return &spec3.Parameter{ParameterProps: spec3.ParameterProps{
		Name:        p.name,
		In:          p.in,
		Description: p.description,
		Required:    p.in == "path",
		Schema: &spec.Schema{SchemaProps: spec.SchemaProps{
			Type:        spec.StringOrArray{p.typ},
			UniqueItems: true,
		}},
	}}
}
