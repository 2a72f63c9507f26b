package validation

import (
	"fmt"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// validateWorkloadSelector: the selector is required, valid, non-empty and
// matches the template's labels. kind names the workload in the empty
// selector message, as upstream does.
func validateWorkloadSelector(sel *metav1.LabelSelector, template *corev1.PodTemplateSpec, kind string, specPath *field.Path) field.ErrorList {
	selPath := specPath.Child("selector")
	if sel == nil {
		return field.ErrorList{field.Required(selPath, "")}
	}
	errs := labelSelector(sel, selPath)
	if len(sel.MatchLabels)+len(sel.MatchExpressions) == 0 {
		errs = append(errs, field.Invalid(selPath, sel, fmt.Sprintf("empty selector is invalid for %s", kind)))
	}
	selector, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return append(errs, field.Invalid(selPath, sel, "invalid label selector"))
	}
	if !selector.Empty() && !selector.Matches(labels.Set(template.Labels)) {
		errs = append(errs, field.Invalid(specPath.Child("template", "metadata", "labels"), template.Labels, "`selector` does not match template `labels`"))
	}
	return errs
}

// validateReplicatedTemplate is the template check shared by Deployments,
// ReplicaSets, StatefulSets and DaemonSets.
func validateReplicatedTemplate(t *corev1.PodTemplateSpec, specPath *field.Path, kind string, opts podSpecOpts) field.ErrorList {
	tp := specPath.Child("template")
	errs := validatePodTemplateSpec(t, tp, opts)
	return append(errs, validateAlwaysRestart(&t.Spec, tp.Child("spec"), kind)...)
}

// Deployment.

func validateDeployment(d, old *appsv1.Deployment) field.ErrorList {
	specPath := field.NewPath("spec")
	spec := &d.Spec
	errs := nonNegative(int64(deref(spec.Replicas)), specPath.Child("replicas"))
	errs = append(errs, validateWorkloadSelector(spec.Selector, &spec.Template, "deployment", specPath)...)
	errs = append(errs, validateReplicatedTemplate(&spec.Template, specPath, "Deployment", podSpecOpts{})...)
	errs = append(errs, validateDeploymentStrategy(&spec.Strategy, specPath.Child("strategy"))...)
	errs = append(errs, nonNegative(int64(spec.MinReadySeconds), specPath.Child("minReadySeconds"))...)
	if spec.RevisionHistoryLimit != nil {
		errs = append(errs, nonNegative(int64(*spec.RevisionHistoryLimit), specPath.Child("revisionHistoryLimit"))...)
	}
	if pds := spec.ProgressDeadlineSeconds; pds != nil {
		errs = append(errs, nonNegative(int64(*pds), specPath.Child("progressDeadlineSeconds"))...)
		if *pds <= spec.MinReadySeconds {
			errs = append(errs, field.Invalid(specPath.Child("progressDeadlineSeconds"), *pds, "must be greater than minReadySeconds"))
		}
	}
	if old != nil {
		errs = append(errs, immutable(spec.Selector, old.Spec.Selector, specPath.Child("selector"))...)
	}
	return errs
}

func validateDeploymentStrategy(s *appsv1.DeploymentStrategy, fldPath *field.Path) field.ErrorList {
	switch s.Type {
	case appsv1.RecreateDeploymentStrategyType:
		if s.RollingUpdate != nil {
			return field.ErrorList{field.Forbidden(fldPath.Child("rollingUpdate"), "may not be specified when strategy `type` is 'Recreate'")}
		}
	case appsv1.RollingUpdateDeploymentStrategyType:
		if s.RollingUpdate == nil {
			return field.ErrorList{field.Required(fldPath.Child("rollingUpdate"), "this should be defaulted and never be nil")}
		}
		ru := s.RollingUpdate
		p := fldPath.Child("rollingUpdate")
		maxUnavailable, maxSurge := deref(ru.MaxUnavailable), deref(ru.MaxSurge)
		errs := validatePositiveIntOrPercent(maxUnavailable, p.Child("maxUnavailable"))
		errs = append(errs, validatePositiveIntOrPercent(maxSurge, p.Child("maxSurge"))...)
		if intOrPercentValue(maxUnavailable) == 0 && intOrPercentValue(maxSurge) == 0 {
			errs = append(errs, field.Invalid(p.Child("maxUnavailable"), maxUnavailable, "may not be 0 when `maxSurge` is 0"))
		}
		return append(errs, notMoreThan100Percent(maxUnavailable, p.Child("maxUnavailable"))...)
	default:
		return field.ErrorList{field.NotSupported(fldPath.Child("type"), s.Type,
			[]appsv1.DeploymentStrategyType{appsv1.RecreateDeploymentStrategyType, appsv1.RollingUpdateDeploymentStrategyType})}
	}
	return nil
}

