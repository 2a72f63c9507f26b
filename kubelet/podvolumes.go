package kubelet

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// VolumeManager prepares pods' volumes on the node (package
// kubelet/volumes is tend's). A kubelet without one (hollow nodes) gives
// containers no mounts.
type VolumeManager interface {
	// SetUp prepares every volume of pod, or, for a pod set up before,
	// brings the volumes that show API objects (configMap, secret,
	// downwardAPI, projected) up to date. It is idempotent. An error
	// names the volume that failed, in upstream's words
	// (`MountVolume.SetUp failed for volume "x" : ...`); the volumes that
	// could be set up stay so.
	SetUp(ctx context.Context, pod *corev1.Pod, src VolumeSource) error
	// Mounts are container c's mounts once SetUp succeeded, in
	// c.VolumeMounts' order; env (the container's resolved environment)
	// expands subPathExpr. An error is a problem of the container's
	// configuration (a bad subPath), shown as CreateContainerConfigError.
	Mounts(pod *corev1.Pod, c *corev1.Container, env map[string]string) ([]Mount, error)
	// TearDown removes every volume and the directory of the pod with uid
	// from the node (unmounting what was mounted). Tearing down a pod
	// that has nothing on the node succeeds.
	TearDown(ctx context.Context, uid types.UID) error
	// Pods lists the pods that have a directory on the node, so that the
	// kubelet can tear down those that no longer exist (after a restart).
	Pods() ([]types.UID, error)
}

// VolumeSource is what volumes read from the API, through the kubelet's
// caches: it never lists or watches all objects of a kind.
type VolumeSource interface {
	ConfigMap(ctx context.Context, namespace, name string) (*corev1.ConfigMap, error)
	Secret(ctx context.Context, namespace, name string) (*corev1.Secret, error)
	// ServiceAccountToken returns a token of pod's service account for a
	// projected volume (a TokenRequest bound to the pod, refreshed at 80%
	// of its life).
	ServiceAccountToken(ctx context.Context, pod *corev1.Pod, p *corev1.ServiceAccountTokenProjection) (string, error)
	// Allocatable is the node's allocatable: the limits of containers
	// that set none, for resourceFieldRef.
	Allocatable() corev1.ResourceList
}

// volumeSource is the kubelet's VolumeSource for one pod worker.
type volumeSource struct {
	k          *Kubelet
	freshAfter time.Time
}

func (s volumeSource) ConfigMap(ctx context.Context, namespace, name string) (*corev1.ConfigMap, error) {
	return s.k.objects.configMap(ctx, namespace, name, s.freshAfter)
}

func (s volumeSource) Secret(ctx context.Context, namespace, name string) (*corev1.Secret, error) {
	return s.k.objects.secret(ctx, namespace, name, s.freshAfter)
}

func (s volumeSource) ServiceAccountToken(ctx context.Context, pod *corev1.Pod, p *corev1.ServiceAccountTokenProjection) (string, error) {
	return s.k.tokens.token(ctx, pod, p)
}

func (s volumeSource) Allocatable() corev1.ResourceList { return s.k.allocatable }
