package kubelet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
)

// podWorker syncs one pod, in its own goroutine, as upstream's pod workers:
// syncs of a pod never overlap, and each sync works on the latest state of the
// pod the informer delivered (intermediate states may be skipped). The worker
// sleeps until the pod changes, the runtime reports a change (relist), a probe
// or a back-off is due, or SyncFrequency passes.
type podWorker struct {
	k               *Kubelet
	uid             types.UID
	namespace, name string
	wake            chan struct{}
	// static says the pod is a static pod (from Config.StaticPodPath): its
	// status goes to its mirror pod. Set before the worker runs.
	static bool

	// Guarded by k.mu.
	admitted    bool
	admittedPod *corev1.Pod
	rejection   *admission
	finished    bool

	// mu guards the latest state handed over by the informer.
	mu      sync.Mutex
	pod     *corev1.Pod
	gone    bool
	updated bool
	// hookCancel ends the postStart hook running, if any, once the pod is
	// being deleted.
	hookCancel context.CancelFunc
	// created is the mirror pod a static pod's worker created, until the
	// informer reports it deleted.
	created *corev1.Pod

	// Owned by the worker's goroutine.
	firstSeen     time.Time
	synced        bool
	probes        podProbes
	reasons       map[string]waitingReason
	retryAt       time.Time
	written       *corev1.Pod // metadata and status of the last status write's result
	startObserved bool
	changedAt     time.Time
	startTime     time.Time // when this process started the pod
	volumesRV     string    // the pod's resourceVersion when its volumes were last set up
	volumesAt     time.Time // when they were
	// Static pods: the status last computed (written to the mirror pod or
	// not), and when the mirror pod may be changed again after a failure.
	computed      *corev1.PodStatus
	mirrorRetryAt time.Time
}

func newPodWorker(k *Kubelet, pod *corev1.Pod) *podWorker {
	return &podWorker{k: k, uid: pod.UID, namespace: pod.Namespace, name: pod.Name, pod: pod,
		wake: make(chan struct{}, 1), firstSeen: k.clock.Now(), reasons: map[string]waitingReason{},
		startObserved: pod.Status.Phase != corev1.PodPending && pod.Status.Phase != ""}
}

func (w *podWorker) key() string { return w.namespace + "/" + w.name }

// update hands the worker the pod's latest state.
func (w *podWorker) update(pod *corev1.Pod, initial bool) {
	w.mu.Lock()
	w.pod = pod
	if !initial {
		w.updated = true
	}
	if pod.DeletionTimestamp != nil && w.hookCancel != nil {
		w.hookCancel()
	}
	w.mu.Unlock()
	w.kick()
}

// markGone tells the worker the pod left the API (last is its last state,
// when known).
func (w *podWorker) markGone(last *corev1.Pod) {
	w.mu.Lock()
	w.gone = true
	if last != nil && last.ResourceVersion != "" {
		w.pod = last
	}
	if w.hookCancel != nil {
		w.hookCancel()
	}
	w.mu.Unlock()
	w.kick()
}

func (w *podWorker) isGone() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.gone
}

func (w *podWorker) take() (pod *corev1.Pod, gone, updated bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	pod, gone, updated = w.pod, w.gone, w.updated
	w.updated = false
	return pod, gone, updated
}

// kick asks for a sync; it never blocks.
func (w *podWorker) kick() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *podWorker) run(ctx context.Context) {
	defer w.k.workersWG.Done()
	k := w.k
	for {
		pod, gone, updated := w.take()
		if w.static && !gone && k.staticBlocked(w) {
			// Woken when the older pod of its name has stopped.
			select {
			case <-ctx.Done():
				return
			case <-w.wake:
			}
			continue
		}
		start := k.clock.Now()
		op := "sync"
		switch {
		case gone:
			op = "kill"
		case !w.synced:
			op = "create"
		case updated:
			op = "update"
		}
		w.retryAt = time.Time{}
		var done bool
		if gone {
			w.teardown(ctx, pod)
			done = true
		} else {
			done = w.sync(ctx, pod)
		}
		w.synced = true
		k.m.podWorkerDuration.WithLabelValues(op).Observe(k.clock.Since(start).Seconds())
		if ctx.Err() != nil {
			return
		}
		if done {
			k.workerDone(w)
			return
		}
		timer := k.clock.NewTimer(w.sleep())
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-w.wake:
		case <-timer.C():
		}
		timer.Stop()
	}
}

