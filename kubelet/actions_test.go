package kubelet

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/util/flowcontrol"
	testingclock "k8s.io/utils/clock/testing"
)

func readySandbox() SandboxStatus {
	return SandboxStatus{ID: "sb", State: SandboxReady, IP: "10.42.0.3"}
}

func ctr(name string, state ContainerState, exit int32) ContainerStatus {
	return ContainerStatus{ID: name + "-id", Name: name, State: state, ExitCode: exit, Image: "img"}
}

func actionsString(a podActions) string {
	var kills []string
	for _, k := range a.toKill {
		kills = append(kills, k.container.Name)
	}
	return fmt.Sprintf("kill=%t create=%t init=%v start=%v stop=%v", a.killPod, a.createSandbox, a.initToStart, a.toStart, kills)
}

func TestComputePodActions(t *testing.T) {
	always, never, onFailure := corev1.RestartPolicyAlways, corev1.RestartPolicyNever, corev1.RestartPolicyOnFailure
	sb := []SandboxStatus{readySandbox()}
	deadSandbox := []SandboxStatus{{ID: "sb", State: SandboxNotReady, Attempt: 0}}
	for _, tc := range []struct {
		name       string
		pod        *corev1.Pod
		sandboxes  []SandboxStatus
		containers []ContainerStatus
		probes     fixedProbes
		want       string
	}{
		{"new pod", specPod(always, nil, "a", "b"), nil, nil, allGood, "kill=true create=true init=[] start=[0 1] stop=[]"},
		{"new pod with init containers", specPod(always, []string{"i", "j"}, "a"), nil, nil, allGood, "kill=true create=true init=[0] start=[] stop=[]"},
		{"all running", specPod(always, nil, "a"), sb, []ContainerStatus{ctr("a", ContainerRunning, 0)}, allGood, "kill=false create=false init=[] start=[] stop=[]"},
		{"always restarts a failure", specPod(always, nil, "a"), sb, []ContainerStatus{ctr("a", ContainerExited, 1)}, allGood, "kill=false create=false init=[] start=[0] stop=[]"},
		{"always restarts a success", specPod(always, nil, "a"), sb, []ContainerStatus{ctr("a", ContainerExited, 0)}, allGood, "kill=false create=false init=[] start=[0] stop=[]"},
		{"on failure restarts a failure", specPod(onFailure, nil, "a"), sb, []ContainerStatus{ctr("a", ContainerExited, 1)}, allGood, "kill=false create=false init=[] start=[0] stop=[]"},
		{"on failure is done after success", specPod(onFailure, nil, "a"), sb, []ContainerStatus{ctr("a", ContainerExited, 0)}, allGood, "kill=true create=false init=[] start=[] stop=[]"},
		{"never is done", specPod(never, nil, "a"), sb, []ContainerStatus{ctr("a", ContainerExited, 1)}, allGood, "kill=true create=false init=[] start=[] stop=[]"},
		{"never waits for the rest", specPod(never, nil, "a", "b"), sb, []ContainerStatus{ctr("a", ContainerExited, 1), ctr("b", ContainerRunning, 0)}, allGood, "kill=false create=false init=[] start=[] stop=[]"},
		{"liveness failure restarts", specPod(always, nil, "a"), sb, []ContainerStatus{ctr("a", ContainerRunning, 0)}, fixedProbes{isStarted: true, liveFail: true}, "kill=false create=false init=[] start=[0] stop=[a]"},
		{"liveness failure with never kills", specPod(never, nil, "a"), sb, []ContainerStatus{ctr("a", ContainerRunning, 0)}, fixedProbes{isStarted: true, liveFail: true}, "kill=true create=false init=[] start=[] stop=[a]"},
		{"image changed", func() *corev1.Pod {
			p := specPod(never, nil, "a")
			p.Spec.Containers[0].Image = "img:2"
			return p
		}(), sb, []ContainerStatus{ctr("a", ContainerRunning, 0)}, allGood, "kill=false create=false init=[] start=[0] stop=[a]"},
		{"next init container", specPod(always, []string{"i", "j"}, "a"), sb, []ContainerStatus{ctr("i", ContainerExited, 0)}, allGood, "kill=false create=false init=[1] start=[] stop=[]"},
		{"init container running", specPod(always, []string{"i", "j"}, "a"), sb, []ContainerStatus{ctr("i", ContainerRunning, 0)}, allGood, "kill=false create=false init=[] start=[] stop=[]"},
		{"init done", specPod(always, []string{"i"}, "a"), sb, []ContainerStatus{ctr("i", ContainerExited, 0)}, allGood, "kill=false create=false init=[] start=[0] stop=[]"},
		{"init failed, never", specPod(never, []string{"i"}, "a"), sb, []ContainerStatus{ctr("i", ContainerExited, 1)}, allGood, "kill=true create=false init=[] start=[] stop=[]"},
		{"init failed, on failure", specPod(onFailure, []string{"i"}, "a"), sb, []ContainerStatus{ctr("i", ContainerExited, 1)}, allGood, "kill=false create=false init=[0] start=[] stop=[]"},
		{"an old dead sandbox beside the ready one", specPod(always, nil, "a"),
			[]SandboxStatus{{ID: "old", State: SandboxNotReady}, {ID: "new", State: SandboxReady, IP: "10.42.0.4", Attempt: 1, CreatedAt: time.Unix(10, 0)}},
			[]ContainerStatus{ctr("a", ContainerRunning, 0)}, allGood, "kill=false create=false init=[] start=[] stop=[]"},
		{"two ready sandboxes", specPod(always, nil, "a"),
			[]SandboxStatus{{ID: "old", State: SandboxReady, IP: "10.42.0.3"}, {ID: "new", State: SandboxReady, IP: "10.42.0.4", Attempt: 1, CreatedAt: time.Unix(10, 0)}},
			[]ContainerStatus{ctr("a", ContainerRunning, 0)}, allGood, "kill=true create=true init=[] start=[0] stop=[]"},
		{"sandbox died, always", specPod(always, nil, "a"), deadSandbox, []ContainerStatus{ctr("a", ContainerExited, 137)}, allGood, "kill=true create=true init=[] start=[0] stop=[]"},
		{"sandbox died, never", specPod(never, nil, "a"), deadSandbox, []ContainerStatus{ctr("a", ContainerExited, 137)}, allGood, "kill=true create=false init=[] start=[] stop=[]"},
		{"sandbox died, on failure, succeeded", specPod(onFailure, nil, "a"), deadSandbox, []ContainerStatus{ctr("a", ContainerExited, 0)}, allGood, "kill=true create=false init=[] start=[] stop=[]"},
		// Upstream would run a never-restart pod again when the runtime lost
		// it all; the worker fails such a pod first (its status says Failed).
		{"runtime lost everything, never", specPod(never, nil, "a"), nil, nil, allGood, "kill=true create=true init=[] start=[0] stop=[]"},
	} {
		a := computePodActions(tc.pod, newRuntimePod(tc.sandboxes, tc.containers), tc.probes, &tc.pod.Status)
		if got := actionsString(a); got != tc.want {
			t.Errorf("%s: actions = %s; want %s", tc.name, got, tc.want)
		}
	}
}

