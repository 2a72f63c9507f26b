package apiserver

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilrand "k8s.io/apimachinery/pkg/util/rand"

	"github.com/tendhq/tend/apiserver/storage"
	"github.com/tendhq/tend/kubelet/staticpods"
)

const (
	// serviceAccountMountPath is where pods find their service account's
	// token, the cluster CA and their namespace (upstream's
	// DefaultAPITokenMountPath).
	serviceAccountMountPath = "/var/run/secrets/kubernetes.io/serviceaccount"
	// serviceAccountVolumePrefix starts the name of the volume holding them.
	serviceAccountVolumePrefix = "kube-api-access-"
	// rootCAConfigMap is the ConfigMap the root-ca-cert-publisher keeps in
	// every namespace.
	rootCAConfigMap = "kube-root-ca.crt"
	// mirrorPodAnnotation marks the API copies of static pods.
	mirrorPodAnnotation = staticpods.ConfigMirrorAnnotation
)

var serviceAccountsGR = schema.GroupResource{Resource: "serviceaccounts"}

// admitServiceAccount is upstream's ServiceAccount admission of a new pod: a
// pod without a service account gets "default"; unless the pod (or else its
// service account) sets automountServiceAccountToken to false, every
// container and init container that mounts nothing at serviceAccountMountPath
// mounts a kube-api-access volume there; a pod without imagePullSecrets gets
// its service account's. A mirror pod is left as it is, but refused when it
// references API objects (admitMirrorPod).
//
// Unlike upstream, a pod whose service account does not exist yet is
// admitted (as if the account set nothing): tend runs without the
// serviceaccount controller in tests and single-component setups.
func (rq *request) admitServiceAccount(pod *corev1.Pod) error {
	if _, mirror := pod.Annotations[mirrorPodAnnotation]; mirror {
		return rq.admitMirrorPod(pod)
	}
	if pod.Spec.ServiceAccountName == "" {
		pod.Spec.ServiceAccountName = "default"
	}
	sa, err := rq.serviceAccount(rq.namespace, pod.Spec.ServiceAccountName)
	if err != nil {
		return err
	}
	if shouldAutomount(sa, pod) {
		mountServiceAccountToken(pod, utilrand.String(5))
	}
	if sa != nil && len(pod.Spec.ImagePullSecrets) == 0 && len(sa.ImagePullSecrets) > 0 {
		for _, s := range sa.ImagePullSecrets {
			pod.Spec.ImagePullSecrets = append(pod.Spec.ImagePullSecrets, corev1.LocalObjectReference{Name: s.Name})
		}
	}
	return nil
}

// admitMirrorPod refuses a mirror pod that references API objects, with
// upstream's words: service accounts, secrets and service account token
// projections as upstream's ServiceAccount plugin says it; config maps,
// cluster trust bundles and claims as its NodeRestriction plugin says it for
// the node that creates the mirror pod (tend checks these whoever creates
// one: a mirror pod's only legitimate author is its node's kubelet, and tend
// has no per-node identities yet).
func (rq *request) admitMirrorPod(pod *corev1.Pod) error {
	forbid := func(format string, args ...any) error {
		return apierrors.NewForbidden(rq.gr(), pod.Name, fmt.Errorf(format, args...))
	}
	if pod.Spec.ServiceAccountName != "" {
		return forbid("a mirror pod may not reference service accounts")
	}
	if len(staticpods.SecretNames(pod)) > 0 {
		return forbid("a mirror pod may not reference secrets")
	}
	for _, v := range pod.Spec.Volumes {
		if v.Projected == nil {
			continue
		}
		for _, s := range v.Projected.Sources {
			if s.ServiceAccountToken != nil {
				return forbid("a mirror pod may not use ServiceAccountToken volume projections")
			}
		}
	}
	node := pod.Spec.NodeName
	if len(staticpods.ConfigMapNames(pod)) > 0 {
		return forbid("node %q can not create pods that reference configmaps", node)
	}
	for _, v := range pod.Spec.Volumes {
		if v.Projected != nil {
			for _, s := range v.Projected.Sources {
				if s.ClusterTrustBundle != nil {
					return forbid("node %q can not create pods that reference clustertrustbundles", node)
				}
			}
		}
	}
	for _, v := range pod.Spec.Volumes {
		if v.PersistentVolumeClaim != nil {
			return forbid("node %q can not create pods that reference persistentvolumeclaims", node)
		}
	}
	return nil
}