// sleep is how long until the next sync is due by itself.
func (w *podWorker) sleep() time.Duration {
	now := w.k.clock.Now()
	next := now.Add(w.k.cfg.SyncFrequency)
	for _, t := range []time.Time{w.probes.next(), w.retryAt} {
		if !t.IsZero() && t.Before(next) {
			next = t
		}
	}
	return max(next.Sub(now), 0)
}

// retryBy makes the worker sync again by t at the latest.
func (w *podWorker) retryBy(t time.Time) {
	if w.retryAt.IsZero() || t.Before(w.retryAt) {
		w.retryAt = t
	}
}

func (w *podWorker) retryIn(d time.Duration) { w.retryBy(w.k.clock.Now().Add(d)) }

// sync brings the pod one step closer to what its spec wants and reports its
// status. It reports whether the worker is done: the pod finished and what it
// ran is gone.
func (w *podWorker) sync(ctx context.Context, pod *corev1.Pod) bool {
	k := w.k
	if w.rejection != nil {
		return w.reject(ctx, pod)
	}
	if isTerminal(w.current(pod).Phase) {
		w.cleanup(ctx, pod)
		return true
	}
	if pod.DeletionTimestamp != nil {
		return w.terminate(ctx, pod)
	}
	if w.static {
		w.syncMirror(ctx, pod)
	}
	for i := 0; i < 4; i++ {
		rp, err := w.observe(ctx)
		if err != nil {
			k.logErr(ctx, "pod %s: %v", w.key(), err)
			w.retryIn(k.cfg.ContainerBackOff)
			return false
		}
		w.runProbes(ctx, pod, rp)
		if deadline, ok := w.deadline(pod); ok {
			if !k.clock.Now().Before(deadline) {
				return w.finish(ctx, pod, true)
			}
			w.retryBy(deadline)
		}
		// A pod whose status is final is not set up any further, as
		// upstream's syncPod: a restartPolicy Never pod that lost its running
		// containers (the runtime restarted) has failed; it does not run twice.
		status := w.generate(pod, rp, false)
		if isTerminal(status.Phase) {
			return w.finish(ctx, pod, false)
		}
		a := computePodActions(pod, rp, &w.probes, w.current(pod))
		if a.killPod && !a.createSandbox {
			return w.finish(ctx, pod, false)
		}
		if err := w.write(ctx, pod, status); err != nil {
			k.logErr(ctx, "%v", err)
			w.retryIn(time.Second)
		}
		if !w.execute(ctx, pod, rp, a, &status) || ctx.Err() != nil {
			return false
		}
	}
	w.retryIn(0)
	return false
}

// observe reads what the runtime holds for the pod.
func (w *podWorker) observe(ctx context.Context) (*runtimePod, error) {
	sandboxes, err := w.k.rt.ListPodSandboxes(ctx, w.uid)
	if err != nil {
		return nil, fmt.Errorf("listing the sandboxes of pod %s: %w", w.key(), err)
	}
	containers, err := w.k.rt.ListContainers(ctx, w.uid)
	if err != nil {
		return nil, fmt.Errorf("listing the containers of pod %s: %w", w.key(), err)
	}
	return newRuntimePod(sandboxes, containers), nil
}

// runProbes runs the probes that are due.
func (w *podWorker) runProbes(ctx context.Context, pod *corev1.Pod, rp *runtimePod) {
	k := w.k
	now := k.clock.Now()
	w.probes.update(pod, rp, now)
	for _, run := range w.probes.due(now) {
		pctx, cancel := context.WithTimeout(ctx, probeTimeout(run.spec))
		res, err := k.rt.Probe(pctx, run.key.id, run.key.kind, run.spec)
		cancel()
		if ctx.Err() != nil {
			return
		}
		ok := err == nil && res.Success
		if !ok {
			output := res.Output
			if err != nil {
				output = err.Error()
			}
			k.event(pod, corev1.EventTypeWarning, "Unhealthy", "%s probe failed: %s", run.key.kind, output)
		}
		w.probes.record(run.key, ok)
	}
}

