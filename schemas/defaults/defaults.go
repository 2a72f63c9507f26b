package defaults

import (
	"reflect"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
)

// Default fills in the fields upstream Kubernetes defaults, recursing into nested
// types (pod templates inside workloads, containers, volumes, probes, ports ...).
// obj is a typed object from k8s.io/api; unknown types are left alone. A typed list
// (PodList, DeploymentList, ...) has each of its items defaulted.
//
// Default is idempotent and only fills fields that are unset; see the package
// documentation for the few conversion effects it also applies.
//
// Kinds tend serves that upstream does not default, and that Default therefore leaves as
// they are: ServiceAccount, core/v1 and events.k8s.io/v1 Event, ControllerRevision, Lease,
// Role, ClusterRole, CSINode, CSIStorageCapacity, PodDisruptionBudget, Ingress and
// RuntimeClass.
func Default(obj runtime.Object) {
	switch o := obj.(type) {
	// core/v1
	case *corev1.Pod:
		defaultPod(o)
	case *corev1.PodTemplate:
		defaultPodTemplateSpec(&o.Template)
	case *corev1.ReplicationController:
		defaultReplicationController(o)
	case *corev1.Service:
		defaultService(o)
	case *corev1.Endpoints:
		defaultEndpoints(o)
	case *corev1.Namespace:
		defaultNamespace(o)
	case *corev1.Node:
		defaultNode(o)
	case *corev1.Secret:
		defaultSecret(o)
	case *corev1.ConfigMap:
		if o.Data == nil {
			o.Data = map[string]string{}
		}
	case *corev1.PersistentVolume:
		defaultPersistentVolume(o)
	case *corev1.PersistentVolumeClaim:
		defaultPersistentVolumeClaim(o)
	case *corev1.ResourceQuota:
		roundResourceList(o.Spec.Hard)
		roundResourceList(o.Status.Hard)
		roundResourceList(o.Status.Used)
	case *corev1.LimitRange:
		defaultLimitRange(o)

	// apps/v1
	case *appsv1.Deployment:
		defaultDeployment(o)
	case *appsv1.ReplicaSet:
		defaultReplicaSet(o)
	case *appsv1.StatefulSet:
		defaultStatefulSet(o)
	case *appsv1.DaemonSet:
		defaultDaemonSet(o)

	// batch/v1
	case *batchv1.Job:
		defaultJob(o)
	case *batchv1.CronJob:
		defaultCronJob(o)

	// autoscaling
	case *autoscalingv2.HorizontalPodAutoscaler:
		defaultHPAv2(o)
	case *autoscalingv1.HorizontalPodAutoscaler:
		defaultHPAv1(o)

	// discovery.k8s.io/v1
	case *discoveryv1.EndpointSlice:
		defaultEndpointSlice(o)

	// networking.k8s.io/v1
	case *networkingv1.NetworkPolicy:
		defaultNetworkPolicy(o)
	case *networkingv1.IngressClass:
		if p := o.Spec.Parameters; p != nil && p.Scope == nil {
			p.Scope = ptrTo(networkingv1.IngressClassParametersReferenceScopeCluster)
		}

	// rbac.authorization.k8s.io/v1
	case *rbacv1.RoleBinding:
		defaultRoleRef(&o.RoleRef)
		defaultSubjects(o.Subjects)
	case *rbacv1.ClusterRoleBinding:
		defaultRoleRef(&o.RoleRef)
		defaultSubjects(o.Subjects)

	// storage.k8s.io/v1
	case *storagev1.StorageClass:
		defaultStorageClass(o)
	case *storagev1.CSIDriver:
		defaultCSIDriver(o)
	case *storagev1.VolumeAttachment:
		if spec := o.Spec.Source.InlineVolumeSpec; spec != nil {
			defaultPersistentVolumeSpecSources(spec)
		}

	// scheduling.k8s.io/v1
	case *schedulingv1.PriorityClass:
		if o.PreemptionPolicy == nil {
			o.PreemptionPolicy = ptrTo(corev1.PreemptLowerPriority)
		}

	default:
		defaultListItems(obj)
	}
}

// defaultListItems defaults every item of a typed list. meta.ExtractList hands back
// pointers into the Items slice for struct items, so defaulting them defaults the list.
func defaultListItems(obj runtime.Object) {
	if obj == nil || !meta.IsListType(obj) {
		return
	}
	items, err := meta.ExtractList(obj)
	if err != nil {
		return
	}
	for _, item := range items {
		// A list of unknown objects would recurse forever only if an item were itself the
		// list; ExtractList never returns the list, so plain recursion is safe.
		Default(item)
	}
}

// ptrTo returns a pointer to a copy of v.
func ptrTo[T any](v T) *T { return &v }

// allPointersNil reports whether every pointer field of the struct *s points nowhere. It
// stands in for k8s.io/utils/ptr.AllPtrFieldsNil, which upstream uses to spot a volume with
// no source; reflecting keeps it right when k8s.io/api grows a volume source.
func allPointersNil(s any) bool {
	v := reflect.ValueOf(s).Elem()
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		if f.Kind() == reflect.Pointer && !f.IsNil() {
			return false
		}
	}
	return true
}