// serviceAccount returns the named account, or nil if there is none.
func (rq *request) serviceAccount(ns, name string) (*corev1.ServiceAccount, error) {
	cache := rq.s.caches[serviceAccountsGR]
	key := ns + "/" + name
	o, err := cache.Get(rq.ctx(), key, storage.ReadOptions{RV: "0"})
	if storage.IsNotFound(err) {
		// The cache may lag an account created a moment ago.
		o, err = cache.Get(rq.ctx(), key, storage.ReadOptions{})
	}
	if storage.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, toAPIError(err, serviceAccountsGR, name)
	}
	sa := &corev1.ServiceAccount{}
	if err := jsonUnmarshal(o.JSON, sa); err != nil {
		return nil, err
	}
	return sa, nil
}

// shouldAutomount is upstream's: the pod's preference wins, then the
// account's, and the default is to mount.
func shouldAutomount(sa *corev1.ServiceAccount, pod *corev1.Pod) bool {
	if pod.Spec.AutomountServiceAccountToken != nil {
		return *pod.Spec.AutomountServiceAccountToken
	}
	if sa != nil && sa.AutomountServiceAccountToken != nil {
		return *sa.AutomountServiceAccountToken
	}
	return true
}

// mountServiceAccountToken adds the kube-api-access volume (named with
// suffix unless the pod has one already) and its mounts, as upstream's
// plugin.
func mountServiceAccountToken(pod *corev1.Pod, suffix string) {
	volumeName, hasVolume := "", false
	for _, v := range pod.Spec.Volumes {
		if strings.HasPrefix(v.Name, serviceAccountVolumePrefix) {
			volumeName, hasVolume = v.Name, true
			break
		}
	}
	if volumeName == "" {
		volumeName = serviceAccountVolumePrefix + suffix
	}
	mount := corev1.VolumeMount{Name: volumeName, ReadOnly: true, MountPath: serviceAccountMountPath}
	needsVolume := false
	addTo := func(cs []corev1.Container) {
		for i := range cs {
			mounted := false
			for _, m := range cs[i].VolumeMounts {
				if m.MountPath == serviceAccountMountPath {
					mounted = true
					break
				}
			}
			if !mounted {
				cs[i].VolumeMounts = append(cs[i].VolumeMounts, mount)
				needsVolume = true
			}
		}
	}
	addTo(pod.Spec.InitContainers)
	addTo(pod.Spec.Containers)
	if !hasVolume && needsVolume {
		pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{
			Name:         volumeName,
			VolumeSource: corev1.VolumeSource{Projected: serviceAccountVolumeSource()},
		})
	}
}

// serviceAccountVolumeSource is upstream's TokenVolumeSource.
func serviceAccountVolumeSource() *corev1.ProjectedVolumeSource {
	mode := corev1.ProjectedVolumeSourceDefaultMode
	return &corev1.ProjectedVolumeSource{
		DefaultMode: &mode,
		Sources: []corev1.VolumeProjection{
			{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: ptrTo(int64(warnOnlyExpirationSeconds))}},
			{ConfigMap: &corev1.ConfigMapProjection{
				LocalObjectReference: corev1.LocalObjectReference{Name: rootCAConfigMap},
				Items:                []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}},
			}},
			{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{{
				Path:     "namespace",
				FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"},
			}}}},
		},
	}
}

func ptrTo[T any](v T) *T { return &v }
