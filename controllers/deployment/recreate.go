package deployment

import (
	"context"

	"github.com/tendhq/tend/controllers"
)

// rolloutRecreate moves a Recreate Deployment one step: old ReplicaSets to
// zero first; the new one created and scaled up only once no old pod runs.
func (r *reconciler) rolloutRecreate(ctx context.Context, s *state) (controllers.Result, error) {
	// No new ReplicaSet yet: creating it would start pods before the old ones stop.
	newRS, oldRSs, err := r.getAllReplicaSetsAndSyncRevision(ctx, s, false)
	if err != nil {
		return controllers.Result{}, err
	}
	allRSs := withNew(oldRSs, newRS)

	scaledDown := false
	for _, rs := range filterActive(oldRSs) {
		scaled, _, err := r.scaleIfNeeded(ctx, s, rs, 0)
		if err != nil {
			return controllers.Result{}, err
		}
		scaledDown = scaledDown || scaled
	}
	if scaledDown || oldPodsRunning(newRS, oldRSs, s.podMap) {
		return r.syncRolloutStatus(ctx, s.d, allRSs, newRS)
	}

	if newRS == nil {
		if newRS, oldRSs, err = r.getAllReplicaSetsAndSyncRevision(ctx, s, true); err != nil {
			return controllers.Result{}, err
		}
		if newRS == nil {
			return controllers.Result{}, errNoNewReplicaSet
		}
		allRSs = withNew(oldRSs, newRS)
	}
	if _, _, err := r.scaleIfNeeded(ctx, s, newRS, replicasOf(s.d.Spec.Replicas)); err != nil {
		return controllers.Result{}, err
	}

	if deploymentComplete(s.d, &s.d.Status) {
		if err := r.cleanupDeployment(ctx, s.d, oldRSs); err != nil {
			return controllers.Result{}, err
		}
	}
	return r.syncRolloutStatus(ctx, s.d, allRSs, newRS)
}
