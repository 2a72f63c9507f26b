package kubelet

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
)

// instrumented counts and times every runtime call, with upstream's
// operation_type names.
type instrumented struct {
	rt    Runtime
	m     *Metrics
	clock clock.Clock
}

var _ Runtime = (*instrumented)(nil)

func (r *instrumented) record(op string, start time.Time, err error) {
	r.m.observeRuntime(op, start, r.clock.Now(), err)
}

func (r *instrumented) Status(ctx context.Context) (RuntimeStatus, error) {
	start := r.clock.Now()
	s, err := r.rt.Status(ctx)
	r.record("status", start, err)
	return s, err
}

func (r *instrumented) UpdatePodCIDR(ctx context.Context, cidr string) error {
	start := r.clock.Now()
	err := r.rt.UpdatePodCIDR(ctx, cidr)
	r.record("update_runtime_config", start, err)
	return err
}

func (r *instrumented) RunPodSandbox(ctx context.Context, config SandboxConfig) (string, error) {
	start := r.clock.Now()
	id, err := r.rt.RunPodSandbox(ctx, config)
	r.record("run_podsandbox", start, err)
	return id, err
}

func (r *instrumented) StopPodSandbox(ctx context.Context, id string) error {
	start := r.clock.Now()
	err := r.rt.StopPodSandbox(ctx, id)
	r.record("stop_podsandbox", start, err)
	return err
}

func (r *instrumented) RemovePodSandbox(ctx context.Context, id string) error {
	start := r.clock.Now()
	err := r.rt.RemovePodSandbox(ctx, id)
	r.record("remove_podsandbox", start, err)
	return err
}

func (r *instrumented) ListPodSandboxes(ctx context.Context, podUID types.UID) ([]SandboxStatus, error) {
	start := r.clock.Now()
	s, err := r.rt.ListPodSandboxes(ctx, podUID)
	r.record("list_podsandbox", start, err)
	return s, err
}

func (r *instrumented) CreateContainer(ctx context.Context, sandboxID string, config ContainerConfig) (string, error) {
	start := r.clock.Now()
	id, err := r.rt.CreateContainer(ctx, sandboxID, config)
	r.record("create_container", start, err)
	return id, err
}

func (r *instrumented) StartContainer(ctx context.Context, id string) error {
	start := r.clock.Now()
	err := r.rt.StartContainer(ctx, id)
	r.record("start_container", start, err)
	return err
}

func (r *instrumented) StopContainer(ctx context.Context, id string, grace time.Duration) error {
	start := r.clock.Now()
	err := r.rt.StopContainer(ctx, id, grace)
	r.record("stop_container", start, err)
	return err
}

func (r *instrumented) RemoveContainer(ctx context.Context, id string) error {
	start := r.clock.Now()
	err := r.rt.RemoveContainer(ctx, id)
	r.record("remove_container", start, err)
	return err
}

func (r *instrumented) ContainerStatus(ctx context.Context, id string) (ContainerStatus, error) {
	start := r.clock.Now()
	s, err := r.rt.ContainerStatus(ctx, id)
	r.record("container_status", start, err)
	return s, err
}

func (r *instrumented) ListContainers(ctx context.Context, podUID types.UID) ([]ContainerStatus, error) {
	start := r.clock.Now()
	s, err := r.rt.ListContainers(ctx, podUID)
	r.record("list_containers", start, err)
	return s, err
}

func (r *instrumented) Probe(ctx context.Context, containerID string, kind ProbeKind, probe *corev1.Probe) (ProbeResult, error) {
	start := r.clock.Now()
	res, err := r.rt.Probe(ctx, containerID, kind, probe)
	r.record("probe", start, err)
	return res, err
}

func (r *instrumented) Stats(ctx context.Context, containerID string) (ContainerStats, error) {
	start := r.clock.Now()
	s, err := r.rt.Stats(ctx, containerID)
	r.record("container_stats", start, err)
	return s, err
}
