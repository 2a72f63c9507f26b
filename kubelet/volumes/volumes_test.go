package volumes

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clocktesting "k8s.io/utils/clock/testing"
)

// source is a kubelet.VolumeSource over maps.
type source struct {
	mu         sync.Mutex
	configMaps map[string]*corev1.ConfigMap
	secrets    map[string]*corev1.Secret
	token      string
}

func (s *source) ConfigMap(_ context.Context, _, name string) (*corev1.ConfigMap, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cm, ok := s.configMaps[name]; ok {
		return cm, nil
	}
	return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "configmap"}, name)
}

func (s *source) Secret(_ context.Context, _, name string) (*corev1.Secret, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sec, ok := s.secrets[name]; ok {
		return sec, nil
	}
	return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "secret"}, name)
}

func (s *source) ServiceAccountToken(_ context.Context, _ *corev1.Pod, _ *corev1.ServiceAccountTokenProjection) (string, error) {
	if s.token == "" {
		return "", errors.New("no token")
	}
	return s.token, nil
}

func (s *source) Allocatable() corev1.ResourceList {
	return corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi"), corev1.ResourceCPU: resource.MustParse("2")}
}

// fakeMounter records tmpfs mounts instead of making them.
type fakeMounter struct {
	mu     sync.Mutex
	mounts map[string]int64
}

func (f *fakeMounter) MountTmpfs(dir string, size int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.mounts == nil {
		f.mounts = map[string]int64{}
	}
	f.mounts[dir] = size
	return nil
}

func (f *fakeMounter) Unmount(dir string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for d := range f.mounts {
		if d == dir || strings.HasPrefix(d, dir+"/") {
			delete(f.mounts, d)
		}
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

func testPod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "uid-1", Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "app", Resources: corev1.ResourceRequirements{
				Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")}}}},
			Volumes: []corev1.Volume{
				{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
				{Name: "mem", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}}},
				{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
					LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}},
				{Name: "creds", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "creds",
					DefaultMode: ptr(int32(0o400)), Items: []corev1.KeyToPath{{Key: "password", Path: "db/password"},
						{Key: "user", Path: "user", Mode: ptr(int32(0o440))}}}}},
				{Name: "info", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: []corev1.DownwardAPIVolumeFile{
					{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels"}},
					{Path: "mem", ResourceFieldRef: &corev1.ResourceFieldSelector{ContainerName: "app", Resource: "limits.memory", Divisor: resource.MustParse("1Mi")}},
				}}}},
				{Name: "all", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
					{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}},
					{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token"}},
					{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "missing"}, Optional: ptr(true)}},
				}}}},
			},
		},
	}
}

func newTestManager(t *testing.T) (*Manager, *fakeMounter, *clocktesting.FakeClock) {
	t.Helper()
	fm := &fakeMounter{}
	clk := clocktesting.NewFakeClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	m, err := New(Config{Root: t.TempDir(), Mounter: fm, Clock: clk})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return m, fm, clk
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	return string(b)
}

