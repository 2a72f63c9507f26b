package replicaset

import (
	"encoding/json"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
)

// Condition reasons of ReplicaFailure, upstream's.
const (
	reasonFailedCreate = "FailedCreate"
	reasonFailedDelete = "FailedDelete"
)

// nextStatus is the status s should have: active are the active pods it
// controls, terminating those being deleted, manageErr what creating or
// deleting pods failed with. countTerminating says whether the kind has
// terminatingReplicas. It does not modify s.
func nextStatus(s *set, active, terminating []*corev1.Pod, manageErr error, countTerminating bool, now time.Time) appsv1.ReplicaSetStatus {
	st := *s.status.DeepCopy()
	// The template's labels include the selector's, so the fully labeled pods
	// are among the active ones.
	template := labels.SelectorFromSet(s.template.Labels)
	var fullyLabeled, ready, available int32
	for _, p := range active {
		if template.Matches(labels.Set(p.Labels)) {
			fullyLabeled++
		}
		if isPodReady(p) {
			ready++
			if isPodAvailable(p, s.minReadySeconds, now) {
				available++
			}
		}
	}
	failure := condition(st, appsv1.ReplicaSetReplicaFailure)
	switch {
	case manageErr != nil && failure == nil:
		var reason string
		switch diff := len(active) - int(s.replicas); {
		case diff < 0:
			reason = reasonFailedCreate
		case diff > 0:
			reason = reasonFailedDelete
		}
		st.Conditions = append(withoutCondition(st.Conditions, appsv1.ReplicaSetReplicaFailure), appsv1.ReplicaSetCondition{
			Type:               appsv1.ReplicaSetReplicaFailure,
			Status:             corev1.ConditionTrue,
			LastTransitionTime: metav1.NewTime(now),
			Reason:             reason,
			Message:            manageErr.Error(),
		})
	case manageErr == nil && failure != nil:
		st.Conditions = withoutCondition(st.Conditions, appsv1.ReplicaSetReplicaFailure)
	}
	st.Replicas = int32(len(active))
	st.FullyLabeledReplicas = fullyLabeled
	st.ReadyReplicas = ready
	st.AvailableReplicas = available
	st.TerminatingReplicas = nil
	if countTerminating {
		n := int32(len(terminating))
		st.TerminatingReplicas = &n
	}
	st.ObservedGeneration = s.meta.GetGeneration()
	return st
}

func condition(st appsv1.ReplicaSetStatus, t appsv1.ReplicaSetConditionType) *appsv1.ReplicaSetCondition {
	for i := range st.Conditions {
		if st.Conditions[i].Type == t {
			return &st.Conditions[i]
		}
	}
	return nil
}

func withoutCondition(cs []appsv1.ReplicaSetCondition, t appsv1.ReplicaSetConditionType) []appsv1.ReplicaSetCondition {
	var out []appsv1.ReplicaSetCondition
	for _, c := range cs {
		if c.Type != t {
			out = append(out, c)
		}
	}
	return out
}

// statusPatch is the JSON merge patch that makes a set's status st. Every
// field is spelled out (a zero count, a null to remove the conditions), since
// a merge patch leaves alone what it omits. The UID makes it fail on a set of
// the same name created since.
func statusPatch(uid types.UID, st appsv1.ReplicaSetStatus, countTerminating bool) ([]byte, error) {
	status := map[string]any{
		"replicas":             st.Replicas,
		"fullyLabeledReplicas": st.FullyLabeledReplicas,
		"readyReplicas":        st.ReadyReplicas,
		"availableReplicas":    st.AvailableReplicas,
		"observedGeneration":   st.ObservedGeneration,
		"conditions":           nil,
	}
	if len(st.Conditions) > 0 {
		// ReplicaSetCondition and ReplicationControllerCondition are spelled
		// the same in JSON.
		status["conditions"] = st.Conditions
	}
	if countTerminating {
		status["terminatingReplicas"] = st.TerminatingReplicas
	}
	return json.Marshal(map[string]any{
		"metadata": map[string]any{"uid": uid},
		"status":   status,
	})
}
