package kubelet_test

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tendhq/tend/kubelet"
	"github.com/tendhq/tend/kubelet/simulated"
	"github.com/tendhq/tend/tendtest"
)

func TestPodRunsReadyWithAnAddressInTheCIDR(t *testing.T) {
	c := tendtest.Start(t, tendtest.Options{})
	client := c.Client()
	startNode(t, fastConfig("hollow-0", client, newRuntime()))
	setPodCIDR(t, client, "hollow-0", "10.42.1.0/24")

	createPod(t, client, newPod("web", "hollow-0"))
	hostNet := newPod("host", "hollow-0")
	hostNet.Spec.HostNetwork = true
	createPod(t, client, hostNet)

	p := waitPod(t, client, "web", runningAndReady)
	if ip, err := netip.ParseAddr(p.Status.PodIP); err != nil || !netip.MustParsePrefix("10.42.1.0/24").Contains(ip) || p.Status.PodIP == "10.42.1.1" {
		t.Errorf("podIP = %q; want an address in 10.42.1.0/24 other than the gateway", p.Status.PodIP)
	}
	if len(p.Status.PodIPs) != 1 || p.Status.PodIPs[0].IP != p.Status.PodIP {
		t.Errorf("podIPs = %v; want [%s]", p.Status.PodIPs, p.Status.PodIP)
	}
	if p.Status.HostIP != "127.0.0.1" || len(p.Status.HostIPs) != 1 || p.Status.StartTime == nil || p.Status.QOSClass != corev1.PodQOSBestEffort {
		t.Errorf("hostIP %q, hostIPs %v, startTime %v, qosClass %q; want 127.0.0.1, [127.0.0.1], set, BestEffort",
			p.Status.HostIP, p.Status.HostIPs, p.Status.StartTime, p.Status.QOSClass)
	}
	cs := p.Status.ContainerStatuses
	if len(cs) != 1 || !cs[0].Ready || cs[0].Started == nil || !*cs[0].Started || cs[0].State.Running == nil ||
		!strings.HasPrefix(cs[0].ContainerID, "simulated://") || cs[0].Image != "nginx:1.27" || !strings.HasPrefix(cs[0].ImageID, "sha256:") {
		t.Errorf("containerStatuses = %+v; want app running, started, ready, simulated:// ID", cs)
	}
	for _, ct := range []corev1.PodConditionType{corev1.PodReadyToStartContainers, corev1.PodInitialized, corev1.ContainersReady, corev1.PodReady, corev1.PodScheduled} {
		if c := podCondition(p, ct); c == nil || c.Status != corev1.ConditionTrue || c.LastTransitionTime.IsZero() {
			t.Errorf("condition %s = %+v; want True with a transition time", ct, c)
		}
	}
	h := waitPod(t, client, "host", runningAndReady)
	if h.Status.PodIP != "127.0.0.1" {
		t.Errorf("host-network podIP = %q; want the node's 127.0.0.1", h.Status.PodIP)
	}
}

