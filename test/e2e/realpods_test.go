package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
)

// behaviourPods are TestRealPodBehaviours' pods, all applied at once so that
// they run side by side; HOSTDIR is the graceful pod's hostPath.
const behaviourPods = `apiVersion: v1
kind: Pod
metadata:
  name: hog
spec:
  containers:
  - name: hog
    image: example.local/testapp:1
    args: ["alloc", "256"]
    resources:
      limits: {memory: 32Mi}
---
apiVersion: v1
kind: Pod
metadata:
  name: unhealthy
spec:
  terminationGracePeriodSeconds: 5
  containers:
  - name: app
    image: example.local/testapp:1
    args: ["sleep", "infinity"]
    livenessProbe:
      exec: {command: ["/testapp", "false"]}
      periodSeconds: 1
      failureThreshold: 1
---
apiVersion: v1
kind: Pod
metadata:
  name: unready
spec:
  containers:
  - name: web
    image: example.local/testapp:1
    args: ["serve", "--port", "8080"]
    readinessProbe:
      httpGet: {path: "/file?path=/tmp/ready", port: 8080}
      periodSeconds: 1
---
apiVersion: v1
kind: Pod
metadata:
  name: graceful
spec:
  terminationGracePeriodSeconds: 10
  volumes:
  - name: host
    hostPath: {path: HOSTDIR, type: Directory}
  containers:
  - name: web
    image: example.local/testapp:1
    args: ["serve", "--port", "8080"]
    volumeMounts:
    - {name: host, mountPath: /host}
    lifecycle:
      preStop:
        exec:
          command: ["/testapp", "sh", "-c", "connect 127.0.0.1:8080 && write /host/prestop served"]
---
apiVersion: v1
kind: Pod
metadata:
  name: stubborn
spec:
  terminationGracePeriodSeconds: 3
  containers:
  - name: web
    image: example.local/testapp:1
    args: ["serve", "--port", "8080", "--ignore-term"]
---
apiVersion: v1
kind: Pod
metadata:
  name: shell
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: shell
    image: example.local/testapp:1
    args: ["sleep", "infinity"]
`

// TestRealPodBehaviours: with the real runtime and the real kubectl, the
// kubelet's handling of containers that misbehave or end: a container over
// its memory limit is OOMKilled and restarted with the crash-loop back-off,
// a failing liveness probe restarts its container (through the same
// back-off: LivenessRestartBackOff), a failing readiness probe
// keeps its pod out of Ready, deleting a pod runs its preStop hook while the
// container still serves and then sends SIGTERM (SIGKILL only once the grace
// period ran out), and `kubectl exec -it` works on a real terminal.
func TestRealPodBehaviours(t *testing.T) {
	_, k, ok := realServer(t)
	if !ok {
		return
	}
	hostDir := t.TempDir()
	k.withStdin(strings.ReplaceAll(behaviourPods, "HOSTDIR", hostDir)).ok(t, "apply", "-f", "-")

	t.Run("OOMKilled", func(t *testing.T) { testOOMKilled(t, k) })
	t.Run("LivenessProbe", func(t *testing.T) { testLivenessProbe(t, k) })
	t.Run("LivenessRestartBackOff", func(t *testing.T) { testLivenessBackOff(t, k) })
	// Without the back-off, unhealthy restarts many times a second: off it
	// goes before the subtests that time things.
	k.ok(t, "delete", "pod", "unhealthy", "--wait=true", "--timeout=60s")
	t.Run("ReadinessProbe", func(t *testing.T) { testReadinessProbe(t, k) })
	t.Run("GracefulDeletion", func(t *testing.T) { testGracefulDeletion(t, k, hostDir) })
	t.Run("ExecTTY", func(t *testing.T) { testExecTTY(t, k) })
}

// containerStatus is the pod's only container's status, as kubectl gets it.
func containerStatus(t *testing.T, k *kubectl, pod string) (corev1.Pod, corev1.ContainerStatus) {
	t.Helper()
	p := getPod(t, k, pod)
	if len(p.Status.ContainerStatuses) != 1 {
		return p, corev1.ContainerStatus{}
	}
	return p, p.Status.ContainerStatuses[0]
}

func statusJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// podCondition is the status of the pod's condition of that type ("" if it has none).
func podCondition(p corev1.Pod, typ corev1.PodConditionType) corev1.ConditionStatus {
	for _, c := range p.Status.Conditions {
		if c.Type == typ {
			return c.Status
		}
	}
	return ""
}

