package deployment

import (
	"context"
	"fmt"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tendhq/tend/controllers"
)

// syncStatusOnly updates the status of a Deployment being deleted, changing
// nothing else.
func (r *reconciler) syncStatusOnly(ctx context.Context, s *state) error {
	newRS, oldRSs, err := r.getAllReplicaSetsAndSyncRevision(ctx, s, false)
	if err != nil {
		return err
	}
	return r.syncDeploymentStatus(ctx, s.d, withNew(oldRSs, newRS), newRS)
}

// sync handles a scaling event, and a paused Deployment: it scales without
// rolling out, and a paused Deployment's old ReplicaSets are cleaned up.
func (r *reconciler) sync(ctx context.Context, s *state) error {
	newRS, oldRSs, err := r.getAllReplicaSetsAndSyncRevision(ctx, s, false)
	if err != nil {
		return err
	}
	for _, step := range planScale(s.d, newRS, oldRSs) {
		if _, _, err := r.scaleReplicaSet(ctx, s, step.rs, step.to); err != nil {
			return err
		}
	}
	if s.d.Spec.Paused {
		if err := r.cleanupDeployment(ctx, s.d, oldRSs); err != nil {
			return err
		}
	}
	return r.syncDeploymentStatus(ctx, s.d, withNew(oldRSs, newRS), newRS)
}

// isScalingEvent reports whether spec.replicas changed since the active
// ReplicaSets were sized, as their desired-replicas annotations tell.
func (r *reconciler) isScalingEvent(ctx context.Context, s *state) (bool, error) {
	newRS, oldRSs, err := r.getAllReplicaSetsAndSyncRevision(ctx, s, false)
	if err != nil {
		return false, err
	}
	for _, rs := range filterActive(withNew(oldRSs, newRS)) {
		if desired, ok := intAnnotation(rs, DesiredReplicasAnnotation); ok && desired != replicasOf(s.d.Spec.Replicas) {
			return true, nil
		}
	}
	return false, nil
}

// getAllReplicaSetsAndSyncRevision returns the new ReplicaSet (creating it if
// create is set and there is none) and all the old ones, with the new one's
// revision above the old ones' and the Deployment's revision the new one's.
func (r *reconciler) getAllReplicaSetsAndSyncRevision(ctx context.Context, s *state, create bool) (*appsv1.ReplicaSet, []*appsv1.ReplicaSet, error) {
	_, oldRSs := findOldReplicaSets(s.d, s.rsList)
	newRS, err := r.getNewReplicaSet(ctx, s, oldRSs, create)
	if err != nil {
		return nil, nil, err
	}
	return newRS, oldRSs, nil
}

