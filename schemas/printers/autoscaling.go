package printers

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Annotations autoscaling/v1 uses to round-trip what only v2 can express.
const (
	hpaMetricSpecsAnnotation    = "autoscaling.alpha.kubernetes.io/metrics"
	hpaMetricStatusesAnnotation = "autoscaling.alpha.kubernetes.io/current-metrics"
	// hpaDefaultCPUUtilization is the target v1 conversion fills in when no metric is set.
	hpaDefaultCPUUtilization = 80
)

func addAutoscaling(m map[schema.GroupKind]Printer) {
	// Upstream takes these descriptions from autoscaling/v2beta1, which k8s.io/api no
	// longer ships; v2 carries the same fields.
	spec := autoscalingv2.HorizontalPodAutoscalerSpec{}.SwaggerDoc()
	m[schema.GroupKind{Group: "autoscaling", Kind: "HorizontalPodAutoscaler"}] = Printer{
		Columns: []metav1.TableColumnDefinition{
			nameColumn(),
			{Name: "Reference", Type: "string", Description: spec["scaleTargetRef"]},
			{Name: "Targets", Type: "string", Description: spec["metrics"]},
			{Name: "MinPods", Type: "string", Description: spec["minReplicas"]},
			{Name: "MaxPods", Type: "string", Description: spec["maxReplicas"]},
			{Name: "Replicas", Type: "string", Description: autoscalingv2.HorizontalPodAutoscalerStatus{}.SwaggerDoc()["currentReplicas"]},
			ageColumn(),
		},
		Row: printAnyHPA,
	}
}

// printAnyHPA accepts autoscaling/v2 and autoscaling/v1 objects; v1 ones are first
// brought to v2 the way upstream's v1-to-internal conversion does.
func printAnyHPA(obj runtime.Object, now time.Time) ([]any, error) {
	switch h := obj.(type) {
	case *autoscalingv2.HorizontalPodAutoscaler:
		if h != nil {
			return printHPA(h, now), nil
		}
	case *autoscalingv1.HorizontalPodAutoscaler:
		if h != nil {
			return printHPA(hpaV2FromV1(h), now), nil
		}
	}
	return nil, fmt.Errorf("printers: cannot print %T as a HorizontalPodAutoscaler", obj)
}

func printHPA(h *autoscalingv2.HorizontalPodAutoscaler, now time.Time) []any {
	minPods := "<unset>"
	if h.Spec.MinReplicas != nil {
		minPods = fmt.Sprintf("%d", *h.Spec.MinReplicas)
	}
	return []any{
		h.Name, h.Spec.ScaleTargetRef.Kind + "/" + h.Spec.ScaleTargetRef.Name,
		formatHPAMetrics(h.Spec.Metrics, h.Status.CurrentMetrics), minPods,
		int64(h.Spec.MaxReplicas), int64(h.Status.CurrentReplicas), translateTimestampSince(h.CreationTimestamp, now),
	}
}

// formatHPAMetrics prints "current/target" per metric, statuses matched to specs
// by index, at most two of them. Nil quantities print as "<nil>", as upstream's do.
func formatHPAMetrics(specs []autoscalingv2.MetricSpec, statuses []autoscalingv2.MetricStatus) string {
	if len(specs) == 0 {
		return "<none>"
	}
	status := func(i int) *autoscalingv2.MetricStatus {
		if i < len(statuses) {
			return &statuses[i]
		}
		return nil
	}
	list := make([]string, 0, len(specs))
	for i, spec := range specs {
		st := status(i)
		current := "<unknown>"
		switch {
		case spec.Type == autoscalingv2.ExternalMetricSourceType && spec.External != nil:
			target := spec.External.Target
			if target.AverageValue != nil {
				if st != nil && st.External != nil && st.External.Current.AverageValue != nil {
					current = quantityString(st.External.Current.AverageValue)
				}
				list = append(list, fmt.Sprintf("%s/%s (avg)", current, quantityString(target.AverageValue)))
			} else {
				if st != nil && st.External != nil {
					current = quantityString(st.External.Current.Value)
				}
				list = append(list, fmt.Sprintf("%s/%s", current, quantityString(target.Value)))
			}
		case spec.Type == autoscalingv2.PodsMetricSourceType && spec.Pods != nil:
			if st != nil && st.Pods != nil {
				current = quantityString(st.Pods.Current.AverageValue)
			}
			list = append(list, fmt.Sprintf("%s/%s", current, quantityString(spec.Pods.Target.AverageValue)))
		case spec.Type == autoscalingv2.ObjectMetricSourceType && spec.Object != nil:
			target := spec.Object.Target
			if target.AverageValue != nil {
				if st != nil && st.Object != nil && st.Object.Current.AverageValue != nil {
					current = quantityString(st.Object.Current.AverageValue)
				}
				list = append(list, fmt.Sprintf("%s/%s (avg)", current, quantityString(target.AverageValue)))
			} else {
				if st != nil && st.Object != nil {
					current = quantityString(st.Object.Current.Value)
				}
				list = append(list, fmt.Sprintf("%s/%s", current, quantityString(target.Value)))
			}
		case spec.Type == autoscalingv2.ResourceMetricSourceType && spec.Resource != nil:
			var cur *autoscalingv2.MetricValueStatus
			if st != nil && st.Resource != nil {
				cur = &st.Resource.Current
			}
			list = append(list, formatResourceMetric(spec.Resource.Name, spec.Resource.Target, cur))
		case spec.Type == autoscalingv2.ContainerResourceMetricSourceType && spec.ContainerResource != nil:
			var cur *autoscalingv2.MetricValueStatus
			if st != nil && st.ContainerResource != nil {
				cur = &st.ContainerResource.Current
			}
			list = append(list, formatResourceMetric(spec.ContainerResource.Name, spec.ContainerResource.Target, cur))
		default:
			list = append(list, "<unknown type>")
		}
	}

	const max = 2
	if len(list) > max {
		return fmt.Sprintf("%s + %d more...", strings.Join(list[:max], ", "), len(list)-max)
	}
	return strings.Join(list, ", ")
}

