package garbagecollector

import (
	"fmt"
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func classified(states ...ownerState) []classifiedRef {
	out := make([]classifiedRef, len(states))
	for i, s := range states {
		out[i] = classifiedRef{ref: metav1.OwnerReference{UID: types.UID(fmt.Sprintf("owner-%d", i))}, state: s}
	}
	return out
}

func TestDecide(t *testing.T) {
	orphan := []string{metav1.FinalizerOrphanDependents}
	foreground := []string{metav1.FinalizerDeleteDependents}
	tests := []struct {
		name       string
		refs       []classifiedRef
		finalizers []string
		deps       dependentsState
		want       decision
	}{
		{"no owners", nil, nil, dependentsState{}, decision{verdict: keep}},
		{"a solid owner", classified(ownerSolid), nil, dependentsState{}, decision{verdict: keep}},
		{"solid owners", classified(ownerSolid, ownerSolid), nil, dependentsState{any: true}, decision{verdict: keep}},
		{"the owner is gone", classified(ownerDangling), nil, dependentsState{},
			decision{verdict: collect, policy: metav1.DeletePropagationBackground}},
		{"every owner is gone", classified(ownerDangling, ownerDangling), nil, dependentsState{any: true},
			decision{verdict: collect, policy: metav1.DeletePropagationBackground}},
		{"one owner of two is gone", classified(ownerSolid, ownerDangling), nil, dependentsState{},
			decision{verdict: removeRefs, refs: []types.UID{"owner-1"}}},
		{"one owner waits, another is solid", classified(ownerWaiting, ownerSolid), nil, dependentsState{},
			decision{verdict: removeRefs, refs: []types.UID{"owner-0"}}},
		{"gone and waiting beside a solid one", classified(ownerDangling, ownerSolid, ownerWaiting), nil, dependentsState{},
			decision{verdict: removeRefs, refs: []types.UID{"owner-0", "owner-2"}}},
		{"the owner waits, no dependents", classified(ownerWaiting), nil, dependentsState{},
			decision{verdict: collect, policy: metav1.DeletePropagationBackground}},
		{"the owner waits, with dependents", classified(ownerWaiting), nil, dependentsState{any: true},
			decision{verdict: collect, policy: metav1.DeletePropagationForeground}},
		{"the owner waits, a dependent waits too", classified(ownerWaiting, ownerDangling), nil, dependentsState{any: true, deletingDependents: true},
			decision{verdict: collect, policy: metav1.DeletePropagationForeground, unblock: true}},
		{"gone owner, own orphan finalizer", classified(ownerDangling), orphan, dependentsState{any: true},
			decision{verdict: collect, policy: metav1.DeletePropagationOrphan}},
		{"gone owner, own foreground finalizer", classified(ownerDangling), foreground, dependentsState{any: true},
			decision{verdict: collect, policy: metav1.DeletePropagationForeground}},
		{"gone owner, other finalizers", classified(ownerDangling), []string{"example.com/keep"}, dependentsState{},
			decision{verdict: collect, policy: metav1.DeletePropagationBackground}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decide(tt.refs, tt.finalizers, tt.deps)
			if got.verdict != tt.want.verdict || got.policy != tt.want.policy || got.unblock != tt.want.unblock || !slices.Equal(got.refs, tt.want.refs) {
				t.Errorf("decide(%v, %v, %+v) = %+v; want %+v", states(tt.refs), tt.finalizers, tt.deps, got, tt.want)
			}
		})
	}
}

func states(refs []classifiedRef) []string {
	out := make([]string, len(refs))
	for i, r := range refs {
		out[i] = r.state.String()
	}
	return out
}
