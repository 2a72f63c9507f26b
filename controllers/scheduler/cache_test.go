package scheduler

import (
	"fmt"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tendhq/tend/controllers/scheduler/framework"
)

func testNode(name, zone string) *corev1.Node {
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{corev1.LabelHostname: name}},
		Status: corev1.NodeStatus{Allocatable: corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse("4"),
			corev1.ResourceMemory: resource.MustParse("8Gi"),
			corev1.ResourcePods:   resource.MustParse("110"),
		}},
	}
	if zone != "" {
		n.Labels[corev1.LabelTopologyZone] = zone
	}
	return n
}

func testPod(name, node, cpu string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: types.UID("uid-" + name)},
		Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "c",
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)}}}}},
	}
}

func withNode(p *corev1.Pod, node string) *corev1.Pod {
	c := *p
	c.Spec.NodeName = node
	return &c
}

// requested returns the millicores a snapshot counts on each node, and "-"
// for nodes it does not hold.
func requested(snap *framework.Snapshot, names ...string) []string {
	out := make([]string, len(names))
	for i, name := range names {
		ni, ok := snap.Map[name]
		if !ok {
			out[i] = "-"
			continue
		}
		out[i] = fmt.Sprintf("%dm/%d", ni.Requested().MilliCPU, len(ni.Pods()))
	}
	return out
}

func listNames(snap *framework.Snapshot) []string {
	var out []string
	for _, ni := range snap.List {
		out = append(out, ni.Node().Name)
	}
	return out
}

func TestCachePodLifecycle(t *testing.T) {
	p := testPod("p", "", "500m")
	tests := []struct {
		name    string
		steps   func(c *cache) error
		want    []string // n1, n2 as "requested/pods"
		assumed bool
	}{
		{"assumed pod counts at once", func(c *cache) error {
			return c.AssumePod(withNode(p, "n1"))
		}, []string{"500m/1", "0m/0"}, true},
		{"forgotten pod frees its room", func(c *cache) error {
			if err := c.AssumePod(withNode(p, "n1")); err != nil {
				return err
			}
			return c.ForgetPod(withNode(p, "n1"))
		}, []string{"0m/0", "0m/0"}, false},
		{"binding seen confirms the assumed pod", func(c *cache) error {
			if err := c.AssumePod(withNode(p, "n1")); err != nil {
				return err
			}
			if err := c.FinishBinding(withNode(p, "n1")); err != nil {
				return err
			}
			return c.AddPod(withNode(p, "n1"))
		}, []string{"500m/1", "0m/0"}, false},
		{"bound elsewhere counts where it is", func(c *cache) error {
			if err := c.AssumePod(withNode(p, "n1")); err != nil {
				return err
			}
			return c.AddPod(withNode(p, "n2"))
		}, []string{"0m/0", "500m/1"}, false},
		{"update replaces the requests", func(c *cache) error {
			if err := c.AddPod(withNode(p, "n1")); err != nil {
				return err
			}
			return c.UpdatePod(withNode(p, "n1"), testPod("p", "n1", "1"))
		}, []string{"1000m/1", "0m/0"}, false},
		{"removed pod frees its room", func(c *cache) error {
			if err := c.AddPod(withNode(p, "n2")); err != nil {
				return err
			}
			return c.RemovePod(withNode(p, "n2"))
		}, []string{"0m/0", "0m/0"}, false},
		{"deleted while assumed", func(c *cache) error {
			if err := c.AssumePod(withNode(p, "n1")); err != nil {
				return err
			}
			return c.RemovePod(p)
		}, []string{"0m/0", "0m/0"}, false},
		{"forgetting a pod already gone is fine", func(c *cache) error {
			return c.ForgetPod(withNode(p, "n1"))
		}, []string{"0m/0", "0m/0"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCache()
			c.AddNode(testNode("n1", ""))
			c.AddNode(testNode("n2", ""))
			snap := newSnapshot()
			if err := c.UpdateSnapshot(snap); err != nil {
				t.Fatalf("UpdateSnapshot: %v", err)
			}
			if err := tt.steps(c); err != nil {
				t.Fatalf("steps: %v", err)
			}
			if err := c.UpdateSnapshot(snap); err != nil {
				t.Fatalf("UpdateSnapshot: %v", err)
			}
			if got := requested(snap, "n1", "n2"); !slices.Equal(got, tt.want) {
				t.Errorf("requested(n1, n2) = %v; want %v", got, tt.want)
			}
			if got := c.IsAssumed(p); got != tt.assumed {
				t.Errorf("IsAssumed(p) = %v; want %v", got, tt.assumed)
			}
			// A fresh snapshot agrees with the updated one.
			fresh := newSnapshot()
			if err := c.UpdateSnapshot(fresh); err != nil {
				t.Fatalf("UpdateSnapshot(fresh): %v", err)
			}
			if got := requested(fresh, "n1", "n2"); !slices.Equal(got, tt.want) {
				t.Errorf("fresh snapshot: requested(n1, n2) = %v; want %v", got, tt.want)
			}
		})
	}
}

