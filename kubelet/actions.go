package kubelet

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
)

// podActions is what a sync must do to bring a pod's containers to what its
// spec and restart policy want, as upstream's computePodActions decides it.
type podActions struct {
	// killPod stops every container and the sandbox: the sandbox is replaced,
	// or nothing will run in it again.
	killPod bool
	// createSandbox makes a new sandbox (after killPod's stop of the old one),
	// numbered attempt.
	createSandbox bool
	attempt       uint32
	// initToStart and toStart index the init and regular containers to start,
	// in order.
	initToStart, toStart []int
	// toKill are running containers to stop, with the reason.
	toKill []containerKill
}

type containerKill struct {
	container ContainerStatus
	message   string
}

// computePodActions decides a pod's next actions from what the runtime holds,
// what its probes say, and, for what the runtime lost, what the pod's status
// (old) says.
func computePodActions(pod *corev1.Pod, rp *runtimePod, probes probeView, old *corev1.PodStatus) podActions {
	done := finishedInStatus(pod, old)
	create, attempt := rp.sandboxChanged(pod)
	a := podActions{killPod: create, createSandbox: create, attempt: attempt}
	if create {
		if pod.Spec.RestartPolicy == corev1.RestartPolicyNever && attempt != 0 && len(rp.containers) != 0 {
			// The pod ran and may not run again: just stop what is left.
			a.createSandbox = false
			return a
		}
		var toStart []int
		finished := false
		for i := range pod.Spec.Containers {
			c := &pod.Spec.Containers[i]
			if pod.Spec.RestartPolicy == corev1.RestartPolicyOnFailure {
				if s := rp.latest(c.Name); s != nil && s.State == ContainerExited && s.ExitCode == 0 {
					continue
				}
			}
			if done(c, false) {
				finished = true
				continue
			}
			toStart = append(toStart, i)
		}
		if len(toStart) == 0 && (finished || hasAnyRegularContainerCreated(pod, rp)) {
			a.createSandbox = false
			return a
		}
		// A new sandbox starts from the beginning: the first init container
		// (but those that finished for good stay finished).
		for i := range pod.Spec.InitContainers {
			if !done(&pod.Spec.InitContainers[i], true) {
				a.initToStart = []int{i}
				return a
			}
		}
		a.toStart = toStart
		return a
	}

	if !computeInitActions(pod, rp, probes, done, &a) || a.killPod {
		return a
	}

	keep := 0
	restartOnFailure := pod.Spec.RestartPolicy != corev1.RestartPolicyNever
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		s := rp.latest(c.Name)
		if s == nil || s.State != ContainerRunning {
			if shouldRestart(pod, s) && (s != nil || !done(c, false)) {
				a.toStart = append(a.toStart, i)
			}
			continue
		}
		var message string
		restart := restartOnFailure
		switch {
		case s.Image != c.Image:
			message = fmt.Sprintf("Container %s definition changed", c.Name)
			restart = true
		case probes.livenessFailed(s.ID):
			message = fmt.Sprintf("Container %s failed liveness probe", c.Name)
		case probes.startupFailed(s.ID):
			message = fmt.Sprintf("Container %s failed startup probe", c.Name)
		default:
			keep++
			continue
		}
		if restart {
			message += ", will be restarted"
			a.toStart = append(a.toStart, i)
		}
		a.toKill = append(a.toKill, containerKill{container: *s, message: message})
	}
	if keep == 0 && len(a.toStart) == 0 {
		// Nothing runs and nothing will: the pod is done. Sidecars do not
		// keep it alive.
		a.killPod = true
		a.initToStart = nil
	}
	return a
}

// computeInitActions adds the init containers to start (or to restart) and
// reports whether initialization is over, so that regular containers may run.
// Regular init containers run one at a time, in order, each to success;
// sidecars (restartable init containers) start in order and must have started
// before the next init container runs, and are restarted whenever they stop.
// Once a regular container was created, initialization is over for good.
func computeInitActions(pod *corev1.Pod, rp *runtimePod, probes probeView, done func(*corev1.Container, bool) bool, a *podActions) bool {
	initialized := hasAnyRegularContainerCreated(pod, rp)
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		s := rp.latest(c.Name)
		if isRestartable(c) {
			switch {
			case s == nil || s.State != ContainerRunning:
				if pod.DeletionTimestamp == nil {
					a.initToStart = append(a.initToStart, i)
				}
				if !initialized {
					return false
				}
			case probes.livenessFailed(s.ID) || probes.startupFailed(s.ID):
				a.toKill = append(a.toKill, containerKill{container: *s,
					message: fmt.Sprintf("Init container %s failed %s probe, will be restarted", c.Name, failedProbe(probes, s.ID))})
				a.initToStart = append(a.initToStart, i)
				if !initialized {
					return false
				}
			case !probes.started(s.ID) && !initialized:
				return false
			}
			continue
		}
		if initialized {
			continue
		}
		switch {
		case s == nil && done(c, true):
			continue
		case s == nil || s.State == ContainerCreated || s.State == ContainerUnknown:
			a.initToStart = append(a.initToStart, i)
			return false
		case s.State == ContainerRunning:
			return false
		case s.ExitCode == 0:
			continue
		case pod.Spec.RestartPolicy == corev1.RestartPolicyNever:
			a.killPod = true
			return false
		default:
			a.initToStart = append(a.initToStart, i)
			return false
		}
	}
	return true
}

func failedProbe(probes probeView, id string) string {
	if probes.startupFailed(id) {
		return "startup"
	}
	return "liveness"
}

// finishedInStatus returns whether the pod's status (old, possibly nil) shows
// a container terminated for good: under restart policy Never (any exit) or
// OnFailure (exit 0), a container the runtime lost after it finished must not
// run again, and the API forbids its status to go back from terminated. Under
// Always, and for sidecars, nothing is finished for good.
func finishedInStatus(pod *corev1.Pod, old *corev1.PodStatus) func(c *corev1.Container, init bool) bool {
	return func(c *corev1.Container, init bool) bool {
		if old == nil || (init && isRestartable(c)) {
			return false
		}
		list := old.ContainerStatuses
		if init {
			list = old.InitContainerStatuses
		}
		st := findStatus(list, c.Name)
		if st == nil || st.State.Terminated == nil {
			return false
		}
		switch pod.Spec.RestartPolicy {
		case corev1.RestartPolicyNever:
			return true
		case corev1.RestartPolicyOnFailure:
			return st.State.Terminated.ExitCode == 0
		}
		return false
	}
}