// podEvents are the events about the pod, as "Reason: message" lines.
func podEvents(t *testing.T, k *kubectl, pod string) []string {
	t.Helper()
	var list corev1.EventList
	if err := json.Unmarshal([]byte(k.ok(t, "get", "events", "-o", "json")), &list); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range list.Items {
		if e.InvolvedObject.Kind == "Pod" && e.InvolvedObject.Name == pod {
			out = append(out, e.Reason+": "+e.Message)
		}
	}
	return out
}

// hasEvent reports whether one of events starts with prefix.
func hasEvent(events []string, prefix string) bool {
	for _, e := range events {
		if strings.HasPrefix(e, prefix) {
			return true
		}
	}
	return false
}

// testOOMKilled: alloc 256 MiB under a 32Mi limit is killed by the kernel;
// the kubelet says OOMKilled (exit code 137), restarts it at once, and puts
// the next restart off by the back-off (10 s) in CrashLoopBackOff.
func testOOMKilled(t *testing.T, k *kubectl) {
	var backOff bool
	eventually(t, "hog OOMKilled, restarted, in CrashLoopBackOff", func() (bool, string) {
		p, cs := containerStatus(t, k, "hog")
		if w := cs.State.Waiting; w != nil && w.Reason == "CrashLoopBackOff" {
			backOff = true
		}
		last := cs.LastTerminationState.Terminated
		ok := backOff && cs.RestartCount >= 1 && last != nil && last.Reason == "OOMKilled"
		return ok, fmt.Sprintf("phase %s, container %s", p.Status.Phase, statusJSON(cs))
	})
	p, cs := containerStatus(t, k, "hog")
	if last := cs.LastTerminationState.Terminated; last.ExitCode != 137 {
		t.Errorf("hog's last termination = %s; want exit code 137 (SIGKILL by the kernel)", statusJSON(last))
	}
	if p.Status.Phase != corev1.PodRunning {
		t.Errorf("hog's phase = %s; want Running (restartPolicy Always)", p.Status.Phase)
	}
	if w := cs.State.Waiting; w != nil && w.Reason == "CrashLoopBackOff" && !strings.HasPrefix(w.Message, "back-off 10s restarting failed container=hog") {
		t.Errorf("hog's waiting message = %q; want upstream's, with the first back-off (10s)", w.Message)
	}
	if ev := podEvents(t, k, "hog"); !hasEvent(ev, "BackOff: Back-off restarting failed container hog") {
		t.Errorf("hog's events = %q; want a BackOff", ev)
	}
}

// testLivenessProbe: `testapp false` as liveness probe fails at once; the
// kubelet stops the container (sleep exits 143 on SIGTERM) and starts it
// again in the same pod, which stays Running.
func testLivenessProbe(t *testing.T, k *kubectl) {
	first := getPod(t, k, "unhealthy")
	eventually(t, "unhealthy's container restarted", func() (bool, string) {
		p, cs := containerStatus(t, k, "unhealthy")
		last := cs.LastTerminationState.Terminated
		ok := p.UID == first.UID && p.Status.Phase == corev1.PodRunning && cs.RestartCount >= 1 && last != nil
		return ok, fmt.Sprintf("uid %s (first %s), phase %s, container %s", p.UID, first.UID, p.Status.Phase, statusJSON(cs))
	})
	_, cs := containerStatus(t, k, "unhealthy")
	if last := cs.LastTerminationState.Terminated; last == nil || last.ExitCode != 143 || last.Reason != "Error" {
		t.Errorf("unhealthy's last termination = %s; want exit code 143, reason Error (it ended on SIGTERM)", statusJSON(last))
	}
	ev := podEvents(t, k, "unhealthy")
	for _, want := range []string{"Unhealthy: Liveness probe failed", "Killing: Container app failed liveness probe, will be restarted"} {
		if !hasEvent(ev, want) {
			t.Errorf("unhealthy's events = %q; want one starting %q", ev, want)
		}
	}
}

// testLivenessBackOff: restarts after liveness failures go through the
// crash-loop back-off as any other restart, as upstream's kubelet does (its
// doBackOff looks at the latest exited instance of the container): the first
// restart is at once, the second starts a 10 s back-off, and the third kill
// leaves the container waiting in CrashLoopBackOff, at most 3 restarts in.
func testLivenessBackOff(t *testing.T, k *kubectl) {
	eventually(t, "unhealthy in CrashLoopBackOff", func() (bool, string) {
		p, cs := containerStatus(t, k, "unhealthy")
		if cs.RestartCount > 3 {
			t.Fatalf("unhealthy restarted %d times, %v after it was created, never in CrashLoopBackOff; want at most 3 restarts before its back-off\ncontainer %s",
				cs.RestartCount, time.Since(p.CreationTimestamp.Time).Round(time.Second), statusJSON(cs))
		}
		w := cs.State.Waiting
		return w != nil && w.Reason == "CrashLoopBackOff", fmt.Sprintf("phase %s, container %s", p.Status.Phase, statusJSON(cs))
	})
}

