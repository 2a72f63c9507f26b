package openapi

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// testDocs builds the documents of testResources as generic JSON.
func testDocs(t *testing.T) (v2 map[string]any, v3 map[string]map[string]any) {
	t.Helper()
	h, err := New("v1.37.0", testResources())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	d2, err := h.v2Document()
	if err != nil {
		t.Fatalf("building v2: %v", err)
	}
	if err := json.Unmarshal(d2.json, &v2); err != nil {
		t.Fatalf("decoding v2: %v", err)
	}
	d3, err := h.v3Documents()
	if err != nil {
		t.Fatalf("building v3: %v", err)
	}
	v3 = map[string]map[string]any{}
	for key, d := range d3.byKey {
		var doc map[string]any
		if err := json.Unmarshal(d.json, &doc); err != nil {
			t.Fatalf("decoding v3 %s: %v", key, err)
		}
		v3[key] = doc
	}
	return v2, v3
}

// at follows keys through nested maps.
func at(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func compact(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestDefinitions(t *testing.T) {
	v2, v3 := testDocs(t)
	core := v3["api/v1"]
	def2 := func(name string, keys ...string) any {
		return at(v2, append([]string{"definitions", name}, keys...)...)
	}
	def3 := func(name string, keys ...string) any {
		return at(core, append([]string{"components", "schemas", name}, keys...)...)
	}
	const (
		meta = "io.k8s.apimachinery.pkg.apis.meta.v1."
		v1   = "io.k8s.api.core.v1."
	)
	for _, tc := range []struct {
		name string
		got  any
		want string // JSON
	}{
		{"Time", def2(meta+"Time", "format"), `"date-time"`},
		{"Time v3", def3(meta+"Time", "type"), `"string"`},
		{"Quantity v2", def2("io.k8s.apimachinery.pkg.api.resource.Quantity", "type"), `"string"`},
		{"Quantity v3", def3("io.k8s.apimachinery.pkg.api.resource.Quantity", "oneOf"), `[{"type":"string"},{"type":"number"}]`},
		{"IntOrString v2", def2("io.k8s.apimachinery.pkg.util.intstr.IntOrString", "format"), `"int-or-string"`},
		{"IntOrString v3", def3("io.k8s.apimachinery.pkg.util.intstr.IntOrString", "oneOf"), `[{"type":"integer"},{"type":"string"}]`},
		{"RawExtension", def2("io.k8s.apimachinery.pkg.runtime.RawExtension", "type"), `"object"`},
		{"[]byte", def2(v1+"ConfigMap", "properties", "binaryData", "additionalProperties"), `{"format":"byte","type":"string"}`},
		{"map", def2(v1+"ConfigMap", "properties", "data", "additionalProperties"), `{"type":"string"}`},
		{"int64", def2(meta+"ObjectMeta", "properties", "generation", "format"), `"int64"`},
		{"int32", def2(v1+"ContainerPort", "properties", "containerPort", "format"), `"int32"`},
		{"required", def2(v1+"Container", "required"), `["name"]`},
		{"string default", def2(v1+"Container", "properties", "name", "default"), `""`},
		{"struct default", def2(v1+"Pod", "properties", "spec", "default"), `{}`},
		{"no default for self-decoding types", def2(meta+"ObjectMeta", "properties", "creationTimestamp", "default"), `null`},
		{"v2 $ref with siblings", def2(v1+"Pod", "properties", "metadata", "$ref"), `"#/definitions/` + meta + `ObjectMeta"`},
		{"v3 $ref in allOf", def3(v1+"Pod", "properties", "metadata", "allOf"), `[{"$ref":"#/components/schemas/` + meta + `ObjectMeta"}]`},
		{"inline TypeMeta", def2(v1+"Pod", "properties", "apiVersion", "type"), `"string"`},
		{"inline VolumeSource", def2(v1+"Volume", "properties", "hostPath", "$ref"), `"#/definitions/` + v1 + `HostPathVolumeSource"`},
		{"description", def2(v1+"Pod", "description"), compact(corev1.Pod{}.SwaggerDoc()[""])},
		{"kind", def2(v1+"Pod", "x-kubernetes-group-version-kind"), `[{"group":"","kind":"Pod","version":"v1"}]`},
		{"list kind", def2(v1+"PodList", "x-kubernetes-group-version-kind"), `[{"group":"","kind":"PodList","version":"v1"}]`},
		{"patch strategy", def2(v1+"PodSpec", "properties", "containers", "x-kubernetes-patch-strategy"), `"merge"`},
		{"merge key", def2(v1+"PodSpec", "properties", "containers", "x-kubernetes-patch-merge-key"), `"name"`},
		{"list type map", def2(v1+"Container", "properties", "ports", "x-kubernetes-list-map-keys"), `["containerPort","protocol"]`},
		{"list type set", def2(meta+"ObjectMeta", "properties", "finalizers", "x-kubernetes-list-type"), `"set"`},
		{"retainKeys", def2("io.k8s.api.apps.v1.DeploymentSpec", "properties", "strategy", "x-kubernetes-patch-strategy"), `"retainKeys"`},
		{"atomic struct", def2(meta+"LabelSelector", "x-kubernetes-map-type"), `"atomic"`},
		{"atomic map", def2(v1+"PodSpec", "properties", "nodeSelector", "x-kubernetes-map-type"), `"atomic"`},
	} {
		if got := compact(tc.got); got != tc.want {
			t.Errorf("%s: got %s; want %s", tc.name, got, tc.want)
		}
	}
	if n := len(at(v3["apis/apps/v1"], "components", "schemas").(map[string]any)); n >= len(at(v2, "definitions").(map[string]any)) {
		t.Errorf("apps/v1 has %d schemas; want only those it reaches, fewer than v2's", n)
	}
}

func TestOperations(t *testing.T) {
	v2, v3 := testDocs(t)
	op2 := func(path, method string, keys ...string) any {
		return at(v2, append([]string{"paths", path, method}, keys...)...)
	}
	for _, tc := range []struct {
		path, method, id string
	}{
		{"/api/v1/", "get", "getCoreV1APIResources"},
		{"/api/v1/namespaces/{namespace}/pods/{name}", "get", "readCoreV1NamespacedPod"},
		{"/api/v1/namespaces/{namespace}/pods", "delete", "deleteCoreV1CollectionNamespacedPod"},
		{"/api/v1/pods", "get", "listCoreV1PodForAllNamespaces"},
		{"/api/v1/watch/pods", "get", "watchCoreV1PodListForAllNamespaces"},
		{"/api/v1/watch/namespaces/{namespace}/pods", "get", "watchCoreV1NamespacedPodList"},
		{"/api/v1/watch/namespaces/{namespace}/pods/{name}", "get", "watchCoreV1NamespacedPod"},
		{"/api/v1/namespaces/{namespace}/pods/{name}/status", "patch", "patchCoreV1NamespacedPodStatus"},
		{"/api/v1/namespaces/{namespace}/pods/{name}/eviction", "post", "createCoreV1NamespacedPodEviction"},
		{"/api/v1/namespaces/{name}", "get", "readCoreV1Namespace"},
		{"/api/v1/namespaces/{name}/finalize", "put", "replaceCoreV1NamespaceFinalize"},
		{"/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale", "patch", "patchAppsV1NamespacedDeploymentScale"},
		{"/apis/autoscaling/v2/horizontalpodautoscalers", "get", "listAutoscalingV2HorizontalPodAutoscalerForAllNamespaces"},
	} {
		if got := op2(tc.path, tc.method, "operationId"); got != tc.id {
			t.Errorf("v2 %s %s: operationId %v; want %s", tc.method, tc.path, got, tc.id)
		}
		key := "api/v1"
		if strings.HasPrefix(tc.path, "/apis/") {
			key = strings.Join(strings.Split(tc.path, "/")[1:4], "/")
		}
		if got := at(v3[key], "paths", tc.path, tc.method, "operationId"); got != tc.id {
			t.Errorf("v3 %s %s: operationId %v; want %s", tc.method, tc.path, got, tc.id)
		}
	}
	for _, tc := range []struct {
		name string
		got  any
		want string
	}{
		{"no delete of namespaces collection", at(v2, "paths", "/api/v1/namespaces", "delete"), `null`},
		{"scale kind", op2("/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale", "patch", "x-kubernetes-group-version-kind"), `{"group":"autoscaling","kind":"Scale","version":"v1"}`},
		{"action", op2("/api/v1/namespaces/{namespace}/pods", "delete", "x-kubernetes-action"), `"deletecollection"`},
		{"patch types", op2("/api/v1/namespaces/{namespace}/configmaps/{name}", "patch", "consumes"),
			`["application/json-patch+json","application/merge-patch+json","application/strategic-merge-patch+json","application/apply-patch+yaml"]`},
		{"list produces", op2("/api/v1/namespaces/{namespace}/configmaps", "get", "produces"),
			`["application/json","application/yaml","application/vnd.kubernetes.protobuf","application/json;stream=watch","application/vnd.kubernetes.protobuf;stream=watch"]`},
		{"pod delete answers the pod", op2("/api/v1/namespaces/{namespace}/pods/{name}", "delete", "responses", "200", "schema", "$ref"), `"#/definitions/io.k8s.api.core.v1.Pod"`},
		{"configmap delete answers a status", op2("/api/v1/namespaces/{namespace}/configmaps/{name}", "delete", "responses", "200", "schema", "$ref"), `"#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Status"`},
		{"v2 inline fieldValidation", op2("/api/v1/namespaces/{namespace}/pods/{name}", "patch", "parameters"), ""},
		{"v3 body", at(v3["apis/apps/v1"], "paths", "/apis/apps/v1/namespaces/{namespace}/deployments", "post", "requestBody"),
			`{"content":{"*/*":{"schema":{"$ref":"#/components/schemas/io.k8s.api.apps.v1.Deployment"}}},"required":true}`},
		{"v3 path parameters", at(v3["apis/apps/v1"], "paths", "/apis/apps/v1/namespaces/{namespace}/deployments/{name}", "parameters"), ""},
	} {
		got := compact(tc.got)
		switch tc.name {
		case "v2 inline fieldValidation":
			if !strings.Contains(got, `"in":"query","name":"fieldValidation"`) || !strings.Contains(got, `"$ref":"#/parameters/fieldManager-`) {
				t.Errorf("%s: got %s; want fieldValidation inline and fieldManager shared", tc.name, got)
			}
		case "v3 path parameters":
			for _, p := range []string{`"name":"name"`, `"name":"namespace"`, `"name":"pretty"`} {
				if !strings.Contains(got, p) {
					t.Errorf("%s: got %s; want %s among them", tc.name, got, p)
				}
			}
		default:
			if got != tc.want {
				t.Errorf("%s: got %s; want %s", tc.name, got, tc.want)
			}
		}
	}
}

// TestDeterministic matters because the v3 hash keys clients' caches: the
// same resources must give the same documents.
func TestDeterministic(t *testing.T) {
	build := func() (*document, *v3Documents) {
		h, err := New("v1.37.0", testResources())
		if err != nil {
			t.Fatal(err)
		}
		v2, err := h.v2Document()
		if err != nil {
			t.Fatal(err)
		}
		v3, err := h.v3Documents()
		if err != nil {
			t.Fatal(err)
		}
		return v2, v3
	}
	a2, a3 := build()
	b2, b3 := build()
	if !bytes.Equal(a2.json, b2.json) {
		t.Error("two builds of /openapi/v2 differ")
	}
	if !bytes.Equal(a3.index.json, b3.index.json) {
		t.Errorf("two builds of /openapi/v3 differ:\n%s\n%s", a3.index.json, b3.index.json)
	}
}

func TestNewRejects(t *testing.T) {
	pod := testResources()[0]
	for _, tc := range []struct {
		name   string
		mutate func(*Resource)
		want   string
	}{
		{"no kind", func(r *Resource) { r.Kind = "" }, "Version, Resource and Kind are required"},
		{"unknown verb", func(r *Resource) { r.Verbs = []string{"get", "frob"} }, `unknown verb "frob"`},
		{"no list type", func(r *Resource) { r.ListType = nil }, "ListType: missing"},
		{"not a struct", func(r *Resource) { r.Type = reflect.TypeFor[string]() }, "not a struct"},
		{"subresource verb", func(r *Resource) { r.Subresources = []Subresource{{Name: "log", Verbs: []string{"watch"}}} }, `unsupported verb "watch"`},
		{"subresource kind without type", func(r *Resource) { r.Subresources = []Subresource{{Name: "scale", Kind: "Scale", Version: "v1"}} }, "needs all of Version, Kind and Type"},
	} {
		r := pod
		r.Subresources = nil
		tc.mutate(&r)
		if _, err := New("v1.37.0", []Resource{r}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: New() error %v; want one containing %q", tc.name, err, tc.want)
		}
	}
	if _, err := New("v1.37.0", []Resource{pod, pod}); err == nil || !strings.Contains(err.Error(), "listed twice") {
		t.Errorf("New(pods twice) error %v; want one saying listed twice", err)
	}
}
