// Package volumes prepares pods' volumes on a node for the kubelet: it
// implements kubelet.VolumeManager.
//
// Everything of a pod lives under Root/pods/<uid>/volumes/<plugin>/<name>,
// upstream's layout (plugins kubernetes.io~empty-dir, ~configmap,
// ~secret, ~downward-api, ~projected); a hostPath volume is the host's
// path itself. Supported, as upstream's kubelet:
//
//   - emptyDir: a directory (0777) shared by the pod's containers; with
//     medium Memory a tmpfs of sizeLimit, or of the pod's memory limit, or
//     of the node's allocatable memory, whichever is least.
//   - hostPath, with type checks (DirectoryOrCreate, Directory,
//     FileOrCreate, File, Socket, CharDevice, BlockDevice) and upstream's
//     messages; an untyped path that does not exist is made a directory,
//     as container runtimes do.
//   - configMap, secret, downwardAPI and projected (configMap, secret,
//     downwardAPI, serviceAccountToken sources): files with defaultMode,
//     items and modes, optional sources; secret and projected volumes are
//     a tmpfs, so that secrets never reach the disk. Their files are
//     brought up to date by every SetUp, atomically, with upstream's
//     ..data symlink switch; they are mounted read-only.
//   - subPath and subPathExpr (a directory made when missing, never
//     outside the volume), readOnly, mountPropagation.
//
// A volume that cannot be set up fails SetUp with upstream's
// `MountVolume.SetUp failed for volume "x" : reason`; the others stay set
// up. TearDown unmounts every mount under the pod's directory and removes
// it.
package volumes

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"

	"github.com/tendhq/tend/kubelet"
	"github.com/tendhq/tend/kubelet/envvars"
)

// Config configures a Manager.
type Config struct {
	// Root is the kubelet's root directory; pods' volumes are under
	// Root/pods. Required.
	Root string
	// Mounter mounts and unmounts tmpfs; default the kernel's (root
	// only). Tests without root give a fake.
	Mounter Mounter
	// Clock names the ..<timestamp> directories; default the real clock.
	Clock clock.Clock
}

// Mounter mounts the tmpfs of memory-backed volumes.
type Mounter interface {
	// MountTmpfs mounts a tmpfs of size bytes (0: the kernel's default)
	// at dir, unless dir is a mount point already.
	MountTmpfs(dir string, size int64) error
	// Unmount unmounts every mount at or below dir, deepest first.
	Unmount(dir string) error
}

// Manager is tend's kubelet.VolumeManager. It is safe for concurrent use.
type Manager struct {
	cfg Config

	mu   sync.Mutex
	pods map[types.UID]*sync.Mutex
}

var _ kubelet.VolumeManager = (*Manager)(nil)

// Plugin directory names, upstream's.
const (
	pluginEmptyDir    = "kubernetes.io~empty-dir"
	pluginConfigMap   = "kubernetes.io~configmap"
	pluginSecret      = "kubernetes.io~secret"
	pluginDownwardAPI = "kubernetes.io~downward-api"
	pluginProjected   = "kubernetes.io~projected"
)

// New returns a Manager keeping volumes under cfg.Root/pods.
func New(cfg Config) (*Manager, error) {
	if cfg.Root == "" {
		return nil, errors.New("volumes: Root is required")
	}
	if cfg.Mounter == nil {
		cfg.Mounter = kernelMounter{}
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if err := os.MkdirAll(filepath.Join(cfg.Root, "pods"), 0o750); err != nil {
		return nil, fmt.Errorf("volumes: %w", err)
	}
	return &Manager{cfg: cfg, pods: map[types.UID]*sync.Mutex{}}, nil
}

func (m *Manager) lock(uid types.UID) func() {
	m.mu.Lock()
	l, ok := m.pods[uid]
	if !ok {
		l = &sync.Mutex{}
		m.pods[uid] = l
	}
	m.mu.Unlock()
	l.Lock()
	return l.Unlock
}

// PodDir is the directory of the pod with uid.
func (m *Manager) PodDir(uid types.UID) string {
	return filepath.Join(m.cfg.Root, "pods", string(uid))
}

// volumePath is where volume v of pod lives on the node.
func (m *Manager) volumePath(pod *corev1.Pod, v *corev1.Volume) (string, error) {
	plugin := ""
	switch {
	case v.HostPath != nil:
		return filepath.Clean(v.HostPath.Path), nil
	case v.EmptyDir != nil:
		plugin = pluginEmptyDir
	case v.ConfigMap != nil:
		plugin = pluginConfigMap
	case v.Secret != nil:
		plugin = pluginSecret
	case v.DownwardAPI != nil:
		plugin = pluginDownwardAPI
	case v.Projected != nil:
		plugin = pluginProjected
	default:
		return "", fmt.Errorf("tend does not support the type of volume %q", v.Name)
	}
	return filepath.Join(m.PodDir(pod.UID), "volumes", plugin, v.Name), nil
}

// SetUp prepares every volume of pod, or brings those showing API data
// up to date.
func (m *Manager) SetUp(ctx context.Context, pod *corev1.Pod, src kubelet.VolumeSource) error {
	defer m.lock(pod.UID)()
	var errs []error
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		if err := m.setUp(ctx, pod, v, src); err != nil {
			errs = append(errs, fmt.Errorf("MountVolume.SetUp failed for volume %q : %w", v.Name, err))
		}
	}
	return errors.Join(errs...)
}

