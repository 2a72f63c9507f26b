package kubelet

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func running() corev1.ContainerState {
	return corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
}

func terminated(code int32) corev1.ContainerState {
	return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code}}
}

func waiting(reason string) corev1.ContainerState {
	return corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}}
}

func cstatus(name string, state corev1.ContainerState, last ...corev1.ContainerState) corev1.ContainerStatus {
	s := corev1.ContainerStatus{Name: name, State: state}
	if len(last) > 0 {
		s.LastTerminationState = last[0]
	}
	return s
}

func specPod(policy corev1.RestartPolicy, inits []string, containers ...string) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "uid-1"}, Spec: corev1.PodSpec{RestartPolicy: policy}}
	for _, n := range inits {
		p.Spec.InitContainers = append(p.Spec.InitContainers, corev1.Container{Name: n, Image: "img"})
	}
	for _, n := range containers {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: n, Image: "img"})
	}
	return p
}

func TestGetPhase(t *testing.T) {
	always, never, onFailure := corev1.RestartPolicyAlways, corev1.RestartPolicyNever, corev1.RestartPolicyOnFailure
	for _, tc := range []struct {
		name     string
		pod      *corev1.Pod
		statuses []corev1.ContainerStatus
		terminal bool
		want     corev1.PodPhase
	}{
		{"nothing known", specPod(always, nil, "a"), nil, false, corev1.PodPending},
		{"waiting", specPod(always, nil, "a"), []corev1.ContainerStatus{cstatus("a", waiting("ContainerCreating"))}, false, corev1.PodPending},
		{"all running", specPod(always, nil, "a", "b"), []corev1.ContainerStatus{cstatus("a", running()), cstatus("b", running())}, false, corev1.PodRunning},
		{"one running one unknown", specPod(always, nil, "a", "b"), []corev1.ContainerStatus{cstatus("a", running())}, false, corev1.PodPending},
		{"always, all exited", specPod(always, nil, "a"), []corev1.ContainerStatus{cstatus("a", terminated(1))}, false, corev1.PodRunning},
		{"always, crash loop", specPod(always, nil, "a"), []corev1.ContainerStatus{cstatus("a", waiting("CrashLoopBackOff"), terminated(1))}, false, corev1.PodRunning},
		{"never, success", specPod(never, nil, "a"), []corev1.ContainerStatus{cstatus("a", terminated(0))}, false, corev1.PodSucceeded},
		{"never, failure", specPod(never, nil, "a", "b"), []corev1.ContainerStatus{cstatus("a", terminated(0)), cstatus("b", terminated(2))}, false, corev1.PodFailed},
		{"never, one still running", specPod(never, nil, "a", "b"), []corev1.ContainerStatus{cstatus("a", terminated(1)), cstatus("b", running())}, false, corev1.PodRunning},
		{"on failure, failure restarts", specPod(onFailure, nil, "a"), []corev1.ContainerStatus{cstatus("a", terminated(1))}, false, corev1.PodRunning},
		{"on failure, success", specPod(onFailure, nil, "a"), []corev1.ContainerStatus{cstatus("a", terminated(0))}, false, corev1.PodSucceeded},
		{"terminal always, success", specPod(always, nil, "a"), []corev1.ContainerStatus{cstatus("a", terminated(0))}, true, corev1.PodSucceeded},
		{"terminal always, failure", specPod(always, nil, "a"), []corev1.ContainerStatus{cstatus("a", terminated(137))}, true, corev1.PodFailed},
		{"init running", specPod(always, []string{"i"}, "a"), []corev1.ContainerStatus{cstatus("i", running()), cstatus("a", waiting("PodInitializing"))}, false, corev1.PodPending},
		{"init failed, never", specPod(never, []string{"i"}, "a"), []corev1.ContainerStatus{cstatus("i", terminated(1)), cstatus("a", waiting("PodInitializing"))}, false, corev1.PodFailed},
		{"init failed, always", specPod(always, []string{"i"}, "a"), []corev1.ContainerStatus{cstatus("i", waiting("CrashLoopBackOff"), terminated(1)), cstatus("a", waiting("PodInitializing"))}, false, corev1.PodPending},
		{"init done", specPod(always, []string{"i"}, "a"), []corev1.ContainerStatus{cstatus("i", terminated(0)), cstatus("a", running())}, false, corev1.PodRunning},
	} {
		if got := getPhase(tc.pod, tc.statuses, tc.terminal); got != tc.want {
			t.Errorf("%s: getPhase = %s; want %s", tc.name, got, tc.want)
		}
	}
}