// formatResourceMetric is "name: current/target" for (container) resource metrics;
// cur is nil when there is no matching status.
func formatResourceMetric(name corev1.ResourceName, target autoscalingv2.MetricTarget, cur *autoscalingv2.MetricValueStatus) string {
	current := "<unknown>"
	if target.AverageValue != nil {
		if cur != nil {
			current = quantityString(cur.AverageValue)
		}
		return fmt.Sprintf("%s: %s/%s", name, current, quantityString(target.AverageValue))
	}
	if cur != nil && cur.AverageUtilization != nil {
		current = fmt.Sprintf("%d%%", *cur.AverageUtilization)
	}
	want := "<auto>"
	if target.AverageUtilization != nil {
		want = fmt.Sprintf("%d%%", *target.AverageUtilization)
	}
	return fmt.Sprintf("%s: %s/%s", name, current, want)
}

// hpaV2FromV1 carries over the fields the printer reads: the CPU target and current
// utilisation, the other metrics v1 keeps in annotations (put before the CPU one),
// and the default CPU target when no metric is set at all. Malformed annotations
// are ignored where upstream's conversion would fail the read.
func hpaV2FromV1(in *autoscalingv1.HorizontalPodAutoscaler) *autoscalingv2.HorizontalPodAutoscaler {
	out := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: in.ObjectMeta,
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{
				Kind: in.Spec.ScaleTargetRef.Kind, Name: in.Spec.ScaleTargetRef.Name, APIVersion: in.Spec.ScaleTargetRef.APIVersion,
			},
			MinReplicas: in.Spec.MinReplicas,
			MaxReplicas: in.Spec.MaxReplicas,
		},
		Status: autoscalingv2.HorizontalPodAutoscalerStatus{
			CurrentReplicas: in.Status.CurrentReplicas,
			DesiredReplicas: in.Status.DesiredReplicas,
		},
	}
	if in.Spec.TargetCPUUtilizationPercentage != nil {
		out.Spec.Metrics = []autoscalingv2.MetricSpec{cpuUtilizationMetric(*in.Spec.TargetCPUUtilizationPercentage)}
	}
	if in.Status.CurrentCPUUtilizationPercentage != nil {
		out.Status.CurrentMetrics = []autoscalingv2.MetricStatus{{
			Type: autoscalingv2.ResourceMetricSourceType,
			Resource: &autoscalingv2.ResourceMetricStatus{
				Name:    corev1.ResourceCPU,
				Current: autoscalingv2.MetricValueStatus{AverageUtilization: in.Status.CurrentCPUUtilizationPercentage},
			},
		}}
	}

	var others []autoscalingv1.MetricSpec
	if enc, ok := in.Annotations[hpaMetricSpecsAnnotation]; ok && json.Unmarshal([]byte(enc), &others) == nil {
		metrics := make([]autoscalingv2.MetricSpec, 0, len(others)+len(out.Spec.Metrics))
		for i := range others {
			metrics = append(metrics, metricSpecFromV1(&others[i]))
		}
		out.Spec.Metrics = append(metrics, out.Spec.Metrics...)
	}
	var current []autoscalingv1.MetricStatus
	if enc, ok := in.Annotations[hpaMetricStatusesAnnotation]; ok && json.Unmarshal([]byte(enc), &current) == nil {
		out.Status.CurrentMetrics = make([]autoscalingv2.MetricStatus, len(current))
		for i := range current {
			out.Status.CurrentMetrics[i] = metricStatusFromV1(&current[i])
		}
	}
	if len(out.Spec.Metrics) == 0 {
		out.Spec.Metrics = []autoscalingv2.MetricSpec{cpuUtilizationMetric(hpaDefaultCPUUtilization)}
	}
	return out
}

