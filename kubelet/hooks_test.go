package kubelet_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/tendhq/tend/kubelet"
	"github.com/tendhq/tend/kubelet/volumes"
	"github.com/tendhq/tend/tendtest"
)

func TestLifecycleHooks(t *testing.T) {
	rt := newRecordingRuntime()
	rt.exec = func(name string, cmd []string) int {
		if slices.Contains(cmd, "fail") {
			return 1
		}
		return 0
	}
	rec := &recorder{}
	client, _ := readyNode(t, func(c *kubelet.Config) { c.Runtime = rt; c.Recorder = rec })
	hook := func(args ...string) *corev1.LifecycleHandler {
		return &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: args}}
	}
	createPod(t, client, newPod("hooks", "hollow-0", func(p *corev1.Pod) {
		p.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{PostStart: hook("started"), PreStop: hook("stopping")}
	}))
	waitPod(t, client, "hooks", running)
	if got := rt.executed(); !slices.Equal(got, []string{"app: started"}) {
		t.Errorf("execs after start = %q; want [app: started]", got)
	}
	if err := client.CoreV1().Pods("default").Delete(context.Background(), "hooks", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitGone(t, client, "hooks")
	if got := rt.executed(); !slices.Equal(got, []string{"app: started", "app: stopping"}) {
		t.Errorf("execs after deletion = %q; want [app: started app: stopping]", got)
	}

	// A failing postStart kills the container: PostStartHookError, an
	// event, and no Running.
	createPod(t, client, newPod("badhook", "hollow-0", func(p *corev1.Pod) {
		p.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{PostStart: hook("fail")}
	}))
	waitPod(t, client, "badhook", func(p *corev1.Pod) string {
		for _, c := range p.Status.ContainerStatuses {
			if w := c.State.Waiting; w != nil && (w.Reason == "PostStartHookError" || w.Reason == "CrashLoopBackOff") {
				return ""
			}
		}
		return "not waiting after its failed postStart hook"
	})
	if !rec.has("badhook", "Warning FailedPostStartHook: PostStartHook failed") {
		t.Errorf("no FailedPostStartHook event; events %v", rec.events["badhook"])
	}
}

func waitGone(t *testing.T, client kubernetes.Interface, name string) {
	t.Helper()
	tendtestEventually(t, func() string {
		if _, err := getPod(client, name); !apierrors.IsNotFound(err) {
			return fmt.Sprintf("get pod %s = %v; want NotFound", name, err)
		}
		return ""
	})
}

func tendtestEventually(t *testing.T, cond func() string) {
	t.Helper()
	tendtest.Eventually(t, waitFor, cond)
}

// fakeMounter mounts nothing: the tests run without root.
type fakeMounter struct{}

func (fakeMounter) MountTmpfs(string, int64) error { return nil }
func (fakeMounter) Unmount(string) error           { return nil }

func TestVolumesReachTheContainerAndFailedMountWaits(t *testing.T) {
	rt := newRecordingRuntime()
	rec := &recorder{}
	vm, err := volumes.New(volumes.Config{Root: t.TempDir(), Mounter: fakeMounter{}})
	if err != nil {
		t.Fatal(err)
	}
	client, _ := readyNode(t, func(c *kubelet.Config) { c.Runtime = rt; c.Recorder = rec; c.Volumes = vm })
	// The apiserver adds the kube-api-access volume, whose token needs the
	// account (no service account controller runs here).
	_, err = client.CoreV1().ServiceAccounts("default").Create(context.Background(),
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	_, err = client.CoreV1().ConfigMaps("default").Create(context.Background(), &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "kube-root-ca.crt"}, Data: map[string]string{"ca.crt": "test"}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	createPod(t, client, newPod("vols", "hollow-0", func(p *corev1.Pod) {
		p.Spec.Volumes = []corev1.Volume{
			{Name: "shared", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: "later"}}}},
		}
		p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "shared", MountPath: "/data"}, {Name: "cfg", MountPath: "/etc/app"}}
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "side", Image: "nginx:1.27",
			VolumeMounts: []corev1.VolumeMount{{Name: "shared", MountPath: "/shared"}}})
	}))
	want := `Warning FailedMount: MountVolume.SetUp failed for volume "cfg" : configmap "later" not found`
	tendtestEventually(t, func() string {
		if !rec.has("vols", want) {
			return "no event " + want
		}
		return ""
	})
	p, err := getPod(client, "vols")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range p.Status.ContainerStatuses {
		if w := c.State.Waiting; w == nil || w.Reason != "ContainerCreating" {
			t.Errorf("container %s: %+v; want waiting ContainerCreating", c.Name, c.State)
		}
	}
	if n := len(rt.created("app")); n != 0 {
		t.Errorf("%d containers created before the volumes were ready; want none", n)
	}
	_, err = client.CoreV1().ConfigMaps("default").Create(context.Background(), &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "later"}, Data: map[string]string{"k": "v"}}, metav1.CreateOptions{})
	mustCreate(t, err)
	p = waitPod(t, client, "vols", running)
	app, side := rt.created("app"), rt.created("side")
	if len(app) == 0 || len(side) == 0 || len(app[0].Mounts) < 2 || len(side[0].Mounts) < 1 {
		t.Fatalf("mounts app %v side %v; want 2 and 1 (and the service account's)", app, side)
	}
	if app[0].Mounts[0].HostPath != side[0].Mounts[0].HostPath || !strings.Contains(app[0].Mounts[0].HostPath, string(p.UID)+"/volumes/kubernetes.io~empty-dir/shared") {
		t.Errorf("emptyDir mounts %s and %s; want one directory of the pod", app[0].Mounts[0].HostPath, side[0].Mounts[0].HostPath)
	}
	if m := app[0].Mounts[1]; !m.ReadOnly || m.ContainerPath != "/etc/app" {
		t.Errorf("configMap mount = %+v; want read-only at /etc/app", m)
	}
	if err := client.CoreV1().Pods("default").Delete(context.Background(), "vols", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	tendtestEventually(t, func() string {
		if uids, _ := vm.Pods(); len(uids) != 0 {
			return "the pod's directory is still there"
		}
		return ""
	})
}
