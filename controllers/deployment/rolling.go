package deployment

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/tendhq/tend/controllers"
)

// rolloutRolling moves a RollingUpdate Deployment one step: it scales the new
// ReplicaSet up as far as maxSurge allows, or else the old ones down as far as
// maxUnavailable allows; once the rollout is complete it cleans up.
func (r *reconciler) rolloutRolling(ctx context.Context, s *state) (controllers.Result, error) {
	newRS, oldRSs, err := r.getAllReplicaSetsAndSyncRevision(ctx, s, true)
	if err != nil {
		return controllers.Result{}, err
	}
	if newRS == nil {
		return controllers.Result{}, errNoNewReplicaSet
	}
	allRSs := withNew(oldRSs, newRS)

	scaledUp, err := r.reconcileNewReplicaSet(ctx, s, allRSs, newRS)
	if err != nil {
		return controllers.Result{}, err
	}
	if scaledUp {
		return r.syncRolloutStatus(ctx, s.d, allRSs, newRS)
	}

	scaledDown, err := r.reconcileOldReplicaSets(ctx, s, oldRSs, newRS)
	if err != nil {
		return controllers.Result{}, err
	}
	if scaledDown {
		return r.syncRolloutStatus(ctx, s.d, allRSs, newRS)
	}

	if deploymentComplete(s.d, &s.d.Status) {
		if err := r.cleanupDeployment(ctx, s.d, oldRSs); err != nil {
			return controllers.Result{}, err
		}
	}
	return r.syncRolloutStatus(ctx, s.d, allRSs, newRS)
}

// reconcileNewReplicaSet scales the new ReplicaSet towards spec.replicas: down
// at once, up within maxSurge.
func (r *reconciler) reconcileNewReplicaSet(ctx context.Context, s *state, allRSs []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) (bool, error) {
	want := replicasOf(s.d.Spec.Replicas)
	switch cur := specReplicas(newRS); {
	case cur == want:
		return false, nil
	case cur > want:
		scaled, _, err := r.scaleIfNeeded(ctx, s, newRS, want)
		return scaled, err
	}
	n, err := newRSNewReplicas(s.d, allRSs, newRS, activePods(s.podMap))
	if err != nil {
		return false, err
	}
	scaled, _, err := r.scaleIfNeeded(ctx, s, newRS, n)
	return scaled, err
}

// reconcileOldReplicaSets scales the old ReplicaSets down within
// maxUnavailable, as planOldScaleDown says.
func (r *reconciler) reconcileOldReplicaSets(ctx context.Context, s *state, oldRSs []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) (bool, error) {
	steps := planOldScaleDown(s.d, oldRSs, newRS)
	for _, step := range steps {
		if _, _, err := r.scaleIfNeeded(ctx, s, step.rs, step.to); err != nil {
			return false, err
		}
	}
	return len(steps) > 0, nil
}