func validateDeploymentStatus(d, old *appsv1.Deployment) field.ErrorList {
	p := field.NewPath("status")
	s := d.Status
	errs := validateReplicaCounts(p, s.Replicas, s.ObservedGeneration, map[string]int32{
		"updatedReplicas": s.UpdatedReplicas, "readyReplicas": s.ReadyReplicas, "availableReplicas": s.AvailableReplicas,
	}, s.ReadyReplicas, s.AvailableReplicas)
	errs = append(errs, nonNegative(int64(s.UnavailableReplicas), p.Child("unavailableReplicas"))...)
	return append(errs, validateCollisionCount(s.CollisionCount, old.Status.CollisionCount, p.Child("collisionCount"))...)
}

func validateCollisionCount(count, old *int32, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if count != nil {
		errs = append(errs, nonNegative(int64(*count), fldPath)...)
	}
	if old != nil && (count == nil || *count < *old) {
		errs = append(errs, field.Invalid(fldPath, deref(count), "cannot be decremented"))
	}
	return errs
}

// Int-or-percent helpers for rolling update parameters.

func validatePositiveIntOrPercent(v intstr.IntOrString, fldPath *field.Path) field.ErrorList {
	switch v.Type {
	case intstr.String:
		return messages(fldPath, v.StrVal, validation.IsValidPercent(v.StrVal))
	case intstr.Int:
		return nonNegative(int64(v.IntValue()), fldPath)
	}
	return field.ErrorList{field.Invalid(fldPath, v, "must be an integer or percentage (e.g '5%')")}
}

func percentValue(v intstr.IntOrString) (int, bool) {
	if v.Type != intstr.String || len(validation.IsValidPercent(v.StrVal)) != 0 {
		return 0, false
	}
	n, _ := strconv.Atoi(v.StrVal[:len(v.StrVal)-1])
	return n, true
}

func intOrPercentValue(v intstr.IntOrString) int {
	if n, ok := percentValue(v); ok {
		return n
	}
	return v.IntValue()
}

func notMoreThan100Percent(v intstr.IntOrString, fldPath *field.Path) field.ErrorList {
	if n, ok := percentValue(v); ok && n > 100 {
		return field.ErrorList{field.Invalid(fldPath, v.StrVal, "must not be greater than 100%")}
	}
	return nil
}

// ReplicaSet.

func validateReplicaSet(rs, old *appsv1.ReplicaSet) field.ErrorList {
	specPath := field.NewPath("spec")
	spec := &rs.Spec
	errs := nonNegative(int64(deref(spec.Replicas)), specPath.Child("replicas"))
	errs = append(errs, nonNegative(int64(spec.MinReadySeconds), specPath.Child("minReadySeconds"))...)
	errs = append(errs, validateWorkloadSelector(spec.Selector, &spec.Template, "deployment", specPath)...)
	errs = append(errs, validateReplicatedTemplate(&spec.Template, specPath, "ReplicaSet", podSpecOpts{})...)
	if old != nil {
		errs = append(errs, immutable(spec.Selector, old.Spec.Selector, specPath.Child("selector"))...)
	}
	return errs
}

func validateReplicaSetStatus(rs, old *appsv1.ReplicaSet) field.ErrorList {
	s := rs.Status
	return validateReplicaCounts(field.NewPath("status"), s.Replicas, s.ObservedGeneration, map[string]int32{
		"fullyLabeledReplicas": s.FullyLabeledReplicas, "readyReplicas": s.ReadyReplicas, "availableReplicas": s.AvailableReplicas,
	}, s.ReadyReplicas, s.AvailableReplicas)
}

// StatefulSet.