// deadline is when the pod's activeDeadlineSeconds runs out, counted from its
// start: the precise time the kubelet started it, or the startTime it reports
// (in whole seconds) when another kubelet process did.
func (w *podWorker) deadline(pod *corev1.Pod) (time.Time, bool) {
	if pod.Spec.ActiveDeadlineSeconds == nil {
		return time.Time{}, false
	}
	start := w.startTime
	if start.IsZero() {
		st := w.current(pod).StartTime
		if st == nil {
			return time.Time{}, false
		}
		start = st.Time
	}
	return start.Add(time.Duration(*pod.Spec.ActiveDeadlineSeconds) * time.Second), true
}

// generate computes the pod's status from what the runtime holds.
func (w *podWorker) generate(pod *corev1.Pod, rp *runtimePod, terminal bool) corev1.PodStatus {
	old, now := w.current(pod), w.k.clock.Now()
	if old.StartTime == nil && w.startTime.IsZero() {
		w.startTime = now
	}
	return generatePodStatus(statusInput{pod: pod, old: old, rp: rp, probes: &w.probes,
		reasons: w.reasons, runtimeName: w.k.runtimeName(), hostIP: w.k.hostIP, now: now, terminal: terminal})
}

// current is the pod's status as the API has it, or as the kubelet last wrote
// it when the informer has not caught up with that write yet. A static pod's
// is the status last computed for it, else (a kubelet started again) its
// mirror pod's, else the manifest's.
func (w *podWorker) current(pod *corev1.Pod) *corev1.PodStatus {
	if w.static {
		if w.computed != nil {
			return w.computed
		}
		if m := w.mirror(pod); m != nil {
			return &m.Status
		}
		return &pod.Status
	}
	if w.written != nil && rvNewer(w.written.ResourceVersion, pod.ResourceVersion) {
		return &w.written.Status
	}
	return &pod.Status
}

// rvNewer reports whether resourceVersion a is newer than b. tend's
// resourceVersions are etcd revisions, so they compare as numbers.
func rvNewer(a, b string) bool {
	x, err1 := strconv.ParseUint(a, 10, 64)
	y, err2 := strconv.ParseUint(b, 10, 64)
	return err1 == nil && err2 == nil && x > y
}