func TestPodConditions(t *testing.T) {
	ready := func(name string, r bool) corev1.ContainerStatus {
		s := cstatus(name, running())
		s.Ready = r
		return s
	}
	for _, tc := range []struct {
		name          string
		pod           *corev1.Pod
		statuses      []corev1.ContainerStatus
		phase         corev1.PodPhase
		wantReady     string
		wantInit      string
		wantContainer string
	}{
		{"all ready", specPod(corev1.RestartPolicyAlways, nil, "a"), []corev1.ContainerStatus{ready("a", true)}, corev1.PodRunning,
			"True//", "True//", "True//"},
		{"one unready", specPod(corev1.RestartPolicyAlways, nil, "a", "b"), []corev1.ContainerStatus{ready("a", true), ready("b", false)}, corev1.PodRunning,
			"False/ContainersNotReady/containers with unready status: [b]", "True//", "False/ContainersNotReady/containers with unready status: [b]"},
		{"one unknown", specPod(corev1.RestartPolicyAlways, nil, "a", "b"), []corev1.ContainerStatus{ready("a", true)}, corev1.PodPending,
			"False/ContainersNotReady/containers with unknown status: [b]", "True//", "False/ContainersNotReady/containers with unknown status: [b]"},
		{"succeeded", specPod(corev1.RestartPolicyNever, nil, "a"), []corev1.ContainerStatus{cstatus("a", terminated(0))}, corev1.PodSucceeded,
			"False/PodCompleted/", "True/PodCompleted/", "False/PodCompleted/"},
		{"failed", specPod(corev1.RestartPolicyNever, nil, "a"), []corev1.ContainerStatus{cstatus("a", terminated(1))}, corev1.PodFailed,
			"False/PodFailed/", "True//", "False/PodFailed/"},
		{"initializing", specPod(corev1.RestartPolicyAlways, []string{"i", "j"}, "a"),
			[]corev1.ContainerStatus{cstatus("i", running()), cstatus("a", waiting("PodInitializing"))}, corev1.PodPending,
			"False/ContainersNotReady/containers with unready status: [a]",
			"False/ContainersNotInitialized/containers with unknown status: [j], containers with incomplete status: [i]",
			"False/ContainersNotReady/containers with unready status: [a]"},
	} {
		str := func(c corev1.PodCondition) string { return fmt.Sprintf("%s/%s/%s", c.Status, c.Reason, c.Message) }
		all := tc.statuses
		if got := str(readyCondition(tc.pod, nil, all, tc.phase)); got != tc.wantReady {
			t.Errorf("%s: Ready = %s; want %s", tc.name, got, tc.wantReady)
		}
		if got := str(initializedCondition(tc.pod, all, tc.phase)); got != tc.wantInit {
			t.Errorf("%s: Initialized = %s; want %s", tc.name, got, tc.wantInit)
		}
		if got := str(containersReadyCondition(tc.pod, all, tc.phase)); got != tc.wantContainer {
			t.Errorf("%s: ContainersReady = %s; want %s", tc.name, got, tc.wantContainer)
		}
	}
}

func TestReadinessGates(t *testing.T) {
	pod := specPod(corev1.RestartPolicyAlways, nil, "a")
	pod.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "example.com/lb"}}
	s := cstatus("a", running())
	s.Ready = true
	for _, tc := range []struct {
		conditions []corev1.PodCondition
		want       string
	}{
		{nil, `False/ReadinessGatesNotReady/corresponding condition of pod readiness gate "example.com/lb" does not exist.`},
		{[]corev1.PodCondition{{Type: "example.com/lb", Status: corev1.ConditionFalse}}, `False/ReadinessGatesNotReady/the status of pod readiness gate "example.com/lb" is not "True", but False`},
		{[]corev1.PodCondition{{Type: "example.com/lb", Status: corev1.ConditionTrue}}, "True//"},
	} {
		c := readyCondition(pod, tc.conditions, []corev1.ContainerStatus{s}, corev1.PodRunning)
		if got := fmt.Sprintf("%s/%s/%s", c.Status, c.Reason, c.Message); got != tc.want {
			t.Errorf("readyCondition(%v) = %s; want %s", tc.conditions, got, tc.want)
		}
	}
}