func validateStatefulSet(ss, old *appsv1.StatefulSet) field.ErrorList {
	specPath := field.NewPath("spec")
	spec := &ss.Spec
	var errs field.ErrorList
	switch spec.PodManagementPolicy {
	case "":
		errs = append(errs, field.Required(specPath.Child("podManagementPolicy"), ""))
	case appsv1.OrderedReadyPodManagement, appsv1.ParallelPodManagement:
	default:
		errs = append(errs, field.Invalid(specPath.Child("podManagementPolicy"), spec.PodManagementPolicy,
			fmt.Sprintf("must be '%s' or '%s'", appsv1.OrderedReadyPodManagement, appsv1.ParallelPodManagement)))
	}
	switch spec.UpdateStrategy.Type {
	case "":
		errs = append(errs, field.Required(specPath.Child("updateStrategy"), ""))
	case appsv1.OnDeleteStatefulSetStrategyType:
		if spec.UpdateStrategy.RollingUpdate != nil {
			errs = append(errs, field.Invalid(specPath.Child("updateStrategy", "rollingUpdate"), spec.UpdateStrategy.RollingUpdate,
				fmt.Sprintf("only allowed for updateStrategy '%s'", appsv1.RollingUpdateStatefulSetStrategyType)))
		}
	case appsv1.RollingUpdateStatefulSetStrategyType:
		if ru := spec.UpdateStrategy.RollingUpdate; ru != nil {
			p := specPath.Child("updateStrategy", "rollingUpdate")
			errs = append(errs, nonNegative(int64(deref(ru.Partition)), p.Child("partition"))...)
			if mu := ru.MaxUnavailable; mu != nil {
				errs = append(errs, validatePositiveIntOrPercent(*mu, p.Child("maxUnavailable"))...)
				if intOrPercentValue(*mu) == 0 {
					errs = append(errs, field.Invalid(p.Child("maxUnavailable"), *mu, "cannot be 0"))
				}
				errs = append(errs, notMoreThan100Percent(*mu, p.Child("maxUnavailable"))...)
			}
		}
	default:
		errs = append(errs, field.Invalid(specPath.Child("updateStrategy"), spec.UpdateStrategy,
			fmt.Sprintf("must be '%s' or '%s'", appsv1.RollingUpdateStatefulSetStrategyType, appsv1.OnDeleteStatefulSetStrategyType)))
	}
	if policy := spec.PersistentVolumeClaimRetentionPolicy; policy != nil {
		p := specPath.Child("persistentVolumeClaimRetentionPolicy")
		retain, del := appsv1.RetainPersistentVolumeClaimRetentionPolicyType, appsv1.DeletePersistentVolumeClaimRetentionPolicyType
		errs = append(errs, oneOf(p.Child("whenDeleted"), policy.WhenDeleted, del, retain)...)
		errs = append(errs, oneOf(p.Child("whenScaled"), policy.WhenScaled, del, retain)...)
	}
	errs = append(errs, nonNegative(int64(deref(spec.Replicas)), specPath.Child("replicas"))...)
	errs = append(errs, nonNegative(int64(spec.MinReadySeconds), specPath.Child("minReadySeconds"))...)
	if spec.Ordinals != nil {
		errs = append(errs, nonNegative(int64(spec.Ordinals.Start), specPath.Child("ordinals", "start"))...)
	}
	if spec.RevisionHistoryLimit != nil {
		errs = append(errs, nonNegative(int64(*spec.RevisionHistoryLimit), specPath.Child("revisionHistoryLimit"))...)
	}
	errs = append(errs, validateWorkloadSelector(spec.Selector, &spec.Template, "statefulset", specPath)...)

	// The controller mounts one PVC per volumeClaimTemplate into every pod,
	// so mounts may refer to the templates by name.
	var claimVolumes []corev1.Volume
	for i := range spec.VolumeClaimTemplates {
		t := &spec.VolumeClaimTemplates[i]
		p := specPath.Child("volumeClaimTemplates").Index(i)
		if t.Name == "" {
			errs = append(errs, field.Required(p.Child("metadata", "name"), ""))
		} else {
			errs = append(errs, dns1123Label(t.Name, p.Child("metadata", "name"))...)
		}
		errs = append(errs, validatePersistentVolumeClaimSpec(&t.Spec, p.Child("spec"))...)
		claimVolumes = append(claimVolumes, corev1.Volume{Name: t.Name, VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: t.Name},
		}})
	}
	errs = append(errs, validateReplicatedTemplate(&spec.Template, specPath, "StatefulSet", podSpecOpts{extraVolumes: claimVolumes})...)
	if old == nil {
		return errs
	}
	// Only these fields may change; the rest are fixed at creation.
	clone := ss.Spec.DeepCopy()
	clone.Replicas = old.Spec.Replicas
	clone.Template = old.Spec.Template
	clone.UpdateStrategy = old.Spec.UpdateStrategy
	clone.MinReadySeconds = old.Spec.MinReadySeconds
	clone.Ordinals = old.Spec.Ordinals
	clone.PersistentVolumeClaimRetentionPolicy = old.Spec.PersistentVolumeClaimRetentionPolicy
	clone.RevisionHistoryLimit = old.Spec.RevisionHistoryLimit
	if !apiequality.Semantic.DeepEqual(*clone, old.Spec) {
		errs = append(errs, field.Forbidden(specPath, "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"))
	}
	return errs
}

