package framework

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// BenchmarkSchedule is one scheduling cycle on a cluster already holding
// two pods per node: simple pods with requests, ReplicaSet pods spread by the
// system default constraints (nodes without and with zone labels), and pods
// with required anti-affinity.
func BenchmarkSchedule(b *testing.B) {
	kinds := []struct {
		name  string
		zones int
		pod   func(i int) *corev1.Pod
	}{
		{name: "simple", pod: func(i int) *corev1.Pod { return pod(fmt.Sprintf("p%d", i), 100, 128) }},
		{name: "default-spreading", pod: func(i int) *corev1.Pod {
			return pod(fmt.Sprintf("p%d", i), 100, 128, podLabels("app", fmt.Sprintf("app%d", i%50)), ownedByRS(fmt.Sprintf("rs%d", i%50)))
		}},
		{name: "default-spreading-zones", zones: 5, pod: func(i int) *corev1.Pod {
			return pod(fmt.Sprintf("p%d", i), 100, 128, podLabels("app", fmt.Sprintf("app%d", i%50)), ownedByRS(fmt.Sprintf("rs%d", i%50)))
		}},
		{name: "anti-affinity", pod: func(i int) *corev1.Pod {
			return pod(fmt.Sprintf("p%d", i), 100, 128, podLabels("app", fmt.Sprintf("app%d", i%50)), affinity(&corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
				RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{term(corev1.LabelHostname, "app", fmt.Sprintf("app%d", i%50))}}}))
		}},
	}
	for _, numNodes := range []int{1000, 5000} {
		for _, k := range kinds {
			b.Run(fmt.Sprintf("%s/nodes=%d", k.name, numNodes), func(b *testing.B) {
				var nodes []*corev1.Node
				pods := map[string][]*corev1.Pod{}
				for i := range numNodes {
					var opts []func(*corev1.Node)
					if k.zones > 0 {
						opts = append(opts, withLabels(corev1.LabelTopologyZone, fmt.Sprintf("zone-%d", i%k.zones)))
					}
					n := node(fmt.Sprintf("node-%05d", i), 32000, 128<<10, 110, opts...)
					nodes = append(nodes, n)
					pods[n.Name] = []*corev1.Pod{k.pod(2 * i), k.pod(2*i + 1)}
				}
				nis := infos(nodes, pods)
				for i, ni := range nis {
					ni.Generation = int64(i + 1) // as the scheduler's cache sets it
				}
				snap := NewSnapshot(nis...)
				f := newTestFramework(b, Config{})
				incoming := make([]*corev1.Pod, 64)
				for i := range incoming {
					incoming[i] = k.pod(1_000_000 + i)
				}
				ctx := context.Background()
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if _, err := f.Schedule(ctx, incoming[i%len(incoming)], snap, nil); err != nil {
						b.Fatalf("Schedule = %v", err)
					}
				}
			})
		}
	}
}
