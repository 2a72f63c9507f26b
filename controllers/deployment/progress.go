package deployment

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"

	"github.com/tendhq/tend/controllers"
)

// syncRolloutStatus writes d's status during a rollout, as rolloutStatus has
// it, if that differs. When it does not and the rollout has stalled, it asks
// to be reconciled again when progressDeadlineSeconds would run out, so that
// the timeout is reported without waiting for an event.
func (r *reconciler) syncRolloutStatus(ctx context.Context, d *appsv1.Deployment, allRSs []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) (controllers.Result, error) {
	now := r.now()
	status := rolloutStatus(allRSs, newRS, d, now)
	if apiequality.Semantic.DeepEqual(d.Status, status) {
		if after, ok := progressCheckAfter(d, status, now); ok {
			return controllers.Result{RequeueAfter: after}, nil
		}
		return controllers.Result{}, nil
	}
	d.Status = status
	return controllers.Result{}, r.updateStatus(ctx, d)
}