func TestCacheErrors(t *testing.T) {
	p := testPod("p", "", "100m")
	tests := []struct {
		name string
		op   func(c *cache) error
	}{
		{"assume without a node", func(c *cache) error { return c.AssumePod(p) }},
		{"assume twice", func(c *cache) error {
			_ = c.AssumePod(withNode(p, "n1"))
			return c.AssumePod(withNode(p, "n1"))
		}},
		{"assume a bound pod", func(c *cache) error {
			_ = c.AddPod(withNode(p, "n1"))
			return c.AssumePod(withNode(p, "n1"))
		}},
		{"add twice", func(c *cache) error {
			_ = c.AddPod(withNode(p, "n1"))
			return c.AddPod(withNode(p, "n1"))
		}},
		{"forget a confirmed pod", func(c *cache) error {
			_ = c.AddPod(withNode(p, "n1"))
			return c.ForgetPod(withNode(p, "n1"))
		}},
		{"forget on another node", func(c *cache) error {
			_ = c.AssumePod(withNode(p, "n1"))
			return c.ForgetPod(withNode(p, "n2"))
		}},
		{"update an assumed pod", func(c *cache) error {
			_ = c.AssumePod(withNode(p, "n1"))
			return c.UpdatePod(withNode(p, "n1"), withNode(p, "n1"))
		}},
		{"update an unknown pod", func(c *cache) error { return c.UpdatePod(withNode(p, "n1"), withNode(p, "n1")) }},
		{"remove an unknown pod", func(c *cache) error { return c.RemovePod(withNode(p, "n1")) }},
		{"remove an unknown node", func(c *cache) error { return c.RemoveNode(testNode("n9", "")) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCache()
			c.AddNode(testNode("n1", ""))
			c.AddNode(testNode("n2", ""))
			if err := tt.op(c); err == nil {
				t.Errorf("%s: err = nil; want an error", tt.name)
			}
		})
	}
}

// TestSnapshotCopiesOnlyChanged marks the snapshot's copy of one node, changes
// another node in the cache, and checks that the update rewrote only the
// changed one: the mark survives.
func TestSnapshotCopiesOnlyChanged(t *testing.T) {
	c := newCache()
	for i := range 100 {
		c.AddNode(testNode(fmt.Sprintf("n%d", i), ""))
	}
	snap := newSnapshot()
	if err := c.UpdateSnapshot(snap); err != nil {
		t.Fatal(err)
	}
	marked := snap.Map["n7"]
	marked.AddPod(testPod("mark", "n7", "1")) // the snapshot's copy only
	list := slices.Clone(snap.List)

	if err := c.AssumePod(testPod("p", "n3", "250m")); err != nil {
		t.Fatal(err)
	}
	if err := c.UpdateSnapshot(snap); err != nil {
		t.Fatal(err)
	}
	if got := requested(snap, "n3", "n7"); !slices.Equal(got, []string{"250m/1", "1000m/1"}) {
		t.Errorf("requested(n3, n7) = %v; want [250m/1 1000m/1] (n3 copied, n7 untouched)", got)
	}
	if snap.Map["n7"] != marked {
		t.Errorf("snapshot NodeInfo of n7 replaced; want the same pointer")
	}
	if !slices.Equal(list, snap.List) {
		t.Errorf("snapshot list rebuilt although no node came or went")
	}
	if snap.Generation != c.generation {
		t.Errorf("snapshot generation = %d; want the cache's %d", snap.Generation, c.generation)
	}
}

