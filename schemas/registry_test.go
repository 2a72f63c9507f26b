package schemas

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestBuiltin(t *testing.T) {
	r := Builtin()
	tests := []struct {
		gvr        schema.GroupVersionResource
		kind       string
		namespaced bool
		storedAs   string
	}{
		{schema.GroupVersionResource{Version: "v1", Resource: "pods"}, "Pod", true, "v1"},
		{schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}, "Namespace", false, "v1"},
		{schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, "Deployment", true, "apps/v1"},
		{schema.GroupVersionResource{Group: "autoscaling", Version: "v1", Resource: "horizontalpodautoscalers"}, "HorizontalPodAutoscaler", true, "autoscaling/v2"},
		{schema.GroupVersionResource{Group: "events.k8s.io", Version: "v1", Resource: "events"}, "Event", true, "v1"},
	}
	for _, tt := range tests {
		k, ok := r.Lookup(tt.gvr)
		if !ok {
			t.Errorf("Lookup(%v) found nothing", tt.gvr)
			continue
		}
		if k.Kind != tt.kind || k.Namespaced != tt.namespaced || k.Storage.StorageVersion.String() != tt.storedAs {
			t.Errorf("Lookup(%v) = %s namespaced=%v stored as %s; want %s %v %s", tt.gvr, k.Kind, k.Namespaced,
				k.Storage.StorageVersion, tt.kind, tt.namespaced, tt.storedAs)
		}
		obj := k.New()
		if gvk := obj.GetObjectKind().GroupVersionKind(); gvk != k.GroupVersionKind() {
			t.Errorf("%v New() has kind %v; want %v", tt.gvr, gvk, k.GroupVersionKind())
		}
		if _, ok := r.LookupKind(k.GroupVersionKind()); !ok {
			t.Errorf("LookupKind(%v) found nothing", k.GroupVersionKind())
		}
	}
	if _, ok := r.Lookup(schema.GroupVersionResource{Version: "v1", Resource: "widgets"}); ok {
		t.Error("Lookup(widgets) found a kind")
	}
}

func TestFields(t *testing.T) {
	r := Builtin()
	pods, _ := r.Lookup(schema.GroupVersionResource{Version: "v1", Resource: "pods"})
	p := &corev1.Pod{Spec: corev1.PodSpec{NodeName: "n1"}, Status: corev1.PodStatus{Phase: corev1.PodRunning}}
	f := pods.Storage.Fields(p)
	if f["spec.nodeName"] != "n1" || f["status.phase"] != "Running" {
		t.Errorf("pod fields = %v; want spec.nodeName=n1 and status.phase=Running", f)
	}
	for _, l := range pods.Storage.FieldLabels {
		if _, ok := f[l]; !ok {
			t.Errorf("pod field label %q is advertised but not provided", l)
		}
	}
	if !pods.Storage.SupportsField("metadata.namespace") || pods.Storage.SupportsField("spec.bogus") {
		t.Error("pod SupportsField wrong for metadata.namespace or spec.bogus")
	}
}

func TestOnePerResource(t *testing.T) {
	r := Builtin()
	got := map[schema.GroupResource]string{}
	for _, k := range OnePerResource(r.Kinds()) {
		if prev, dup := got[k.Storage.GroupResource]; dup {
			t.Errorf("%v chosen twice: %s and %s", k.Storage.GroupResource, prev, k.GroupVersion())
		}
		got[k.Storage.GroupResource] = k.GroupVersion().String()
	}
	tests := map[schema.GroupResource]string{
		{Resource: "events"}: "v1",
		{Group: "autoscaling", Resource: "horizontalpodautoscalers"}: "autoscaling/v2",
		{Group: "apps", Resource: "deployments"}:                     "apps/v1",
	}
	for gr, want := range tests {
		if got[gr] != want {
			t.Errorf("OnePerResource chose %q for %v; want %q", got[gr], gr, want)
		}
	}
	if len(got) != len(r.Resources()) {
		t.Errorf("OnePerResource chose %d resources; the registry stores %d", len(got), len(r.Resources()))
	}
}
