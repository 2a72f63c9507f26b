package framework

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// node builds a Ready node with allocatable cpu (millicores), memory (MiB)
// and pods, labelled with its hostname.
func node(name string, milliCPU, memMiB, pods int64, opts ...func(*corev1.Node)) *corev1.Node {
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{corev1.LabelHostname: name}},
		Status: corev1.NodeStatus{
			Allocatable: corev1.ResourceList{
				corev1.ResourceCPU:    *resource.NewMilliQuantity(milliCPU, resource.DecimalSI),
				corev1.ResourceMemory: *resource.NewQuantity(memMiB<<20, resource.BinarySI),
				corev1.ResourcePods:   *resource.NewQuantity(pods, resource.DecimalSI),
			},
		},
	}
	for _, o := range opts {
		o(n)
	}
	return n
}

func withLabels(kv ...string) func(*corev1.Node) {
	return func(n *corev1.Node) {
		for i := 0; i+1 < len(kv); i += 2 {
			n.Labels[kv[i]] = kv[i+1]
		}
	}
}

func withTaint(key, value string, effect corev1.TaintEffect) func(*corev1.Node) {
	return func(n *corev1.Node) {
		n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: key, Value: value, Effect: effect})
	}
}

func withAllocatable(name corev1.ResourceName, q string) func(*corev1.Node) {
	return func(n *corev1.Node) { n.Status.Allocatable[name] = resource.MustParse(q) }
}

func unschedulable(n *corev1.Node) { n.Spec.Unschedulable = true }

var uidSeq int

// pod builds a pod in namespace "default" with one container requesting
// cpu (millicores) and memory (MiB); 0 leaves the request unset.
func pod(name string, milliCPU, memMiB int64, opts ...func(*corev1.Pod)) *corev1.Pod {
	uidSeq++
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID(fmt.Sprintf("uid-%s-%d", name, uidSeq))},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c"}}},
	}
	req := corev1.ResourceList{}
	if milliCPU > 0 {
		req[corev1.ResourceCPU] = *resource.NewMilliQuantity(milliCPU, resource.DecimalSI)
	}
	if memMiB > 0 {
		req[corev1.ResourceMemory] = *resource.NewQuantity(memMiB<<20, resource.BinarySI)
	}
	if len(req) > 0 {
		p.Spec.Containers[0].Resources.Requests = req
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func podLabels(kv ...string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		if p.Labels == nil {
			p.Labels = map[string]string{}
		}
		for i := 0; i+1 < len(kv); i += 2 {
			p.Labels[kv[i]] = kv[i+1]
		}
	}
}

func priority(v int32) func(*corev1.Pod) {
	return func(p *corev1.Pod) { p.Spec.Priority = &v }
}

func ownedByRS(name string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		t := true
		p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: name, UID: "rs-" + types.UID(name), Controller: &t}}
	}
}

func withHostPort(port int32) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Spec.Containers[0].Ports = append(p.Spec.Containers[0].Ports, corev1.ContainerPort{ContainerPort: port, HostPort: port})
	}
}

func tolerate(key, value string, effect corev1.TaintEffect) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		op := corev1.TolerationOpEqual
		if value == "" {
			op = corev1.TolerationOpExists
		}
		p.Spec.Tolerations = append(p.Spec.Tolerations, corev1.Toleration{Key: key, Operator: op, Value: value, Effect: effect})
	}
}

func affinity(a *corev1.Affinity) func(*corev1.Pod) {
	return func(p *corev1.Pod) { p.Spec.Affinity = a }
}

func term(key string, kv ...string) corev1.PodAffinityTerm {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return corev1.PodAffinityTerm{TopologyKey: key, LabelSelector: &metav1.LabelSelector{MatchLabels: m}}
}

// infos builds NodeInfos: each node with the pods listed for it in pods.
func infos(nodes []*corev1.Node, pods map[string][]*corev1.Pod) []*NodeInfo {
	var out []*NodeInfo
	for _, n := range nodes {
		ni := NewNodeInfo()
		ni.SetNode(n)
		for _, p := range pods[n.Name] {
			p.Spec.NodeName = n.Name
			ni.AddPod(p)
		}
		out = append(out, ni)
	}
	return out
}

func snapshot(nodes []*corev1.Node, pods map[string][]*corev1.Pod) *Snapshot {
	return NewSnapshot(infos(nodes, pods)...)
}

func newTestFramework(t testing.TB, cfg Config) *Framework {
	t.Helper()
	if cfg.Rand == nil {
		cfg.Rand = rand.New(rand.NewPCG(1, 2))
	}
	f, err := New(cfg)
	if err != nil {
		t.Fatalf("New(%+v) = %v", cfg, err)
	}
	return f
}

// filterOne runs PreFilter and the filters of pod on node name of snap.
func filterOne(t *testing.T, f *Framework, p *corev1.Pod, snap *Snapshot, name string) *Status {
	t.Helper()
	cs := f.newCycleState(p, snap, nil)
	st, err := f.preFilter(cs)
	if err != nil {
		t.Fatalf("preFilter(%s) = %v", p.Name, err)
	}
	if st != nil {
		return st
	}
	return f.filterWithNominated(cs, snap.Map[name])
}

func scheduleErr(t *testing.T, f *Framework, p *corev1.Pod, snap *Snapshot) *FitError {
	t.Helper()
	res, err := f.Schedule(context.Background(), p, snap, nil)
	var fe *FitError
	if !errors.As(err, &fe) {
		t.Fatalf("Schedule(%s) = %+v, %v; want a FitError", p.Name, res, err)
	}
	return fe
}

func scheduleOK(t *testing.T, f *Framework, p *corev1.Pod, snap *Snapshot, nominated func(string) []*corev1.Pod) ScheduleResult {
	t.Helper()
	res, err := f.Schedule(context.Background(), p, snap, nominated)
	if err != nil {
		t.Fatalf("Schedule(%s) = %v; want a node", p.Name, err)
	}
	return res
}

func metav1LabelSelectorRequirement(key, op string) metav1.LabelSelectorRequirement {
	return metav1.LabelSelectorRequirement{Key: key, Operator: metav1.LabelSelectorOperator(op), Values: []string{"x"}}
}