// write sends the pod's status to the API if it changed. It replaces the
// status of the latest version of the pod the kubelet knows (a status update
// with that resourceVersion: the apiserver has no patch to merge and the
// kubelet no diff to compute); when someone else wrote the pod since, it
// sends a strategic merge patch of pods/status from what the API holds, with
// the pod's UID as a precondition, as upstream's status manager does, which
// leaves their changes alone. A static pod's status goes to its mirror pod
// (upstream's status manager translates the UID); while it has none, the
// status is only kept.
func (w *podWorker) write(ctx context.Context, pod *corev1.Pod, status corev1.PodStatus) error {
	k := w.k
	var meta metav1.ObjectMeta
	var spec *corev1.PodSpec
	var cur *corev1.PodStatus
	if w.static {
		w.computed = status.DeepCopy()
		m := w.mirror(pod)
		if m == nil || m.DeletionTimestamp != nil {
			return nil
		}
		meta, spec, cur = m.ObjectMeta, &m.Spec, &m.Status
		if w.written != nil && w.written.UID == m.UID && rvNewer(w.written.ResourceVersion, m.ResourceVersion) {
			meta, cur = w.written.ObjectMeta, &w.written.Status
		}
		status = withConditionsOf(status, cur)
	} else {
		cur = w.current(pod)
		meta, spec = pod.ObjectMeta, &pod.Spec
		if w.written != nil && cur == &w.written.Status {
			meta = w.written.ObjectMeta
		}
	}
	if podStatusEqual(cur, &status) {
		w.changedAt = time.Time{}
		return nil
	}
	if w.changedAt.IsZero() {
		w.changedAt = k.clock.Now()
	}
	if p, ok := k.pods.Get(w.namespace, w.name); ok && p.UID != meta.UID {
		return nil // a new pod of the same name; this one is gone
	}
	pods := k.cfg.Client.CoreV1().Pods(w.namespace)
	updated, err := pods.UpdateStatus(ctx, &corev1.Pod{ObjectMeta: meta, Spec: *spec, Status: status}, metav1.UpdateOptions{})
	if apierrors.IsConflict(err) {
		var patch []byte
		if patch, err = podStatusPatch(meta.UID, cur, &status); err != nil {
			return fmt.Errorf("computing the status patch of pod %s: %w", w.key(), err)
		}
		updated, err = pods.Patch(ctx, w.name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
	}
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil // the pod is gone, or another of its name took its place
	}
	if err != nil {
		return fmt.Errorf("writing the status of pod %s: %w", w.key(), err)
	}
	if updated.UID != meta.UID {
		return nil
	}
	k.m.statusSync.Observe(k.clock.Since(w.changedAt).Seconds())
	w.changedAt = time.Time{}
	if !w.startObserved && status.Phase == corev1.PodRunning {
		w.startObserved = true
		k.m.podStartDuration.Observe(k.clock.Since(w.firstSeen).Seconds())
	}
	w.written = &corev1.Pod{ObjectMeta: updated.ObjectMeta, Status: updated.Status}
	return nil
}

// podStatusPatch is the strategic merge patch of pods/status from one status
// to another, with the pod's UID as a precondition (upstream's
// preparePatchBytesForPodStatus).
func podStatusPatch(uid types.UID, from, to *corev1.PodStatus) ([]byte, error) {
	old, err := json.Marshal(corev1.Pod{Status: *from})
	if err != nil {
		return nil, err
	}
	cur, err := json.Marshal(corev1.Pod{ObjectMeta: metav1.ObjectMeta{UID: uid}, Status: *to})
	if err != nil {
		return nil, err
	}
	return strategicpatch.CreateTwoWayMergePatch(old, cur, corev1.Pod{})
}

// execute carries out a sync's actions. It reports whether anything changed,
// so that the sync looks again and reports it.
func (w *podWorker) execute(ctx context.Context, pod *corev1.Pod, rp *runtimePod, a podActions, status *corev1.PodStatus) bool {
	k := w.k
	acted := false
	grace := terminationGrace(pod)
	if a.killPod && (len(rp.sandboxes) > 0 || len(rp.containers) > 0) {
		w.stopAll(ctx, pod, rp, grace)
		for _, sb := range rp.sandboxes {
			if err := k.rt.RemovePodSandbox(ctx, sb.ID); err != nil && !errors.Is(err, ErrNotFound) {
				k.logf("pod %s: removing sandbox %s: %v", w.key(), sb.ID, err)
			}
		}
		acted = true
	}
	for _, kill := range a.toKill {
		k.event(pod, corev1.EventTypeNormal, "Killing", "%s", kill.message)
		left := k.preStopAll(ctx, pod, []ContainerStatus{kill.container}, grace)[kill.container.ID]
		if err := k.rt.StopContainer(ctx, kill.container.ID, left); err != nil && !errors.Is(err, ErrNotFound) {
			k.logf("pod %s: stopping container %s: %v", w.key(), kill.container.Name, err)
		}
		acted = true
	}
	// Volumes are set up before anything of the pod starts, and kept up
	// to date while it runs.
	if pod.DeletionTimestamp == nil && (!a.killPod || a.createSandbox) {
		if !w.setUpVolumes(ctx, pod) && (a.createSandbox || len(a.initToStart) > 0 || len(a.toStart) > 0) {
			return acted
		}
	}
	var sandboxID string
	if sb := rp.sandbox(); sb != nil && !a.createSandbox {
		sandboxID = sb.ID
	}
	if a.createSandbox {
		id, ok := w.createSandbox(ctx, pod, a.attempt)
		if !ok {
			return acted
		}
		sandboxID, acted = id, true
		fresh, err := w.observe(ctx)
		if err != nil {
			return acted
		}
		rp = fresh
	}
	if sandboxID == "" {
		return acted
	}
	for _, i := range a.initToStart {
		c := &pod.Spec.InitContainers[i]
		started, changed := w.startContainer(ctx, pod, sandboxID, c, rp, status.InitContainerStatuses, containerTypeInit)
		acted = acted || changed
		if !started && !isRestartable(c) {
			return acted
		}
	}
	for _, i := range a.toStart {
		_, changed := w.startContainer(ctx, pod, sandboxID, &pod.Spec.Containers[i], rp, status.ContainerStatuses, containerTypeRegular)
		acted = acted || changed
	}
	return acted
}

