package schemas

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	nodev1 "k8s.io/api/node/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tendhq/tend/schemas/conversion"
)

// NewScheme returns a scheme with every group tend serves, and the meta types.
func NewScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, batchv1.AddToScheme,
		autoscalingv1.AddToScheme, autoscalingv2.AddToScheme, coordinationv1.AddToScheme,
		discoveryv1.AddToScheme, eventsv1.AddToScheme, networkingv1.AddToScheme,
		nodev1.AddToScheme, policyv1.AddToScheme, rbacv1.AddToScheme,
		schedulingv1.AddToScheme, storagev1.AddToScheme,
	} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	metav1.AddToGroupVersion(s, schema.GroupVersion{Version: "v1"})
	_ = metav1.AddMetaToScheme(s)
	return s
}

// res describes a stored resource and its served kinds compactly.
type res struct {
	group, version, resource, kind string
	cluster                        bool
	short, cats                    []string
	sub                            []string
	generation                     bool
	createOnUpdate                 bool
	returnDeleted                  bool
	fields                         fieldSet
	indexes                        []string
}

var all = []string{"all"}

// builtins is the table of stored resources; the served kind of each is its
// storage version. Extra served versions are added in Builtin.
var builtins = []res{
	// core/v1
	{group: "", version: "v1", resource: "namespaces", kind: "Namespace", cluster: true, short: []string{"ns"}, sub: []string{"status", "finalize"}, returnDeleted: true, fields: namespaceFields},
	{group: "", version: "v1", resource: "pods", kind: "Pod", short: []string{"po"}, cats: all, sub: []string{"status", "binding", "eviction", "log", "exec", "attach", "portforward"}, generation: true, returnDeleted: true, fields: podFields, indexes: []string{"spec.nodeName"}},
	{group: "", version: "v1", resource: "services", kind: "Service", short: []string{"svc"}, cats: all, sub: []string{"status"}, returnDeleted: true, fields: serviceFields},
	{group: "", version: "v1", resource: "endpoints", kind: "Endpoints", short: []string{"ep"}, createOnUpdate: true},
	{group: "", version: "v1", resource: "nodes", kind: "Node", cluster: true, short: []string{"no"}, sub: []string{"status"}, returnDeleted: true, fields: nodeFields, indexes: []string{"metadata.name"}},
	{group: "", version: "v1", resource: "configmaps", kind: "ConfigMap", short: []string{"cm"}},
	{group: "", version: "v1", resource: "secrets", kind: "Secret", fields: secretFields},
	{group: "", version: "v1", resource: "serviceaccounts", kind: "ServiceAccount", short: []string{"sa"}, sub: []string{"token"}},
	{group: "", version: "v1", resource: "events", kind: "Event", short: []string{"ev"}, createOnUpdate: true, fields: eventFields},
	{group: "", version: "v1", resource: "persistentvolumes", kind: "PersistentVolume", cluster: true, short: []string{"pv"}, sub: []string{"status"}, returnDeleted: true},
	{group: "", version: "v1", resource: "persistentvolumeclaims", kind: "PersistentVolumeClaim", short: []string{"pvc"}, sub: []string{"status"}, returnDeleted: true},
	{group: "", version: "v1", resource: "resourcequotas", kind: "ResourceQuota", short: []string{"quota"}, sub: []string{"status"}},
	{group: "", version: "v1", resource: "limitranges", kind: "LimitRange", short: []string{"limits"}},
	{group: "", version: "v1", resource: "replicationcontrollers", kind: "ReplicationController", short: []string{"rc"}, cats: all, sub: []string{"status", "scale"}, generation: true, fields: replicasFields},
	{group: "", version: "v1", resource: "podtemplates", kind: "PodTemplate"},
	// apps/v1
	{group: "apps", version: "v1", resource: "deployments", kind: "Deployment", short: []string{"deploy"}, cats: all, sub: []string{"status", "scale"}, generation: true},
	{group: "apps", version: "v1", resource: "replicasets", kind: "ReplicaSet", short: []string{"rs"}, cats: all, sub: []string{"status", "scale"}, generation: true, fields: replicasFields},
	{group: "apps", version: "v1", resource: "statefulsets", kind: "StatefulSet", short: []string{"sts"}, cats: all, sub: []string{"status", "scale"}, generation: true},
	{group: "apps", version: "v1", resource: "daemonsets", kind: "DaemonSet", short: []string{"ds"}, cats: all, sub: []string{"status"}, generation: true},
	{group: "apps", version: "v1", resource: "controllerrevisions", kind: "ControllerRevision"},
	// batch/v1
	{group: "batch", version: "v1", resource: "jobs", kind: "Job", cats: all, sub: []string{"status"}, generation: true, fields: jobFields},
	{group: "batch", version: "v1", resource: "cronjobs", kind: "CronJob", short: []string{"cj"}, cats: all, sub: []string{"status"}, generation: true},
	// autoscaling: stored as v2, also served as v1 (added in Builtin).
	{group: "autoscaling", version: "v2", resource: "horizontalpodautoscalers", kind: "HorizontalPodAutoscaler", short: []string{"hpa"}, cats: all, sub: []string{"status"}, generation: true},
	{group: "coordination.k8s.io", version: "v1", resource: "leases", kind: "Lease", createOnUpdate: true},
	{group: "discovery.k8s.io", version: "v1", resource: "endpointslices", kind: "EndpointSlice", createOnUpdate: true},
	{group: "rbac.authorization.k8s.io", version: "v1", resource: "roles", kind: "Role", createOnUpdate: true},
	{group: "rbac.authorization.k8s.io", version: "v1", resource: "rolebindings", kind: "RoleBinding", createOnUpdate: true},
	{group: "rbac.authorization.k8s.io", version: "v1", resource: "clusterroles", kind: "ClusterRole", cluster: true, createOnUpdate: true},
	{group: "rbac.authorization.k8s.io", version: "v1", resource: "clusterrolebindings", kind: "ClusterRoleBinding", cluster: true, createOnUpdate: true},
	{group: "storage.k8s.io", version: "v1", resource: "storageclasses", kind: "StorageClass", cluster: true, short: []string{"sc"}},
	{group: "storage.k8s.io", version: "v1", resource: "volumeattachments", kind: "VolumeAttachment", cluster: true, sub: []string{"status"}},
	{group: "storage.k8s.io", version: "v1", resource: "csidrivers", kind: "CSIDriver", cluster: true},
	{group: "storage.k8s.io", version: "v1", resource: "csinodes", kind: "CSINode", cluster: true},
	{group: "storage.k8s.io", version: "v1", resource: "csistoragecapacities", kind: "CSIStorageCapacity"},
	{group: "policy", version: "v1", resource: "poddisruptionbudgets", kind: "PodDisruptionBudget", short: []string{"pdb"}, sub: []string{"status"}, generation: true},
	{group: "scheduling.k8s.io", version: "v1", resource: "priorityclasses", kind: "PriorityClass", cluster: true, short: []string{"pc"}},
	{group: "networking.k8s.io", version: "v1", resource: "ingresses", kind: "Ingress", short: []string{"ing"}, sub: []string{"status"}, generation: true},
	{group: "networking.k8s.io", version: "v1", resource: "ingressclasses", kind: "IngressClass", cluster: true},
	{group: "networking.k8s.io", version: "v1", resource: "networkpolicies", kind: "NetworkPolicy", short: []string{"netpol"}, generation: true},
	{group: "node.k8s.io", version: "v1", resource: "runtimeclasses", kind: "RuntimeClass", cluster: true},
}

