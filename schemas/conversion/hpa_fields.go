package conversion

import (
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/api/resource"
)

// The conversions in this file do what upstream's per-field functions in
// pkg/apis/autoscaling/v1/conversion.go do. Their results may share pointers
// with their arguments. HPAToV1 and HPAFromV1 pass only values they own (a
// deep copy of the input, or data just decoded from JSON) and use each
// result once.

func metricSpecToV1(in autoscalingv2.MetricSpec) autoscalingv1.MetricSpec {
	out := autoscalingv1.MetricSpec{Type: autoscalingv1.MetricSourceType(in.Type)}
	if s := in.Object; s != nil {
		out.Object = &autoscalingv1.ObjectMetricSource{
			Target:       autoscalingv1.CrossVersionObjectReference(s.DescribedObject),
			MetricName:   s.Metric.Name,
			TargetValue:  valueOrZero(s.Target.Value),
			Selector:     s.Metric.Selector,
			AverageValue: s.Target.AverageValue,
		}
	}
	if s := in.Pods; s != nil {
		out.Pods = &autoscalingv1.PodsMetricSource{
			MetricName:         s.Metric.Name,
			TargetAverageValue: valueOrZero(s.Target.AverageValue),
			Selector:           s.Metric.Selector,
		}
	}
	if s := in.Resource; s != nil {
		out.Resource = &autoscalingv1.ResourceMetricSource{
			Name:                     s.Name,
			TargetAverageUtilization: s.Target.AverageUtilization,
			TargetAverageValue:       s.Target.AverageValue,
		}
	}
	if s := in.ContainerResource; s != nil {
		out.ContainerResource = &autoscalingv1.ContainerResourceMetricSource{
			Name:                     s.Name,
			TargetAverageUtilization: s.Target.AverageUtilization,
			TargetAverageValue:       s.Target.AverageValue,
			Container:                s.Container,
		}
	}
	if s := in.External; s != nil {
		out.External = &autoscalingv1.ExternalMetricSource{
			MetricName:         s.Metric.Name,
			MetricSelector:     s.Metric.Selector,
			TargetValue:        s.Target.Value,
			TargetAverageValue: s.Target.AverageValue,
		}
	}
	return out
}

func metricSpecFromV1(in autoscalingv1.MetricSpec) autoscalingv2.MetricSpec {
	out := autoscalingv2.MetricSpec{Type: autoscalingv2.MetricSourceType(in.Type)}
	if s := in.Object; s != nil {
		targetType := autoscalingv2.ValueMetricType
		if s.AverageValue != nil {
			targetType = autoscalingv2.AverageValueMetricType
		}
		out.Object = &autoscalingv2.ObjectMetricSource{
			DescribedObject: autoscalingv2.CrossVersionObjectReference(s.Target),
			Target: autoscalingv2.MetricTarget{
				Type:         targetType,
				Value:        new(s.TargetValue),
				AverageValue: s.AverageValue,
			},
			Metric: autoscalingv2.MetricIdentifier{Name: s.MetricName, Selector: s.Selector},
		}
	}
	if s := in.Pods; s != nil {
		out.Pods = &autoscalingv2.PodsMetricSource{
			Metric: autoscalingv2.MetricIdentifier{Name: s.MetricName, Selector: s.Selector},
			Target: autoscalingv2.MetricTarget{
				Type:         autoscalingv2.AverageValueMetricType,
				AverageValue: new(s.TargetAverageValue),
			},
		}
	}
	if s := in.Resource; s != nil {
		out.Resource = &autoscalingv2.ResourceMetricSource{
			Name:   s.Name,
			Target: resourceTarget(s.TargetAverageUtilization, s.TargetAverageValue),
		}
	}
	if s := in.ContainerResource; s != nil {
		out.ContainerResource = &autoscalingv2.ContainerResourceMetricSource{
			Name:      s.Name,
			Target:    resourceTarget(s.TargetAverageUtilization, s.TargetAverageValue),
			Container: s.Container,
		}
	}
	if s := in.External; s != nil {
		targetType := autoscalingv2.AverageValueMetricType
		if s.TargetValue != nil {
			targetType = autoscalingv2.ValueMetricType
		}
		out.External = &autoscalingv2.ExternalMetricSource{
			Metric: autoscalingv2.MetricIdentifier{Name: s.MetricName, Selector: s.MetricSelector},
			Target: autoscalingv2.MetricTarget{
				Type:         targetType,
				Value:        s.TargetValue,
				AverageValue: s.TargetAverageValue,
			},
		}
	}
	return out
}