// createSandbox gives the pod a new sandbox with an address from the node's
// pod CIDR (the one it had, if free), or, in the node's network, the node's.
func (w *podWorker) createSandbox(ctx context.Context, pod *corev1.Pod, attempt uint32) (string, bool) {
	k := w.k
	fail := func(reason, format string, args ...any) (string, bool) {
		k.m.startedPodsErrors.Inc()
		k.event(pod, corev1.EventTypeWarning, reason, format, args...)
		k.logf("pod %s: "+format, append([]any{w.key()}, args...)...)
		w.retryIn(k.cfg.ContainerBackOff)
		return "", false
	}
	ip := ""
	if !pod.Spec.HostNetwork {
		if msg := k.networkError(); msg != "" {
			// Synced again as soon as the network is ready.
			return fail("NetworkNotReady", "network is not ready: %s", msg)
		}
		var err error
		if ip, err = k.allocateIP(w.uid, pod.Status.PodIP); err != nil {
			return fail("FailedCreatePodSandBox", "Failed to create pod sandbox: %v", err)
		}
	}
	hostname := pod.Spec.Hostname
	if hostname == "" {
		hostname = pod.Name
	}
	id, err := k.rt.RunPodSandbox(ctx, SandboxConfig{PodUID: pod.UID, Namespace: pod.Namespace, Name: pod.Name,
		Attempt: attempt, Hostname: hostname, HostNetwork: pod.Spec.HostNetwork, IP: ip,
		Labels: pod.Labels, Annotations: pod.Annotations, Pod: pod})
	if err != nil {
		if ctx.Err() != nil {
			return "", false
		}
		return fail("FailedCreatePodSandBox", "Failed to create pod sandbox: %v", err)
	}
	k.m.startedPods.Inc()
	return id, true
}

