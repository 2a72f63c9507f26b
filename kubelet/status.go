package kubelet

import (
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
)

// Reasons of the pod conditions the kubelet owns, upstream's.
const (
	reasonUnknownContainerStatuses = "UnknownContainerStatuses"
	reasonPodCompleted             = "PodCompleted"
	reasonPodFailed                = "PodFailed"
	reasonContainersNotReady       = "ContainersNotReady"
	reasonContainersNotInitialized = "ContainersNotInitialized"
	reasonReadinessGatesNotReady   = "ReadinessGatesNotReady"
)

// statusInput is everything a pod's status is computed from.
type statusInput struct {
	// pod is the pod as the API has it; old its status as the kubelet last
	// wrote it when the API has not caught up yet, else pod.Status.
	pod *corev1.Pod
	old *corev1.PodStatus
	rp  *runtimePod
	// probes answers for running containers; reasons says why containers wait.
	probes  probeView
	reasons map[string]waitingReason
	// runtimeName prefixes container IDs ("simulated://<id>").
	runtimeName string
	hostIP      string
	now         time.Time
	// terminal says the pod is finished: its containers will not run again.
	terminal bool
}

// probeView answers, for a running container (by runtime ID), what its probes
// say.
type probeView interface {
	// started reports whether the startup probe passed (true without one).
	started(id string) bool
	// ready reports whether the readiness probe passes (true without one).
	ready(id string) bool
	// livenessFailed and startupFailed report a failure that calls for a
	// restart.
	livenessFailed(id string) bool
	startupFailed(id string) bool
}

// generatePodStatus computes the status the kubelet reports for a pod, as
// upstream's generateAPIPodStatus: container statuses from what the runtime
// holds (and, for what it lost, from the old status), the phase from them,
// the kubelet's conditions, addresses and start time. Fields the kubelet does
// not own (qosClass, nominatedNodeName, resource claims, conditions of other
// components) are kept from the old status.
func generatePodStatus(in statusInput) corev1.PodStatus {
	pod := in.pod
	s := *in.old.DeepCopy()
	hasInit := len(pod.Spec.InitContainers) > 0
	s.ContainerStatuses = convertContainerStatuses(in, pod.Spec.Containers, in.old.ContainerStatuses, hasInit, false)
	s.InitContainerStatuses = convertContainerStatuses(in, pod.Spec.InitContainers, in.old.InitContainerStatuses, hasInit, true)
	if len(s.InitContainerStatuses) == 0 {
		s.InitContainerStatuses = nil
	}

	all := make([]corev1.ContainerStatus, 0, len(s.ContainerStatuses)+len(s.InitContainerStatuses))
	all = append(append(all, s.ContainerStatuses...), s.InitContainerStatuses...)
	phase := getPhase(pod, all, in.terminal)
	// A terminal phase, once reported, stays.
	if !isTerminal(phase) {
		switch {
		case isTerminal(in.old.Phase):
			phase = in.old.Phase
		case isTerminal(pod.Status.Phase):
			phase = pod.Status.Phase
		}
	}
	if isTerminal(pod.Status.Phase) && phase != pod.Status.Phase {
		phase = pod.Status.Phase
	}
	if phase != in.old.Phase {
		s.Reason, s.Message = "", ""
	}
	s.Phase = phase

	conditions := make([]corev1.PodCondition, 0, len(in.old.Conditions)+5)
	for _, c := range in.old.Conditions {
		if !conditionByKubelet(c.Type) {
			conditions = append(conditions, c)
		}
	}
	initAndRegular := append(append([]corev1.ContainerStatus{}, s.InitContainerStatuses...), s.ContainerStatuses...)
	changed, _ := in.rp.sandboxChanged(pod)
	conditions = append(conditions,
		readyToStartContainersCondition(!changed),
		initializedCondition(pod, initAndRegular, phase),
		readyCondition(pod, conditions, initAndRegular, phase),
		containersReadyCondition(pod, initAndRegular, phase),
		corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue},
	)
	now := seconds(in.now)
	for i := range conditions {
		c := &conditions[i]
		if !conditionByKubelet(c.Type) {
			continue
		}
		c.ObservedGeneration = pod.Generation
		if old := findCondition(in.old.Conditions, c.Type); old != nil && old.Status == c.Status {
			c.LastTransitionTime = old.LastTransitionTime
		} else {
			c.LastTransitionTime = now
		}
	}
	s.Conditions = conditions

	if in.hostIP != "" {
		s.HostIP = in.hostIP
		s.HostIPs = []corev1.HostIP{{IP: in.hostIP}}
	}
	switch sb := in.rp.sandbox(); {
	case pod.Spec.HostNetwork:
		if s.PodIP == "" && in.hostIP != "" {
			s.PodIP = in.hostIP
			s.PodIPs = []corev1.PodIP{{IP: in.hostIP}}
		}
	case sb != nil && sb.IP != "":
		s.PodIP = sb.IP
		s.PodIPs = []corev1.PodIP{{IP: sb.IP}}
	}
	// Without a sandbox address (not made yet, or gone) the pod keeps the one
	// it had: a finished pod still says where it ran.
	if s.StartTime == nil || s.StartTime.IsZero() {
		s.StartTime = &now
	}
	s.ObservedGeneration = pod.Generation
	return s
}

