// Package simulated is a kubelet runtime that runs nothing: its sandboxes and
// containers are records in memory that go through the states real ones do,
// so that one process can host a thousand hollow nodes for scale tests.
//
// A container starts after a short, jittered delay, runs until it is stopped
// (or until the time its pod's annotations say it exits), and answers probes
// and reports usage as the annotations say (see Prefix). Everything is lost
// when the process ends; a kubelet restarted on the same Runtime value adopts
// what it holds.
//
// Sandboxes need the node's pod CIDR (UpdatePodCIDR) before the pod network is
// ready; the addresses are the kubelet's choice. No packet is ever sent.
package simulated

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	mathrand "math/rand/v2"
	"net/netip"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"

	"github.com/tendhq/tend/kubelet"
)

// Name and Version identify the runtime: nodes report
// containerRuntimeVersion "simulated://0.1".
const (
	Name    = "simulated"
	Version = "0.1"
)

// Config tunes a Runtime. The zero value is a good default.
type Config struct {
	// StartDelay is how long a container takes to start; default 100ms,
	// negative for none.
	StartDelay time.Duration
	// StartJitter varies each start by up to this much either way; default
	// half of StartDelay, negative for none.
	StartJitter time.Duration
	// Clock tells the time; default the real clock.
	Clock clock.Clock
}

// Runtime is the simulated runtime. It is safe for concurrent use.
type Runtime struct {
	cfg    Config
	prefix string

	mu         sync.Mutex
	podCIDR    string
	next       uint64
	sandboxes  map[string]*sandbox
	containers map[string]*container
	byPod      map[types.UID]*podRecords
}

type sandbox struct {
	status      kubelet.SandboxStatus
	annotations map[string]string
}

type container struct {
	status kubelet.ContainerStatus
	b      behaviour
}

type podRecords struct {
	sandboxes  []string
	containers []string
}

var _ kubelet.Runtime = (*Runtime)(nil)

// New returns an empty simulated runtime.
func New(cfg Config) *Runtime {
	if cfg.StartDelay == 0 {
		cfg.StartDelay = 100 * time.Millisecond
	}
	if cfg.StartDelay < 0 {
		cfg.StartDelay = 0
	}
	if cfg.StartJitter == 0 {
		cfg.StartJitter = cfg.StartDelay / 2
	}
	if cfg.StartJitter < 0 {
		cfg.StartJitter = 0
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	return &Runtime{cfg: cfg, prefix: hex.EncodeToString(b[:]), sandboxes: map[string]*sandbox{},
		containers: map[string]*container{}, byPod: map[types.UID]*podRecords{}}
}

func (r *Runtime) newIDLocked() string {
	r.next++
	return fmt.Sprintf("%s%010x", r.prefix, r.next)
}

func notFound(kind, id string) error {
	return fmt.Errorf("simulated: %s %s: %w", kind, id, kubelet.ErrNotFound)
}

// Status reports the runtime ready, and its network ready once it has a pod
// CIDR.
func (r *Runtime) Status(context.Context) (kubelet.RuntimeStatus, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := kubelet.RuntimeStatus{Name: Name, Version: Version, Runtime: kubelet.RuntimeCondition{Ready: true},
		Network: kubelet.RuntimeCondition{Ready: true}}
	if r.podCIDR == "" {
		s.Network = kubelet.RuntimeCondition{Reason: "NetworkPluginNotReady",
			Message: "Network plugin returns error: no pod CIDR is assigned to the node yet"}
	}
	return s, nil
}

// UpdatePodCIDR records the node's pod CIDR.
func (r *Runtime) UpdatePodCIDR(_ context.Context, cidr string) error {
	if _, err := netip.ParsePrefix(cidr); err != nil {
		return fmt.Errorf("simulated: pod CIDR %q: %w", cidr, err)
	}
	r.mu.Lock()
	r.podCIDR = cidr
	r.mu.Unlock()
	return nil
}

// RunPodSandbox records a ready sandbox. A pod outside the node's network
// needs the network ready and an address in the pod CIDR.
func (r *Runtime) RunPodSandbox(_ context.Context, cfg kubelet.SandboxConfig) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !cfg.HostNetwork {
		if r.podCIDR == "" {
			return "", fmt.Errorf("simulated: the pod network is not ready: no pod CIDR")
		}
		ip, err := netip.ParseAddr(cfg.IP)
		if err != nil || !netip.MustParsePrefix(r.podCIDR).Contains(ip) {
			return "", fmt.Errorf("simulated: pod address %q is not in the pod CIDR %s", cfg.IP, r.podCIDR)
		}
	}
	id := r.newIDLocked()
	r.sandboxes[id] = &sandbox{annotations: cfg.Annotations, status: kubelet.SandboxStatus{ID: id, PodUID: cfg.PodUID,
		Namespace: cfg.Namespace, Name: cfg.Name, Attempt: cfg.Attempt, State: kubelet.SandboxReady,
		IP: cfg.IP, HostNetwork: cfg.HostNetwork, CreatedAt: r.cfg.Clock.Now()}}
	r.podLocked(cfg.PodUID).sandboxes = append(r.podLocked(cfg.PodUID).sandboxes, id)
	return id, nil
}

