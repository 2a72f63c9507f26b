package defaults

import (
	"maps"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// PrepareForCreate applies what upstream's registry strategy does on create beyond
// defaulting: resetting status that clients may not set on create (most kinds with a status
// subresource), setting create-time fields (e.g. a Pod's status.phase=Pending and
// status.qosClass; a Namespace's status.phase=Active and spec.finalizers=["kubernetes"];
// a Job's generated selector and template labels (batch.kubernetes.io/controller-uid,
// batch.kubernetes.io/job-name, and the legacy controller-uid/job-name) from its UID unless
// manualSelector; a PV/PVC status phase Pending; ...). It must not touch ObjectMeta's
// uid, creationTimestamp, resourceVersion or generation: the caller sets those (it sets the
// UID before calling PrepareForCreate, so Job can use it).
//
// The caller must also have resolved generateName: a Namespace is labelled with its final
// name here. PrepareForCreate defaults obj before and after the strategy step, so it does
// not depend on Default having run, and what it leaves is what upstream would store and
// then serve. Timestamps it writes (a PV's lastPhaseTransitionTime, a gated Pod's
// PodScheduled condition) are taken from the wall clock; PrepareForCreateAt takes the time
// from the caller.
func PrepareForCreate(obj runtime.Object) {
	PrepareForCreateAt(obj, time.Now())
}

// PrepareForCreateAt is PrepareForCreate with the clock as an argument. now is truncated to
// whole seconds, the precision an object keeps once serialized, so the object returned from
// a create equals the one later read back.
func PrepareForCreateAt(obj runtime.Object, now time.Time) {
	Default(obj)
	ts := metav1.NewTime(now.UTC().Truncate(time.Second))

	switch o := obj.(type) {
	// core/v1
	case *corev1.Pod:
		preparePod(o, ts)
	case *corev1.Namespace:
		prepareNamespace(o)
	case *corev1.Service:
		o.Status = corev1.ServiceStatus{}
	case *corev1.Node:
		// Dynamic kubelet config is gone; nodes may otherwise set all of their status.
		o.Spec.ConfigSource = nil
		o.Status.Config = nil
	case *corev1.PersistentVolume:
		o.Status = corev1.PersistentVolumeStatus{Phase: corev1.VolumePending, LastPhaseTransitionTime: &ts}
	case *corev1.PersistentVolumeClaim:
		o.Status = corev1.PersistentVolumeClaimStatus{}
		prepareClaimDataSources(&o.Spec)
	case *corev1.ReplicationController:
		o.Status = corev1.ReplicationControllerStatus{}
	case *corev1.ResourceQuota:
		o.Status = corev1.ResourceQuotaStatus{}
	case *corev1.ServiceAccount:
		// Only the name of a referenced secret is kept.
		for i, s := range o.Secrets {
			o.Secrets[i] = corev1.ObjectReference{Name: s.Name}
		}

	// apps/v1
	case *appsv1.Deployment:
		o.Status = appsv1.DeploymentStatus{}
	case *appsv1.ReplicaSet:
		o.Status = appsv1.ReplicaSetStatus{}
	case *appsv1.StatefulSet:
		o.Status = appsv1.StatefulSetStatus{}
	case *appsv1.DaemonSet:
		o.Status = appsv1.DaemonSetStatus{}
		prepareDaemonSetTemplateGeneration(o)

	// batch/v1
	case *batchv1.Job:
		prepareJob(o)
	case *batchv1.CronJob:
		o.Status = batchv1.CronJobStatus{}

	// autoscaling
	case *autoscalingv2.HorizontalPodAutoscaler:
		o.Status = autoscalingv2.HorizontalPodAutoscalerStatus{}
	case *autoscalingv1.HorizontalPodAutoscaler:
		o.Status = autoscalingv1.HorizontalPodAutoscalerStatus{}

	// others
	case *policyv1.PodDisruptionBudget:
		o.Status = policyv1.PodDisruptionBudgetStatus{}
	case *networkingv1.Ingress:
		o.Status = networkingv1.IngressStatus{}
	case *storagev1.VolumeAttachment:
		o.Status = storagev1.VolumeAttachmentStatus{}
	case *discoveryv1.EndpointSlice:
		// Writes to deprecatedTopology through discovery.k8s.io/v1 are dropped.
		for i := range o.Endpoints {
			o.Endpoints[i].DeprecatedTopology = nil
		}
	case *coordinationv1.Lease:
		// CoordinatedLeaderElection is off by default, so its fields are dropped.
		o.Spec.Strategy = nil
		o.Spec.PreferredHolder = nil
	}

	// Upstream answers a create with the object decoded back from storage, which defaults
	// it again: that is what restores, say, a PVC's status.phase after the reset above.
	Default(obj)
}

// preparePod sets the create-time status and applies the pod strategy's mutations.
func preparePod(pod *corev1.Pod, now metav1.Time) {
	// Upstream evaluates the QoS class before it replaces the status, so a class the client
	// supplied survives; only the phase is forced.
	qos := pod.Status.QOSClass
	if qos == "" {
		qos = podQOSClass(pod)
	}
	pod.Status = corev1.PodStatus{Phase: corev1.PodPending, QOSClass: qos}

	if len(pod.Spec.SchedulingGates) > 0 {
		pod.Status.Conditions = append(pod.Status.Conditions, corev1.PodCondition{
			Type:               corev1.PodScheduled,
			Status:             corev1.ConditionFalse,
			Reason:             corev1.PodReasonSchedulingGated,
			Message:            "Scheduling is blocked due to non-empty scheduling gates",
			LastTransitionTime: now,
		})
	}
	mergeAffinityLabelKeys(pod)
	mergeTopologySpreadLabelKeys(pod)
	appArmorFieldsFromAnnotations(pod)
}

// prepareNamespace makes the namespace Active, adds the "kubernetes" finalizer that the
// namespace controller removes once the namespace is emptied, and labels it with its name
// (upstream's Canonicalize, for names only known after generateName).
func prepareNamespace(ns *corev1.Namespace) {
	ns.Status = corev1.NamespaceStatus{Phase: corev1.NamespaceActive}
	hasKubernetes := false
	for _, f := range ns.Spec.Finalizers {
		if f == corev1.FinalizerKubernetes {
			hasKubernetes = true
			break
		}
	}
	if !hasKubernetes {
		ns.Spec.Finalizers = append(ns.Spec.Finalizers, corev1.FinalizerKubernetes)
	}
	if ns.Name != "" {
		if ns.Labels == nil {
			ns.Labels = map[string]string{}
		}
		ns.Labels[corev1.LabelMetadataName] = ns.Name
	}
}

// Legacy, unprefixed job labels the job controller still sets and selects on.
const (
	legacyJobNameLabel       = "job-name"
	legacyControllerUIDLabel = "controller-uid"
)

// prepareJob generates the selector and pod labels that tie a Job to its pods, unless the
// client asked to manage the selector, and clears the status.
//
// Upstream's defaulting copies the template's labels into a Job that has none by sharing
// the map, so the labels generated here show up on the Job too; a Job created without
// template labels gets them when the stored object is defaulted again. Either way a Job
// created without labels of its own ends up carrying its template's final labels, and so it
// does here. (A Job whose client gave it labels equal to the template's gets the generated
// ones too; upstream would not, as the maps are distinct there.)
func prepareJob(job *batchv1.Job) {
	spec := &job.Spec
	if spec.ManualSelector == nil || !*spec.ManualSelector {
		inherit := len(job.Labels) == 0 || maps.Equal(job.Labels, spec.Template.Labels)

		if spec.Template.Labels == nil {
			spec.Template.Labels = map[string]string{}
		}
		for _, key := range []string{legacyJobNameLabel, batchv1.JobNameLabel} {
			if _, ok := spec.Template.Labels[key]; !ok {
				spec.Template.Labels[key] = job.Name
			}
		}
		for _, key := range []string{legacyControllerUIDLabel, batchv1.ControllerUidLabel} {
			if _, ok := spec.Template.Labels[key]; !ok {
				spec.Template.Labels[key] = string(job.UID)
			}
		}
		if spec.Selector == nil {
			spec.Selector = &metav1.LabelSelector{}
		}
		if spec.Selector.MatchLabels == nil {
			spec.Selector.MatchLabels = map[string]string{}
		}
		if _, ok := spec.Selector.MatchLabels[batchv1.ControllerUidLabel]; !ok {
			spec.Selector.MatchLabels[batchv1.ControllerUidLabel] = string(job.UID)
		}

		if inherit {
			job.Labels = maps.Clone(spec.Template.Labels)
		}
	}
	job.Status = batchv1.JobStatus{}
}

// prepareDaemonSetTemplateGeneration stores the DaemonSet's template generation, at least 1,
// in the annotation apps/v1 carries it in. A value that is not an integer is left for
// validation: upstream refuses such a request when it decodes it.
func prepareDaemonSetTemplateGeneration(ds *appsv1.DaemonSet) {
	gen := int64(0)
	if v, ok := ds.Annotations[appsv1.DeprecatedTemplateGeneration]; ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return
		}
		gen = n
	}
	if gen < 1 {
		gen = 1
	}
	if ds.Annotations == nil {
		ds.Annotations = map[string]string{}
	}
	ds.Annotations[appsv1.DeprecatedTemplateGeneration] = strconv.FormatInt(gen, 10)
}