// Builtin returns the registry of the kinds tend serves.
func Builtin() *Registry {
	r := &Registry{
		scheme: NewScheme(),
		byGVR:  make(map[schema.GroupVersionResource]*Kind),
		byGVK:  make(map[schema.GroupVersionKind]*Kind),
	}
	stored := make(map[schema.GroupResource]*Resource)
	for _, b := range builtins {
		gv := schema.GroupVersion{Group: b.group, Version: b.version}
		st := &Resource{
			GroupResource:       schema.GroupResource{Group: b.group, Resource: b.resource},
			StorageVersion:      gv,
			StorageKind:         b.kind,
			Namespaced:          !b.cluster,
			New:                 r.newFunc(gv.WithKind(b.kind)),
			FieldLabels:         b.fields.labels,
			Fields:              b.fields.fn,
			Indexes:             b.indexes,
			Generation:          b.generation,
			HasStatus:           contains(b.sub, "status"),
			AllowCreateOnUpdate: b.createOnUpdate,
			ReturnDeletedObject: b.returnDeleted,
		}
		r.resources = append(r.resources, st)
		stored[st.GroupResource] = st
		r.add(&Kind{
			GroupVersionResource: gv.WithResource(b.resource),
			Kind:                 b.kind,
			ListKind:             b.kind + "List",
			SingularName:         singular(b.kind),
			ShortNames:           b.short,
			Categories:           b.cats,
			Subresources:         b.sub,
			New:                  st.New,
			NewList:              r.newFunc(gv.WithKind(b.kind + "List")),
			Storage:              st,
			Preferred:            true,
		})
	}
	// autoscaling/v1 HorizontalPodAutoscaler, stored as v2.
	hpa := stored[schema.GroupResource{Group: "autoscaling", Resource: "horizontalpodautoscalers"}]
	hpaV1 := schema.GroupVersion{Group: "autoscaling", Version: "v1"}
	r.add(&Kind{
		GroupVersionResource: hpaV1.WithResource("horizontalpodautoscalers"),
		Kind:                 "HorizontalPodAutoscaler",
		ListKind:             "HorizontalPodAutoscalerList",
		SingularName:         "horizontalpodautoscaler",
		ShortNames:           []string{"hpa"},
		Categories:           all,
		Subresources:         []string{"status"},
		New:                  r.newFunc(hpaV1.WithKind("HorizontalPodAutoscaler")),
		NewList:              r.newFunc(hpaV1.WithKind("HorizontalPodAutoscalerList")),
		Storage:              hpa,
		ToStorage: func(obj runtime.Object) (runtime.Object, error) {
			return conversion.HPAFromV1(obj.(*autoscalingv1.HorizontalPodAutoscaler)), nil
		},
		FromStorage: func(obj runtime.Object) (runtime.Object, error) {
			return conversion.HPAToV1(obj.(*autoscalingv2.HorizontalPodAutoscaler))
		},
	})
	// events.k8s.io/v1 Event, stored as core/v1 Event.
	events := stored[schema.GroupResource{Resource: "events"}]
	evV1 := schema.GroupVersion{Group: "events.k8s.io", Version: "v1"}
	r.add(&Kind{
		GroupVersionResource: evV1.WithResource("events"),
		Kind:                 "Event",
		ListKind:             "EventList",
		SingularName:         "event",
		ShortNames:           []string{"ev"},
		New:                  r.newFunc(evV1.WithKind("Event")),
		NewList:              r.newFunc(evV1.WithKind("EventList")),
		Storage:              events,
		ToStorage: func(obj runtime.Object) (runtime.Object, error) {
			return conversion.EventFromEventsV1(obj.(*eventsv1.Event)), nil
		},
		FromStorage: func(obj runtime.Object) (runtime.Object, error) {
			return conversion.EventToEventsV1(obj.(*corev1.Event)), nil
		},
		Preferred: true,
	})
	r.sort()
	return r
}

// newFunc returns a constructor for a registered type, with TypeMeta set.
func (r *Registry) newFunc(gvk schema.GroupVersionKind) func() runtime.Object {
	if _, err := r.scheme.New(gvk); err != nil {
		panic(fmt.Sprintf("schemas: %s is not in the scheme: %v", gvk, err))
	}
	return func() runtime.Object {
		obj, _ := r.scheme.New(gvk)
		obj.GetObjectKind().SetGroupVersionKind(gvk)
		return obj
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// singular is upstream's singular name: the lower-cased kind.
func singular(kind string) string {
	b := []byte(kind)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