// fixedProbes answers every container alike.
type fixedProbes struct{ isStarted, isReady, liveFail, startFail bool }

func (p fixedProbes) started(string) bool        { return p.isStarted }
func (p fixedProbes) ready(string) bool          { return p.isReady }
func (p fixedProbes) livenessFailed(string) bool { return p.liveFail }
func (p fixedProbes) startupFailed(string) bool  { return p.startFail }

var allGood = fixedProbes{isStarted: true, isReady: true}

func TestGeneratePodStatus(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)
	sb := SandboxStatus{ID: "sb", PodUID: "uid-1", State: SandboxReady, IP: "10.42.0.5", CreatedAt: t0}
	pod := specPod(corev1.RestartPolicyAlways, nil, "app")
	pod.Generation = 3
	pod.Status = corev1.PodStatus{Phase: corev1.PodPending, QOSClass: corev1.PodQOSBestEffort,
		Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(t0.Add(-time.Hour))},
			{Type: "example.com/custom", Status: corev1.ConditionTrue}}}
	rp := newRuntimePod([]SandboxStatus{sb}, []ContainerStatus{
		{ID: "c2", Name: "app", Image: "img", ImageRef: "sha256:x", RestartCount: 1, State: ContainerRunning, CreatedAt: t0.Add(2 * time.Second), StartedAt: t0.Add(2 * time.Second)},
		{ID: "c1", Name: "app", Image: "img", State: ContainerExited, ExitCode: 1, Reason: "Error", CreatedAt: t0, StartedAt: t0, FinishedAt: t0.Add(time.Second)},
	})
	s := generatePodStatus(statusInput{pod: pod, old: &pod.Status, rp: rp, probes: allGood, runtimeName: "simulated",
		hostIP: "127.0.0.1", now: t0.Add(3 * time.Second)})
	if s.Phase != corev1.PodRunning || s.PodIP != "10.42.0.5" || s.HostIP != "127.0.0.1" || s.QOSClass != corev1.PodQOSBestEffort || s.ObservedGeneration != 3 {
		t.Errorf("status = phase %s podIP %s hostIP %s qos %s generation %d; want Running, 10.42.0.5, 127.0.0.1, BestEffort, 3",
			s.Phase, s.PodIP, s.HostIP, s.QOSClass, s.ObservedGeneration)
	}
	cs := s.ContainerStatuses[0]
	if cs.ContainerID != "simulated://c2" || cs.RestartCount != 1 || cs.State.Running == nil || !cs.Ready ||
		cs.LastTerminationState.Terminated == nil || cs.LastTerminationState.Terminated.ExitCode != 1 ||
		cs.LastTerminationState.Terminated.ContainerID != "simulated://c1" {
		t.Errorf("container status = %+v; want c2 running ready, restart 1, last state c1 exit 1", cs)
	}
	if got := cs.State.Running.StartedAt.Time; !got.Equal(t0.Add(2 * time.Second).Truncate(time.Second)) {
		t.Errorf("startedAt = %v; want it in whole seconds", got)
	}
	if c := findCondition(s.Conditions, corev1.PodScheduled); c == nil || !c.LastTransitionTime.Time.Equal(t0.Add(-time.Hour)) {
		t.Errorf("PodScheduled = %+v; want its transition time kept", c)
	}
	if c := findCondition(s.Conditions, "example.com/custom"); c == nil {
		t.Errorf("another component's condition was dropped")
	}
	if c := findCondition(s.Conditions, corev1.PodReady); c == nil || c.Status != corev1.ConditionTrue || c.ObservedGeneration != 3 {
		t.Errorf("Ready = %+v; want True, observedGeneration 3", c)
	}
	// Computing it again from what was written changes nothing.
	again := pod.DeepCopy()
	again.Status = s
	s2 := generatePodStatus(statusInput{pod: again, old: &again.Status, rp: rp, probes: allGood, runtimeName: "simulated",
		hostIP: "127.0.0.1", now: t0.Add(time.Minute)})
	if !podStatusEqual(&s, &s2) {
		t.Errorf("a second computation differs:\n%+v\n%+v", s, s2)
	}
}

