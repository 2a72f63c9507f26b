package validation

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestUnknownTypesAreAccepted(t *testing.T) {
	for _, obj := range []runtime.Object{
		nil,
		&metav1.Status{},
		&corev1.PodList{},
		(*corev1.Pod)(nil),
	} {
		if got := Validate(obj); got != nil {
			t.Errorf("Validate(%T) = %v; want nil", obj, got)
		}
		if got := ValidateUpdate(obj, obj); got != nil {
			t.Errorf("ValidateUpdate(%T) = %v; want nil", obj, got)
		}
		if got := ValidateStatusUpdate(obj, obj); got != nil {
			t.Errorf("ValidateStatusUpdate(%T) = %v; want nil", obj, got)
		}
	}
}

func TestUpdateNeedsOldOfSameType(t *testing.T) {
	pod := validPod()
	for _, old := range []runtime.Object{nil, &corev1.Service{}, (*corev1.Pod)(nil)} {
		checkErrors(t, "ValidateUpdate(pod, mismatched)", ValidateUpdate(pod, old), want{typ: field.ErrorTypeInternal, field: "kind"})
	}
}

func TestIsNamespaced(t *testing.T) {
	for _, tc := range []struct {
		obj              runtime.Object
		namespaced, know bool
	}{
		{&corev1.Pod{}, true, true},
		{&corev1.Namespace{}, false, true},
		{&corev1.Node{}, false, true},
		{&corev1.PersistentVolume{}, false, true},
		{&rbacv1.ClusterRole{}, false, true},
		{&rbacv1.Role{}, true, true},
		{&storagev1.StorageClass{}, false, true},
		{&storagev1.CSIStorageCapacity{}, true, true},
		{&appsv1.Deployment{}, true, true},
		{&metav1.Status{}, false, false},
	} {
		namespaced, known := IsNamespaced(tc.obj)
		if namespaced != tc.namespaced || known != tc.know {
			t.Errorf("IsNamespaced(%T) = %v, %v; want %v, %v", tc.obj, namespaced, known, tc.namespaced, tc.know)
		}
	}
}

func TestObjectMeta(t *testing.T) {
	for _, tc := range []struct {
		name  string
		obj   runtime.Object
		wants []want
	}{
		{"pod ok", validPod(), nil},
		{"namespaced kind without namespace", func() runtime.Object {
			p := validPod()
			p.Namespace = ""
			return p
		}(), []want{required("metadata.namespace")}},
		{"cluster kind with namespace", &corev1.Namespace{ObjectMeta: objectMeta("default", "team-a")},
			[]want{forbidden("metadata.namespace")}},
		{"bad namespace", func() runtime.Object {
			p := validPod()
			p.Namespace = "Bad_NS"
			return p
		}(), []want{invalid("metadata.namespace")}},
		{"missing name", func() runtime.Object {
			p := validPod()
			p.Name = ""
			return p
		}(), []want{required("metadata.name").with("name or generateName is required")}},
		{"pod name is a subdomain", func() runtime.Object {
			p := validPod()
			p.Name = "web.v1"
			return p
		}(), nil},
		{"pod name uppercase", func() runtime.Object {
			p := validPod()
			p.Name = "Web"
			return p
		}(), []want{invalid("metadata.name").with("RFC 1123 subdomain")}},
		{"namespace name is a label", &corev1.Namespace{ObjectMeta: objectMeta("", "team.a")},
			[]want{invalid("metadata.name").with("must not contain dots")}},
		{"service name is a DNS-1035 label", &corev1.Service{
			ObjectMeta: objectMeta("default", "1web"), Spec: validService().Spec,
		}, []want{invalid("metadata.name").with("DNS-1035 label")}},
		{"rbac names are path segments", &rbacv1.ClusterRole{ObjectMeta: objectMeta("", "system:Admin_role")}, nil},
		{"rbac name with slash", &rbacv1.ClusterRole{ObjectMeta: objectMeta("", "a/b")},
			[]want{invalid("metadata.name").with("may not contain '/'")}},
		{"bad label", func() runtime.Object {
			p := validPod()
			p.Labels = map[string]string{"app": "bad value"}
			return p
		}(), []want{invalid("metadata.labels")}},
		{"bad annotation key", func() runtime.Object {
			p := validPod()
			p.Annotations = map[string]string{"bad key": "v"}
			return p
		}(), []want{invalid("metadata.annotations")}},
		{"annotations too large", func() runtime.Object {
			p := validPod()
			p.Annotations = map[string]string{"big": strings.Repeat("x", 256*1024+1)}
			return p
		}(), []want{tooLong("metadata.annotations")}},
		{"unqualified finalizer", func() runtime.Object {
			p := validPod()
			p.Finalizers = []string{"mine"}
			return p
		}(), []want{invalid("metadata.finalizers[0]").with("neither a standard finalizer name nor is it fully qualified")}},
		{"standard finalizers", func() runtime.Object {
			p := validPod()
			p.Finalizers = []string{"example.com/cleanup", metav1.FinalizerOrphanDependents}
			return p
		}(), nil},
		{"owner reference without uid", func() runtime.Object {
			p := validPod()
			p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web"}}
			return p
		}(), []want{required("metadata.ownerReferences[0].uid")}},
		{"two controllers", func() runtime.Object {
			p := validPod()
			p.OwnerReferences = []metav1.OwnerReference{
				{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "a", UID: "1", Controller: ptr(true)},
				{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "b", UID: "2", Controller: ptr(true)},
			}
			return p
		}(), []want{invalid("metadata.ownerReferences").with("Only one reference can have Controller set to true")}},
	} {
		t.Run(tc.name, func(t *testing.T) { create(t, tc.obj, tc.wants...) })
	}
}

