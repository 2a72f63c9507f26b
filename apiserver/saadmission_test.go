package apiserver_test

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tendhq/tend/tendtest"
)

// mirrorPod is a mirror pod on node n1, as a kubelet makes one.
func mirrorPod(name string, tune func(*corev1.PodSpec)) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{
			"kubernetes.io/config.mirror": "0123456789abcdef0123456789abcdef",
			"kubernetes.io/config.hash":   "0123456789abcdef0123456789abcdef",
		}},
		Spec: corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}
	if tune != nil {
		tune(&p.Spec)
	}
	return p
}

func TestMirrorPodsMayNotReferenceAPIObjects(t *testing.T) {
	c := tendtest.Start(t, tendtest.Options{})
	pods := c.Client().CoreV1().Pods("default")
	volume := func(v corev1.VolumeSource) func(*corev1.PodSpec) {
		return func(s *corev1.PodSpec) { s.Volumes = append(s.Volumes, corev1.Volume{Name: "v", VolumeSource: v}) }
	}
	for _, tc := range []struct {
		name string
		tune func(*corev1.PodSpec)
		want string
	}{
		{"service account", func(s *corev1.PodSpec) { s.ServiceAccountName = "robot" },
			`pods "sa" is forbidden: a mirror pod may not reference service accounts`},
		{"secret env", func(s *corev1.PodSpec) {
			s.Containers[0].Env = []corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{
				SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, Key: "k"}}}}
		}, `pods "secret-env" is forbidden: a mirror pod may not reference secrets`},
		{"image pull secret", func(s *corev1.PodSpec) { s.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "regcred"}} },
			`pods "image-pull-secret" is forbidden: a mirror pod may not reference secrets`},
		{"secret volume", volume(corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s"}}),
			`pods "secret-volume" is forbidden: a mirror pod may not reference secrets`},
		{"token projection", volume(corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
			{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token"}}}}}),
			`pods "token-projection" is forbidden: a mirror pod may not use ServiceAccountToken volume projections`},
		{"config map envFrom", func(s *corev1.PodSpec) {
			s.Containers[0].EnvFrom = []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}}}}
		}, `pods "config-map-env-from" is forbidden: node "n1" can not create pods that reference configmaps`},
		{"config map volume", volume(corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}}}),
			`pods "config-map-volume" is forbidden: node "n1" can not create pods that reference configmaps`},
		{"claim", volume(corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}),
			`pods "claim" is forbidden: node "n1" can not create pods that reference persistentvolumeclaims`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := strings.Fields(tc.want)[1]
			name = strings.Trim(name, `"`)
			_, err := pods.Create(ctxFor(t), mirrorPod(name, tc.tune), metav1.CreateOptions{})
			if !apierrors.IsForbidden(err) || err.Error() != tc.want {
				t.Errorf("creating mirror pod %s = %v; want 403 %q", name, err, tc.want)
			}
		})
	}

	// A mirror pod without references is stored as the kubelet sent it: no
	// service account, no kube-api-access volume.
	got, err := pods.Create(ctxFor(t), mirrorPod("plain", nil), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating a plain mirror pod: %v", err)
	}
	if got.Spec.ServiceAccountName != "" || got.Spec.DeprecatedServiceAccount != "" || len(got.Spec.Volumes) != 0 || len(got.Spec.Containers[0].VolumeMounts) != 0 {
		t.Errorf("mirror pod serviceAccountName %q, serviceAccount %q, volumes %v, mounts %v; want none",
			got.Spec.ServiceAccountName, got.Spec.DeprecatedServiceAccount, got.Spec.Volumes, got.Spec.Containers[0].VolumeMounts)
	}
	// Any other pod gets the default service account and its token.
	other, err := pods.Create(ctxFor(t), &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "other"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if other.Spec.ServiceAccountName != "default" || other.Spec.DeprecatedServiceAccount != "default" || len(other.Spec.Volumes) != 1 {
		t.Errorf("pod serviceAccountName %q, serviceAccount %q, volumes %d; want default, default, 1 (kube-api-access)",
			other.Spec.ServiceAccountName, other.Spec.DeprecatedServiceAccount, len(other.Spec.Volumes))
	}
}