func validateStatefulSetStatus(ss, old *appsv1.StatefulSet) field.ErrorList {
	p := field.NewPath("status")
	s := ss.Status
	errs := validateReplicaCounts(p, s.Replicas, s.ObservedGeneration, map[string]int32{
		"readyReplicas": s.ReadyReplicas, "currentReplicas": s.CurrentReplicas,
		"updatedReplicas": s.UpdatedReplicas, "availableReplicas": s.AvailableReplicas,
	}, s.ReadyReplicas, s.AvailableReplicas)
	return append(errs, validateCollisionCount(s.CollisionCount, old.Status.CollisionCount, p.Child("collisionCount"))...)
}

// DaemonSet.

func validateDaemonSet(ds, old *appsv1.DaemonSet) field.ErrorList {
	specPath := field.NewPath("spec")
	spec := &ds.Spec
	errs := validateWorkloadSelector(spec.Selector, &spec.Template, "daemonset", specPath)
	errs = append(errs, validateReplicatedTemplate(&spec.Template, specPath, "DaemonSet", podSpecOpts{})...)
	errs = append(errs, nonNegative(int64(spec.MinReadySeconds), specPath.Child("minReadySeconds"))...)
	if spec.RevisionHistoryLimit != nil {
		errs = append(errs, nonNegative(int64(*spec.RevisionHistoryLimit), specPath.Child("revisionHistoryLimit"))...)
	}
	p := specPath.Child("updateStrategy")
	switch spec.UpdateStrategy.Type {
	case appsv1.OnDeleteDaemonSetStrategyType:
	case appsv1.RollingUpdateDaemonSetStrategyType:
		ru := spec.UpdateStrategy.RollingUpdate
		if ru == nil {
			errs = append(errs, field.Required(p.Child("rollingUpdate"), ""))
			break
		}
		rp := p.Child("rollingUpdate")
		maxUnavailable, maxSurge := deref(ru.MaxUnavailable), deref(ru.MaxSurge)
		errs = append(errs, validatePositiveIntOrPercent(maxUnavailable, rp.Child("maxUnavailable"))...)
		errs = append(errs, validatePositiveIntOrPercent(maxSurge, rp.Child("maxSurge"))...)
		errs = append(errs, notMoreThan100Percent(maxUnavailable, rp.Child("maxUnavailable"))...)
		errs = append(errs, notMoreThan100Percent(maxSurge, rp.Child("maxSurge"))...)
		hasUnavailable, hasSurge := intOrPercentValue(maxUnavailable) != 0, intOrPercentValue(maxSurge) != 0
		switch {
		case hasUnavailable && hasSurge:
			errs = append(errs, field.Invalid(rp.Child("maxSurge"), maxSurge, "may not be set when maxUnavailable is non-zero"))
		case !hasUnavailable && !hasSurge:
			errs = append(errs, field.Required(rp.Child("maxUnavailable"), "cannot be 0 when maxSurge is 0"))
		}
	default:
		errs = append(errs, field.NotSupported(p.Child("type"), spec.UpdateStrategy.Type,
			[]appsv1.DaemonSetUpdateStrategyType{appsv1.OnDeleteDaemonSetStrategyType, appsv1.RollingUpdateDaemonSetStrategyType}))
	}
	if old != nil {
		errs = append(errs, immutable(spec.Selector, old.Spec.Selector, specPath.Child("selector"))...)
	}
	return errs
}

func validateDaemonSetStatus(ds, old *appsv1.DaemonSet) field.ErrorList {
	p := field.NewPath("status")
	s := ds.Status
	var errs field.ErrorList
	for _, c := range []struct {
		name  string
		value int64
	}{
		{"currentNumberScheduled", int64(s.CurrentNumberScheduled)},
		{"numberMisscheduled", int64(s.NumberMisscheduled)},
		{"desiredNumberScheduled", int64(s.DesiredNumberScheduled)},
		{"numberReady", int64(s.NumberReady)},
		{"observedGeneration", s.ObservedGeneration},
		{"updatedNumberScheduled", int64(s.UpdatedNumberScheduled)},
		{"numberAvailable", int64(s.NumberAvailable)},
		{"numberUnavailable", int64(s.NumberUnavailable)},
	} {
		errs = append(errs, nonNegative(c.value, p.Child(c.name))...)
	}
	return append(errs, validateCollisionCount(s.CollisionCount, old.Status.CollisionCount, p.Child("collisionCount"))...)
}

// ControllerRevision.

func validateControllerRevision(cr, old *appsv1.ControllerRevision) field.ErrorList {
	var errs field.ErrorList
	if cr.Data.Raw == nil && cr.Data.Object == nil {
		errs = append(errs, field.Required(field.NewPath("data"), "data is mandatory"))
	}
	errs = append(errs, nonNegative(cr.Revision, field.NewPath("revision"))...)
	if old != nil {
		errs = append(errs, immutable(cr.Data, old.Data, field.NewPath("data"))...)
	}
	return errs
}
