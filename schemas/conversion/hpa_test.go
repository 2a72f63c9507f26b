package conversion

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var (
	v1TypeMeta = metav1.TypeMeta{APIVersion: "autoscaling/v1", Kind: "HorizontalPodAutoscaler"}
	v2TypeMeta = metav1.TypeMeta{APIVersion: "autoscaling/v2", Kind: "HorizontalPodAutoscaler"}

	// JSON carries metav1.Time to the second, so fixtures use whole seconds.
	transitionTime = metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))

	ingress       = autoscalingv2.CrossVersionObjectReference{APIVersion: "networking.k8s.io/v1", Kind: "Ingress", Name: "main-route"}
	queueSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"queue": "worker_tasks"}}
)

func q(s string) *resource.Quantity { return new(resource.MustParse(s)) }

// Metric specs, one of each source type, in forms autoscaling/v1 can carry
// without loss.
func cpuMetric(percent int32) autoscalingv2.MetricSpec {
	return autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
		Name:   corev1.ResourceCPU,
		Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: new(percent)},
	}}
}

func memoryMetric() autoscalingv2.MetricSpec {
	return autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
		Name:   corev1.ResourceMemory,
		Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: q("500Mi")},
	}}
}

func podsMetric() autoscalingv2.MetricSpec {
	return autoscalingv2.MetricSpec{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
		Metric: autoscalingv2.MetricIdentifier{Name: "packets-per-second"},
		Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: q("1k")},
	}}
}

func objectMetric() autoscalingv2.MetricSpec {
	return autoscalingv2.MetricSpec{Type: autoscalingv2.ObjectMetricSourceType, Object: &autoscalingv2.ObjectMetricSource{
		DescribedObject: ingress,
		Metric:          autoscalingv2.MetricIdentifier{Name: "requests-per-second"},
		Target:          autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, Value: q("10k")},
	}}
}

func containerMetric() autoscalingv2.MetricSpec {
	return autoscalingv2.MetricSpec{Type: autoscalingv2.ContainerResourceMetricSourceType, ContainerResource: &autoscalingv2.ContainerResourceMetricSource{
		Name:      corev1.ResourceCPU,
		Container: "app",
		Target:    autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: new(int32(60))},
	}}
}

func externalMetric() autoscalingv2.MetricSpec {
	return autoscalingv2.MetricSpec{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
		Metric: autoscalingv2.MetricIdentifier{Name: "queue_messages_ready", Selector: queueSelector},
		Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: q("30")},
	}}
}

// Metric statuses, again in forms autoscaling/v1 can carry without loss.
func cpuStatus(percent int32, average string) autoscalingv2.MetricStatus {
	return autoscalingv2.MetricStatus{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{
		Name:    corev1.ResourceCPU,
		Current: autoscalingv2.MetricValueStatus{AverageValue: q(average), AverageUtilization: new(percent)},
	}}
}

func podsStatus() autoscalingv2.MetricStatus {
	return autoscalingv2.MetricStatus{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricStatus{
		Metric:  autoscalingv2.MetricIdentifier{Name: "packets-per-second"},
		Current: autoscalingv2.MetricValueStatus{AverageValue: q("800")},
	}}
}

func objectStatus() autoscalingv2.MetricStatus {
	return autoscalingv2.MetricStatus{Type: autoscalingv2.ObjectMetricSourceType, Object: &autoscalingv2.ObjectMetricStatus{
		DescribedObject: ingress,
		Metric:          autoscalingv2.MetricIdentifier{Name: "requests-per-second"},
		Current:         autoscalingv2.MetricValueStatus{Value: q("9k")},
	}}
}

func externalStatus() autoscalingv2.MetricStatus {
	return autoscalingv2.MetricStatus{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricStatus{
		Metric:  autoscalingv2.MetricIdentifier{Name: "queue_messages_ready", Selector: queueSelector},
		Current: autoscalingv2.MetricValueStatus{Value: q("120"), AverageValue: q("25")},
	}}
}

func behavior() *autoscalingv2.HorizontalPodAutoscalerBehavior {
	return &autoscalingv2.HorizontalPodAutoscalerBehavior{
		ScaleUp: &autoscalingv2.HPAScalingRules{
			StabilizationWindowSeconds: new(int32(0)),
			SelectPolicy:               new(autoscalingv2.MaxChangePolicySelect),
			Policies: []autoscalingv2.HPAScalingPolicy{
				{Type: autoscalingv2.PodsScalingPolicy, Value: 4, PeriodSeconds: 15},
				{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 15},
			},
		},
		ScaleDown: &autoscalingv2.HPAScalingRules{
			StabilizationWindowSeconds: new(int32(300)),
			Policies:                   []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 15}},
			Tolerance:                  q("50m"),
		},
	}
}

