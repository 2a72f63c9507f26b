package simulated

import (
	"fmt"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Prefix begins every annotation the simulated runtime reads. Each may also
// be given for one container, with ".<container name>" appended; that wins
// over the pod-wide one. docs/simulated-runtime.md has examples.
const Prefix = "simulated.tend.dev/"

// The annotations, read from the pod when a container is created.
const (
	// ExitAfter (a duration, "30s") makes a container exit that long after it
	// started, with ExitCode (default 0).
	ExitAfter = Prefix + "exit-after"
	ExitCode  = Prefix + "exit-code"
	// Ready "false" fails every readiness probe; UnreadyAfter (a duration)
	// fails them from that long after the start on.
	Ready        = Prefix + "ready"
	UnreadyAfter = Prefix + "unready-after"
	// Healthy "false" fails every liveness and startup probe; UnhealthyAfter
	// fails them from that long after the start on.
	Healthy        = Prefix + "healthy"
	UnhealthyAfter = Prefix + "unhealthy-after"
	// CPU ("250m") and Memory ("64Mi") are the usage Stats reports for a
	// running container; without them, its requests.
	CPU    = Prefix + "cpu"
	Memory = Prefix + "memory"
	// StartDelay (a duration) is how long a start takes, instead of the
	// runtime's jittered default.
	StartDelay = Prefix + "start-delay"
	// FailStart makes creating the container fail with its value as the
	// message (the pod shows CreateContainerError).
	FailStart = Prefix + "fail-start"
)

// behaviour is what the annotations ask of one container.
type behaviour struct {
	exits          bool
	exitAfter      time.Duration
	exitCode       int32
	notReady       bool
	unreadyAfter   time.Duration
	unhealthy      bool
	unhealthyAfter time.Duration
	cpuNanoCores   uint64
	memoryBytes    uint64
	startDelay     time.Duration
	hasStartDelay  bool
	failStart      string
}

// parseBehaviour reads the annotations for container c. A value that does not
// parse is an error naming the annotation, the value and the container.
func parseBehaviour(annotations map[string]string, c *corev1.Container) (behaviour, error) {
	var b behaviour
	get := func(key string) (string, string, bool) {
		if v, ok := annotations[key+"."+c.Name]; ok {
			return key + "." + c.Name, v, true
		}
		v, ok := annotations[key]
		return key, v, ok
	}
	bad := func(key, value string, err error) error {
		return fmt.Errorf("invalid annotation %s=%q for container %s: %w", key, value, c.Name, err)
	}
	duration := func(key string, dst *time.Duration, set *bool) error {
		k, v, ok := get(key)
		if !ok {
			return nil
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			return bad(k, v, err)
		}
		if d < 0 {
			return bad(k, v, fmt.Errorf("must not be negative"))
		}
		*dst = d
		if set != nil {
			*set = true
		}
		return nil
	}
	boolean := func(key string, dst *bool) error {
		k, v, ok := get(key)
		if !ok {
			return nil
		}
		t, err := strconv.ParseBool(v)
		if err != nil {
			return bad(k, v, err)
		}
		*dst = !t
		return nil
	}
	if err := duration(ExitAfter, &b.exitAfter, &b.exits); err != nil {
		return b, err
	}
	if k, v, ok := get(ExitCode); ok {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil || n < 0 || n > 255 {
			return b, bad(k, v, fmt.Errorf("must be an exit code, 0 to 255"))
		}
		b.exitCode = int32(n)
	}
	if err := boolean(Ready, &b.notReady); err != nil {
		return b, err
	}
	if err := duration(UnreadyAfter, &b.unreadyAfter, nil); err != nil {
		return b, err
	}
	if err := boolean(Healthy, &b.unhealthy); err != nil {
		return b, err
	}
	if err := duration(UnhealthyAfter, &b.unhealthyAfter, nil); err != nil {
		return b, err
	}
	if err := duration(StartDelay, &b.startDelay, &b.hasStartDelay); err != nil {
		return b, err
	}
	cpu, mem := c.Resources.Requests[corev1.ResourceCPU], c.Resources.Requests[corev1.ResourceMemory]
	if k, v, ok := get(CPU); ok {
		q, err := resource.ParseQuantity(v)
		if err != nil || q.Sign() < 0 {
			return b, bad(k, v, fmt.Errorf("must be a CPU quantity such as 250m"))
		}
		cpu = q
	}
	if k, v, ok := get(Memory); ok {
		q, err := resource.ParseQuantity(v)
		if err != nil || q.Sign() < 0 {
			return b, bad(k, v, fmt.Errorf("must be a memory quantity such as 64Mi"))
		}
		mem = q
	}
	b.cpuNanoCores = uint64(cpu.MilliValue()) * 1_000_000
	b.memoryBytes = uint64(mem.Value())
	if _, v, ok := get(FailStart); ok {
		b.failStart = v
		if b.failStart == "" {
			b.failStart = "simulated start failure"
		}
	}
	return b, nil
}
