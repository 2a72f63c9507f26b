package validation

import (
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
)

func validHPA() *autoscalingv2.HorizontalPodAutoscaler {
	return &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: objectMeta("default", "web"), Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
		ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
		MinReplicas:    ptr[int32](1), MaxReplicas: 10,
		Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
			Name:   corev1.ResourceCPU,
			Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr[int32](80)},
		}}},
	}}
}

func TestHorizontalPodAutoscaler(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*autoscalingv2.HorizontalPodAutoscaler)
		wants  []want
	}{
		{"valid", func(*autoscalingv2.HorizontalPodAutoscaler) {}, nil},
		{"replicas", func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.MinReplicas, h.Spec.MaxReplicas = ptr[int32](0), 0
		},
			[]want{invalid("spec.minReplicas").with("must be greater than or equal to 1"), invalid("spec.maxReplicas").with("must be greater than 0"),
				forbidden("spec.metrics")}},
		{"max below min", func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Spec.MinReplicas = ptr[int32](11) },
			[]want{invalid("spec.maxReplicas").with("must be greater than or equal to `minReplicas`")}},
		{"target ref", func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.ScaleTargetRef = autoscalingv2.CrossVersionObjectReference{Name: "a/b"}
		},
			[]want{required("spec.scaleTargetRef.kind"), invalid("spec.scaleTargetRef.name")}},
		{"metric source missing", func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Spec.Metrics[0].Resource = nil },
			[]want{required("spec.metrics[0].resource").with("must populate information for the given metric source")}},
		{"two metric sources", func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Metrics[0].Pods = &autoscalingv2.PodsMetricSource{Metric: autoscalingv2.MetricIdentifier{Name: "qps"},
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: ptr(qty("10"))}}
		}, []want{forbidden("spec.metrics[0].pods").with("must populate the given metric source only")}},
		{"target", func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Metrics[0].Resource.Target = autoscalingv2.MetricTarget{Type: "Percent", AverageUtilization: ptr[int32](0), AverageValue: ptr(qty("-1"))}
		}, []want{
			invalid("spec.metrics[0].resource.target.type"), invalid("spec.metrics[0].resource.target.averageValue"),
			invalid("spec.metrics[0].resource.target.averageUtilization"), forbidden("spec.metrics[0].resource.target.averageValue"),
		}},
		{"behavior", func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: &autoscalingv2.HPAScalingRules{
				StabilizationWindowSeconds: ptr[int32](4000),
				Policies:                   []autoscalingv2.HPAScalingPolicy{{Type: "Nodes", Value: 0, PeriodSeconds: 2000}},
			}}
		}, []want{
			invalid("spec.behavior.scaleDown.stabilizationWindowSeconds"), notSupported("spec.behavior.scaleDown.policies[0].type"),
			invalid("spec.behavior.scaleDown.policies[0].value"), invalid("spec.behavior.scaleDown.policies[0].periodSeconds"),
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := validHPA()
			tc.mutate(h)
			create(t, h, tc.wants...)
		})
	}
	old := validHPA()
	withStatus := old.DeepCopy()
	withStatus.Status.DesiredReplicas = -1
	statusUpdate(t, withStatus, old, invalid("status.desiredReplicas"))
}
