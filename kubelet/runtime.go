package kubelet

import (
	"context"
	"errors"
	"io"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Runtime runs pods for the kubelet: pod sandboxes (a pod's network and shared
// namespaces) and the containers in them. It is CRI-shaped and deliberately
// small: the kubelet decides what should run and when, the runtime only does
// what it is told and reports what it holds.
//
// Every method must be safe for concurrent use: the kubelet calls it from one
// goroutine per pod. Methods that name an object the runtime does not hold
// return an error wrapping ErrNotFound. Times are the runtime's clock; the
// kubelet reports them as they are.
//
// Network safety: the kubelet never opens a connection to a pod. Probes are the
// runtime's job because only the runtime knows how to reach a pod safely (inside
// the pod's network namespace); a runtime must never send probe traffic off the
// machine.
type Runtime interface {
	// Status reports the runtime's name and version and whether it and its pod
	// network are ready. The node is not Ready while either is not.
	Status(ctx context.Context) (RuntimeStatus, error)
	// UpdatePodCIDR tells the runtime the node's pod CIDR (spec.podCIDR), from
	// which the kubelet picks pod addresses. A runtime's network is typically
	// not ready before it has one.
	UpdatePodCIDR(ctx context.Context, cidr string) error

	// RunPodSandbox creates and starts a pod's sandbox with the address the
	// kubelet chose, and returns its ID. A sandbox that fails to start must not
	// be left behind.
	RunPodSandbox(ctx context.Context, config SandboxConfig) (string, error)
	// StopPodSandbox stops a sandbox and forcibly stops every container still
	// running in it. Stopping a stopped sandbox succeeds.
	StopPodSandbox(ctx context.Context, id string) error
	// RemovePodSandbox removes a sandbox and every container in it, stopping
	// them first if needed.
	RemovePodSandbox(ctx context.Context, id string) error
	// ListPodSandboxes returns the sandboxes of the pod with podUID, or of every
	// pod when podUID is empty, in no particular order.
	ListPodSandboxes(ctx context.Context, podUID types.UID) ([]SandboxStatus, error)

	// CreateContainer creates (but does not start) a container in a sandbox and
	// returns its ID. An error here is reported on the pod as
	// CreateContainerError with the error's text as the message, so it should
	// say what is wrong with the container, for a user to read.
	CreateContainer(ctx context.Context, sandboxID string, config ContainerConfig) (string, error)
	// StartContainer starts a created container and returns once it runs (or
	// has already exited). An error is reported as RunContainerError.
	StartContainer(ctx context.Context, id string) error
	// StopContainer stops a running container, giving it grace to exit before
	// it is killed. Stopping a container that is not running succeeds.
	StopContainer(ctx context.Context, id string, grace time.Duration) error
	// RemoveContainer removes a container, stopping it first if needed.
	RemoveContainer(ctx context.Context, id string) error
	// ContainerStatus reports one container.
	ContainerStatus(ctx context.Context, id string) (ContainerStatus, error)
	// ListContainers returns the containers of the pod with podUID, or of every
	// pod when podUID is empty, in no particular order.
	ListContainers(ctx context.Context, podUID types.UID) ([]ContainerStatus, error)

	// Probe runs one probe (exec, HTTP, TCP or gRPC, as probe says) against a
	// running container and reports whether it passed. ctx carries the probe's
	// timeout. An error means the probe could not be run; the kubelet counts it
	// as a failure.
	Probe(ctx context.Context, containerID string, kind ProbeKind, probe *corev1.Probe) (ProbeResult, error)
	// Stats reports a container's resource usage, for metrics and autoscaling.
	Stats(ctx context.Context, containerID string) (ContainerStats, error)
}

// ErrNotFound is wrapped by the errors of Runtime methods that name a sandbox or
// container the runtime does not hold.
var ErrNotFound = errors.New("not found")

// RuntimeStatus is what Runtime.Status reports.
type RuntimeStatus struct {
	// Name and Version identify the runtime; the node reports
	// "Name://Version" as status.nodeInfo.containerRuntimeVersion and pods'
	// containerIDs as "Name://ID".
	Name, Version string
	// Runtime says whether the runtime can run containers; Network whether it
	// can give pods a network.
	Runtime, Network RuntimeCondition
}

// RuntimeCondition is one readiness condition of a runtime. When not Ready,
// Reason is a CamelCase word and Message says what is missing, as CRI's
// NetworkReady=false reason:NetworkPluginNotReady message:... does.
type RuntimeCondition struct {
	Ready           bool
	Reason, Message string
}

// SandboxConfig is what the kubelet asks of a new sandbox.
type SandboxConfig struct {
	// PodUID, Namespace and Name identify the pod. Attempt counts the pod's
	// sandboxes before this one.
	PodUID          types.UID
	Namespace, Name string
	Attempt         uint32
	// Hostname is the pod's hostname.
	Hostname string
	// HostNetwork puts the pod in the node's network; IP is then empty.
	HostNetwork bool
	// IP is the pod's address, from the node's pod CIDR.
	IP string
	// Labels and Annotations are the pod's, as they were at creation. They are
	// shared: do not modify them.
	Labels, Annotations map[string]string
	// Pod is the pod as the kubelet had it (DNS policy, host aliases,
	// security context, ports). It is shared: do not modify it.
	Pod *corev1.Pod
}

// SandboxState is whether a sandbox is up.
type SandboxState string

const (
	SandboxReady    SandboxState = "Ready"
	SandboxNotReady SandboxState = "NotReady"
)

// SandboxStatus reports one sandbox.
type SandboxStatus struct {
	ID              string
	PodUID          types.UID
	Namespace, Name string
	Attempt         uint32
	State           SandboxState
	// IP is the pod's address, empty for host-network pods.
	IP          string
	HostNetwork bool
	CreatedAt   time.Time
}

// ContainerConfig is what the kubelet asks of a new container.
type ContainerConfig struct {
	// Spec is the container as the pod declares it (image, command, args, env,
	// resources, ports, probes). It is shared: do not modify it.
	Spec *corev1.Container
	// RestartCount is how many times the container ran before in this pod; the
	// runtime stores it and reports it back in ContainerStatus.
	RestartCount int32
	// Pod is the container's pod (security context, shared process
	// namespace). It is shared: do not modify it.
	Pod *corev1.Pod
	// Env is the container's environment as the kubelet resolved it
	// ("NAME=value", in order: envFrom, then env with valueFrom done and
	// $(VAR) references expanded, then the service variables). Nil means
	// Spec.Env's literal values.
	Env []string
	// Command and Args are Spec's with $(VAR) references expanded. Nil
	// means Spec's.
	Command, Args []string
	// Mounts are the pod's volumes as this container mounts them, in
	// Spec.VolumeMounts' order, prepared on the node by the kubelet.
	Mounts []Mount
}

// Mount is one volume mounted into a container: HostPath, a file or
// directory the kubelet prepared on the node (subPath already applied), at
// ContainerPath.
type Mount struct {
	HostPath, ContainerPath string
	ReadOnly                bool
	// Propagation is the mount's mountPropagation (None when empty).
	Propagation corev1.MountPropagationMode
}

// ContainerState is a container's lifecycle state.
type ContainerState string

const (
	ContainerCreated ContainerState = "created"
	ContainerRunning ContainerState = "running"
	ContainerExited  ContainerState = "exited"
	ContainerUnknown ContainerState = "unknown"
)

// ContainerStatus reports one container.
type ContainerStatus struct {
	ID        string
	SandboxID string
	PodUID    types.UID
	// Name is the container's name in its pod; Image the image it was created
	// from and ImageRef the image's resolved reference (a digest).
	Name, Image, ImageRef string
	RestartCount          int32
	State                 ContainerState
	// CreatedAt, StartedAt and FinishedAt are zero until they happen.
	CreatedAt, StartedAt, FinishedAt time.Time
	// ExitCode, Reason ("Completed", "Error", "OOMKilled") and Message describe
	// an exited container.
	ExitCode        int32
	Reason, Message string
	// LogPath is the file on the node holding what the container printed,
	// in the CRI log format; empty when the runtime keeps no logs.
	LogPath string
}

// ExecRuntime is implemented by runtimes whose containers run real
// processes. The kubelet runs exec lifecycle hooks with it, and its server
// serves exec, attach and port-forward with it; a runtime without it
// answers those with an error.
type ExecRuntime interface {
	// Exec runs a command in a running container and returns its exit code
	// once it ended and its output was copied. ctx ending kills the
	// command.
	Exec(ctx context.Context, containerID string, opts ExecOptions) (exitCode int, err error)
	// Attach connects streams to a running container's main process: its
	// output from now on, and its standard input when the container has one
	// (spec stdin). It returns when the container ends or ctx does.
	Attach(ctx context.Context, containerID string, opts ExecOptions) error
	// PortForward connects stream to port on the loopback address of the
	// sandbox's network namespace, copying both ways until either end
	// closes.
	PortForward(ctx context.Context, sandboxID string, port int32, stream io.ReadWriteCloser) error
}

// ExecOptions are the command and streams of an Exec or Attach. Nil
// streams are not connected. With TTY, the process gets a terminal,
// Stderr is unused and Resize (when not nil) delivers the terminal's size
// changes.
type ExecOptions struct {
	Cmd            []string
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	TTY            bool
	Resize         <-chan TerminalSize
}

// TerminalSize is a terminal's width and height in characters.
type TerminalSize struct {
	Width, Height uint16
}

// ProbeKind says which of a container's probes is run.
type ProbeKind string

const (
	ReadinessProbe ProbeKind = "Readiness"
	LivenessProbe  ProbeKind = "Liveness"
	StartupProbe   ProbeKind = "Startup"
)

// ProbeResult is the outcome of one probe.
type ProbeResult struct {
	// Success says the probe passed.
	Success bool
	// Output is what the probe said, shown in the "<Kind> probe failed: <Output>"
	// event of a failure.
	Output string
}

// ContainerStats is a container's resource usage at Timestamp.
type ContainerStats struct {
	Timestamp time.Time
	// CPUUsageNanoCores is the current CPU usage; CPUUsageCoreNanoSeconds the
	// cumulative CPU time used.
	CPUUsageNanoCores       uint64
	CPUUsageCoreNanoSeconds uint64
	// MemoryWorkingSetBytes is the memory in use that cannot be evicted.
	MemoryWorkingSetBytes uint64
}