func TestSnapshotNodes(t *testing.T) {
	c := newCache()
	snap := newSnapshot()
	update := func() {
		t.Helper()
		if err := c.UpdateSnapshot(snap); err != nil {
			t.Fatalf("UpdateSnapshot: %v", err)
		}
	}
	// A pod seen before its node: a ghost, shown once the node comes.
	if err := c.AddPod(testPod("early", "a1", "1")); err != nil {
		t.Fatal(err)
	}
	update()
	if got := listNames(snap); len(got) != 0 {
		t.Errorf("nodes before any node = %v; want none", got)
	}
	for _, n := range []struct{ name, zone string }{{"a1", "a"}, {"a2", "a"}, {"a3", "a"}, {"b1", "b"}, {"c1", "c"}, {"b2", "b"}} {
		c.AddNode(testNode(n.name, n.zone))
	}
	update()
	if got, want := listNames(snap), []string{"a1", "b1", "c1", "a2", "b2", "a3"}; !slices.Equal(got, want) {
		t.Errorf("list = %v; want zones in turns %v", got, want)
	}
	if got := requested(snap, "a1"); got[0] != "1000m/1" {
		t.Errorf("requested(a1) = %v; want the early pod counted", got)
	}

	// A removed node with pods is a ghost: out of the snapshot, pods kept
	// until their deletions come.
	if err := c.RemoveNode(testNode("a1", "a")); err != nil {
		t.Fatal(err)
	}
	if err := c.RemoveNode(testNode("c1", "c")); err != nil {
		t.Fatal(err)
	}
	update()
	if got, want := listNames(snap), []string{"a2", "b1", "a3", "b2"}; !slices.Equal(got, want) {
		t.Errorf("list after removals = %v; want %v", got, want)
	}
	if _, ok := snap.Map["a1"]; ok {
		t.Errorf("removed node a1 still in the snapshot map")
	}
	if _, _, assumed := c.counts(); assumed != 0 {
		t.Errorf("assumed = %d; want 0", assumed)
	}
	if _, pods, _ := c.counts(); pods != 1 {
		t.Errorf("pods = %d; want 1 (the ghost's)", pods)
	}
	if err := c.RemovePod(testPod("early", "a1", "1")); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.nodes["a1"]; ok {
		t.Errorf("ghost a1 kept after its last pod went")
	}
	// The node comes back, with a zone change for another.
	c.AddNode(testNode("a1", "a"))
	c.UpdateNode(testNode("b2", "b"), testNode("b2", "c"))
	update()
	if got, want := listNames(snap), []string{"a2", "b1", "b2", "a3", "a1"}; !slices.Equal(got, want) {
		t.Errorf("list after re-adding = %v; want %v", got, want)
	}
	if got := requested(snap, "a1"); got[0] != "0m/0" {
		t.Errorf("requested(a1) = %v; want 0m/0", got)
	}
}

func TestSnapshotAffinityLists(t *testing.T) {
	c := newCache()
	c.AddNode(testNode("n1", ""))
	c.AddNode(testNode("n2", ""))
	snap := newSnapshot()
	if err := c.UpdateSnapshot(snap); err != nil {
		t.Fatal(err)
	}
	anti := testPod("anti", "n2", "100m")
	anti.Labels = map[string]string{"app": "x"}
	anti.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "x"}},
			TopologyKey:   corev1.LabelHostname,
		}},
	}}
	if err := c.AddPod(anti); err != nil {
		t.Fatal(err)
	}
	if err := c.UpdateSnapshot(snap); err != nil {
		t.Fatal(err)
	}
	names := func(l []*framework.NodeInfo) []string {
		var out []string
		for _, ni := range l {
			out = append(out, ni.Node().Name)
		}
		return out
	}
	if got := names(snap.WithAffinity); !slices.Equal(got, []string{"n2"}) {
		t.Errorf("WithAffinity = %v; want [n2]", got)
	}
	if got := names(snap.WithRequiredAntiAffinity); !slices.Equal(got, []string{"n2"}) {
		t.Errorf("WithRequiredAntiAffinity = %v; want [n2]", got)
	}
	if err := c.RemovePod(anti); err != nil {
		t.Fatal(err)
	}
	if err := c.UpdateSnapshot(snap); err != nil {
		t.Fatal(err)
	}
	if len(snap.WithAffinity)+len(snap.WithRequiredAntiAffinity) != 0 {
		t.Errorf("affinity lists = %v, %v after the pod left; want empty", names(snap.WithAffinity), names(snap.WithRequiredAntiAffinity))
	}
}

// BenchmarkAssumeAndSnapshot is one cycle's cache work on 5,000 nodes:
// assume a pod, update the snapshot. It must not grow with the nodes.
func BenchmarkAssumeAndSnapshot(b *testing.B) {
	for _, nodes := range []int{1000, 5000} {
		b.Run(fmt.Sprintf("nodes=%d", nodes), func(b *testing.B) {
			c := newCache()
			for i := range nodes {
				c.AddNode(testNode(fmt.Sprintf("n%d", i), fmt.Sprintf("z%d", i%3)))
			}
			snap := newSnapshot()
			if err := c.UpdateSnapshot(snap); err != nil {
				b.Fatal(err)
			}
			pods := make([]*corev1.Pod, b.N)
			for i := range pods {
				pods[i] = testPod(fmt.Sprintf("p%d", i), fmt.Sprintf("n%d", i%nodes), "10m")
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := c.AssumePod(pods[i]); err != nil {
					b.Fatal(err)
				}
				if err := c.UpdateSnapshot(snap); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
