package framework

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func TestPodInfoRequests(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	tests := []struct {
		name          string
		pod           *corev1.Pod
		wantCPU       int64
		wantMem       int64
		wantNonZeroCP int64
		wantNonZeroMe int64
	}{
		{name: "no requests", pod: pod("p", 0, 0), wantNonZeroCP: DefaultMilliCPURequest, wantNonZeroMe: DefaultMemoryRequest},
		{name: "cpu only", pod: pod("p", 250, 0), wantCPU: 250, wantNonZeroCP: 250, wantNonZeroMe: DefaultMemoryRequest},
		{name: "both", pod: pod("p", 250, 64), wantCPU: 250, wantMem: 64 << 20, wantNonZeroCP: 250, wantNonZeroMe: 64 << 20},
		{name: "init container larger than containers", pod: pod("p", 250, 64, func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{{Name: "init", Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("32Mi")}}}}
		}), wantCPU: 1000, wantMem: 64 << 20, wantNonZeroCP: 1000, wantNonZeroMe: 64 << 20},
		{name: "sidecar adds up", pod: pod("p", 250, 64, func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{{Name: "side", RestartPolicy: &always, Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("16Mi")}}}}
		}), wantCPU: 350, wantMem: 80 << 20, wantNonZeroCP: 350, wantNonZeroMe: 80 << 20},
		{name: "overhead", pod: pod("p", 250, 64, func(p *corev1.Pod) {
			p.Spec.Overhead = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("50m")}
		}), wantCPU: 300, wantMem: 64 << 20, wantNonZeroCP: 300, wantNonZeroMe: 64 << 20},
	}
	for _, tt := range tests {
		pi := NewPodInfo(tt.pod)
		if pi.Requests.MilliCPU != tt.wantCPU || pi.Requests.Memory != tt.wantMem {
			t.Errorf("%s: Requests = %dm %d; want %dm %d", tt.name, pi.Requests.MilliCPU, pi.Requests.Memory, tt.wantCPU, tt.wantMem)
		}
		if pi.NonZeroRequests.MilliCPU != tt.wantNonZeroCP || pi.NonZeroRequests.Memory != tt.wantNonZeroMe {
			t.Errorf("%s: NonZeroRequests = %dm %d; want %dm %d", tt.name, pi.NonZeroRequests.MilliCPU, pi.NonZeroRequests.Memory, tt.wantNonZeroCP, tt.wantNonZeroMe)
		}
	}
}

func TestResourceScalars(t *testing.T) {
	r := NewResource(corev1.ResourceList{
		"example.com/gpu":                     resource.MustParse("2"),
		"hugepages-2Mi":                       resource.MustParse("4Mi"),
		"kubernetes.io/something":             resource.MustParse("1"),
		corev1.ResourcePods:                   resource.MustParse("110"),
		corev1.ResourceName("requests.cpu/x"): resource.MustParse("1"),
	})
	if got := r.Scalar["example.com/gpu"]; got != 2 {
		t.Errorf("Scalar[example.com/gpu] = %d; want 2", got)
	}
	if got := r.Scalar["hugepages-2Mi"]; got != 4<<20 {
		t.Errorf("Scalar[hugepages-2Mi] = %d; want %d", got, 4<<20)
	}
	if _, ok := r.Scalar["kubernetes.io/something"]; ok {
		t.Errorf("Scalar has kubernetes.io/something; want native resources left out")
	}
	if r.AllowedPodNumber != 110 {
		t.Errorf("AllowedPodNumber = %d; want 110", r.AllowedPodNumber)
	}
}

func TestNodeInfoAddRemoveClone(t *testing.T) {
	ni := NewNodeInfo()
	if ni.Node() != nil {
		t.Fatalf("NewNodeInfo().Node() = %v; want nil", ni.Node())
	}
	ni.SetNode(node("n", 2000, 2048, 10))
	a := pod("a", 500, 100, withHostPort(80))
	anti := pod("b", 0, 0, affinity(&corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{term(corev1.LabelHostname, "app", "x")}}}))
	ni.AddPod(a)
	ni.AddPod(anti)
	if got := ni.Requested(); got.MilliCPU != 500 || got.Memory != 100<<20 {
		t.Errorf("Requested = %+v; want 500m and 100Mi", got)
	}
	if got := ni.NonZeroRequested(); got.MilliCPU != 500+DefaultMilliCPURequest || got.Memory != 100<<20+DefaultMemoryRequest {
		t.Errorf("NonZeroRequested = %+v; want cpu %d memory %d", got, 500+DefaultMilliCPURequest, 100<<20+DefaultMemoryRequest)
	}
	if !ni.HasAffinityPods() || !ni.HasRequiredAntiAffinityPods() {
		t.Errorf("HasAffinityPods, HasRequiredAntiAffinityPods = %v, %v; want true, true", ni.HasAffinityPods(), ni.HasRequiredAntiAffinityPods())
	}

	c := ni.Clone()
	if err := c.RemovePod(a); err != nil {
		t.Fatalf("clone.RemovePod(a) = %v", err)
	}
	if err := c.RemovePod(anti); err != nil {
		t.Fatalf("clone.RemovePod(b) = %v", err)
	}
	if len(ni.Pods()) != 2 || ni.Requested().MilliCPU != 500 || !ni.HasRequiredAntiAffinityPods() || !ni.usedPorts.conflicts(hostPortOf(80)) {
		t.Errorf("original after the clone changed: %v; want it untouched", ni)
	}
	if len(c.Pods()) != 0 || c.Requested().MilliCPU != 0 || c.HasAffinityPods() || c.usedPorts.conflicts(hostPortOf(80)) {
		t.Errorf("clone after removing both pods: %v; want empty", c)
	}
	if err := c.RemovePod(a); err == nil {
		t.Errorf("RemovePod of an absent pod = nil; want an error")
	}
}

func hostPortOf(p int32) hostPort {
	return hostPort{ip: wildcardIP, protocol: corev1.ProtocolTCP, port: p}
}

func TestHostPortConflicts(t *testing.T) {
	var s hostPortSet
	s.add(hostPort{ip: "10.0.0.1", protocol: corev1.ProtocolTCP, port: 80})
	s.add(hostPort{ip: wildcardIP, protocol: corev1.ProtocolUDP, port: 53})
	tests := []struct {
		hp   hostPort
		want bool
	}{
		{hostPort{ip: "10.0.0.1", protocol: corev1.ProtocolTCP, port: 80}, true},
		{hostPort{ip: "10.0.0.2", protocol: corev1.ProtocolTCP, port: 80}, false},
		{hostPort{ip: wildcardIP, protocol: corev1.ProtocolTCP, port: 80}, true},
		{hostPort{ip: "10.0.0.2", protocol: corev1.ProtocolUDP, port: 53}, true},
		{hostPort{ip: wildcardIP, protocol: corev1.ProtocolTCP, port: 53}, false},
	}
	for _, tt := range tests {
		if got := s.conflicts(tt.hp); got != tt.want {
			t.Errorf("conflicts(%+v) = %v; want %v", tt.hp, got, tt.want)
		}
	}
}