func TestGeneratePodStatusForLostContainers(t *testing.T) {
	pod := specPod(corev1.RestartPolicyAlways, nil, "app")
	pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.42.0.9",
		ContainerStatuses: []corev1.ContainerStatus{{Name: "app", RestartCount: 2, State: running()}}}
	s := generatePodStatus(statusInput{pod: pod, old: &pod.Status, rp: newRuntimePod(nil, nil), probes: allGood, runtimeName: "simulated", now: time.Now()})
	cs := s.ContainerStatuses[0]
	last := cs.LastTerminationState.Terminated
	if cs.RestartCount != 3 || cs.State.Waiting == nil || cs.State.Waiting.Reason != "ContainerCreating" || last == nil ||
		last.Reason != "ContainerStatusUnknown" || last.ExitCode != 137 {
		t.Errorf("lost container = %+v; want waiting ContainerCreating, restart 3, last state ContainerStatusUnknown 137", cs)
	}
	if s.Phase != corev1.PodRunning || s.PodIP != "10.42.0.9" {
		t.Errorf("phase %s podIP %s; want Running (the container ran), 10.42.0.9 kept", s.Phase, s.PodIP)
	}
	if got := nextRestartCount(nil, &cs); got != 3 {
		t.Errorf("nextRestartCount after a loss = %d; want 3 (the loss counted once)", got)
	}
}

func TestWaitingReasonsShowInStatus(t *testing.T) {
	t0 := time.Now()
	pod := specPod(corev1.RestartPolicyAlways, nil, "app")
	rp := newRuntimePod([]SandboxStatus{{ID: "sb", State: SandboxReady, IP: "10.42.0.2"}}, []ContainerStatus{
		{ID: "c1", Name: "app", State: ContainerExited, ExitCode: 1, Reason: "Error", StartedAt: t0, FinishedAt: t0}})
	msg := "back-off 10s restarting failed container=app pod=p_ns(uid-1)"
	s := generatePodStatus(statusInput{pod: pod, old: &pod.Status, rp: rp, probes: allGood, runtimeName: "simulated", now: t0,
		reasons: map[string]waitingReason{"app": {reasonCrashLoopBackOff, msg}}})
	cs := s.ContainerStatuses[0]
	if cs.State.Waiting == nil || cs.State.Waiting.Reason != "CrashLoopBackOff" || cs.State.Waiting.Message != msg ||
		cs.LastTerminationState.Terminated == nil || cs.Ready || cs.Started == nil || *cs.Started {
		t.Errorf("status = %+v; want waiting CrashLoopBackOff with the message, last state terminated, not ready or started", cs)
	}
}

func TestNextRestartCount(t *testing.T) {
	for _, tc := range []struct {
		name   string
		latest *ContainerStatus
		api    *corev1.ContainerStatus
		want   int32
	}{
		{"first start", nil, nil, 0},
		{"never ran", nil, &corev1.ContainerStatus{State: waiting("ContainerCreating")}, 0},
		{"runtime holds the last", &ContainerStatus{RestartCount: 4}, nil, 5},
		{"lost while running", nil, &corev1.ContainerStatus{RestartCount: 2, State: running()}, 3},
		{"lost in a crash loop", nil, &corev1.ContainerStatus{RestartCount: 2, State: waiting("CrashLoopBackOff"), LastTerminationState: terminated(1)}, 3},
	} {
		if got := nextRestartCount(tc.latest, tc.api); got != tc.want {
			t.Errorf("%s: nextRestartCount = %d; want %d", tc.name, got, tc.want)
		}
	}
}