func cpuUtilizationMetric(percent int32) autoscalingv2.MetricSpec {
	return autoscalingv2.MetricSpec{
		Type: autoscalingv2.ResourceMetricSourceType,
		Resource: &autoscalingv2.ResourceMetricSource{
			Name:   corev1.ResourceCPU,
			Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &percent},
		},
	}
}

// metricSpecFromV1 converts the v2beta1-shaped metric specs of the v1 annotation.
func metricSpecFromV1(in *autoscalingv1.MetricSpec) autoscalingv2.MetricSpec {
	out := autoscalingv2.MetricSpec{Type: autoscalingv2.MetricSourceType(in.Type)}
	if s := in.Object; s != nil {
		out.Object = &autoscalingv2.ObjectMetricSource{
			Target: autoscalingv2.MetricTarget{
				Type: valueOrAverage(s.AverageValue == nil), Value: ptrTo(s.TargetValue), AverageValue: s.AverageValue,
			},
		}
	}
	if s := in.Pods; s != nil {
		out.Pods = &autoscalingv2.PodsMetricSource{
			Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: ptrTo(s.TargetAverageValue)},
		}
	}
	if s := in.Resource; s != nil {
		out.Resource = &autoscalingv2.ResourceMetricSource{
			Name:   s.Name,
			Target: resourceTargetFromV1(s.TargetAverageUtilization, s.TargetAverageValue),
		}
	}
	if s := in.ContainerResource; s != nil {
		out.ContainerResource = &autoscalingv2.ContainerResourceMetricSource{
			Name:      s.Name,
			Container: s.Container,
			Target:    resourceTargetFromV1(s.TargetAverageUtilization, s.TargetAverageValue),
		}
	}
	if s := in.External; s != nil {
		out.External = &autoscalingv2.ExternalMetricSource{
			Target: autoscalingv2.MetricTarget{
				Type: valueOrAverage(s.TargetValue != nil), Value: s.TargetValue, AverageValue: s.TargetAverageValue,
			},
		}
	}
	return out
}

func resourceTargetFromV1(utilization *int32, averageValue *resource.Quantity) autoscalingv2.MetricTarget {
	t := autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageUtilization: utilization, AverageValue: averageValue}
	if utilization != nil {
		t.Type = autoscalingv2.UtilizationMetricType
	}
	return t
}

func valueOrAverage(value bool) autoscalingv2.MetricTargetType {
	if value {
		return autoscalingv2.ValueMetricType
	}
	return autoscalingv2.AverageValueMetricType
}

// metricStatusFromV1 converts the v2beta1-shaped metric statuses of the v1 annotation.
func metricStatusFromV1(in *autoscalingv1.MetricStatus) autoscalingv2.MetricStatus {
	out := autoscalingv2.MetricStatus{Type: autoscalingv2.MetricSourceType(in.Type)}
	if s := in.Object; s != nil {
		out.Object = &autoscalingv2.ObjectMetricStatus{
			Current: autoscalingv2.MetricValueStatus{Value: ptrTo(s.CurrentValue), AverageValue: s.AverageValue},
		}
	}
	if s := in.Pods; s != nil {
		out.Pods = &autoscalingv2.PodsMetricStatus{
			Current: autoscalingv2.MetricValueStatus{AverageValue: ptrTo(s.CurrentAverageValue)},
		}
	}
	if s := in.Resource; s != nil {
		out.Resource = &autoscalingv2.ResourceMetricStatus{
			Name:    s.Name,
			Current: autoscalingv2.MetricValueStatus{AverageValue: ptrTo(s.CurrentAverageValue), AverageUtilization: s.CurrentAverageUtilization},
		}
	}
	if s := in.ContainerResource; s != nil {
		out.ContainerResource = &autoscalingv2.ContainerResourceMetricStatus{
			Name:      s.Name,
			Container: s.Container,
			Current:   autoscalingv2.MetricValueStatus{AverageValue: ptrTo(s.CurrentAverageValue), AverageUtilization: s.CurrentAverageUtilization},
		}
	}
	if s := in.External; s != nil {
		out.External = &autoscalingv2.ExternalMetricStatus{
			Current: autoscalingv2.MetricValueStatus{Value: ptrTo(s.CurrentValue), AverageValue: s.CurrentAverageValue},
		}
	}
	return out
}

func ptrTo[T any](v T) *T { return &v }
