package defaults

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// roundResourceList rounds every quantity up to milli precision, as SetDefaults_ResourceList
// does for every resource list in the API ("0.0001" becomes "1m").
func roundResourceList(rl corev1.ResourceList) {
	for name, q := range rl {
		q.RoundUp(-3)
		rl[name] = q
	}
}

// Pod-level resources (spec.resources) are beta and on by default since 1.34.

func isPodLevelResource(name corev1.ResourceName) bool {
	return name == corev1.ResourceCPU || name == corev1.ResourceMemory || isHugePages(name)
}

func isHugePages(name corev1.ResourceName) bool {
	return strings.HasPrefix(string(name), corev1.ResourceHugePagesPrefix)
}

// overcommitAllowed is upstream's IsOvercommitAllowed restricted to the pod-level
// resources: CPU and memory may be overcommitted, huge pages may not.
func overcommitAllowed(name corev1.ResourceName) bool {
	return name == corev1.ResourceCPU || name == corev1.ResourceMemory
}

// defaultPodLevelResources applies the pod-level defaults of SetDefaults_Pod, after the
// container requests have been filled from their limits.
//
// Upstream's newest code (after 1.36) also defaults pod-level limits from container limits;
// that is left out until it ships in a release.
func defaultPodLevelResources(pod *corev1.Pod) {
	defaultHugePagePodLimits(pod)
	defaultPodRequests(pod)
}

// defaultHugePagePodLimits gives the pod a huge-pages limit equal to what its containers
// declare, when the pod sets some pod-level resources but not that huge-pages size.
func defaultHugePagePodLimits(pod *corev1.Pod) {
	res := pod.Spec.Resources
	if res == nil || (len(res.Limits) == 0 && len(res.Requests) == 0) {
		return
	}
	limits := res.Limits
	if limits == nil {
		limits = corev1.ResourceList{}
	}
	for name, q := range aggregateContainerResources(&pod.Spec, limitsOf) {
		if !isHugePages(name) {
			continue
		}
		if _, ok := res.Requests[name]; ok {
			continue
		}
		if _, ok := limits[name]; !ok {
			limits[name] = q.DeepCopy()
		}
	}
	if len(limits) > 0 {
		res.Limits = limits
	}
}

// defaultPodRequests fills pod-level requests when pod-level limits are set: from what the
// containers request where they do (CPU and memory only), and from the pod-level limit
// otherwise.
func defaultPodRequests(pod *corev1.Pod) {
	res := pod.Spec.Resources
	if res == nil || len(res.Limits) == 0 {
		return
	}
	requests := res.Requests
	if requests == nil {
		requests = corev1.ResourceList{}
	}
	for name, q := range aggregateContainerResources(&pod.Spec, requestsOf) {
		if _, ok := requests[name]; !ok && isPodLevelResource(name) && overcommitAllowed(name) {
			requests[name] = q.DeepCopy()
		}
	}
	for name, q := range res.Limits {
		if _, ok := requests[name]; !ok && isPodLevelResource(name) {
			requests[name] = q.DeepCopy()
		}
	}
	if len(requests) > 0 {
		res.Requests = requests
	}
}

func requestsOf(c *corev1.Container) corev1.ResourceList { return c.Resources.Requests }
func limitsOf(c *corev1.Container) corev1.ResourceList   { return c.Resources.Limits }

// aggregateContainerResources is component-helpers' AggregateContainerRequests/Limits
// without status or DRA: the sum over regular and sidecar containers, or, if larger, what
// the pod needs while the biggest regular init container runs beside the sidecars started
// before it.
func aggregateContainerResources(spec *corev1.PodSpec, of func(*corev1.Container) corev1.ResourceList) corev1.ResourceList {
	total := corev1.ResourceList{}
	for i := range spec.Containers {
		addResources(total, of(&spec.Containers[i]))
	}
	sidecars := corev1.ResourceList{}
	initPeak := corev1.ResourceList{}
	for i := range spec.InitContainers {
		c := &spec.InitContainers[i]
		running := corev1.ResourceList{}
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			addResources(total, of(c))
			addResources(sidecars, of(c))
			addResources(running, sidecars)
		} else {
			addResources(running, of(c))
			addResources(running, sidecars)
		}
		maxResources(initPeak, running)
	}
	maxResources(total, initPeak)
	return total
}

func addResources(into, from corev1.ResourceList) {
	for name, q := range from {
		if cur, ok := into[name]; ok {
			cur.Add(q)
			into[name] = cur
		} else {
			into[name] = q.DeepCopy()
		}
	}
}

func maxResources(into, from corev1.ResourceList) {
	for name, q := range from {
		if cur, ok := into[name]; !ok || q.Cmp(cur) > 0 {
			into[name] = q.DeepCopy()
		}
	}
}

// podQOSClass computes status.qosClass the way pkg/apis/core/helper/qos.ComputePodQOS does:
// from the pod-level resources when the pod sets them, otherwise from every init and
// regular container, looking only at CPU and memory. Each resource of each container is
// Guaranteed when request equals a non-zero limit, BestEffort when both are zero, Burstable
// otherwise; the pod is Burstable as soon as the shapes disagree.
func podQOSClass(pod *corev1.Pod) corev1.PodQOSClass {
	if pod.Spec.Resources != nil {
		return requirementsQOS(pod.Spec.Resources)
	}
	var qos corev1.PodQOSClass
	containers := append(append([]corev1.Container(nil), pod.Spec.InitContainers...), pod.Spec.Containers...)
	for i := range containers {
		c := requirementsQOS(&containers[i].Resources)
		switch {
		case c == corev1.PodQOSBurstable:
			return c
		case qos == "":
			qos = c
		case qos != c:
			return corev1.PodQOSBurstable
		}
	}
	if qos == "" {
		return corev1.PodQOSBestEffort
	}
	return qos
}

func requirementsQOS(r *corev1.ResourceRequirements) corev1.PodQOSClass {
	if len(r.Requests) == 0 && len(r.Limits) == 0 {
		return corev1.PodQOSBestEffort
	}
	var qos corev1.PodQOSClass
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, lim := r.Requests[name], r.Limits[name]
		var shape corev1.PodQOSClass
		switch {
		case !req.Equal(lim):
			return corev1.PodQOSBurstable
		case req.IsZero():
			shape = corev1.PodQOSBestEffort
		default:
			shape = corev1.PodQOSGuaranteed
		}
		if qos == "" {
			qos = shape
		} else if qos != shape {
			return corev1.PodQOSBurstable
		}
	}
	return qos
}