func TestSidecarsStartInOrderAndKeepRunning(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	pod := specPod(corev1.RestartPolicyNever, []string{"proxy", "setup"}, "app")
	pod.Spec.InitContainers[0].RestartPolicy = &always
	sb := []SandboxStatus{readySandbox()}
	for _, tc := range []struct {
		name       string
		containers []ContainerStatus
		probes     fixedProbes
		want       string
	}{
		{"sidecar first", nil, allGood, "kill=false create=false init=[0] start=[] stop=[]"},
		{"sidecar not started yet", []ContainerStatus{ctr("proxy", ContainerRunning, 0)}, fixedProbes{}, "kill=false create=false init=[] start=[] stop=[]"},
		{"then the next init", []ContainerStatus{ctr("proxy", ContainerRunning, 0)}, allGood, "kill=false create=false init=[1] start=[] stop=[]"},
		{"then the app", []ContainerStatus{ctr("proxy", ContainerRunning, 0), ctr("setup", ContainerExited, 0)}, allGood, "kill=false create=false init=[] start=[0] stop=[]"},
		{"sidecar restarted while the app runs", []ContainerStatus{ctr("proxy", ContainerExited, 1), ctr("setup", ContainerExited, 0), ctr("app", ContainerRunning, 0)}, allGood,
			"kill=false create=false init=[0] start=[] stop=[]"},
		{"app done: the sidecar does not keep the pod", []ContainerStatus{ctr("proxy", ContainerRunning, 0), ctr("setup", ContainerExited, 0), ctr("app", ContainerExited, 0)}, allGood,
			"kill=true create=false init=[] start=[] stop=[]"},
	} {
		a := computePodActions(pod, newRuntimePod(sb, tc.containers), tc.probes, nil)
		if got := actionsString(a); got != tc.want {
			t.Errorf("%s: actions = %s; want %s", tc.name, got, tc.want)
		}
	}
}

