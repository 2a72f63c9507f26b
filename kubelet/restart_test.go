package kubelet_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/tendhq/tend/kubelet"
	"github.com/tendhq/tend/kubelet/simulated"
	"github.com/tendhq/tend/kubelet/volumes"
	"github.com/tendhq/tend/tendtest"
)

func TestAgentRestartKeepsPodsRunning(t *testing.T) {
	c := tendtest.Start(t, tendtest.Options{})
	client := c.Client()
	rt := newRuntime()
	first := startNode(t, fastConfig("hollow-0", client, rt))
	setPodCIDR(t, client, "hollow-0", "10.42.0.0/24")
	createPod(t, client, newPod("a", "hollow-0"))
	createPod(t, client, newPod("b", "hollow-0"))
	before := map[string]*corev1.Pod{}
	for _, name := range []string{"a", "b"} {
		before[name] = waitPod(t, client, name, runningAndReady)
	}
	first.stop()

	startNode(t, fastConfig("hollow-0", client, rt))
	createPod(t, client, newPod("c", "hollow-0"))
	waitPod(t, client, "c", runningAndReady)
	for _, name := range []string{"a", "b"} {
		p, err := getPod(client, name)
		if err != nil {
			t.Fatalf("getting pod %s: %v", name, err)
		}
		b, a := before[name].Status.ContainerStatuses[0], p.Status.ContainerStatuses[0]
		if a.ContainerID != b.ContainerID || a.RestartCount != 0 || p.Status.PodIP != before[name].Status.PodIP || !isReady(p) {
			t.Errorf("pod %s after the restart: container %s restarts %d ip %s ready %t; want %s, 0, %s, true",
				name, a.ContainerID, a.RestartCount, p.Status.PodIP, isReady(p), b.ContainerID, before[name].Status.PodIP)
		}
	}
	// One sandbox and one container per pod: nothing was started twice.
	sbs, _ := rt.ListPodSandboxes(context.Background(), "")
	cs, _ := rt.ListContainers(context.Background(), "")
	if len(sbs) != 3 || len(cs) != 3 {
		t.Errorf("the runtime holds %d sandboxes and %d containers; want 3 and 3", len(sbs), len(cs))
	}
}

func TestAgentRestartWithALostRuntime(t *testing.T) {
	c := tendtest.Start(t, tendtest.Options{})
	client := c.Client()
	first := startNode(t, fastConfig("hollow-0", client, newRuntime()))
	setPodCIDR(t, client, "hollow-0", "10.42.0.0/24")
	createPod(t, client, newPod("web", "hollow-0"))
	before := waitPod(t, client, "web", runningAndReady)
	first.stop()

	// A new process: the simulated runtime lost everything.
	rt := newRuntime()
	startNode(t, fastConfig("hollow-0", client, rt))
	p := waitPod(t, client, "web", func(p *corev1.Pod) string {
		cs := p.Status.ContainerStatuses
		if len(cs) != 1 || cs[0].RestartCount != 1 || cs[0].State.Running == nil || !isReady(p) {
			return "not running again with restartCount 1"
		}
		return ""
	})
	if p.Status.ContainerStatuses[0].ContainerID == before.Status.ContainerStatuses[0].ContainerID {
		t.Errorf("containerID unchanged after the runtime lost the container")
	}
	if p.Status.PodIP != before.Status.PodIP {
		t.Errorf("podIP = %s; want the one the pod had, %s", p.Status.PodIP, before.Status.PodIP)
	}
	cs, _ := rt.ListContainers(context.Background(), "")
	if len(cs) != 1 {
		t.Errorf("the runtime holds %d containers; want 1", len(cs))
	}
}

func TestOrphansAndVanishedPodsAreRemoved(t *testing.T) {
	c := tendtest.Start(t, tendtest.Options{})
	client := c.Client()
	rt := newRuntime()
	ctx := context.Background()
	// Left over from an earlier run, for a pod the API no longer has.
	if err := rt.UpdatePodCIDR(ctx, "10.42.0.0/24"); err != nil {
		t.Fatal(err)
	}
	sb, err := rt.RunPodSandbox(ctx, kubelet.SandboxConfig{PodUID: "gone-uid", Namespace: "default", Name: "gone", IP: "10.42.0.2"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rt.CreateContainer(ctx, sb, kubelet.ContainerConfig{Spec: &corev1.Container{Name: "app", Image: "nginx"}}); err != nil {
		t.Fatal(err)
	}
	startNode(t, fastConfig("hollow-0", client, rt))
	setPodCIDR(t, client, "hollow-0", "10.42.0.0/24")
	tendtest.Eventually(t, waitFor, func() string {
		if sbs, _ := rt.ListPodSandboxes(ctx, "gone-uid"); len(sbs) > 0 {
			return "the orphan sandbox is still there"
		}
		return ""
	})

	createPod(t, client, newPod("web", "hollow-0"))
	p := waitPod(t, client, "web", runningAndReady)
	zero := int64(0)
	if err := client.CoreV1().Pods("default").Delete(ctx, "web", metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}
	tendtest.Eventually(t, waitFor, func() string {
		sbs, _ := rt.ListPodSandboxes(ctx, p.UID)
		cs, _ := rt.ListContainers(ctx, p.UID)
		if len(sbs)+len(cs) > 0 {
			return "the force-deleted pod still runs"
		}
		return ""
	})
}

// TestLostRuntimeDoesNotRerunFinishedContainers: under restartPolicy
// OnFailure, a container that succeeded before the runtime was lost stays
// finished (its status may not go back from terminated), while the one that
// was running runs again.
func TestLostRuntimeDoesNotRerunFinishedContainers(t *testing.T) {
	c := tendtest.Start(t, tendtest.Options{})
	client := c.Client()
	first := startNode(t, fastConfig("hollow-0", client, newRuntime()))
	setPodCIDR(t, client, "hollow-0", "10.42.0.0/24")
	p := newPod("job", "hollow-0", restartPolicy(corev1.RestartPolicyOnFailure), annotate(simulated.ExitAfter+".quick", "50ms"))
	p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "quick", Image: "busybox"})
	createPod(t, client, p)
	before := waitPod(t, client, "job", func(p *corev1.Pod) string {
		if p.Status.Phase != corev1.PodRunning || byName(p, "quick").State.Terminated == nil || byName(p, "app").State.Running == nil {
			return "not Running with quick finished and app running"
		}
		return ""
	})
	first.stop()

	startNode(t, fastConfig("hollow-0", client, newRuntime()))
	after := waitPod(t, client, "job", func(p *corev1.Pod) string {
		if a := byName(p, "app"); a.RestartCount != 1 || a.State.Running == nil {
			return "app not running again with restartCount 1"
		}
		return ""
	})
	q0, q1 := byName(before, "quick"), byName(after, "quick")
	if q1.State.Terminated == nil || q1.RestartCount != 0 || !q1.State.Terminated.FinishedAt.Equal(&q0.State.Terminated.FinishedAt) {
		t.Errorf("quick after the loss = %+v; want it still terminated as before, not run again", q1)
	}
	if after.Status.Phase != corev1.PodRunning {
		t.Errorf("phase = %s; want Running", after.Status.Phase)
	}
}

