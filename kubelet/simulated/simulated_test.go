package simulated

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	testingclock "k8s.io/utils/clock/testing"

	"github.com/tendhq/tend/kubelet"
)

func TestParseBehaviour(t *testing.T) {
	c := &corev1.Container{Name: "app", Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("32Mi")}}}
	for _, tc := range []struct {
		name        string
		annotations map[string]string
		check       func(b behaviour) bool
		wantErr     string
	}{
		{"nothing", nil, func(b behaviour) bool {
			return !b.exits && !b.notReady && b.cpuNanoCores == 100_000_000 && b.memoryBytes == 32<<20
		}, ""},
		{"exit", map[string]string{ExitAfter: "30s", ExitCode: "1"}, func(b behaviour) bool {
			return b.exits && b.exitAfter == 30*time.Second && b.exitCode == 1
		}, ""},
		{"per container wins", map[string]string{ExitAfter: "30s", ExitAfter + ".app": "5s", ExitAfter + ".other": "1s"}, func(b behaviour) bool {
			return b.exitAfter == 5*time.Second
		}, ""},
		{"usage", map[string]string{CPU: "250m", Memory: "64Mi"}, func(b behaviour) bool {
			return b.cpuNanoCores == 250_000_000 && b.memoryBytes == 64<<20
		}, ""},
		{"probes", map[string]string{Ready: "false", UnhealthyAfter: "20s"}, func(b behaviour) bool {
			return b.notReady && !b.unhealthy && b.unhealthyAfter == 20*time.Second
		}, ""},
		{"start delay", map[string]string{StartDelay: "2s"}, func(b behaviour) bool { return b.hasStartDelay && b.startDelay == 2*time.Second }, ""},
		{"fail start", map[string]string{FailStart: "boom"}, func(b behaviour) bool { return b.failStart == "boom" }, ""},
		{"bad duration", map[string]string{ExitAfter: "soon"}, nil, `invalid annotation simulated.tend.dev/exit-after="soon" for container app: time: invalid duration "soon"`},
		{"negative duration", map[string]string{UnreadyAfter + ".app": "-1s"}, nil, `invalid annotation simulated.tend.dev/unready-after.app="-1s" for container app: must not be negative`},
		{"bad exit code", map[string]string{ExitCode: "300"}, nil, `invalid annotation simulated.tend.dev/exit-code="300" for container app: must be an exit code, 0 to 255`},
		{"bad bool", map[string]string{Ready: "nope"}, nil, `invalid annotation simulated.tend.dev/ready="nope"`},
		{"bad cpu", map[string]string{CPU: "lots"}, nil, `invalid annotation simulated.tend.dev/cpu="lots" for container app: must be a CPU quantity such as 250m`},
	} {
		b, err := parseBehaviour(tc.annotations, c)
		switch {
		case tc.wantErr != "":
			if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
				t.Errorf("%s: error = %v; want %q", tc.name, err, tc.wantErr)
			}
		case err != nil:
			t.Errorf("%s: error = %v; want none", tc.name, err)
		case !tc.check(b):
			t.Errorf("%s: behaviour = %+v; not what the annotations say", tc.name, b)
		}
	}
}

