package kubelet

import (
	"time"

	corev1 "k8s.io/api/core/v1"
)

// podProbes holds the probe state of one pod's running containers, as
// upstream's prober workers do, but without a goroutine per probe: the pod's
// worker runs the probes that are due when it syncs and sleeps until the next
// one is.
//
// Rules, upstream's: a probe runs every periodSeconds from the container's
// start, once initialDelaySeconds have passed; its result flips only after
// failureThreshold failures or successThreshold successes in a row. Readiness
// and liveness probes wait for the startup probe to pass; the startup probe
// stops once it passed. Before its first result a container is not ready and
// not started (with those probes) but alive. A liveness or startup failure
// holds the probe until the container is replaced.
type podProbes struct {
	states map[probeKey]*probeState
}

type probeKey struct {
	id   string
	kind ProbeKind
}

type probeState struct {
	spec      *corev1.Probe
	container string
	startedAt time.Time
	next      time.Time
	// result is the current verdict, once known; last and run count the
	// consecutive equal outcomes that lead to a new verdict.
	result, known bool
	last          bool
	run           int
	onHold        bool
}

// probeRun is one probe to run now.
type probeRun struct {
	key       probeKey
	spec      *corev1.Probe
	container string
}

// update keeps one state per probe of every running container of pod and
// forgets the states of containers that are gone or stopped.
func (p *podProbes) update(pod *corev1.Pod, rp *runtimePod, now time.Time) {
	running := map[string]bool{}
	add := func(c *corev1.Container) {
		cs := rp.latest(c.Name)
		if cs == nil || cs.State != ContainerRunning {
			return
		}
		running[cs.ID] = true
		for kind, spec := range map[ProbeKind]*corev1.Probe{ReadinessProbe: c.ReadinessProbe, LivenessProbe: c.LivenessProbe, StartupProbe: c.StartupProbe} {
			if spec == nil {
				continue
			}
			key := probeKey{id: cs.ID, kind: kind}
			if p.states == nil {
				p.states = map[probeKey]*probeState{}
			}
			if _, ok := p.states[key]; !ok {
				p.states[key] = &probeState{spec: spec, container: c.Name, startedAt: cs.StartedAt, next: now}
			}
		}
	}
	for i := range pod.Spec.InitContainers {
		if isRestartable(&pod.Spec.InitContainers[i]) {
			add(&pod.Spec.InitContainers[i])
		}
	}
	for i := range pod.Spec.Containers {
		add(&pod.Spec.Containers[i])
	}
	for key := range p.states {
		if !running[key.id] {
			delete(p.states, key)
		}
	}
}

// due returns the probes to run at now, and moves their next time on.
func (p *podProbes) due(now time.Time) []probeRun {
	var out []probeRun
	for key, st := range p.states {
		if now.Before(st.next) {
			continue
		}
		st.next = now.Add(period(st.spec))
		switch {
		case st.onHold:
			continue
		case key.kind == StartupProbe && st.known && st.result:
			continue
		case key.kind != StartupProbe && !p.started(key.id):
			continue
		case now.Sub(st.startedAt) < time.Duration(st.spec.InitialDelaySeconds)*time.Second:
			continue
		}
		out = append(out, probeRun{key: key, spec: st.spec, container: st.container})
	}
	return out
}

// record records one outcome and reports whether the verdict changed.
func (p *podProbes) record(key probeKey, success bool) bool {
	st, ok := p.states[key]
	if !ok {
		return false
	}
	if st.run > 0 && st.last == success {
		st.run++
	} else {
		st.last, st.run = success, 1
	}
	if (!success && st.run < threshold(st.spec.FailureThreshold, 3)) || (success && st.run < threshold(st.spec.SuccessThreshold, 1)) {
		return false
	}
	changed := !st.known || st.result != success
	st.result, st.known = success, true
	if !success && (key.kind == LivenessProbe || key.kind == StartupProbe) {
		st.onHold, st.run = true, 0
	}
	return changed
}

// next is when the earliest probe is due; zero if none is.
func (p *podProbes) next() time.Time {
	var t time.Time
	for key, st := range p.states {
		if st.onHold || (key.kind == StartupProbe && st.known && st.result) {
			continue
		}
		if t.IsZero() || st.next.Before(t) {
			t = st.next
		}
	}
	return t
}

func (p *podProbes) state(id string, kind ProbeKind) *probeState {
	return p.states[probeKey{id: id, kind: kind}]
}

func (p *podProbes) started(id string) bool {
	st := p.state(id, StartupProbe)
	return st == nil || (st.known && st.result)
}

func (p *podProbes) ready(id string) bool {
	st := p.state(id, ReadinessProbe)
	return st == nil || (st.known && st.result)
}

func (p *podProbes) livenessFailed(id string) bool {
	st := p.state(id, LivenessProbe)
	return st != nil && st.known && !st.result
}

func (p *podProbes) startupFailed(id string) bool {
	st := p.state(id, StartupProbe)
	return st != nil && st.known && !st.result
}

func period(p *corev1.Probe) time.Duration {
	if p.PeriodSeconds <= 0 {
		return 10 * time.Second
	}
	return time.Duration(p.PeriodSeconds) * time.Second
}

func probeTimeout(p *corev1.Probe) time.Duration {
	if p.TimeoutSeconds <= 0 {
		return time.Second
	}
	return time.Duration(p.TimeoutSeconds) * time.Second
}

func threshold(v, def int32) int {
	if v <= 0 {
		return int(def)
	}
	return int(v)
}
