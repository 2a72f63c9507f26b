package kubelet

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func TestSetNodeStatus(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	in := nodeStatusInput{now: t0, capacity: DefaultCapacity(), allocatable: DefaultCapacity(),
		addresses:     []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}},
		networkErrors: []string{"container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:no CIDR"}}
	node := &corev1.Node{}
	events := setNodeStatus(node, in)
	if got := fmt.Sprint(events); got != "[{Normal NodeHasSufficientMemory} {Normal NodeHasNoDiskPressure} {Normal NodeHasSufficientPID}]" {
		t.Errorf("first events = %s; want the three pressure events", got)
	}
	var conds []string
	for _, c := range node.Status.Conditions {
		conds = append(conds, fmt.Sprintf("%s=%s/%s", c.Type, c.Status, c.Reason))
	}
	want := "[MemoryPressure=False/KubeletHasSufficientMemory DiskPressure=False/KubeletHasNoDiskPressure PIDPressure=False/KubeletHasSufficientPID Ready=False/KubeletNotReady]"
	if fmt.Sprint(conds) != want {
		t.Errorf("conditions = %v; want %s", conds, want)
	}
	ready := findNodeCondition(node.Status.Conditions, corev1.NodeReady)
	if ready.Message != in.networkErrors[0] {
		t.Errorf("Ready message = %q; want %q", ready.Message, in.networkErrors[0])
	}

	// Later, the network is ready: Ready flips, with an event and a new
	// transition time; the others only get a heartbeat.
	before := node.DeepCopy()
	in.now, in.networkErrors = t0.Add(10*time.Second), nil
	events = setNodeStatus(node, in)
	if got := fmt.Sprint(events); got != "[{Normal NodeReady}]" {
		t.Errorf("events = %s; want [{Normal NodeReady}]", got)
	}
	ready = findNodeCondition(node.Status.Conditions, corev1.NodeReady)
	if ready.Status != corev1.ConditionTrue || ready.Reason != "KubeletReady" || ready.Message != "kubelet is posting ready status" ||
		!ready.LastTransitionTime.Time.Equal(in.now) {
		t.Errorf("Ready = %+v; want True, KubeletReady, moved at %v", ready, in.now)
	}
	mem := findNodeCondition(node.Status.Conditions, corev1.NodeMemoryPressure)
	if !mem.LastTransitionTime.Time.Equal(t0) || !mem.LastHeartbeatTime.Time.Equal(in.now) {
		t.Errorf("MemoryPressure times = %v, %v; want transition %v, heartbeat %v", mem.LastTransitionTime, mem.LastHeartbeatTime, t0, in.now)
	}
	if !nodeStatusChanged(&before.Status, &node.Status) {
		t.Errorf("nodeStatusChanged = false after Ready flipped")
	}

	// Only heartbeats move: nothing changed.
	before = node.DeepCopy()
	in.now = t0.Add(20 * time.Second)
	if events := setNodeStatus(node, in); len(events) != 0 {
		t.Errorf("events = %v; want none", events)
	}
	if nodeStatusChanged(&before.Status, &node.Status) {
		t.Errorf("nodeStatusChanged = true when only heartbeats moved")
	}
}

func TestMissingCapacityIsNotReady(t *testing.T) {
	node := &corev1.Node{}
	setNodeStatus(node, nodeStatusInput{now: time.Now(), capacity: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}})
	ready := findNodeCondition(node.Status.Conditions, corev1.NodeReady)
	if ready.Status != corev1.ConditionFalse || ready.Message != "Missing node capacity for resources: memory, pods, ephemeral-storage" {
		t.Errorf("Ready = %+v; want False for the missing capacity", ready)
	}
}

func TestAllocatable(t *testing.T) {
	got := allocatableOf(DefaultCapacity(), corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("20Gi"), "example.com/gpu": resource.MustParse("1")})
	for name, want := range map[corev1.ResourceName]string{"cpu": "3500m", "memory": "0", "pods": "110"} {
		if q := got[name]; q.String() != want {
			t.Errorf("allocatable %s = %s; want %s", name, q.String(), want)
		}
	}
	if _, ok := got["example.com/gpu"]; ok {
		t.Errorf("a reservation of a resource the node lacks added it")
	}
}

func TestNodeStatusPatchReplacesAddresses(t *testing.T) {
	from := &corev1.NodeStatus{Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.0.0.1"}, {Type: corev1.NodeInternalIP, Address: "10.0.0.2"}}}
	to := &corev1.NodeStatus{Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.0.0.3"}}}
	patch, err := nodeStatusPatch(from, to)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]map[string]json.RawMessage
	if err := json.Unmarshal(patch, &m); err != nil {
		t.Fatal(err)
	}
	if got := string(m["status"]["addresses"]); !strings.Contains(got, `"$patch":"replace"`) || !strings.Contains(got, "10.0.0.3") {
		t.Errorf("addresses patch = %s; want a replace of the list with 10.0.0.3", got)
	}
}