// convertContainerStatuses is upstream's convertToAPIContainerStatuses: the
// status of each container of containers (the pod's regular or its init
// containers) from the runtime's newest two instances of it, the old status,
// and why it waits.
func convertContainerStatuses(in statusInput, containers []corev1.Container, previous []corev1.ContainerStatus, hasInit, isInit bool) []corev1.ContainerStatus {
	pod := in.pod
	old := make(map[string]*corev1.ContainerStatus, len(previous))
	for i := range previous {
		old[previous[i].Name] = &previous[i]
	}
	defaultReason := reasonContainerCreating
	if hasInit {
		defaultReason = reasonPodInitializing
	}
	statuses := make(map[string]*corev1.ContainerStatus, len(containers))
	for i := range containers {
		c := &containers[i]
		st := &corev1.ContainerStatus{Name: c.Name, Image: c.Image,
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: defaultReason}}}
		if o := old[c.Name]; o != nil {
			if o.State.Terminated != nil {
				st = o.DeepCopy()
			} else {
				st.RestartCount = o.RestartCount
				st.LastTerminationState = *o.LastTerminationState.DeepCopy()
			}
		}
		statuses[c.Name] = st
	}

	// A container that was running and that the runtime lost (a restart of
	// the node or of an in-memory runtime) terminated with an unknown status;
	// it is restarted, and that counts.
	for i := range containers {
		c := &containers[i]
		if in.rp.latest(c.Name) != nil {
			continue
		}
		o := old[c.Name]
		if o == nil || o.State.Terminated != nil || o.State.Running == nil {
			continue
		}
		st := statuses[c.Name]
		if st.State.Waiting == nil || st.State.Waiting.Reason != defaultReason || st.LastTerminationState.Terminated != nil {
			continue
		}
		st.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{
			Reason:   reasonStatusUnknown,
			Message:  "The container could not be located when the pod was deleted.  The container used to be Running",
			ExitCode: 137,
		}
		if pod.DeletionTimestamp == nil {
			st.RestartCount++
		}
	}

	running := map[string]string{} // name → runtime ID of the running instance
	for i := range containers {
		c := &containers[i]
		latest := in.rp.latest(c.Name)
		if latest == nil {
			continue
		}
		st := convertContainerStatus(latest, old[c.Name], in.runtimeName)
		if prev := in.rp.previous(c.Name); prev != nil {
			st.LastTerminationState = convertContainerStatus(prev, nil, in.runtimeName).State
		}
		if latest.State == ContainerRunning {
			running[c.Name] = latest.ID
		}
		statuses[c.Name] = st
	}

	// Containers to be started again wait, for the reason the last attempt
	// gave (a back-off, a failed start).
	for i := range containers {
		c := &containers[i]
		latest := in.rp.latest(c.Name)
		if isInit && latest != nil && latest.State == ContainerExited && latest.ExitCode == 0 {
			continue
		}
		if !shouldRestart(pod, latest) {
			continue
		}
		r, ok := in.reasons[c.Name]
		if !ok {
			continue
		}
		st := statuses[c.Name]
		if st.State.Terminated != nil {
			st.LastTerminationState = st.State
		}
		st.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: r.Reason, Message: r.Message}}
	}

	for i := range containers {
		c := &containers[i]
		st := statuses[c.Name]
		started, ready := false, false
		if id, ok := running[c.Name]; ok && st.State.Running != nil {
			started = in.probes.started(id)
			ready = started && in.probes.ready(id)
		}
		if isInit && !isRestartable(c) {
			ready = st.State.Terminated != nil && st.State.Terminated.ExitCode == 0
		}
		st.Started = &started
		st.Ready = ready
	}

	out := make([]corev1.ContainerStatus, 0, len(containers))
	for i := range containers {
		out = append(out, *statuses[containers[i].Name])
	}
	if !isInit {
		sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	}
	return out
}