func TestObjectMetaUpdate(t *testing.T) {
	old := &corev1.ConfigMap{ObjectMeta: objectMeta("default", "cfg")}
	for _, tc := range []struct {
		name   string
		mutate func(*corev1.ConfigMap)
		wants  []want
	}{
		{"no change", func(*corev1.ConfigMap) {}, nil},
		{"labels may change", func(c *corev1.ConfigMap) { c.Labels = map[string]string{"a": "b"} }, nil},
		{"name", func(c *corev1.ConfigMap) { c.Name = "other" }, []want{invalid("metadata.name").with("field is immutable")}},
		{"namespace", func(c *corev1.ConfigMap) { c.Namespace = "other" }, []want{invalid("metadata.namespace")}},
		{"uid", func(c *corev1.ConfigMap) { c.UID = "other" }, []want{invalid("metadata.uid")}},
		{"creationTimestamp", func(c *corev1.ConfigMap) { c.CreationTimestamp = metav1.Now() }, []want{invalid("metadata.creationTimestamp")}},
		{"resourceVersion required", func(c *corev1.ConfigMap) { c.ResourceVersion = "" },
			[]want{invalid("metadata.resourceVersion").with("must be specified for an update")}},
		{"bad label reported once", func(c *corev1.ConfigMap) { c.Labels = map[string]string{"a": "b c"} }, []want{invalid("metadata.labels")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			obj := old.DeepCopy()
			tc.mutate(obj)
			update(t, obj, old, tc.wants...)
		})
	}
}

func TestNoNewFinalizersWhileDeleting(t *testing.T) {
	old := &corev1.ConfigMap{ObjectMeta: objectMeta("default", "cfg")}
	now := metav1.Now()
	old.DeletionTimestamp = &now
	obj := old.DeepCopy()
	obj.Finalizers = []string{"example.com/late"}
	update(t, obj, old, forbidden("metadata.finalizers"))
}

func TestDedupe(t *testing.T) {
	e := field.Invalid(field.NewPath("a"), "x", "bad")
	got := dedupe(field.ErrorList{e, field.Invalid(field.NewPath("a"), "x", "bad"), field.Required(field.NewPath("b"), "")})
	if len(got) != 2 {
		t.Errorf("dedupe(3 with one repeat) = %v; want 2 errors", got)
	}
}
