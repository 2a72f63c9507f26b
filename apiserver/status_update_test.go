package apiserver_test

import (
	"context"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

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

// A UID in an update or a patch is a precondition: a write meant for an
// object that was replaced under the same name fails with 409 and changes
// nothing, on the object and on its status.
func TestUIDPrecondition(t *testing.T) {
	c := tendtest.Start(t, tendtest.Options{})
	ctx := context.Background()
	pods := c.Client().CoreV1().Pods("default")
	p, err := pods.Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "i:1"}}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	const other = "00000000-0000-0000-0000-000000000001"
	stale := p.DeepCopy()
	stale.UID = other
	stale.ResourceVersion = ""
	stale.Labels = map[string]string{"x": "y"}
	stale.Status.Phase = corev1.PodFailed
	patch := []byte(`{"metadata":{"uid":"` + other + `"},"status":{"phase":"Failed"}}`)
	for name, write := range map[string]func() error{
		"update": func() error { _, err := pods.Update(ctx, stale, metav1.UpdateOptions{}); return err },
		"status update": func() error {
			_, err := pods.UpdateStatus(ctx, stale, metav1.UpdateOptions{})
			return err
		},
		"status patch": func() error {
			_, err := pods.Patch(ctx, "p", types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
			return err
		},
	} {
		if err := write(); !apierrors.IsConflict(err) || !strings.Contains(err.Error(), "Precondition failed: UID in precondition") {
			t.Errorf("%s with another UID: %v; want 409 Precondition failed", name, err)
		}
	}
	got, err := pods.Get(ctx, "p", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.ResourceVersion != p.ResourceVersion || got.Labels["x"] != "" || got.Status.Phase == corev1.PodFailed {
		t.Errorf("after the refused writes: rv %s (was %s), labels %v, phase %s; want unchanged", got.ResourceVersion, p.ResourceVersion, got.Labels, got.Status.Phase)
	}
	// The right UID is accepted.
	if _, err := pods.Patch(ctx, "p", types.StrategicMergePatchType,
		[]byte(`{"metadata":{"uid":"`+string(p.UID)+`"},"status":{"phase":"Failed"}}`), metav1.PatchOptions{}, "status"); err != nil {
		t.Errorf("status patch with the pod's own UID: %v", err)
	}
}