// convertContainerStatus turns one runtime container into its API status.
func convertContainerStatus(cs *ContainerStatus, old *corev1.ContainerStatus, runtimeName string) *corev1.ContainerStatus {
	id := runtimeName + "://" + cs.ID
	st := &corev1.ContainerStatus{Name: cs.Name, RestartCount: cs.RestartCount, Image: cs.Image,
		ImageID: cs.ImageRef, ContainerID: id}
	switch {
	case cs.State == ContainerRunning:
		st.State.Running = &corev1.ContainerStateRunning{StartedAt: seconds(cs.StartedAt)}
	case cs.State == ContainerExited:
		st.State.Terminated = &corev1.ContainerStateTerminated{ExitCode: cs.ExitCode, Reason: cs.Reason,
			Message: cs.Message, StartedAt: seconds(cs.StartedAt), FinishedAt: seconds(cs.FinishedAt), ContainerID: id}
	case cs.State == ContainerUnknown && old != nil && old.State.Running != nil:
		st.State.Terminated = &corev1.ContainerStateTerminated{Reason: reasonStatusUnknown,
			Message: "The container could not be located when the pod was terminated", ExitCode: 137}
		st.RestartCount = old.RestartCount + 1
	default:
		st.State.Waiting = &corev1.ContainerStateWaiting{}
	}
	return st
}

// getPhase is upstream's getPhase: the pod's phase from its containers'
// statuses. terminal says no container will run again.
func getPhase(pod *corev1.Pod, info []corev1.ContainerStatus, terminal bool) corev1.PodPhase {
	spec := &pod.Spec
	pendingInit, failedInit := 0, 0
	for i := range spec.InitContainers {
		c := &spec.InitContainers[i]
		if isRestartable(c) {
			continue
		}
		st := findStatus(info, c.Name)
		switch {
		case st == nil:
			pendingInit++
		case st.State.Running != nil:
			pendingInit++
		case st.State.Terminated != nil:
			if st.State.Terminated.ExitCode != 0 {
				failedInit++
			}
		case st.State.Waiting != nil:
			if st.LastTerminationState.Terminated != nil {
				if st.LastTerminationState.Terminated.ExitCode != 0 {
					failedInit++
				}
			} else {
				pendingInit++
			}
		default:
			pendingInit++
		}
	}

	unknown, running, waiting, stopped, succeeded := 0, 0, 0, 0, 0
	for i := range spec.InitContainers {
		c := &spec.InitContainers[i]
		if !isRestartable(c) {
			continue
		}
		st := findStatus(info, c.Name)
		switch {
		case st == nil:
			unknown++
		case st.State.Running != nil:
			if st.Started == nil || !*st.Started {
				pendingInit++
			}
			running++
		case st.State.Terminated != nil:
		case st.State.Waiting != nil:
			if st.LastTerminationState.Terminated == nil {
				pendingInit++
				waiting++
			}
		default:
			pendingInit++
			unknown++
		}
	}
	for i := range spec.Containers {
		st := findStatus(info, spec.Containers[i].Name)
		switch {
		case st == nil:
			unknown++
		case st.State.Running != nil:
			running++
		case st.State.Terminated != nil:
			stopped++
			if st.State.Terminated.ExitCode == 0 {
				succeeded++
			}
		case st.State.Waiting != nil:
			if st.LastTerminationState.Terminated != nil {
				stopped++
			} else {
				waiting++
			}
		default:
			unknown++
		}
	}

	if failedInit > 0 && spec.RestartPolicy == corev1.RestartPolicyNever {
		return corev1.PodFailed
	}
	switch {
	case pendingInit > 0 && !hasAnyRegularContainerStarted(spec, info):
		return corev1.PodPending
	case waiting > 0:
		return corev1.PodPending
	case running > 0 && unknown == 0:
		return corev1.PodRunning
	case running == 0 && stopped > 0 && unknown == 0:
		if terminal {
			if stopped == succeeded {
				return corev1.PodSucceeded
			}
			return corev1.PodFailed
		}
		if spec.RestartPolicy == corev1.RestartPolicyAlways {
			return corev1.PodRunning
		}
		if stopped == succeeded {
			return corev1.PodSucceeded
		}
		if spec.RestartPolicy == corev1.RestartPolicyNever {
			return corev1.PodFailed
		}
		return corev1.PodRunning
	}
	return corev1.PodPending
}

