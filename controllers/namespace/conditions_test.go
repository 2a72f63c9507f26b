package namespace

import (
	"errors"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tendhq/tend/schemas"
)

func TestConditionsFor(t *testing.T) {
	tests := []struct {
		name string
		errs []error
		left content
		want map[corev1.NamespaceConditionType]string // failing type -> message
	}{
		{"all gone", nil, content{}, map[corev1.NamespaceConditionType]string{}},
		{"content and finalizers remain", nil,
			content{resources: map[string]int{"pods.": 2, "deployments.apps": 1, "secrets.": 0}, finalizers: map[string]int{"b/hold": 1, "a/hold": 2}},
			map[corev1.NamespaceConditionType]string{
				corev1.NamespaceContentRemaining:    "Some resources are remaining: deployments.apps has 1 resource instances, pods. has 2 resource instances",
				corev1.NamespaceFinalizersRemaining: "Some finalizers are remaining: a/hold in 2 resource instances, b/hold in 1 resource instances",
			}},
		{"deletions failed", []error{errors.New("b failed"), errors.New("a failed")}, content{},
			map[corev1.NamespaceConditionType]string{
				corev1.NamespaceDeletionContentFailure: "Failed to delete all resource types, 2 remaining: a failed, b failed",
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := conditionsFor(tt.errs, tt.left)
			if len(got) != len(tt.want) {
				t.Fatalf("conditionsFor = %v; want %d conditions", got, len(tt.want))
			}
			for _, c := range got {
				if c.Status != corev1.ConditionTrue || c.Message != tt.want[c.Type] {
					t.Errorf("condition %s = %s %q; want True %q", c.Type, c.Status, c.Message, tt.want[c.Type])
				}
			}
		})
	}
}

func TestUpdateConditions(t *testing.T) {
	t0 := metav1.NewTime(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	t1 := metav1.NewTime(t0.Add(time.Minute))
	t2 := metav1.NewTime(t0.Add(2 * time.Minute))
	remaining := conditionsFor(nil, content{resources: map[string]int{"pods.": 1}})
	fewer := []corev1.NamespaceCondition{remaining[0]}
	fewer[0].Message = "Some resources are remaining: pods. has 0 resource instances"

	var st corev1.NamespaceStatus
	if !updateConditions(&st, remaining, t0) {
		t.Fatal("the first update changed nothing; want every condition added")
	}
	if len(st.Conditions) != len(conditionTypes) {
		t.Fatalf("%d conditions; want %d, one per maintained type", len(st.Conditions), len(conditionTypes))
	}
	if updateConditions(&st, remaining, t1) {
		t.Error("the same conditions again changed the status; want no write")
	}
	if !updateConditions(&st, fewer, t1) {
		t.Error("a new message changed nothing")
	}
	c := st.Conditions[conditionIndex(st.Conditions, corev1.NamespaceContentRemaining)]
	if !c.LastTransitionTime.Equal(&t0) {
		t.Errorf("a message change moved lastTransitionTime to %v; want it kept at %v", c.LastTransitionTime, t0)
	}
	if !updateConditions(&st, nil, t2) {
		t.Error("content gone changed nothing")
	}
	c = st.Conditions[conditionIndex(st.Conditions, corev1.NamespaceContentRemaining)]
	if c.Status != corev1.ConditionFalse || c.Reason != "ContentRemoved" || !c.LastTransitionTime.Equal(&t2) {
		t.Errorf("content gone: %+v; want False, ContentRemoved, at %v", c, t2)
	}
}

func TestGraceEstimate(t *testing.T) {
	grace := func(s int64) *int64 { return &s }
	pod := func(phase corev1.PodPhase, g *int64) corev1.Pod {
		return corev1.Pod{Spec: corev1.PodSpec{TerminationGracePeriodSeconds: g}, Status: corev1.PodStatus{Phase: phase}}
	}
	tests := []struct {
		name    string
		pods    []corev1.Pod
		elapsed time.Duration
		want    int64
	}{
		{"no pods", nil, 0, 0},
		{"the longest grace period", []corev1.Pod{pod(corev1.PodRunning, grace(30)), pod(corev1.PodPending, grace(60)), pod(corev1.PodRunning, nil)}, time.Second, 60},
		{"terminated pods do not count", []corev1.Pod{pod(corev1.PodSucceeded, grace(60)), pod(corev1.PodFailed, grace(90)), pod(corev1.PodRunning, grace(10))}, 0, 10},
		{"the grace period has passed", []corev1.Pod{pod(corev1.PodRunning, grace(30))}, 30 * time.Second, 0},
	}
	for _, tt := range tests {
		if got := graceEstimate(tt.pods, tt.elapsed); got != tt.want {
			t.Errorf("%s: graceEstimate = %d; want %d", tt.name, got, tt.want)
		}
	}
}

func TestDeletableKinds(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range deletableKinds(schemas.Builtin().Kinds()) {
		if !k.Namespaced {
			t.Errorf("deletableKinds has the cluster-scoped %s", k.GroupVersionResource)
		}
		gr := k.Storage.GroupResource.String()
		if seen[gr] {
			t.Errorf("deletableKinds has %s twice", gr)
		}
		seen[gr] = true
	}
	for _, gr := range []string{"pods", "configmaps", "secrets", "services", "events", "deployments.apps", "replicasets.apps", "horizontalpodautoscalers.autoscaling"} {
		if !seen[gr] {
			t.Errorf("deletableKinds lacks %s", gr)
		}
	}
}