// testReadinessProbe: a readiness probe that gets a 404 (/file of a file
// that is not there) keeps the running pod out of Ready without restarting
// it; once the file is there, the pod turns Ready.
func testReadinessProbe(t *testing.T, k *kubectl) {
	eventually(t, "unready Running, its readiness probe failed", func() (bool, string) {
		p, cs := containerStatus(t, k, "unready")
		ev := podEvents(t, k, "unready")
		ok := p.Status.Phase == corev1.PodRunning && cs.State.Running != nil && hasEvent(ev, "Unhealthy: Readiness probe failed")
		return ok, fmt.Sprintf("phase %s, container %s, events %q", p.Status.Phase, statusJSON(cs), ev)
	})
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(250 * time.Millisecond) {
		p, cs := containerStatus(t, k, "unready")
		if p.Status.Phase != corev1.PodRunning || podCondition(p, corev1.PodReady) != corev1.ConditionFalse ||
			podCondition(p, corev1.ContainersReady) != corev1.ConditionFalse || cs.Ready || cs.RestartCount != 0 {
			t.Fatalf("unready = phase %s, conditions %s, container %s; want Running, Ready and ContainersReady False, not restarted",
				p.Status.Phase, statusJSON(p.Status.Conditions), statusJSON(cs))
		}
	}
	k.ok(t, "exec", "unready", "--", "/testapp", "write", "/tmp/ready", "yes")
	eventually(t, "unready Ready once its probe passes", func() (bool, string) {
		p := getPod(t, k, "unready")
		return podCondition(p, corev1.PodReady) == corev1.ConditionTrue, statusJSON(p.Status.Conditions)
	})
}

// watchedPod is the pod of one event that watchJSON decoded.
func watchedPod(t *testing.T, e watchEvent) corev1.Pod {
	t.Helper()
	var p corev1.Pod
	b, err := json.Marshal(e.Object)
	if err == nil {
		err = json.Unmarshal(b, &p)
	}
	if err != nil {
		t.Fatalf("the watch's %s event: %v", e.Type, err)
	}
	return p
}