// The annotations HPAToV1 writes for the fixtures above, byte for byte as
// upstream writes them.
const (
	otherMetricsJSON = `[` +
		`{"type":"Resource","resource":{"name":"memory","targetAverageValue":"500Mi"}},` +
		`{"type":"Pods","pods":{"metricName":"packets-per-second","targetAverageValue":"1k"}},` +
		`{"type":"Object","object":{"target":{"kind":"Ingress","name":"main-route","apiVersion":"networking.k8s.io/v1"},"metricName":"requests-per-second","targetValue":"10k"}},` +
		`{"type":"ContainerResource","containerResource":{"name":"cpu","targetAverageUtilization":60,"container":"app"}},` +
		`{"type":"External","external":{"metricName":"queue_messages_ready","metricSelector":{"matchLabels":{"queue":"worker_tasks"}},"targetAverageValue":"30"}}` +
		`]`
	currentMetricsJSON = `[` +
		`{"type":"Resource","resource":{"name":"cpu","currentAverageUtilization":40,"currentAverageValue":"250m"}},` +
		`{"type":"Pods","pods":{"metricName":"packets-per-second","currentAverageValue":"800"}},` +
		`{"type":"Object","object":{"target":{"kind":"Ingress","name":"main-route","apiVersion":"networking.k8s.io/v1"},"metricName":"requests-per-second","currentValue":"9k"}},` +
		`{"type":"External","external":{"metricName":"queue_messages_ready","metricSelector":{"matchLabels":{"queue":"worker_tasks"}},"currentValue":"120","currentAverageValue":"25"}}` +
		`]`
	behaviorJSON = `{` +
		`"ScaleUp":{"StabilizationWindowSeconds":0,"SelectPolicy":"Max","Policies":[{"Type":"Pods","Value":4,"PeriodSeconds":15},{"Type":"Percent","Value":100,"PeriodSeconds":15}],"Tolerance":null},` +
		`"ScaleDown":{"StabilizationWindowSeconds":300,"SelectPolicy":null,"Policies":[{"Type":"Percent","Value":100,"PeriodSeconds":15}],"Tolerance":"50m"}` +
		`}`
	conditionsJSON = `[` +
		`{"type":"AbleToScale","status":"True","lastTransitionTime":"2026-01-02T03:04:05Z","reason":"ReadyForNewScale","message":"recommended size matches current size"},` +
		`{"type":"ScalingActive","status":"True","lastTransitionTime":"2026-01-02T03:04:05Z","reason":"ValidMetricFound","observedGeneration":3}` +
		`]`
)

func conditions() []autoscalingv2.HorizontalPodAutoscalerCondition {
	return []autoscalingv2.HorizontalPodAutoscalerCondition{
		{Type: autoscalingv2.AbleToScale, Status: corev1.ConditionTrue, LastTransitionTime: transitionTime, Reason: "ReadyForNewScale", Message: "recommended size matches current size"},
		{Type: autoscalingv2.ScalingActive, Status: corev1.ConditionTrue, LastTransitionTime: transitionTime, Reason: "ValidMetricFound", ObservedGeneration: new(int64(3))},
	}
}

func meta(annotations map[string]string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: "shop", Name: "web", Generation: 3, Annotations: annotations}
}

var (
	v2ScaleTarget = autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"}
	v1ScaleTarget = autoscalingv1.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"}
)

// fullV2 is an HPA that uses every part of autoscaling/v2, in a form that
// survives v2 → v1 → v2 unchanged. Its CPU utilization metric is last, where
// HPAFromV1 puts it.
func fullV2() *autoscalingv2.HorizontalPodAutoscaler {
	return &autoscalingv2.HorizontalPodAutoscaler{
		TypeMeta:   v2TypeMeta,
		ObjectMeta: meta(map[string]string{"team": "storefront"}),
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: v2ScaleTarget,
			MinReplicas:    new(int32(2)),
			MaxReplicas:    10,
			Metrics:        []autoscalingv2.MetricSpec{memoryMetric(), podsMetric(), objectMetric(), containerMetric(), externalMetric(), cpuMetric(50)},
			Behavior:       behavior(),
		},
		Status: autoscalingv2.HorizontalPodAutoscalerStatus{
			ObservedGeneration: new(int64(3)),
			LastScaleTime:      &transitionTime,
			CurrentReplicas:    4,
			DesiredReplicas:    5,
			CurrentMetrics:     []autoscalingv2.MetricStatus{cpuStatus(40, "250m"), podsStatus(), objectStatus(), externalStatus()},
			Conditions:         conditions(),
		},
	}
}