// start makes a ready sandbox with one started container, on a fake clock.
func start(t *testing.T, annotations map[string]string) (*Runtime, *testingclock.FakeClock, string) {
	t.Helper()
	clock := testingclock.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	r := New(Config{StartDelay: -1, Clock: clock})
	ctx := context.Background()
	if err := r.UpdatePodCIDR(ctx, "10.42.0.0/24"); err != nil {
		t.Fatal(err)
	}
	sb, err := r.RunPodSandbox(ctx, kubelet.SandboxConfig{PodUID: "uid", Namespace: "ns", Name: "p", IP: "10.42.0.2", Annotations: annotations})
	if err != nil {
		t.Fatal(err)
	}
	id, err := r.CreateContainer(ctx, sb, kubelet.ContainerConfig{Spec: &corev1.Container{Name: "app", Image: "nginx"}, RestartCount: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.StartContainer(ctx, id); err != nil {
		t.Fatal(err)
	}
	return r, clock, id
}

func TestExitAfter(t *testing.T) {
	r, clock, id := start(t, map[string]string{ExitAfter: "30s", ExitCode: "3"})
	ctx := context.Background()
	s, _ := r.ContainerStatus(ctx, id)
	if s.State != kubelet.ContainerRunning || s.RestartCount != 2 || !strings.HasPrefix(s.ImageRef, "sha256:") {
		t.Errorf("status = %+v; want running, restart count 2, an image digest", s)
	}
	clock.Step(29 * time.Second)
	if s, _ = r.ContainerStatus(ctx, id); s.State != kubelet.ContainerRunning {
		t.Errorf("state after 29s = %s; want running", s.State)
	}
	clock.Step(5 * time.Second)
	s, _ = r.ContainerStatus(ctx, id)
	if s.State != kubelet.ContainerExited || s.ExitCode != 3 || s.Reason != "Error" || !s.FinishedAt.Equal(s.StartedAt.Add(30*time.Second)) {
		t.Errorf("status after 34s = %+v; want exited 3, Error, finished 30s after the start", s)
	}
}

func TestProbesFromAnnotations(t *testing.T) {
	ctx := context.Background()
	r, clock, id := start(t, map[string]string{UnreadyAfter: "20s", Healthy + ".app": "false"})
	probe := func(kind kubelet.ProbeKind) bool {
		res, err := r.Probe(ctx, id, kind, &corev1.Probe{})
		if err != nil {
			t.Fatal(err)
		}
		return res.Success
	}
	if !probe(kubelet.ReadinessProbe) || probe(kubelet.LivenessProbe) || probe(kubelet.StartupProbe) {
		t.Errorf("at the start: readiness %t liveness %t startup %t; want true, false, false",
			probe(kubelet.ReadinessProbe), probe(kubelet.LivenessProbe), probe(kubelet.StartupProbe))
	}
	clock.Step(20 * time.Second)
	if probe(kubelet.ReadinessProbe) {
		t.Errorf("readiness after unready-after passed; want a failure")
	}
}

func TestStatsAndStop(t *testing.T) {
	ctx := context.Background()
	r, clock, id := start(t, map[string]string{CPU: "500m", Memory: "64Mi"})
	clock.Step(10 * time.Second)
	s, err := r.Stats(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if s.CPUUsageNanoCores != 500_000_000 || s.MemoryWorkingSetBytes != 64<<20 || s.CPUUsageCoreNanoSeconds != 5_000_000_000 {
		t.Errorf("stats = %+v; want 0.5 cores, 64Mi, 5 core-seconds", s)
	}
	if err := r.StopContainer(ctx, id, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	st, _ := r.ContainerStatus(ctx, id)
	if st.State != kubelet.ContainerExited || st.ExitCode != 0 || st.Reason != "Completed" {
		t.Errorf("after a graceful stop = %+v; want exited 0, Completed", st)
	}
	if s, _ := r.Stats(ctx, id); s.CPUUsageNanoCores != 0 || s.MemoryWorkingSetBytes != 0 {
		t.Errorf("stats of a stopped container = %+v; want no current usage", s)
	}
}

func TestSandboxesAndRemoval(t *testing.T) {
	ctx := context.Background()
	r, _, id := start(t, nil)
	if _, err := r.RunPodSandbox(ctx, kubelet.SandboxConfig{PodUID: "other", IP: "10.43.0.2"}); err == nil {
		t.Errorf("a sandbox with an address outside the pod CIDR was made")
	}
	sbs, _ := r.ListPodSandboxes(ctx, "uid")
	if len(sbs) != 1 || sbs[0].State != kubelet.SandboxReady || sbs[0].IP != "10.42.0.2" {
		t.Fatalf("sandboxes = %+v; want one ready with 10.42.0.2", sbs)
	}
	if err := r.StopPodSandbox(ctx, sbs[0].ID); err != nil {
		t.Fatal(err)
	}
	if s, _ := r.ContainerStatus(ctx, id); s.State != kubelet.ContainerExited || s.ExitCode != 137 {
		t.Errorf("container after the sandbox stopped = %+v; want killed, 137", s)
	}
	if err := r.RemovePodSandbox(ctx, sbs[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := r.ContainerStatus(ctx, id); !errors.Is(err, kubelet.ErrNotFound) {
		t.Errorf("container status after the sandbox was removed: %v; want ErrNotFound", err)
	}
	if cs, _ := r.ListContainers(ctx, ""); len(cs) != 0 {
		t.Errorf("containers left: %d; want 0", len(cs))
	}
}

func TestNetworkReadyNeedsAPodCIDR(t *testing.T) {
	r := New(Config{})
	s, _ := r.Status(context.Background())
	if !s.Runtime.Ready || s.Network.Ready || s.Network.Reason != "NetworkPluginNotReady" || s.Name != "simulated" || s.Version != "0.1" {
		t.Errorf("status before a CIDR = %+v; want runtime ready, network not (NetworkPluginNotReady), simulated 0.1", s)
	}
	if err := r.UpdatePodCIDR(context.Background(), "10.42.0.0/24"); err != nil {
		t.Fatal(err)
	}
	if s, _ = r.Status(context.Background()); !s.Network.Ready {
		t.Errorf("network not ready with a pod CIDR")
	}
	if err := r.UpdatePodCIDR(context.Background(), "ten"); err == nil {
		t.Errorf("UpdatePodCIDR(ten) succeeded; want an error")
	}
}

func TestStartDelayIsJittered(t *testing.T) {
	clock := testingclock.NewFakeClock(time.Now())
	r := New(Config{StartDelay: time.Second, Clock: clock})
	ctx := context.Background()
	_ = r.UpdatePodCIDR(ctx, "10.42.0.0/24")
	sb, _ := r.RunPodSandbox(ctx, kubelet.SandboxConfig{PodUID: "uid", IP: "10.42.0.2"})
	id, _ := r.CreateContainer(ctx, sb, kubelet.ContainerConfig{Spec: &corev1.Container{Name: "app"}})
	done := make(chan error, 1)
	go func() { done <- r.StartContainer(ctx, id) }()
	// Not before half the delay, surely after one and a half.
	for !clock.HasWaiters() {
		time.Sleep(time.Millisecond)
	}
	clock.Step(499 * time.Millisecond)
	select {
	case <-done:
		t.Errorf("the container started before half the start delay")
	case <-time.After(20 * time.Millisecond):
	}
	clock.Step(time.Second + 2*time.Millisecond)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("the container did not start after 1.5 times the start delay")
	}
	if s, _ := r.ContainerStatus(ctx, id); s.State != kubelet.ContainerRunning {
		t.Errorf("state = %s; want running", s.State)
	}
}