func (r *Runtime) podLocked(uid types.UID) *podRecords {
	p := r.byPod[uid]
	if p == nil {
		p = &podRecords{}
		r.byPod[uid] = p
	}
	return p
}

// StopPodSandbox kills the sandbox's containers and marks it not ready.
func (r *Runtime) StopPodSandbox(_ context.Context, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	sb, ok := r.sandboxes[id]
	if !ok {
		return notFound("sandbox", id)
	}
	now := r.cfg.Clock.Now()
	for _, cid := range r.byPod[sb.status.PodUID].containers {
		if c := r.containers[cid]; c.status.SandboxID == id {
			r.stopLocked(c, now, 0)
		}
	}
	sb.status.State = kubelet.SandboxNotReady
	return nil
}

// RemovePodSandbox removes the sandbox and its containers.
func (r *Runtime) RemovePodSandbox(_ context.Context, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	sb, ok := r.sandboxes[id]
	if !ok {
		return notFound("sandbox", id)
	}
	p := r.byPod[sb.status.PodUID]
	var keep []string
	for _, cid := range p.containers {
		if r.containers[cid].status.SandboxID == id {
			delete(r.containers, cid)
		} else {
			keep = append(keep, cid)
		}
	}
	p.containers = keep
	p.sandboxes = without(p.sandboxes, id)
	delete(r.sandboxes, id)
	r.forgetLocked(sb.status.PodUID)
	return nil
}

func (r *Runtime) forgetLocked(uid types.UID) {
	if p := r.byPod[uid]; p != nil && len(p.sandboxes) == 0 && len(p.containers) == 0 {
		delete(r.byPod, uid)
	}
}

func without(ids []string, id string) []string {
	out := ids[:0]
	for _, x := range ids {
		if x != id {
			out = append(out, x)
		}
	}
	return out
}

// ListPodSandboxes lists the sandboxes of a pod, or all.
func (r *Runtime) ListPodSandboxes(_ context.Context, podUID types.UID) ([]kubelet.SandboxStatus, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []kubelet.SandboxStatus
	if podUID != "" {
		if p := r.byPod[podUID]; p != nil {
			for _, id := range p.sandboxes {
				out = append(out, r.sandboxes[id].status)
			}
		}
		return out, nil
	}
	out = make([]kubelet.SandboxStatus, 0, len(r.sandboxes))
	for _, sb := range r.sandboxes {
		out = append(out, sb.status)
	}
	return out, nil
}

