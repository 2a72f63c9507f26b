package kubelet

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

func TestProbeThresholdsAndDelays(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	pod := specPod(corev1.RestartPolicyAlways, nil, "app")
	pod.Spec.Containers[0].ReadinessProbe = &corev1.Probe{InitialDelaySeconds: 5, PeriodSeconds: 2, SuccessThreshold: 2, FailureThreshold: 2}
	rp := newRuntimePod(nil, []ContainerStatus{{ID: "c1", Name: "app", State: ContainerRunning, StartedAt: t0}})
	var p podProbes
	p.update(pod, rp, t0)
	if p.ready("c1") {
		t.Errorf("ready before any probe; want not ready")
	}
	if runs := p.due(t0); len(runs) != 0 {
		t.Errorf("due during the initial delay = %d probes; want none", len(runs))
	}
	if next := p.next(); !next.Equal(t0.Add(2 * time.Second)) {
		t.Errorf("next = %v; want the period later", next)
	}
	key := probeKey{id: "c1", kind: ReadinessProbe}
	now := t0.Add(6 * time.Second)
	for i, tc := range []struct {
		success, wantChanged, wantReady bool
	}{
		{true, false, false}, // 1 of 2 successes
		{true, true, true},   // 2 of 2: ready
		{false, false, true}, // 1 of 2 failures
		{true, false, true},  // the run of failures is broken
		{false, false, true},
		{false, true, false}, // 2 failures in a row: unready
	} {
		if runs := p.due(now); len(runs) != 1 {
			t.Fatalf("step %d: due = %d probes; want 1", i, len(runs))
		}
		if changed := p.record(key, tc.success); changed != tc.wantChanged || p.ready("c1") != tc.wantReady {
			t.Errorf("step %d: record(%t) changed %t ready %t; want %t, %t", i, tc.success, changed, p.ready("c1"), tc.wantChanged, tc.wantReady)
		}
		now = now.Add(2 * time.Second)
	}
	// A container that stops forgets its probes.
	p.update(pod, newRuntimePod(nil, []ContainerStatus{{ID: "c1", Name: "app", State: ContainerExited}}), now)
	if len(p.states) != 0 {
		t.Errorf("states after the container exited = %d; want 0", len(p.states))
	}
}

func TestStartupProbeGatesTheOthers(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	pod := specPod(corev1.RestartPolicyAlways, nil, "app")
	pod.Spec.Containers[0].StartupProbe = &corev1.Probe{PeriodSeconds: 1, FailureThreshold: 2}
	pod.Spec.Containers[0].LivenessProbe = &corev1.Probe{PeriodSeconds: 1, FailureThreshold: 1}
	rp := newRuntimePod(nil, []ContainerStatus{{ID: "c1", Name: "app", State: ContainerRunning, StartedAt: t0}})
	var p podProbes
	p.update(pod, rp, t0)
	kinds := func(runs []probeRun) map[ProbeKind]bool {
		out := map[ProbeKind]bool{}
		for _, r := range runs {
			out[r.key.kind] = true
		}
		return out
	}
	if k := kinds(p.due(t0)); !k[StartupProbe] || k[LivenessProbe] {
		t.Errorf("due before the start = %v; want the startup probe only", k)
	}
	if p.started("c1") || p.livenessFailed("c1") {
		t.Errorf("started %t livenessFailed %t before any result; want false, false", p.started("c1"), p.livenessFailed("c1"))
	}
	p.record(probeKey{id: "c1", kind: StartupProbe}, true)
	if !p.started("c1") {
		t.Errorf("not started after the startup probe passed")
	}
	if k := kinds(p.due(t0.Add(time.Second))); k[StartupProbe] || !k[LivenessProbe] {
		t.Errorf("due after the start = %v; want the liveness probe only", k)
	}
	p.record(probeKey{id: "c1", kind: LivenessProbe}, false)
	if !p.livenessFailed("c1") {
		t.Errorf("liveness not failed after a failure with threshold 1")
	}
	if k := kinds(p.due(t0.Add(2 * time.Second))); k[LivenessProbe] {
		t.Errorf("liveness probe due while held for the restart")
	}
}
