package validation

import (
	"fmt"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/api/validate/content"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

const (
	maxHPAPeriodSeconds              = 1800
	maxHPAStabilizationWindowSeconds = 3600
)

// validateHPA checks an autoscaling/v2 HorizontalPodAutoscaler. minReplicas
// must be at least 1: scale to zero (the HPAScaleToZero gate) is off by
// default upstream, but an object that already has 0 may keep it.
func validateHPA(hpa, old *autoscalingv2.HorizontalPodAutoscaler) field.ErrorList {
	specPath := field.NewPath("spec")
	spec := &hpa.Spec
	var errs field.ErrorList
	lower := int32(1)
	if old != nil && old.Spec.MinReplicas != nil && *old.Spec.MinReplicas == 0 {
		lower = 0
	}
	if spec.MinReplicas != nil && *spec.MinReplicas < lower {
		errs = append(errs, field.Invalid(specPath.Child("minReplicas"), *spec.MinReplicas, fmt.Sprintf("must be greater than or equal to %d", lower)))
	}
	if spec.MaxReplicas < 1 {
		errs = append(errs, field.Invalid(specPath.Child("maxReplicas"), spec.MaxReplicas, "must be greater than 0"))
	}
	if spec.MinReplicas != nil && spec.MaxReplicas < *spec.MinReplicas {
		errs = append(errs, field.Invalid(specPath.Child("maxReplicas"), spec.MaxReplicas, "must be greater than or equal to `minReplicas`"))
	}
	ref := spec.ScaleTargetRef
	errs = append(errs, validateCrossVersionObjectReference(ref.Kind, ref.Name, specPath.Child("scaleTargetRef"))...)
	hasObjectOrExternal := false
	for i := range spec.Metrics {
		m := &spec.Metrics[i]
		errs = append(errs, validateMetricSpec(m, specPath.Child("metrics").Index(i))...)
		if m.Type == autoscalingv2.ObjectMetricSourceType || m.Type == autoscalingv2.ExternalMetricSourceType {
			hasObjectOrExternal = true
		}
	}
	if deref(spec.MinReplicas) == 0 && spec.MinReplicas != nil && !hasObjectOrExternal {
		errs = append(errs, field.Forbidden(specPath.Child("metrics"), "must specify at least one Object or External metric to support scaling to zero replicas"))
	}
	if b := spec.Behavior; b != nil {
		errs = append(errs, validateScalingRules(b.ScaleUp, specPath.Child("behavior", "scaleUp"))...)
		errs = append(errs, validateScalingRules(b.ScaleDown, specPath.Child("behavior", "scaleDown"))...)
	}
	return errs
}

func validateCrossVersionObjectReference(kind, name string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if kind == "" {
		errs = append(errs, field.Required(fldPath.Child("kind"), ""))
	} else {
		errs = append(errs, messages(fldPath.Child("kind"), kind, content.IsPathSegmentName(kind))...)
	}
	if name == "" {
		errs = append(errs, field.Required(fldPath.Child("name"), ""))
	} else {
		errs = append(errs, messages(fldPath.Child("name"), name, content.IsPathSegmentName(name))...)
	}
	return errs
}

func validateScalingRules(r *autoscalingv2.HPAScalingRules, fldPath *field.Path) field.ErrorList {
	if r == nil {
		return nil
	}
	var errs field.ErrorList
	if w := r.StabilizationWindowSeconds; w != nil {
		if *w < 0 {
			errs = append(errs, field.Invalid(fldPath.Child("stabilizationWindowSeconds"), *w, "must be greater than or equal to zero"))
		}
		if *w > maxHPAStabilizationWindowSeconds {
			errs = append(errs, field.Invalid(fldPath.Child("stabilizationWindowSeconds"), *w, fmt.Sprintf("must be less than or equal to %v", maxHPAStabilizationWindowSeconds)))
		}
	}
	if r.SelectPolicy != nil {
		errs = append(errs, oneOf(fldPath.Child("selectPolicy"), *r.SelectPolicy,
			autoscalingv2.DisabledPolicySelect, autoscalingv2.MaxChangePolicySelect, autoscalingv2.MinChangePolicySelect)...)
	}
	if r.Tolerance != nil && r.Tolerance.Sign() < 0 {
		errs = append(errs, field.Invalid(fldPath.Child("tolerance"), r.Tolerance.String(), "must be greater than or equal to zero"))
	}
	policiesPath := fldPath.Child("policies")
	if len(r.Policies) == 0 {
		errs = append(errs, field.Required(policiesPath, "must specify at least one Policy"))
	}
	for i, p := range r.Policies {
		pp := policiesPath.Index(i)
		errs = append(errs, oneOf(pp.Child("type"), p.Type, autoscalingv2.PercentScalingPolicy, autoscalingv2.PodsScalingPolicy)...)
		if p.Value <= 0 {
			errs = append(errs, field.Invalid(pp.Child("value"), p.Value, "must be greater than zero"))
		}
		if p.PeriodSeconds <= 0 {
			errs = append(errs, field.Invalid(pp.Child("periodSeconds"), p.PeriodSeconds, "must be greater than zero"))
		}
		if p.PeriodSeconds > maxHPAPeriodSeconds {
			errs = append(errs, field.Invalid(pp.Child("periodSeconds"), p.PeriodSeconds, fmt.Sprintf("must be less than or equal to %v", maxHPAPeriodSeconds)))
		}
	}
	return errs
}

var metricSourceTypes = []autoscalingv2.MetricSourceType{
	autoscalingv2.ContainerResourceMetricSourceType, autoscalingv2.ExternalMetricSourceType,
	autoscalingv2.ObjectMetricSourceType, autoscalingv2.PodsMetricSourceType, autoscalingv2.ResourceMetricSourceType,
}

func validateMetricSpec(m *autoscalingv2.MetricSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if m.Type == "" {
		errs = append(errs, field.Required(fldPath.Child("type"), "must specify a metric source type"))
	}
	errs = append(errs, oneOf(fldPath.Child("type"), m.Type, metricSourceTypes...)...)
	present := sets.New[string]()
	first := func(name string) bool {
		present.Insert(name)
		return present.Len() == 1
	}
	if m.Object != nil && first("object") {
		p := fldPath.Child("object")
		errs = append(errs, validateCrossVersionObjectReference(m.Object.DescribedObject.Kind, m.Object.DescribedObject.Name, p.Child("describedObject"))...)
		errs = append(errs, validateMetricIdentifier(m.Object.Metric, p.Child("metric"))...)
		errs = append(errs, validateMetricTarget(m.Object.Target, p.Child("target"))...)
		if m.Object.Target.Value == nil && m.Object.Target.AverageValue == nil {
			errs = append(errs, field.Required(p.Child("target", "averageValue"), "must set either a target value or averageValue"))
		}
	}
	if m.External != nil && first("external") {
		p := fldPath.Child("external")
		t := m.External.Target
		errs = append(errs, validateMetricIdentifier(m.External.Metric, p.Child("metric"))...)
		errs = append(errs, validateMetricTarget(t, p.Child("target"))...)
		if t.Value == nil && t.AverageValue == nil {
			errs = append(errs, field.Required(p.Child("target", "averageValue"), "must set either a target value for metric or a per-pod target"))
		}
		if t.Value != nil && t.AverageValue != nil {
			errs = append(errs, field.Forbidden(p.Child("target", "value"), "may not set both a target value for metric and a per-pod target"))
		}
	}
	if m.Pods != nil && first("pods") {
		p := fldPath.Child("pods")
		errs = append(errs, validateMetricIdentifier(m.Pods.Metric, p.Child("metric"))...)
		errs = append(errs, validateMetricTarget(m.Pods.Target, p.Child("target"))...)
		if m.Pods.Target.AverageValue == nil {
			errs = append(errs, field.Required(p.Child("target", "averageValue"), "must specify a positive target averageValue"))
		}
	}
	if m.Resource != nil && first("resource") {
		p := fldPath.Child("resource")
		if m.Resource.Name == "" {
			errs = append(errs, field.Required(p.Child("name"), "must specify a resource name"))
		}
		errs = append(errs, validateResourceMetricTarget(m.Resource.Target, p.Child("target"))...)
	}
	if m.ContainerResource != nil && first("containerResource") {
		p := fldPath.Child("containerResource")
		if m.ContainerResource.Name == "" {
			errs = append(errs, field.Required(p.Child("name"), "must specify a resource name"))
		} else {
			errs = append(errs, validateContainerResourceName(m.ContainerResource.Name, p.Child("name"))...)
		}
		if m.ContainerResource.Container == "" {
			errs = append(errs, field.Required(p.Child("container"), "must specify a container"))
		} else {
			errs = append(errs, dns1123Label(m.ContainerResource.Container, p.Child("container"))...)
		}
		errs = append(errs, validateResourceMetricTarget(m.ContainerResource.Target, p.Child("target"))...)
	}
	expected := map[autoscalingv2.MetricSourceType]struct {
		field string
		set   bool
	}{
		autoscalingv2.ObjectMetricSourceType:            {"object", m.Object != nil},
		autoscalingv2.PodsMetricSourceType:              {"pods", m.Pods != nil},
		autoscalingv2.ResourceMetricSourceType:          {"resource", m.Resource != nil},
		autoscalingv2.ExternalMetricSourceType:          {"external", m.External != nil},
		autoscalingv2.ContainerResourceMetricSourceType: {"containerResource", m.ContainerResource != nil},
	}
	want, known := expected[m.Type]
	if known && !want.set {
		errs = append(errs, field.Required(fldPath.Child(want.field), "must populate information for the given metric source"))
	}
	if present.Len() != 1 {
		present.Delete(want.field)
		for _, name := range sets.List(present) {
			errs = append(errs, field.Forbidden(fldPath.Child(name), "must populate the given metric source only"))
		}
	}
	return errs
}

func validateResourceMetricTarget(t autoscalingv2.MetricTarget, fldPath *field.Path) field.ErrorList {
	errs := validateMetricTarget(t, fldPath)
	if t.AverageUtilization == nil && t.AverageValue == nil {
		errs = append(errs, field.Required(fldPath.Child("averageUtilization"), "must set either a target raw value or a target utilization"))
	}
	if t.AverageUtilization != nil && t.AverageValue != nil {
		errs = append(errs, field.Forbidden(fldPath.Child("averageValue"), "may not set both a target raw value and a target utilization"))
	}
	return errs
}

func validateMetricTarget(t autoscalingv2.MetricTarget, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if t.Type == "" {
		errs = append(errs, field.Required(fldPath.Child("type"), "must specify a metric target type"))
	}
	switch t.Type {
	case autoscalingv2.UtilizationMetricType, autoscalingv2.ValueMetricType, autoscalingv2.AverageValueMetricType:
	default:
		errs = append(errs, field.Invalid(fldPath.Child("type"), t.Type, "must be either Utilization, Value, or AverageValue"))
	}
	if t.Value != nil && t.Value.Sign() != 1 {
		errs = append(errs, field.Invalid(fldPath.Child("value"), t.Value.String(), "must be positive"))
	}
	if t.AverageValue != nil && t.AverageValue.Sign() != 1 {
		errs = append(errs, field.Invalid(fldPath.Child("averageValue"), t.AverageValue.String(), "must be positive"))
	}
	if t.AverageUtilization != nil && *t.AverageUtilization < 1 {
		errs = append(errs, field.Invalid(fldPath.Child("averageUtilization"), *t.AverageUtilization, "must be greater than 0"))
	}
	return errs
}

func validateMetricIdentifier(id autoscalingv2.MetricIdentifier, fldPath *field.Path) field.ErrorList {
	if id.Name == "" {
		return field.ErrorList{field.Required(fldPath.Child("name"), "must specify a metric name")}
	}
	errs := messages(fldPath.Child("name"), id.Name, content.IsPathSegmentName(id.Name))
	if id.Selector != nil {
		errs = append(errs, labelSelector(id.Selector, fldPath.Child("selector"))...)
	}
	return errs
}

func validateHPAStatus(hpa, old *autoscalingv2.HorizontalPodAutoscaler) field.ErrorList {
	errs := nonNegative(int64(hpa.Status.CurrentReplicas), field.NewPath("status", "currentReplicas"))
	return append(errs, nonNegative(int64(hpa.Status.DesiredReplicas), field.NewPath("status", "desiredReplicas"))...)
}
