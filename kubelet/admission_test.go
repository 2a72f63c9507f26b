package kubelet

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func requesting(name string, cpu, memory string) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c"}}}}
	req := corev1.ResourceList{}
	if cpu != "" {
		req[corev1.ResourceCPU] = resource.MustParse(cpu)
	}
	if memory != "" {
		req[corev1.ResourceMemory] = resource.MustParse(memory)
	}
	p.Spec.Containers[0].Resources.Requests = req
	return p
}

func TestAdmitPod(t *testing.T) {
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n", Labels: map[string]string{"disk": "ssd", corev1.LabelOSStable: "linux"}},
		Spec: corev1.NodeSpec{Taints: []corev1.Taint{{Key: "maintenance", Effect: corev1.TaintEffectNoExecute}}}}
	alloc := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("16Gi"),
		corev1.ResourcePods: resource.MustParse("3"), corev1.ResourceEphemeralStorage: resource.MustParse("100Gi")}
	tolerant := func(p *corev1.Pod) *corev1.Pod {
		p.Spec.Tolerations = []corev1.Toleration{{Key: "maintenance", Operator: corev1.TolerationOpExists}}
		return p
	}
	withPort := func(p *corev1.Pod, port int32) *corev1.Pod {
		p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, HostPort: port}}
		return p
	}
	for _, tc := range []struct {
		name                string
		pod                 *corev1.Pod
		others              []*corev1.Pod
		wantReason, wantMsg string
	}{
		{"fits", tolerant(requesting("a", "1", "1Gi")), []*corev1.Pod{requesting("b", "2", "1Gi")}, "", ""},
		{"out of cpu", tolerant(requesting("a", "2500m", "")), []*corev1.Pod{requesting("b", "2", "")},
			"OutOfcpu", "Node didn't have enough resource: cpu, requested: 2500, used: 2000, capacity: 4000"},
		{"out of memory", tolerant(requesting("a", "", "10Gi")), []*corev1.Pod{requesting("b", "", "8Gi")},
			"OutOfmemory", "Node didn't have enough resource: memory, requested: 10737418240, used: 8589934592, capacity: 17179869184"},
		{"out of pods", tolerant(requesting("a", "", "")), []*corev1.Pod{requesting("b", "", ""), requesting("c", "", ""), requesting("d", "", "")},
			"OutOfpods", "Node didn't have enough resource: pods, requested: 1, used: 3, capacity: 3"},
		{"node selector", func() *corev1.Pod {
			p := tolerant(requesting("a", "", ""))
			p.Spec.NodeSelector = map[string]string{"disk": "hdd"}
			return p
		}(), nil, "NodeAffinity", "Predicate NodeAffinity failed: node(s) didn't match Pod's node affinity/selector"},
		{"node selector matches", func() *corev1.Pod {
			p := tolerant(requesting("a", "", ""))
			p.Spec.NodeSelector = map[string]string{"disk": "ssd"}
			return p
		}(), nil, "", ""},
		{"host port taken", tolerant(withPort(requesting("a", "", ""), 8080)), []*corev1.Pod{withPort(requesting("b", "", ""), 8080)},
			"NodePorts", "Predicate NodePorts failed: node(s) didn't have free ports for the requested pod ports"},
		{"other host port", tolerant(withPort(requesting("a", "", ""), 8080)), []*corev1.Pod{withPort(requesting("b", "", ""), 9090)}, "", ""},
		{"untolerated NoExecute taint", requesting("a", "", ""), nil,
			"TaintToleration", "Predicate TaintToleration failed: node(s) had taints that the pod didn't tolerate"},
		{"os label", func() *corev1.Pod {
			p := tolerant(requesting("a", "", ""))
			p.Labels = map[string]string{corev1.LabelOSStable: "windows"}
			return p
		}(), nil, "PodOSSelectorNodeLabelDoesNotMatch", "Failed to admit pod as the `kubernetes.io/os` label doesn't match node label"},
	} {
		got := admitPod(tc.pod, node, alloc, tc.others)
		if got.Admit != (tc.wantReason == "") || got.Reason != tc.wantReason || got.Message != tc.wantMsg {
			t.Errorf("%s: admitPod = %+v; want reason %q message %q", tc.name, got, tc.wantReason, tc.wantMsg)
		}
	}
}