// resourceTarget is the v2 target of a v1 Resource or ContainerResource
// metric: Utilization when there is a utilization, else AverageValue.
func resourceTarget(utilization *int32, averageValue *resource.Quantity) autoscalingv2.MetricTarget {
	targetType := autoscalingv2.AverageValueMetricType
	if utilization != nil {
		targetType = autoscalingv2.UtilizationMetricType
	}
	return autoscalingv2.MetricTarget{
		Type:               targetType,
		AverageValue:       averageValue,
		AverageUtilization: utilization,
	}
}

func metricStatusToV1(in autoscalingv2.MetricStatus) autoscalingv1.MetricStatus {
	out := autoscalingv1.MetricStatus{Type: autoscalingv1.MetricSourceType(in.Type)}
	if s := in.Object; s != nil {
		out.Object = &autoscalingv1.ObjectMetricStatus{
			Target:       autoscalingv1.CrossVersionObjectReference(s.DescribedObject),
			MetricName:   s.Metric.Name,
			CurrentValue: valueOrZero(s.Current.Value),
			Selector:     s.Metric.Selector,
			AverageValue: s.Current.AverageValue,
		}
	}
	if s := in.Pods; s != nil {
		out.Pods = &autoscalingv1.PodsMetricStatus{
			MetricName:          s.Metric.Name,
			CurrentAverageValue: valueOrZero(s.Current.AverageValue),
			Selector:            s.Metric.Selector,
		}
	}
	if s := in.Resource; s != nil {
		out.Resource = &autoscalingv1.ResourceMetricStatus{
			Name:                      s.Name,
			CurrentAverageUtilization: s.Current.AverageUtilization,
			CurrentAverageValue:       valueOrZero(s.Current.AverageValue),
		}
	}
	if s := in.ContainerResource; s != nil {
		out.ContainerResource = &autoscalingv1.ContainerResourceMetricStatus{
			Name:                      s.Name,
			CurrentAverageUtilization: s.Current.AverageUtilization,
			CurrentAverageValue:       valueOrZero(s.Current.AverageValue),
			Container:                 s.Container,
		}
	}
	if s := in.External; s != nil {
		out.External = &autoscalingv1.ExternalMetricStatus{
			MetricName:          s.Metric.Name,
			MetricSelector:      s.Metric.Selector,
			CurrentValue:        valueOrZero(s.Current.Value),
			CurrentAverageValue: s.Current.AverageValue,
		}
	}
	return out
}

func metricStatusFromV1(in autoscalingv1.MetricStatus) autoscalingv2.MetricStatus {
	out := autoscalingv2.MetricStatus{Type: autoscalingv2.MetricSourceType(in.Type)}
	if s := in.Object; s != nil {
		out.Object = &autoscalingv2.ObjectMetricStatus{
			Metric: autoscalingv2.MetricIdentifier{Name: s.MetricName, Selector: s.Selector},
			Current: autoscalingv2.MetricValueStatus{
				Value:        new(s.CurrentValue),
				AverageValue: s.AverageValue,
			},
			DescribedObject: autoscalingv2.CrossVersionObjectReference(s.Target),
		}
	}
	if s := in.Pods; s != nil {
		out.Pods = &autoscalingv2.PodsMetricStatus{
			Metric:  autoscalingv2.MetricIdentifier{Name: s.MetricName, Selector: s.Selector},
			Current: autoscalingv2.MetricValueStatus{AverageValue: new(s.CurrentAverageValue)},
		}
	}
	if s := in.Resource; s != nil {
		out.Resource = &autoscalingv2.ResourceMetricStatus{
			Name: s.Name,
			Current: autoscalingv2.MetricValueStatus{
				AverageValue:       new(s.CurrentAverageValue),
				AverageUtilization: s.CurrentAverageUtilization,
			},
		}
	}
	if s := in.ContainerResource; s != nil {
		out.ContainerResource = &autoscalingv2.ContainerResourceMetricStatus{
			Name: s.Name,
			Current: autoscalingv2.MetricValueStatus{
				AverageValue:       new(s.CurrentAverageValue),
				AverageUtilization: s.CurrentAverageUtilization,
			},
			Container: s.Container,
		}
	}
	if s := in.External; s != nil {
		out.External = &autoscalingv2.ExternalMetricStatus{
			Metric: autoscalingv2.MetricIdentifier{Name: s.MetricName, Selector: s.MetricSelector},
			Current: autoscalingv2.MetricValueStatus{
				Value:        new(s.CurrentValue),
				AverageValue: s.CurrentAverageValue,
			},
		}
	}
	return out
}