// startContainer starts container c unless its restart back-off holds it.
// statuses are the container statuses just computed, for the restart count.
// It reports whether the container started and whether anything changed.
func (w *podWorker) startContainer(ctx context.Context, pod *corev1.Pod, sandboxID string, c *corev1.Container,
	rp *runtimePod, statuses []corev1.ContainerStatus, containerType string) (started, changed bool) {
	k := w.k
	latest := rp.latest(c.Name)
	// The back-off counts from the newest instance that exited, as
	// upstream's doBackOff: a container killed in this very sync (a failed
	// liveness probe) still shows running in rp, and its predecessor's end
	// is what keeps a container failing its probes from restarting at once,
	// again and again.
	if exited := rp.latestExited(c.Name); exited != nil {
		key := backOffKey(pod, c.Name)
		if k.backOff.IsInBackOffSince(key, exited.FinishedAt) {
			d := k.backOff.Get(key)
			changed := w.setReason(c.Name, reasonCrashLoopBackOff,
				fmt.Sprintf("back-off %s restarting failed container=%s pod=%s", d, c.Name, podRef(pod)))
			if changed {
				k.event(pod, corev1.EventTypeWarning, "BackOff", "Back-off restarting failed container %s in pod %s", c.Name, podRef(pod))
			}
			w.retryBy(exited.FinishedAt.Add(d))
			return false, changed
		}
		k.backOff.Next(key, exited.FinishedAt)
	}
	if ok, changed := w.ensureImage(ctx, pod, c); !ok {
		return false, changed
	}
	k.m.startedContainers.WithLabelValues(containerType).Inc()
	failed := func(reason string, err error) (bool, bool) {
		k.m.startedContErrors.WithLabelValues(reason, containerType).Inc()
		changed := w.setReason(c.Name, reason, err.Error())
		k.event(pod, corev1.EventTypeWarning, "Failed", "Error: %v", err)
		w.retryIn(k.cfg.ContainerBackOff)
		return false, changed
	}
	restartCount := nextRestartCount(latest, findStatus(statuses, c.Name))
	cfg, err := w.containerConfig(ctx, pod, c, rp, sandboxID)
	if err != nil {
		if ctx.Err() != nil {
			return false, false
		}
		return failed(reasonCreateContainerConfigErr, err)
	}
	cfg.RestartCount = restartCount
	id, err := k.rt.CreateContainer(ctx, sandboxID, cfg)
	if err != nil {
		if ctx.Err() != nil {
			return false, false
		}
		return failed(reasonCreateContainerErr, err)
	}
	k.event(pod, corev1.EventTypeNormal, "Created", "Created container: %s", c.Name)
	if err := k.rt.StartContainer(ctx, id); err != nil {
		if ctx.Err() != nil {
			return false, true
		}
		if rerr := k.rt.RemoveContainer(ctx, id); rerr != nil && !errors.Is(rerr, ErrNotFound) {
			k.logf("pod %s: removing container %s that failed to start: %v", w.key(), c.Name, rerr)
		}
		_, _ = failed(reasonRunContainerErr, err)
		return false, true
	}
	k.event(pod, corev1.EventTypeNormal, "Started", "Started container %s", c.Name)
	if msg, err := w.postStart(ctx, pod, c, id); err != nil {
		if ctx.Err() != nil {
			return false, true
		}
		k.logf("pod %s: postStart hook of container %s failed: %s", w.key(), c.Name, msg)
		k.event(pod, corev1.EventTypeWarning, "FailedPostStartHook", "PostStartHook failed")
		k.event(pod, corev1.EventTypeNormal, "Killing", "FailedPostStartHook")
		if err := k.rt.StopContainer(ctx, id, terminationGrace(pod)); err != nil && !errors.Is(err, ErrNotFound) {
			k.logf("pod %s: stopping container %s: %v", w.key(), c.Name, err)
		}
		w.setReason(c.Name, reasonPostStartHookErr, msg)
		w.retryIn(k.cfg.ContainerBackOff)
		return false, true
	}
	delete(w.reasons, c.Name)
	// Keep the instance that just ended (for lastState) and drop older ones,
	// as upstream's container GC keeps one dead container per container.
	for _, old := range rp.containers {
		if old.Name == c.Name && (latest == nil || old.ID != latest.ID) {
			if err := k.rt.RemoveContainer(ctx, old.ID); err != nil && !errors.Is(err, ErrNotFound) {
				k.logf("pod %s: removing an old instance of container %s: %v", w.key(), c.Name, err)
			}
		}
	}
	return true, true
}

// nextRestartCount is the restart count of a new instance of a container: one
// more than its last instance's, which the runtime holds or, when the runtime
// lost it, the API status tells.
func nextRestartCount(latest *ContainerStatus, api *corev1.ContainerStatus) int32 {
	switch {
	case latest != nil:
		return latest.RestartCount + 1
	case api == nil:
		return 0
	case api.State.Waiting != nil && api.LastTerminationState.Terminated != nil &&
		api.LastTerminationState.Terminated.Reason == reasonStatusUnknown:
		// The lost instance was counted already.
		return api.RestartCount
	case api.State.Running != nil || api.State.Terminated != nil || api.LastTerminationState.Terminated != nil:
		return api.RestartCount + 1
	}
	return 0
}

func (w *podWorker) setReason(container, reason, message string) bool {
	r := waitingReason{Reason: reason, Message: message}
	if w.reasons[container] == r {
		return false
	}
	w.reasons[container] = r
	return true
}

