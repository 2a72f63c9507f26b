package nodelifecycle

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/tendhq/tend/informers"
)

// podsByNodeIndex indexes pods by spec.nodeName, as upstream's; other
// controllers may share it.
const podsByNodeIndex = "spec.nodeName"

func podNodeName(p *corev1.Pod) []string {
	if p.Spec.NodeName == "" {
		return nil
	}
	return []string{p.Spec.NodeName}
}

// ensurePodsByNode adds podsByNodeIndex to inf unless it has it, and reports
// whether inf has it: it does not when inf started before.
func ensurePodsByNode(inf *informers.Informer[*corev1.Pod]) bool {
	if _, err := inf.ByIndex(podsByNodeIndex, ""); err == nil {
		return true
	}
	_ = inf.AddIndex(podsByNodeIndex, podNodeName)
	_, err := inf.ByIndex(podsByNodeIndex, "")
	return err == nil
}

// podsOn returns the pods bound to node. They are shared: do not modify them.
func (c *Controller) podsOn(node string) []*corev1.Pod {
	if c.podsIndexed {
		pods, _ := c.pods.ByIndex(podsByNodeIndex, node)
		return pods
	}
	var out []*corev1.Pod
	for _, p := range c.pods.List() {
		if p.Spec.NodeName == node {
			out = append(out, p)
		}
	}
	return out
}