// fullV1 is fullV2 as HPAToV1 gives it.
func fullV1() *autoscalingv1.HorizontalPodAutoscaler {
	return &autoscalingv1.HorizontalPodAutoscaler{
		TypeMeta: v1TypeMeta,
		ObjectMeta: meta(map[string]string{
			"team":                   "storefront",
			MetricSpecsAnnotation:    otherMetricsJSON,
			MetricStatusesAnnotation: currentMetricsJSON,
			BehaviorAnnotation:       behaviorJSON,
			ConditionsAnnotation:     conditionsJSON,
		}),
		Spec: autoscalingv1.HorizontalPodAutoscalerSpec{
			ScaleTargetRef:                 v1ScaleTarget,
			MinReplicas:                    new(int32(2)),
			MaxReplicas:                    10,
			TargetCPUUtilizationPercentage: new(int32(50)),
		},
		Status: autoscalingv1.HorizontalPodAutoscalerStatus{
			ObservedGeneration:              new(int64(3)),
			LastScaleTime:                   &transitionTime,
			CurrentReplicas:                 4,
			DesiredReplicas:                 5,
			CurrentCPUUtilizationPercentage: new(int32(40)),
		},
	}
}

func TestHPAToV1(t *testing.T) {
	tests := []struct {
		name string
		in   *autoscalingv2.HorizontalPodAutoscaler
		want *autoscalingv1.HorizontalPodAutoscaler
	}{{
		name: "nil",
	}, {
		name: "a CPU utilization target needs no annotation",
		in: &autoscalingv2.HorizontalPodAutoscaler{
			ObjectMeta: meta(nil),
			Spec:       autoscalingv2.HorizontalPodAutoscalerSpec{ScaleTargetRef: v2ScaleTarget, MaxReplicas: 3, Metrics: []autoscalingv2.MetricSpec{cpuMetric(70)}},
		},
		want: &autoscalingv1.HorizontalPodAutoscaler{
			TypeMeta:   v1TypeMeta,
			ObjectMeta: meta(nil),
			Spec:       autoscalingv1.HorizontalPodAutoscalerSpec{ScaleTargetRef: v1ScaleTarget, MaxReplicas: 3, TargetCPUUtilizationPercentage: new(int32(70))},
		},
	}, {
		name: "every metric type, behavior, current metrics and conditions",
		in:   fullV2(),
		want: fullV1(),
	}, {
		name: "the first CPU utilization metric is the target, and the others are dropped",
		in: &autoscalingv2.HorizontalPodAutoscaler{
			ObjectMeta: meta(nil),
			Spec:       autoscalingv2.HorizontalPodAutoscalerSpec{MaxReplicas: 3, Metrics: []autoscalingv2.MetricSpec{podsMetric(), cpuMetric(70), cpuMetric(90)}},
		},
		want: &autoscalingv1.HorizontalPodAutoscaler{
			TypeMeta: v1TypeMeta,
			ObjectMeta: meta(map[string]string{
				MetricSpecsAnnotation: `[{"type":"Pods","pods":{"metricName":"packets-per-second","targetAverageValue":"1k"}}]`,
			}),
			Spec: autoscalingv1.HorizontalPodAutoscalerSpec{MaxReplicas: 3, TargetCPUUtilizationPercentage: new(int32(70))},
		},
	}, {
		name: "a CPU average value target and a memory utilization target are other metrics",
		in: &autoscalingv2.HorizontalPodAutoscaler{
			ObjectMeta: meta(nil),
			Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MaxReplicas: 3, Metrics: []autoscalingv2.MetricSpec{
				{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
					Name:   corev1.ResourceCPU,
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: q("200m")},
				}},
				{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
					Name:   corev1.ResourceMemory,
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: new(int32(70))},
				}},
			}},
		},
		want: &autoscalingv1.HorizontalPodAutoscaler{
			TypeMeta: v1TypeMeta,
			ObjectMeta: meta(map[string]string{
				MetricSpecsAnnotation: `[{"type":"Resource","resource":{"name":"cpu","targetAverageValue":"200m"}},` +
					`{"type":"Resource","resource":{"name":"memory","targetAverageUtilization":70}}]`,
			}),
			Spec: autoscalingv1.HorizontalPodAutoscalerSpec{MaxReplicas: 3},
		},
	}, {
		name: "the last current CPU utilization wins, and every current metric is kept",
		in: &autoscalingv2.HorizontalPodAutoscaler{
			ObjectMeta: meta(nil),
			Spec:       autoscalingv2.HorizontalPodAutoscalerSpec{MaxReplicas: 3, Metrics: []autoscalingv2.MetricSpec{cpuMetric(50)}},
			Status: autoscalingv2.HorizontalPodAutoscalerStatus{
				CurrentMetrics: []autoscalingv2.MetricStatus{cpuStatus(40, "250m"), cpuStatus(45, "270m")},
			},
		},
		want: &autoscalingv1.HorizontalPodAutoscaler{
			TypeMeta: v1TypeMeta,
			ObjectMeta: meta(map[string]string{
				MetricStatusesAnnotation: `[{"type":"Resource","resource":{"name":"cpu","currentAverageUtilization":40,"currentAverageValue":"250m"}},` +
					`{"type":"Resource","resource":{"name":"cpu","currentAverageUtilization":45,"currentAverageValue":"270m"}}]`,
			}),
			Spec:   autoscalingv1.HorizontalPodAutoscalerSpec{MaxReplicas: 3, TargetCPUUtilizationPercentage: new(int32(50))},
			Status: autoscalingv1.HorizontalPodAutoscalerStatus{CurrentCPUUtilizationPercentage: new(int32(45))},
		},
	}, {
		name: "stale round-trip annotations are dropped and others kept",
		in: &autoscalingv2.HorizontalPodAutoscaler{
			ObjectMeta: meta(map[string]string{
				"team":                       "storefront",
				MetricSpecsAnnotation:        "stale",
				MetricStatusesAnnotation:     "stale",
				BehaviorAnnotation:           "stale",
				ConditionsAnnotation:         "stale",
				scaleUpToleranceAnnotation:   "stale",
				scaleDownToleranceAnnotation: "stale",
			}),
			Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MaxReplicas: 3, Metrics: []autoscalingv2.MetricSpec{cpuMetric(50)}},
		},
		want: &autoscalingv1.HorizontalPodAutoscaler{
			TypeMeta:   v1TypeMeta,
			ObjectMeta: meta(map[string]string{"team": "storefront"}),
			Spec:       autoscalingv1.HorizontalPodAutoscalerSpec{MaxReplicas: 3, TargetCPUUtilizationPercentage: new(int32(50))},
		},
	}, {
		name: "an annotations map holding only stale round-trip annotations becomes nil",
		in: &autoscalingv2.HorizontalPodAutoscaler{
			ObjectMeta: meta(map[string]string{MetricSpecsAnnotation: "stale"}),
			Spec:       autoscalingv2.HorizontalPodAutoscalerSpec{MaxReplicas: 3, Metrics: []autoscalingv2.MetricSpec{cpuMetric(50)}},
		},
		want: &autoscalingv1.HorizontalPodAutoscaler{
			TypeMeta:   v1TypeMeta,
			ObjectMeta: meta(nil),
			Spec:       autoscalingv1.HorizontalPodAutoscalerSpec{MaxReplicas: 3, TargetCPUUtilizationPercentage: new(int32(50))},
		},
	}, {
		name: "quantities v1 does not declare as pointers become 0",
		in: &autoscalingv2.HorizontalPodAutoscaler{
			ObjectMeta: meta(nil),
			Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MaxReplicas: 3, Metrics: []autoscalingv2.MetricSpec{
				{Type: autoscalingv2.ObjectMetricSourceType, Object: &autoscalingv2.ObjectMetricSource{
					DescribedObject: ingress,
					Metric:          autoscalingv2.MetricIdentifier{Name: "requests-per-second"},
					Target:          autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: q("100")},
				}},
			}},
			Status: autoscalingv2.HorizontalPodAutoscalerStatus{CurrentMetrics: []autoscalingv2.MetricStatus{
				{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{
					Name:    corev1.ResourceCPU,
					Current: autoscalingv2.MetricValueStatus{AverageUtilization: new(int32(40))},
				}},
			}},
		},
		want: &autoscalingv1.HorizontalPodAutoscaler{
			TypeMeta: v1TypeMeta,
			ObjectMeta: meta(map[string]string{
				MetricSpecsAnnotation: `[{"type":"Object","object":{"target":{"kind":"Ingress","name":"main-route","apiVersion":"networking.k8s.io/v1"},` +
					`"metricName":"requests-per-second","targetValue":"0","averageValue":"100"}}]`,
				MetricStatusesAnnotation: `[{"type":"Resource","resource":{"name":"cpu","currentAverageUtilization":40,"currentAverageValue":"0"}}]`,
			}),
			Spec:   autoscalingv1.HorizontalPodAutoscalerSpec{MaxReplicas: 3},
			Status: autoscalingv1.HorizontalPodAutoscalerStatus{CurrentCPUUtilizationPercentage: new(int32(40))},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := HPAToV1(tt.in)
			if err != nil {
				t.Fatalf("HPAToV1() error = %v; want nil", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("HPAToV1() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHPAFromV1(t *testing.T) {
	tests := []struct {
		name string
		in   *autoscalingv1.HorizontalPodAutoscaler
		want *autoscalingv2.HorizontalPodAutoscaler
	}{{
		name: "nil",
	}, {
		name: "no target gets the implicit CPU target of 80%",
		in: &autoscalingv1.HorizontalPodAutoscaler{
			ObjectMeta: meta(nil),
			Spec:       autoscalingv1.HorizontalPodAutoscalerSpec{ScaleTargetRef: v1ScaleTarget, MaxReplicas: 3},
		},
		want: &autoscalingv2.HorizontalPodAutoscaler{
			TypeMeta:   v2TypeMeta,
			ObjectMeta: meta(nil),
			Spec:       autoscalingv2.HorizontalPodAutoscalerSpec{ScaleTargetRef: v2ScaleTarget, MaxReplicas: 3, Metrics: []autoscalingv2.MetricSpec{cpuMetric(80)}},
		},
	}, {
		name: "the CPU targets become Resource metrics",
		in: &autoscalingv1.HorizontalPodAutoscaler{
			ObjectMeta: meta(nil),
			Spec:       autoscalingv1.HorizontalPodAutoscalerSpec{MaxReplicas: 3, TargetCPUUtilizationPercentage: new(int32(65))},
			Status:     autoscalingv1.HorizontalPodAutoscalerStatus{CurrentReplicas: 2, DesiredReplicas: 3, CurrentCPUUtilizationPercentage: new(int32(90))},
		},
		want: &autoscalingv2.HorizontalPodAutoscaler{
			TypeMeta:   v2TypeMeta,
			ObjectMeta: meta(nil),
			Spec:       autoscalingv2.HorizontalPodAutoscalerSpec{MaxReplicas: 3, Metrics: []autoscalingv2.MetricSpec{cpuMetric(65)}},
			Status: autoscalingv2.HorizontalPodAutoscalerStatus{
				CurrentReplicas: 2,
				DesiredReplicas: 3,
				CurrentMetrics: []autoscalingv2.MetricStatus{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{
					Name:    corev1.ResourceCPU,
					Current: autoscalingv2.MetricValueStatus{AverageUtilization: new(int32(90))},
				}}},
			},
		},
	}, {
		name: "the annotations restore every part of v2",
		in:   fullV1(),
		want: fullV2(),
	}, {
		name: "metric statuses from the annotation replace the current CPU utilization",
		in: &autoscalingv1.HorizontalPodAutoscaler{
			ObjectMeta: meta(map[string]string{
				MetricStatusesAnnotation: `[{"type":"Pods","pods":{"metricName":"packets-per-second","currentAverageValue":"800"}}]`,
			}),
			Spec:   autoscalingv1.HorizontalPodAutoscalerSpec{MaxReplicas: 3, TargetCPUUtilizationPercentage: new(int32(65))},
			Status: autoscalingv1.HorizontalPodAutoscalerStatus{CurrentCPUUtilizationPercentage: new(int32(90))},
		},
		want: &autoscalingv2.HorizontalPodAutoscaler{
			TypeMeta:   v2TypeMeta,
			ObjectMeta: meta(nil),
			Spec:       autoscalingv2.HorizontalPodAutoscalerSpec{MaxReplicas: 3, Metrics: []autoscalingv2.MetricSpec{cpuMetric(65)}},
			Status:     autoscalingv2.HorizontalPodAutoscalerStatus{CurrentMetrics: []autoscalingv2.MetricStatus{podsStatus()}},
		},
	}, {
		name: "target types are inferred and v1's value quantities are always set",
		in: &autoscalingv1.HorizontalPodAutoscaler{
			ObjectMeta: meta(map[string]string{
				MetricSpecsAnnotation: `[` +
					`{"type":"Object","object":{"target":{"kind":"Ingress","name":"main-route"},"metricName":"rps","targetValue":"0","averageValue":"100"}},` +
					`{"type":"External","external":{"metricName":"queue","targetValue":"7"}},` +
					`{"type":"Resource","resource":{"name":"memory","targetAverageValue":"1Gi"}}` +
					`]`,
				MetricStatusesAnnotation: `[{"type":"External","external":{"metricName":"queue","currentValue":"0","currentAverageValue":"3"}}]`,
			}),
			Spec: autoscalingv1.HorizontalPodAutoscalerSpec{MaxReplicas: 3},
		},
		want: &autoscalingv2.HorizontalPodAutoscaler{
			TypeMeta:   v2TypeMeta,
			ObjectMeta: meta(nil),
			Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MaxReplicas: 3, Metrics: []autoscalingv2.MetricSpec{
				{Type: autoscalingv2.ObjectMetricSourceType, Object: &autoscalingv2.ObjectMetricSource{
					DescribedObject: autoscalingv2.CrossVersionObjectReference{Kind: "Ingress", Name: "main-route"},
					Metric:          autoscalingv2.MetricIdentifier{Name: "rps"},
					Target:          autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, Value: q("0"), AverageValue: q("100")},
				}},
				{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
					Metric: autoscalingv2.MetricIdentifier{Name: "queue"},
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, Value: q("7")},
				}},
				{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
					Name:   corev1.ResourceMemory,
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: q("1Gi")},
				}},
			}},
			Status: autoscalingv2.HorizontalPodAutoscalerStatus{CurrentMetrics: []autoscalingv2.MetricStatus{
				{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricStatus{
					Metric:  autoscalingv2.MetricIdentifier{Name: "queue"},
					Current: autoscalingv2.MetricValueStatus{Value: q("0"), AverageValue: q("3")},
				}},
			}},
		},
	}, {
		name: "the behavior annotation is read without regard to key case",
		in: &autoscalingv1.HorizontalPodAutoscaler{
			ObjectMeta: meta(map[string]string{
				BehaviorAnnotation: `{"scaleDown":{"stabilizationWindowSeconds":60,"policies":[{"type":"Pods","value":1,"periodSeconds":30}],"tolerance":"0.1"}}`,
			}),
			Spec: autoscalingv1.HorizontalPodAutoscalerSpec{MaxReplicas: 3, TargetCPUUtilizationPercentage: new(int32(65))},
		},
		want: &autoscalingv2.HorizontalPodAutoscaler{
			TypeMeta:   v2TypeMeta,
			ObjectMeta: meta(nil),
			Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
				MaxReplicas: 3,
				Metrics:     []autoscalingv2.MetricSpec{cpuMetric(65)},
				Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: &autoscalingv2.HPAScalingRules{
					StabilizationWindowSeconds: new(int32(60)),
					Policies:                   []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PodsScalingPolicy, Value: 1, PeriodSeconds: 30}},
					Tolerance:                  q("100m"),
				}},
			},
		},
	}, {
		name: "an empty behavior, malformed annotations and the v2beta2 tolerance annotations are dropped",
		in: &autoscalingv1.HorizontalPodAutoscaler{
			ObjectMeta: meta(map[string]string{
				"team":                       "storefront",
				BehaviorAnnotation:           `{"ScaleUp":null}`,
				MetricSpecsAnnotation:        `{not json`,
				MetricStatusesAnnotation:     `"a string"`,
				ConditionsAnnotation:         `[{"type":7}]`,
				scaleUpToleranceAnnotation:   "0.1",
				scaleDownToleranceAnnotation: "0.1",
			}),
			Spec: autoscalingv1.HorizontalPodAutoscalerSpec{MaxReplicas: 3, TargetCPUUtilizationPercentage: new(int32(65))},
		},
		want: &autoscalingv2.HorizontalPodAutoscaler{
			TypeMeta:   v2TypeMeta,
			ObjectMeta: meta(map[string]string{"team": "storefront"}),
			Spec:       autoscalingv2.HorizontalPodAutoscalerSpec{MaxReplicas: 3, Metrics: []autoscalingv2.MetricSpec{cpuMetric(65)}},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := HPAFromV1(tt.in)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("HPAFromV1() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestHPARoundTrip checks that v2 → v1 → v2 gives back the input, and that
// the v1 form is stable: a v1 client that reads an HPA and writes it back
// unchanged changes nothing.
func TestHPARoundTrip(t *testing.T) {
	withBehavior := func(b *autoscalingv2.HorizontalPodAutoscalerBehavior) *autoscalingv2.HorizontalPodAutoscaler {
		hpa := fullV2()
		hpa.Spec.Behavior = b
		return hpa
	}
	tests := []struct {
		name string
		in   *autoscalingv2.HorizontalPodAutoscaler
	}{{
		name: "every metric type, behavior, current metrics and conditions",
		in:   fullV2(),
	}, {
		name: "CPU utilization only",
		in: &autoscalingv2.HorizontalPodAutoscaler{
			TypeMeta:   v2TypeMeta,
			ObjectMeta: meta(nil),
			Spec:       autoscalingv2.HorizontalPodAutoscalerSpec{ScaleTargetRef: v2ScaleTarget, MaxReplicas: 3, Metrics: []autoscalingv2.MetricSpec{cpuMetric(70)}},
		},
	}, {
		name: "no CPU metric",
		in: &autoscalingv2.HorizontalPodAutoscaler{
			TypeMeta:   v2TypeMeta,
			ObjectMeta: meta(map[string]string{"team": "storefront"}),
			Spec:       autoscalingv2.HorizontalPodAutoscalerSpec{MaxReplicas: 3, Metrics: []autoscalingv2.MetricSpec{externalMetric(), podsMetric()}},
			Status:     autoscalingv2.HorizontalPodAutoscalerStatus{CurrentMetrics: []autoscalingv2.MetricStatus{externalStatus(), podsStatus()}},
		},
	}, {
		name: "behavior with scale up only",
		in:   withBehavior(&autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: behavior().ScaleUp}),
	}, {
		name: "behavior with empty rules",
		in: withBehavior(&autoscalingv2.HorizontalPodAutoscalerBehavior{
			ScaleUp:   &autoscalingv2.HPAScalingRules{},
			ScaleDown: &autoscalingv2.HPAScalingRules{Policies: []autoscalingv2.HPAScalingPolicy{}},
		}),
	}, {
		name: "behavior with tolerances only",
		in: withBehavior(&autoscalingv2.HorizontalPodAutoscalerBehavior{
			ScaleUp:   &autoscalingv2.HPAScalingRules{Tolerance: q("0")},
			ScaleDown: &autoscalingv2.HPAScalingRules{Tolerance: q("0.05")},
		}),
	}, {
		name: "no behavior",
		in:   withBehavior(nil),
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v1, err := HPAToV1(tt.in)
			if err != nil {
				t.Fatalf("HPAToV1() error = %v; want nil", err)
			}
			got := HPAFromV1(v1)
			if diff := cmp.Diff(tt.in, got); diff != "" {
				t.Errorf("HPAFromV1(HPAToV1(in)) mismatch (-in +got):\n%s", diff)
			}
			again, err := HPAToV1(HPAFromV1(v1))
			if err != nil {
				t.Fatalf("HPAToV1() error = %v; want nil", err)
			}
			if diff := cmp.Diff(v1, again); diff != "" {
				t.Errorf("HPAToV1(HPAFromV1(v1)) mismatch (-v1 +got):\n%s", diff)
			}
		})
	}
}

// TestHPARoundTripLoss pins down what v2 → v1 → v2 changes. Upstream's
// conversion makes the same changes.
func TestHPARoundTripLoss(t *testing.T) {
	hpa := func(metrics []autoscalingv2.MetricSpec, current []autoscalingv2.MetricStatus) *autoscalingv2.HorizontalPodAutoscaler {
		return &autoscalingv2.HorizontalPodAutoscaler{
			TypeMeta:   v2TypeMeta,
			ObjectMeta: meta(nil),
			Spec:       autoscalingv2.HorizontalPodAutoscalerSpec{MaxReplicas: 3, Metrics: metrics},
			Status:     autoscalingv2.HorizontalPodAutoscalerStatus{CurrentMetrics: current},
		}
	}
	tests := []struct {
		name     string
		in, want *autoscalingv2.HorizontalPodAutoscaler
	}{{
		name: "the CPU utilization metric moves last",
		in:   hpa([]autoscalingv2.MetricSpec{cpuMetric(50), podsMetric()}, nil),
		want: hpa([]autoscalingv2.MetricSpec{podsMetric(), cpuMetric(50)}, nil),
	}, {
		name: "a second CPU utilization metric is lost",
		in:   hpa([]autoscalingv2.MetricSpec{cpuMetric(50), cpuMetric(60)}, nil),
		want: hpa([]autoscalingv2.MetricSpec{cpuMetric(50)}, nil),
	}, {
		name: "no metrics become the implicit CPU target",
		in:   hpa(nil, nil),
		want: hpa([]autoscalingv2.MetricSpec{cpuMetric(80)}, nil),
	}, {
		name: "target fields v1 cannot hold are lost and types are inferred",
		in: hpa([]autoscalingv2.MetricSpec{
			{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
				Metric: autoscalingv2.MetricIdentifier{Name: "pps"},
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, Value: q("5"), AverageValue: q("1")},
			}},
			{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Name:   corev1.ResourceMemory,
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, Value: q("1Gi")},
			}},
		}, nil),
		want: hpa([]autoscalingv2.MetricSpec{
			{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
				Metric: autoscalingv2.MetricIdentifier{Name: "pps"},
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: q("1")},
			}},
			{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Name:   corev1.ResourceMemory,
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType},
			}},
		}, nil),
	}, {
		name: "missing quantities that v1 declares as values come back as 0",
		in: hpa([]autoscalingv2.MetricSpec{
			{Type: autoscalingv2.ObjectMetricSourceType, Object: &autoscalingv2.ObjectMetricSource{
				DescribedObject: ingress,
				Metric:          autoscalingv2.MetricIdentifier{Name: "rps"},
				Target:          autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: q("100")},
			}},
		}, []autoscalingv2.MetricStatus{
			{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{
				Name:    corev1.ResourceCPU,
				Current: autoscalingv2.MetricValueStatus{AverageUtilization: new(int32(40))},
			}},
			{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricStatus{
				Metric:  autoscalingv2.MetricIdentifier{Name: "queue"},
				Current: autoscalingv2.MetricValueStatus{AverageValue: q("3")},
			}},
		}),
		want: hpa([]autoscalingv2.MetricSpec{
			{Type: autoscalingv2.ObjectMetricSourceType, Object: &autoscalingv2.ObjectMetricSource{
				DescribedObject: ingress,
				Metric:          autoscalingv2.MetricIdentifier{Name: "rps"},
				Target:          autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, Value: q("0"), AverageValue: q("100")},
			}},
		}, []autoscalingv2.MetricStatus{
			{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{
				Name:    corev1.ResourceCPU,
				Current: autoscalingv2.MetricValueStatus{AverageValue: q("0"), AverageUtilization: new(int32(40))},
			}},
			{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricStatus{
				Metric:  autoscalingv2.MetricIdentifier{Name: "queue"},
				Current: autoscalingv2.MetricValueStatus{Value: q("0"), AverageValue: q("3")},
			}},
		}),
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v1, err := HPAToV1(tt.in)
			if err != nil {
				t.Fatalf("HPAToV1() error = %v; want nil", err)
			}
			if diff := cmp.Diff(tt.want, HPAFromV1(v1)); diff != "" {
				t.Errorf("HPAFromV1(HPAToV1(in)) mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHPANoAliasing(t *testing.T) {
	t.Run("HPAToV1", func(t *testing.T) {
		in := fullV2()
		out, err := HPAToV1(in)
		if err != nil {
			t.Fatalf("HPAToV1() error = %v; want nil", err)
		}
		checkNoAliasing(t, in, out)
	})
	t.Run("HPAFromV1", func(t *testing.T) {
		in := fullV1()
		in.Spec.TargetCPUUtilizationPercentage = nil // so Spec.Metrics is built from the annotation alone
		checkNoAliasing(t, in, HPAFromV1(in))
	})
}