// stopAll stops the pod's running containers (regular ones first, then
// sidecars, last started first), then its sandboxes.
func (w *podWorker) stopAll(ctx context.Context, pod *corev1.Pod, rp *runtimePod, grace time.Duration) {
	k := w.k
	var order []string
	for i := range pod.Spec.Containers {
		order = append(order, pod.Spec.Containers[i].Name)
	}
	for i := len(pod.Spec.InitContainers) - 1; i >= 0; i-- {
		order = append(order, pod.Spec.InitContainers[i].Name)
	}
	// The regular containers' preStop hooks run at once, as upstream
	// stops them in parallel; sidecars' run as each is stopped, after.
	var regular []ContainerStatus
	for _, c := range rp.containers {
		if c.State == ContainerRunning && !isSidecar(pod, c.Name) {
			regular = append(regular, c)
		}
	}
	left := k.preStopAll(ctx, pod, regular, grace)
	stopped := map[string]bool{}
	stop := func(c ContainerStatus) {
		if c.State != ContainerRunning || stopped[c.ID] {
			return
		}
		stopped[c.ID] = true
		if pod != nil {
			k.event(pod, corev1.EventTypeNormal, "Killing", "Stopping container %s", c.Name)
		}
		g, ok := left[c.ID]
		if !ok {
			g = k.preStopAll(ctx, pod, []ContainerStatus{c}, grace)[c.ID]
		}
		if err := k.rt.StopContainer(ctx, c.ID, g); err != nil && !errors.Is(err, ErrNotFound) {
			k.logf("pod %s: stopping container %s: %v", w.key(), c.Name, err)
		}
	}
	for _, name := range order {
		for _, c := range rp.containers {
			if c.Name == name {
				stop(c)
			}
		}
	}
	for _, c := range rp.containers {
		stop(c) // containers no longer in the spec
	}
	for _, sb := range rp.sandboxes {
		if sb.State != SandboxReady {
			continue
		}
		if err := k.rt.StopPodSandbox(ctx, sb.ID); err != nil && !errors.Is(err, ErrNotFound) {
			k.logf("pod %s: stopping sandbox %s: %v", w.key(), sb.ID, err)
		}
	}
}

// finish ends a pod that will not run again: its containers are stopped, its
// final status written, and what it ran removed. deadline says it ran past
// its activeDeadlineSeconds.
func (w *podWorker) finish(ctx context.Context, pod *corev1.Pod, deadline bool) bool {
	k := w.k
	rp, err := w.observe(ctx)
	if err != nil {
		k.logf("pod %s: %v", w.key(), err)
		w.retryIn(k.cfg.ContainerBackOff)
		return false
	}
	w.stopAll(ctx, pod, rp, terminationGrace(pod))
	if rp, err = w.observe(ctx); err != nil {
		k.logf("pod %s: %v", w.key(), err)
		w.retryIn(k.cfg.ContainerBackOff)
		return false
	}
	status := w.generate(pod, rp, true)
	if deadline {
		const msg = "Pod was active on the node longer than the specified deadline"
		status.Phase, status.Reason, status.Message = corev1.PodFailed, "DeadlineExceeded", msg
		k.event(pod, corev1.EventTypeWarning, "DeadlineExceeded", msg)
	}
	if err := w.write(ctx, pod, status); err != nil {
		k.logf("%v", err)
		w.retryIn(time.Second)
		return false
	}
	w.cleanup(ctx, pod)
	return true
}