// valueOrZero dereferences q. autoscaling/v1 declares some quantities as
// values, so a missing v2 quantity becomes the zero quantity, "0".
func valueOrZero(q *resource.Quantity) resource.Quantity {
	if q == nil {
		return resource.Quantity{}
	}
	return *q
}

func conditionToV1(in autoscalingv2.HorizontalPodAutoscalerCondition) autoscalingv1.HorizontalPodAutoscalerCondition {
	return autoscalingv1.HorizontalPodAutoscalerCondition{
		Type:               autoscalingv1.HorizontalPodAutoscalerConditionType(in.Type),
		Status:             in.Status,
		LastTransitionTime: in.LastTransitionTime,
		Reason:             in.Reason,
		Message:            in.Message,
		ObservedGeneration: in.ObservedGeneration,
	}
}

func conditionFromV1(in autoscalingv1.HorizontalPodAutoscalerCondition) autoscalingv2.HorizontalPodAutoscalerCondition {
	return autoscalingv2.HorizontalPodAutoscalerCondition{
		Type:               autoscalingv2.HorizontalPodAutoscalerConditionType(in.Type),
		Status:             in.Status,
		LastTransitionTime: in.LastTransitionTime,
		Reason:             in.Reason,
		Message:            in.Message,
		ObservedGeneration: in.ObservedGeneration,
	}
}

// internalBehavior has the shape of upstream's internal
// autoscaling.HorizontalPodAutoscalerBehavior, which BehaviorAnnotation holds.
// Like that type it has no json tags, so it encodes to the same bytes
// (Go field names, nil as null) and decodes what upstream writes.
// encoding/json matches keys without regard to case when it decodes, so the
// v2 (lowerCamel) spelling is accepted too, as upstream accepts it.
type internalBehavior struct {
	ScaleUp   *internalScalingRules
	ScaleDown *internalScalingRules
}

type internalScalingRules struct {
	StabilizationWindowSeconds *int32
	SelectPolicy               *autoscalingv2.ScalingPolicySelect
	Policies                   []internalScalingPolicy
	Tolerance                  *resource.Quantity
}

type internalScalingPolicy struct {
	Type          autoscalingv2.HPAScalingPolicyType
	Value         int32
	PeriodSeconds int32
}

func behaviorToInternal(in *autoscalingv2.HorizontalPodAutoscalerBehavior) internalBehavior {
	return internalBehavior{ScaleUp: rulesToInternal(in.ScaleUp), ScaleDown: rulesToInternal(in.ScaleDown)}
}

func rulesToInternal(in *autoscalingv2.HPAScalingRules) *internalScalingRules {
	if in == nil {
		return nil
	}
	out := &internalScalingRules{
		StabilizationWindowSeconds: in.StabilizationWindowSeconds,
		SelectPolicy:               in.SelectPolicy,
		Tolerance:                  in.Tolerance,
	}
	if in.Policies != nil {
		out.Policies = make([]internalScalingPolicy, len(in.Policies))
		for i, policy := range in.Policies {
			out.Policies[i] = internalScalingPolicy(policy)
		}
	}
	return out
}

func (b internalBehavior) toV2() *autoscalingv2.HorizontalPodAutoscalerBehavior {
	return &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: b.ScaleUp.toV2(), ScaleDown: b.ScaleDown.toV2()}
}

func (r *internalScalingRules) toV2() *autoscalingv2.HPAScalingRules {
	if r == nil {
		return nil
	}
	out := &autoscalingv2.HPAScalingRules{
		StabilizationWindowSeconds: r.StabilizationWindowSeconds,
		SelectPolicy:               r.SelectPolicy,
		Tolerance:                  r.Tolerance,
	}
	if r.Policies != nil {
		out.Policies = make([]autoscalingv2.HPAScalingPolicy, len(r.Policies))
		for i, policy := range r.Policies {
			out.Policies[i] = autoscalingv2.HPAScalingPolicy(policy)
		}
	}
	return out
}