// TestLostRuntimeFailsRunOncePods: a restartPolicy Never pod whose running
// container the runtime lost has failed, as upstream decides after a node
// reboot: a run-once pod never runs twice.
func TestLostRuntimeFailsRunOncePods(t *testing.T) {
	c := tendtest.Start(t, tendtest.Options{})
	client := c.Client()
	first := startNode(t, fastConfig("hollow-0", client, newRuntime()))
	setPodCIDR(t, client, "hollow-0", "10.42.0.0/24")
	createPod(t, client, newPod("once", "hollow-0", restartPolicy(corev1.RestartPolicyNever)))
	waitPod(t, client, "once", runningAndReady)
	first.stop()

	rt := newRuntime()
	startNode(t, fastConfig("hollow-0", client, rt))
	p := waitPod(t, client, "once", func(p *corev1.Pod) string {
		if p.Status.Phase != corev1.PodFailed {
			return "not Failed"
		}
		return ""
	})
	last := byName(p, "app").LastTerminationState.Terminated
	if last == nil || last.Reason != "ContainerStatusUnknown" || last.ExitCode != 137 {
		t.Errorf("app lastState = %+v; want terminated, ContainerStatusUnknown, 137", byName(p, "app").LastTerminationState)
	}
	if cs, _ := rt.ListContainers(context.Background(), ""); len(cs) != 0 {
		t.Errorf("the runtime runs %d containers; want none (the pod must not run twice)", len(cs))
	}
}

func byName(p *corev1.Pod, name string) corev1.ContainerStatus {
	for _, s := range p.Status.ContainerStatuses {
		if s.Name == name {
			return s
		}
	}
	return corev1.ContainerStatus{}
}

// TestAgentRestartKeepsVolumes: the volumes of the pods a restarted kubelet
// finds running are theirs still, what the containers wrote included;
// only those of pods gone while it was down are removed.
func TestAgentRestartKeepsVolumes(t *testing.T) {
	c := tendtest.Start(t, tendtest.Options{})
	client := c.Client()
	rt := newRuntime()
	vm, err := volumes.New(volumes.Config{Root: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	cfg := fastConfig("hollow-0", client, rt)
	cfg.Volumes = vm
	first := startNode(t, cfg)
	setPodCIDR(t, client, "hollow-0", "10.42.0.0/24")
	withScratch := func(p *corev1.Pod) {
		automount := false // no service account token: tendtest runs no token controllers
		p.Spec.AutomountServiceAccountToken = &automount
		p.Spec.Volumes = []corev1.Volume{{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	}
	keep := newPod("keep", "hollow-0", withScratch)
	gone := newPod("gone", "hollow-0", withScratch)
	createPod(t, client, keep)
	createPod(t, client, gone)
	var written string
	for _, name := range []string{"keep", "gone"} {
		p := waitPod(t, client, name, runningAndReady)
		f := filepath.Join(vm.PodDir(p.UID), "volumes", "kubernetes.io~empty-dir", "scratch", "data")
		if err := os.WriteFile(f, []byte("kept"), 0o644); err != nil {
			t.Fatalf("writing into pod %s's emptyDir: %v", name, err)
		}
		if name == "keep" {
			written = f
		}
	}
	first.stop()
	zero := int64(0)
	goneUID := getPodUID(t, client, "gone")
	if err := client.CoreV1().Pods("default").Delete(context.Background(), "gone", metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}

	startNode(t, cfg)
	tendtest.Eventually(t, 30*time.Second, func() string {
		if _, err := os.Stat(vm.PodDir(goneUID)); !os.IsNotExist(err) {
			return "the deleted pod's volumes are still on the node"
		}
		return ""
	})
	if b, err := os.ReadFile(written); err != nil || string(b) != "kept" {
		t.Errorf("pod keep's emptyDir after the restart: %q, %v; want what was written, kept", b, err)
	}
}

func getPodUID(t *testing.T, client kubernetes.Interface, name string) types.UID {
	t.Helper()
	p, err := getPod(client, name)
	if err != nil {
		t.Fatal(err)
	}
	return p.UID
}