// terminate carries out a graceful deletion: the containers get the deletion's
// grace period to stop, the final status is written, what the pod ran is
// removed, and the pod is deleted for good (grace 0, on its UID).
func (w *podWorker) terminate(ctx context.Context, pod *corev1.Pod) bool {
	k := w.k
	rp, err := w.observe(ctx)
	if err != nil {
		k.logf("pod %s: %v", w.key(), err)
		w.retryIn(k.cfg.ContainerBackOff)
		return false
	}
	grace := terminationGrace(pod)
	if g := pod.DeletionGracePeriodSeconds; g != nil {
		grace = time.Duration(*g) * time.Second
	}
	w.stopAll(ctx, pod, rp, grace)
	if rp, err = w.observe(ctx); err == nil {
		if err := w.write(ctx, pod, w.generate(pod, rp, true)); err != nil {
			k.logf("%v", err)
		}
	}
	w.cleanup(ctx, pod)
	zero := int64(0)
	uid := w.uid
	err = k.cfg.Client.CoreV1().Pods(w.namespace).Delete(ctx, w.name, metav1.DeleteOptions{
		GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		k.logf("deleting pod %s: %v", w.key(), err)
		w.retryIn(k.cfg.ContainerBackOff)
		return false
	}
	return true
}

// teardown stops and removes what a pod that left the API ran.
func (w *podWorker) teardown(ctx context.Context, pod *corev1.Pod) {
	if rp, err := w.observe(ctx); err == nil {
		w.stopAll(ctx, pod, rp, terminationGrace(pod))
	}
	w.cleanup(ctx, pod)
}

// cleanup removes the pod's containers and sandboxes and frees its address.
func (w *podWorker) cleanup(ctx context.Context, pod *corev1.Pod) {
	k := w.k
	if rp, err := w.observe(ctx); err == nil {
		for _, c := range rp.containers {
			if err := k.rt.RemoveContainer(ctx, c.ID); err != nil && !errors.Is(err, ErrNotFound) {
				k.logf("pod %s: removing container %s: %v", w.key(), c.Name, err)
			}
		}
		for _, sb := range rp.sandboxes {
			if err := k.rt.RemovePodSandbox(ctx, sb.ID); err != nil && !errors.Is(err, ErrNotFound) {
				k.logf("pod %s: removing sandbox %s: %v", w.key(), sb.ID, err)
			}
		}
	}
	k.releaseIP(w.uid)
	k.tokens.forget(w.uid)
	if k.cfg.Volumes != nil {
		if err := k.cfg.Volumes.TearDown(ctx, w.uid); err != nil {
			k.logErr(ctx, "pod %s: removing its volumes: %v", w.key(), err)
		}
		w.volumesRV, w.volumesAt = "", time.Time{}
	}
	w.probes = podProbes{}
	for i := range pod.Spec.InitContainers {
		k.backOff.DeleteEntry(backOffKey(pod, pod.Spec.InitContainers[i].Name))
	}
	for i := range pod.Spec.Containers {
		k.backOff.DeleteEntry(backOffKey(pod, pod.Spec.Containers[i].Name))
	}
}

// reject reports that admission refused the pod, as upstream's rejectPod:
// phase Failed, the reason, and "Pod was rejected: <message>".
func (w *podWorker) reject(ctx context.Context, pod *corev1.Pod) bool {
	k := w.k
	cur := w.current(pod)
	if cur.Phase == corev1.PodFailed {
		return true
	}
	a := w.rejection
	status := corev1.PodStatus{Phase: corev1.PodFailed, Reason: a.Reason, Message: "Pod was rejected: " + a.Message,
		QOSClass: cur.QOSClass, NominatedNodeName: cur.NominatedNodeName, StartTime: cur.StartTime}
	if status.StartTime == nil {
		now := seconds(k.clock.Now())
		status.StartTime = &now
	}
	for _, c := range cur.Conditions {
		if !conditionByKubelet(c.Type) {
			status.Conditions = append(status.Conditions, c)
		}
	}
	if !w.synced {
		k.event(pod, corev1.EventTypeWarning, a.Reason, "%s", a.Message)
		k.logf("rejected pod %s: %s: %s", w.key(), a.Reason, a.Message)
	}
	if err := w.write(ctx, pod, status); err != nil {
		k.logf("%v", err)
		w.retryIn(time.Second)
		return false
	}
	return true
}

// terminationGrace is the pod's terminationGracePeriodSeconds.
func terminationGrace(pod *corev1.Pod) time.Duration {
	if pod == nil || pod.Spec.TerminationGracePeriodSeconds == nil {
		return corev1.DefaultTerminationGracePeriodSeconds * time.Second
	}
	return time.Duration(*pod.Spec.TerminationGracePeriodSeconds) * time.Second
}
