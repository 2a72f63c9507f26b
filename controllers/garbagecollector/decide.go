package garbagecollector

import (
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// ownerState is what the API says about the owner an ownerReference names.
type ownerState int

const (
	// ownerSolid: the owner exists and is not deleting its dependents.
	ownerSolid ownerState = iota
	// ownerDangling: no object has the reference's coordinates and UID.
	ownerDangling
	// ownerWaiting: the owner is being deleted in the foreground, waiting for
	// its dependents to go.
	ownerWaiting
)

func (s ownerState) String() string {
	switch s {
	case ownerSolid:
		return "solid"
	case ownerDangling:
		return "dangling"
	case ownerWaiting:
		return "waiting"
	}
	return "unknown"
}

// classifiedRef is an ownerReference and the state of its owner.
type classifiedRef struct {
	ref   metav1.OwnerReference
	state ownerState
}

// verdict is what to do with a dependent whose owners were classified.
type verdict int

const (
	// keep the object as it is.
	keep verdict = iota
	// removeRefs drops the references to dangling and waiting owners from an
	// object that still has a solid owner.
	removeRefs
	// collect deletes the object.
	collect
)

// decision is the garbage collector's choice for one object: upstream's
// attemptToDeleteItem as a function of what the API said.
type decision struct {
	verdict verdict
	// refs are the owner UIDs to drop, for removeRefs.
	refs []types.UID
	// policy is the propagation policy of the delete, for collect.
	policy metav1.DeletionPropagation
	// unblock clears blockOwnerDeletion on the object's own references before
	// it is deleted in the foreground, for collect: one of its dependents
	// waits for its dependents too, and blocking both ways could deadlock.
	unblock bool
}

// dependentsState is what the graph says about the object's own dependents.
type dependentsState struct {
	// any is whether the object has dependents.
	any bool
	// deletingDependents is whether one of them is itself being deleted in the
	// foreground.
	deletingDependents bool
}

// decide chooses what to do with an object that is not being deleted, from its
// classified ownerReferences (none means no owners), its finalizers and its own
// dependents:
//   - an object with a solid owner stays, with its references to dangling or
//     waiting owners dropped;
//   - one whose owners all went, or wait for it, is collected: in the
//     foreground when an owner waits and it has dependents of its own (so
//     that the owner waits for them too), otherwise with the policy its own
//     finalizers ask for (orphan, foregroundDeletion) or Background.
func decide(refs []classifiedRef, finalizers []string, deps dependentsState) decision {
	if len(refs) == 0 {
		return decision{verdict: keep}
	}
	var solid, drop []types.UID
	waiting := false
	for _, r := range refs {
		switch r.state {
		case ownerSolid:
			solid = append(solid, r.ref.UID)
		case ownerWaiting:
			waiting = true
			drop = append(drop, r.ref.UID)
		default:
			drop = append(drop, r.ref.UID)
		}
	}
	switch {
	case len(solid) > 0 && len(drop) == 0:
		return decision{verdict: keep}
	case len(solid) > 0:
		return decision{verdict: removeRefs, refs: drop}
	case waiting && deps.any:
		return decision{verdict: collect, policy: metav1.DeletePropagationForeground, unblock: deps.deletingDependents}
	case slices.Contains(finalizers, metav1.FinalizerOrphanDependents):
		return decision{verdict: collect, policy: metav1.DeletePropagationOrphan}
	case slices.Contains(finalizers, metav1.FinalizerDeleteDependents):
		return decision{verdict: collect, policy: metav1.DeletePropagationForeground}
	default:
		return decision{verdict: collect, policy: metav1.DeletePropagationBackground}
	}
}