// testGracefulDeletion: deleting graceful (grace 10 s) runs its preStop hook
// while its server still answers, then SIGTERM ends it (serve exits 0 on
// SIGTERM, 137 would be SIGKILL) well before the grace period is over; the
// stubborn pod, which ignores SIGTERM, is SIGKILLed only once its 3 s ran out.
func testGracefulDeletion(t *testing.T, k *kubectl, hostDir string) {
	for _, name := range []string{"graceful", "stubborn"} {
		eventually(t, "pod "+name+" Running", func() (bool, string) {
			p, cs := containerStatus(t, k, name)
			return p.Status.Phase == corev1.PodRunning && cs.State.Running != nil, statusJSON(p.Status)
		})
	}
	// serve listens right after it starts; make sure it does before the
	// preStop hook dials it.
	eventually(t, "graceful's server listening", func() (bool, string) {
		r := k.run(t, "logs", "graceful")
		return strings.Contains(r.stdout, "listening on"), r.String()
	})
	w := k.start(t, "get", "pods", "-w", "-o", "json", "--output-watch-events")
	w.waitFor(t, "the watch's first events", func(out string) bool {
		return len(watchJSON(out, "graceful")) > 0 && len(watchJSON(out, "stubborn")) > 0
	})
	start := time.Now()
	k.ok(t, "delete", "pod", "graceful", "stubborn", "--wait=false")
	gone := map[string]time.Duration{}
	last := map[string]corev1.Pod{}
	deadline := start.Add(30 * time.Second)
	for len(gone) < 2 {
		out := w.stdout.String()
		for _, name := range []string{"graceful", "stubborn"} {
			if _, ok := gone[name]; ok {
				continue
			}
			for _, e := range watchJSON(out, name) {
				if e.Type == "DELETED" {
					gone[name] = time.Since(start)
					last[name] = watchedPod(t, e)
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("graceful and stubborn not both deleted after 30s (gone: %v):\n%s", gone, w)
		}
		time.Sleep(50 * time.Millisecond)
	}
	w.stop()
	t.Logf("deleted: graceful in %v, stubborn in %v", gone["graceful"].Round(time.Millisecond), gone["stubborn"].Round(time.Millisecond))

	if b, err := os.ReadFile(filepath.Join(hostDir, "prestop")); err != nil || string(b) != "served" {
		t.Errorf("graceful's preStop marker = %q, %v; want served (the hook reached the server before SIGTERM stopped it)", b, err)
	}
	terminated := func(name string) *corev1.ContainerStateTerminated {
		p := last[name]
		if len(p.Status.ContainerStatuses) != 1 {
			return nil
		}
		return p.Status.ContainerStatuses[0].State.Terminated
	}
	if term := terminated("graceful"); term == nil || term.ExitCode != 0 || term.Reason != "Completed" {
		t.Errorf("graceful's final container state = %s; want terminated Completed, exit code 0 (serve's on SIGTERM)",
			statusJSON(last["graceful"].Status.ContainerStatuses))
	}
	if d := gone["graceful"]; d > 5*time.Second {
		t.Errorf("graceful was deleted after %v; want well within its 10s grace period (it stops on SIGTERM)", d)
	}
	if term := terminated("stubborn"); term == nil || term.ExitCode != 137 {
		t.Errorf("stubborn's final container state = %s; want terminated with exit code 137 (SIGKILL)",
			statusJSON(last["stubborn"].Status.ContainerStatuses))
	}
	if d := gone["stubborn"]; d < 3*time.Second {
		t.Errorf("stubborn (SIGTERM ignored, grace 3s) was deleted after %v; want SIGKILL only once the grace period ran out", d)
	}
}

// testExecTTY: `kubectl exec -it` with kubectl on a pseudo-terminal, as a
// user at a terminal runs it. testapp's sh only runs scripts (-c), so the
// interactive program is cat: the container's terminal echoes the line typed
// (with \r\n, its output processing), cat writes it back, and ^D at the
// start of a line is the end of input for cat, as only a terminal makes it.
func testExecTTY(t *testing.T, k *kubectl) {
	eventually(t, "pod shell Running", func() (bool, string) {
		p := getPod(t, k, "shell")
		return p.Status.Phase == corev1.PodRunning, string(p.Status.Phase)
	})
	ptmx, tty := openPTY(t)
	defer ptmx.Close()
	if err := unix.IoctlSetWinsize(int(ptmx.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 24, Col: 80}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(k.path, "exec", "-it", "shell", "--", "/testapp", "sh", "-c", "echo ready; cat; exit 3")
	cmd.Env = k.s.env(k.env...)
	cmd.Stdin, cmd.Stdout = tty, tty
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	// kubectl's own session, with the terminal as its controlling terminal.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tty.Close() // kubectl has it; the master reads EIO once kubectl closed it
	var waitErr error
	exited := make(chan struct{})
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	defer func() {
		select {
		case <-exited:
		default:
			_ = cmd.Process.Kill()
			<-exited
		}
	}()
	screen := &syncBuffer{}
	copied := make(chan struct{})
	go func() {
		_, _ = io.Copy(screen, ptmx)
		close(copied)
	}()
	waitScreen := func(what, want string) {
		t.Helper()
		deadline := time.Now().Add(waitTimeout)
		for !strings.Contains(screen.String(), want) {
			if time.Now().After(deadline) {
				t.Fatalf("waiting for %s: the terminal shows %q; want %q in it\nkubectl's stderr: %s", what, screen, want, stderr)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitScreen("the container's first line", "ready\r\n")
	if _, err := ptmx.Write([]byte("hi-from-tty\r")); err != nil {
		t.Fatal(err)
	}
	// Once as the terminal echoes the line typed, once as cat writes it.
	waitScreen("the line typed, echoed and cat's", "ready\r\nhi-from-tty\r\nhi-from-tty\r\n")
	if _, err := ptmx.Write([]byte{4}); err != nil { // ^D
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(waitTimeout):
		t.Fatalf("kubectl exec -it still running %v after ^D; the terminal shows %q\nstderr: %s", waitTimeout, screen, stderr)
	}
	var exit *exec.ExitError
	if !errors.As(waitErr, &exit) || exit.ExitCode() != 3 {
		t.Errorf("kubectl exec -it ended with %v; want exit code 3, the script's\nstderr: %s", waitErr, stderr)
	}
	if strings.Contains(stderr.String(), "Unable to use a TTY") {
		t.Errorf("kubectl did not use the terminal: %s", stderr)
	}
	select {
	case <-copied:
	case <-time.After(5 * time.Second):
	}
	if got, want := screen.String(), "ready\r\nhi-from-tty\r\nhi-from-tty\r\n"; got != want {
		t.Errorf("the terminal shows %q; want %q", got, want)
	}
}

// openPTY opens a pseudo-terminal: its master and its slave (the terminal).
func openPTY(t *testing.T) (ptmx, tty *os.File) {
	t.Helper()
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fd := int(ptmx.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		ptmx.Close()
		t.Fatalf("unlocking the pseudo-terminal: %v", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		ptmx.Close()
		t.Fatalf("the pseudo-terminal's number: %v", err)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		ptmx.Close()
		t.Fatal(err)
	}
	return ptmx, tty
}
