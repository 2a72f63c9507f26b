package apiserver_test

import (
	"slices"
	"testing"
	"time"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/restmapper"

	"github.com/tendhq/tend/tendtest"
)

var (
	configMapsGVR  = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	deploymentsGVR = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
)

func unstructuredConfigMap(name string, labels map[string]any, data map[string]any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": name, "labels": labels},
		"data":     data,
	}}
}

func TestDynamicClient(t *testing.T) {
	t.Parallel()
	c := tendtest.Start(t, tendtest.Options{})
	ctx := ctxFor(t)
	ns := makeNamespace(t, c.Client(), "dyn")
	dc := c.Dynamic()
	cms := dc.Resource(configMapsGVR).Namespace(ns)

	w, err := cms.Watch(ctx, metav1.ListOptions{LabelSelector: "tier=web"})
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	defer w.Stop()

	created, err := cms.Create(ctx, unstructuredConfigMap("web", map[string]any{"tier": "web"}, map[string]any{"k": "v"}), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if created.GetUID() == "" || created.GetResourceVersion() == "" {
		t.Fatalf("Create = uid %q rv %q; want both set", created.GetUID(), created.GetResourceVersion())
	}
	if _, err := cms.Create(ctx, unstructuredConfigMap("db", map[string]any{"tier": "db"}, nil), metav1.CreateOptions{}); err != nil {
		t.Fatalf("Create: %v", err)
	}
	got, err := cms.Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if v, _, _ := unstructured.NestedString(got.Object, "data", "k"); v != "v" {
		t.Fatalf("Get data.k = %q; want v", v)
	}
	if err := unstructured.SetNestedField(got.Object, "w", "data", "k"); err != nil {
		t.Fatal(err)
	}
	updated, err := cms.Update(ctx, got, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	patched, err := cms.Patch(ctx, "web", "application/merge-patch+json", []byte(`{"data":{"p":"1"}}`), metav1.PatchOptions{})
	if err != nil {
		t.Fatalf("Patch: %v", err)
	}
	if v, _, _ := unstructured.NestedString(patched.Object, "data", "p"); v != "1" {
		t.Fatalf("Patch data.p = %q; want 1", v)
	}

	tests := []struct {
		selector metav1.ListOptions
		want     []string
	}{
		{metav1.ListOptions{}, []string{"db", "web"}},
		{metav1.ListOptions{LabelSelector: "tier=web"}, []string{"web"}},
		{metav1.ListOptions{LabelSelector: "tier in (db,cache)"}, []string{"db"}},
		{metav1.ListOptions{LabelSelector: "tier!=web"}, []string{"db"}},
		{metav1.ListOptions{LabelSelector: "tier"}, []string{"db", "web"}},
		{metav1.ListOptions{LabelSelector: "!tier"}, nil},
		{metav1.ListOptions{FieldSelector: "metadata.name=db"}, []string{"db"}},
		{metav1.ListOptions{FieldSelector: "metadata.name!=db", LabelSelector: "tier"}, []string{"web"}},
	}
	for _, tt := range tests {
		l, err := cms.List(ctx, tt.selector)
		if err != nil {
			t.Fatalf("List(%+v): %v", tt.selector, err)
		}
		var names []string
		for _, it := range l.Items {
			names = append(names, it.GetName())
		}
		if !slices.Equal(names, tt.want) {
			t.Errorf("List(label %q, field %q) = %v; want %v", tt.selector.LabelSelector, tt.selector.FieldSelector, names, tt.want)
		}
		if l.GetKind() != "ConfigMapList" || l.GetResourceVersion() == "" {
			t.Errorf("List kind %q rv %q; want ConfigMapList and a resourceVersion", l.GetKind(), l.GetResourceVersion())
		}
	}

	if err := cms.Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := cms.Get(ctx, "web", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("Get after Delete: err = %v; want NotFound", err)
	}

	// The watch saw web's life and nothing of db.
	wantEvents := []struct {
		typ watch.EventType
		rv  string
	}{{watch.Added, created.GetResourceVersion()}, {watch.Modified, updated.GetResourceVersion()}, {watch.Modified, patched.GetResourceVersion()}, {watch.Deleted, ""}}
	for i, want := range wantEvents {
		select {
		case e := <-w.ResultChan():
			u, ok := e.Object.(*unstructured.Unstructured)
			if !ok {
				t.Fatalf("watch event %d object is %T; want *unstructured.Unstructured", i, e.Object)
			}
			if e.Type != want.typ || u.GetName() != "web" || (want.rv != "" && u.GetResourceVersion() != want.rv) {
				t.Fatalf("watch event %d = %s %s rv %s; want %s web rv %s", i, e.Type, u.GetName(), u.GetResourceVersion(), want.typ, want.rv)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("watch event %d did not arrive; want %s", i, want.typ)
		}
	}
}

// TestMetadataClient reads objects as PartialObjectMetadata, the way the
// garbage collector and metadata informers do.
func TestMetadataClient(t *testing.T) {
	t.Parallel()
	c := tendtest.Start(t, tendtest.Options{})
	ctx := ctxFor(t)
	ns := makeNamespace(t, c.Client(), "meta")
	mc, err := metadata.NewForConfig(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	cms := mc.Resource(configMapsGVR).Namespace(ns)
	w, err := cms.Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	defer w.Stop()
	dcms := c.Dynamic().Resource(configMapsGVR).Namespace(ns)
	if _, err := dcms.Create(ctx, unstructuredConfigMap("a", map[string]any{"x": "y"}, map[string]any{"k": "v"}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	l, err := cms.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(l.Items) != 1 || l.Items[0].Name != "a" || l.Items[0].Labels["x"] != "y" || l.Items[0].UID == "" {
		t.Fatalf("List = %+v; want a's metadata", l.Items)
	}
	got, err := cms.Get(ctx, "a", metav1.GetOptions{})
	if err != nil || got.Name != "a" || got.Labels["x"] != "y" {
		t.Fatalf("Get = %+v, %v; want a's metadata", got, err)
	}
	select {
	case e := <-w.ResultChan():
		p, ok := e.Object.(*metav1.PartialObjectMetadata)
		if e.Type != watch.Added || !ok || p.Name != "a" {
			t.Fatalf("watch event = %s %T; want ADDED PartialObjectMetadata a", e.Type, e.Object)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no watch event")
	}
	if err := cms.Delete(ctx, "a", metav1.DeleteOptions{}); err != nil {
		t.Fatalf("Delete: %v", err)
	}
}

func TestDiscovery(t *testing.T) {
	t.Parallel()
	c := tendtest.Start(t, tendtest.Options{})
	dc, err := discovery.NewDiscoveryClientForConfig(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}

	t.Run("ServerGroupsAndResources", func(t *testing.T) {
		groups, lists, err := dc.ServerGroupsAndResources()
		if err != nil {
			t.Fatalf("ServerGroupsAndResources: %v", err)
		}
		var names []string
		for _, g := range groups {
			names = append(names, g.Name)
		}
		for _, want := range []string{"", "apps", "autoscaling", "batch", "coordination.k8s.io", "events.k8s.io", "policy"} {
			if !slices.Contains(names, want) {
				t.Errorf("groups = %q; want %q among them", names, want)
			}
		}
		res := resourcesByName(lists)
		tests := []struct {
			gv, name   string
			kind       string
			group, ver string // the subresource's kind's group and version, if not the parent's
			namespaced bool
			short      []string
			categories []string
			verbs      []string
		}{
			{gv: "v1", name: "pods", kind: "Pod", namespaced: true, short: []string{"po"}, categories: []string{"all"}},
			{gv: "v1", name: "pods/status", kind: "Pod", namespaced: true, verbs: []string{"get", "patch", "update"}},
			{gv: "v1", name: "pods/binding", kind: "Binding", namespaced: true, verbs: []string{"create"}},
			{gv: "v1", name: "pods/eviction", kind: "Eviction", group: "policy", ver: "v1", namespaced: true, verbs: []string{"create"}},
			{gv: "v1", name: "namespaces", kind: "Namespace", short: []string{"ns"}, verbs: []string{"create", "delete", "get", "list", "patch", "update", "watch"}},
			{gv: "v1", name: "configmaps", kind: "ConfigMap", namespaced: true, short: []string{"cm"}, verbs: []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}},
			{gv: "v1", name: "namespaces/finalize", kind: "Namespace", verbs: []string{"update"}},
			{gv: "apps/v1", name: "deployments", kind: "Deployment", namespaced: true, short: []string{"deploy"}, categories: []string{"all"}},
			{gv: "apps/v1", name: "deployments/scale", kind: "Scale", group: "autoscaling", ver: "v1", namespaced: true, verbs: []string{"get", "patch", "update"}},
			{gv: "autoscaling/v1", name: "horizontalpodautoscalers", kind: "HorizontalPodAutoscaler", namespaced: true, short: []string{"hpa"}, categories: []string{"all"}},
			{gv: "autoscaling/v2", name: "horizontalpodautoscalers", kind: "HorizontalPodAutoscaler", namespaced: true, short: []string{"hpa"}, categories: []string{"all"}},
			{gv: "events.k8s.io/v1", name: "events", kind: "Event", namespaced: true, short: []string{"ev"}},
		}
		for _, tt := range tests {
			r, ok := res[tt.gv+" "+tt.name]
			if !ok {
				t.Errorf("%s %s is not in discovery", tt.gv, tt.name)
				continue
			}
			// Aggregated discovery fills in every resource's group and version; the
			// legacy documents only those that differ from the list's.
			group, ver := tt.group, tt.ver
			gv, _ := schema.ParseGroupVersion(tt.gv)
			if ver == "" && r.Version != "" {
				group, ver = gv.Group, gv.Version
			}
			if r.Kind != tt.kind || r.Group != group || r.Version != ver || r.Namespaced != tt.namespaced {
				t.Errorf("%s %s = kind %q group %q version %q namespaced %v; want %q %q %q %v",
					tt.gv, tt.name, r.Kind, r.Group, r.Version, r.Namespaced, tt.kind, group, ver, tt.namespaced)
			}
			if tt.short != nil && !slices.Equal(r.ShortNames, tt.short) {
				t.Errorf("%s %s short names = %q; want %q", tt.gv, tt.name, r.ShortNames, tt.short)
			}
			if !slices.Equal(r.Categories, tt.categories) {
				t.Errorf("%s %s categories = %q; want %q", tt.gv, tt.name, r.Categories, tt.categories)
			}
			if tt.verbs != nil && !slices.Equal(r.Verbs, tt.verbs) {
				t.Errorf("%s %s verbs = %q; want %q", tt.gv, tt.name, r.Verbs, tt.verbs)
			}
		}
	})

	t.Run("legacy documents", func(t *testing.T) {
		rc := newRawClient(t, c)
		tests := []struct {
			path, resource, group, version, kind string
		}{
			{"/apis/apps/v1", "deployments/scale", "autoscaling", "v1", "Scale"},
			{"/api/v1", "pods/eviction", "policy", "v1", "Eviction"},
			{"/api/v1", "pods/status", "", "", "Pod"},
		}
		for _, tt := range tests {
			r := rc.do("GET", tt.path, nil)
			r.wantCode(t, "GET "+tt.path, 200)
			var l metav1.APIResourceList
			r.object(t, &l)
			found := false
			for _, res := range l.APIResources {
				if res.Name == tt.resource {
					found = true
					if res.Group != tt.group || res.Version != tt.version || res.Kind != tt.kind {
						t.Errorf("%s %s = %s/%s %s; want %s/%s %s", tt.path, tt.resource, res.Group, res.Version, res.Kind, tt.group, tt.version, tt.kind)
					}
				}
			}
			if !found {
				t.Errorf("%s lacks %s", tt.path, tt.resource)
			}
		}
		for _, path := range []string{"/openapi/v2", "/openapi/v3", "/openapi/v3/apis/apps/v1", "/apis/apps", "/version"} {
			r := rc.do("GET", path, nil, "Accept", "application/json")
			r.wantCode(t, "GET "+path, 200)
		}
		v, err := dc.ServerVersion()
		if err != nil || v.Major != "1" || v.GitVersion == "" {
			t.Errorf("ServerVersion = %+v, %v; want major 1 and a gitVersion", v, err)
		}
	})

	t.Run("ServerPreferredResources", func(t *testing.T) {
		lists, err := dc.ServerPreferredResources()
		if err != nil {
			t.Fatalf("ServerPreferredResources: %v", err)
		}
		res := resourcesByName(lists)
		if _, ok := res["autoscaling/v2 horizontalpodautoscalers"]; !ok {
			t.Errorf("preferred resources lack autoscaling/v2 horizontalpodautoscalers")
		}
		if _, ok := res["autoscaling/v1 horizontalpodautoscalers"]; ok {
			t.Errorf("preferred resources have autoscaling/v1 horizontalpodautoscalers; want only v2 preferred")
		}
		if _, ok := res["apps/v1 deployments"]; !ok {
			t.Errorf("preferred resources lack apps/v1 deployments")
		}
	})

	t.Run("aggregated", func(t *testing.T) {
		// client-go asks /api and /apis for APIGroupDiscoveryList first.
		rc := newRawClient(t, c)
		for _, path := range []string{"/api", "/apis"} {
			r := rc.do("GET", path, nil, "Accept", "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json")
			r.wantCode(t, "GET "+path, 200)
			if got, want := r.header.Get("Content-Type"), "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"; got != want {
				t.Fatalf("GET %s Content-Type = %q; want %q", path, got, want)
			}
			var l apidiscoveryv2.APIGroupDiscoveryList
			r.object(t, &l)
			if len(l.Items) == 0 {
				t.Fatalf("GET %s: no groups", path)
			}
		}
		r := rc.do("GET", "/apis", nil, "Accept", "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList")
		var l apidiscoveryv2.APIGroupDiscoveryList
		r.object(t, &l)
		var scale *apidiscoveryv2.APISubresourceDiscovery
		for _, g := range l.Items {
			for _, v := range g.Versions {
				for _, res := range v.Resources {
					if g.Name == "apps" && res.Resource == "deployments" {
						for i := range res.Subresources {
							if res.Subresources[i].Subresource == "scale" {
								scale = &res.Subresources[i]
							}
						}
					}
				}
			}
		}
		if scale == nil || scale.ResponseKind == nil || *scale.ResponseKind != (metav1.GroupVersionKind{Group: "autoscaling", Version: "v1", Kind: "Scale"}) {
			t.Fatalf("aggregated apps/v1 deployments/scale = %+v; want response kind autoscaling/v1 Scale", scale)
		}
	})

	t.Run("restmapper", func(t *testing.T) {
		mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
		tests := []struct {
			resource string
			want     schema.GroupVersionKind
		}{
			{"deploy", schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}},
			{"deployments", schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}},
			{"po", schema.GroupVersionKind{Version: "v1", Kind: "Pod"}},
			{"hpa", schema.GroupVersionKind{Group: "autoscaling", Version: "v2", Kind: "HorizontalPodAutoscaler"}},
			{"cm", schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}},
		}
		for _, tt := range tests {
			// kubectl expands short names first, then maps.
			expander := restmapper.NewShortcutExpander(mapper, memory.NewMemCacheClient(dc), nil)
			gvk, err := expander.KindFor(schema.GroupVersionResource{Resource: tt.resource})
			if err != nil {
				t.Errorf("KindFor(%q): %v", tt.resource, err)
				continue
			}
			if gvk != tt.want {
				t.Errorf("KindFor(%q) = %v; want %v", tt.resource, gvk, tt.want)
			}
		}
		m, err := mapper.RESTMapping(schema.GroupKind{Group: "apps", Kind: "Deployment"})
		if err != nil {
			t.Fatalf("RESTMapping(apps Deployment): %v", err)
		}
		if m.Resource != deploymentsGVR || m.Scope.Name() != "namespace" {
			t.Fatalf("RESTMapping(apps Deployment) = %v scope %q; want %v, namespace", m.Resource, m.Scope.Name(), deploymentsGVR)
		}
	})

	t.Run("categories all", func(t *testing.T) {
		_, lists, err := dc.ServerGroupsAndResources()
		if err != nil {
			t.Fatal(err)
		}
		var all []string
		for _, l := range lists {
			gv, _ := schema.ParseGroupVersion(l.GroupVersion)
			for _, r := range l.APIResources {
				if slices.Contains(r.Categories, "all") {
					all = append(all, gv.Group+"/"+r.Name)
				}
			}
		}
		for _, want := range []string{"/pods", "/services", "apps/deployments", "apps/replicasets", "apps/statefulsets", "apps/daemonsets", "batch/jobs", "batch/cronjobs"} {
			if !slices.Contains(all, want) {
				t.Errorf("category all = %q; want %q among them", all, want)
			}
		}
		for _, notWant := range []string{"/configmaps", "/secrets", "/events", "/namespaces"} {
			if slices.Contains(all, notWant) {
				t.Errorf("category all has %q; want it not", notWant)
			}
		}
	})
}

// resourcesByName indexes discovery resources by "groupVersion name", with
// the resource's Group and Version kept only when discovery set them.
func resourcesByName(lists []*metav1.APIResourceList) map[string]metav1.APIResource {
	out := map[string]metav1.APIResource{}
	for _, l := range lists {
		for _, r := range l.APIResources {
			out[l.GroupVersion+" "+r.Name] = r
		}
	}
	return out
}