func TestExitAfterWithRestartPolicyNever(t *testing.T) {
	client, n := readyNode(t)
	createPod(t, client, newPod("fails", "hollow-0", restartPolicy(corev1.RestartPolicyNever),
		annotate(simulated.ExitAfter, "200ms", simulated.ExitCode, "3")))
	createPod(t, client, newPod("succeeds", "hollow-0", restartPolicy(corev1.RestartPolicyNever),
		annotate(simulated.ExitAfter, "200ms")))

	p := waitPod(t, client, "fails", func(p *corev1.Pod) string {
		if p.Status.Phase != corev1.PodFailed {
			return "not Failed"
		}
		return ""
	})
	term := p.Status.ContainerStatuses[0].State.Terminated
	if term == nil || term.ExitCode != 3 || term.Reason != "Error" || term.FinishedAt.IsZero() || term.StartedAt.IsZero() {
		t.Errorf("terminated = %+v; want exit 3, Error, with times", term)
	}
	if p.Status.ContainerStatuses[0].RestartCount != 0 {
		t.Errorf("restartCount = %d; want 0", p.Status.ContainerStatuses[0].RestartCount)
	}
	if c := podCondition(p, corev1.PodReady); c == nil || c.Status != corev1.ConditionFalse || c.Reason != "PodFailed" {
		t.Errorf("Ready = %+v; want False, PodFailed", c)
	}
	if p.Status.PodIP == "" {
		t.Errorf("a finished pod lost its podIP")
	}
	s := waitPod(t, client, "succeeds", func(p *corev1.Pod) string {
		if p.Status.Phase != corev1.PodSucceeded {
			return "not Succeeded"
		}
		return ""
	})
	if term := s.Status.ContainerStatuses[0].State.Terminated; term == nil || term.ExitCode != 0 || term.Reason != "Completed" {
		t.Errorf("terminated = %+v; want exit 0, Completed", term)
	}
	if c := podCondition(s, corev1.PodReady); c == nil || c.Reason != "PodCompleted" {
		t.Errorf("Ready = %+v; want False, PodCompleted", c)
	}
	// Finished pods stay in the API; what they ran is removed.
	tendtest.Eventually(t, waitFor, func() string {
		for _, p := range []*corev1.Pod{p, s} {
			sbs, _ := n.rt.ListPodSandboxes(context.Background(), p.UID)
			cs, _ := n.rt.ListContainers(context.Background(), p.UID)
			if len(sbs)+len(cs) > 0 {
				return fmt.Sprintf("the runtime still holds %d sandboxes and %d containers of %s", len(sbs), len(cs), p.Name)
			}
		}
		return ""
	})
	for _, name := range []string{"fails", "succeeds"} {
		if _, err := getPod(client, name); err != nil {
			t.Errorf("getting finished pod %s: %v; want it kept", name, err)
		}
	}
}

func TestRestartPolicyAlwaysBacksOff(t *testing.T) {
	client, _ := readyNode(t)
	createPod(t, client, newPod("crasher", "hollow-0", annotate(simulated.ExitAfter, "50ms", simulated.ExitCode, "1")))

	// The first restart is at once; the next wait for a growing back-off,
	// shown as CrashLoopBackOff with upstream's message.
	sawBackOff := ""
	p := waitPod(t, client, "crasher", func(p *corev1.Pod) string {
		cs := p.Status.ContainerStatuses
		if len(cs) != 1 {
			return "no container status"
		}
		if w := cs[0].State.Waiting; w != nil && w.Reason == "CrashLoopBackOff" {
			sawBackOff = w.Message
		}
		if cs[0].RestartCount < 3 || sawBackOff == "" {
			return "fewer than 3 restarts, or no CrashLoopBackOff seen"
		}
		return ""
	})
	want := fmt.Sprintf("restarting failed container=app pod=crasher_default(%s)", p.UID)
	if !strings.HasPrefix(sawBackOff, "back-off ") || !strings.HasSuffix(sawBackOff, want) {
		t.Errorf("CrashLoopBackOff message = %q; want \"back-off <d> %s\"", sawBackOff, want)
	}
	if p.Status.Phase != corev1.PodRunning {
		t.Errorf("phase = %s; want Running (restartPolicy Always)", p.Status.Phase)
	}
	last := p.Status.ContainerStatuses[0].LastTerminationState.Terminated
	if last == nil || last.ExitCode != 1 {
		t.Errorf("lastState = %+v; want terminated with exit 1", p.Status.ContainerStatuses[0].LastTerminationState)
	}
}

