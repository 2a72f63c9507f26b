package openapi

import (
	"net/http/httptest"
	"reflect"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
)

var allVerbs = []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"}

// testResources is a small cluster's worth of resources, shaped as
// kube-apiserver serves them.
func testResources() []Resource {
	return []Resource{
		{
			Version: "v1", Resource: "pods", Kind: "Pod", Namespaced: true,
			Type: reflect.TypeFor[corev1.Pod](), ListType: reflect.TypeFor[corev1.PodList](),
			Verbs: allVerbs, DeleteReturnsObject: true,
			Subresources: []Subresource{
				{Name: "status"},
				{Name: "eviction", Type: reflect.TypeFor[policyv1.Eviction](), Group: "policy", Version: "v1", Kind: "Eviction", Verbs: []string{"create"}},
			},
		},
		{
			Version: "v1", Resource: "services", Kind: "Service", Namespaced: true,
			Type: reflect.TypeFor[corev1.Service](), ListType: reflect.TypeFor[corev1.ServiceList](),
			Verbs: allVerbs, DeleteReturnsObject: true,
			Subresources: []Subresource{{Name: "status"}},
		},
		{
			Version: "v1", Resource: "configmaps", Kind: "ConfigMap", Namespaced: true,
			Type: reflect.TypeFor[corev1.ConfigMap](), ListType: reflect.TypeFor[corev1.ConfigMapList](),
			Verbs: allVerbs,
		},
		{
			Version: "v1", Resource: "namespaces", Kind: "Namespace",
			Type: reflect.TypeFor[corev1.Namespace](), ListType: reflect.TypeFor[corev1.NamespaceList](),
			Verbs:        []string{"get", "list", "watch", "create", "update", "patch", "delete"},
			Subresources: []Subresource{{Name: "status"}, {Name: "finalize", Verbs: []string{"update"}}},
		},
		{
			Group: "apps", Version: "v1", Resource: "deployments", Kind: "Deployment", Namespaced: true,
			Type: reflect.TypeFor[appsv1.Deployment](), ListType: reflect.TypeFor[appsv1.DeploymentList](),
			Verbs: allVerbs,
			Subresources: []Subresource{
				{Name: "status"},
				{Name: "scale", Type: reflect.TypeFor[autoscalingv1.Scale](), Group: "autoscaling", Version: "v1", Kind: "Scale"},
			},
		},
		{
			Group: "autoscaling", Version: "v2", Resource: "horizontalpodautoscalers", Kind: "HorizontalPodAutoscaler", Namespaced: true,
			Type: reflect.TypeFor[autoscalingv2.HorizontalPodAutoscaler](), ListType: reflect.TypeFor[autoscalingv2.HorizontalPodAutoscalerList](),
			Verbs:        allVerbs,
			Subresources: []Subresource{{Name: "status"}},
		},
	}
}

// serve starts a server of a handler for testResources, and a discovery
// client of it.
func serve(t testing.TB) (*httptest.Server, *discovery.DiscoveryClient) {
	t.Helper()
	h, err := New("v1.37.0", testResources())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	dc, err := discovery.NewDiscoveryClientForConfig(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatalf("discovery client: %v", err)
	}
	return srv, dc
}
