package queue

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestAssignedPodAdded(t *testing.T) {
	for _, tc := range []struct {
		name      string
		interests map[string][]Event
		pending   *corev1.Pod
		plugins   []string
		assigned  *corev1.Pod
		want      string
	}{
		{"affinity matches", testInterests, newPod("p", withAffinity("app", "db")), []string{"InterPodAffinity"},
			newPod("db", withLabels("app", "db")), "backoff"},
		{"affinity does not match", testInterests, newPod("p", withAffinity("app", "db")), []string{"InterPodAffinity"},
			newPod("web", withLabels("app", "web")), "unschedulable"},
		{"affinity matches in another namespace", testInterests, newPod("p", withAffinity("app", "db")), []string{"InterPodAffinity"},
			newPod("db", withLabels("app", "db"), withNamespace("other")), "unschedulable"},
		{"affinity matches but resources rejected the pod", testInterests, newPod("p", withAffinity("app", "db")), []string{"NodeResourcesFit"},
			newPod("db", withLabels("app", "db")), "unschedulable"},
		{"anti-affinity is not helped by an added pod", testInterests, newPod("p", withAntiAffinity("app", "db")), []string{"InterPodAffinity"},
			newPod("db", withLabels("app", "db")), "unschedulable"},
		{"spread selector matches", testInterests, newPod("p", withSpread("app", "web")), []string{"PodTopologySpread"},
			newPod("w", withLabels("app", "web")), "backoff"},
		{"spread selector does not match", testInterests, newPod("p", withSpread("app", "web")), []string{"PodTopologySpread"},
			newPod("d", withLabels("app", "db")), "unschedulable"},
		{"spread selector matches in another namespace", testInterests, newPod("p", withSpread("app", "web")), []string{"PodTopologySpread"},
			newPod("w", withLabels("app", "web"), withNamespace("other")), "unschedulable"},
		{"nil interests still need a matching term", nil, newPod("p", withAffinity("app", "db")), []string{"InterPodAffinity"},
			newPod("web", withLabels("app", "web")), "unschedulable"},
		{"nil interests and a matching term", nil, newPod("p", withAffinity("app", "db")), []string{"NodeResourcesFit"},
			newPod("db", withLabels("app", "db")), "backoff"},
		{"no terms at all", testInterests, newPod("p"), []string{"InterPodAffinity"},
			newPod("db", withLabels("app", "db")), "unschedulable"},
		{"namespace selector is assumed to match", testInterests, newPod("p", withAffinity("app", "db"), func(p *corev1.Pod) {
			p.Spec.Affinity.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution[0].NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}}
		}), []string{"InterPodAffinity"}, newPod("db", withLabels("app", "db"), withNamespace("other")), "backoff"},
		{"listed namespaces", testInterests, newPod("p", withAffinity("app", "db"), func(p *corev1.Pod) {
			p.Spec.Affinity.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution[0].Namespaces = []string{"other"}
		}), []string{"InterPodAffinity"}, newPod("db", withLabels("app", "db"), withNamespace("other")), "backoff"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, _ := newTestQueue(t, Config{Interests: tc.interests})
			q.Add(tc.pending)
			fail(t, q, "p", tc.plugins...)
			q.AssignedPodAdded(bound(tc.assigned, "n1"))
			if got := whereIs(q, "p"); got != tc.want {
				t.Errorf("after AssignedPodAdded(%s) pod in %s; want %s", tc.assigned.Name, got, tc.want)
			}
			if err := checkInvariants(q); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestAssignedPodUpdated(t *testing.T) {
	withCPU := func(milli int64) podOpt {
		return func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: *resource.NewMilliQuantity(milli, resource.DecimalSI)}
		}
	}
	for _, tc := range []struct {
		name     string
		pending  *corev1.Pod
		plugins  []string
		old, new *corev1.Pod
		want     string
	}{
		{"relabelled into affinity", newPod("p", withAffinity("app", "db")), []string{"InterPodAffinity"},
			newPod("x", withLabels("app", "web")), newPod("x", withLabels("app", "db")), "backoff"},
		{"relabelled out of anti-affinity", newPod("p", withAntiAffinity("app", "db")), []string{"InterPodAffinity"},
			newPod("x", withLabels("app", "db")), newPod("x", withLabels("app", "web")), "backoff"},
		{"relabelled, still anti-affine", newPod("p", withAntiAffinity("app", "db")), []string{"InterPodAffinity"},
			newPod("x", withLabels("app", "db")), newPod("x", withLabels("app", "db", "v", "2")), "unschedulable"},
		{"relabelled out of a spread selector", newPod("p", withSpread("app", "web")), []string{"PodTopologySpread"},
			newPod("x", withLabels("app", "web")), newPod("x", withLabels("app", "db")), "backoff"},
		{"requests lowered", newPod("p"), []string{"NodeResourcesFit"},
			newPod("x", withCPU(500)), newPod("x", withCPU(100)), "backoff"},
		{"requests raised", newPod("p"), []string{"NodeResourcesFit"},
			newPod("x", withCPU(100)), newPod("x", withCPU(500)), "unschedulable"},
		{"requests removed", newPod("p"), []string{"NodeResourcesFit"},
			newPod("x", withCPU(100)), newPod("x"), "backoff"},
		{"status only", newPod("p", withAffinity("app", "db")), []string{"InterPodAffinity", "NodeResourcesFit"},
			newPod("x", withLabels("app", "db")), newPod("x", withLabels("app", "db"), func(p *corev1.Pod) { p.Status.Phase = corev1.PodRunning }), "unschedulable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, _ := newTestQueue(t, Config{Interests: testInterests})
			q.Add(tc.pending)
			fail(t, q, "p", tc.plugins...)
			q.AssignedPodUpdated(bound(tc.old, "n1"), bound(tc.new, "n1"))
			if got := whereIs(q, "p"); got != tc.want {
				t.Errorf("after AssignedPodUpdated pod in %s; want %s", got, tc.want)
			}
			if err := checkInvariants(q); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestCrossTopologyIndex(t *testing.T) {
	// Only pods that assigned-pod events may help are scanned on every bind.
	q, _ := newTestQueue(t, Config{Interests: testInterests})
	q.Add(newPod("plain"))
	q.Add(newPod("affine", withAffinity("app", "db")))
	q.Add(newPod("spread", withSpread("app", "web")))
	q.Add(newPod("spread-fit", withSpread("app", "web")))
	fail(t, q, "plain", "NodeResourcesFit")
	fail(t, q, "affine", "NodeResourcesFit")
	fail(t, q, "spread", "PodTopologySpread")
	fail(t, q, "spread-fit", "NodeResourcesFit")
	q.mu.Lock()
	var got []string
	for _, qp := range q.crossTopology {
		got = append(got, qp.Pod.Name)
	}
	q.mu.Unlock()
	if len(got) != 2 {
		t.Errorf("crossTopology = %v; want affine and spread", got)
	}
}
