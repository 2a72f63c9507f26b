package runc

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tendhq/tend/kubelet"
	"github.com/tendhq/tend/kubelet/stats"
)

// TestStatsOfARealContainer reads, through the kubelet's stats provider,
// the cgroup stats of a container that burns CPU for a while and then holds
// 32 MiB.
func TestStatsOfARealContainer(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("running containers needs root")
	}
	ctx := context.Background()
	dir := t.TempDir()
	cfg := Config{Root: filepath.Join(dir, "runtime"), Images: testappStore(t, dir), CgroupParent: "tend-test-stats", Logf: t.Logf}
	rt, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "burn", Namespace: "default", UID: "uid-stats"}, Spec: corev1.PodSpec{HostNetwork: true}}
	sbID, err := rt.RunPodSandbox(ctx, kubelet.SandboxConfig{PodUID: pod.UID, Namespace: "default", Name: "burn", Hostname: "burn", HostNetwork: true, Pod: pod})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = rt.RemovePodSandbox(ctx, sbID)
		removeCgroupParents(t, "tend-test-stats")
	})
	c := &corev1.Container{Name: "app", Image: "example.local/testapp:1", Command: []string{"/testapp", "sh", "-c", "burn-cpu 300ms; alloc 32"}}
	id, err := rt.CreateContainer(ctx, sbID, kubelet.ContainerConfig{Spec: c, Pod: pod})
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.StartContainer(ctx, id); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, rt, id, func(s kubelet.ContainerStatus) bool { return s.State == kubelet.ContainerRunning })

	p, err := stats.New(stats.Config{NodeName: "n", Runtime: rt, Node: stats.ProcNode{}})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		s, err := p.Summary(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Pods) == 1 && len(s.Pods[0].Containers) == 1 && s.Pods[0].Containers[0].Memory != nil {
			cs := s.Pods[0].Containers[0]
			cpu, mem := *cs.CPU.UsageCoreNanoSeconds, *cs.Memory.WorkingSetBytes
			if cpu >= uint64(200*time.Millisecond) && mem >= 32<<20 {
				if *cs.CPU.UsageNanoCores == 0 || *s.Pods[0].CPU.UsageCoreNanoSeconds != cpu || *s.Node.CPU.UsageCoreNanoSeconds < cpu {
					t.Errorf("summary = container rate %d, pod CPU %d, node CPU %d; want a rate, the pod's CPU the container's (%d), the node's more",
						*cs.CPU.UsageNanoCores, *s.Pods[0].CPU.UsageCoreNanoSeconds, *s.Node.CPU.UsageCoreNanoSeconds, cpu)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("after 20 s the container has used %v of CPU and has a working set of %d; want at least 200ms and 32 MiB", time.Duration(cpu), mem)
			}
		} else if time.Now().After(deadline) {
			t.Fatalf("after 20 s the summary has %+v; want the pod and its container with stats", s.Pods)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
