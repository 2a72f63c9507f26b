package replicaset

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/tendhq/tend/informers"
)

// set is what the controller reads of a ReplicaSet or a ReplicationController.
// Upstream treats ReplicationController as an older spelling of ReplicaSet, and
// so does this package: both are read into a set, whose status is a
// ReplicaSet's. A set shares the fields of the object it was read from: do not
// modify it.
type set struct {
	obj             runtime.Object // the object read, for events
	meta            metav1.Object
	replicas        int32
	minReadySeconds int32
	selector        labels.Selector
	template        *corev1.PodTemplateSpec
	status          appsv1.ReplicaSetStatus
}

// kind is what differs between the two kinds the controller serves.
type kind[T informers.Object] struct {
	// name names the controller, in logs and metrics.
	name string
	gvk  schema.GroupVersionKind
	// read returns the set obj describes.
	read func(obj T) (*set, error)
	// get reads the object from the API, not from a cache: Claim's recheck
	// before an adoption.
	get func(ctx context.Context, namespace, name string) (metav1.Object, error)
	// patchStatus applies a JSON merge patch to the object's status.
	patchStatus func(ctx context.Context, namespace, name string, patch []byte) error
	// countsTerminating says whether the kind's status has terminatingReplicas.
	countsTerminating bool
}

var (
	replicaSetKind            = appsv1.SchemeGroupVersion.WithKind("ReplicaSet")
	replicationControllerKind = corev1.SchemeGroupVersion.WithKind("ReplicationController")
)

func replicaSets(client kubernetes.Interface) kind[*appsv1.ReplicaSet] {
	return kind[*appsv1.ReplicaSet]{
		name: "replicaset",
		gvk:  replicaSetKind,
		read: readReplicaSet,
		get: func(ctx context.Context, namespace, name string) (metav1.Object, error) {
			return client.AppsV1().ReplicaSets(namespace).Get(ctx, name, metav1.GetOptions{})
		},
		patchStatus: func(ctx context.Context, namespace, name string, patch []byte) error {
			_, err := client.AppsV1().ReplicaSets(namespace).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{}, "status")
			return err
		},
		// Upstream's DeploymentReplicaSetTerminatingReplicas, beta and on by default.
		countsTerminating: true,
	}
}

func replicationControllers(client kubernetes.Interface) kind[*corev1.ReplicationController] {
	return kind[*corev1.ReplicationController]{
		name: "replicationcontroller",
		gvk:  replicationControllerKind,
		read: readReplicationController,
		get: func(ctx context.Context, namespace, name string) (metav1.Object, error) {
			return client.CoreV1().ReplicationControllers(namespace).Get(ctx, name, metav1.GetOptions{})
		},
		patchStatus: func(ctx context.Context, namespace, name string, patch []byte) error {
			_, err := client.CoreV1().ReplicationControllers(namespace).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{}, "status")
			return err
		},
	}
}

func readReplicaSet(rs *appsv1.ReplicaSet) (*set, error) {
	sel, err := metav1.LabelSelectorAsSelector(rs.Spec.Selector)
	if err != nil {
		return nil, fmt.Errorf("ReplicaSet %s/%s: invalid selector: %w", rs.Namespace, rs.Name, err)
	}
	return &set{
		obj:             rs,
		meta:            rs,
		replicas:        replicasOrDefault(rs.Spec.Replicas),
		minReadySeconds: rs.Spec.MinReadySeconds,
		selector:        sel,
		template:        &rs.Spec.Template,
		status:          rs.Status,
	}, nil
}

func readReplicationController(rc *corev1.ReplicationController) (*set, error) {
	if rc.Spec.Template == nil {
		return nil, fmt.Errorf("ReplicationController %s/%s: no pod template", rc.Namespace, rc.Name)
	}
	// An empty selector would select every pod of the namespace; validation
	// forbids it, and the controller selects nothing rather than trust that.
	sel := labels.Nothing()
	if len(rc.Spec.Selector) > 0 {
		sel = labels.SelectorFromSet(rc.Spec.Selector)
	}
	st := appsv1.ReplicaSetStatus{
		Replicas:             rc.Status.Replicas,
		FullyLabeledReplicas: rc.Status.FullyLabeledReplicas,
		ReadyReplicas:        rc.Status.ReadyReplicas,
		AvailableReplicas:    rc.Status.AvailableReplicas,
		ObservedGeneration:   rc.Status.ObservedGeneration,
	}
	for _, c := range rc.Status.Conditions {
		st.Conditions = append(st.Conditions, appsv1.ReplicaSetCondition{
			Type:               appsv1.ReplicaSetConditionType(c.Type),
			Status:             c.Status,
			LastTransitionTime: c.LastTransitionTime,
			Reason:             c.Reason,
			Message:            c.Message,
		})
	}
	return &set{
		obj:             rc,
		meta:            rc,
		replicas:        replicasOrDefault(rc.Spec.Replicas),
		minReadySeconds: rc.Spec.MinReadySeconds,
		selector:        sel,
		template:        rc.Spec.Template,
		status:          st,
	}, nil
}

// replicasOrDefault is spec.replicas, defaulted as the apiserver does.
func replicasOrDefault(r *int32) int32 {
	if r == nil {
		return 1
	}
	return *r
}
