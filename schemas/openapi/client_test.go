package openapi

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	openapiv2 "github.com/google/gnostic-models/openapiv2"
	openapiv3 "github.com/google/gnostic-models/openapiv3"
	"google.golang.org/protobuf/proto"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/client-go/openapi"
	"k8s.io/client-go/openapi3"
	"k8s.io/kube-openapi/pkg/spec3"
	protomodels "k8s.io/kube-openapi/pkg/util/proto"
	"k8s.io/kube-openapi/pkg/validation/spec"
	"sigs.k8s.io/yaml"
)

// testKinds are the kinds of testResources, with their scale subresource.
var testKinds = []schema.GroupVersionKind{
	{Version: "v1", Kind: "Pod"},
	{Version: "v1", Kind: "Service"},
	{Version: "v1", Kind: "ConfigMap"},
	{Version: "v1", Kind: "Namespace"},
	{Group: "apps", Version: "v1", Kind: "Deployment"},
	{Group: "autoscaling", Version: "v2", Kind: "HorizontalPodAutoscaler"},
}

func get(t *testing.T, url, accept string) []byte {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", accept)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d; want 200: %s", url, resp.StatusCode, body)
	}
	return body
}

func TestV2ParsesWithGnostic(t *testing.T) {
	srv, _ := serve(t)
	doc, err := openapiv2.ParseDocument(get(t, srv.URL+"/openapi/v2", "application/json"))
	if err != nil {
		t.Fatalf("gnostic ParseDocument: %v", err)
	}
	if _, err := protomodels.NewOpenAPIData(doc); err != nil {
		t.Fatalf("NewOpenAPIData (kubectl's v2 models): %v", err)
	}
}

// TestV2ProtobufThroughDiscovery reads /openapi/v2 the way client-go's
// discovery does: protobuf, decoded into a gnostic document.
func TestV2ProtobufThroughDiscovery(t *testing.T) {
	_, dc := serve(t)
	doc, err := dc.OpenAPISchema()
	if err != nil {
		t.Fatalf("OpenAPISchema: %v", err)
	}
	defs := map[string]*openapiv2.Schema{}
	for _, p := range doc.GetDefinitions().GetAdditionalProperties() {
		defs[p.GetName()] = p.GetValue()
	}
	for name, want := range map[string]schema.GroupVersionKind{
		"io.k8s.api.core.v1.Pod":                               testKinds[0],
		"io.k8s.api.core.v1.Service":                           testKinds[1],
		"io.k8s.api.core.v1.ConfigMap":                         testKinds[2],
		"io.k8s.api.core.v1.Namespace":                         testKinds[3],
		"io.k8s.api.apps.v1.Deployment":                        testKinds[4],
		"io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler":    testKinds[5],
		"io.k8s.api.autoscaling.v1.Scale":                      {Group: "autoscaling", Version: "v1", Kind: "Scale"},
		"io.k8s.api.core.v1.PodList":                           {Version: "v1", Kind: "PodList"},
		"io.k8s.apimachinery.pkg.apis.meta.v1.Status":          {Version: "v1", Kind: "Status"},
		"io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions":   {Group: "apps", Version: "v1", Kind: "DeleteOptions"},
		"io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent":      {Group: "autoscaling", Version: "v2", Kind: "WatchEvent"},
		"io.k8s.apimachinery.pkg.apis.meta.v1.APIResourceList": {Version: "v1", Kind: "APIResourceList"},
	} {
		d, ok := defs[name]
		if !ok {
			t.Errorf("definition %s missing", name)
			continue
		}
		if !v2HasGVK(d.GetVendorExtension(), want) {
			t.Errorf("definition %s: x-kubernetes-group-version-kind lacks %v", name, want)
		}
	}
	for _, k := range testKinds {
		if ok, err := supportsQueryParamV2(doc, k, "fieldValidation"); err != nil || !ok {
			t.Errorf("v2 PATCH of %v has fieldValidation = %v, %v; want true", k, ok, err)
		}
	}
}

func v2HasGVK(exts []*openapiv2.NamedAny, want schema.GroupVersionKind) bool {
	for _, e := range exts {
		if e.GetName() != "x-kubernetes-group-version-kind" {
			continue
		}
		var kinds []map[string]string
		if err := yaml.Unmarshal([]byte(e.GetValue().GetYaml()), &kinds); err != nil {
			var one map[string]string
			if yaml.Unmarshal([]byte(e.GetValue().GetYaml()), &one) != nil {
				return false
			}
			kinds = []map[string]string{one}
		}
		for _, k := range kinds {
			if k["group"] == want.Group && k["version"] == want.Version && k["kind"] == want.Kind {
				return true
			}
		}
	}
	return false
}

