package kubelet

import (
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// runtimePod is what the runtime holds for one pod: its sandboxes and
// containers, newest first.
type runtimePod struct {
	sandboxes  []SandboxStatus
	containers []ContainerStatus
}

func newRuntimePod(sandboxes []SandboxStatus, containers []ContainerStatus) *runtimePod {
	sort.SliceStable(sandboxes, func(i, j int) bool {
		if !sandboxes[i].CreatedAt.Equal(sandboxes[j].CreatedAt) {
			return sandboxes[i].CreatedAt.After(sandboxes[j].CreatedAt)
		}
		return sandboxes[i].Attempt > sandboxes[j].Attempt
	})
	sort.SliceStable(containers, func(i, j int) bool {
		if !containers[i].CreatedAt.Equal(containers[j].CreatedAt) {
			return containers[i].CreatedAt.After(containers[j].CreatedAt)
		}
		return containers[i].RestartCount > containers[j].RestartCount
	})
	return &runtimePod{sandboxes: sandboxes, containers: containers}
}

// sandbox is the newest sandbox, or nil.
func (rp *runtimePod) sandbox() *SandboxStatus {
	if len(rp.sandboxes) == 0 {
		return nil
	}
	return &rp.sandboxes[0]
}

// sandboxChanged reports whether the pod needs a new sandbox, and the attempt
// number that sandbox gets, as upstream's PodSandboxChanged: it has none, its
// newest is not ready, more than one is ready, or the newest is on the wrong
// network or has no address.
func (rp *runtimePod) sandboxChanged(pod *corev1.Pod) (changed bool, attempt uint32) {
	sb := rp.sandbox()
	if sb == nil {
		return true, 0
	}
	ready := 0
	for _, s := range rp.sandboxes {
		if s.State == SandboxReady {
			ready++
		}
	}
	switch {
	case ready > 1, sb.State != SandboxReady, sb.HostNetwork != pod.Spec.HostNetwork,
		!pod.Spec.HostNetwork && sb.IP == "":
		return true, sb.Attempt + 1
	}
	return false, sb.Attempt
}

// latest is the newest container named name, or nil.
func (rp *runtimePod) latest(name string) *ContainerStatus {
	for i := range rp.containers {
		if rp.containers[i].Name == name {
			return &rp.containers[i]
		}
	}
	return nil
}

// latestExited is the newest container named name that exited, or nil.
func (rp *runtimePod) latestExited(name string) *ContainerStatus {
	for i := range rp.containers {
		if rp.containers[i].Name == name && rp.containers[i].State == ContainerExited {
			return &rp.containers[i]
		}
	}
	return nil
}

// previous is the newest container named name before latest, or nil.
func (rp *runtimePod) previous(name string) *ContainerStatus {
	seen := false
	for i := range rp.containers {
		if rp.containers[i].Name != name {
			continue
		}
		if seen {
			return &rp.containers[i]
		}
		seen = true
	}
	return nil
}

// isRestartable reports whether an init container is a sidecar (restartPolicy
// Always): started in order with the init containers and kept running.
func isRestartable(c *corev1.Container) bool {
	return c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}

// shouldRestart is upstream's ShouldContainerBeRestarted: whether a container
// that is not running (latest is its newest instance, or nil) should be started.
func shouldRestart(pod *corev1.Pod, latest *ContainerStatus) bool {
	if pod.DeletionTimestamp != nil {
		return false
	}
	if latest == nil {
		return true
	}
	switch latest.State {
	case ContainerRunning:
		return false
	case ContainerUnknown, ContainerCreated:
		return true
	}
	switch pod.Spec.RestartPolicy {
	case corev1.RestartPolicyNever:
		return false
	case corev1.RestartPolicyOnFailure:
		return latest.ExitCode != 0
	}
	return true
}

// hasAnyRegularContainerCreated reports whether the pod ever created one of its
// regular containers: its initialization then finished.
func hasAnyRegularContainerCreated(pod *corev1.Pod, rp *runtimePod) bool {
	for i := range pod.Spec.Containers {
		if s := rp.latest(pod.Spec.Containers[i].Name); s != nil && s.State != ContainerUnknown {
			return true
		}
	}
	return false
}

// podRef is how upstream names a pod in messages: name_namespace(uid).
func podRef(pod *corev1.Pod) string {
	return fmt.Sprintf("%s_%s(%s)", pod.Name, pod.Namespace, pod.UID)
}

// backOffKey is the container's key in the restart back-off.
func backOffKey(pod *corev1.Pod, container string) string {
	return string(pod.UID) + "/" + container
}

// waitingReason is why a container is waiting instead of running (a failed
// start, a back-off), as upstream's reason cache keeps it.
type waitingReason struct {
	Reason, Message string
}

// Upstream's container waiting and terminated reasons.
const (
	reasonContainerCreating  = "ContainerCreating"
	reasonPodInitializing    = "PodInitializing"
	reasonCrashLoopBackOff   = "CrashLoopBackOff"
	reasonCreateContainerErr = "CreateContainerError"
	reasonRunContainerErr    = "RunContainerError"
	reasonStatusUnknown      = "ContainerStatusUnknown"
)

// seconds truncates t to the precision an API object keeps, so that what the
// kubelet computes compares equal to what it reads back.
func seconds(t time.Time) metav1.Time {
	if t.IsZero() {
		return metav1.Time{}
	}
	return metav1.NewTime(t.Truncate(time.Second))
}