// CreateContainer records a created container, with the behaviour its pod's
// annotations ask for. Annotations that do not parse, and fail-start, fail
// the creation.
func (r *Runtime) CreateContainer(_ context.Context, sandboxID string, cfg kubelet.ContainerConfig) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	sb, ok := r.sandboxes[sandboxID]
	if !ok {
		return "", notFound("sandbox", sandboxID)
	}
	if sb.status.State != kubelet.SandboxReady {
		return "", fmt.Errorf("simulated: sandbox %s is not ready", sandboxID)
	}
	b, err := parseBehaviour(sb.annotations, cfg.Spec)
	if err != nil {
		return "", err
	}
	if b.failStart != "" {
		return "", fmt.Errorf("%s", b.failStart)
	}
	sum := sha256.Sum256([]byte(cfg.Spec.Image))
	id := r.newIDLocked()
	r.containers[id] = &container{b: b, status: kubelet.ContainerStatus{ID: id, SandboxID: sandboxID,
		PodUID: sb.status.PodUID, Name: cfg.Spec.Name, Image: cfg.Spec.Image, ImageRef: "sha256:" + hex.EncodeToString(sum[:]),
		RestartCount: cfg.RestartCount, State: kubelet.ContainerCreated, CreatedAt: r.cfg.Clock.Now()}}
	p := r.podLocked(sb.status.PodUID)
	p.containers = append(p.containers, id)
	return id, nil
}

// StartContainer starts a created container after the start delay.
func (r *Runtime) StartContainer(ctx context.Context, id string) error {
	r.mu.Lock()
	c, ok := r.containers[id]
	if !ok {
		r.mu.Unlock()
		return notFound("container", id)
	}
	if c.status.State != kubelet.ContainerCreated {
		r.mu.Unlock()
		return fmt.Errorf("simulated: container %s is %s, not created", id, c.status.State)
	}
	delay := c.b.startDelay
	if !c.b.hasStartDelay {
		delay = r.cfg.StartDelay
		if j := r.cfg.StartJitter; j > 0 {
			delay += time.Duration(mathrand.Int64N(int64(2*j)+1)) - j
		}
	}
	r.mu.Unlock()
	if delay > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-r.cfg.Clock.After(delay):
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok = r.containers[id]; !ok {
		return notFound("container", id)
	}
	if c.status.State != kubelet.ContainerCreated {
		return fmt.Errorf("simulated: container %s was %s before it started", id, c.status.State)
	}
	c.status.State, c.status.StartedAt = kubelet.ContainerRunning, r.cfg.Clock.Now()
	return nil
}

// StopContainer stops a running container: a simulated process honours
// SIGTERM and exits 0 (Completed); with no grace it is killed (137, Error).
func (r *Runtime) StopContainer(_ context.Context, id string, grace time.Duration) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.containers[id]
	if !ok {
		return notFound("container", id)
	}
	r.stopLocked(c, r.cfg.Clock.Now(), grace)
	return nil
}

func (r *Runtime) stopLocked(c *container, now time.Time, grace time.Duration) {
	r.refreshLocked(c, now)
	switch c.status.State {
	case kubelet.ContainerRunning:
		c.status.State, c.status.FinishedAt = kubelet.ContainerExited, now
		c.status.ExitCode, c.status.Reason = 0, "Completed"
		if grace <= 0 {
			c.status.ExitCode, c.status.Reason = 137, "Error"
		}
	case kubelet.ContainerCreated:
		c.status.State, c.status.FinishedAt = kubelet.ContainerExited, now
		c.status.ExitCode, c.status.Reason = 128, "ContainerCannotRun"
	}
}

// refreshLocked moves a running container that has reached its exit time to
// exited, as of that time.
func (r *Runtime) refreshLocked(c *container, now time.Time) {
	if c.status.State != kubelet.ContainerRunning || !c.b.exits {
		return
	}
	at := c.status.StartedAt.Add(c.b.exitAfter)
	if now.Before(at) {
		return
	}
	c.status.State, c.status.FinishedAt, c.status.ExitCode = kubelet.ContainerExited, at, c.b.exitCode
	c.status.Reason = "Completed"
	if c.b.exitCode != 0 {
		c.status.Reason = "Error"
	}
}