func hasAnyRegularContainerStarted(spec *corev1.PodSpec, info []corev1.ContainerStatus) bool {
	for i := range spec.Containers {
		if st := findStatus(info, spec.Containers[i].Name); st != nil && (st.State.Running != nil || st.State.Terminated != nil) {
			return true
		}
	}
	return false
}

func findStatus(statuses []corev1.ContainerStatus, name string) *corev1.ContainerStatus {
	for i := range statuses {
		if statuses[i].Name == name {
			return &statuses[i]
		}
	}
	return nil
}

func findCondition(conditions []corev1.PodCondition, t corev1.PodConditionType) *corev1.PodCondition {
	for i := range conditions {
		if conditions[i].Type == t {
			return &conditions[i]
		}
	}
	return nil
}

func isTerminal(phase corev1.PodPhase) bool {
	return phase == corev1.PodSucceeded || phase == corev1.PodFailed
}

// conditionByKubelet reports whether the kubelet owns a pod condition type;
// conditions of other types are kept as they are.
func conditionByKubelet(t corev1.PodConditionType) bool {
	switch t {
	case corev1.PodScheduled, corev1.PodReady, corev1.PodInitialized, corev1.ContainersReady, corev1.PodReadyToStartContainers:
		return true
	}
	return false
}

func readyToStartContainersCondition(sandboxReady bool) corev1.PodCondition {
	if sandboxReady {
		return corev1.PodCondition{Type: corev1.PodReadyToStartContainers, Status: corev1.ConditionTrue}
	}
	return corev1.PodCondition{Type: corev1.PodReadyToStartContainers, Status: corev1.ConditionFalse}
}

// containersReadyCondition is upstream's GenerateContainersReadyCondition.
func containersReadyCondition(pod *corev1.Pod, statuses []corev1.ContainerStatus, phase corev1.PodPhase) corev1.PodCondition {
	if statuses == nil {
		return corev1.PodCondition{Type: corev1.ContainersReady, Status: corev1.ConditionFalse, Reason: reasonUnknownContainerStatuses}
	}
	var unknown, unready []string
	check := func(name string) {
		st := findStatus(statuses, name)
		switch {
		case st == nil:
			unknown = append(unknown, name)
		case !st.Ready:
			unready = append(unready, name)
		}
	}
	for i := range pod.Spec.InitContainers {
		if isRestartable(&pod.Spec.InitContainers[i]) {
			check(pod.Spec.InitContainers[i].Name)
		}
	}
	for i := range pod.Spec.Containers {
		check(pod.Spec.Containers[i].Name)
	}
	if (phase == corev1.PodSucceeded && len(unknown) == 0) || phase == corev1.PodFailed {
		return terminalCondition(corev1.ContainersReady, phase)
	}
	var msgs []string
	if len(unknown) > 0 {
		msgs = append(msgs, fmt.Sprintf("containers with unknown status: %s", unknown))
	}
	if len(unready) > 0 {
		msgs = append(msgs, fmt.Sprintf("containers with unready status: %s", unready))
	}
	if len(msgs) > 0 {
		return corev1.PodCondition{Type: corev1.ContainersReady, Status: corev1.ConditionFalse,
			Reason: reasonContainersNotReady, Message: strings.Join(msgs, ", ")}
	}
	return corev1.PodCondition{Type: corev1.ContainersReady, Status: corev1.ConditionTrue}
}