// supportsQueryParamV2 is cli-runtime's v2 QueryParamVerifier lookup
// (k8s.io/cli-runtime/pkg/resource/query_param_verifier.go), which is not a
// dependency of tend: the first PATCH of the kind decides, following
// references to shared parameters.
func supportsQueryParamV2(doc *openapiv2.Document, gvk schema.GroupVersionKind, name string) (bool, error) {
	global := map[string]*openapiv2.NamedParameter{}
	for _, p := range doc.GetParameters().GetAdditionalProperties() {
		global["#/parameters/"+p.GetName()] = p
	}
	for _, path := range doc.GetPaths().GetPath() {
		patch := path.GetValue().GetPatch()
		if !v2HasGVK(patch.GetVendorExtension(), gvk) {
			continue
		}
		for _, p := range patch.GetParameters() {
			if p.GetParameter().GetNonBodyParameter().GetQueryParameterSubSchema().GetName() == name {
				return true, nil
			}
			if ref := p.GetJsonReference().GetXRef(); ref != "" {
				if g, ok := global[ref]; ok && g.GetValue().GetNonBodyParameter().GetQueryParameterSubSchema().GetName() == name {
					return true, nil
				}
			}
		}
		return false, nil
	}
	return false, io.EOF
}

func v3Root(t *testing.T) openapi3.Root {
	_, dc := serve(t)
	return openapi3.NewRoot(dc.OpenAPIV3())
}

func TestV3ThroughOpenAPI3Client(t *testing.T) {
	root := v3Root(t)
	gvs, err := root.GroupVersions()
	if err != nil {
		t.Fatalf("GroupVersions: %v", err)
	}
	got := map[schema.GroupVersion]bool{}
	for _, gv := range gvs {
		got[gv] = true
	}
	for _, k := range testKinds {
		if !got[k.GroupVersion()] {
			t.Errorf("GroupVersions() = %v; want %v among them", gvs, k.GroupVersion())
		}
		doc, err := root.GVSpec(k.GroupVersion())
		if err != nil {
			t.Fatalf("GVSpec(%v): %v", k.GroupVersion(), err)
		}
		if kindSchema(doc, k) == nil {
			t.Errorf("GVSpec(%v): no schema with x-kubernetes-group-version-kind %v", k.GroupVersion(), k)
		}
	}
}

// TestV3Protobuf reads every group-version as protobuf through client-go's
// openapi client and decodes it as gnostic.
func TestV3Protobuf(t *testing.T) {
	_, dc := serve(t)
	paths, err := dc.OpenAPIV3().Paths()
	if err != nil {
		t.Fatalf("Paths: %v", err)
	}
	for key, gv := range paths {
		b, err := gv.Schema(openapi.ContentTypeOpenAPIV3PB)
		if err != nil {
			t.Fatalf("Schema(%s, protobuf): %v", key, err)
		}
		var doc openapiv3.Document
		if err := proto.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s: decoding protobuf: %v", key, err)
		}
		if len(doc.GetPaths().GetPath()) == 0 || len(doc.GetComponents().GetSchemas().GetAdditionalProperties()) == 0 {
			t.Errorf("%s: protobuf document has no paths or schemas", key)
		}
		if _, err := protomodels.NewOpenAPIV3Data(&doc); err != nil {
			t.Errorf("%s: NewOpenAPIV3Data: %v", key, err)
		}
	}
}

// kindSchema finds the schema of a kind the way kubectl does.
func kindSchema(doc *spec3.OpenAPI, k schema.GroupVersionKind) *spec.Schema {
	for _, s := range doc.Components.Schemas {
		var kinds []map[string]string
		if err := s.Extensions.GetObject("x-kubernetes-group-version-kind", &kinds); err != nil {
			continue
		}
		for _, got := range kinds {
			if got["group"] == k.Group && got["version"] == k.Version && got["kind"] == k.Kind {
				return s
			}
		}
	}
	return nil
}

// supportsQueryParamV3 is cli-runtime's NewQueryParamVerifierV3 lookup
// (k8s.io/cli-runtime/pkg/resource/query_param_verifier_v3.go), which is not
// a dependency of tend: any PATCH operation of the kind decides (paths are a
// map), and only inline parameters count.
func supportsQueryParamV3(doc *spec3.OpenAPI, gvk schema.GroupVersionKind, name string) bool {
	for _, path := range doc.Paths.Paths {
		op := path.Patch
		if op == nil {
			continue
		}
		var got map[string]string
		if err := op.Extensions.GetObject("x-kubernetes-group-version-kind", &got); err != nil {
			continue
		}
		if got["group"] != gvk.Group || got["version"] != gvk.Version || got["kind"] != gvk.Kind {
			continue
		}
		for _, p := range op.Parameters {
			if p.Name == name {
				return true
			}
		}
		return false
	}
	return false
}

