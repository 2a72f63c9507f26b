package conversion

import (
	"reflect"
	"testing"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
)

// TestHPATypesHaveKnownFields fails when k8s.io/api adds a field to a type
// that the HPA conversion copies field by field. When it fails, teach the
// conversion about the new field (read upstream's conversion.go for what it
// does with it), add it to the fixtures in hpa_test.go, then update the count.
// Event needs no such list: TestEventRoundTrip fills every field.
func TestHPATypesHaveKnownFields(t *testing.T) {
	tests := []struct {
		typ    any
		fields int
	}{
		{autoscalingv2.HorizontalPodAutoscaler{}, 4},
		{autoscalingv2.HorizontalPodAutoscalerSpec{}, 5},
		{autoscalingv2.HorizontalPodAutoscalerStatus{}, 6},
		{autoscalingv2.HorizontalPodAutoscalerBehavior{}, 2},
		{autoscalingv2.HPAScalingRules{}, 4},
		{autoscalingv2.HPAScalingPolicy{}, 3},
		{autoscalingv2.HorizontalPodAutoscalerCondition{}, 6},
		{autoscalingv2.CrossVersionObjectReference{}, 3},
		{autoscalingv2.MetricSpec{}, 6},
		{autoscalingv2.ObjectMetricSource{}, 3},
		{autoscalingv2.PodsMetricSource{}, 2},
		{autoscalingv2.ResourceMetricSource{}, 2},
		{autoscalingv2.ContainerResourceMetricSource{}, 3},
		{autoscalingv2.ExternalMetricSource{}, 2},
		{autoscalingv2.MetricIdentifier{}, 2},
		{autoscalingv2.MetricTarget{}, 4},
		{autoscalingv2.MetricStatus{}, 6},
		{autoscalingv2.ObjectMetricStatus{}, 3},
		{autoscalingv2.PodsMetricStatus{}, 2},
		{autoscalingv2.ResourceMetricStatus{}, 2},
		{autoscalingv2.ContainerResourceMetricStatus{}, 3},
		{autoscalingv2.ExternalMetricStatus{}, 2},
		{autoscalingv2.MetricValueStatus{}, 3},

		{autoscalingv1.HorizontalPodAutoscaler{}, 4},
		{autoscalingv1.HorizontalPodAutoscalerSpec{}, 4},
		{autoscalingv1.HorizontalPodAutoscalerStatus{}, 5},
		{autoscalingv1.HorizontalPodAutoscalerCondition{}, 6},
		{autoscalingv1.CrossVersionObjectReference{}, 3},
		{autoscalingv1.MetricSpec{}, 6},
		{autoscalingv1.ObjectMetricSource{}, 5},
		{autoscalingv1.PodsMetricSource{}, 3},
		{autoscalingv1.ResourceMetricSource{}, 3},
		{autoscalingv1.ContainerResourceMetricSource{}, 4},
		{autoscalingv1.ExternalMetricSource{}, 4},
		{autoscalingv1.MetricStatus{}, 6},
		{autoscalingv1.ObjectMetricStatus{}, 5},
		{autoscalingv1.PodsMetricStatus{}, 3},
		{autoscalingv1.ResourceMetricStatus{}, 3},
		{autoscalingv1.ContainerResourceMetricStatus{}, 4},
		{autoscalingv1.ExternalMetricStatus{}, 4},
	}
	for _, tt := range tests {
		typ := reflect.TypeOf(tt.typ)
		if got := typ.NumField(); got != tt.fields {
			t.Errorf("%v has %d fields; want %d: the HPA conversion does not know the new ones", typ, got, tt.fields)
		}
	}
}