func TestReadinessFalseIsRunningButNotReady(t *testing.T) {
	client, _ := readyNode(t)
	p := newPod("unready", "hollow-0", annotate(simulated.Ready, "false"))
	p.Spec.Containers[0].ReadinessProbe = &corev1.Probe{PeriodSeconds: 1,
		ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intOrString(8080)}}}
	createPod(t, client, p)
	ready := newPod("ready", "hollow-0")
	ready.Spec.Containers[0].ReadinessProbe = p.Spec.Containers[0].ReadinessProbe.DeepCopy()
	createPod(t, client, ready)

	waitPod(t, client, "ready", runningAndReady)
	got := waitPod(t, client, "unready", func(p *corev1.Pod) string {
		c := podCondition(p, corev1.PodReady)
		if p.Status.Phase != corev1.PodRunning || c == nil || c.Status != corev1.ConditionFalse {
			return "not Running with Ready False"
		}
		return ""
	})
	c := podCondition(got, corev1.PodReady)
	if c.Reason != "ContainersNotReady" || c.Message != "containers with unready status: [app]" {
		t.Errorf("Ready = %+v; want ContainersNotReady, \"containers with unready status: [app]\"", c)
	}
	if cs := got.Status.ContainerStatuses[0]; cs.Ready || cs.Started == nil || !*cs.Started {
		t.Errorf("container ready=%t started=%v; want not ready, started", cs.Ready, cs.Started)
	}
}

func TestGracefulDeletion(t *testing.T) {
	client, n := readyNode(t)
	createPod(t, client, newPod("web", "hollow-0"))
	p := waitPod(t, client, "web", runningAndReady)

	if err := client.CoreV1().Pods("default").Delete(context.Background(), "web", metav1.DeleteOptions{}); err != nil {
		t.Fatalf("deleting the pod: %v", err)
	}
	tendtest.Eventually(t, waitFor, func() string {
		_, err := getPod(client, "web")
		if !apierrors.IsNotFound(err) {
			return fmt.Sprintf("get = %v; want NotFound", err)
		}
		return ""
	})
	tendtest.Eventually(t, waitFor, func() string {
		sbs, _ := n.rt.ListPodSandboxes(context.Background(), p.UID)
		cs, _ := n.rt.ListContainers(context.Background(), p.UID)
		if len(sbs)+len(cs) > 0 {
			return fmt.Sprintf("the runtime still holds %d sandboxes and %d containers of the pod", len(sbs), len(cs))
		}
		return ""
	})
	// The address is free again: a new pod may get it.
	createPod(t, client, newPod("next", "hollow-0"))
	waitPod(t, client, "next", runningAndReady)
}

func TestAdmissionRejectsWhatDoesNotFit(t *testing.T) {
	client, _ := readyNode(t)
	big := newPod("big", "hollow-0")
	big.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("5")}
	createPod(t, client, big)
	p := waitPod(t, client, "big", func(p *corev1.Pod) string {
		if p.Status.Phase != corev1.PodFailed {
			return "not Failed"
		}
		return ""
	})
	want := "Pod was rejected: Node didn't have enough resource: cpu, requested: 5000, used: 0, capacity: 4000"
	if p.Status.Reason != "OutOfcpu" || p.Status.Message != want {
		t.Errorf("reason %q message %q; want OutOfcpu, %q", p.Status.Reason, p.Status.Message, want)
	}

	picky := newPod("picky", "hollow-0")
	picky.Spec.NodeSelector = map[string]string{"disk": "ssd"}
	createPod(t, client, picky)
	p = waitPod(t, client, "picky", func(p *corev1.Pod) string {
		if p.Status.Phase != corev1.PodFailed {
			return "not Failed"
		}
		return ""
	})
	want = "Pod was rejected: Predicate NodeAffinity failed: node(s) didn't match Pod's node affinity/selector"
	if p.Status.Reason != "NodeAffinity" || p.Status.Message != want {
		t.Errorf("reason %q message %q; want NodeAffinity, %q", p.Status.Reason, p.Status.Message, want)
	}
}