func terminalCondition(t corev1.PodConditionType, phase corev1.PodPhase) corev1.PodCondition {
	c := corev1.PodCondition{Type: t, Status: corev1.ConditionFalse, Reason: reasonPodCompleted}
	if phase == corev1.PodFailed {
		c.Reason = reasonPodFailed
	}
	return c
}

// readyCondition is upstream's GeneratePodReadyCondition: ContainersReady and
// every readiness gate's condition True. conditions are the pod's conditions
// owned by others, where readiness gates find theirs.
func readyCondition(pod *corev1.Pod, conditions []corev1.PodCondition, statuses []corev1.ContainerStatus, phase corev1.PodPhase) corev1.PodCondition {
	cr := containersReadyCondition(pod, statuses, phase)
	if cr.Status != corev1.ConditionTrue {
		return corev1.PodCondition{Type: corev1.PodReady, Status: cr.Status, Reason: cr.Reason, Message: cr.Message}
	}
	var msgs []string
	for _, rg := range pod.Spec.ReadinessGates {
		c := findCondition(conditions, rg.ConditionType)
		switch {
		case c == nil:
			msgs = append(msgs, fmt.Sprintf("corresponding condition of pod readiness gate %q does not exist.", string(rg.ConditionType)))
		case c.Status != corev1.ConditionTrue:
			msgs = append(msgs, fmt.Sprintf("the status of pod readiness gate %q is not \"True\", but %v", string(rg.ConditionType), c.Status))
		}
	}
	if len(msgs) > 0 {
		return corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionFalse,
			Reason: reasonReadinessGatesNotReady, Message: strings.Join(msgs, ", ")}
	}
	return corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionTrue}
}

// initializedCondition is upstream's GeneratePodInitializedCondition.
func initializedCondition(pod *corev1.Pod, statuses []corev1.ContainerStatus, phase corev1.PodPhase) corev1.PodCondition {
	if statuses == nil && len(pod.Spec.InitContainers) > 0 {
		return corev1.PodCondition{Type: corev1.PodInitialized, Status: corev1.ConditionFalse, Reason: reasonUnknownContainerStatuses}
	}
	var unknown, incomplete []string
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		st := findStatus(statuses, c.Name)
		if st == nil {
			unknown = append(unknown, c.Name)
			continue
		}
		done := st.Ready
		if isRestartable(c) {
			done = st.Started != nil && *st.Started
		}
		if !done {
			incomplete = append(incomplete, c.Name)
		}
	}
	if phase == corev1.PodSucceeded && len(unknown) == 0 {
		return corev1.PodCondition{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, Reason: reasonPodCompleted}
	}
	if hasAnyRegularContainerStarted(&pod.Spec, statuses) {
		return corev1.PodCondition{Type: corev1.PodInitialized, Status: corev1.ConditionTrue}
	}
	var msgs []string
	if len(unknown) > 0 {
		msgs = append(msgs, fmt.Sprintf("containers with unknown status: %s", unknown))
	}
	if len(incomplete) > 0 {
		msgs = append(msgs, fmt.Sprintf("containers with incomplete status: %s", incomplete))
	}
	if len(msgs) > 0 {
		return corev1.PodCondition{Type: corev1.PodInitialized, Status: corev1.ConditionFalse,
			Reason: reasonContainersNotInitialized, Message: strings.Join(msgs, ", ")}
	}
	return corev1.PodCondition{Type: corev1.PodInitialized, Status: corev1.ConditionTrue}
}

// podStatusEqual reports whether two statuses say the same, whatever the order
// of their conditions.
func podStatusEqual(a, b *corev1.PodStatus) bool {
	x, y := *a, *b
	x.Conditions, y.Conditions = sortedConditions(a.Conditions), sortedConditions(b.Conditions)
	return apiequality.Semantic.DeepEqual(x, y)
}

func sortedConditions(cs []corev1.PodCondition) []corev1.PodCondition {
	out := append([]corev1.PodCondition(nil), cs...)
	sort.Slice(out, func(i, j int) bool { return out[i].Type < out[j].Type })
	return out
}