// prepareClaimDataSources drops a legacy dataSource that is neither a PVC nor a
// VolumeSnapshot when dataSourceRef is unset, then mirrors whichever of dataSource and
// dataSourceRef is set into the other (a cross-namespace dataSourceRef has no mirror).
func prepareClaimDataSources(spec *corev1.PersistentVolumeClaimSpec) {
	if spec.DataSourceRef == nil && spec.DataSource != nil && !pvcOrSnapshot(spec.DataSource) {
		spec.DataSource = nil
	}
	switch {
	case spec.DataSource != nil && spec.DataSourceRef == nil:
		spec.DataSourceRef = &corev1.TypedObjectReference{
			APIGroup: copyStringPtr(spec.DataSource.APIGroup),
			Kind:     spec.DataSource.Kind,
			Name:     spec.DataSource.Name,
		}
	case spec.DataSourceRef != nil && spec.DataSource == nil:
		if ns := spec.DataSourceRef.Namespace; ns == nil || *ns == "" {
			spec.DataSource = &corev1.TypedLocalObjectReference{
				APIGroup: copyStringPtr(spec.DataSourceRef.APIGroup),
				Kind:     spec.DataSourceRef.Kind,
				Name:     spec.DataSourceRef.Name,
			}
		}
	}
}

func pvcOrSnapshot(ref *corev1.TypedLocalObjectReference) bool {
	group := ""
	if ref.APIGroup != nil {
		group = *ref.APIGroup
	}
	return (ref.Kind == "PersistentVolumeClaim" && group == "") ||
		(ref.Kind == "VolumeSnapshot" && group == "snapshot.storage.k8s.io")
}

func copyStringPtr(p *string) *string {
	if p == nil {
		return nil
	}
	return ptrTo(*p)
}