func TestInitContainersRunInOrder(t *testing.T) {
	client, _ := readyNode(t)
	p := newPod("init", "hollow-0", annotate(simulated.ExitAfter+".first", "100ms", simulated.ExitAfter+".second", "100ms"))
	p.Spec.InitContainers = []corev1.Container{{Name: "first", Image: "busybox"}, {Name: "second", Image: "busybox"}}
	createPod(t, client, p)
	got := waitPod(t, client, "init", runningAndReady)
	ics := got.Status.InitContainerStatuses
	if len(ics) != 2 || ics[0].Name != "first" || ics[1].Name != "second" {
		t.Fatalf("initContainerStatuses = %+v; want first, second", ics)
	}
	for _, s := range ics {
		if s.State.Terminated == nil || s.State.Terminated.Reason != "Completed" || !s.Ready {
			t.Errorf("init container %s = %+v; want terminated Completed, ready", s.Name, s.State)
		}
	}
	if !ics[1].State.Terminated.StartedAt.After(ics[0].State.Terminated.FinishedAt.Add(-time.Second)) {
		t.Errorf("second started %v, before first finished %v", ics[1].State.Terminated.StartedAt, ics[0].State.Terminated.FinishedAt)
	}
	if c := podCondition(got, corev1.PodInitialized); c == nil || c.Status != corev1.ConditionTrue {
		t.Errorf("Initialized = %+v; want True", c)
	}
}

func TestFailStartAndBadAnnotations(t *testing.T) {
	client, _ := readyNode(t)
	createPod(t, client, newPod("broken", "hollow-0", annotate(simulated.FailStart, "no such volume: data")))
	createPod(t, client, newPod("typo", "hollow-0", annotate(simulated.ExitAfter, "soon")))
	waitPod(t, client, "broken", func(p *corev1.Pod) string {
		cs := p.Status.ContainerStatuses
		if len(cs) != 1 || cs[0].State.Waiting == nil || cs[0].State.Waiting.Reason != "CreateContainerError" ||
			cs[0].State.Waiting.Message != "no such volume: data" {
			return "not waiting with CreateContainerError"
		}
		return ""
	})
	waitPod(t, client, "typo", func(p *corev1.Pod) string {
		cs := p.Status.ContainerStatuses
		if len(cs) != 1 || cs[0].State.Waiting == nil || cs[0].State.Waiting.Reason != "CreateContainerError" ||
			!strings.Contains(cs[0].State.Waiting.Message, `invalid annotation simulated.tend.dev/exit-after="soon"`) {
			return "not waiting with CreateContainerError naming the annotation"
		}
		return ""
	})
}

// TestLivenessFailureRestartsTheContainer: a container that fails its
// liveness probe is restarted, and, failing again, restarted with back-off
// (the container killed in a sync still shows running in it: the back-off
// counts from the instance before, as upstream's doBackOff).
func TestLivenessFailureRestartsTheContainer(t *testing.T) {
	rec := &recorder{}
	client, _ := readyNode(t, func(c *kubelet.Config) { c.Recorder = rec })
	p := newPod("sick", "hollow-0", annotate(simulated.Healthy, "false"))
	p.Spec.Containers[0].LivenessProbe = &corev1.Probe{PeriodSeconds: 1, FailureThreshold: 1,
		ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}}
	createPod(t, client, p)
	waitPod(t, client, "sick", func(p *corev1.Pod) string {
		if cs := p.Status.ContainerStatuses; len(cs) != 1 || cs[0].RestartCount < 1 {
			return "not restarted"
		}
		return ""
	})
	tendtest.Eventually(t, waitFor, func() string {
		if !rec.has("sick", "Warning BackOff: Back-off restarting failed container app") {
			return "restarted again and again without a back-off"
		}
		return ""
	})
}

func TestActiveDeadlineFailsThePod(t *testing.T) {
	client, _ := readyNode(t)
	p := newPod("deadline", "hollow-0")
	one := int64(1)
	p.Spec.ActiveDeadlineSeconds = &one
	createPod(t, client, p)
	got := waitPod(t, client, "deadline", func(p *corev1.Pod) string {
		if p.Status.Phase != corev1.PodFailed {
			return "not Failed"
		}
		return ""
	})
	if got.Status.Reason != "DeadlineExceeded" || got.Status.Message != "Pod was active on the node longer than the specified deadline" {
		t.Errorf("reason %q message %q; want DeadlineExceeded", got.Status.Reason, got.Status.Message)
	}
}
