package apiserver_test

import (
	"context"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tendhq/tend/tendtest"
)

// An update through /status changes the status and annotations (as upstream's
// status strategies allow: controllers write annotations that way) and nothing
// else.
func TestStatusUpdateKeepsAnnotationsOnly(t *testing.T) {
	c := tendtest.Start(t, tendtest.Options{})
	ctx := context.Background()
	deps := c.Client().AppsV1().Deployments("default")
	one := int32(1)
	d, err := deps.Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "d", Labels: map[string]string{"l": "1"}},
		Spec: appsv1.DeploymentSpec{Replicas: &one,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"a": "b"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"a": "b"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "i:1"}}}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d.Annotations = map[string]string{"deployment.kubernetes.io/revision": "1"}
	d.Labels = map[string]string{"l": "2"}
	three := int32(3)
	d.Spec.Replicas = &three
	d.Status.ObservedGeneration = 1
	d.Status.Replicas = 1
	got, err := deps.UpdateStatus(ctx, d, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Annotations["deployment.kubernetes.io/revision"] != "1" || got.Labels["l"] != "1" ||
		*got.Spec.Replicas != 1 || got.Status.Replicas != 1 || got.Generation != 1 {
		t.Errorf("after a status update: annotations %v, labels %v, replicas %d, status.replicas %d, generation %d; "+
			"want the annotation written, labels, spec and generation unchanged, the status written",
			got.Annotations, got.Labels, *got.Spec.Replicas, got.Status.Replicas, got.Generation)
	}
}