func TestSetUpAndUpdate(t *testing.T) {
	m, fm, clk := newTestManager(t)
	src := &source{
		configMaps: map[string]*corev1.ConfigMap{"cfg": {Data: map[string]string{"a.conf": "one"}}},
		secrets:    map[string]*corev1.Secret{"creds": {Data: map[string][]byte{"password": []byte("s3cret"), "user": []byte("bob")}}},
		token:      "tok",
	}
	pod := testPod()
	if err := m.SetUp(context.Background(), pod, src); err != nil {
		t.Fatalf("SetUp: %v", err)
	}
	vols := filepath.Join(m.PodDir(pod.UID), "volumes")
	for path, want := range map[string]string{
		"kubernetes.io~configmap/cfg/a.conf":     "one",
		"kubernetes.io~secret/creds/db/password": "s3cret",
		"kubernetes.io~secret/creds/user":        "bob",
		"kubernetes.io~downward-api/info/labels": `app="web"`,
		"kubernetes.io~downward-api/info/mem":    "256",
		"kubernetes.io~projected/all/a.conf":     "one",
		"kubernetes.io~projected/all/token":      "tok",
	} {
		if got := readFile(t, filepath.Join(vols, path)); got != want {
			t.Errorf("%s = %q; want %q", path, got, want)
		}
	}
	for path, want := range map[string]os.FileMode{
		"kubernetes.io~secret/creds/db/password": 0o400,
		"kubernetes.io~secret/creds/user":        0o440,
		"kubernetes.io~configmap/cfg/a.conf":     0o644,
	} {
		info, err := os.Stat(filepath.Join(vols, path))
		if err != nil || info.Mode().Perm() != want {
			t.Errorf("mode of %s = %v, %v; want %v", path, info.Mode().Perm(), err, want)
		}
	}
	if info, err := os.Stat(filepath.Join(vols, "kubernetes.io~empty-dir/scratch")); err != nil || info.Mode().Perm() != 0o777 {
		t.Errorf("emptyDir scratch: %v, %v; want a 0777 directory", info, err)
	}
	if size, ok := fm.mounts[filepath.Join(vols, "kubernetes.io~empty-dir/mem")]; !ok || size != 256<<20 {
		t.Errorf("tmpfs of emptyDir mem = %d, %v; want the pod's memory limit, 256Mi", size, ok)
	}
	for _, d := range []string{"kubernetes.io~secret/creds", "kubernetes.io~projected/all"} {
		if _, ok := fm.mounts[filepath.Join(vols, d)]; !ok {
			t.Errorf("%s is not a tmpfs", d)
		}
	}
	if link, err := os.Readlink(filepath.Join(vols, "kubernetes.io~configmap/cfg/a.conf")); err != nil || link != "..data/a.conf" {
		t.Errorf("a.conf links to %q, %v; want ..data/a.conf", link, err)
	}

	// An update shows atomically; a key gone is gone; the old timestamped
	// directory is removed.
	cfgDir := filepath.Join(vols, "kubernetes.io~configmap/cfg")
	before, _ := os.Readlink(filepath.Join(cfgDir, "..data"))
	clk.Step(time.Second)
	src.mu.Lock()
	src.configMaps["cfg"] = &corev1.ConfigMap{Data: map[string]string{"b.conf": "two"}}
	src.mu.Unlock()
	pod.Labels["tier"] = "front"
	if err := m.SetUp(context.Background(), pod, src); err != nil {
		t.Fatalf("SetUp again: %v", err)
	}
	after, _ := os.Readlink(filepath.Join(cfgDir, "..data"))
	if before == after {
		t.Errorf("..data still links to %s after the update", before)
	}
	if got := readFile(t, filepath.Join(cfgDir, "b.conf")); got != "two" {
		t.Errorf("b.conf = %q; want two", got)
	}
	for _, gone := range []string{"a.conf", before} {
		if _, err := os.Lstat(filepath.Join(cfgDir, gone)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s still exists after the update (%v)", gone, err)
		}
	}
	if got := readFile(t, filepath.Join(vols, "kubernetes.io~downward-api/info/labels")); got != "app=\"web\"\ntier=\"front\"" {
		t.Errorf("labels after the change = %q", got)
	}
	// Nothing changed: nothing is rewritten.
	if err := m.SetUp(context.Background(), pod, src); err != nil {
		t.Fatalf("SetUp a third time: %v", err)
	}
	if again, _ := os.Readlink(filepath.Join(cfgDir, "..data")); again != after {
		t.Errorf("..data moved from %s to %s although nothing changed", after, again)
	}

	uids, err := m.Pods()
	if err != nil || len(uids) != 1 || uids[0] != pod.UID {
		t.Errorf("Pods() = %v, %v; want [%s]", uids, err, pod.UID)
	}
	if err := m.TearDown(context.Background(), pod.UID); err != nil {
		t.Fatalf("TearDown: %v", err)
	}
	if _, err := os.Stat(m.PodDir(pod.UID)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the pod directory is still there after TearDown: %v", err)
	}
	if len(fm.mounts) != 0 {
		t.Errorf("mounts left after TearDown: %v", fm.mounts)
	}
}

