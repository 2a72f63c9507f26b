// Package openapi generates the OpenAPI v2 and v3 documents that
// kube-apiserver serves at /openapi/v2 and /openapi/v3, from the Go types of
// the resources tend serves, and serves them over HTTP.
//
// The contract with clients is kube-apiserver's, because real clients
// depend on it:
//
//   - kubectl explain reads /openapi/v3/<group-version> (JSON) and finds a
//     kind by the x-kubernetes-group-version-kind of its schema.
//   - kubectl create/apply/edit with --validate=strict decides that the server
//     validates fields itself when the PATCH operation of the kind lists the
//     fieldValidation query parameter (inline, not by $ref).
//   - client-side kubectl apply takes strategic merge patch metadata
//     (x-kubernetes-patch-strategy, x-kubernetes-patch-merge-key) from the
//     v3 document, falling back to v2.
//   - client-go's discovery OpenAPISchema reads /openapi/v2 as protobuf
//     (gnostic openapi_v2.Document); the openapi3 client reads the /openapi/v3
//     index and follows its serverRelativeURL, whose hash query parameter
//     makes the group-version document immutable and cacheable.
//
// Schemas are derived by reflection: json tags give the field names,
// omitempty and pointers decide what is required, patchStrategy and
// patchMergeKey tags give the strategic merge metadata, SwaggerDoc methods
// give descriptions, OpenAPIModelName methods give the definition names, and
// the structured-merge-diff schema that client-go ships for server-side apply
// gives x-kubernetes-list-type, x-kubernetes-list-map-keys and
// x-kubernetes-map-type, which live in comment markers that reflection cannot
// see.
//
// Documents are immutable once built. Building would take a good part of
// tend's start-up budget (0.1 s to parse the structured-merge-diff schema,
// once per process, then tens of milliseconds per megabyte of JSON), so New
// only validates its input: /openapi/v2 and /openapi/v3 are each built on
// first request, or by Handler.Build, and each further form of a document
// (protobuf, gzip) is produced once, on first use.
package openapi