func TestFieldValidationFoundByVerifierV3(t *testing.T) {
	root := v3Root(t)
	for _, k := range append(testKinds, schema.GroupVersionKind{Group: "autoscaling", Version: "v1", Kind: "Scale"}) {
		gv := k.GroupVersion()
		if k.Kind == "Scale" {
			gv = schema.GroupVersion{Group: "apps", Version: "v1"} // served as deployments/scale
		}
		doc, err := root.GVSpec(gv)
		if err != nil {
			t.Fatalf("GVSpec(%v): %v", gv, err)
		}
		// The verifier stops at the first PATCH of the kind in map order:
		// every one of them must list the parameter.
		for path, item := range doc.Paths.Paths {
			if item.Patch == nil {
				continue
			}
			var got map[string]string
			if err := item.Patch.Extensions.GetObject("x-kubernetes-group-version-kind", &got); err != nil || got["kind"] != k.Kind {
				continue
			}
			one := &spec3.OpenAPI{Paths: &spec3.Paths{Paths: map[string]*spec3.Path{path: item}}}
			if !supportsQueryParamV3(one, k, "fieldValidation") {
				t.Errorf("PATCH %s (%v) lacks an inline fieldValidation parameter", path, k)
			}
		}
		if !supportsQueryParamV3(doc, k, "fieldValidation") {
			t.Errorf("verifier v3: %v does not support fieldValidation", k)
		}
	}
}

// TestPatchMetadataV3 looks up strategic merge metadata the way client-side
// kubectl apply does with OpenAPI v3.
func TestPatchMetadataV3(t *testing.T) {
	root := v3Root(t)
	lookup := func(k schema.GroupVersionKind, path ...string) strategicpatch.PatchMeta {
		t.Helper()
		doc, err := root.GVSpec(k.GroupVersion())
		if err != nil {
			t.Fatalf("GVSpec(%v): %v", k.GroupVersion(), err)
		}
		var meta strategicpatch.LookupPatchMeta = strategicpatch.PatchMetaFromOpenAPIV3{
			Schema: kindSchema(doc, k), SchemaList: doc.Components.Schemas,
		}
		var pm strategicpatch.PatchMeta
		for i, field := range path {
			// Lists are looked up as slices, which descends into their items.
			if i == len(path)-1 || field == "containers" {
				meta, pm, err = meta.LookupPatchMetadataForSlice(field)
			} else {
				meta, pm, err = meta.LookupPatchMetadataForStruct(field)
			}
			if err != nil {
				t.Fatalf("%v %s: looking up %q: %v", k, strings.Join(path, "."), field, err)
			}
		}
		return pm
	}
	for _, tc := range []struct {
		kind     schema.GroupVersionKind
		path     []string
		strategy string
		key      string
	}{
		{testKinds[0], []string{"spec", "containers"}, "merge", "name"},
		{testKinds[0], []string{"spec", "volumes"}, "merge,retainKeys", "name"},
		{testKinds[0], []string{"metadata", "finalizers"}, "merge", ""},
		{testKinds[1], []string{"spec", "ports"}, "merge", "port"},
		{testKinds[4], []string{"spec", "template", "spec", "containers"}, "merge", "name"},
		{testKinds[4], []string{"spec", "template", "spec", "containers", "env"}, "merge", "name"},
	} {
		pm := lookup(tc.kind, tc.path...)
		if got := strings.Join(pm.GetPatchStrategies(), ","); got != tc.strategy || pm.GetPatchMergeKey() != tc.key {
			t.Errorf("%s %s: strategy %q, merge key %q; want %q, %q", tc.kind.Kind, strings.Join(tc.path, "."), got, pm.GetPatchMergeKey(), tc.strategy, tc.key)
		}
	}
}

// TestThreeWayPatch computes a kubectl-apply patch of a Deployment from the
// v2 and the v3 documents: merging containers by name shows as
// $setElementOrder, which a JSON merge patch would not produce.
func TestThreeWayPatch(t *testing.T) {
	original := `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"template":{"spec":{"containers":[{"name":"a","image":"a:1"},{"name":"b","image":"b:1"}]}}}}`
	modified := `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"template":{"spec":{"containers":[{"name":"a","image":"a:2"},{"name":"b","image":"b:1"}]}}}}`
	current := original
	deployment := schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}

	srv, _ := serve(t)
	var v3 spec3.OpenAPI
	if err := json.Unmarshal(get(t, srv.URL+"/openapi/v3/apis/apps/v1", "application/json"), &v3); err != nil {
		t.Fatalf("decoding v3: %v", err)
	}
	v2doc, err := openapiv2.ParseDocument(get(t, srv.URL+"/openapi/v2", "application/json"))
	if err != nil {
		t.Fatalf("parsing v2: %v", err)
	}
	models, err := protomodels.NewOpenAPIData(v2doc)
	if err != nil {
		t.Fatalf("NewOpenAPIData: %v", err)
	}
	for name, meta := range map[string]strategicpatch.LookupPatchMeta{
		"v3": strategicpatch.PatchMetaFromOpenAPIV3{Schema: kindSchema(&v3, deployment), SchemaList: v3.Components.Schemas},
		"v2": strategicpatch.NewPatchMetaFromOpenAPI(models.LookupModel("io.k8s.api.apps.v1.Deployment")),
	} {
		patch, err := strategicpatch.CreateThreeWayMergePatch([]byte(original), []byte(modified), []byte(current), meta, false)
		if err != nil {
			t.Fatalf("%s: CreateThreeWayMergePatch: %v", name, err)
		}
		if want := `$setElementOrder/containers`; !strings.Contains(string(patch), want) {
			t.Errorf("%s: patch %s; want it to merge containers by name (%s)", name, patch, want)
		}
	}
}