func (m *Manager) setUp(ctx context.Context, pod *corev1.Pod, v *corev1.Volume, src kubelet.VolumeSource) error {
	dir, err := m.volumePath(pod, v)
	if err != nil {
		return err
	}
	now := m.cfg.Clock.Now()
	switch {
	case v.HostPath != nil:
		return checkHostPath(dir, v.HostPath.Type)
	case v.EmptyDir != nil:
		if err := os.MkdirAll(dir, 0o777); err != nil {
			return err
		}
		if err := os.Chmod(dir, 0o777); err != nil { // past the umask
			return err
		}
		if v.EmptyDir.Medium == corev1.StorageMediumMemory {
			return m.cfg.Mounter.MountTmpfs(dir, emptyDirSize(pod, v.EmptyDir, src.Allocatable()))
		}
		return nil
	}
	// The rest are files the kubelet writes: their content, and whether it
	// is secret (kept in memory, on a tmpfs).
	var payload map[string]File
	secret := false
	switch {
	case v.ConfigMap != nil:
		payload, err = configMapPayload(ctx, pod, v.ConfigMap, src)
	case v.Secret != nil:
		payload, err = secretPayload(ctx, pod, v.Secret, src)
		secret = true
	case v.DownwardAPI != nil:
		payload, err = downwardAPIPayload(pod, v.DownwardAPI.Items, mode(v.DownwardAPI.DefaultMode), src.Allocatable())
	case v.Projected != nil:
		payload, err = projectedPayload(ctx, pod, v.Projected, src)
		secret = true
	default:
		return nil
	}
	if err != nil {
		return err
	}
	if secret {
		if err := m.tmpfs(dir); err != nil {
			return err
		}
	}
	_, err = writeAtomic(dir, payload, now)
	return err
}

// tmpfs makes dir a tmpfs (of the kernel's default size: half the
// memory, as upstream's secret volumes).
func (m *Manager) tmpfs(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return m.cfg.Mounter.MountTmpfs(dir, 0)
}

// emptyDirSize is upstream's calculateEmptyDirMemorySize: the node's
// allocatable memory, or the pod's memory limit, or the volume's
// sizeLimit, whichever is least (and positive).
func emptyDirSize(pod *corev1.Pod, ed *corev1.EmptyDirVolumeSource, allocatable corev1.ResourceList) int64 {
	size := allocatable.Memory().Value()
	var limit int64
	all := true
	for i := range pod.Spec.Containers {
		q, ok := pod.Spec.Containers[i].Resources.Limits[corev1.ResourceMemory]
		if !ok {
			all = false
			break
		}
		limit += q.Value()
	}
	if all && limit > 0 && (size == 0 || limit <= size) {
		size = limit
	}
	if ed.SizeLimit != nil && ed.SizeLimit.Value() > 0 && (size == 0 || ed.SizeLimit.Value() <= size) {
		size = ed.SizeLimit.Value()
	}
	return size
}

func mode(m *int32) os.FileMode {
	if m == nil {
		return 0o644
	}
	return os.FileMode(*m)
}

func itemMode(item *int32, def os.FileMode) os.FileMode {
	if item != nil {
		return os.FileMode(*item)
	}
	return def
}

func optional(b *bool) bool { return b != nil && *b }

// configMapPayload is upstream's configmap MakePayload.
func configMapPayload(ctx context.Context, pod *corev1.Pod, s *corev1.ConfigMapVolumeSource, src kubelet.VolumeSource) (map[string]File, error) {
	cm, err := src.ConfigMap(ctx, pod.Namespace, s.Name)
	if err != nil {
		if apierrors.IsNotFound(err) && optional(s.Optional) {
			return map[string]File{}, nil
		}
		return nil, err
	}
	data := make(map[string][]byte, len(cm.Data)+len(cm.BinaryData))
	for k, v := range cm.Data {
		data[k] = []byte(v)
	}
	for k, v := range cm.BinaryData {
		data[k] = v
	}
	return keyPayload(data, s.Items, mode(s.DefaultMode), optional(s.Optional), "configmap references non-existent config key: %v")
}

