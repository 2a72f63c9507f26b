package kubelet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Lifecycle hooks, as upstream's handler runner:
//
//   - postStart runs right after the container started; the container is
//     not reported running before it ended. When it fails the container is
//     killed (event FailedPostStartHook "PostStartHook failed") and waits
//     with reason PostStartHookError and the hook's message, then restarts
//     as its restart policy says.
//   - preStop runs before a running container is stopped, within its grace
//     period: the time it takes is taken from the grace left to the
//     container (never less than 2 s, upstream's minimum). A failure is
//     event FailedPreStopHook "PreStopHook failed"; the container is stopped
//     all the same.
//
// exec hooks run through the runtime's ExecRuntime; httpGet hooks through
// Runtime.Probe (the runtime reaches the pod inside its network namespace;
// tend sends them only to the pod's own address or the node's, never off
// the machine); sleep hooks wait. On a runtime without ExecRuntime (the
// simulated one) every hook is a no-op that succeeds.

// reasonPostStartHookErr is upstream's waiting reason of a container whose
// postStart hook failed.
const reasonPostStartHookErr = "PostStartHookError"

// minimumGrace is the least grace a container gets after its preStop hook.
const minimumGrace = 2 * time.Second

// runHook runs one hook handler of container c (running as containerID)
// and returns upstream's message when it failed.
func (k *Kubelet) runHook(ctx context.Context, pod *corev1.Pod, c *corev1.Container, containerID string, h *corev1.LifecycleHandler) (string, error) {
	ex, ok := k.cfg.Runtime.(ExecRuntime)
	if !ok {
		return "", nil
	}
	switch {
	case h.Exec != nil:
		var out bytes.Buffer
		code, err := ex.Exec(ctx, containerID, ExecOptions{Cmd: h.Exec.Command, Stdout: &out, Stderr: &out})
		if err == nil && code != 0 {
			err = fmt.Errorf("command '%s' exited with %d: %s", joinArgs(h.Exec.Command), code, out.String())
		}
		if err != nil {
			return fmt.Sprintf("Exec lifecycle hook (%v) for Container %q in Pod %q failed - error: %v, message: %q",
				h.Exec.Command, c.Name, podRef(pod), err, out.String()), err
		}
		return "", nil
	case h.HTTPGet != nil:
		err := k.runHTTPHook(ctx, pod, containerID, h.HTTPGet)
		if err != nil {
			return fmt.Sprintf("HTTP lifecycle hook (%s) for Container %q in Pod %q failed - error: %v",
				h.HTTPGet.Path, c.Name, podRef(pod), err), err
		}
		return "", nil
	case h.Sleep != nil:
		timer := k.clock.NewTimer(time.Duration(h.Sleep.Seconds) * time.Second)
		defer timer.Stop()
		select {
		case <-timer.C():
			return "", nil
		case <-ctx.Done():
			err := ctx.Err()
			return fmt.Sprintf("Sleep lifecycle hook (%d) for Container %q in Pod %q failed - error: %v",
				h.Sleep.Seconds, c.Name, podRef(pod), err), err
		}
	}
	return "", errors.New("the lifecycle hook has no handler")
}

// runHTTPHook sends an httpGet hook through the runtime's prober, which
// reaches the pod inside its network namespace. Only the pod's own
// address (the default) and the node's are allowed as host.
func (k *Kubelet) runHTTPHook(ctx context.Context, pod *corev1.Pod, containerID string, g *corev1.HTTPGetAction) error {
	if g.Host != "" && g.Host != k.hostIP && g.Host != pod.Status.PodIP && g.Host != "127.0.0.1" && g.Host != "localhost" {
		return fmt.Errorf("host %q: tend sends httpGet hooks only to the pod's own address or the node's", g.Host)
	}
	res, err := k.cfg.Runtime.Probe(ctx, containerID, ProbeKind("LifecycleHook"),
		&corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: g}})
	if err != nil {
		return err
	}
	if !res.Success {
		return errors.New(res.Output)
	}
	return nil
}

func joinArgs(args []string) string {
	var b bytes.Buffer
	for i, a := range args {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(a)
	}
	return b.String()
}

// postStart runs container c's postStart hook, if any, and reports the
// failure message. ctx ends when the pod is deleted.
func (w *podWorker) postStart(ctx context.Context, pod *corev1.Pod, c *corev1.Container, id string) (string, error) {
	if c.Lifecycle == nil || c.Lifecycle.PostStart == nil {
		return "", nil
	}
	hctx, cancel := w.hookContext(ctx)
	defer cancel()
	return w.k.runHook(hctx, pod, c, id, c.Lifecycle.PostStart)
}

// hookContext is ctx, also ended when the pod is being deleted or is gone,
// so that a hanging postStart hook does not hold the pod's deletion.
func (w *podWorker) hookContext(ctx context.Context) (context.Context, context.CancelFunc) {
	hctx, cancel := context.WithCancel(ctx)
	w.mu.Lock()
	if w.gone || (w.pod != nil && w.pod.DeletionTimestamp != nil) {
		cancel()
	}
	w.hookCancel = cancel
	w.mu.Unlock()
	return hctx, func() {
		w.mu.Lock()
		w.hookCancel = nil
		w.mu.Unlock()
		cancel()
	}
}

// preStopAll runs the preStop hooks of the running containers in list
// (each with its spec) at once, each within grace, and returns the grace
// each container has left.
func (k *Kubelet) preStopAll(ctx context.Context, pod *corev1.Pod, list []ContainerStatus, grace time.Duration) map[string]time.Duration {
	left := make(map[string]time.Duration, len(list))
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, cs := range list {
		left[cs.ID] = grace
		spec := containerSpec(pod, cs.Name)
		if spec == nil || spec.Lifecycle == nil || spec.Lifecycle.PreStop == nil || grace <= 0 || cs.State != ContainerRunning {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			used := k.preStop(ctx, pod, spec, cs.ID, grace)
			mu.Lock()
			left[cs.ID] = max(grace-used, minimumGrace)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return left
}

// preStop runs one container's preStop hook, waiting at most grace, and
// returns the time it took.
func (k *Kubelet) preStop(ctx context.Context, pod *corev1.Pod, c *corev1.Container, id string, grace time.Duration) time.Duration {
	start := k.clock.Now()
	hctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := k.runHook(hctx, pod, c, id, c.Lifecycle.PreStop); err != nil && hctx.Err() == nil {
			k.logf("pod %s/%s: preStop hook of container %s failed: %v", pod.Namespace, pod.Name, c.Name, err)
			k.event(pod, corev1.EventTypeWarning, "FailedPreStopHook", "PreStopHook failed")
		}
	}()
	timer := k.clock.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C():
		k.logf("pod %s/%s: preStop hook of container %s did not complete in %v", pod.Namespace, pod.Name, c.Name, grace)
	case <-ctx.Done():
	}
	return k.clock.Since(start)
}

// containerSpec is the container named name in pod's spec, or nil.
func containerSpec(pod *corev1.Pod, name string) *corev1.Container {
	if pod == nil {
		return nil
	}
	for _, list := range [][]corev1.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
		for i := range list {
			if list[i].Name == name {
				return &list[i]
			}
		}
	}
	return nil
}
