package conversion

import (
	"encoding/json"
	"fmt"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// autoscaling/v1 has fields only for a CPU utilization target and the current
// CPU utilization. The rest of a v2 HPA goes into these annotations, as
// upstream does (pkg/apis/autoscaling/annotations.go), so a v1 client that
// reads an HPA and writes it back does not erase what it cannot see.
const (
	// MetricSpecsAnnotation holds spec.metrics, apart from the CPU
	// utilization target, as a JSON list of autoscaling/v1 MetricSpec.
	MetricSpecsAnnotation = "autoscaling.alpha.kubernetes.io/metrics"
	// MetricStatusesAnnotation holds all of status.currentMetrics as a JSON
	// list of autoscaling/v1 MetricStatus.
	MetricStatusesAnnotation = "autoscaling.alpha.kubernetes.io/current-metrics"
	// ConditionsAnnotation holds status.conditions as a JSON list of
	// autoscaling/v1 HorizontalPodAutoscalerCondition.
	ConditionsAnnotation = "autoscaling.alpha.kubernetes.io/conditions"
	// BehaviorAnnotation holds spec.behavior. Upstream writes it with
	// json.Marshal on its internal type, which has no json tags, so the keys
	// are Go field names: {"ScaleUp":{"StabilizationWindowSeconds":0,...}}.
	BehaviorAnnotation = "autoscaling.alpha.kubernetes.io/behavior"

	// Upstream uses these two only for autoscaling/v2beta2, which tend does
	// not serve. They are still round-trip annotations, so they are dropped
	// like the others.
	scaleDownToleranceAnnotation = "autoscaling.alpha.kubernetes.io/scale-down-tolerance"
	scaleUpToleranceAnnotation   = "autoscaling.alpha.kubernetes.io/scale-up-tolerance"

	// defaultCPUUtilization is the CPU target an autoscaling/v1 HPA gets when
	// it names no metric (upstream's autoscaling.DefaultCPUUtilization).
	defaultCPUUtilization = 80
)

// roundTripAnnotations are upstream's DropRoundTripHorizontalPodAutoscalerAnnotations.
var roundTripAnnotations = []string{
	MetricSpecsAnnotation,
	BehaviorAnnotation,
	scaleDownToleranceAnnotation,
	scaleUpToleranceAnnotation,
	MetricStatusesAnnotation,
	ConditionsAnnotation,
}

// HPAToV1 converts an autoscaling/v2 HorizontalPodAutoscaler into its
// autoscaling/v1 form, as upstream does through its internal type.
//
// The first Resource metric for cpu with an averageUtilization target becomes
// spec.targetCPUUtilizationPercentage. The last status Resource metric for cpu
// with an averageUtilization becomes status.currentCPUUtilizationPercentage.
// Everything else goes into annotations (see MetricSpecsAnnotation and the
// constants after it). Round-trip annotations already on the input are
// removed first, so the output carries only annotations that this conversion
// wrote. If that leaves no annotations, Annotations is nil.
//
// A round trip through HPAFromV1 gives back the same spec and status, with
// these exceptions, all of which upstream shares:
//
//   - The CPU utilization metric moves to the end of spec.metrics. Any further
//     CPU utilization Resource metrics are dropped.
//   - Each metric target or current value is rebuilt from v1 fields.
//     target.type is inferred. Object targets get AverageValue when an
//     averageValue is set, otherwise Value. External targets get Value when a
//     value is set, otherwise AverageValue. Resource and ContainerResource
//     targets get Utilization when an averageUtilization is set, otherwise
//     AverageValue. Pods targets always get AverageValue. Values with no v1
//     field are dropped: a Resource target's value, a Pods target's value or
//     averageUtilization, an Object or External averageUtilization.
//   - A quantity that v1 does not declare as a pointer comes back as "0" when
//     the v2 input had none: an Object target's value, a Pods target's
//     averageValue, and in status an Object or External current.value, or a
//     Pods, Resource or ContainerResource current.averageValue.
//   - Times in conditions pass through JSON, so sub-second precision is lost
//     (as it is whenever a metav1.Time is stored as JSON).
//
// The error is non-nil only if an annotation cannot be encoded.
func HPAToV1(in *autoscalingv2.HorizontalPodAutoscaler) (*autoscalingv1.HorizontalPodAutoscaler, error) {
	if in == nil {
		return nil, nil
	}
	in = in.DeepCopy()
	out := &autoscalingv1.HorizontalPodAutoscaler{
		TypeMeta:   metav1.TypeMeta{APIVersion: autoscalingv1.SchemeGroupVersion.String(), Kind: "HorizontalPodAutoscaler"},
		ObjectMeta: in.ObjectMeta,
		Spec: autoscalingv1.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv1.CrossVersionObjectReference(in.Spec.ScaleTargetRef),
			MinReplicas:    in.Spec.MinReplicas,
			MaxReplicas:    in.Spec.MaxReplicas,
		},
		Status: autoscalingv1.HorizontalPodAutoscalerStatus{
			ObservedGeneration: in.Status.ObservedGeneration,
			LastScaleTime:      in.Status.LastScaleTime,
			CurrentReplicas:    in.Status.CurrentReplicas,
			DesiredReplicas:    in.Status.DesiredReplicas,
		},
	}
	dropRoundTripAnnotations(&out.ObjectMeta)

	var otherMetrics []autoscalingv1.MetricSpec
	for _, metric := range in.Spec.Metrics {
		if isCPUUtilization(metric) {
			if out.Spec.TargetCPUUtilizationPercentage == nil {
				out.Spec.TargetCPUUtilizationPercentage = new(*metric.Resource.Target.AverageUtilization)
			}
			continue
		}
		otherMetrics = append(otherMetrics, metricSpecToV1(metric))
	}

	// Upstream has no break here: the last CPU utilization wins.
	for _, metric := range in.Status.CurrentMetrics {
		if metric.Type == autoscalingv2.ResourceMetricSourceType && metric.Resource != nil &&
			metric.Resource.Name == corev1.ResourceCPU && metric.Resource.Current.AverageUtilization != nil {
			out.Status.CurrentCPUUtilizationPercentage = new(*metric.Resource.Current.AverageUtilization)
		}
	}

	// All current metrics are saved, the CPU one too: the annotation keeps
	// its raw averageValue, which currentCPUUtilizationPercentage cannot.
	var currentMetrics []autoscalingv1.MetricStatus
	for _, metric := range in.Status.CurrentMetrics {
		currentMetrics = append(currentMetrics, metricStatusToV1(metric))
	}
	var conditions []autoscalingv1.HorizontalPodAutoscalerCondition
	for _, condition := range in.Status.Conditions {
		conditions = append(conditions, conditionToV1(condition))
	}

	annotate := func(key string, value any) error {
		encoded, err := json.Marshal(value)
		if err != nil {
			return fmt.Errorf("encode annotation %s of HorizontalPodAutoscaler %s/%s: %w", key, in.Namespace, in.Name, err)
		}
		if out.Annotations == nil {
			out.Annotations = make(map[string]string, 4)
		}
		out.Annotations[key] = string(encoded)
		return nil
	}
	if len(otherMetrics) > 0 {
		if err := annotate(MetricSpecsAnnotation, otherMetrics); err != nil {
			return nil, err
		}
	}
	if len(currentMetrics) > 0 {
		if err := annotate(MetricStatusesAnnotation, currentMetrics); err != nil {
			return nil, err
		}
	}
	if in.Spec.Behavior != nil {
		if err := annotate(BehaviorAnnotation, behaviorToInternal(in.Spec.Behavior)); err != nil {
			return nil, err
		}
	}
	if len(conditions) > 0 {
		if err := annotate(ConditionsAnnotation, conditions); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// HPAFromV1 converts an autoscaling/v1 HorizontalPodAutoscaler into its
// autoscaling/v2 form, as upstream does through its internal type.
//
// spec.targetCPUUtilizationPercentage becomes a Resource metric for cpu with a
// Utilization target. It goes after the metrics from MetricSpecsAnnotation.
// The metric statuses in MetricStatusesAnnotation replace the one built from
// status.currentCPUUtilizationPercentage. If the result has no metric at all,
// it gets the implicit CPU target of 80% that autoscaling/v1 always had.
// spec.behavior and status.conditions come from their annotations.
//
// As upstream does, HPAFromV1 ignores an annotation that does not decode, and
// a behavior annotation that decodes to an empty behavior. It removes all
// round-trip annotations from the result, including ignored ones and the
// v2beta2 tolerance annotations. If that leaves no annotations, Annotations
// is nil.
func HPAFromV1(in *autoscalingv1.HorizontalPodAutoscaler) *autoscalingv2.HorizontalPodAutoscaler {
	if in == nil {
		return nil
	}
	in = in.DeepCopy()
	out := &autoscalingv2.HorizontalPodAutoscaler{
		TypeMeta:   metav1.TypeMeta{APIVersion: autoscalingv2.SchemeGroupVersion.String(), Kind: "HorizontalPodAutoscaler"},
		ObjectMeta: in.ObjectMeta,
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference(in.Spec.ScaleTargetRef),
			MinReplicas:    in.Spec.MinReplicas,
			MaxReplicas:    in.Spec.MaxReplicas,
		},
		Status: autoscalingv2.HorizontalPodAutoscalerStatus{
			ObservedGeneration: in.Status.ObservedGeneration,
			LastScaleTime:      in.Status.LastScaleTime,
			CurrentReplicas:    in.Status.CurrentReplicas,
			DesiredReplicas:    in.Status.DesiredReplicas,
		},
	}
	if pct := in.Spec.TargetCPUUtilizationPercentage; pct != nil {
		out.Spec.Metrics = []autoscalingv2.MetricSpec{cpuUtilizationMetric(*pct)}
	}
	if pct := in.Status.CurrentCPUUtilizationPercentage; pct != nil {
		out.Status.CurrentMetrics = []autoscalingv2.MetricStatus{{
			Type: autoscalingv2.ResourceMetricSourceType,
			Resource: &autoscalingv2.ResourceMetricStatus{
				Name:    corev1.ResourceCPU,
				Current: autoscalingv2.MetricValueStatus{AverageUtilization: new(*pct)},
			},
		}}
	}

	if encoded, ok := in.Annotations[MetricSpecsAnnotation]; ok {
		var others []autoscalingv1.MetricSpec
		if err := json.Unmarshal([]byte(encoded), &others); err == nil {
			metrics := make([]autoscalingv2.MetricSpec, 0, len(others)+len(out.Spec.Metrics))
			for _, metric := range others {
				metrics = append(metrics, metricSpecFromV1(metric))
			}
			out.Spec.Metrics = append(metrics, out.Spec.Metrics...)
		}
	}
	if encoded, ok := in.Annotations[BehaviorAnnotation]; ok {
		var behavior internalBehavior
		if err := json.Unmarshal([]byte(encoded), &behavior); err == nil && behavior != (internalBehavior{}) {
			out.Spec.Behavior = behavior.toV2()
		}
	}
	if encoded, ok := in.Annotations[MetricStatusesAnnotation]; ok {
		var current []autoscalingv1.MetricStatus
		if err := json.Unmarshal([]byte(encoded), &current); err == nil {
			out.Status.CurrentMetrics = make([]autoscalingv2.MetricStatus, len(current))
			for i, metric := range current {
				out.Status.CurrentMetrics[i] = metricStatusFromV1(metric)
			}
		}
	}
	if len(out.Spec.Metrics) == 0 {
		out.Spec.Metrics = []autoscalingv2.MetricSpec{cpuUtilizationMetric(defaultCPUUtilization)}
	}
	if encoded, ok := in.Annotations[ConditionsAnnotation]; ok {
		var conditions []autoscalingv1.HorizontalPodAutoscalerCondition
		if err := json.Unmarshal([]byte(encoded), &conditions); err == nil {
			out.Status.Conditions = make([]autoscalingv2.HorizontalPodAutoscalerCondition, len(conditions))
			for i, condition := range conditions {
				out.Status.Conditions[i] = conditionFromV1(condition)
			}
		}
	}
	dropRoundTripAnnotations(&out.ObjectMeta)
	return out
}

// dropRoundTripAnnotations removes the round-trip annotations from meta,
// which must be owned by the caller, and sets an emptied map to nil.
func dropRoundTripAnnotations(meta *metav1.ObjectMeta) {
	for _, key := range roundTripAnnotations {
		delete(meta.Annotations, key)
	}
	if len(meta.Annotations) == 0 {
		meta.Annotations = nil
	}
}

// isCPUUtilization reports whether metric is the kind autoscaling/v1
// expresses as targetCPUUtilizationPercentage.
func isCPUUtilization(metric autoscalingv2.MetricSpec) bool {
	return metric.Type == autoscalingv2.ResourceMetricSourceType && metric.Resource != nil &&
		metric.Resource.Name == corev1.ResourceCPU && metric.Resource.Target.AverageUtilization != nil
}

func cpuUtilizationMetric(percent int32) autoscalingv2.MetricSpec {
	return autoscalingv2.MetricSpec{
		Type: autoscalingv2.ResourceMetricSourceType,
		Resource: &autoscalingv2.ResourceMetricSource{
			Name: corev1.ResourceCPU,
			Target: autoscalingv2.MetricTarget{
				Type:               autoscalingv2.UtilizationMetricType,
				AverageUtilization: new(percent),
			},
		},
	}
}