// secretPayload is upstream's secret MakePayload.
func secretPayload(ctx context.Context, pod *corev1.Pod, s *corev1.SecretVolumeSource, src kubelet.VolumeSource) (map[string]File, error) {
	sec, err := src.Secret(ctx, pod.Namespace, s.SecretName)
	if err != nil {
		if apierrors.IsNotFound(err) && optional(s.Optional) {
			return map[string]File{}, nil
		}
		return nil, err
	}
	return keyPayload(sec.Data, s.Items, mode(s.DefaultMode), optional(s.Optional), "references non-existent secret key: %v")
}

// keyPayload maps an object's keys to files: all of them, or items.
func keyPayload(data map[string][]byte, items []corev1.KeyToPath, def os.FileMode, opt bool, missing string) (map[string]File, error) {
	out := map[string]File{}
	if len(items) == 0 {
		for k, v := range data {
			out[k] = File{Data: v, Mode: def}
		}
		return out, nil
	}
	for _, it := range items {
		v, ok := data[it.Key]
		if !ok {
			if opt {
				continue
			}
			return nil, fmt.Errorf(missing, it.Key)
		}
		out[it.Path] = File{Data: v, Mode: itemMode(it.Mode, def)}
	}
	return out, nil
}

// downwardAPIPayload is upstream's downwardapi CollectData.
func downwardAPIPayload(pod *corev1.Pod, items []corev1.DownwardAPIVolumeFile, def os.FileMode, allocatable corev1.ResourceList) (map[string]File, error) {
	out := map[string]File{}
	var errs []error
	var defaulted *corev1.Pod
	for _, it := range items {
		var value string
		var err error
		switch {
		case it.FieldRef != nil:
			value, err = envvars.MetadataValue(pod, it.FieldRef.FieldPath)
		case it.ResourceFieldRef != nil:
			if defaulted == nil {
				defaulted = envvars.DefaultPodLimits(pod, allocatable)
			}
			value, err = envvars.ContainerResourceValue(it.ResourceFieldRef, defaulted, it.ResourceFieldRef.ContainerName)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out[it.Path] = File{Data: []byte(value), Mode: itemMode(it.Mode, def)}
	}
	return out, errors.Join(errs...)
}

// projectedPayload is upstream's projected collectData.
func projectedPayload(ctx context.Context, pod *corev1.Pod, p *corev1.ProjectedVolumeSource, src kubelet.VolumeSource) (map[string]File, error) {
	def := mode(p.DefaultMode)
	out := map[string]File{}
	merge := func(files map[string]File) {
		for k, f := range files {
			out[k] = f
		}
	}
	for _, s := range p.Sources {
		switch {
		case s.Secret != nil:
			sec, err := src.Secret(ctx, pod.Namespace, s.Secret.Name)
			if err != nil {
				if apierrors.IsNotFound(err) && optional(s.Secret.Optional) {
					continue
				}
				return nil, err
			}
			files, err := keyPayload(sec.Data, s.Secret.Items, def, optional(s.Secret.Optional), "references non-existent secret key: %v")
			if err != nil {
				return nil, err
			}
			merge(files)
		case s.ConfigMap != nil:
			cm, err := src.ConfigMap(ctx, pod.Namespace, s.ConfigMap.Name)
			if err != nil {
				if apierrors.IsNotFound(err) && optional(s.ConfigMap.Optional) {
					continue
				}
				return nil, err
			}
			data := make(map[string][]byte, len(cm.Data)+len(cm.BinaryData))
			for k, v := range cm.Data {
				data[k] = []byte(v)
			}
			for k, v := range cm.BinaryData {
				data[k] = v
			}
			files, err := keyPayload(data, s.ConfigMap.Items, def, optional(s.ConfigMap.Optional), "configmap references non-existent config key: %v")
			if err != nil {
				return nil, err
			}
			merge(files)
		case s.DownwardAPI != nil:
			files, err := downwardAPIPayload(pod, s.DownwardAPI.Items, def, src.Allocatable())
			if err != nil {
				return nil, err
			}
			merge(files)
		case s.ServiceAccountToken != nil:
			token, err := src.ServiceAccountToken(ctx, pod, s.ServiceAccountToken)
			if err != nil {
				return nil, err
			}
			out[s.ServiceAccountToken.Path] = File{Data: []byte(token), Mode: def}
		case s.ClusterTrustBundle != nil, s.PodCertificate != nil:
			return nil, errors.New("tend does not support clusterTrustBundle or podCertificate projections")
		}
	}
	return out, nil
}

// Mounts are container c's mounts: each volume mount's volume path (with
// its subPath, made when missing), read-only when asked or when the
// volume shows API data.
func (m *Manager) Mounts(pod *corev1.Pod, c *corev1.Container, env map[string]string) ([]kubelet.Mount, error) {
	out := make([]kubelet.Mount, 0, len(c.VolumeMounts))
	for _, vm := range c.VolumeMounts {
		var v *corev1.Volume
		for i := range pod.Spec.Volumes {
			if pod.Spec.Volumes[i].Name == vm.Name {
				v = &pod.Spec.Volumes[i]
			}
		}
		if v == nil {
			return nil, fmt.Errorf("cannot find volume %q to mount into container %q", vm.Name, c.Name)
		}
		path, err := m.volumePath(pod, v)
		if err != nil {
			return nil, err
		}
		sub := vm.SubPath
		if vm.SubPathExpr != "" {
			if sub, err = expandSubPath(vm.SubPathExpr, env); err != nil {
				return nil, err
			}
		}
		if sub != "" {
			if path, err = subPath(path, sub); err != nil {
				return nil, err
			}
		}
		readOnly := vm.ReadOnly || v.ConfigMap != nil || v.Secret != nil || v.DownwardAPI != nil || v.Projected != nil
		prop := corev1.MountPropagationNone
		if vm.MountPropagation != nil {
			prop = *vm.MountPropagation
		}
		out = append(out, kubelet.Mount{HostPath: path, ContainerPath: vm.MountPath, ReadOnly: readOnly, Propagation: prop})
	}
	return out, nil
}

// expandSubPath is upstream's ExpandContainerVolumeMounts: every
// reference must have a non-empty value.
func expandSubPath(expr string, env map[string]string) (string, error) {
	missing := map[string]bool{}
	out := envvars.Expand(expr, func(name string) string {
		v, ok := env[name]
		if !ok || v == "" {
			missing[name] = true
		}
		return v
	})
	if len(missing) > 0 {
		names := make([]string, 0, len(missing))
		for n := range missing {
			names = append(names, n)
		}
		sort.Strings(names)
		return "", fmt.Errorf("missing value for %s", strings.Join(names, ", "))
	}
	return out, nil
}

// subPath is sub inside volume path, made a directory when missing; it
// must not leave the volume, through .. or a symlink.
func subPath(volume, sub string) (string, error) {
	if filepath.IsAbs(sub) || sub == ".." || strings.HasPrefix(sub, "../") || strings.Contains(sub, "/../") || strings.HasSuffix(sub, "/..") {
		return "", fmt.Errorf("subpath %q must be a relative path without '..'", sub)
	}
	full := filepath.Join(volume, sub)
	if _, err := os.Lstat(full); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(full, 0o750); err != nil {
			return "", fmt.Errorf("creating subpath %q of volume %s: %w", sub, volume, err)
		}
	}
	resolved, err := filepath.EvalSymlinks(full)
	if err != nil {
		return "", err
	}
	base, err := filepath.EvalSymlinks(volume)
	if err != nil {
		return "", err
	}
	if resolved != base && !strings.HasPrefix(resolved, base+string(filepath.Separator)) {
		return "", fmt.Errorf("subpath %q not within volume path %q", resolved, base)
	}
	return resolved, nil
}

// TearDown unmounts and removes everything of the pod with uid.
func (m *Manager) TearDown(_ context.Context, uid types.UID) error {
	unlock := m.lock(uid)
	defer func() {
		unlock()
		m.mu.Lock()
		delete(m.pods, uid)
		m.mu.Unlock()
	}()
	dir := m.PodDir(uid)
	if _, err := os.Lstat(dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err := m.cfg.Mounter.Unmount(dir); err != nil {
		return fmt.Errorf("unmounting the volumes of pod %s: %w", uid, err)
	}
	// Never remove through a mount that is still there: it could be
	// anything of the host.
	if left, err := mountsUnder(dir); err != nil || len(left) > 0 {
		return fmt.Errorf("the directory of pod %s still holds mounts %v (%v): not removing it", uid, left, err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("removing the directory of pod %s: %w", uid, err)
	}
	return nil
}

// Pods lists the pods that have a directory under Root/pods.
func (m *Manager) Pods() ([]types.UID, error) {
	entries, err := os.ReadDir(filepath.Join(m.cfg.Root, "pods"))
	if err != nil {
		return nil, err
	}
	out := make([]types.UID, 0, len(entries))
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, types.UID(e.Name()))
		}
	}
	return out, nil
}