// RemoveContainer forgets a container.
func (r *Runtime) RemoveContainer(_ context.Context, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.containers[id]
	if !ok {
		return notFound("container", id)
	}
	delete(r.containers, id)
	if p := r.byPod[c.status.PodUID]; p != nil {
		p.containers = without(p.containers, id)
		r.forgetLocked(c.status.PodUID)
	}
	return nil
}

// ContainerStatus reports a container.
func (r *Runtime) ContainerStatus(_ context.Context, id string) (kubelet.ContainerStatus, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.containers[id]
	if !ok {
		return kubelet.ContainerStatus{}, notFound("container", id)
	}
	r.refreshLocked(c, r.cfg.Clock.Now())
	return c.status, nil
}

// ListContainers lists the containers of a pod, or all.
func (r *Runtime) ListContainers(_ context.Context, podUID types.UID) ([]kubelet.ContainerStatus, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.cfg.Clock.Now()
	var out []kubelet.ContainerStatus
	if podUID != "" {
		if p := r.byPod[podUID]; p != nil {
			for _, id := range p.containers {
				c := r.containers[id]
				r.refreshLocked(c, now)
				out = append(out, c.status)
			}
		}
		return out, nil
	}
	out = make([]kubelet.ContainerStatus, 0, len(r.containers))
	for _, c := range r.containers {
		r.refreshLocked(c, now)
		out = append(out, c.status)
	}
	return out, nil
}

// Probe answers from the annotations: readiness probes fail with ready
// "false" or after unready-after, liveness and startup probes with healthy
// "false" or after unhealthy-after; everything else passes. A container that
// is not running fails every probe.
func (r *Runtime) Probe(_ context.Context, id string, kind kubelet.ProbeKind, _ *corev1.Probe) (kubelet.ProbeResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.containers[id]
	if !ok {
		return kubelet.ProbeResult{}, notFound("container", id)
	}
	now := r.cfg.Clock.Now()
	r.refreshLocked(c, now)
	if c.status.State != kubelet.ContainerRunning {
		return kubelet.ProbeResult{Output: "container is not running"}, nil
	}
	up := now.Sub(c.status.StartedAt)
	switch kind {
	case kubelet.ReadinessProbe:
		if c.b.notReady {
			return kubelet.ProbeResult{Output: "simulated: " + Ready + " is false"}, nil
		}
		if c.b.unreadyAfter > 0 && up >= c.b.unreadyAfter {
			return kubelet.ProbeResult{Output: fmt.Sprintf("simulated: unready since %v after the start (%s)", c.b.unreadyAfter, UnreadyAfter)}, nil
		}
	case kubelet.LivenessProbe, kubelet.StartupProbe:
		if c.b.unhealthy {
			return kubelet.ProbeResult{Output: "simulated: " + Healthy + " is false"}, nil
		}
		if c.b.unhealthyAfter > 0 && up >= c.b.unhealthyAfter {
			return kubelet.ProbeResult{Output: fmt.Sprintf("simulated: unhealthy since %v after the start (%s)", c.b.unhealthyAfter, UnhealthyAfter)}, nil
		}
	}
	return kubelet.ProbeResult{Success: true}, nil
}

// Stats reports the usage the annotations (or the requests) say, while the
// container runs.
func (r *Runtime) Stats(_ context.Context, id string) (kubelet.ContainerStats, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.containers[id]
	if !ok {
		return kubelet.ContainerStats{}, notFound("container", id)
	}
	now := r.cfg.Clock.Now()
	r.refreshLocked(c, now)
	s := kubelet.ContainerStats{Timestamp: now}
	if c.status.StartedAt.IsZero() {
		return s, nil
	}
	end := now
	if c.status.State == kubelet.ContainerExited {
		end = c.status.FinishedAt
	} else {
		s.CPUUsageNanoCores = c.b.cpuNanoCores
		s.MemoryWorkingSetBytes = c.b.memoryBytes
	}
	ran := end.Sub(c.status.StartedAt)
	s.CPUUsageCoreNanoSeconds = uint64(float64(c.b.cpuNanoCores) * ran.Seconds())
	return s, nil
}