// getNewReplicaSet returns the ReplicaSet of d's template, its annotations,
// minReadySeconds and revision brought up to date, and the Deployment's
// revision set to its. When there is none and create is set, it creates one,
// of the size the strategy allows; a name taken by a ReplicaSet of another
// template (a hash collision) bumps status.collisionCount, which changes the
// hash the next attempt uses.
func (r *reconciler) getNewReplicaSet(ctx context.Context, s *state, oldRSs []*appsv1.ReplicaSet, create bool) (*appsv1.ReplicaSet, error) {
	d := s.d
	existing := findNewReplicaSet(d, s.rsList)
	newRevision := strconv.FormatInt(maxRevision(oldRSs)+1, 10)

	if existing != nil {
		rs := existing.DeepCopy()
		annotationsUpdated := setNewReplicaSetAnnotations(d, rs, newRevision, true)
		if annotationsUpdated || rs.Spec.MinReadySeconds != d.Spec.MinReadySeconds {
			rs.Spec.MinReadySeconds = d.Spec.MinReadySeconds
			updated, err := r.client.AppsV1().ReplicaSets(rs.Namespace).Update(ctx, rs, metav1.UpdateOptions{})
			if err != nil {
				return nil, err
			}
			s.replace(updated)
			return updated, nil
		}
		needsUpdate := setDeploymentRevision(d, rs.Annotations[RevisionAnnotation])
		// A Deployment that had no Progressing condition (progressDeadlineSeconds
		// just set) counts its progress from now.
		if hasProgressDeadline(d) && getCondition(d.Status, appsv1.DeploymentProgressing) == nil {
			setCondition(&d.Status, newCondition(appsv1.DeploymentProgressing, corev1.ConditionTrue, reasonFoundNewRS,
				fmt.Sprintf("Found new replica set %q", rs.Name), r.now()))
			needsUpdate = true
		}
		if needsUpdate {
			if err := r.updateStatus(ctx, d); err != nil {
				return nil, err
			}
		}
		return rs, nil
	}
	if !create {
		return nil, nil
	}

	template := d.Spec.Template.DeepCopy()
	hash := ComputeHash(template, d.Status.CollisionCount)
	template.Labels = cloneWith(d.Spec.Template.Labels, appsv1.DefaultDeploymentUniqueLabelKey, hash)
	selector := d.Spec.Selector.DeepCopy()
	selector.MatchLabels = cloneWith(selector.MatchLabels, appsv1.DefaultDeploymentUniqueLabelKey, hash)
	newRS := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Name:            replicaSetName(d.Name, hash),
			Namespace:       d.Namespace,
			OwnerReferences: []metav1.OwnerReference{controllers.ControllerRef(d, controllerKind)},
			Labels:          template.Labels,
		},
		Spec: appsv1.ReplicaSetSpec{
			Replicas:        ptr(int32(0)),
			MinReadySeconds: d.Spec.MinReadySeconds,
			Selector:        selector,
			Template:        *template,
		},
	}
	replicas, err := newRSNewReplicas(d, withNew(oldRSs, newRS), newRS, activePods(s.podMap))
	if err != nil {
		return nil, err
	}
	newRS.Spec.Replicas = ptr(replicas)
	setNewReplicaSetAnnotations(d, newRS, newRevision, false)

	created, err := r.client.AppsV1().ReplicaSets(d.Namespace).Create(ctx, newRS, metav1.CreateOptions{})
	alreadyExists := false
	switch {
	case apierrors.IsAlreadyExists(err):
		// A slow cache, or a collision: it is ours if we own it and it runs our template.
		alreadyExists = true
		rs, ok := r.replicaSets.Get(newRS.Namespace, newRS.Name)
		if !ok {
			return nil, fmt.Errorf("creating ReplicaSet %s: %w (and it is not in the cache yet)", newRS.Name, err)
		}
		if ref := metav1.GetControllerOf(rs); ref != nil && ref.UID == d.UID && equalIgnoreHash(&d.Spec.Template, &rs.Spec.Template) {
			created, err = rs, nil
			break
		}
		d.Status.CollisionCount = ptr(ptrValue(d.Status.CollisionCount) + 1)
		if uerr := r.updateStatus(ctx, d); uerr != nil {
			return nil, uerr
		}
		return nil, fmt.Errorf("ReplicaSet %s exists with another template: hash collision, collisionCount now %d: %w", newRS.Name, *d.Status.CollisionCount, err)
	case apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause):
		return nil, err
	case err != nil:
		msg := fmt.Sprintf("Failed to create new replica set %q: %v", newRS.Name, err)
		if hasProgressDeadline(d) {
			setCondition(&d.Status, newCondition(appsv1.DeploymentProgressing, corev1.ConditionFalse, reasonFailedRSCreate, msg, r.now()))
			// The creation's failure is the error to report; this is best effort.
			_ = r.updateStatus(ctx, d)
		}
		r.eventf(d, corev1.EventTypeWarning, reasonFailedRSCreate, "%s", msg)
		return nil, err
	}
	s.replace(created)
	if !alreadyExists && replicas > 0 {
		r.eventf(d, corev1.EventTypeNormal, "ScalingReplicaSet", "Scaled up replica set %s from 0 to %d", created.Name, replicas)
	}
	needsUpdate := setDeploymentRevision(d, newRevision)
	if !alreadyExists && hasProgressDeadline(d) {
		setCondition(&d.Status, newCondition(appsv1.DeploymentProgressing, corev1.ConditionTrue, reasonNewReplicaSet,
			fmt.Sprintf("Created new replica set %q", created.Name), r.now()))
		needsUpdate = true
	}
	if needsUpdate {
		if err := r.updateStatus(ctx, d); err != nil {
			return created, err
		}
	}
	return created, nil
}