func TestSetUpFailures(t *testing.T) {
	m, _, _ := newTestManager(t)
	src := &source{configMaps: map[string]*corev1.ConfigMap{"cfg": {Data: map[string]string{"a": "1"}}}}
	for _, tc := range []struct {
		name string
		vol  corev1.VolumeSource
		want string
	}{
		{"missing-cm", corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "nope"}}},
			`MountVolume.SetUp failed for volume "missing-cm" : configmap "nope" not found`},
		{"missing-key", corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"},
			Items: []corev1.KeyToPath{{Key: "b", Path: "b"}}}},
			`MountVolume.SetUp failed for volume "missing-key" : configmap references non-existent config key: b`},
		{"missing-secret", corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s"}},
			`MountVolume.SetUp failed for volume "missing-secret" : secret "s" not found`},
		{"not-dir", corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/proc/self/status", Type: ptr(corev1.HostPathDirectory)}},
			`MountVolume.SetUp failed for volume "not-dir" : hostPath type check failed: /proc/self/status is not a directory`},
		{"not-file", corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/proc", Type: ptr(corev1.HostPathFile)}},
			`MountVolume.SetUp failed for volume "not-file" : hostPath type check failed: /proc is not a file`},
		{"not-socket", corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/proc", Type: ptr(corev1.HostPathSocket)}},
			`MountVolume.SetUp failed for volume "not-socket" : hostPath type check failed: /proc is not a socket file`},
		{"not-char", corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/proc", Type: ptr(corev1.HostPathCharDev)}},
			`MountVolume.SetUp failed for volume "not-char" : hostPath type check failed: /proc is not a character device`},
		{"not-block", corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/dev/null", Type: ptr(corev1.HostPathBlockDev)}},
			`MountVolume.SetUp failed for volume "not-block" : hostPath type check failed: /dev/null is not a block device`},
	} {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "uid-f"},
			Spec: corev1.PodSpec{Volumes: []corev1.Volume{{Name: tc.name, VolumeSource: tc.vol}}}}
		err := m.SetUp(context.Background(), pod, src)
		if err == nil || err.Error() != tc.want {
			t.Errorf("SetUp(%s) = %v; want %s", tc.name, err, tc.want)
		}
	}
	// Optional sources that are missing make empty volumes.
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "uid-o"},
		Spec: corev1.PodSpec{Volumes: []corev1.Volume{{Name: "opt", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: "nope"}, Optional: ptr(true)}}}}}}
	if err := m.SetUp(context.Background(), pod, src); err != nil {
		t.Errorf("SetUp(optional missing configmap) = %v; want nil", err)
	}
	if err := m.TearDown(context.Background(), "uid-o"); err != nil {
		t.Errorf("TearDown: %v", err)
	}
}

func TestHostPathCreates(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		typ   corev1.HostPathType
		path  string
		isDir bool
	}{
		{corev1.HostPathDirectoryOrCreate, "d/e", true},
		{corev1.HostPathFileOrCreate, "f", false},
		{corev1.HostPathUnset, "u", true},
	} {
		p := filepath.Join(dir, tc.path)
		if err := checkHostPath(p, &tc.typ); err != nil {
			t.Errorf("checkHostPath(%s, %q) = %v; want nil", tc.path, tc.typ, err)
			continue
		}
		info, err := os.Stat(p)
		if err != nil || info.IsDir() != tc.isDir {
			t.Errorf("after checkHostPath(%s, %q): %v, %v; want isDir %v", tc.path, tc.typ, info, err, tc.isDir)
		}
	}
	if err := checkHostPath(filepath.Join(dir, "f"), ptr(corev1.HostPathFile)); err != nil {
		t.Errorf("checkHostPath(file, File) = %v; want nil", err)
	}
}

