package volumes

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestRealTmpfs mounts real tmpfs (root only) and checks that TearDown
// unmounts them all, also for a pod found on disk by a new Manager (a
// kubelet restarted).
func TestRealTmpfs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	root := t.TempDir()
	m, err := New(Config{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	sizeLimit := resource.MustParse("8Mi")
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "uid-tmpfs"},
		Spec: corev1.PodSpec{Volumes: []corev1.Volume{
			{Name: "mem", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory, SizeLimit: &sizeLimit}}},
			{Name: "creds", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "creds"}}},
		}}}
	src := &source{secrets: map[string]*corev1.Secret{"creds": {Data: map[string][]byte{"k": []byte("v")}}}}
	t.Cleanup(func() { _ = kernelMounter{}.Unmount(root) })
	for range 2 { // the second SetUp finds the mounts there
		if err := m.SetUp(context.Background(), pod, src); err != nil {
			t.Fatalf("SetUp: %v", err)
		}
	}
	vols := filepath.Join(m.PodDir(pod.UID), "volumes")
	mounts, err := mountsUnder(root)
	if err != nil || len(mounts) != 2 {
		t.Fatalf("mounts under the root = %v, %v; want the two tmpfs", mounts, err)
	}
	var st unix.Statfs_t
	if err := unix.Statfs(filepath.Join(vols, pluginEmptyDir, "mem"), &st); err != nil || st.Type != unix.TMPFS_MAGIC ||
		int64(st.Blocks)*st.Bsize != 8<<20 {
		t.Errorf("emptyDir mem: statfs type %x size %d, %v; want a tmpfs of 8Mi", st.Type, int64(st.Blocks)*st.Bsize, err)
	}
	if b, err := os.ReadFile(filepath.Join(vols, pluginSecret, "creds", "k")); err != nil || string(b) != "v" {
		t.Errorf("secret file k = %q, %v; want v", b, err)
	}
	// A new Manager (the kubelet restarted) finds the pod and removes it.
	m2, err := New(Config{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	uids, err := m2.Pods()
	if err != nil || len(uids) != 1 {
		t.Fatalf("Pods() = %v, %v; want the pod", uids, err)
	}
	if err := m2.TearDown(context.Background(), uids[0]); err != nil {
		t.Fatalf("TearDown: %v", err)
	}
	if mounts, _ := mountsUnder(root); len(mounts) != 0 {
		t.Errorf("mounts left after TearDown: %v", mounts)
	}
	if _, err := os.Stat(m.PodDir(pod.UID)); !os.IsNotExist(err) {
		t.Errorf("the pod directory is still there: %v", err)
	}
}