// setDeploymentRevision sets d's revision annotation and reports whether it
// changed.
func setDeploymentRevision(d *appsv1.Deployment, rev string) bool {
	if d.Annotations[RevisionAnnotation] == rev {
		return false
	}
	if d.Annotations == nil {
		d.Annotations = map[string]string{}
	}
	d.Annotations[RevisionAnnotation] = rev
	return true
}

// cloneWith returns a copy of m with key set to value.
func cloneWith(m map[string]string, key, value string) map[string]string {
	out := make(map[string]string, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	out[key] = value
	return out
}

// scaleIfNeeded scales rs to n unless it has that size already (upstream's
// scaleReplicaSetAndRecordEvent).
func (r *reconciler) scaleIfNeeded(ctx context.Context, s *state, rs *appsv1.ReplicaSet, n int32) (bool, *appsv1.ReplicaSet, error) {
	if specReplicas(rs) == n {
		return false, rs, nil
	}
	return r.scaleReplicaSet(ctx, s, rs, n)
}

// scaleReplicaSet sets rs's replicas to n and its desired- and max-replicas
// annotations to the Deployment's, when either differs, recording a
// ScalingReplicaSet event for a new size. It reports whether the size changed.
func (r *reconciler) scaleReplicaSet(ctx context.Context, s *state, rs *appsv1.ReplicaSet, n int32) (bool, *appsv1.ReplicaSet, error) {
	d := s.d
	desired := replicasOf(d.Spec.Replicas)
	maxReplicas := desired + maxSurge(d)
	resize := specReplicas(rs) != n
	if !resize && !replicasAnnotationsNeedUpdate(rs, desired, maxReplicas) {
		return false, rs, nil
	}
	from := specReplicas(rs)
	next := rs.DeepCopy()
	next.Spec.Replicas = ptr(n)
	setReplicasAnnotations(next, desired, maxReplicas)
	updated, err := r.client.AppsV1().ReplicaSets(next.Namespace).Update(ctx, next, metav1.UpdateOptions{})
	if err != nil {
		return false, rs, err
	}
	s.replace(updated)
	if resize {
		op := "up"
		if n < from {
			op = "down"
		}
		r.eventf(d, corev1.EventTypeNormal, "ScalingReplicaSet", "Scaled %s replica set %s from %d to %d", op, rs.Name, from, n)
	}
	return resize, updated, nil
}

// cleanupDeployment deletes the old ReplicaSets beyond revisionHistoryLimit
// that planCleanup picks; each delete is conditional on the version judged, so
// that one scaled up meanwhile (rolled back to) is kept.
func (r *reconciler) cleanupDeployment(ctx context.Context, d *appsv1.Deployment, oldRSs []*appsv1.ReplicaSet) error {
	for _, rs := range planCleanup(d, oldRSs) {
		uid, rv := rs.UID, rs.ResourceVersion
		err := r.client.AppsV1().ReplicaSets(rs.Namespace).Delete(ctx, rs.Name, metav1.DeleteOptions{
			Preconditions: &metav1.Preconditions{UID: &uid, ResourceVersion: &rv},
		})
		if err != nil && !apierrors.IsNotFound(err) {
			// Stop at the first failure rather than press an overloaded apiserver.
			return err
		}
	}
	return nil
}

// syncDeploymentStatus writes d's status as calculateStatus has it, if that
// differs.
func (r *reconciler) syncDeploymentStatus(ctx context.Context, d *appsv1.Deployment, allRSs []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) error {
	status := calculateStatus(allRSs, newRS, d, r.now())
	if apiequality.Semantic.DeepEqual(d.Status, status) {
		return nil
	}
	d.Status = status
	return r.updateStatus(ctx, d)
}
