package envvars

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
)

// PodIPs are the addresses a pod's fieldRefs see: the pod's and its node's,
// in the order the pod status lists them.
type PodIPs struct {
	PodIPs, HostIPs []string
}

// FieldValue is the value of an env fieldRef, as upstream's
// podFieldSelectorRuntimeValue: metadata.name, metadata.namespace,
// metadata.uid, metadata.labels and metadata.annotations (whole, as
// key="value" lines, or one key as metadata.labels['key']),
// spec.nodeName, spec.serviceAccountName, status.hostIP(s) and
// status.podIP(s) (the plural ones comma-separated).
func FieldValue(pod *corev1.Pod, fieldPath string, ips PodIPs) (string, error) {
	switch fieldPath {
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.hostIP":
		if len(ips.HostIPs) == 0 {
			return "", fmt.Errorf("pod %s/%s: the node has no address yet", pod.Namespace, pod.Name)
		}
		return ips.HostIPs[0], nil
	case "status.hostIPs":
		if len(ips.HostIPs) == 0 {
			return "", fmt.Errorf("pod %s/%s: the node has no address yet", pod.Namespace, pod.Name)
		}
		return strings.Join(ips.HostIPs, ","), nil
	case "status.podIP":
		if len(ips.PodIPs) == 0 {
			return "", nil
		}
		return ips.PodIPs[0], nil
	case "status.podIPs":
		return strings.Join(ips.PodIPs, ","), nil
	}
	return MetadataValue(pod, fieldPath)
}

// MetadataValue is the value of a metadata field path, as upstream's
// fieldpath.ExtractFieldPathAsString over a pod: the fields a downwardAPI
// volume may show.
func MetadataValue(pod *corev1.Pod, fieldPath string) (string, error) {
	if path, sub, ok := splitSubscript(fieldPath); ok {
		switch path {
		case "metadata.annotations":
			if errs := validation.IsQualifiedName(strings.ToLower(sub)); len(errs) != 0 {
				return "", fmt.Errorf("invalid key subscript in %s: %s", fieldPath, strings.Join(errs, ";"))
			}
			return pod.Annotations[sub], nil
		case "metadata.labels":
			if errs := validation.IsQualifiedName(sub); len(errs) != 0 {
				return "", fmt.Errorf("invalid key subscript in %s: %s", fieldPath, strings.Join(errs, ";"))
			}
			return pod.Labels[sub], nil
		}
		return "", fmt.Errorf("fieldPath %q does not support subscript", fieldPath)
	}
	switch fieldPath {
	case "metadata.annotations":
		return FormatMap(pod.Annotations), nil
	case "metadata.labels":
		return FormatMap(pod.Labels), nil
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	}
	return "", fmt.Errorf("unsupported fieldPath: %v", fieldPath)
}

// splitSubscript splits "path['key']" into path and key.
func splitSubscript(fieldPath string) (path, sub string, ok bool) {
	if !strings.HasSuffix(fieldPath, "']") {
		return "", "", false
	}
	i := strings.Index(fieldPath, "['")
	if i < 0 {
		return "", "", false
	}
	return fieldPath[:i], fieldPath[i+2 : len(fieldPath)-2], true
}

// FormatMap formats labels or annotations as upstream: one key="value" line
// per key (the value quoted as Go does), sorted by key, without a final
// newline.
func FormatMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "%v=%q", k, m[k])
	}
	return b.String()
}

// ResourceValue is the value of a resourceFieldRef of container c, as
// upstream's ExtractContainerResourceValue: limits.* or requests.* of cpu
// (in cores, or divisor units, rounded up), memory and ephemeral-storage
// (in bytes, or divisor units, rounded up), and hugepages-*. c's limits
// should have been defaulted with DefaultLimits first.
func ResourceValue(fs *corev1.ResourceFieldSelector, c *corev1.Container) (string, error) {
	divisor := fs.Divisor
	if divisor.IsZero() {
		divisor = resource.MustParse("1")
	}
	var list corev1.ResourceList
	var name string
	switch {
	case strings.HasPrefix(fs.Resource, "limits."):
		list, name = c.Resources.Limits, strings.TrimPrefix(fs.Resource, "limits.")
	case strings.HasPrefix(fs.Resource, "requests."):
		list, name = c.Resources.Requests, strings.TrimPrefix(fs.Resource, "requests.")
	default:
		return "", fmt.Errorf("unsupported container resource : %v", fs.Resource)
	}
	q := list[corev1.ResourceName(name)]
	switch {
	case name == string(corev1.ResourceCPU):
		return strconv.FormatInt(int64(math.Ceil(float64(q.MilliValue())/float64(divisor.MilliValue()))), 10), nil
	case name == string(corev1.ResourceMemory), name == string(corev1.ResourceEphemeralStorage),
		strings.HasPrefix(name, corev1.ResourceHugePagesPrefix):
		return strconv.FormatInt(int64(math.Ceil(float64(q.Value())/float64(divisor.Value()))), 10), nil
	}
	return "", fmt.Errorf("unsupported container resource : %v", fs.Resource)
}

// ContainerResourceValue is ResourceValue for the container named
// containerName of pod, as a downwardAPI volume names it.
func ContainerResourceValue(fs *corev1.ResourceFieldSelector, pod *corev1.Pod, containerName string) (string, error) {
	if containerName == "" {
		return "", fmt.Errorf("container name required")
	}
	for _, list := range [][]corev1.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
		for i := range list {
			if list[i].Name == containerName {
				return ResourceValue(fs, &list[i])
			}
		}
	}
	return "", fmt.Errorf("container %s not found", containerName)
}

// DefaultLimits returns a copy of c whose missing cpu, memory and
// ephemeral-storage limits are the node's allocatable, as upstream's
// defaultPodLimitsForDownwardAPI: a container without a limit may use the
// whole node. c is not modified.
func DefaultLimits(c *corev1.Container, allocatable corev1.ResourceList) *corev1.Container {
	out := c.DeepCopy()
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage} {
		if _, ok := out.Resources.Limits[name]; ok {
			continue
		}
		q, ok := allocatable[name]
		if !ok {
			continue
		}
		if out.Resources.Limits == nil {
			out.Resources.Limits = corev1.ResourceList{}
		}
		out.Resources.Limits[name] = q.DeepCopy()
	}
	return out
}

// DefaultPodLimits returns a copy of pod whose containers' limits are
// defaulted as DefaultLimits does.
func DefaultPodLimits(pod *corev1.Pod, allocatable corev1.ResourceList) *corev1.Pod {
	out := pod.DeepCopy()
	for _, list := range [][]corev1.Container{out.Spec.Containers, out.Spec.InitContainers} {
		for i := range list {
			list[i] = *DefaultLimits(&list[i], allocatable)
		}
	}
	return out
}