// TestLostRuntimeKeepsFinishedContainersFinished: what the status reports
// terminated for good is not run again when the runtime lost it, and a pod
// whose containers all finished is done.
func TestLostRuntimeKeepsFinishedContainersFinished(t *testing.T) {
	sb := []SandboxStatus{readySandbox()}
	withStatus := func(p *corev1.Pod, inits, regular []corev1.ContainerStatus) *corev1.Pod {
		p.Status.InitContainerStatuses, p.Status.ContainerStatuses = inits, regular
		return p
	}
	for _, tc := range []struct {
		name       string
		pod        *corev1.Pod
		sandboxes  []SandboxStatus
		containers []ContainerStatus
		want       string
	}{
		{"never: the finished one stays finished", withStatus(specPod(corev1.RestartPolicyNever, nil, "a", "b"), nil,
			[]corev1.ContainerStatus{cstatus("a", terminated(1)), cstatus("b", running())}), nil, nil,
			"kill=true create=true init=[] start=[1] stop=[]"},
		{"never: all finished is done", withStatus(specPod(corev1.RestartPolicyNever, nil, "a"), nil,
			[]corev1.ContainerStatus{cstatus("a", terminated(0))}), nil, nil,
			"kill=true create=false init=[] start=[] stop=[]"},
		{"on failure: completed init containers stay completed", withStatus(specPod(corev1.RestartPolicyOnFailure, []string{"i", "j"}, "a"),
			[]corev1.ContainerStatus{cstatus("i", terminated(0)), cstatus("j", terminated(0))}, []corev1.ContainerStatus{cstatus("a", running())}), nil, nil,
			"kill=true create=true init=[] start=[0] stop=[]"},
		{"on failure: resume at the unfinished init container", withStatus(specPod(corev1.RestartPolicyOnFailure, []string{"i", "j"}, "a"),
			[]corev1.ContainerStatus{cstatus("i", terminated(0)), cstatus("j", running())}, nil), sb, nil,
			"kill=false create=false init=[1] start=[] stop=[]"},
		{"always: everything runs again", withStatus(specPod(corev1.RestartPolicyAlways, []string{"i"}, "a"),
			[]corev1.ContainerStatus{cstatus("i", terminated(0))}, []corev1.ContainerStatus{cstatus("a", terminated(0))}), nil, nil,
			"kill=true create=true init=[0] start=[] stop=[]"},
	} {
		a := computePodActions(tc.pod, newRuntimePod(tc.sandboxes, tc.containers), allGood, &tc.pod.Status)
		if got := actionsString(a); got != tc.want {
			t.Errorf("%s: actions = %s; want %s", tc.name, got, tc.want)
		}
	}
}

// TestRestartBackOff pins the kubelet's use of the back-off: 10s doubling to
// 5m, and a fresh start once a container ran for 10 minutes.
func TestRestartBackOff(t *testing.T) {
	clock := testingclock.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	b := flowcontrol.NewFakeBackOff(DefaultContainerBackOff, DefaultMaxContainerBackOff, clock)
	const key = "uid/app"
	// exit records a crash after the container ran for ran, and returns the
	// wait before the restart (0: at once).
	exit := func(ran time.Duration) time.Duration {
		clock.Step(ran)
		finished := clock.Now()
		if b.IsInBackOffSince(key, finished) {
			wait := b.Get(key)
			clock.Step(wait)
			if b.IsInBackOffSince(key, finished) {
				t.Fatalf("still in back-off after waiting %v", wait)
			}
			b.Next(key, finished)
			return wait
		}
		b.Next(key, finished)
		return 0
	}
	var got []time.Duration
	for i := 0; i < 8; i++ {
		got = append(got, exit(time.Second))
	}
	want := []time.Duration{0, 10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second, 160 * time.Second, 300 * time.Second, 300 * time.Second}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("waits before restarts = %v; want %v", got, want)
	}
	if w := exit(11 * time.Minute); w != 0 {
		t.Errorf("wait after a 11 minute run = %v; want 0 (the back-off starts over)", w)
	}
	if w := exit(time.Second); w != 10*time.Second {
		t.Errorf("wait after the start over = %v; want 10s", w)
	}
}