func TestMountsAndSubPaths(t *testing.T) {
	m, _, _ := newTestManager(t)
	pod := testPod()
	src := &source{configMaps: map[string]*corev1.ConfigMap{"cfg": {Data: map[string]string{"a.conf": "one"}}},
		secrets: map[string]*corev1.Secret{"creds": {Data: map[string][]byte{"password": []byte("x"), "user": []byte("y")}}}, token: "t"}
	if err := m.SetUp(context.Background(), pod, src); err != nil {
		t.Fatalf("SetUp: %v", err)
	}
	bidi := corev1.MountPropagationBidirectional
	c := &corev1.Container{Name: "app", VolumeMounts: []corev1.VolumeMount{
		{Name: "scratch", MountPath: "/data", SubPathExpr: "$(POD_NAME)/logs"},
		{Name: "cfg", MountPath: "/etc/app"},
		{Name: "scratch", MountPath: "/shared", ReadOnly: true, MountPropagation: &bidi},
	}}
	mounts, err := m.Mounts(pod, c, map[string]string{"POD_NAME": "p"})
	if err != nil {
		t.Fatalf("Mounts: %v", err)
	}
	scratch := filepath.Join(m.PodDir(pod.UID), "volumes", pluginEmptyDir, "scratch")
	if got, want := mounts[0].HostPath, filepath.Join(scratch, "p/logs"); got != want {
		t.Errorf("mount 0 = %s; want %s", got, want)
	}
	if info, err := os.Stat(mounts[0].HostPath); err != nil || !info.IsDir() {
		t.Errorf("the subPathExpr directory was not made: %v", err)
	}
	if !mounts[1].ReadOnly || mounts[1].Propagation != corev1.MountPropagationNone {
		t.Errorf("configMap mount = %+v; want read-only, propagation None", mounts[1])
	}
	if !mounts[2].ReadOnly || mounts[2].Propagation != bidi || mounts[2].HostPath != scratch {
		t.Errorf("mount 2 = %+v; want read-only, Bidirectional, %s", mounts[2], scratch)
	}
	for _, tc := range []struct {
		mount corev1.VolumeMount
		want  string
	}{
		{corev1.VolumeMount{Name: "scratch", MountPath: "/x", SubPathExpr: "$(NOPE)/$(EMPTY)"}, "missing value for EMPTY, NOPE"},
		{corev1.VolumeMount{Name: "scratch", MountPath: "/x", SubPath: "../../etc"}, `subpath "../../etc" must be a relative path without '..'`},
		{corev1.VolumeMount{Name: "nope", MountPath: "/x"}, `cannot find volume "nope" to mount into container "app"`},
	} {
		c := &corev1.Container{Name: "app", VolumeMounts: []corev1.VolumeMount{tc.mount}}
		if _, err := m.Mounts(pod, c, map[string]string{"EMPTY": ""}); err == nil || err.Error() != tc.want {
			t.Errorf("Mounts(%+v) = %v; want %s", tc.mount, err, tc.want)
		}
	}
	// A symlink in the volume cannot lead a subPath out of it.
	if err := os.Symlink("/etc", filepath.Join(scratch, "escape")); err != nil {
		t.Fatal(err)
	}
	c = &corev1.Container{Name: "app", VolumeMounts: []corev1.VolumeMount{{Name: "scratch", MountPath: "/x", SubPath: "escape"}}}
	if _, err := m.Mounts(pod, c, nil); err == nil || !strings.Contains(err.Error(), "not within volume path") {
		t.Errorf("Mounts(subPath through a symlink to /etc) = %v; want not within volume path", err)
	}
}
